"""The learning-rate range test (core/lr_find.py) and `python -m core lr-find`, on tiny data."""

import dataclasses
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from core import lr_find
from core.config import TrainConfig
from core.errors import UserError
from tests.helpers import TINY

ROOT = Path(__file__).resolve().parents[1]


def test_the_suggestion_is_where_the_loss_falls_fastest():
    rates = [10 ** (k / 4 - 6) for k in range(21)]  # 1e-6 .. 10
    losses = [2.0] * 8 + [1.9, 1.6, 1.0, 0.7, 0.6, 0.55, 0.6, 0.9, 2.0, 5.0, 9.0, 20.0, 50.0]
    assert lr_find.suggest(rates, losses) == rates[10]  # between 1.6 and 0.7: the steepest fall
    assert lr_find.suggest(rates, [2.0 + k for k in range(21)]) is None  # never falls: no suggestion


@pytest.mark.parametrize("strategy", ["feature_extract", "fine_tune"])
def test_a_range_test_is_seeded_rises_and_suggests_a_rate_inside_it(colors_folder, strategy):
    config = TrainConfig.for_strategy(str(colors_folder), strategy, backbone=TINY, batch_size=4)
    first = lr_find.range_test(config, steps=40, start=1e-5, end=100.0)
    again = lr_find.range_test(config, steps=40, start=1e-5, end=100.0)
    assert first.raw_losses == again.raw_losses  # seeded: the same curve
    assert first.rates[0] == pytest.approx(1e-5) and all(b > a for a, b in zip(first.rates, first.rates[1:]))
    assert first.suggested_lr is not None and 1e-5 < first.suggested_lr < 100.0
    finite = [loss for loss in first.losses if math.isfinite(loss)]
    assert min(finite) < finite[0]  # the loss fell somewhere in the range
    assert first.stopped_early or len(first.rates) == 40
    assert not list((Path(os.environ["TRANSFERLAB_HOME"]) / "runs").glob("*"))  # no run folder: nothing kept


def test_the_train_pages_child_tests_a_runs_settings_from_its_config_file(colors_folder):
    """As the Train page runs it (ui/child.py): the settings written next to the child as config.json, whose
    name in the arguments ("{config.json}") becomes its path; the answer read back once the child ends."""
    from ui import child

    config = TrainConfig.for_strategy(str(colors_folder), "fine_tune", backbone=TINY, batch_size=4)
    found = child.start(["lr-find", "--config", "{config.json}", "--steps", "20", "--json"], "lr-find",
                        {"config.json": json.dumps(config.to_dict())}, steps=20)
    assert found["steps"] == 20 and child.running(found)
    found["process"].wait(timeout=120)
    child.settle(found, "the test")
    assert not child.running(found) and found["error"] is None, found["error"]
    assert found["result"]["strategy"] == "fine_tune" and found["result"]["suggested_lr"] > 0
    assert child.last_count(found, "step")[1] == 20  # its progress, read from its stderr


def test_what_has_no_learning_rate_is_refused(reviews_csv):
    with pytest.raises(UserError, match="no learning rate"):
        lr_find.range_test(TrainConfig.for_strategy(str(reviews_csv), "tfidf"), steps=10)
    with pytest.raises(UserError, match="between 5 and 1000"):
        lr_find.range_test(TrainConfig.for_strategy(str(reviews_csv), "feature_extract"), steps=2)


def test_the_cli_prints_the_curve_and_the_suggestion_as_json(colors_folder):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "core", "lr-find", "--data", str(colors_folder), "--backbone", TINY,
                           "--steps", "30", "--batch-size", "4", "--end-lr", "100", "--json"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["suggested_lr"] > 0 and len(result["curve"]) == len(result["rates"]) >= 5
    assert set(result["curve"][0]) == {"lr", "loss"}
    assert f"step {len(result['rates'])}/30" in done.stderr  # progress, step by step, on stderr


def test_the_pages_suggestion_stays_good_for_a_run_of_the_same_settings(colors_folder):
    """A run started with the tested settings (its epochs, schedule and rate the form's, numbers remembered as
    floats) leaves the suggestion standing; a setting the test trains with makes it stale."""
    from ui.lr_finder import _settings_key

    tested = TrainConfig.for_strategy(str(colors_folder), "fine_tune", backbone=TINY)
    started = dataclasses.replace(tested, lr=0.05, epochs=tested.epochs + 3, patience=9, group="x",
                                  batch_size=float(tested.batch_size))
    assert _settings_key(started) == _settings_key(tested)
    assert _settings_key(dataclasses.replace(tested, batch_size=tested.batch_size * 2)) != _settings_key(tested)
    assert _settings_key(dataclasses.replace(tested, optimizer="adam")) != _settings_key(tested)
