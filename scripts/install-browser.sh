#!/usr/bin/env bash
# Debian's chromium, for the end-to-end browser tests (driven by the playwright Python package;
# never `playwright install`, which downloads a browser). Does nothing if chromium is already here.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-browser: no chromium and no apt-get; install chromium yourself (the browser tests skip without it)" >&2
    exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then sudo="sudo -n"; else
        echo "install-browser: not root and no sudo: cannot apt-get install chromium" >&2; exit 1
    fi
fi
export DEBIAN_FRONTEND=noninteractive
echo "install-browser: apt-get install chromium (about a minute)" >&2
if ! $sudo apt-get install -y -q chromium >/dev/null 2>&1; then
    $sudo apt-get update -q >/dev/null
    $sudo apt-get install -y -q chromium >/dev/null
fi
command -v chromium >/dev/null
