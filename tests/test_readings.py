"""What the pages say about numbers: who is ahead and by how many points, percentages rounded as people round,
a countdown that cannot end before its running part, audit losses said for what they are, names never
capitalised in the middle of a sentence, charts whose toolbar covers no title, and no import circle in ui/."""

import ast
import re
from pathlib import Path

import numpy as np
import pytest
from babel.messages.pofile import read_po

from core import audit, compare, curve, i18n, train
from core.config import TrainConfig
from tests.helpers import TINY

ROOT = Path(__file__).resolve().parents[1]


def _points(strategy, accuracies, val_images=200):
    return [{"strategy": strategy, "per_class": size, "val_acc": acc, "val_images": val_images, "status": "finished"}
            for size, acc in accuracies.items()]


# ---------------------------------------------------------------- the curve's reading names who is ahead


def test_a_baseline_ahead_within_the_uncertainty_is_named_with_its_lead_in_points():
    """The browser's case: at 20 per class the baseline leads 91.5% to 86.5% on 200 validation images."""
    found = _points("feature_extract", {20: 0.865}) + _points("scratch", {20: 0.915})
    with i18n.language("en"):
        said = curve.reading(found)[0]
    assert said.startswith("With 20 per class, the from-scratch baseline and feature extraction are about the same: "
                           "the from-scratch baseline is 5.0 points ahead (91.5% vs 86.5%).")
    assert "within what 200 validation examples can tell apart" in said
    with i18n.language("zh_CN"):
        assert "91.5%" in curve.reading(found)[0] and "86.5%" in curve.reading(found)[0]


def test_a_clear_lead_is_called_a_lead_and_a_tie_is_called_level():
    many = _points("feature_extract", {5: 0.80, "all": 0.95}, 400) + _points("scratch", {5: 0.30, "all": 0.70}, 400)
    with i18n.language("en"):
        assert curve.reading(many) == [
            "With 5 per class, feature extraction is ahead of the from-scratch baseline by 50.0 points (80.0% vs "
            "30.0%). With all the examples, feature extraction is ahead of the from-scratch baseline by 25.0 points "
            "(95.0% vs 70.0%)."]
        level = _points("feature_extract", {5: 0.80}) + _points("scratch", {5: 0.80})
        assert curve.reading(level) == ["With 5 per class, feature extraction and the from-scratch baseline are level "
                                        "(80.0% each)."]


def test_where_the_leader_changes_the_reading_says_from_which_size_and_still_names_the_one_ahead():
    found = _points("feature_extract", {5: 0.70, 10: 0.80, 20: 0.865}) + \
        _points("scratch", {5: 0.50, 10: 0.75, 20: 0.915})
    with i18n.language("en"):
        said = curve.reading(found)[0]
    assert said.startswith("With 5 per class, feature extraction is ahead of the from-scratch baseline by 20.0 points")
    assert "From 10 per class on, feature extraction and the from-scratch baseline are about the same: at 10 per " \
           "class feature extraction is 5.0 points ahead (80.0% vs 75.0%)." in said
    assert "the from-scratch baseline is 5.0 points ahead (91.5% vs 86.5%)" in said


# ---------------------------------------------------------------- percentages as people round them


@pytest.mark.parametrize("language", ["en", "zh_CN"])
def test_percentages_round_halves_up_in_both_languages(language):
    with i18n.language(language):
        assert i18n.percent(0.805, 0) == "81%" and i18n.percent(0.765, 0) == "77%"
        assert i18n.percent(0.145, 0) == "15%"  # 0.145 * 100 is 14.499... in binary
        assert i18n.percent(float(np.float32(153 / 200)), 0) == "77%"  # an accuracy from a float32 tensor: 0.76499998
        assert i18n.percent(0.805) == "80.5%" and i18n.percent(0.9234) == "92.3%" and i18n.percent(None) == "–"
        assert i18n.percent(0.80549, 1) == "80.5%" and i18n.percent(0.8055, 1) == "80.6%"
        assert i18n.number(2.5, 0) == "3" and i18n.number(1234567) == "1,234,567"
        assert i18n.points(0.915, 0.865) == "5.0" and i18n.points(0.865, 0.915) == "5.0"
        assert i18n.points(0.9146, 0.8654) == "5.0"  # the gap between 91.5% and 86.5%, as they read


# ---------------------------------------------------------------- the countdown of a curve or comparison


def test_the_overall_time_left_is_at_least_the_running_members_own_countdown():
    found = [{"status": "finished", "seconds": 10.0}, {"status": "running", "seconds": 30.0},
             {"status": "queued", "seconds": None}, {"status": "queued", "seconds": None}]
    guesses = [10.0, 20.0, 5.0, 5.0]  # the running one was guessed at 20 s and has run 30: its guess is spent
    assert curve.remaining(found, guesses, current_eta=35.0) == pytest.approx(35.0 + 10.0)
    assert curve.remaining(found, guesses, current_eta=35.0) >= 35.0
    assert curve.remaining(found, guesses) == pytest.approx(2.0 + 10.0)  # no countdown yet: a tenth of its guess
    assert curve.remaining(found[:2], guesses[:2], current_eta=0.0) == 0.0


# ---------------------------------------------------------------- names never capitalised mid-sentence


def _row(strategy, acc, seconds, **more):
    return {"strategy": strategy, "status": "finished", "best_val_acc": acc, "seconds": seconds,
            "trainable_params": None, "final_train_acc": None, "epochs": 10, "val_images": 1000, **more}


def test_a_baseline_that_wins_is_named_as_written_for_the_middle_of_a_sentence():
    with i18n.language("en"):
        sentences = compare.reading([_row("tfidf", 0.97, 3), _row("feature_extract", 0.80, 60),
                                     _row("fine_tune", 0.90, 600)])
    assert sentences[0].startswith("Feature extraction lost to the TF-IDF baseline by 17.0 points (80.0% vs 97.0%)")
    assert sentences[1].endswith("Time: fine-tuning took 10x as long as feature extraction (10 min; feature "
                                 "extraction: 1 min).")
    for sentence in sentences:  # a capital only where a sentence begins
        assert not re.search(r"[^.:!?]\s+The TF-IDF", sentence), sentence


def test_differences_of_percentages_are_said_in_points_in_both_languages():
    """'Training accuracy is 14% above' reads as 14 percent of it: a gap is in (percentage) points, 百分点."""
    messages = read_po((ROOT / "core/locales/zh_CN/LC_MESSAGES/transferlab.po").open("rb"))
    for message in messages:
        english = message.id if isinstance(message.id, str) else message.id[0]
        chinese = message.string if isinstance(message.string, str) else message.string[0]
        assert not re.search(r"\{\w+:\.\d%\} (above|below|higher|lower)", english), english
        if re.search(r"\{\w+(:[^}]*)?\} (percentage )?points", english) and chinese:
            assert "百分点" in chinese, (english, chinese)
    source = (ROOT / "pages/4_results.py").read_text()
    assert "percentage points above validation accuracy" in source


# ---------------------------------------------------------------- the audit says what its losses are


def test_the_audit_says_which_weights_examples_and_mode_its_losses_come_from(colors_folder, tmp_path):
    config = TrainConfig.for_strategy(str(colors_folder), "feature_extract", backbone=TINY, epochs=3, batch_size=8,
                                      out_dir=str(tmp_path / "runs"))
    found = audit.audit(train.fit(config)["run_dir"])
    assert found.epoch is not None and found.validation_examples == found.non_members  # all validation scored
    # the same weights on the same examples in the same mode: the validation curve's point at the kept epoch
    assert found.non_member_loss == pytest.approx(found.epoch_val_loss, rel=1e-3, abs=1e-4)
    with i18n.language("en"):
        said = audit.basis(found)
    assert f"kept weights (epoch {found.epoch}, the best one) in evaluation mode" in said
    assert "training mode" in said and f"{found.epoch_val_loss:.3f}" in said
    with i18n.language("zh_CN"):
        assert f"{found.epoch_val_loss:.3f}" in audit.basis(found)


# ---------------------------------------------------------------- charts and modules


def test_every_chart_keeps_its_top_band_free_for_plotlys_toolbar():
    from ui import charts

    history = [{"epoch": 1, "train_loss": 1.0, "val_loss": 1.1, "train_acc": 0.5, "val_acc": 0.4},
               {"epoch": 2, "train_loss": 0.5, "val_loss": 0.7, "train_acc": 0.8, "val_acc": 0.7}]
    figures = [charts.learning_curves(history), charts.overlay({"a": history}),
               charts.class_counts([{"class": "a", "train": 3, "val": 1}]),
               charts.confusion_matrix([[1, 0], [1, 1]], ["a", "b"]), charts.token_lengths([3, 4, 9], 8),
               charts.top_classes([0.7, 0.3], ["a", "b"]), charts.embedding_scatter([[0, 0]], [0], ["a"], "map"),
               charts.data_curve({"a": [(5.0, 0.8, "5")]}), charts.source_and_target([("a", 0.9, 0.7)]),
               charts.lr_range([1e-4, 1e-3], [1.0, 0.8], 1e-3, None), charts.membership_losses([0.1], [0.2], "images")]
    for figure in figures:
        assert figure.layout.margin.t >= charts.TOOLBAR + 10
        if figure.layout.title.text:  # the title hangs from the top of the chart, below the toolbar
            assert figure.layout.title.yref == "container" and figure.layout.title.pad.t >= charts.TOOLBAR


def test_no_import_circle_among_the_ui_modules():
    graph = {}
    for path in (ROOT / "ui").glob("*.py"):
        imported = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module == "ui":
                imported |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("ui."):
                imported.add(node.module.split(".")[1])
            elif isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[1] for alias in node.names if alias.name.startswith("ui.")}
        graph[path.stem] = imported

    def reaches(start: str, goal: str, seen: set) -> bool:
        return any(name == goal or (name not in seen and reaches(name, goal, seen | {name}))
                   for name in graph.get(start, ()))

    assert not [name for name in graph if reaches(name, name, set())]


def test_the_source_and_target_chart_wraps_long_run_names_and_keeps_its_legend_above():
    """Seen in the browser: a long run name ran diagonally out of Compare's chart and squeezed its plot."""
    from ui import charts

    long = "Feature extraction + per-domain standardisation (chosen by measurement)"
    figure = charts.source_and_target([("From scratch (baseline)", 0.9, 0.5), (long, 0.95, 0.6),
                                       ("特征提取 + 按领域标准化（通过测量选择）", 0.95, 0.6)])
    names = list(figure.data[0].x)
    for name in names:
        assert all(sum(2 if ord(c) > 0x2E80 else 1 for c in line) <= 24 for line in name.split("<br>")), name
    assert names[1].replace("<br>", " ") == long and figure.layout.xaxis.tickangle == 0
    assert figure.layout.legend.y >= 1 and list(figure.data[1].text) == ["50.0%", "60.0%", "60.0%"]
