"""The learning-rate range test (Smith, "Cyclical Learning Rates", 2015; fastai's lr_find).

Train a fresh copy of the model the settings would train (the pretrained weights, a new head; nothing
is saved, no run folder is made) for a few steps while the learning rate grows exponentially from tiny
to huge, and record the loss at each step. The loss first barely moves (too small a rate), then falls
fast, then explodes (too large). The suggested rate is where it falls fastest: the steepest descent of
the smoothed loss against log(rate). Seeded: the same settings draw the same curve.

The rate tested is the settings' ``lr`` (the backbone's, when the strategy trains the backbone and the
head at different rates): every parameter group keeps its ratio to it, so the suggestion can be typed
into the same field. Feature extraction tests the head on the cached features (computed once if needed).
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from typing import Callable

import torch
from torch import nn

from core import backbones, data, features, loop, strategies
from core.config import TrainConfig
from core.device import pick_device
from core.errors import UserError
from core.i18n import lazy
from core.loaders import image_layout, make_loader, to_device

SMOOTHING = 0.9        # exponential moving average of the loss (debiased), as fastai
EXPLODED = 4.0         # stop once the smoothed loss is this many times its lowest
START, END = 1e-7, 10.0


@dataclass
class RangeTest:
    strategy: str
    backbone: str
    rates: list[float] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)       # smoothed
    raw_losses: list[float] = field(default_factory=list)
    suggested_lr: float | None = None
    stopped_early: bool = False                              # the loss exploded before the last rate
    seconds: float = 0.0

    def to_dict(self) -> dict:
        values = asdict(self)
        values["curve"] = [{"lr": rate, "loss": loss} for rate, loss in zip(self.rates, self.losses)]
        return values


def suggest(rates: list[float], losses: list[float]) -> float | None:
    """Where the smoothed loss falls fastest against log(rate), before its lowest point; None when it never
    falls (nothing to learn at any rate, or too few steps)."""
    if len(rates) < 5:
        return None
    lowest = min(range(len(losses)), key=losses.__getitem__)
    logs = [math.log10(rate) for rate in rates]
    k = max(1, len(rates) // 20)  # slopes over a few steps either side: one noisy batch does not decide
    slopes = {i: (losses[i + k] - losses[i - k]) / (logs[i + k] - logs[i - k]) for i in range(k, max(k + 1, lowest))
              if i + k < len(losses)}
    if not slopes or min(slopes.values()) >= 0:
        return None
    return rates[min(slopes, key=slopes.get)]


def range_test(config: TrainConfig, steps: int = 100, start: float = START, end: float = END,
               on_progress: Callable[[int, int], None] | None = None,
               should_stop: Callable[[], bool] = lambda: False) -> RangeTest:
    """The range test for ``config`` (its data, backbone, strategy, optimizer, batch size, seed)."""
    begun = time.perf_counter()
    config.validated()
    if not 5 <= steps <= 1000:
        raise UserError(lazy("{steps} steps is not a range test.", steps=steps),
                        lazy("Use between 5 and 1000 steps (100 is usual)."))
    if not 0 < start < end:
        raise UserError(lazy("The rates must grow: from {start:g} to {end:g}.", start=start, end=end),
                        lazy("Give a start below the end, above 0."))
    strategy, spec = strategies.get(config.strategy), backbones.get(config.backbone)
    if strategy.fits_in_one_go:
        raise UserError(lazy("{strategy} has no learning rate to find.", strategy=strategy.title_text),
                        lazy("Pick a strategy that trains a network."))
    from core.train import checked, seed_everything

    report = checked(config, strategy, spec, data.load_dataset(
        config.data, config.val_fraction, config.seed, config.text_column, config.label_column, config.encoding))
    device = pick_device(config.device)
    seed_everything(config.seed)
    model, batches = _model_and_batches(config, strategy, spec, report, device)
    optimizer = loop.make_optimizer(strategy.parameter_groups(model, config) if not strategy.on_features else
                                    [{"params": list(model.parameters()), "lr": config.lr, "name": "all"}], config)
    ratios = [group["lr"] / config.lr for group in optimizer.param_groups]
    test = RangeTest(config.strategy, config.backbone)
    average, lowest = 0.0, math.inf
    model.train()
    strategy.train_mode(model, config)
    for step in range(steps):
        if should_stop():
            break
        rate = start * (end / start) ** (step / (steps - 1))
        for group, ratio in zip(optimizer.param_groups, ratios):
            group["lr"] = rate * ratio
        inputs, labels = next(batches)
        _, loss = loop.cross_entropy_step(model, to_device(inputs, device), labels.to(device))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        value = float(loss.detach())
        average = SMOOTHING * average + (1 - SMOOTHING) * value
        smoothed = average / (1 - SMOOTHING ** (step + 1))
        test.rates.append(rate)
        test.raw_losses.append(value)
        test.losses.append(smoothed if math.isfinite(smoothed) else float("inf"))
        if on_progress:
            on_progress(step + 1, steps)
        lowest = min(lowest, smoothed)
        if not math.isfinite(smoothed) or (step > 0 and smoothed > EXPLODED * lowest):
            test.stopped_early = step + 1 < steps
            break
    finite = [(rate, loss) for rate, loss in zip(test.rates, test.losses) if math.isfinite(loss)]
    test.suggested_lr = suggest([r for r, _ in finite], [l for _, l in finite])
    test.seconds = time.perf_counter() - begun
    return test


def _model_and_batches(config: TrainConfig, strategy: strategies.Strategy, spec: backbones.BackboneSpec,
                       report, device: torch.device) -> tuple[nn.Module, "iter"]:
    """A fresh model to test (the head alone on cached features for feature extraction) and an endless,
    seeded stream of training batches."""
    if strategy.on_features:
        found = features.load_or_compute(report, spec, config.cache_dir, device, config.batch_size,
                                         max_length=config.max_length)
        inputs = found.rows(report.train)
        labels = torch.tensor([label for _, label in report.train])
        head = strategy.build(spec, len(report.classes), config.head_dropout, pretrained=False).head.to(device)
        generator = torch.Generator().manual_seed(config.seed)
        dataset = torch.utils.data.TensorDataset(inputs, labels)
        loader = torch.utils.data.DataLoader(dataset, batch_size=config.batch_size, shuffle=True, generator=generator)
        return head, _endless(loader)
    model = strategy.build(spec, len(report.classes), dropout=config.head_dropout).to(device)
    if report.modality == "image":
        model = image_layout(model, device)
    loader = make_loader(report, report.train, spec, config.micro_batch_size or config.batch_size, train=True,
                         seed=config.seed, device=device, augment=config.augment,
                         horizontal_flip=config.horizontal_flip, max_length=config.max_length)
    return model, _endless(loader)


def _endless(loader):
    while True:
        yield from loader
