"""End to end in a real headless Chromium: data -> model -> train -> results, against `streamlit run`.

Skipped (with the reason) where Debian's chromium or the playwright package is missing.
Run directly to tour the app on any data and keep the screenshots:
    python tests/test_browser.py sample:mnist assets/tour
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def streamlit_server(data: str, home: Path):
    port = _free_port()
    env = {**os.environ, "TRANSFERLAB_HOME": str(home), "TRANSFERLAB_OFFLINE": "1"}
    command = [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.headless", "true",
               "--server.port", str(port), "--server.address", "127.0.0.1", "--", "--data", data]
    server = subprocess.Popen(command, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 60
        while True:
            try:
                urllib.request.urlopen(url + "/_stcore/health", timeout=2)
                break
            except OSError:
                if time.time() > deadline or server.poll() is not None:
                    raise RuntimeError("streamlit did not start:\n" + (server.stdout.read() if server.poll() else ""))
                time.sleep(0.5)
        yield url
    finally:
        server.terminate()
        server.wait(10)


def tour(url: str, shots: Path) -> dict:
    """Click through every step like a person; save a screenshot per step; return what was seen."""
    from playwright.sync_api import sync_playwright

    shots.mkdir(parents=True, exist_ok=True)
    seen = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=shutil.which("chromium"), headless=True,
                                             args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 2000})
        try:
            page.goto(url)
            page.get_by_role("link", name="1 · Data").click()
            page.get_by_text("What was found").wait_for(timeout=60_000)
            page.get_by_text(re.compile(r"^(Images|Texts) per class")).wait_for(timeout=30_000)
            page.screenshot(path=shots / "1-data.png")
            page.get_by_role("link", name="2 · Model").click()
            page.get_by_text("Which layers train").wait_for(timeout=60_000)
            page.get_by_text("Trainable parameters").wait_for(timeout=30_000)
            page.screenshot(path=shots / "2-model.png")
            page.get_by_role("link", name="3 · Train").click()
            page.get_by_role("button", name="Start training").click()
            page.get_by_text("Best so far").wait_for(timeout=240_000)  # the first epoch, live
            page.screenshot(path=shots / "3-train-live.png")
            page.get_by_text("Finished: best validation accuracy").wait_for(timeout=240_000)
            page.get_by_role("link", name="See the results").wait_for(timeout=30_000)  # the final full rerun
            page.get_by_text("Best so far").wait_for(timeout=30_000)  # strict: exactly one, no ghost copies
            time.sleep(1.5)  # let Plotly finish drawing for the screenshot
            seen["train"] = page.get_by_text("Finished: best validation accuracy").inner_text()
            seen["train_charts"] = page.locator("[data-testid='stPlotlyChart']").count()
            page.screenshot(path=shots / "3-train.png")
            page.get_by_role("link", name="4 · Results").click()
            page.get_by_text("Confusion matrix").first.wait_for(timeout=60_000)
            page.get_by_text("Best validation accuracy").wait_for(timeout=30_000)
            time.sleep(1.5)
            page.screenshot(path=shots / "4-results.png")
            seen["results"] = True
        except Exception:
            page.screenshot(path=shots / "failure.png")
            raise
        finally:
            browser.close()
    return seen


@pytest.mark.parametrize("kind", ["images", "texts"])
def test_whole_flow_in_a_real_browser(kind, colors_folder, reviews_csv, tmp_path):
    if shutil.which("chromium") is None:
        pytest.skip("Debian's chromium is not installed (apt-get install -y chromium)")
    pytest.importorskip("playwright.sync_api")
    data = colors_folder if kind == "images" else reviews_csv
    with streamlit_server(str(data), tmp_path / "home") as url:
        seen = tour(url, ARTIFACTS / f"browser-{kind}")
    assert seen["train"].startswith("Finished: best validation accuracy")
    assert seen["train_charts"] == 1
    assert seen["results"]


if __name__ == "__main__":
    data, out = sys.argv[1], Path(sys.argv[2])
    with streamlit_server(data, Path(os.environ.get("TRANSFERLAB_HOME", "workspace")).resolve()) as server_url:
        print(tour(server_url, out).get("train"))
