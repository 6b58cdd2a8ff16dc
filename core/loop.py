"""The one training loop, in named parts, and the two ways strategies feed it.

A strategy (core/strategies/) decides what trains and how; this module does the epochs:
``Session`` (what one training needs), ``Stepper`` (optimizer, gradient scaling, accumulation,
schedule), ``BestWeights``, ``EarlyStopping``, ``train_epoch``, ``evaluate``, and ``fit_epochs``, which
strings them together and saves a ``Checkpoint`` every epoch so an interrupted run continues where it was.
``fit_end_to_end`` trains a whole network on images or tokenised texts; ``fit_on_features`` trains a
head on the backbone's cached features (milliseconds per epoch).
"""

from __future__ import annotations

import contextlib
import math
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from core import features, privacy, runs
from core.device import distributed
from core.backbones import BackboneSpec
from core.device import autocast, needs_loss_scaling
from core.divergence import Divergence
from core.i18n import lazy, lazy_ngettext
from core.loaders import image_layout, in_item_order, make_loader, to_device
from core.backbones.models import count_parameters
from core.data.report import DataReport
from core.runs import Summary

if TYPE_CHECKING:
    from core.config import TrainConfig
    from core.data.domains import Target
    from core.strategies import Strategy

Emit = Callable[..., None]
# (model, inputs, labels) -> (logits, loss to minimise[, the labels' own loss, shown and watched])
Step = Callable[[nn.Module, object, torch.Tensor], tuple]


@dataclass
class Session:
    """Everything one training needs, handed to the strategy's ``fit``."""

    config: "TrainConfig"
    strategy: "Strategy"
    spec: BackboneSpec
    report: DataReport
    device: torch.device
    emit: Emit
    stop_reason: Callable[[], "str | None"]
    run: runs.Run
    checkpoint: "Checkpoint | None" = None  # where a resumed run continues
    feature_batch: int = 32          # examples per feature-pass batch (halved after running out of memory)
    target: "Target | None" = None   # where the model will be used (core/data/domains.py)
    feature_passes: list = field(default_factory=list)  # each cached_features call: what it cost (core/costs.py)
    world: distributed.World = field(default_factory=lambda: distributed.SINGLE)  # torchrun's processes

    def quiet(self, run: runs.Run) -> "Session":
        """The same training without events, into ``run`` (a side model, e.g. one without adaptation)."""
        return Session(**{**self.__dict__, "emit": lambda *args, **values: None, "run": run, "checkpoint": None})


def make_optimizer(groups: list[dict], config: "TrainConfig") -> torch.optim.Optimizer:
    if config.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay)
    return torch.optim.AdamW(groups, lr=config.lr, weight_decay=config.weight_decay)


def make_schedule(optimizer, config: "TrainConfig", steps_per_epoch: int):
    """(scheduler, steps it per optimizer step?) for none, StepLR (per epoch) or linear warmup/decay."""
    if config.scheduler == "step":
        return torch.optim.lr_scheduler.StepLR(optimizer, config.step_size, config.gamma), False
    if config.scheduler == "linear":
        total = max(1, steps_per_epoch * config.epochs)
        warmup = int(total * config.warmup_fraction)

        def factor(step: int) -> float:
            if step < warmup:
                return (step + 1) / (warmup + 1)
            return max(0.0, (total - step) / max(1, total - warmup))

        return torch.optim.lr_scheduler.LambdaLR(optimizer, factor), True
    return None, False


class Stepper:
    """Optimizer steps: mixed precision on CUDA, gradients of several micro batches added up into one
    step (``batch_size / micro_batch_size``), the learning-rate schedule per step or per epoch."""

    def __init__(self, groups: list[dict], config: "TrainConfig", batches_per_epoch: int,
                 device: torch.device) -> None:
        self.optimizer = make_optimizer(groups, config)  # private training: Opacus' DPOptimizer wraps it
        self.mixed = config.dp_epsilon is None  # private runs stay in float32 (per-example gradients)
        self.accumulate = max(1, round(config.batch_size / config.micro_batch_size)) if config.micro_batch_size else 1
        self.scheduler, self.per_step = make_schedule(self.optimizer, config,
                                                      math.ceil(batches_per_epoch / self.accumulate))
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.mixed and needs_loss_scaling(device))  # float16 only
        self.batches_per_epoch = batches_per_epoch

    def backward(self, loss: torch.Tensor, batch: int) -> None:
        self.scaler.scale(loss / self.accumulate).backward()
        if batch % self.accumulate == 0 or batch == self.batches_per_epoch:
            self.scaler.step(self.optimizer)
            self.scaler.update()
            self.optimizer.zero_grad(set_to_none=True)
            if self.per_step:
                self.scheduler.step()

    def end_epoch(self) -> None:
        if self.scheduler is not None and not self.per_step:
            self.scheduler.step()

    def rates(self) -> dict[str, float]:
        return {group.get("name", "all"): group["lr"] for group in self.optimizer.param_groups}

    def state_dict(self) -> dict:
        return {"optimizer": self.optimizer.state_dict(), "scaler": self.scaler.state_dict(),
                "scheduler": self.scheduler.state_dict() if self.scheduler is not None else None}

    def load_state_dict(self, state: dict) -> None:
        self.optimizer.load_state_dict(state["optimizer"])
        if self.scheduler is not None and state.get("scheduler"):
            self.scheduler.load_state_dict(state["scheduler"])
        if state.get("scaler"):
            self.scaler.load_state_dict(state["scaler"])


@dataclass
class BestWeights:
    """The best epoch so far: highest validation accuracy, then lowest loss. ``save`` writes its
    weights as soon as they are found (whole networks, whose weights are large and slow to redo)."""

    save: Callable[[dict], None] | None = None
    acc: float = -1.0
    loss: float = math.inf
    epoch: int | None = None
    state: dict | None = field(default=None, repr=False)

    def offer(self, epoch: int, acc: float, loss: float, model: nn.Module) -> bool:
        if (acc, -loss) <= (self.acc, -self.loss):
            return False
        self.acc, self.loss, self.epoch, self.state = acc, loss, epoch, cpu_state(model)
        if self.save:
            self.save(self.state)
        return True

    def state_dict(self) -> dict:  # saved weights are not copied into the checkpoint again
        return {"acc": self.acc, "loss": self.loss, "epoch": self.epoch, "state": None if self.save else self.state}

    def load_state_dict(self, state: dict, saved: Callable[[], dict]) -> None:
        self.acc, self.loss, self.epoch, self.state = state["acc"], state["loss"], state["epoch"], state["state"]
        if self.state is None and self.epoch is not None:
            self.state = saved()


@dataclass
class EarlyStopping:
    """Stop after ``patience`` epochs without a lower validation loss (0: never)."""

    patience: int
    lowest_loss: float = math.inf
    since: int = 0

    def update(self, val_loss: float) -> None:
        if val_loss < self.lowest_loss - 1e-4:
            self.lowest_loss, self.since = val_loss, 0
        else:
            self.since += 1

    @property
    def should_stop(self) -> bool:
        return bool(self.patience) and self.since >= self.patience

    def state_dict(self) -> dict:
        return {"lowest_loss": self.lowest_loss, "since": self.since}

    def load_state_dict(self, state: dict) -> None:
        self.lowest_loss, self.since = state["lowest_loss"], state["since"]


def cpu_state(model: nn.Module) -> dict[str, torch.Tensor]:
    """A copy of the weights on the CPU, contiguous (a channels-last model's too: safetensors needs it)."""
    return {k: v.detach().to("cpu", memory_format=torch.contiguous_format, copy=True)
            for k, v in model.state_dict().items()}


def forward(model: nn.Module, inputs) -> torch.Tensor:
    return model(*inputs) if isinstance(inputs, tuple) else model(inputs)


def cross_entropy_step(model: nn.Module, inputs, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The usual training step: (logits, loss)."""
    logits = forward(model, inputs)
    return logits, nn.functional.cross_entropy(logits.float(), labels)


@dataclass
class EpochStats:
    loss: float
    acc: float
    seen: int
    stopped: str | None = None      # why the epoch ended early: "stopped" or "interrupted"


class BatchMeter:
    """Each batch's loss and correct count, read off the device in bunches: on a GPU, reading a number
    (``.item()``) waits for every queued kernel, so the next batch cannot be queued meanwhile. There the
    batches are read (one wait) and reported every ``every`` seconds; on the CPU, where nothing is queued,
    after every batch. The divergence check sees every batch's loss either way."""

    def __init__(self, session: Session, epoch: int, batches: int, divergence: Divergence) -> None:
        self.emit, self.epoch, self.batches, self.divergence = session.emit, epoch, batches, divergence
        self.every = 0.0 if session.device.type == "cpu" else 0.5
        self.pending: list[tuple[int, torch.Tensor, torch.Tensor, int]] = []
        self.read_at = time.perf_counter()
        self.total_loss, self.correct, self.seen = 0.0, 0, 0

    def add(self, batch: int, loss: torch.Tensor, logits: torch.Tensor, labels: torch.Tensor) -> None:
        self.pending.append((batch, loss.detach(), (logits.argmax(1) == labels).sum(), len(labels)))
        if batch == 1 or batch == self.batches or time.perf_counter() - self.read_at >= self.every:
            self.read()

    def read(self) -> None:
        if not self.pending:
            return
        losses = torch.stack([loss.float() for _, loss, _, _ in self.pending]).tolist()  # one wait
        correct = torch.stack([right for _, _, right, _ in self.pending]).tolist()
        for (batch, _, _, count), loss, right in zip(self.pending, losses, correct):
            self.divergence.check_batch(loss, self.epoch)
            self.total_loss += loss * count
            self.correct += right
            self.seen += count
            self.emit("batch", epoch=self.epoch, batch=batch, batches=self.batches, loss=round(loss, 5),
                      examples=count)
        self.pending, self.read_at = [], time.perf_counter()

    def stats(self, stopped: str | None = None) -> "EpochStats":
        self.read()
        if stopped:
            return EpochStats(0.0, 0.0, self.seen, stopped)
        return EpochStats(self.total_loss / max(self.seen, 1), self.correct / max(self.seen, 1), self.seen)


def train_epoch(model: nn.Module, loader: DataLoader, stepper: Stepper, session: Session, epoch: int,
                divergence: Divergence, step: Step) -> EpochStats:
    """One pass over the training data, or part of it when a stop is asked for in the middle."""
    device = session.device
    meter = BatchMeter(session, epoch, len(loader), divergence)
    stepper.optimizer.zero_grad(set_to_none=True)
    for batch, (inputs, labels) in enumerate(loader, start=1):
        stopped = session.stop_reason()
        if stopped:
            return meter.stats(stopped)
        if not len(labels):  # private training's Poisson batches can be empty (chance (1 - B/N)^N): nothing to learn
            continue
        inputs, labels = to_device(inputs, device), labels.to(device, non_blocking=True)
        with autocast(device) if stepper.mixed else contextlib.nullcontext():
            logits, loss, *shown = step(model, inputs, labels)
        stepper.backward(loss, batch)
        meter.add(batch, shown[0] if shown else loss, logits, labels)  # DANN: the labels' loss alone
    return meter.stats()


@torch.inference_mode()
def evaluate(model: nn.Module, loader: DataLoader, device: torch.device,
             world: distributed.World = distributed.SINGLE, count: int | None = None) -> dict:
    """Loss, accuracy, and per-example probabilities over ``loader`` (in order). Distributed, each rank's
    ``loader`` holds its shard of the ``count`` examples; every rank gets the scores of them all."""
    model.eval()
    losses, probabilities, labels = [], [], []
    for inputs, targets in loader:
        with autocast(device):
            logits = forward(model, to_device(inputs, device)).float().cpu()
        losses.append(nn.functional.cross_entropy(logits, targets, reduction="sum").item())
        probabilities.append(logits.softmax(1))
        labels.append(targets)
    # in the items' order again (text loaders batch by length)
    probs, truth = in_item_order(torch.cat(probabilities), loader), in_item_order(torch.cat(labels), loader)
    if world.active:
        probs, truth = world.gather(probs, count), world.gather(truth, count)
        losses = [nn.functional.cross_entropy(probs.clamp_min(1e-12).log(), truth, reduction="sum").item()]
    return {"loss": sum(losses) / max(len(truth), 1), "acc": (probs.argmax(1) == truth).float().mean().item(),
            "probabilities": probs, "labels": truth}


def stopped_before_training(status: str = "stopped") -> dict:
    return {"status": status, Summary.BEST_VAL_ACC: None, Summary.FINAL_VAL_ACC: None, Summary.BEST_EPOCH: None, "epochs": 0}


@dataclass
class Checkpoint:
    """What ``fit_epochs`` saves after every epoch and restores on resume: the weights and everything that
    decides how the next epoch trains, so that a resumed run trains exactly as an uninterrupted one would.
    ``runs.Run`` writes it to checkpoint.pt as ``to_dict()`` (the layout older runs have, so they resume)."""

    epoch: int
    model: dict
    stepper: dict                    # optimizer, gradient scaler, schedule (Stepper.state_dict)
    best: dict                       # BestWeights.state_dict
    watch: dict                      # EarlyStopping.state_dict
    history: list
    start_loss: float | None = None  # the first loss, which Divergence compares with
    privacy: dict | None = None      # private training's accountant
    extras: dict = field(default_factory=dict)  # modules trained beside the model (DANN's domain classifier)

    def to_dict(self) -> dict:
        return {"epoch": self.epoch, "model": self.model, **self.stepper, "best": self.best, "watch": self.watch,
                "history": self.history, "start_loss": self.start_loss, "privacy": self.privacy,
                "extras": self.extras}

    @classmethod
    def from_dict(cls, saved: dict) -> "Checkpoint":
        return cls(epoch=saved["epoch"], model=saved["model"],
                   stepper={key: saved.get(key) for key in ("optimizer", "scaler", "scheduler")},
                   best=saved["best"], watch=saved["watch"], history=list(saved["history"]),
                   start_loss=saved.get("start_loss"), privacy=saved.get("privacy"), extras=saved.get("extras") or {})

    @classmethod
    def read(cls, run: runs.Run) -> "Checkpoint | None":
        saved = run.load_checkpoint()
        return cls.from_dict(saved) if saved else None


@dataclass
class Progress:
    """The state of ``fit_epochs`` that carries from epoch to epoch: what is checkpointed and restored."""

    stepper: Stepper
    best: BestWeights
    stopping: EarlyStopping
    divergence: Divergence
    private: "privacy.Private | None" = None
    history: list = field(default_factory=list)
    stage: object = None             # gradual unfreezing's current stage

    def checkpoint(self, epoch: int, model: nn.Module, extras: dict[str, nn.Module]) -> Checkpoint:
        return Checkpoint(epoch=epoch, model=cpu_state(model), stepper=self.stepper.state_dict(),
                          best=self.best.state_dict(), watch=self.stopping.state_dict(), history=self.history,
                          start_loss=self.divergence.start_loss,
                          privacy=self.private.state_dict() if self.private is not None else None,
                          extras={name: cpu_state(module) for name, module in extras.items()})

    def restore(self, saved: Checkpoint, model: nn.Module, extras: dict[str, nn.Module],
                load_weights: Callable[[], dict]) -> int:
        """Everything back as it was after ``saved.epoch``; returns the epoch to train next."""
        model.load_state_dict(saved.model)
        for name, module in extras.items():
            if name in saved.extras:
                module.load_state_dict(saved.extras[name])
        self.stepper.load_state_dict(saved.stepper)
        self.best.load_state_dict(saved.best, load_weights)
        self.stopping.load_state_dict(saved.watch)
        self.divergence.start_loss = saved.start_loss
        if self.private is not None:
            self.private.load_state_dict(saved.privacy or {})
        self.history = list(saved.history)
        self.stage = self.history[-1].get("stage") if self.history else None
        return saved.epoch + 1


def _go_private(session: Session, trainer: nn.Module, model: nn.Module, stepper: Stepper, train_loader: DataLoader,
                train_mode: Callable[[nn.Module], None], step: Step):
    """DP-SGD (core/privacy.py): per-example clipping, noise, Poisson batches. Returns (the accountant, the
    model as it trains, the loader) and says which layers stay as pretrained."""
    config = session.config
    first_inputs, first_labels = next(iter(train_loader))
    private, trainer, train_loader = privacy.Private.attach(config, trainer, stepper, train_loader, config.epochs,
                                                            len(train_loader.dataset))
    trainer.train()
    train_mode(model)  # the trial step below must not touch frozen BatchNorm statistics
    two = lambda x: tuple(part[:2] for part in x) if isinstance(x, tuple) else x[:2]  # noqa: E731
    shared = private.freeze_shared(trainer, stepper.optimizer, lambda: step(
        trainer, to_device(two(first_inputs), session.device), first_labels[:2].to(session.device))[1],
        examples=len(first_labels[:2]))
    if shared:
        session.emit("notice", message=lazy("Private training keeps {layers} as pretrained: every example of a "
                                            "batch shares them, so they have no gradient of their own to clip.",
                                            layers=", ".join(shared)))
    return private, trainer, train_loader


def _seed_epoch(config: "TrainConfig", epoch: int, rank: int, train_loader: DataLoader) -> None:
    """Each epoch is seeded by its number, so a resumed run trains exactly as an uninterrupted one would."""
    torch.manual_seed(config.seed * 1000 + epoch + 1_000_003 * rank)  # this epoch's augmentation, dropout
    if train_loader.generator is not None:
        train_loader.generator.manual_seed(config.seed * 1000 + epoch)  # this epoch's shuffle (every rank's)
    if hasattr(train_loader.sampler, "set_epoch"):  # DistributedSampler: this epoch's shuffle, sharded
        train_loader.sampler.set_epoch(epoch)  # (the sampler holds the seed)


def _epoch_record(epoch: int, config: "TrainConfig", stats: EpochStats, val: dict, state: Progress,
                  trained: float, elapsed: float) -> dict:
    rates = state.stepper.rates()
    record = {"epoch": epoch, "epochs": config.epochs, "train_loss": stats.loss, "train_acc": stats.acc,
              "val_loss": val["loss"], "val_acc": val["acc"], "lr": rates.get("head", rates.get("all")),
              "backbone_lr": rates.get("backbone"), "seconds": round(elapsed, 3),
              "examples_per_second": round(stats.seen / max(trained, 1e-9), 2)}
    if state.private is not None:
        record["epsilon"] = round(state.private.epsilon(), 4)  # the budget spent so far
    if state.stage is not None:
        record["stage"] = state.stage
    return record


def fit_epochs(session: Session, model: nn.Module, train_loader: DataLoader, val_loader: DataLoader,
               groups: list[dict], save_best: bool, train_mode: Callable[[nn.Module], None] = lambda model: None,
               step: Step = cross_entropy_step, extras: dict[str, nn.Module] | None = None,
               wrapped: nn.Module | None = None, val_count: int | None = None,
               epoch_start: Callable[[int], "dict | None"] = lambda epoch: None) -> dict:
    """Epochs of train + validate. Keeps the best weights; stops early after ``config.patience``
    epochs without a lower validation loss; checkpoints every epoch (a ``Checkpoint``). ``train_mode(model)``
    runs after ``model.train()`` each epoch (a strategy keeps frozen parts in eval mode there).
    ``extras``: modules trained beside the model (DANN's domain classifier), checkpointed with it.
    ``wrapped``: the model as it trains (inside DistributedDataParallel); ``val_count``: validation examples
    in all (each rank's ``val_loader`` holds its shard). ``epoch_start(epoch)``: the strategy's change of what
    trains (gradual unfreezing); a dict it returns starts a stage (a "stage" event, the epochs' ``stage``)."""
    config, run, emit, extras = session.config, session.run, session.emit, extras or {}
    trainer = wrapped or model
    scores = lambda: evaluate(model, val_loader, session.device, session.world, val_count)  # noqa: E731
    stepper = Stepper(groups, config, len(train_loader), session.device)
    private = None
    if config.dp_epsilon is not None:
        private, trainer, train_loader = _go_private(session, trainer, model, stepper, train_loader, train_mode, step)
    state = Progress(stepper, BestWeights(save=run.save_weights if save_best else None),
                     EarlyStopping(config.patience), Divergence(config.lr), private)
    first_epoch = state.restore(session.checkpoint, model, extras, run.load_weights) if session.checkpoint else 1
    stopped, early = None, False
    for epoch in range(first_epoch, config.epochs + 1):
        epoch_started = time.perf_counter()
        _seed_epoch(config, epoch, session.world.rank, train_loader)
        began = epoch_start(epoch)
        if began:
            state.stage = began["stage"]
            emit("stage", epoch=epoch, **began)
        trainer.train()
        train_mode(model)
        for module in extras.values():
            module.train()
        stats = train_epoch(trainer, train_loader, stepper, session, epoch, state.divergence, step)
        trained = time.perf_counter() - epoch_started  # the speed shown is training's, validation apart
        if stats.stopped:
            stopped = stats.stopped
            break
        val = scores()
        record = _epoch_record(epoch, config, stats, val, state, trained, time.perf_counter() - epoch_started)
        state.history.append(record)
        state.divergence.check_epoch(stats.loss, epoch)
        stepper.end_epoch()
        state.best.offer(epoch, val["acc"], val["loss"], model)
        state.stopping.update(val["loss"])
        emit("epoch", **record, best_val_acc=state.best.acc)
        run.save_checkpoint(state.checkpoint(epoch, model, extras).to_dict())
        if state.stopping.should_stop and epoch < config.epochs:
            early = True
            emit("early_stop", epoch=epoch, patience=config.patience, message=lazy_ngettext(
                "Stopped early after epoch {epoch}: the validation loss has not improved for {n} epoch, so more "
                "epochs would mostly memorise the training data.",
                "Stopped early after epoch {epoch}: the validation loss has not improved for {n} epochs, so more "
                "epochs would mostly memorise the training data.", config.patience, epoch=epoch))
            break
    if private is not None:
        private.detach(trainer)
    return _fit_outcome(state, stopped, early, model, scores)


def _fit_outcome(state: Progress, stopped: str | None, early: bool, model: nn.Module, scores: Callable[[], dict]):
    best, history = state.best, state.history
    if best.state is None:
        return stopped_before_training(stopped or "stopped")
    if stopped == "interrupted":
        return {"status": "interrupted", "epochs": len(history)}
    model.load_state_dict(best.state)
    return {"status": stopped or "finished", Summary.BEST_VAL_ACC: best.acc, Summary.BEST_EPOCH: best.epoch,
            Summary.FINAL_VAL_ACC: history[-1]["val_acc"], "epochs": len(history), "best_val_loss": best.loss,
            "early_stopped": early, "best_state": best.state, "best_predictions": scores(),
            **(state.private.summary() if state.private is not None else {})}


def fit_end_to_end(session: Session, step: Step | None = None, extra_groups: list[dict] | None = None,
                   extras: dict[str, nn.Module] | None = None) -> tuple[dict, nn.Module]:
    """Train the strategy's whole model on images or tokenised texts (fine-tuning, from scratch);
    ``step``, ``extra_groups`` and ``extras`` are an adaptation's additions (core/adaptation/end_to_end.py).
    Returns the outcome and the model, with its best weights loaded."""
    config, strategy, spec, report = session.config, session.strategy, session.spec, session.report
    model = strategy.build(spec, len(report.classes), dropout=config.head_dropout).to(session.device)
    if config.dp_epsilon is not None:  # BatchNorm frozen; what DP-SGD cannot train is refused, saying why
        frozen = privacy.prepare(model)
        if frozen:
            session.emit("notice", message=lazy_ngettext(
                "Private training keeps the {n} BatchNorm layer as it was pretrained (a batch's statistics mix its "
                "examples); the rest trains.",
                "Private training keeps the {n} BatchNorm layers as they were pretrained (a batch's statistics mix "
                "its examples); the rest trains.", len(frozen)))
    if report.modality == "image":
        model = image_layout(model, session.device)
    world = session.world
    micro = world.per_rank(config.micro_batch_size or config.batch_size)  # all ranks together: the recipe's
    common = dict(spec=spec, seed=config.seed, device=session.device, augment=config.augment,
                  horizontal_flip=config.horizontal_flip, max_length=config.max_length)
    train_loader = make_loader(report, report.train, batch_size=micro, train=True, world=world, **common)
    val_loader = make_loader(report, world.shard(report.val), batch_size=micro, train=False, **common)
    result = fit_epochs(session, model, train_loader, val_loader, strategy.parameter_groups(model, config)
                        + (extra_groups or []), save_best=True, train_mode=lambda m: strategy.train_mode(m, config),
                        step=step or cross_entropy_step, extras=extras, wrapped=world.wrap(model, session.device),
                        val_count=len(report.val), epoch_start=lambda epoch: strategy.epoch_start(model, config, epoch))
    trainable_params, frozen_params = count_parameters(model)
    result.update(trainable_params=trainable_params, frozen_params=frozen_params, cache_hit=None)
    return result, model


def cached_features(session: Session, report: DataReport | None = None,
                    domain: str = "source") -> "features.FeatureSet | None":
    """The backbone's features of every example of ``report`` (default: the training data), from the
    cache or computed now (with progress events); None when a stop was asked for during the pass."""
    report, emit = report or session.report, session.emit
    total = len(report.all_items())
    ahead = features.done_in_background(report, session.spec, session.config.cache_dir, session.config.max_length) \
        if domain == "source" else 0
    emit("features", done=ahead, total=total, domain=domain, **({"joined": True} if ahead else {}))
    feature_set = features.load_or_compute(
        report, session.spec, session.config.cache_dir, session.device, session.feature_batch,
        lambda done, total: emit("features", done=done, total=total, domain=domain), session.stop_reason,
        session.config.max_length, on_notice=lambda message: emit("notice", message=message), world=session.world)
    if feature_set is not None:
        if feature_set.ahead_seconds:
            emit("notice", message=lazy("The features were computed in the background since the data was loaded: "
                                        "{total:.1f} s in all, {after:.1f} s of it after this run started.",
                                        total=feature_set.compute_seconds, after=feature_set.seconds))
        emit("features", done=total, total=total, cache_hit=feature_set.cache_hit,
             seconds=round(feature_set.seconds, 3), domain=domain, ahead_seconds=round(feature_set.ahead_seconds, 3))
        session.feature_passes.append({"domain": domain, "cache_hit": feature_set.cache_hit,
                                       "seconds": feature_set.seconds, "compute_seconds": feature_set.compute_seconds})
    return feature_set


def cached_views(session: Session) -> "features.FeatureSet | None":
    """The config's augmented views of every training image (core/features.py), from the cache or computed
    now with progress events (domain "views"); None when a stop was asked for during the pass."""
    config, emit = session.config, session.emit
    total = len(features.view_items(session.report, config.augmented_views))
    emit("features", done=0, total=total, domain="views", views=config.augmented_views)
    views = features.load_or_compute_views(
        session.report, session.spec, config.cache_dir, session.device, config.augmented_views,
        config.horizontal_flip, config.seed, session.feature_batch,
        lambda done, total: emit("features", done=done, total=total, domain="views", views=config.augmented_views),
        session.stop_reason, on_notice=lambda message: emit("notice", message=message), world=session.world)
    if views is not None:
        emit("features", done=total, total=total, cache_hit=views.cache_hit, seconds=round(views.seconds, 3),
             domain="views", views=config.augmented_views)
        session.feature_passes.append({"domain": "views", "cache_hit": views.cache_hit, "seconds": views.seconds,
                                       "compute_seconds": views.compute_seconds})
    return views


class DrawnViews(torch.utils.data.Dataset):
    """Training rows with several versions each ([versions, N, D]: the plain features, then augmented views):
    every time an example is drawn, one of its versions at random (the epoch's seed decides)."""

    def __init__(self, versions: torch.Tensor, labels: torch.Tensor) -> None:
        self.versions, self.labels = versions, labels

    def __len__(self) -> int:
        return self.versions.shape[1]

    def __getitem__(self, index: int):
        return self.versions[int(torch.randint(self.versions.shape[0], ())), index], self.labels[index]

    def __getitems__(self, indices: list[int]):
        """A whole batch at once (the DataLoader asks so; with ``collate_fn=as_drawn``): one draw per example,
        vectorised, instead of 32 small ones (800 images, 1,280 features: an epoch's batches drawn in 0.01 s;
        one example at a time, epochs took 0.75 s)."""
        rows = torch.tensor(indices)
        return self.versions[torch.randint(self.versions.shape[0], (len(rows),)), rows], self.labels[rows]


def as_drawn(batch):
    return batch


def fit_on_features(session: Session, head: nn.Module, train_x: torch.Tensor, val_x: torch.Tensor,
                    feature_set: "features.FeatureSet", views: torch.Tensor | None = None) -> dict:
    """Train ``head`` on the training rows ``train_x``, validated on ``val_x``, on the CPU. ``views``
    ([K, N, D], optional): augmented versions of the training rows, drawn among with the plain ones."""
    config, report = session.config, session.report
    train_y = torch.tensor([label for _, label in report.train])
    val_y = torch.tensor([label for _, label in report.val])
    generator = torch.Generator().manual_seed(config.seed)
    if views is None:
        train_loader = DataLoader(TensorDataset(train_x, train_y), batch_size=config.batch_size, shuffle=True,
                                  generator=generator)
    else:
        train_loader = DataLoader(DrawnViews(torch.cat([train_x[None], views]), train_y), batch_size=config.batch_size,
                                  shuffle=True, generator=generator, collate_fn=as_drawn)
    val_loader = DataLoader(TensorDataset(val_x, val_y), batch_size=256)
    # every rank trains the same head on the same features (milliseconds), so none needs the others' results
    on_cpu = Session(**{**session.__dict__, "device": torch.device("cpu"), "world": distributed.SINGLE})
    groups = [{"params": list(head.parameters()), "lr": config.lr, "name": "head"}]
    result = fit_epochs(on_cpu, head, train_loader, val_loader, groups, save_best=False)
    result.update(cache_hit=feature_set.cache_hit, feature_seconds=round(feature_set.seconds, 3),
                  trainable_params=count_parameters(head)[0], frozen_params=session.spec.num_params)
    return result
