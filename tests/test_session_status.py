"""The one reading of the session's data and features (ui/session_status.py): the sidebar and every page say the
same thing, whatever the warm process (core/jobs.py) says meanwhile; the Data page's counts; the Train page's
private switch and the run it shows."""

import dataclasses
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core import backbones, data, features, jobs, runs
from core.config import TrainConfig
from core.data import domains, exclusions, image_folders
from tests.helpers import TINY, make_image_folder

ROOT = Path(__file__).resolve().parents[1]
FEATURES_WORDS = ("being computed", "Computing the", "are ready", "Getting a training process ready")


def _app(folder: Path, **session) -> AppTest:
    """app.py with ``folder`` loaded, the tiny backbone and feature extraction chosen (not run yet)."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.session_state["report"] = session.pop("report", None) or image_folders.load_dataset(folder)
    at.session_state["data"] = str(folder)
    at.session_state["backbone"] = TINY
    at.session_state["strategy"] = "feature_extract"
    for key, value in session.items():
        at.session_state[key] = value
    return at


@pytest.fixture
def warm_process(monkeypatch):
    """A stand-in for the warm process: preparation on, nothing spawned, and it says ``said["now"]`` (a
    jobs.Preparation) about whatever settings it is asked, anew each time it is heard (as it does while it computes),
    or, with ``said["silent"]``, the very same words: it has not spoken since it was asked."""
    said = {"now": None, "silent": False, "for": None}

    def preparation(self, config=None):
        if said["now"] is None or (config is not None and config.to_dict() != said["for"]):
            return None  # it prepares for other settings
        return said["now"] if said["silent"] else dataclasses.replace(said["now"])

    monkeypatch.setenv("TRANSFERLAB_PREPARE", "1")
    monkeypatch.setattr(jobs.Supervisor, "warm", lambda self: None)
    monkeypatch.setattr(jobs.Supervisor, "prepare", lambda self, config: said.update({"for": config.to_dict()}))
    monkeypatch.setattr(jobs.Supervisor, "preparation", preparation)
    return said


def _cache(folder: Path) -> Path:
    """Put the tiny backbone's features of ``folder`` in the cache (the status only asks whether they are there)."""
    config = TrainConfig.for_strategy(str(folder), "feature_extract", backbone=TINY)
    path = features.cache_path(config.cache_dir, image_folders.load_dataset(folder), backbones.get(TINY),
                               config.max_length)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")
    return path


def _through_app_py(at: AppTest) -> AppTest:
    """A run of app.py (with its sidebar) in ``at``'s session: after its first run, AppTest runs the page alone."""
    again = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    for key in ("report", "data", "data_name", "backbone", "strategy", "private_training", "train_settings",
                "prepare_asked", "prepared_for", "target", "target_source", "adapt", "run_dir", "own_run"):
        if key in at.session_state:
            again.session_state[key] = at.session_state[key]
    return again.run()


def _sidebar_words(at: AppTest) -> str:
    return " ".join(c.value for c in at.sidebar.caption)


def _train_page(at: AppTest) -> AppTest:
    at.switch_page("pages/3_train.py").run()
    assert not at.exception
    return at


def _page_says_computing(at: AppTest) -> bool:
    return any("being computed in the background" in c.value for c in at.main.caption)


def test_cached_features_are_ready_everywhere_while_the_warm_process_reads_the_data_again(colors_folder,
                                                                                          warm_process):
    """Seen in the browser: with the private switch on, the form said "computing in the background" and kept the
    finder greyed for 20 s while the sidebar said "ready" (the warm process reads the data again for the new
    settings, though the features are the same and cached)."""
    _cache(colors_folder)
    warm_process["now"] = jobs.Preparation("loading", title=backbones.get(TINY).title)
    at = _app(colors_folder).run()
    assert "are ready (found in the cache)" in _sidebar_words(at)
    _train_page(at)
    assert not _page_says_computing(at) and not at.button(key="find_lr").disabled
    at.toggle(key="private_toggle").set_value(True).run()
    assert at.session_state.private_training
    assert not _page_says_computing(at) and not at.button(key="find_lr").disabled
    assert "are ready (found in the cache)" in _sidebar_words(_through_app_py(at))


def test_features_being_computed_are_said_alike_by_the_sidebar_and_every_page(colors_folder, warm_process):
    total = len(image_folders.load_dataset(colors_folder).all_items())
    warm_process["now"] = jobs.Preparation("computing", title=backbones.get(TINY).title, done=5, total=total)
    at = _app(colors_folder).run()
    assert f"5 of {total}" in _sidebar_words(at) and "are ready" not in _sidebar_words(at)
    _train_page(at)
    assert _page_says_computing(at) and at.button(key="find_lr").disabled
    at.switch_page("pages/1_data.py").run()
    assert not at.exception and at.button(key="doctor_run").disabled


def test_what_the_warm_process_says_about_the_settings_before_is_not_taken_for_these(colors_folder, warm_process):
    """Seen in the browser: just after a table was uploaded, the sidebar said the EfficientNet-Lite0 features (of
    the images before) were ready, while the page said MiniLM's were being computed."""
    warm_process["now"] = jobs.Preparation("ready", title="EfficientNet-Lite0", done=1000, total=1000, seconds=3.0)
    warm_process["silent"] = True  # asked for these settings, it has not said a word since
    at = _app(colors_folder).run()
    assert at.session_state.prepare_asked[1] is warm_process["now"]
    assert "are ready" not in _sidebar_words(at) and "Getting a training process ready" in _sidebar_words(at)
    _train_page(at)
    assert _page_says_computing(at) and at.button(key="find_lr").disabled
    # long after: a report about other settings (another session's, say) holds nothing back
    at.session_state["prepare_asked"] = (0.0, warm_process["now"])
    assert not any(word in _sidebar_words(_through_app_py(at)) for word in FEATURES_WORDS)
    _train_page(at)
    assert not _page_says_computing(at) and not at.button(key="find_lr").disabled


def test_without_a_warm_process_the_cache_alone_decides(colors_folder):
    at = _app(colors_folder).run()
    assert not any(word in _sidebar_words(at) for word in FEATURES_WORDS)
    _cache(colors_folder)
    assert "are ready (found in the cache)" in _sidebar_words(_through_app_py(at))
    _train_page(at)
    assert not _page_says_computing(at) and not at.button(key="find_lr").disabled


def test_the_data_heading_and_the_counts_agree_after_an_exclusion(colors_folder):
    report = image_folders.load_dataset(colors_folder)
    exclusions.exclude(report, {report.train[0][0]: "a copy"})
    at = _app(colors_folder, data_name="colors", report=data.load_dataset(str(colors_folder))).run()
    assert "2 classes, 23 images (1 excluded)" in " ".join(m.value for m in at.sidebar.markdown)
    at.switch_page("pages/1_data.py").run()
    assert not at.exception
    assert at.subheader[0].value == "What was found in colors: 2 classes, 23 images (1 excluded)"
    images = next(m for m in at.metric if m.label == "Images")
    assert images.value == "23" and images.proto.delta == "1 excluded"


def test_a_samples_heading_gives_the_counts_there_are_now_after_an_exclusion():
    """Seen in the browser: "MNIST handwritten digits: 1,000 images" above a count of 999."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    at.button(key="start_with_sample").click().run()
    report = at.session_state.report
    exclusions.exclude(report, {report.train[0][0]: "a copy"})
    at.session_state["report"] = data.load_dataset("sample:mnist")
    at.switch_page("pages/1_data.py").run()
    assert not at.exception
    assert at.subheader[0].value == "What was found in MNIST handwritten digits: 10 classes, 999 images (1 excluded)"
    assert next(m for m in _through_app_py(at).sidebar.markdown if "Data:" in m.value).value == \
        "**Data:** MNIST handwritten digits  \n10 classes, 999 images (1 excluded)"
    assert next(m for m in at.metric if m.label == "Images").value == "999"


def test_the_private_switch_says_beside_it_why_it_is_off(colors_folder, tmp_path):
    report = image_folders.load_dataset(colors_folder)
    target_folder = make_image_folder(tmp_path / "target", {"red": 6, "blue": 6})
    target = domains.load_target(str(target_folder), report)
    at = _app(colors_folder, target=target, target_source=str(target_folder), adapt="coral",
              private_training=True).run()
    _train_page(at)
    assert at.toggle(key="private_toggle").disabled and not at.session_state.private_training
    assert any(c.value.startswith("Private training is off while the model adapts to the target")
               for c in at.main.caption)  # in sight, not only in the tooltip


def _run_folder(folder: Path, strategy: str, backbone: str, group: str | None = None) -> str:
    config = TrainConfig.for_strategy(str(folder), strategy, backbone=backbone, group=group)
    return str(runs.create_run(config.out_dir, config.model_label, strategy, status="finished",
                               config={"config": config.to_dict()}).dir)


def test_the_train_page_shows_the_persons_own_run_not_a_curve_member(colors_folder):
    """Seen in the browser: after a data-efficiency curve, the Train page showed its small-CNN run under a
    feature-extraction form."""
    own = _run_folder(colors_folder, "feature_extract", TINY)
    member = _run_folder(colors_folder, "scratch", "small_cnn", group="curve-20261206-101010")
    at = _train_page(_app(colors_folder, own_run=own, run_dir=member).run())
    assert at.subheader[0].value == f"Run `{Path(own).name}`"
    assert not any("data-efficiency curve" in i.value for i in at.info)


def test_a_curve_member_shown_on_the_train_page_is_said_to_be_one(colors_folder):
    member = _run_folder(colors_folder, "scratch", "small_cnn", group="curve-20261206-101010")
    at = _train_page(_app(colors_folder, run_dir=member).run())
    assert at.subheader[0].value == f"Run `{Path(member).name}`"
    assert any(i.value.startswith("Shown: a point of a data-efficiency curve started on the Compare page")
               for i in at.info)
