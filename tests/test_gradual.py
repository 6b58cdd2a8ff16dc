"""Gradual unfreezing with discriminative learning rates (core/strategies/gradual_unfreeze.py), on tiny data."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from core import backbones, strategies
from core.config import TrainConfig
from core.errors import UserError
from core.train import fit
from tests.helpers import TINY, TINY_BERT

ROOT = Path(__file__).resolve().parents[1]


def _config(data, **overrides) -> TrainConfig:
    return TrainConfig.for_strategy(str(data), "gradual_unfreeze", **{"backbone": TINY, "epochs": 3, "batch_size": 4,
                                                                     "unfreeze_every": 1, "patience": 0, **overrides})


def test_blocks_unfreeze_from_the_top_and_learn_slower_further_down(reviews_csv):
    config = _config(reviews_csv, backbone=TINY_BERT, unfreeze_stages=4, lr=1e-3, lr_decay=2.0)
    learner = strategies.get("gradual_unfreeze")
    model = learner.build(backbones.get(TINY_BERT), 2)
    assert not any(p.requires_grad for p in model.backbone.parameters())  # stage 1: the head alone
    groups = learner.parameter_groups(model, config)
    assert [g["name"] for g in groups] == ["backbone", "backbone-2", "backbone-3", "head"]
    assert [g["lr"] for g in groups] == pytest.approx([1e-3, 5e-4, 2.5e-4, 1e-2])  # the head at lr x 10
    layer = {name: next(model.backbone.model.encoder.layer[int(name)].parameters()) for name in ("0", "1")}
    embeddings = next(model.backbone.model.embeddings.parameters())
    seen = []
    for epoch in range(1, 5):
        began = learner.epoch_start(model, config, epoch)
        seen.append((began["stage"], layer["1"].requires_grad, layer["0"].requires_grad, embeddings.requires_grad))
    assert seen == [(1, False, False, False), (2, True, False, False), (3, True, True, False), (4, True, True, True)]
    assert learner.epoch_start(model, config, 5) is None  # no new stage: nothing to announce


def test_a_parameter_outside_every_block_trains_with_the_lowest_part(colors_folder):
    """A ViT's class token belongs to no block of the layer table: it must still unfreeze (with the bottom part,
    at its rate), not stay frozen for the whole run."""
    config = _config(colors_folder, unfreeze_stages=3, lr=1e-2, lr_decay=2.0)
    learner = strategies.get("gradual_unfreeze")
    model = learner.build(backbones.get(TINY), 2)
    model.backbone.register_parameter("class_token", torch.nn.Parameter(torch.zeros(4), requires_grad=False))
    groups = learner.parameter_groups(model, config)
    assert any(p is model.backbone.class_token for p in groups[-2]["params"])  # the lowest part's group
    seen = []
    for epoch in range(1, 4):
        learner.epoch_start(model, config, epoch)
        seen.append(model.backbone.class_token.requires_grad)
    assert seen == [False, False, True]


def test_a_run_trains_the_head_first_then_the_backbone_and_says_when(colors_folder):
    pretrained = backbones.create_backbone(backbones.get(TINY), pretrained=True).state_dict()
    head_only = fit(_config(colors_folder, epochs=1, lr=0.05))
    trained = load_file(Path(head_only["run_dir"]) / "best.safetensors")
    assert all(torch.equal(trained[f"backbone.{k}"], v) for k, v in pretrained.items())  # stage 1 left it alone
    events = []
    summary = fit(_config(colors_folder, epochs=3, lr=0.05), on_event=events.append)
    stages = [e for e in events if e["kind"] == "stage"]
    assert [e["stage"] for e in stages] == [1, 2, 3] and "unfrozen conv.1" in stages[1]["message"]
    assert [e["stage"] for e in events if e["kind"] == "epoch"] == [1, 2, 3]
    assert summary["trainable_params"] == head_only["trainable_params"] + sum(  # all unfrozen by the end ...
        p.numel() for name, p in backbones.create_backbone(backbones.get(TINY), pretrained=True).named_parameters())
    assert head_only["frozen_params"] > 0 and summary["frozen_params"] == 0  # ... where stage 1 froze them
    trained = load_file(Path(summary["run_dir"]) / "best.safetensors")
    assert torch.equal(trained["backbone.conv.1.running_mean"], pretrained["conv.1.running_mean"])  # BN kept


def test_an_interrupted_run_resumes_in_its_stage_as_if_never_interrupted(colors_folder, tmp_path):
    from core import runs

    straight = fit(_config(colors_folder, epochs=4, unfreeze_every=1, lr=0.05, out_dir=str(tmp_path / "a")))
    batches = []

    def interrupt_in_epoch_three() -> str | None:
        batches.append(1)
        return "interrupted" if len(batches) > 11 else None  # 5 batches per epoch

    first = fit(_config(colors_folder, epochs=4, lr=0.05, out_dir=str(tmp_path / "b")),
                should_stop=interrupt_in_epoch_three)
    run = runs.Run(Path(first["run_dir"]))
    resumed = fit(TrainConfig.load(run.dir / "config.json"), run=run, resume=True)
    assert [e.get("stage") for e in run.history()] == [1, 2, 3, 3]
    expected, got = (load_file(Path(s["run_dir"]) / "best.safetensors") for s in (straight, resumed))
    assert all(torch.allclose(expected[k].float(), got[k].float(), atol=1e-6) for k in expected)


def test_gradual_unfreezing_is_not_trained_privately_yet(colors_folder):
    with pytest.raises(UserError, match="does not train privately"):
        _config(colors_folder, dp_epsilon=3.0)
    with pytest.raises(UserError, match="unfreezing stages"):
        _config(colors_folder, unfreeze_stages=1)


def test_the_cli_trains_in_stages(colors_folder):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "core", "train", "--data", str(colors_folder), "--backbone", TINY,
                           "--strategy", "gradual_unfreeze", "--epochs", "2", "--unfreeze-every", "1",
                           "--batch-size", "4", "--lr-decay", "3"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert "Stage 2 of 3: unfrozen conv.1" in done.stdout
    assert json.loads(done.stdout.splitlines()[-1])["strategy"] == "gradual_unfreeze"
