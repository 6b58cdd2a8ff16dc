"""Feature extraction with a target: the head trained on aligned features, and the same head without
adaptation beside it, both scored on the target.

1. features of the source (cached) and of the target (cached too);
2. the domain gap before (how well a classifier tells the two apart); with ``auto``, every feature-level
   method measured without the target's labels and one chosen, or none (choose.py, remembered);
3. without adaptation: a head on the raw source features, quietly (no events; milliseconds), scored
   on the target: what the adapted model is measured against;
4. with the method's maps: a head on mapped source features (the run's live training), then the
   target map folded into it, so the saved model reads raw target features;
5. target accuracy (when the target has labels) for both, and the gap after alignment.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import torch

from core import adaptation, features, loop, runs
from core.data import domains
from core.adaptation import choose
from core.errors import UserError
from core.i18n import lazy
from core.backbones.models import Head
from core.runs import Summary


def fit_aligned(session: loop.Session, feature_set: features.FeatureSet) -> dict:
    config, report, target = session.config, session.report, session.target
    target_set = loop.cached_features(session, target.report, domain="target")
    if target_set is None:
        return loop.stopped_before_training(session.stop_reason() or "stopped")
    train_x = feature_set.rows(report.train).double().numpy()
    val_x = feature_set.rows(report.val).double().numpy()
    target_x = target_set.rows(target.items).double().numpy()
    classes, dropout = len(report.classes), config.head_dropout
    outcome_extra = {Summary.TARGET_ITEMS: len(target.items), "target_labelled": target.labelled,
                     "domain_gap": round(domains.domain_gap(np.concatenate([train_x, val_x]), target_x, config.seed), 4)}
    name = config.adapt
    if name == adaptation.AUTO:
        choice = _choose(session, train_x, val_x, target_x)
        outcome_extra.update(choice.summary())
        name = choice.chosen
    method = adaptation.get(name)
    outcome_extra["adapt"] = method.name

    if method.name != "none":
        with tempfile.TemporaryDirectory(prefix="transferlab-plain-") as scratch:
            plain = loop.fit_on_features(session.quiet(runs.Run(Path(scratch))), Head(train_x.shape[1], classes, dropout),
                                         torch.from_numpy(train_x).float(), torch.from_numpy(val_x).float(), feature_set)
        if plain.get("best_state") is not None:
            outcome_extra.update(val_acc_without=plain[Summary.BEST_VAL_ACC],
                                 **_target_scores(target, target_x, plain["best_state"], "_without"))

    source_map, target_map = method.maps(train_x, target_x, config.seed)
    if not (source_map.finite() and target_map.finite()):
        raise UserError(lazy("{method} could not align these features (its computation gave no finite numbers).",
                             method=method.title_text),
                        lazy("Pick another adaptation method on the Model page (or --adapt), or none."))
    head = Head(source_map.out_dim, classes, dropout)
    result = loop.fit_on_features(session, head, torch.from_numpy(source_map(train_x)).float(),
                                  torch.from_numpy(source_map(val_x)).float(), feature_set)
    if result.get("best_state") is None:
        return result
    head.load_state_dict(result["best_state"])
    result["best_state"] = adaptation.fold(head, target_map)
    if method.name == "none":  # the identity: the gap is the one measured before
        outcome_extra["domain_gap_after"] = outcome_extra["domain_gap"]
    else:
        mapped_source = np.concatenate([source_map(train_x), source_map(val_x)])
        outcome_extra["domain_gap_after"] = round(domains.domain_gap(mapped_source, target_map(target_x), config.seed),
                                                  4)
    outcome_extra.update(_target_scores(target, target_x, result["best_state"], ""))
    result.update(outcome_extra, frozen_params=session.spec.num_params)
    return result


def _choose(session: loop.Session, train_x: np.ndarray, val_x: np.ndarray, target_x: np.ndarray) -> choose.Choice:
    """``auto``: every feature-level method measured on these features without the target's labels
    (core/adaptation/choose.py); the person hears what was chosen and why before the head trains."""
    report, config = session.report, session.config
    labels = [np.array([label for _key, label in items]) for items in (report.train, report.val)]
    choice = choose.remembered(config.cache_dir, train_x, labels[0], val_x, labels[1], target_x,
                               adaptation.measured_here(session.strategy, session.spec), config.seed,
                               on_measuring=lambda: session.emit("stage", message=lazy(
                                   "Measuring which adaptation fits these data (without the target's labels)...")))
    session.emit("notice", message=choice.reason)
    return choice


def _target_scores(target: domains.Target, target_x: np.ndarray, state: dict[str, torch.Tensor],
                   suffix: str) -> dict:
    """Target accuracy of a head state on raw target features (None when the target has no labels)."""
    if not target.labelled:
        return {f"target_acc{suffix}": None}
    logits = torch.from_numpy(target_x).float() @ state["linear.weight"].T + state["linear.bias"]
    accuracy = float((logits.argmax(1).numpy() == target.labels()).mean())
    return {f"target_acc{suffix}": round(accuracy, 6)}
