"""Private training (core/privacy.py: DP-SGD through Opacus) on tiny data: the budget kept and reported,
clipping and noise really applied, what cannot train privately refused, resumable, on the CLI."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from core import backbones, runs
from core.config import TrainConfig
from core.errors import UserError
from core.train import fit
from tests.helpers import TINY, TINY_BERT

ROOT = Path(__file__).resolve().parents[1]


def _config(data, strategy="feature_extract", **overrides) -> TrainConfig:
    return TrainConfig.for_strategy(str(data), strategy, **{"backbone": TINY, "epochs": 4, "batch_size": 4,
                                                            "patience": 0, **overrides})


def test_a_private_head_spends_at_most_its_budget_and_says_how_much(colors_folder):
    events = []
    summary = fit(_config(colors_folder, dp_epsilon=2.0, lr=0.05), on_event=events.append)
    assert summary["status"] == "finished"
    assert 0 < summary["epsilon"] <= 2.0 + 1e-6
    assert summary["dp"]["delta"] == pytest.approx(1 / summary["train_images"])  # default delta: 1/N
    assert summary["dp"]["noise_multiplier"] > 0.5 and summary["dp"]["max_grad_norm"] == 1.0
    spent = [e["epsilon"] for e in events if e["kind"] == "epoch"]
    assert len(spent) == 4 and all(b > a for a, b in zip(spent, spent[1:]))  # spent epoch by epoch
    assert spent[-1] == pytest.approx(summary["epsilon"], abs=1e-3)
    ordinary = fit(_config(colors_folder, lr=0.05))
    assert "epsilon" not in ordinary and "dp" not in ordinary
    from core.inference.export import model_card
    from core.inference import load

    card = model_card(load(summary["run_dir"]), None)  # the exported model says what it guarantees
    assert f"Trained privately (differential privacy, DP-SGD): ε ≤ 2 (spent: {summary['epsilon']:.2f})" in card
    assert "Trained privately" not in model_card(load(ordinary["run_dir"]), None)


def test_a_smaller_budget_means_more_noise_and_the_noise_really_changes_the_model(colors_folder):
    strict, loose = (fit(_config(colors_folder, dp_epsilon=eps, lr=0.05)) for eps in (0.5, 50.0))
    assert strict["dp"]["noise_multiplier"] > 2 * loose["dp"]["noise_multiplier"]
    ordinary = fit(_config(colors_folder, lr=0.05))
    weights = [load_file(Path(s["run_dir"]) / "best.safetensors")["head.linear.weight"] for s in (strict, ordinary)]
    assert not torch.allclose(*weights, atol=1e-3)  # clipped, noisy steps train a different head
    again = fit(_config(colors_folder, dp_epsilon=0.5, lr=0.05))  # ... and still a seeded one
    assert torch.equal(load_file(Path(again["run_dir"]) / "best.safetensors")["head.linear.weight"], weights[0])


def test_private_fine_tuning_keeps_batchnorm_as_pretrained_and_trains_the_rest(colors_folder):
    events = []
    summary = fit(_config(colors_folder, "fine_tune", dp_epsilon=8.0, lr=0.01), on_event=events.append)
    assert summary["status"] == "finished" and summary["epsilon"] <= 8.0 + 1e-6
    assert any("BatchNorm" in e.get("message", "") for e in events if e["kind"] == "notice")
    pretrained = backbones.create_backbone(backbones.get(TINY), pretrained=True).state_dict()
    trained = load_file(Path(summary["run_dir"]) / "best.safetensors")
    for name in ("conv.1.weight", "conv.1.bias", "conv.1.running_mean", "conv.1.running_var"):  # the BatchNorm
        assert torch.equal(trained[f"backbone.{name}"], pretrained[name]), name
    assert not torch.equal(trained["backbone.conv.0.weight"], pretrained["conv.0.weight"])  # the conv trained


def test_a_text_encoder_trains_privately_without_its_shared_position_embeddings(reviews_csv):
    events = []
    summary = fit(_config(reviews_csv, "fine_tune", backbone=TINY_BERT, epochs=2, dp_epsilon=8.0),
                  on_event=events.append)
    assert summary["status"] == "finished" and 0 < summary["epsilon"] <= 8.0 + 1e-6
    notices = " ".join(e.get("message", "") for e in events if e["kind"] == "notice")
    assert "position_embeddings" in notices


@pytest.mark.parametrize("data, strategy, settings, words", [
    ("reviews", "tfidf", {}, "TF-IDF"),
    ("colors", "fine_tune", {"micro_batch_size": 2}, "whole batches"),
    ("colors", "fine_tune", {"train_batchnorm": True}, "BatchNorm"),
    ("colors", "feature_extract", {"dp_epsilon": -1.0}, "above 0"),
    ("colors", "feature_extract", {"dp_epsilon": None, "dp_delta": 1e-5}, "needs a privacy budget"),
    ("colors", "feature_extract", {"dp_delta": 2.0}, "between 0 and 1"),
])
def test_what_cannot_train_privately_is_refused_with_the_reason(colors_folder, reviews_csv, data, strategy, settings,
                                                                words):
    folder = {"colors": colors_folder, "reviews": reviews_csv}[data]
    with pytest.raises(UserError, match=words):
        TrainConfig(data=str(folder), strategy=strategy, backbone=TINY, **{"dp_epsilon": 3.0, **settings}).validated()


def test_a_network_opacus_cannot_handle_is_refused_with_its_words(reviews_csv):
    with pytest.raises(UserError, match="cannot train privately.*LSTM"):
        fit(_config(reviews_csv, "scratch", backbone="text_lstm", dp_epsilon=3.0, epochs=1))


def test_an_interrupted_private_run_resumes_with_its_budget_spent_so_far(colors_folder, tmp_path):
    settings = dict(dp_epsilon=3.0, lr=0.01, epochs=4)
    straight = fit(_config(colors_folder, "fine_tune", out_dir=str(tmp_path / "straight"), **settings))
    batches = []

    def interrupt_in_epoch_three() -> str | None:
        batches.append(1)
        return "interrupted" if len(batches) > 11 else None  # 5 batches per epoch (19 images, 4 a batch)

    first = fit(_config(colors_folder, "fine_tune", out_dir=str(tmp_path / "resumed"), **settings),
                should_stop=interrupt_in_epoch_three)
    run = runs.Run(Path(first["run_dir"]))
    assert first["status"] == "interrupted" and run.load_checkpoint()["epoch"] == 2
    resumed = fit(TrainConfig.load(run.dir / "config.json"), run=run, resume=True)
    assert resumed["epsilon"] == pytest.approx(straight["epsilon"])  # the first two epochs' spending counted
    expected, got = (load_file(Path(s["run_dir"]) / "best.safetensors") for s in (straight, resumed))
    assert all(torch.allclose(expected[k].float(), got[k].float(), atol=1e-6) for k in expected)


def test_the_cli_trains_privately_and_prints_the_epsilon_spent(colors_folder):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TRANSFERLAB_PLUGINS": "tests.helpers:register_test_backbones"}
    done = subprocess.run([sys.executable, "-m", "core", "train", "--data", str(colors_folder), "--backbone", TINY,
                           "--epochs", "3", "--batch-size", "4", "--dp-epsilon", "2", "--dp-clip", "0.5"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout.splitlines()[-1])
    assert 0 < summary["epsilon"] <= 2.0 + 1e-6 and summary["dp"]["max_grad_norm"] == 0.5
    assert "epsilon" in done.stdout.splitlines()[-3]  # each epoch's line says what is spent so far
    assert "Secure RNG" not in done.stderr
