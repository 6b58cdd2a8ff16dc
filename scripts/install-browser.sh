#!/usr/bin/env bash
# Debian's chromium, for the end-to-end browser tests (driven by the playwright Python package;
# never `playwright install`, which downloads a browser), and CJK fonts so that the screenshots of the Chinese
# interface are readable. Does nothing for what is already here.
set -euo pipefail
have_cjk_fonts() { command -v fc-list >/dev/null 2>&1 && [ -n "$(fc-list :lang=zh 2>/dev/null | head -1)" ]; }
if command -v chromium >/dev/null 2>&1 && have_cjk_fonts; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-browser: no chromium or CJK fonts and no apt-get; install them yourself (the browser tests skip without chromium)" >&2
    exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then sudo="sudo -n"; else
        echo "install-browser: not root and no sudo: cannot apt-get install chromium fonts-noto-cjk" >&2
        command -v chromium >/dev/null 2>&1 && exit 0  # only the fonts are missing: screenshots show boxes for Chinese
        exit 1
    fi
fi
export DEBIAN_FRONTEND=noninteractive
echo "install-browser: apt-get install chromium fonts-noto-cjk (about a minute)" >&2
if ! $sudo apt-get install -y -q chromium fonts-noto-cjk >/dev/null 2>&1; then
    $sudo apt-get update -q >/dev/null
    $sudo apt-get install -y -q chromium fonts-noto-cjk >/dev/null
fi
command -v chromium >/dev/null
