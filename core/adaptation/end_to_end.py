"""Adaptation while a whole network trains (fine-tuning, from scratch), and the target's scores.

``fit_network`` trains a whole network (core/loop.py) with what the run's method adds: a training step (DANN: the domain
loss through gradient reversal), extra parameter groups (its domain classifier) and extra modules
to checkpoint. ``finish`` scores the trained model on the target, lets the method change it
afterwards (AdaBN: BatchNorm statistics re-estimated on the target), and scores it again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import nn

from core import adaptation
from core.i18n import lazy
from core.loaders import make_loader
from core.runs import Summary

if TYPE_CHECKING:
    from core.loop import Session


def target_loader(session: "Session", train: bool, batch_size: int | None = None):
    config, target = session.config, session.target
    return make_loader(target.report, target.items, session.spec, batch_size or config.micro_batch_size
                       or config.batch_size, train=train, seed=config.seed, device=session.device,
                       augment=config.augment, horizontal_flip=config.horizontal_flip, max_length=config.max_length)


def fit_network(session: "Session") -> dict:
    """A whole network trained on the source with a target: the run's method added to the training (DANN) or
    applied afterwards (AdaBN), and the target's scores. (Without a target, NetworkStrategy trains it alone.)"""
    from core import loop

    auto = session.config.adapt == adaptation.AUTO
    if auto:  # measuring DANN or AdaBN would mean training the network again: not tried, and said so
        untried = [m.name for m in adaptation.for_strategy(session.strategy, session.spec) if m.name != "none"]
        reason = lazy("No adaptation: {methods} change the network itself, so measuring them would mean training it "
                      "again, and they were not tried. Choose one on the Model page (or --adapt) to try it; Results "
                      "then shows the target accuracy with it.",
                      methods=_named(untried))
        session.emit("notice", message=reason)
    method = adaptation.get("none" if auto else session.config.adapt)
    step, groups, extras = method.prepare(session)
    result, model = loop.fit_end_to_end(session, step, groups, extras)
    if result.get("best_state") is not None:
        result.update(finish(session, model, result, method))
    if auto:
        result.update(adapt_auto=True, adapt_untried=untried, adapt_reason=str(reason),
                      adapt_reason_text=reason.to_json())
    return result


def _named(methods: list[str]):
    """The methods' short names as one phrase ("AdaBN and DANN"; "AdaBN 和 DANN"), translated when shown."""
    named = adaptation.get(methods[0]).short_text
    for name in methods[1:]:
        named = lazy("{first} and {second}", first=named, second=adaptation.get(name).short_text)
    return named


def finish(session: "Session", model: nn.Module, result: dict, method: adaptation.Adaptation) -> dict:
    """Target scores of the trained model (best weights loaded), before and after the method's
    last change; the run keeps the changed weights."""
    from core.loop import cpu_state, evaluate

    target = session.target
    scores = {"adapt": method.name, Summary.TARGET_ITEMS: len(target.items), "target_labelled": target.labelled}
    loader = target_loader(session, train=False) if target.labelled else None
    before = evaluate(model, loader, session.device)["acc"] if loader is not None else None
    if method.finish(session, model):
        result["best_state"] = cpu_state(model)
        scores[Summary.TARGET_ACC_WITHOUT] = before
        scores[Summary.TARGET_ACC] = evaluate(model, loader, session.device)["acc"] if loader is not None else None
    else:
        scores[Summary.TARGET_ACC] = before
    scores["domain_gap_after"] = trained_gap(session, model)
    return {key: (round(value, 6) if isinstance(value, float) else value) for key, value in scores.items()}


@torch.no_grad()
def trained_gap(session: "Session", model: nn.Module, limit: int = 500) -> float:
    """The domain gap seen through the trained network's features (source training items vs the target)."""
    from core import features
    from core.data import domains

    report = session.report
    source = features.compute_features(report, session.spec, session.device, items=report.train[:limit],
                                       max_length=session.config.max_length, backbone=model.backbone)
    target = features.compute_features(session.target.report, session.spec, session.device,
                                       items=session.target.items[:limit], max_length=session.config.max_length,
                                       backbone=model.backbone)
    return round(domains.domain_gap(source.double().numpy(), target.double().numpy(), session.config.seed), 4)


def has_batchnorm(module: nn.Module) -> bool:
    return any(isinstance(layer, nn.modules.batchnorm._BatchNorm) for layer in module.modules())


@torch.no_grad()
def reestimate_batchnorm(session: "Session", module: nn.Module, passes: int = 1) -> int:
    """Every BatchNorm layer's running mean and variance, averaged over the target (momentum None: a
    plain average over all its batches). Returns the number of layers updated."""
    layers = [layer for layer in module.modules() if isinstance(layer, nn.modules.batchnorm._BatchNorm)]
    saved = [(layer.momentum, layer.training) for layer in layers]
    for layer in layers:
        layer.reset_running_stats()
        layer.momentum = None
        layer.train()
    try:
        for _ in range(passes):
            for inputs, _ in target_loader(session, train=False):
                inputs = tuple(x.to(session.device) for x in inputs) if isinstance(inputs, tuple) \
                    else inputs.to(session.device)
                module(*inputs) if isinstance(inputs, tuple) else module(inputs)
    finally:
        for layer, (momentum, training) in zip(layers, saved):
            layer.momentum = momentum
            layer.train(training)
    return len(layers)
