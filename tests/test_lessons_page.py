"""The Lessons page (pages/8_lessons.py, ui/lessons_view.py): the list with what is prepared and how long the rest
takes, a prepared lesson followed from its first screen to the answer, the address that opens a step in presenter
mode, Prepare in a child process; and in a real browser, a lesson followed in presenter mode.

The page reads the default ``lessons.Setup()``, as the "Prepare" child and a server for a class do: the tests give
it tiny data the same way, through TRANSFERLAB_HOME and the TRANSFERLAB_LESSON_* variables (core/lessons)."""

from __future__ import annotations

import os
import re
import shutil
import signal
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core import lessons
from tests.helpers import TINY, TINY_BERT, make_image_folder, write_text_csv

ROOT = Path(__file__).resolve().parents[1]
LESSON_IDS = ["pretrained", "extract_or_tune", "how_much_data", "pretrain_transfer", "domain_shift", "texts",
              "look_inside", "privacy"]


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory) -> dict[str, str]:
    """The lessons' data, tiny (as tests/test_lessons.py's), as the environment that gives it to every Setup."""
    root = tmp_path_factory.mktemp("lesson-data")
    return {"TRANSFERLAB_LESSON_IMAGES": str(make_image_folder(root / "digits", {"red": 12, "green": 12, "blue": 12})),
            "TRANSFERLAB_LESSON_TARGET": str(make_image_folder(root / "photos", {"red": 6, "green": 6, "blue": 6},
                                                               size=48)),
            "TRANSFERLAB_LESSON_TEXTS": str(write_text_csv(root / "reviews.csv", per_class=16)),
            "TRANSFERLAB_LESSON_IMAGE_BACKBONE": TINY, "TRANSFERLAB_LESSON_TEXT_BACKBONE": TINY_BERT,
            "TRANSFERLAB_LESSON_EPOCHS": "1"}


@pytest.fixture(scope="module")
def prepared_home(tmp_path_factory, tiny_data) -> Path:
    """A workspace where lesson ``pretrained`` is prepared on the tiny data (once for the module)."""
    home = tmp_path_factory.mktemp("lesson-home")
    with pytest.MonkeyPatch.context() as patch:
        for name, value in {**tiny_data, "TRANSFERLAB_HOME": str(home)}.items():
            patch.setenv(name, value)
        lessons.run("pretrained")  # the default Setup: what the page reads
    return home


@pytest.fixture
def tiny_lessons(tiny_data, monkeypatch) -> None:
    for name, value in tiny_data.items():
        monkeypatch.setenv(name, value)


def _lessons_page(**address) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.query_params.update(address)
    at.run()
    at.switch_page("pages/8_lessons.py")
    return at


def _timed_run(at: AppTest) -> float:
    started = time.perf_counter()
    at.run()
    assert not at.exception
    return time.perf_counter() - started


def test_the_list_shows_every_lesson_and_how_long_preparing_takes(tiny_lessons):
    at = _lessons_page()
    _timed_run(at)
    assert at.title[0].value == "Lessons"
    for lesson in lessons.all_lessons():
        assert any(m.value.startswith(f"**{lesson.title}**") and lesson.goal in m.value for m in at.markdown)
        assert at.button(key=f"lesson_prepare_{lesson.id}")
    estimates = [c.value for c in at.caption if "Not prepared yet: preparing takes about" in c.value]
    assert len(estimates) == len(LESSON_IDS) and re.search(r"^2 steps · ", estimates[0])
    assert at.button(key="lessons_prepare_all")


def test_a_prepared_lesson_goes_from_its_first_step_to_the_answer(prepared_home, tiny_lessons, monkeypatch):
    monkeypatch.setenv("TRANSFERLAB_HOME", str(prepared_home))
    at = _lessons_page()
    _timed_run(at)
    assert any("Prepared: every step shows its result at once" in c.value for c in at.caption)
    assert not _has(at, "lesson_prepare_pretrained") and _has(at, "lesson_prepare_privacy")
    at.button(key="lesson_open_pretrained").click()
    seconds = [_timed_run(at)]
    assert at.query_params["lesson"] == "pretrained" and at.query_params["step"] == "1"
    assert at.caption[0].value == "Step 1 of 2"
    assert at.header[0].value == "The data through the pretrained network, before any training"
    assert at.metric[0].label == "Separation" and at.get("plotly_chart")  # the map of the pretrained features
    assert "Each dot is one validation image" in at.info[0].value and at.button(key="lesson_back").disabled
    at.button(key="lesson_next").click()
    seconds.append(_timed_run(at))
    assert at.caption[0].value == "Step 2 of 2" and at.header[0].value.startswith("5 examples per class")
    assert [m.label for m in at.metric] == ["Feature extraction", "From scratch (baseline)"]
    assert at.metric[1].value.endswith("%") and "points" in at.metric[1].delta
    at.button(key="lesson_next").click()
    seconds.append(_timed_run(at))
    assert at.header[0].value == "Question for the class" and at.button(key="lesson_next").disabled
    assert not at.success and any("who wins" in m.value for m in at.markdown)
    at.button(key="lesson_answer").click()
    seconds.append(_timed_run(at))
    numbers = lessons.kept("pretrained")["numbers"]
    conclusion = str(lessons.get("pretrained").conclude(numbers))
    assert conclusion in at.success[0].value and "Try it yourself" in [h.value for h in at.subheader]
    at.button(key="lesson_back").click()
    _timed_run(at)
    assert at.query_params["step"] == "2" and not at.success  # the answer is hidden again


def test_a_step_sets_up_the_app_as_its_run_trains_with_one_click(prepared_home, tiny_lessons, monkeypatch):
    monkeypatch.setenv("TRANSFERLAB_HOME", str(prepared_home))
    at = _lessons_page(lesson="pretrained", step="2")
    _timed_run(at)
    labels = [b.label for b in at.button if str(getattr(b, "key", "")).startswith("lesson_set_up_")]
    assert labels == ["Feature extraction (5 per class) · Tiny test backbone",
                      "From scratch (baseline) (5 per class) · Small CNN (from scratch)"]
    at.button(key="lesson_set_up_1").click()
    _timed_run(at)
    assert not at.exception and at.title[0].value == "3 · Train"  # the Train page, set up as that run
    assert at.session_state.strategy == "scratch" and at.session_state.backbone == "small_cnn"
    assert at.session_state.report is not None and at.session_state.data == os.environ["TRANSFERLAB_LESSON_IMAGES"]
    per_class = next(n for n in at.number_input if n.label == "Training examples per class (0 = all)")
    epochs = next(n for n in at.number_input if n.label.startswith("Epochs"))
    assert per_class.value == 5 and epochs.value == lessons.get("pretrained").steps(lessons.Setup())[1].plan(
        lessons.Setup(), "g")[1].epochs


def test_the_address_opens_a_step_in_presenter_mode_and_in_chinese(prepared_home, tiny_lessons, monkeypatch):
    monkeypatch.setenv("TRANSFERLAB_HOME", str(prepared_home))
    at = _lessons_page(lesson="pretrained", step="2", present="1", lang="zh")
    _timed_run(at)
    assert at.toggle(key="lessons_present").value
    assert any('section[data-testid="stSidebar"]' in m.value for m in at.markdown)  # the presenter's style
    assert at.caption[0].value == "第 2 步，共 2 步" and at.header[0].value.startswith("每类 5 个样本")
    assert "lesson=pretrained&step=2&lang=zh" in at.code[0].value  # the link for students: no presenter mode
    at.toggle(key="lessons_present").set_value(False)
    _timed_run(at)
    assert "present" not in at.query_params
    assert not any('data-testid="stSidebar"' in m.value for m in at.markdown)


def test_prepare_runs_the_lesson_in_a_child_process_and_the_list_then_says_prepared(tiny_lessons):
    at = _lessons_page()
    _timed_run(at)
    at.button(key="lesson_prepare_privacy").click()
    _timed_run(at)
    assert at.button(key="lessons_stop") and at.button(key="lesson_prepare_pretrained").disabled
    from ui import lessons_view

    process = lessons_view._running()[lessons.Setup().runs_dir]["process"]  # this workspace's
    process.send_signal(signal.SIGSTOP)  # held while another session looks: it cannot end in between
    try:
        elsewhere = _lessons_page()  # another session (the page reloaded, a second screen): it sees the same one
        _timed_run(elsewhere)
    finally:
        process.send_signal(signal.SIGCONT)
    assert _has(elsewhere, "lessons_stop") and elsewhere.button(key="lessons_prepare_all").disabled
    assert any("Preparing:" in str(p.text) for p in elsewhere.get("progress"))
    deadline = time.time() + 120
    while _has(at, "lessons_stop"):
        assert time.time() < deadline, "the preparation did not end"
        time.sleep(1)
        _timed_run(at)  # fragment timers are not simulated: each run polls the child
    assert "“Privacy: what a model gives away, and what protecting it costs” is prepared." in \
        [s.value for s in at.success]
    assert lessons.kept("privacy") is not None
    assert not _has(at, "lesson_prepare_privacy") and _has(at, "lesson_prepare_pretrained")


def _has(at: AppTest, key: str) -> bool:
    return any(getattr(button, "key", None) == key for button in at.button)


def test_a_browser_follows_a_lesson_in_presenter_mode(prepared_home, tiny_lessons, tmp_path):
    pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
    if not shutil.which("chromium"):
        pytest.skip("no chromium on this machine (Debian: apt-get install chromium)")
    from playwright.sync_api import expect, sync_playwright

    from tests.test_browser import CHROMIUM_FLAGS, streamlit_server

    with streamlit_server(None, prepared_home) as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=shutil.which("chromium"), headless=True,
                                             args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1600, "height": 900})
        try:
            page.goto(f"{url}/lessons?lesson=pretrained&step=1&present=1")
            page.get_by_text("The data through the pretrained network, before any training").wait_for(timeout=60_000)
            page.get_by_text("Step 1 of 2").wait_for(timeout=20_000)
            page.locator("[data-testid='stPlotlyChart']").first.wait_for(timeout=20_000)
            expect(page.locator("section[data-testid='stSidebar']")).to_be_hidden()
            expect(page.locator("[data-testid='stExpandSidebarButton']")).to_be_hidden()
            page.screenshot(path=tmp_path / "1-map.png")
            page.get_by_role("button", name="Next").click()
            page.get_by_text("5 examples per class: transfer against from scratch").wait_for(timeout=20_000)
            page.get_by_text("Step 2 of 2").wait_for(timeout=20_000)
            expect(page.locator("[data-testid='stMetricValue']")).to_have_count(2)
            page.get_by_role("button", name="Next").click()
            page.get_by_text("Question for the class").wait_for(timeout=20_000)
            page.get_by_role("button", name="Answer").click()
            numbers = lessons.kept("pretrained", lessons.Setup(runs_dir=str(prepared_home / "runs")))["numbers"]
            answer = str(lessons.get("pretrained").answer(numbers))
            page.get_by_text(answer[:60]).wait_for(timeout=20_000)
            expect(page.locator("section[data-testid='stSidebar']")).to_be_hidden()
            assert "lesson=pretrained" in page.url and "step=3" in page.url and "present=1" in page.url
            page.screenshot(path=tmp_path / "3-answer.png")
        finally:
            browser.close()
