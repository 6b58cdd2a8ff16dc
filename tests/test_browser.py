"""End to end in a real headless Chromium: data -> model -> train -> results, against `streamlit run`.

Skipped (with the reason) where Debian's chromium or the playwright package is missing.
Run directly to tour the app on any data and keep the screenshots:
    python tests/test_browser.py sample:mnist assets/tour
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import signal
import subprocess
import sys
import tempfile
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
def streamlit_process(data: str | None, home: Path):
    """`streamlit run app.py` on a free port: yields (url, process); its output goes to a log file."""
    port = _free_port()
    env = {**os.environ, "TRANSFERLAB_HOME": str(home), "TRANSFERLAB_OFFLINE": "1"}
    command = [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.headless", "true",
               "--server.port", str(port), "--server.address", "127.0.0.1"] + (["--", "--data", data] if data else [])
    log = Path(tempfile.mkstemp(prefix="streamlit-", suffix=".log")[1])
    with open(log, "w") as output:
        server = subprocess.Popen(command, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=output,
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
                    raise RuntimeError("streamlit did not start:\n" + log.read_text())
                time.sleep(0.5)
        yield url, server
    finally:
        if server.poll() is None:
            server.terminate()
            server.wait(10)
        log.unlink(missing_ok=True)


@contextmanager
def streamlit_server(data: str | None, home: Path):
    with streamlit_process(data, home) as (url, _):
        yield url


def tour(url: str, shots: Path, try_with: str | None = None, last_class: str | None = None) -> dict:
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
            cells = page.locator(".st-key-confusion .scatterlayer .point")
            cells.nth(cells.count() - 1).click(force=True)  # the last class, correctly predicted
            if last_class:  # wait for the click's rerun: the caption names the clicked cell
                page.get_by_text(re.compile(f"of class {last_class} predicted as {last_class}")).wait_for(
                    timeout=30_000)
            seen["cell"] = page.get_by_text(re.compile(r"validation (images|texts) of class")).inner_text()
            page.get_by_role("tab", name="Export").click()
            page.locator(".st-key-export_run button").click()
            page.get_by_text("The export predicts what the app predicts.").wait_for(timeout=180_000)
            page.screenshot(path=shots / "4-results-export.png")
            seen["export"] = page.get_by_text(re.compile(r"^\d+/\d+$")).first.inner_text()
            page.get_by_role("link", name="5 · Try it").click()
            if try_with is not None:  # a file to drop, or a text to type
                if Path(try_with).is_file():
                    page.locator("[data-testid='stFileUploader'] input[type='file']").set_input_files(try_with)
                    page.get_by_text("Grad-CAM: where it sees").wait_for(timeout=120_000)
                else:
                    box = page.locator(".st-key-predict_text textarea")
                    box.fill(try_with)
                    box.press("Control+Enter")
                    page.get_by_text("Word colours:").wait_for(timeout=120_000)
                time.sleep(1.5)
                page.screenshot(path=shots / "5-try-it.png")
                seen["tried"] = True
        except Exception:
            page.screenshot(path=shots / "failure.png")
            raise
        finally:
            browser.close()
    return seen


def _need_a_browser() -> None:
    """Skip where there is no browser; in CI (CI=true), fail instead: the browser tests must run there."""
    missing = "Debian's chromium is not installed (apt-get install -y chromium)" if shutil.which("chromium") \
        is None else None
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing = "the playwright package is not installed (pip install -r requirements.txt)"
    if missing:
        (pytest.fail if os.environ.get("CI") else pytest.skip)(missing)


@contextmanager
def browser_page(shots: Path):
    """A headless Chromium page; a screenshot of the page as it was is saved if the test fails."""
    from playwright.sync_api import sync_playwright

    shots.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=shutil.which("chromium"), headless=True,
                                             args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1600})
        try:
            yield page
        except BaseException:
            page.screenshot(path=shots / "failure.png", full_page=True)
            raise
        finally:
            browser.close()


def test_training_outlives_a_reload_stops_on_request_and_is_in_the_run_history(tmp_path):
    """The issue's script: load the sample, start, reload mid-run and see progress go on, stop, find the run."""
    _need_a_browser()
    shots = ARTIFACTS / "browser-reload"
    with streamlit_server(None, tmp_path / "home") as url, browser_page(shots) as page:
        page.goto(url)
        page.get_by_role("button", name="Start with the sample").click()
        page.get_by_text("What was found").wait_for(timeout=60_000)
        page.get_by_role("link", name="3 · Train").click()
        page.locator(".st-key-start_training button").click()
        bar = page.locator("[data-testid='stProgress']")
        page.get_by_text(re.compile(r"Computing backbone features once: [1-9]")).wait_for(timeout=90_000)
        before = _count(bar.inner_text())
        assert "data=sample%3Amnist" in page.url  # the address remembers the data for a reload
        page.reload()  # a new session: the run goes on in its own process, and the page finds it
        bar.wait_for(timeout=60_000)
        page.get_by_text("Settings for a new run").wait_for(timeout=30_000)  # the data came back too
        page.wait_for_function(
            "n => { const m = document.querySelector(\"[data-testid='stProgress']\")?.innerText"
            ".match(/once: ([0-9,]+)/); return m && parseInt(m[1].replace(',', '')) > n; }", arg=before,
            timeout=60_000)
        assert "images/s" in bar.inner_text() and "ETA" in bar.inner_text() and "CPU" in bar.inner_text()
        page.screenshot(path=shots / "after-reload.png")
        page.locator(".st-key-stop_training button").click()
        page.get_by_text(re.compile(r"^Stopped")).wait_for(timeout=60_000)
        # the page's last full rerun opens the settings again; a click while it runs can be lost
        page.get_by_text("Defaults follow the classic recipe").wait_for(timeout=30_000)
        page.screenshot(path=shots / "stopped.png")
        page.get_by_role("link", name="Runs").click()
        page.get_by_text("Every run is a folder").wait_for(timeout=30_000)
        cells = page.locator("[data-testid='stDataFrame'] td")
        cells.first.wait_for(state="attached", timeout=30_000)  # the grid draws on a canvas; these are its a11y cells
        texts = cells.all_inner_texts()
        page.screenshot(path=shots / "runs.png")
    assert "stopped" in texts and "Feature extraction" in texts and "EfficientNet-Lite0" in texts
    folders = list((tmp_path / "home" / "runs").iterdir())
    assert len(folders) == 1 and (folders[0] / "status").read_text().strip() == "stopped"


def test_a_restarted_server_shows_the_run_interrupted_and_resumes_it(tmp_path):
    """Kill the server mid-run; its training child ends as interrupted; after a restart, a deep link
    to Train shows it with a Resume button, and Resume trains the remaining epochs."""
    _need_a_browser()
    from tests.helpers import make_image_folder

    shots, home = ARTIFACTS / "browser-restart", tmp_path / "home"
    data = make_image_folder(tmp_path / "colors", {"red": 40, "blue": 40})  # fine-tuning: seconds per epoch
    with browser_page(shots) as page:
        with streamlit_process(str(data), home) as (url, server):
            page.goto(url)
            page.get_by_role("link", name="2 · Model").click()
            page.get_by_role("radio", name="Fine-tuning").check(force=True)
            sidebar = page.locator("[data-testid='stSidebar']")
            sidebar.get_by_text("Fine-tuning", exact=True).wait_for(timeout=30_000)  # the sidebar names the strategy
            page.get_by_role("link", name="3 · Train").click()
            page.locator(".st-key-start_training").wait_for(timeout=30_000)
            for label, value in (("Epochs", "3"), ("Early stopping", "0")):
                field = page.get_by_label(re.compile(f"^{label}"))
                field.fill(value)
                field.press("Tab")
            page.locator(".st-key-start_training button").click()
            page.get_by_text("Best so far").wait_for(timeout=120_000)  # epoch 1 done and checkpointed
            server.send_signal(signal.SIGKILL)  # the app dies without a word
        run = next((home / "runs").iterdir())
        deadline = time.time() + 60
        while (run / "status").read_text().strip() == "running" and time.time() < deadline:
            time.sleep(0.2)
        assert (run / "status").read_text().strip() == "interrupted"
        with streamlit_server(None, home) as url:
            page.goto(url + "/train")  # a bookmark, on a freshly started server
            page.get_by_text(re.compile("^Interrupted: the app stopped while this run trained")).wait_for(
                timeout=60_000)
            page.screenshot(path=shots / "interrupted.png")
            page.locator(".st-key-resume_training button").click()
            page.get_by_text("Finished: best validation accuracy").wait_for(timeout=180_000)
            page.screenshot(path=shots / "resumed.png")
    events = [json.loads(line) for line in (run / "events.jsonl").read_text().splitlines()]
    starts = [e for e in events if e["kind"] == "start"]
    assert len(starts) == 2 and starts[1]["resumed_from_epoch"] >= 1
    assert sorted({e["epoch"] for e in events if e["kind"] == "epoch"}) == [1, 2, 3]
    assert json.loads((run / "config.json").read_text())["config"]["strategy"] == "fine_tune"


def test_damaged_runs_are_listed_with_the_reason_and_no_page_shows_a_traceback(colors_folder, tmp_path):
    _need_a_browser()
    from tests.test_faults import damage_runs

    shots, home = ARTIFACTS / "browser-damaged", tmp_path / "home"
    damaged = damage_runs(home / "runs", colors_folder)
    with streamlit_server(None, home) as url, browser_page(shots) as page:
        page.goto(url + "/runs")
        page.get_by_text("have damaged files").wait_for(timeout=60_000)
        cells = page.locator("[data-testid='stDataFrame'] td")
        cells.first.wait_for(state="attached", timeout=30_000)
        texts = cells.all_inner_texts()
        page.screenshot(path=shots / "runs.png", full_page=True)
        bodies = [page.inner_text("body")]
        waits = {"4 · Results": "Best validation accuracy", "5 · Try it": "Model (a trained run)",
                 "Compare strategies": "Compare strategies"}  # what each page shows once it has drawn
        for link, drawn in waits.items():
            page.get_by_role("link", name=link).click()
            page.get_by_role("heading", name=link).wait_for(timeout=30_000)
            page.get_by_text(drawn).first.wait_for(timeout=30_000)
            page.screenshot(path=shots / f"{link.split()[-1].lower()}.png", full_page=True)
            bodies.append(page.inner_text("body"))
    assert texts.count("damaged") == 2 and texts.count("finished") == 2
    assert any("summary.json is not valid JSON" in text for text in texts)
    assert any("config.json is missing" in text for text in texts)
    assert any("the last line of events.jsonl was cut off" in text for text in texts)
    assert all("Traceback" not in body for body in bodies)
    assert damaged["summary"].name in bodies[1]  # Results names the run it cannot show


def _count(text: str) -> int:
    found = re.search(r"once: ([0-9,]+)", text)
    return int(found.group(1).replace(",", "")) if found else 0


@pytest.mark.parametrize("kind", ["images", "texts"])
def test_whole_flow_in_a_real_browser(kind, colors_folder, reviews_csv, tmp_path):
    _need_a_browser()
    data = colors_folder if kind == "images" else reviews_csv
    try_with = str(next((colors_folder / "red").iterdir())) if kind == "images" else "a lovely, superb movie"
    with streamlit_server(str(data), tmp_path / "home") as url:
        last = "red" if kind == "images" else "positive"  # the confusion matrix's last cell gets clicked
        seen = tour(url, ARTIFACTS / f"browser-{kind}", try_with, last)
    assert seen["train"].startswith("Finished: best validation accuracy")
    assert seen["train_charts"] == 1
    assert seen["results"] and seen["tried"]
    assert f"of class {last} predicted as {last} (correct answers)" in seen["cell"]
    done, total = seen["export"].split("/")
    assert done == total  # the export agrees with the app on every validation example


if __name__ == "__main__":
    data, out = sys.argv[1], Path(sys.argv[2])
    with streamlit_server(data, Path(os.environ.get("TRANSFERLAB_HOME", "workspace")).resolve()) as server_url:
        print(tour(server_url, out).get("train"))


def adaptation_tour(url: str, page, shots: Path, target: str | None, epochs: str = "25",
                    lr: str | None = None, backbone: str | None = None) -> dict:
    """Data: a target (a path, or the bundled stand-in when ``target`` is None), its gap and map;
    Model: the adaptation; Train; Results: target accuracy with and without adaptation."""
    seen = {}
    page.goto(url + (f"/?backbone={backbone}" if backbone else ""))
    page.get_by_role("link", name="1 · Data").click()
    page.get_by_text("Where the model will be used").wait_for(timeout=60_000)
    if target is None:
        page.get_by_text("Bundled stand-in").click()
        page.locator(".st-key-load_target_sample button").click()
    else:
        page.get_by_text("Path on this machine").last.click()
        box = page.locator(".st-key-target_path input")
        box.fill(target)
        box.press("Enter")
        page.locator(".st-key-load_target_path button").click()
    page.locator(".st-key-measure_gap button").first.click()  # the help tooltip is a button too
    page.get_by_text(re.compile("^Domain gap: the two domains")).wait_for(timeout=240_000)
    time.sleep(1.5)
    seen["gap"] = page.get_by_text(re.compile("^Domain gap: the two domains")).inner_text()
    page.get_by_text("Where the model will be used").scroll_into_view_if_needed()
    page.screenshot(path=shots / "1-data-target.png", full_page=True)
    page.get_by_role("link", name="2 · Model").click()
    page.get_by_text("How should it adapt?").wait_for(timeout=60_000)
    # the features of both are cached (the gap): what auto would choose is measured at once, and said
    page.get_by_text(re.compile("^Chosen by measurement \\(now: ")).wait_for(timeout=120_000)
    seen["choice"] = page.get_by_text(re.compile("was chosen by measurement|^No adaptation: ")).first.inner_text()
    page.screenshot(path=shots / "2-model-adaptation.png", full_page=True)
    page.get_by_text("CORAL (match the correlations)", exact=True).click()  # a person can force any method
    time.sleep(1)
    page.get_by_role("link", name="3 · Train").click()
    page.get_by_text(re.compile("adaptation: CORAL")).wait_for(timeout=60_000)
    field = page.get_by_label(re.compile("^Epochs"))
    field.fill(epochs)
    field.press("Tab")
    if lr:
        field = page.get_by_role("spinbutton", name="Learning rate", exact=True)
        field.fill(lr)
        field.press("Tab")
    page.locator(".st-key-start_training button").click()
    page.get_by_text("Finished: best validation accuracy").wait_for(timeout=300_000)
    page.get_by_role("link", name="See the results").wait_for(timeout=30_000)  # the final full rerun
    page.get_by_role("link", name="See the results").click()
    page.get_by_text("Where it will be used: the target").wait_for(timeout=60_000)
    time.sleep(1.5)
    page.screenshot(path=shots / "4-results-target.png", full_page=True)
    seen["results"] = page.locator("[data-testid='stMain']").inner_text()
    return seen


def test_a_target_goes_from_the_data_page_to_adapted_results(tmp_path):
    """One real-browser flow with a target set: colour squares, and the same squares shifted in colour."""
    _need_a_browser()
    from tests.helpers import make_image_folder
    from tests.test_domains import _shifted_folder

    shots, home = ARTIFACTS / "browser-target", tmp_path / "home"
    source = make_image_folder(tmp_path / "colors", {"red": 20, "blue": 20})
    target = _shifted_folder(tmp_path / "shifted", {"red": 15, "blue": 15})
    with streamlit_server(str(source), home) as url, browser_page(shots) as page:
        # as in test_domains: the tiny backbone, whose features of these squares CORAL is known to align, and a
        # head that learns in 25 epochs of one batch (before, EfficientNet on squares drawn from Python's salted
        # hash: whether CORAL helped was luck)
        seen = adaptation_tour(url, page, shots, str(target), lr="0.05", backbone="tiny_test")
    assert "far apart" in seen["gap"] or "differ" in seen["gap"]
    assert seen["choice"]  # the Model page said what auto would choose, and why
    assert "trained once without and once with the adaptation" in seen["results"]  # the with/without table
    assert re.search(r"Adapting raised target accuracy by \d+\.\d points", seen["results"])


def test_a_comparison_opens_its_members_results_and_the_curve_is_drawn(tmp_path):
    """The tour's path: compare, follow it (the sidebar too), open a member's results (the address keeps it),
    click a confusion cell (framed, its examples right below), then the data-efficiency curve."""
    _need_a_browser()
    from tests.helpers import make_image_folder

    shots, home = ARTIFACTS / "browser-compare", tmp_path / "home"
    source = make_image_folder(tmp_path / "colors", {"red": 15, "blue": 15, "green": 15})
    with streamlit_server(str(source), home) as url, browser_page(shots) as page:
        page.goto(url + "/compare?backbone=tiny_test")
        page.get_by_role("button", name="Compare the three").wait_for(timeout=60_000)
        for label in ("From scratch (baseline): epochs", "Fine-tuning: epochs"):
            field = page.get_by_role("spinbutton", name=label)  # not the help tooltip, labelled "Help for ..."
            field.fill("2")
            field.press("Tab")
        page.get_by_role("button", name="Compare the three").click()
        page.get_by_text(re.compile("^Now: ")).first.wait_for(timeout=60_000)
        assert page.locator(".st-key-start_compare button").is_disabled()  # no second comparison meanwhile
        page.get_by_text("Now: Fine-tuning", exact=True).wait_for(timeout=120_000)
        sidebar = page.locator("[data-testid='stSidebar']")
        sidebar.get_by_text(re.compile("Training now: Fine-tuning")).wait_for(timeout=15_000)  # follows the queue
        page.get_by_text(re.compile("Best here|No clear winner")).wait_for(timeout=180_000)
        time.sleep(1.5)
        page.screenshot(path=shots / "compare.png", full_page=True)
        reading = page.locator("[data-testid='stAlertContentSuccess']").inner_text()
        assert "time" in page.locator("[data-testid='stDataFrame']").first.inner_text() or reading

        page.locator(".st-key-compare_open button").click()  # the picker opens on the first finished member
        page.get_by_text("Best validation accuracy").wait_for(timeout=60_000)
        assert "/results" in page.url and "run=" in page.url
        opened = page.locator(".st-key-results_run").inner_text()
        page.reload()
        page.get_by_text("Best validation accuracy").wait_for(timeout=60_000)
        assert page.locator(".st-key-results_run").inner_text() == opened  # a reload stays on that run
        assert "/results" in page.url

        cells = page.locator(".st-key-confusion .scatterlayer .point")
        cells.first.wait_for(state="attached", timeout=30_000)
        cells.first.click(force=True)  # row 0, column 0: the first class (blue), predicted as itself
        page.get_by_text(re.compile("of class blue predicted as blue")).wait_for(timeout=30_000)
        assert page.locator(".st-key-confusion .shapelayer path").count() >= 1  # the clicked cell is framed
        time.sleep(1)
        page.screenshot(path=shots / "results-cell.png", full_page=True)

        page.get_by_role("link", name="Compare strategies").click()
        page.get_by_text("As the data grows").click()
        sizes = page.locator(".st-key-curve_sizes input")
        sizes.wait_for(timeout=60_000)
        sizes.fill("2, all")
        sizes.press("Enter")
        page.get_by_text(re.compile(r"^4 runs \(2, all per class")).wait_for(timeout=60_000)
        for label in ("From scratch (baseline): epochs", "Feature extraction: epochs"):
            field = page.get_by_role("spinbutton", name=label)  # not the help tooltip, labelled "Help for ..."
            field.fill("2")
            field.press("Tab")
        page.get_by_role("button", name="Draw the curve").click()
        page.get_by_text(re.compile("^With 2 per class")).wait_for(timeout=240_000)
        page.get_by_text(re.compile("points drawn")).wait_for(state="detached", timeout=240_000)  # all four
        time.sleep(1.5)
        page.screenshot(path=shots / "curve.png", full_page=True)
        assert page.locator(".st-key-curve_chart").count() == 1

        page.get_by_role("link", name="Runs").click()
        page.wait_for_url(re.compile(r"/runs"), timeout=30_000)
        grid = page.locator("[data-testid='stDataFrame']").first
        grid.locator("td").first.wait_for(state="attached", timeout=30_000)
        box = None
        for _ in range(40):  # the Compare page's grid may still be leaving the screen: wait for the Runs grid's box
            grid.wait_for(state="visible", timeout=30_000)
            box = grid.bounding_box()
            if box:
                break
            time.sleep(0.25)
        assert box, "the Runs page shows no table of runs"
        for row in (0, 1):  # the row markers, on the grid's canvas: tick two runs
            page.mouse.click(box["x"] + 18, box["y"] + 35 * (row + 1) + 17)
            time.sleep(1.0)
        page.get_by_text("Act on one of the 2 ticked runs").wait_for(timeout=30_000)
        page.locator(".st-key-open_run button").click()
        page.get_by_text("Best validation accuracy").wait_for(timeout=60_000)
        assert "/results" in page.url and "run=" in page.url  # the address follows, so a reload stays here
        page.reload()
        page.get_by_text("Best validation accuracy").wait_for(timeout=60_000)


def test_the_next_run_is_prepared_while_the_person_looks_around(tmp_path, monkeypatch):
    """As the app runs for people (preparation on): the sidebar shows the loaded data's features computed in
    the background, and the run started afterwards trains on them in that same warm process."""
    _need_a_browser()
    from tests.helpers import make_image_folder

    monkeypatch.setenv("TRANSFERLAB_PREPARE", "1")
    shots, home = ARTIFACTS / "browser-prepared", tmp_path / "home"
    data = make_image_folder(tmp_path / "colors", {"red": 12, "blue": 12})
    with streamlit_server(str(data), home) as url, browser_page(shots) as page:
        page.goto(url + "/?backbone=tiny_test")
        sidebar = page.locator("[data-testid='stSidebar']")
        sidebar.get_by_text(re.compile(r"Tiny test backbone features of this data are ready \(computed in")).wait_for(
            timeout=90_000)
        page.screenshot(path=shots / "prepared.png")
        page.get_by_role("link", name="3 · Train").click()
        page.locator(".st-key-start_training button").click()
        page.get_by_text("Best so far").wait_for(timeout=90_000)
        page.get_by_text(re.compile("computed in the background since the data was loaded")).wait_for(timeout=30_000)
        page.screenshot(path=shots / "trained.png")
    run = next((home / "runs").iterdir())
    started = next(e for e in map(json.loads, (run / "events.jsonl").read_text().splitlines())
                   if e["kind"] == "features")
    assert started["joined"] and started["done"] == started["total"] == 24


def test_the_learning_rate_finder_draws_its_curve_and_puts_the_suggestion_in_the_form(colors_folder, tmp_path):
    _need_a_browser()
    shots = ARTIFACTS / "browser-lr-find"
    with streamlit_server(str(colors_folder), tmp_path / "home") as url, browser_page(shots) as page:
        page.goto(url + "/train?backbone=tiny_test")
        page.locator(".st-key-find_lr button").first.click()  # the help tooltip is a button too
        suggestion = page.get_by_text(re.compile(r"^Suggested learning rate: \d\.\de[-+]\d+"))
        suggestion.wait_for(timeout=90_000)
        page.locator(".st-key-lr_range_chart").wait_for(timeout=30_000)
        shown = re.search(r"rate: (\S+) \(now", suggestion.inner_text()).group(1)  # rounded: 1.1e-01
        page.screenshot(path=shots / "found.png")
        field = page.get_by_label("Learning rate", exact=True)
        assert float(field.input_value()) == 0.001  # the recipe's
        page.locator(".st-key-use_suggested_lr button").click()
        page.wait_for_function("v => document.querySelector(\"input[aria-label='Learning rate']\").value !== v",
                               arg=field.input_value(), timeout=30_000)
        page.screenshot(path=shots / "used.png")
        # the field shows 3 significant digits (1.15e-1), the sentence 2 (1.1e-01): the same rate
        assert float(field.input_value()) == pytest.approx(float(shown), rel=0.05)
    assert not (tmp_path / "home" / "runs").exists() or not any((tmp_path / "home" / "runs").iterdir())
