"""Benchmark: seconds from pressing Start to the first point of the live chart, in a real browser.

    python bench/first_chart.py [--waits 0,10,20,30] [--data sample:mnist] [--without-preparation]

Each trial is a fresh workspace (no sample built, no features cached) and a fresh `streamlit run app.py
-- --data sample:mnist`, driven by headless Chromium like a person: open the app, go to 3 · Train, wait
W seconds from the moment the app showed the loaded data (reading, choosing: what a person does before
pressing Start), press Start training with the defaults (EfficientNet-Lite0, feature extraction), and
time until the first epoch's numbers and curves are on screen ("Best so far"). The target of issue 12:
at most 10 s on a 2-core CPU.

By default the app gets the next run ready while the person looks around (core/jobs.py, core/worker.py:
a warm training process that computes the features in the background); --without-preparation times the
app with that off (TRANSFERLAB_PREPARE=0: a new process and the whole feature pass after Start).
Needs Debian's chromium and the playwright package (scripts/install-browser.sh).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.test_browser import CHROMIUM_FLAGS, streamlit_server  # noqa: E402


def trial(data: str, wait: float, prepare: bool) -> dict:
    from playwright.sync_api import sync_playwright

    os.environ["TRANSFERLAB_PREPARE"] = "1" if prepare else "0"
    with tempfile.TemporaryDirectory(prefix="first-chart-") as home, streamlit_server(data, Path(home)) as url, \
            sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=shutil.which("chromium"), headless=True,
                                             args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1600})
        try:
            page.goto(url)
            page.get_by_text(re.compile(r"^Data:")).wait_for(timeout=120_000)  # the sidebar: data loaded
            shown = time.perf_counter()
            page.get_by_role("link", name="3 · Train").click()
            page.locator(".st-key-start_training button").wait_for(timeout=60_000)
            time.sleep(max(0.0, shown + wait - time.perf_counter()))
            page.screenshot(path=Path(home) / "before.png")
            pressed, clock = time.perf_counter(), time.time()
            page.locator(".st-key-start_training button").click()
            page.get_by_text("Best so far").wait_for(timeout=300_000)
            seconds = time.perf_counter() - pressed
            page.get_by_text(re.compile(r"^(Finished|Stopped)")).first.wait_for(timeout=300_000)
        finally:
            browser.close()
        events = [json.loads(line) for run in Path(home, "runs").iterdir() for line in open(run / "events.jsonl")]
    after = {kind: round(next(e["time"] for e in events if e["kind"] == kind and check(e)) - clock, 1)
             for kind, check in (("start", bool), ("features", lambda e: "cache_hit" in e), ("epoch", bool))}
    return {"wait": wait, "prepare": prepare, "first_chart_seconds": round(seconds, 1), "events_after_start": after}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default="sample:mnist")
    parser.add_argument("--waits", default="0,10,20,30", help="seconds between the app showing the data and Start")
    parser.add_argument("--without-preparation", action="store_true", help="also time the app with TRANSFERLAB_PREPARE=0")
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()
    modes = [True] + ([False] if args.without_preparation else [])
    print(f"{'prepared':<9} {'wait before Start':>18} {'Start -> first chart':>22}")
    for prepare in modes:
        for wait in [float(w) for w in args.waits.split(",")]:
            trials = [trial(args.data, wait, prepare) for _ in range(args.repeats)]
            found = [t["first_chart_seconds"] for t in trials]
            print(f"{'yes' if prepare else 'no':<9} {wait:>16.0f} s {statistics.median(found):>20.1f} s"
                  f"  (the run's start, features, first epoch events: {trials[-1]['events_after_start']} s after Start"
                  + (f"; runs: {', '.join(map(str, found))})" if len(found) > 1 else ")"), flush=True)


if __name__ == "__main__":
    main()
