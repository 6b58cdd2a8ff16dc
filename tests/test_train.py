import json
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from core import backbones, costs, features, runs, strategies
from core.config import TrainConfig
from core.errors import UserError
from core.train import fit
from tests.helpers import TINY


def _config(data, strategy="feature_extract", **overrides) -> TrainConfig:
    values = {"backbone": TINY, "epochs": 8, "batch_size": 8, **overrides}
    return TrainConfig.for_strategy(str(data), strategy, **values)


def test_feature_extraction_learns_and_writes_a_complete_run(colors_folder):
    events = []
    summary = fit(_config(colors_folder, lr=0.05), on_event=events.append)
    assert summary["status"] == "finished" and summary["best_val_acc"] >= 0.99
    epochs = [e for e in events if e["kind"] == "epoch"]
    assert len(epochs) == 8 and epochs[-1]["train_loss"] < epochs[0]["train_loss"]
    assert {"train_loss", "train_acc", "val_loss", "val_acc", "lr", "seconds"} <= set(epochs[0])
    assert [e["kind"] for e in events][0] == "start" and events[-1]["kind"] == "end"
    run = runs.Run(Path(summary["run_dir"]))
    assert run.status == "finished" and run.labels() == ["blue", "red"]
    assert run.config()["backbone"] == TINY
    assert set(load_file(run.dir / "best.safetensors")) == {"head.linear.weight", "head.linear.bias"}
    assert len(run.read_json("predictions.json")) == summary["val_images"]
    assert [json.loads(line)["kind"] for line in (run.dir / "events.jsonl").read_text().splitlines()][-1] == "end"


def test_feature_cache_is_shared_across_runs_heads_and_output_folders(colors_folder, tmp_path, monkeypatch):
    calls = []
    original = features.compute_features
    monkeypatch.setattr(features, "compute_features", lambda *a, **k: calls.append(1) or original(*a, **k))
    first = fit(_config(colors_folder, out_dir=str(tmp_path / "a")))
    second = fit(_config(colors_folder, lr=0.01, epochs=3, out_dir=str(tmp_path / "b")))
    assert calls == [1]
    assert first["cache_hit"] is False and second["cache_hit"] is True
    cached = list((tmp_path / "home" / "cache" / "features" / TINY).glob("*.safetensors"))
    assert len(cached) == 1 and not list(tmp_path.glob("*/*/*.partial"))


def test_a_run_that_reads_cached_features_still_says_what_the_first_time_cost(colors_folder, tmp_path, monkeypatch):
    original = features.compute_features

    def slow(*args, **kwargs):  # a backbone that takes a while, as a real one does on a CPU
        time.sleep(2.0)
        return original(*args, **kwargs)

    monkeypatch.setattr(features, "compute_features", slow)
    first = fit(_config(colors_folder, epochs=2, out_dir=str(tmp_path / "a")))
    second = fit(_config(colors_folder, epochs=2, out_dir=str(tmp_path / "b")))
    assert second["cache_hit"] is True and first["cache_hit"] is False and first["seconds"] >= 2.0
    # the cache remembers its pass: the repeat knows what the first time costs
    assert second["feature_pass_first_seconds"] == pytest.approx(first["feature_pass_seconds"], abs=0.01)
    assert second["first_time_seconds"] >= 2.0 and second["repeat_seconds"] == second["seconds"]
    assert first["first_time_seconds"] == pytest.approx(first["seconds"], abs=0.01)
    assert first["repeat_seconds"] < first["seconds"] - 1.9
    for summary in (first, second):
        words = costs.of(summary).words()
        assert "the first time" in words and "when repeated" in words, words
    row = runs.describe(runs.Run(Path(second["run_dir"])))
    assert costs.of(row) == costs.of(second)


def test_frozen_backbone_stays_equal_under_feature_extraction(colors_folder):
    spec = backbones.get(TINY)
    model = strategies.get("feature_extract").build(spec, 2)
    before = {k: v.clone() for k, v in model.backbone.state_dict().items()}
    head_before = model.head.linear.weight.clone()
    optimizer = torch.optim.SGD(strategies.get("feature_extract").parameter_groups(model, _config(colors_folder, lr=0.1)), lr=0.1, momentum=0.9,
                                weight_decay=0.01)
    for _ in range(3):
        loss = torch.nn.functional.cross_entropy(model(torch.randn(4, 3, 32, 32)), torch.tensor([0, 1, 0, 1]))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    after = model.backbone.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)  # weights and BatchNorm statistics
    assert not torch.equal(head_before, model.head.linear.weight)


def test_fine_tuning_trains_the_backbone_slower_than_the_head(colors_folder):
    fine_tune = strategies.get("fine_tune")
    model = fine_tune.build(backbones.get(TINY), 2)
    groups = {g["name"]: g for g in fine_tune.parameter_groups(model, _config(colors_folder, "fine_tune", lr=1e-3,
                                                                                head_lr_multiplier=10))}
    assert groups["backbone"]["lr"] == pytest.approx(1e-3) and groups["head"]["lr"] == pytest.approx(1e-2)
    summary = fit(_config(colors_folder, "fine_tune", epochs=2, lr=0.01))
    assert summary["status"] == "finished" and summary["frozen_params"] == 0
    weights = load_file(Path(summary["run_dir"]) / "best.safetensors")
    assert any(k.startswith("backbone.") for k in weights) and "head.linear.weight" in weights


def test_scratch_baseline_with_the_small_cnn(colors_folder):
    summary = fit(_config(colors_folder, "scratch", backbone="small_cnn", epochs=2))
    assert summary["status"] == "finished" and summary["trainable_params"] > 1_000_000
    with pytest.raises(UserError, match="no pretrained weights"):
        fit(_config(colors_folder, "feature_extract", backbone="small_cnn"))


def test_stop_flag_ends_the_run_cleanly_and_keeps_the_best(colors_folder):
    checks = []

    def stop_after_some_batches() -> bool:
        checks.append(1)
        return len(checks) > 7  # 3 batches per epoch: stops inside epoch 3

    summary = fit(_config(colors_folder, "scratch", backbone="small_cnn", epochs=50), should_stop=stop_after_some_batches)
    run = runs.Run(Path(summary["run_dir"]))
    assert summary["status"] == "stopped" and summary["epochs"] == 2
    assert run.status == "stopped" and run.summary()["epochs"] == 2
    assert (run.dir / "best.safetensors").is_file()


def test_bad_settings_fail_before_anything_is_written(colors_folder, tmp_path):
    with pytest.raises(UserError, match="learning rate must be above 0"):
        _config(colors_folder, lr=-1, out_dir=str(tmp_path / "out"))
    with pytest.raises(UserError, match="Unknown strategy"):
        TrainConfig.for_strategy(str(colors_folder), "magic")
    assert not (tmp_path / "out").exists()


def _weights(summary: dict) -> dict:
    return load_file(Path(summary["run_dir"]) / "best.safetensors")


def test_an_interrupted_run_resumes_from_its_checkpoint_and_ends_as_if_never_interrupted(colors_folder, tmp_path):
    settings = dict(backbone=TINY, epochs=4, batch_size=8, lr=0.01, patience=0)
    straight = fit(_config(colors_folder, "fine_tune", out_dir=str(tmp_path / "straight"), **settings))
    batches = []

    def interrupt_in_epoch_three() -> str | None:
        batches.append(1)
        return "interrupted" if len(batches) > 7 else None  # 3 batches per epoch

    first = fit(_config(colors_folder, "fine_tune", out_dir=str(tmp_path / "resumed"), **settings),
                should_stop=interrupt_in_epoch_three)
    run = runs.Run(Path(first["run_dir"]))
    assert first["status"] == "interrupted" and run.status == "interrupted" and run.can_resume()
    assert run.load_checkpoint()["epoch"] == 2 and run.summary() is None
    resumed = fit(TrainConfig.load(run.dir / "config.json"), run=run, resume=True)
    assert resumed["status"] == "finished" and resumed["epochs"] == 4 and run.status == "finished"
    assert [e["epoch"] for e in run.history()] == [1, 2, 3, 4]
    assert not run.has_checkpoint()  # finished: the checkpoint is not needed any more
    expected, got = _weights(straight), _weights(resumed)
    assert all(torch.allclose(expected[k].float(), got[k].float(), atol=1e-6) for k in expected)
    assert resumed["best_val_acc"] == straight["best_val_acc"]


def test_early_stopping_ends_when_validation_loss_stops_improving(tmp_path):
    from tests.helpers import make_image

    root = tmp_path / "noise"  # labels unrelated to the pictures: only memorising is possible
    for index in range(40):
        folder = root / ("a" if index % 2 else "b")
        folder.mkdir(parents=True, exist_ok=True)
        make_image((120, 120, 120), seed=index).save(folder / f"{index}.png")
    events = []
    summary = fit(_config(root, lr=0.3, epochs=200, patience=3), on_event=events.append)
    stops = [e for e in events if e["kind"] == "early_stop"]
    assert summary["status"] == "finished" and summary["early_stopped"] is True
    assert len(stops) == 1 and summary["epochs"] == stops[0]["epoch"] < 200
    losses = [e["val_loss"] for e in events if e["kind"] == "epoch"]
    assert min(losses[-3:]) >= min(losses[:-3]) - 1e-4  # three epochs without a lower validation loss


class _OutOfMemoryAboveTwo(torch.nn.Module):
    """Pretends the device holds two images at a time: like a real OOM, a bigger batch raises."""

    def __init__(self) -> None:
        super().__init__()
        self.inner = backbones.create_backbone(backbones.get(TINY))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        if len(images) > 2:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return self.inner(images)


def test_out_of_memory_continues_with_smaller_steps_and_says_so(colors_folder):
    import dataclasses

    spec = dataclasses.replace(backbones.get(TINY), name="oom_test", build=lambda pretrained: _OutOfMemoryAboveTwo())
    backbones.register(spec)
    try:
        events = []
        summary = fit(_config(colors_folder, "fine_tune", backbone="oom_test", epochs=2, batch_size=8),
                      on_event=events.append)
        extract = fit(_config(colors_folder, "feature_extract", backbone="oom_test", epochs=2, batch_size=8))
    finally:
        backbones.unregister("oom_test")
    notices = [e["message"] for e in events if e["kind"] == "notice"]
    assert summary["status"] == "finished" and summary["epochs"] == 2
    assert len(notices) == 2 and "continuing with 2 per step" in notices[-1] and "still sees 8" in notices[-1]
    assert runs.Run(Path(summary["run_dir"])).config()["micro_batch_size"] == 2
    assert extract["status"] == "finished"


def test_a_run_whose_process_died_reads_as_interrupted(tmp_path):
    run = runs.create_run(tmp_path, "tiny", "fine_tune")
    assert run.recorded_status == "running" and run.status == "interrupted"
    with run.training_lock():
        assert run.status == "running" and run.is_alive()
        with pytest.raises(UserError, match="another process"), run.training_lock():
            pass
    assert run.status == "interrupted"
    with pytest.raises(UserError, match="Stop it first"):
        runs.create_run(tmp_path, "tiny", "scratch", status="queued").delete()
    run.delete()
    assert not run.dir.exists()


def test_fine_tuning_keeps_pretrained_batchnorm_statistics_unless_asked(colors_folder):
    from core.strategies.fine_tune import freeze_batchnorm_statistics

    model = strategies.get("fine_tune").build(backbones.get(TINY), 2).train()
    freeze_batchnorm_statistics(model.backbone)
    norm = model.backbone.conv[1]
    before = norm.running_mean.clone()
    model(torch.rand(8, 3, 32, 32) * 5)
    assert not norm.training and torch.equal(norm.running_mean, before)
    assert norm.weight.requires_grad  # its scale and shift still learn

    frozen = fit(_config(colors_folder, "fine_tune", epochs=2))
    updated = fit(_config(colors_folder, "fine_tune", epochs=2, train_batchnorm=True))
    key = "backbone.conv.1.running_mean"
    pretrained = strategies.get("fine_tune").build(backbones.get(TINY), 2).state_dict()[key]
    assert torch.equal(_weights(frozen)[key], pretrained)
    assert not torch.equal(_weights(updated)[key], pretrained)
