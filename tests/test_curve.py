"""The data-efficiency curve: nested subsets, the whole validation split, the reading, the CLI."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from core import curve, features
from core.data import image_folders
from core.errors import UserError
from tests.helpers import TINY, make_image_folder

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def three_colours(tmp_path):
    return make_image_folder(tmp_path / "three", {"red": 20, "blue": 14, "green": 20})


def test_subsets_are_seeded_stratified_nested_and_leave_validation_alone(three_colours):
    report = image_folders.load_dataset(three_colours)
    small, large = report.at_most_per_class(3, seed=0), report.at_most_per_class(8, seed=0)
    assert [row["train"] for row in small.counts()] == [3, 3, 3]
    assert [row["train"] for row in large.counts()] == [8, 8, 8]
    assert set(small.train) < set(large.train) and small.val == large.val == report.val
    assert small.all_items() == report.all_items()  # the features are the whole data's: one cache file
    assert small.fingerprint == report.fingerprint
    assert report.at_most_per_class(3, seed=0).train == small.train
    assert report.at_most_per_class(3, seed=1).train != small.train
    capped = report.at_most_per_class(15, seed=0)  # blue has 11 to train on: all of them, the others 15
    assert [row["train"] for row in capped.counts()] == [11, 15, 15]


def test_sizes_parse_and_sizes_beyond_the_data_mean_all(three_colours):
    assert curve.parse_sizes("5, 10,all, 5") == [5, 10, None]
    for bad in ("five", "0", "", "-3"):
        with pytest.raises(UserError):
            curve.parse_sizes(bad)
    report = image_folders.load_dataset(three_colours)  # 16, 11, 16 training examples
    assert curve.usable_sizes(report, [5, 10, 20, 50, None]) == [5, 10, None]
    assert curve.usable_sizes(report, [5, 10]) == [5, 10]
    assert curve.epochs_for(10, train_examples=15, batch_size=32) == 40       # 1 batch an epoch: 4x, the cap
    assert curve.epochs_for(10, train_examples=320, batch_size=32) == 10      # 10 batches: 100 updates already
    assert curve.epochs_for(10, train_examples=15, batch_size=32, min_steps=0) == 10


def test_plan_orders_cheap_points_first_and_shares_the_split(three_colours):
    report = image_folders.load_dataset(three_colours)
    configs = curve.plan(str(three_colours), report, TINY, ["fine_tune", "scratch", "feature_extract"], [2, None],
                         {"fine_tune": 2, "scratch": 3, "feature_extract": 5}, val_fraction=0.2)
    assert [(c.strategy, c.per_class) for c in configs] == [
        ("feature_extract", 2), ("feature_extract", None), ("scratch", 2), ("scratch", None),
        ("fine_tune", 2), ("fine_tune", None)]
    assert {c.group for c in configs} == {configs[0].group} and configs[0].group.startswith("curve-")
    assert {c.seed for c in configs} == {0} and {c.val_fraction for c in configs} == {0.2}
    assert configs[2].backbone == "small_cnn" and configs[0].backbone == TINY
    assert configs[0].epochs == 20 and configs[2].epochs == 12  # 6 examples: one batch an epoch, so up to 4x
    with pytest.raises(UserError, match="does not apply"):
        curve.plan(str(three_colours), report, TINY, ["tfidf"])


def test_estimate_counts_one_feature_pass_and_each_runs_epochs(three_colours):
    report = image_folders.load_dataset(three_colours)
    configs = curve.plan(str(three_colours), report, TINY, ["feature_extract", "fine_tune"], [2, None],
                         {"feature_extract": 5, "fine_tune": 1}, min_steps=0)
    counts = [row["train"] for row in report.counts()]
    cold = curve.estimate(configs, counts, len(report.val), lambda name: 100.0)
    start = curve.START_SECONDS
    assert cold[0] == pytest.approx(start + 0.1 * report.num_items + 1.0)  # the pass, once
    assert cold[1] == pytest.approx(start + 1.0)                          # the same features again
    assert cold[3] == pytest.approx(start + 1 * (3 * 0.1 * sum(counts) + 0.1 * len(report.val)))
    warm = curve.estimate(configs, counts, len(report.val), lambda name: 100.0, lambda config: True)
    assert warm[0] == pytest.approx(start + 1.0)


def _points(strategy, accuracies, val_images=400):
    return [{"strategy": strategy, "per_class": size, "val_acc": acc, "val_images": val_images, "status": "finished"}
            for size, acc in accuracies.items()]


def test_reading_says_where_transfer_pays_and_where_the_lines_meet():
    found = _points("feature_extract", {5: 0.86, 10: 0.90, 50: 0.94, "all": 0.95}) + \
        _points("scratch", {5: 0.41, 10: 0.55, 50: 0.93, "all": 0.96})
    assert curve.reading(found) == [
        "With 5 per class, feature extraction is ahead of the from-scratch baseline by 45.0 points (86.0% vs 41.0%). "
        "From 50 per class on, feature extraction and the from-scratch baseline are about the same: at 50 per class "
        "feature extraction is 1.0 points ahead (94.0% vs 93.0%). With all the examples, the from-scratch baseline "
        "and feature extraction are about the same: the from-scratch baseline is 1.0 points ahead (96.0% vs 95.0%). "
        "\"About the same\" means a gap within what 400 validation examples can tell apart (95% interval)."]
    ahead = _points("feature_extract", {5: 0.80, "all": 0.95}) + _points("scratch", {5: 0.30, "all": 0.70})
    assert curve.reading(ahead)[0].endswith("With all the examples, feature extraction is ahead of the from-scratch "
                                            "baseline by 25.0 points (95.0% vs 70.0%).")
    tuned = _points("feature_extract", {5: 0.80, 20: 0.85}) + _points("fine_tune", {5: 0.79, 20: 0.95})
    assert curve.reading(tuned) == [
        "With 5 per class, feature extraction and fine-tuning are about the same: feature extraction is 1.0 points "
        "ahead (80.0% vs 79.0%). With 20 per class, fine-tuning is ahead of feature extraction by 10.0 points (95.0% "
        "vs 85.0%). \"About the same\" means a gap within what 400 validation examples can tell apart (95% "
        "interval)."]
    assert curve.reading(_points("feature_extract", {5: 0.8})) == []


def test_cli_curve_prints_one_json_object_and_computes_features_once(three_colours, tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "core", "curve", "--data", str(three_colours), "--backbone", TINY,
         "--strategies", "feature_extract,scratch", "--per-class", "2,5,all", "--epochs", "2", "--json",
         "--out", str(tmp_path / "runs")], capture_output=True, text=True, cwd=ROOT, timeout=600,
        env={**__import__("os").environ, "TRANSFERLAB_HOME": str(tmp_path / "home")})
    assert result.returncode == 0, result.stderr
    output = json.loads(result.stdout)  # stdout is the JSON object alone
    points = output["points"]
    assert [(p["strategy"], p["per_class"]) for p in points] == [
        ("feature_extract", 2), ("feature_extract", 5), ("feature_extract", "all"),
        ("scratch", 2), ("scratch", 5), ("scratch", "all")]
    assert all(set(p) >= {"strategy", "per_class", "val_acc", "seconds"} for p in points)
    assert [p["train_examples"] for p in points[:3]] == [6, 15, 43]
    assert len({p["val_images"] for p in points}) == 1 and all(p["status"] == "finished" for p in points)
    assert "[1/6] feature_extract" in result.stderr
    cached = list((tmp_path / "home" / "cache" / "features" / TINY).glob("*.safetensors"))
    assert len(cached) == 1 and features.pass_seconds(cached[0]) is not None  # one pass for the three points
    bad = subprocess.run([sys.executable, "-m", "core", "curve", "--data", str(three_colours), "--per-class", "a"],
                         capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert bad.returncode == 1 and "'a' is not a number of examples per class" in bad.stderr


def test_with_a_target_every_point_is_scored_on_it_and_read_beside_validation(three_colours, tmp_path):
    from core.train import fit

    target = make_image_folder(tmp_path / "elsewhere", {"red": 6, "blue": 6, "green": 6}, size=24)
    report = image_folders.load_dataset(three_colours)
    configs = curve.plan(str(three_colours), report, TINY, ["feature_extract"], [2, None], {"feature_extract": 2},
                         target=str(target), out_dir=str(tmp_path / "runs"))
    assert all(c.target == str(target) and c.adapt == "none" for c in configs)  # scored, not adapted
    for config in configs:
        assert fit(config)["status"] == "finished"
    found = curve.points(tmp_path / "runs", configs[0].group)
    assert all(0.0 <= p["target_acc"] <= 1.0 for p in found)
    said = curve.reading(found)[-1]
    assert said.startswith("On the target, with the most examples each strategy had: feature extraction ")
    assert "(validation " in said
