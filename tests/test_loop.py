"""core/loop.py: the epochs. Tested by behaviour, through ``loop.fit_epochs`` on a tiny linear model and
synthetic tensors (a session built the way core/train.py builds one), and through ``core.train.fit`` on the tiny
backbone for what spans runs (stop, interrupt, resume). What a checkpoint holds inside is loop.py's business and
is not looked at here: only that a resumed run continues at the right epoch and ends as an uninterrupted one."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from core import backbones, loop, runs, strategies
from core.config import TrainConfig
from core.data.report import DataReport
from core.errors import UserError
from core.train import fit
from tests.helpers import TINY, _build_tiny

CPU = torch.device("cpu")


@pytest.fixture(autouse=True)
def torch_engine(monkeypatch):
    monkeypatch.setenv("TRANSFERLAB_ENGINE", "torch")  # the tiny backbone's frozen pass in PyTorch: no export


# -- a session, as core/train.py makes one, around tensors ----------------------------------------
def _separable(count: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Points labelled by which side of a line they fall: a linear model learns it in a few epochs."""
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(count, 4, generator=generator)
    return x, (x[:, 0] + 0.5 * x[:, 1] > 0).long()


def _config(tmp_path, **values) -> TrainConfig:
    settings = {"epochs": 8, "batch_size": 16, "lr": 0.1, "patience": 0, "out_dir": str(tmp_path / "out"), **values}
    return TrainConfig(data="tensors", backbone=TINY, **settings).validated()


class Fit:
    """One ``fit_epochs`` on a linear model: its events, run folder and result."""

    def __init__(self, tmp_path, config: TrainConfig, stop=lambda: None, train=None, val=None,
                 events: list | None = None, listener=None, **kwargs) -> None:
        self.config, self.events, self.listener = config, [] if events is None else events, listener
        self.run = runs.create_run(config.out_dir, "linear", "test")
        report = DataReport(root="tensors", classes=["a", "b"], train=[], val=[], layout="")
        session = loop.Session(config=config, strategy=strategies.get("feature_extract"), spec=backbones.get(TINY),
                               report=report, device=CPU, emit=self.emit, stop_reason=stop, run=self.run)
        train_x, train_y = train or _separable(64, 0)
        val_x, val_y = val or _separable(32, 1)
        torch.manual_seed(0)
        self.model = nn.Linear(train_x.shape[1], 2)
        self.train_loader = DataLoader(TensorDataset(train_x, train_y), batch_size=kwargs.pop("loader_batch", 16),
                                       shuffle=kwargs.pop("shuffle", True), generator=torch.Generator().manual_seed(0))
        self.val_loader = DataLoader(TensorDataset(val_x, val_y), batch_size=10)
        groups = [{"params": list(self.model.parameters()), "lr": config.lr, "name": "head"}]
        self.result = loop.fit_epochs(session, self.model, self.train_loader, self.val_loader, groups,
                                      save_best=kwargs.pop("save_best", True), **kwargs)

    def emit(self, kind: str, **values) -> None:
        self.events.append({"kind": kind, **values})
        if self.listener:
            self.listener(kind, values)

    def epochs(self) -> list[dict]:
        return [e for e in self.events if e["kind"] == "epoch"]


def _unlearning_after(epoch_count: int):
    """(step, epoch_start): the model learns the true labels for ``epoch_count`` epochs, then the opposite ones,
    so validation gets worse after that and the best epoch is not the last."""
    current = {"epoch": 0}

    def step(model, inputs, labels):
        logits = model(inputs)
        wanted = labels if current["epoch"] <= epoch_count else 1 - labels
        return logits, nn.functional.cross_entropy(logits, wanted)

    def epoch_start(epoch):
        current["epoch"] = epoch

    return step, epoch_start


def _expected_best(records: list[dict]) -> dict:
    """fit_epochs' promise: the best epoch has the highest validation accuracy, then the lowest loss."""
    return max(records, key=lambda r: (r["val_acc"], -r["val_loss"]))


# -- best weights ---------------------------------------------------------------------------------
def test_the_best_epochs_weights_are_kept_not_the_last_ones(tmp_path):
    step, epoch_start = _unlearning_after(2)
    done = Fit(tmp_path, _config(tmp_path), step=step, epoch_start=epoch_start)
    records, result = done.epochs(), done.result
    best = _expected_best(records)
    assert [r["epoch"] for r in records] == list(range(1, 9)) and result["epochs"] == 8
    assert result["status"] == "finished" and result["early_stopped"] is False
    assert result["best_epoch"] == best["epoch"] <= 3 and result["best_val_acc"] == best["val_acc"]
    assert result["best_val_loss"] == pytest.approx(best["val_loss"])
    assert result["final_val_acc"] == records[-1]["val_acc"] < result["best_val_acc"]  # it got worse afterwards
    # the model handed back scores as the best epoch did, and so do its saved weights and its predictions
    again = loop.evaluate(done.model, done.val_loader, CPU)
    assert again["acc"] == best["val_acc"] and again["loss"] == pytest.approx(best["val_loss"], abs=1e-6)
    saved = done.run.load_weights()
    assert all(torch.equal(saved[k], v) for k, v in done.model.state_dict().items())
    assert result["best_predictions"]["acc"] == best["val_acc"]
    assert all(torch.equal(result["best_state"][k], v) for k, v in done.model.state_dict().items())
    # each epoch event says the best accuracy so far
    assert [e["best_val_acc"] for e in records] == [max(r["val_acc"] for r in records[:i + 1])
                                                    for i in range(len(records))]


def test_without_saving_the_best_weights_stay_in_memory_and_nothing_is_written(tmp_path):
    done = Fit(tmp_path, _config(tmp_path, epochs=3), save_best=False)
    assert not done.run.has_weights()
    assert done.result["best_state"] is not None
    assert done.result["best_val_acc"] == _expected_best(done.epochs())["val_acc"]


def test_a_learning_run_reports_each_epoch(tmp_path):
    done = Fit(tmp_path, _config(tmp_path, epochs=5))
    records = done.epochs()
    assert records[-1]["train_loss"] < records[0]["train_loss"] and done.result["best_val_acc"] >= 0.9
    for record in records:
        assert record["epochs"] == 5 and 0 <= record["train_acc"] <= 1 and record["seconds"] >= 0
        assert record["lr"] == pytest.approx(0.1) and record["examples_per_second"] > 0
    batches = [e for e in done.events if e["kind"] == "batch"]
    assert len(batches) == 5 * 4 and {e["batches"] for e in batches} == {4}  # 64 examples, 16 a batch
    assert sum(e["examples"] for e in batches if e["epoch"] == 1) == 64


def test_the_step_schedule_multiplies_the_rate_every_step_size_epochs(tmp_path):
    done = Fit(tmp_path, _config(tmp_path, epochs=5, scheduler="step", step_size=2, gamma=0.5, optimizer="sgd"))
    assert [r["lr"] for r in done.epochs()] == pytest.approx([0.1 * 0.5 ** ((e - 1) // 2) for e in range(1, 6)])


def test_gradient_accumulation_over_micro_batches_steps_as_one_whole_batch(tmp_path):
    whole = Fit(tmp_path, _config(tmp_path, epochs=2, optimizer="sgd", momentum=0.0, weight_decay=0.0),
                loader_batch=16, shuffle=False)
    micro = Fit(tmp_path, _config(tmp_path, epochs=2, optimizer="sgd", momentum=0.0, weight_decay=0.0,
                                  micro_batch_size=8), loader_batch=8, shuffle=False)
    assert len(micro.train_loader) == 2 * len(whole.train_loader)
    for name, value in whole.model.state_dict().items():
        assert torch.allclose(micro.model.state_dict()[name], value, atol=1e-6), name
    single = Fit(tmp_path, _config(tmp_path, epochs=2, optimizer="sgd", momentum=0.0, weight_decay=0.0),
                 loader_batch=8, shuffle=False)  # twice as many steps: not the same
    assert not torch.allclose(single.model.weight, whole.model.weight, atol=1e-4)


# -- early stopping -------------------------------------------------------------------------------
def _stop_epoch(losses: list[float], patience: int) -> int | None:
    """The rule in config's words: stop after ``patience`` epochs without a lower validation loss."""
    lowest, since = float("inf"), 0
    for epoch, loss in enumerate(losses, start=1):
        if loss < lowest - 1e-4:
            lowest, since = loss, 0
        else:
            since += 1
        if since >= patience:
            return epoch
    return None


def test_early_stopping_ends_after_patience_epochs_without_a_lower_validation_loss(tmp_path):
    step, epoch_start = _unlearning_after(2)
    done = Fit(tmp_path, _config(tmp_path, epochs=20, patience=2), step=step, epoch_start=epoch_start)
    records, result = done.epochs(), done.result
    losses = [r["val_loss"] for r in records]
    assert result["early_stopped"] is True and result["status"] == "finished"
    assert result["epochs"] == len(records) == _stop_epoch(losses, 2) < 20
    assert min(losses[-2:]) >= min(losses[:-2]) - 1e-4
    [stop] = [e for e in done.events if e["kind"] == "early_stop"]
    assert stop["epoch"] == records[-1]["epoch"] and stop["patience"] == 2
    assert str(stop["message"]).startswith(f"Stopped early after epoch {stop['epoch']}: the validation loss")
    assert result["best_epoch"] == _expected_best(records)["epoch"]  # still the best epoch's weights


def test_patience_zero_never_stops_early(tmp_path):
    step, epoch_start = _unlearning_after(1)
    done = Fit(tmp_path, _config(tmp_path, epochs=6, patience=0), step=step, epoch_start=epoch_start)
    assert done.result["epochs"] == 6 and done.result["early_stopped"] is False
    assert not [e for e in done.events if e["kind"] == "early_stop"]


# -- stopping -------------------------------------------------------------------------------------
@pytest.mark.parametrize("reason", ["stopped", "interrupted"])
def test_a_stop_asked_for_after_an_epoch_ends_the_run_before_the_next_batch(tmp_path, reason):
    asked = {"after": None}

    def stop_reason():
        return reason if asked["after"] else None

    def listener(kind, values):
        if kind == "epoch" and values["epoch"] == 2:
            asked["after"] = 2

    done = Fit(tmp_path, _config(tmp_path), stop=stop_reason, listener=listener)
    assert [r["epoch"] for r in done.epochs()] == [1, 2]
    assert not [e for e in done.events if e["kind"] == "batch" and e["epoch"] > 2]  # not a single step more
    if reason == "interrupted":  # the process goes away: no results, the checkpoint continues it
        assert done.result == {"status": "interrupted", "epochs": 2}
    else:
        assert done.result["status"] == "stopped" and done.result["epochs"] == 2
        assert done.result["best_val_acc"] == _expected_best(done.epochs())["val_acc"]


def test_a_stop_before_any_epoch_ended_has_no_results(tmp_path):
    done = Fit(tmp_path, _config(tmp_path), stop=lambda: "stopped")
    assert done.result["status"] == "stopped" and done.result["epochs"] == 0
    assert done.result["best_val_acc"] is None and done.result["best_epoch"] is None
    assert done.epochs() == [] and not done.run.has_weights()


# -- divergence -----------------------------------------------------------------------------------
def test_a_loss_that_is_not_a_number_stops_training_saying_what_to_change(tmp_path):
    x, y = _separable(64, 0)
    x[5, 2] = float("nan")  # one bad value: the batch's loss is nan
    with pytest.raises(UserError) as caught:
        Fit(tmp_path, _config(tmp_path, lr=0.5), train=(x, y), shuffle=False)
    assert caught.value.message.startswith("Training diverged in epoch 1: the loss became nan. The learning rate (0.5)")
    assert caught.value.hint.startswith("Lower the learning rate about 10x (to 0.05)")


def test_an_exploding_loss_is_reported_as_diverged_in_its_epoch(tmp_path):
    x, y = _separable(64, 0)
    with pytest.raises(UserError, match=r"Training diverged in epoch 1: the training loss rose from [\d.]+ at the "
                                        r"start to [\d.e+]+\. The learning rate \(10\)"):
        Fit(tmp_path, _config(tmp_path, lr=10.0, optimizer="sgd", momentum=0.9), train=(x * 100, y), shuffle=False)


def test_a_loss_that_stays_above_its_start_for_three_epochs_is_reported(tmp_path):
    seen = {"batches": 0}

    def going_nowhere(model, inputs, labels):  # the first batch at 1, then twice as high: no progress at all
        logits = model(inputs)
        seen["batches"] += 1
        return logits, logits.sum() * 0 + (1.0 if seen["batches"] == 1 else 2.0)

    events = []
    with pytest.raises(UserError, match=r"Training diverged in epoch 3: .* \(3 epochs in a row above the start\)"):
        Fit(tmp_path, _config(tmp_path), step=going_nowhere, events=events)
    assert [e["epoch"] for e in events if e["kind"] == "epoch"] == [1, 2]  # epoch 3 ends in the error


# -- evaluate -------------------------------------------------------------------------------------
def test_evaluate_scores_every_example_in_order_whatever_the_batches():
    torch.manual_seed(3)
    model = nn.Linear(4, 3)
    x, y = torch.randn(7, 4), torch.tensor([0, 1, 2, 0, 1, 2, 0])
    scores = loop.evaluate(model, DataLoader(TensorDataset(x, y), batch_size=3), CPU)  # batches of 3, 3, 1
    with torch.no_grad():
        logits = model(x)
    assert torch.allclose(scores["probabilities"], logits.softmax(1), atol=1e-6)
    assert torch.equal(scores["labels"], y)
    assert scores["acc"] == pytest.approx((logits.argmax(1) == y).float().mean().item())
    assert scores["loss"] == pytest.approx(nn.functional.cross_entropy(logits, y).item(), abs=1e-6)  # per example
    assert not model.training  # evaluation mode


# -- across runs: through core.train.fit ----------------------------------------------------------
def _fit_config(folder, out, **values) -> TrainConfig:
    settings = {"backbone": TINY, "epochs": 5, "batch_size": 8, "lr": 0.05, "optimizer": "sgd", "momentum": 0.9,
                "scheduler": "step", "step_size": 2, "gamma": 0.5, "patience": 0, "out_dir": str(out), **values}
    return TrainConfig.for_strategy(str(folder), "feature_extract", **settings)


def _interrupt_after(epoch: int, reason: str):
    """(on_event, should_stop): asks for a stop (as ``reason``) once epoch ``epoch`` has ended."""
    ended = []

    def on_event(event):
        if event["kind"] == "epoch" and event["epoch"] == epoch:
            ended.append(1)

    return on_event, lambda: reason if ended else None


def _same_history(first: list[dict], second: list[dict]) -> None:
    assert [r["epoch"] for r in first] == [r["epoch"] for r in second]
    for a, b in zip(first, second):
        for key in ("train_loss", "train_acc", "val_loss", "val_acc", "lr"):
            assert a[key] == pytest.approx(b[key], abs=1e-6), (a["epoch"], key)


def _weights(summary: dict) -> dict:
    return runs.Run(Path(summary["run_dir"])).load_weights()


def test_an_interrupted_run_resumes_at_the_next_epoch_and_ends_as_if_never_interrupted(colors_folder, tmp_path):
    straight = fit(_fit_config(colors_folder, tmp_path / "straight"))
    straight_run = runs.Run(Path(straight["run_dir"]))
    on_event, should_stop = _interrupt_after(2, "interrupted")
    first = fit(_fit_config(colors_folder, tmp_path / "resumed"), on_event=on_event, should_stop=should_stop)
    run = runs.Run(Path(first["run_dir"]))
    assert first["status"] == "interrupted" and first["epochs"] == 2
    assert run.status == "interrupted" and run.can_resume() and run.summary() is None
    assert [e["epoch"] for e in run.history()] == [1, 2]

    resumed = fit(TrainConfig.load(run.config_path), run=run, resume=True)
    attempt = runs.last_attempt(run.events())
    assert attempt[0]["kind"] == "start" and attempt[0]["resumed_from_epoch"] == 2
    assert [e["epoch"] for e in attempt if e["kind"] == "epoch"] == [3, 4, 5]  # no epoch trained twice
    assert resumed["status"] == "finished" and resumed["epochs"] == 5 and run.status == "finished"
    assert not run.has_checkpoint()
    _same_history(straight_run.history(), run.history())  # optimizer momentum and schedule carried over too
    for key in ("best_val_acc", "best_epoch", "final_val_acc"):
        assert resumed[key] == straight[key], key
    expected, got = _weights(straight), _weights(resumed)
    assert set(expected) == set(got) and all(torch.allclose(expected[k], got[k], atol=1e-6) for k in expected)


def test_a_stopped_run_keeps_its_best_and_continues_from_where_it_stopped(colors_folder, tmp_path):
    straight = fit(_fit_config(colors_folder, tmp_path / "straight", epochs=4))
    events = []
    on_event, _ = _interrupt_after(1, "stopped")

    def ask_through_the_folder(event):  # as the app does: another process writes the run's stop file
        events.append(event)
        on_event(event)
        if event["kind"] == "epoch" and event["epoch"] == 1:
            runs.Run(Path(events[0]["run_dir"])).request_stop()

    stopped = fit(_fit_config(colors_folder, tmp_path / "stopped", epochs=4), on_event=ask_through_the_folder)
    run = runs.Run(Path(stopped["run_dir"]))
    assert stopped["status"] == "stopped" and stopped["epochs"] == 1 and run.status == "stopped"
    assert run.summary()["status"] == "stopped" and run.has_weights() and run.can_resume()
    assert stopped["best_val_acc"] == run.history()[0]["val_acc"]

    resumed = fit(TrainConfig.load(run.config_path), run=run, resume=True)
    assert not run.stop_requested()  # the old request does not stop it again
    assert resumed["status"] == "finished" and [e["epoch"] for e in run.history()] == [1, 2, 3, 4]
    _same_history(runs.Run(Path(straight["run_dir"])).history(), run.history())
    assert resumed["best_val_acc"] == straight["best_val_acc"] and resumed["best_epoch"] == straight["best_epoch"]


def test_a_run_stopped_before_its_first_epoch_has_no_results(colors_folder, tmp_path):
    summary = fit(_fit_config(colors_folder, tmp_path / "out"), should_stop=lambda: True)
    run = runs.Run(Path(summary["run_dir"]))
    assert summary["status"] == "stopped" and summary["epochs"] == 0 and summary["best_val_acc"] is None
    assert run.status == "stopped" and not run.has_weights() and run.history() == []


class _NotANumber(nn.Module):
    """The tiny backbone with one feature that is not a number (as float16 overflow can leave)."""

    def __init__(self) -> None:
        super().__init__()
        self.inner = _build_tiny(True)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        features = self.inner(images)
        return torch.cat([features[:, :-1], torch.full_like(features[:, -1:], float("nan"))], 1)


def test_a_run_whose_loss_is_not_a_number_fails_saying_so(colors_folder, tmp_path):
    backbones.register(dataclasses.replace(backbones.get(TINY), name="tiny_nan",
                                           build=lambda pretrained: _NotANumber()))
    try:
        events = []
        with pytest.raises(UserError, match="Training diverged in epoch 1: the loss became nan"):
            fit(_fit_config(colors_folder, tmp_path / "out", backbone="tiny_nan"), on_event=events.append)
    finally:
        backbones.unregister("tiny_nan")
    run = runs.Run(Path(events[0]["run_dir"]))
    assert run.status == "failed" and events[-1]["kind"] == "error" and "diverged" in events[-1]["message"]
    assert run.history() == [] and not run.has_weights()
