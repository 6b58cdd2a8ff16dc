"""Privacy audit of a trained run: a membership-inference test (the loss-threshold attack, Yeom et al. 2018).

A model usually fits the examples it was trained on better than ones it never saw, so an attacker who
can query it may guess, from the loss on an example, whether that example was in the training data.
The audit plays that attacker: the run's saved model (the one Try it and the export use) scores a
seeded sample of its training examples (members) and of its validation examples (non-members); the
lower the loss, the likelier "member". Reported as the attack's ROC AUC: 50% means the model gives away
nothing about who was in its training data; 100% means it tells every member from every stranger.
Nothing is written; the run is read only.

Its mean losses are not the loss curves' last points, and ``basis`` says so beside them: the audit scores the
kept weights (the best epoch's) in evaluation mode, example by example; the curves' training loss is the
running mean of each epoch while the weights still changed, in training mode (augmentation, dropout). Only
the validation curve at the kept epoch measures the same thing (``epoch_val_loss``).
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from core import i18n, inference, metrics, runs
from core.errors import UserError
from core.i18n import _, lazy, ngettext
from core.data.report import DataReport
from core.runs import Summary

PER_SIDE = 500  # examples of each kind scored (a seeded sample when there are more)
BATCH = 32
FLOOR = 27.631  # -log(1e-12): a probability of 0 scores as 1e-12 (a finite loss either way)


@dataclass
class Audit:
    run_dir: str
    mia_auc: float                 # the attack's ROC AUC on members vs non-members, 0.5 = nothing leaks
    mia_auc_interval: tuple[float, float]   # its 95% interval (Hanley-McNeil): what chance alone moves it by
    members: int                   # training examples scored
    non_members: int               # validation examples scored
    member_loss: float             # their mean losses
    non_member_loss: float
    advantage: float               # the best threshold's true-positive minus false-positive rate (0 = none)
    words: str                     # what the AUC says, in the language current when audited (see ``words``)
    losses: dict[str, list[float]] = field(default_factory=dict, repr=False)  # "members", "non_members"
    epoch: int | None = None       # the epoch whose weights were scored (the kept, best one)
    epoch_val_loss: float | None = None  # the validation loss curve at that epoch (all validation examples)
    validation_examples: int | None = None  # how many the curve's point was measured on

    def to_dict(self) -> dict:
        return {key: value for key, value in asdict(self).items() if key != "losses"}


def words(auc: float, interval: tuple[float, float] = (0.5, 0.5)) -> str:
    """What the AUC says, judged with its 95% interval: a value that chance alone could give (the interval
    reaches 50%) is no evidence of a leak, however far from 50% it looks on a small validation split.
    In the current language (pages call it again when they show an audit)."""
    low, high = interval
    if interval[0] <= 0.5 or (auc - 0.5) * 100 < 2:
        return _("An attacker who sees the model's loss guesses membership no better than a coin (AUC {auc:.1%}, "
                 "95% interval {low:.1%} to {high:.1%}: chance alone gives as much with this many examples): the "
                 "model gives away nothing measurable about who was in its training data.",
                 auc=auc, low=low, high=high)
    if (auc - 0.5) * 100 < 10:
        return _("A slight leak (AUC {auc:.1%}, 95% interval {low:.1%} to {high:.1%}): training examples get "
                 "somewhat lower losses than new ones, so an attacker guesses membership a little better than a "
                 "coin.", auc=auc, low=low, high=high)
    return _("A clear leak (AUC {auc:.1%}, 95% interval {low:.1%} to {high:.1%}): the model fits its training "
             "examples much better than new ones, so an attacker can often tell who was in the training data. "
             "Fewer epochs, more data, or private training narrow it.", auc=auc, low=low, high=high)


def auc_and_advantage(member_losses: np.ndarray, other_losses: np.ndarray) -> tuple[float, float]:
    """ROC AUC of "lower loss = member", and the best threshold's advantage (TPR - FPR)."""
    from sklearn.metrics import roc_auc_score, roc_curve

    truth = np.r_[np.ones(len(member_losses)), np.zeros(len(other_losses))]
    scores = -np.r_[member_losses, other_losses]
    false_positive, true_positive, _thresholds = roc_curve(truth, scores)
    return float(roc_auc_score(truth, scores)), float(np.max(true_positive - false_positive))


def audit(run_dir: str | Path, per_side: int = PER_SIDE, seed: int = 0) -> Audit:
    run = runs.Run(Path(run_dir).expanduser().resolve())
    if not run.has_config() or run.recorded_status != "finished":
        raise UserError(lazy("{run} is not a finished run.", run=str(run_dir)),
                        lazy("Audit a run that finished training (`python -m core runs` lists them)."))
    report = DataReport.from_dict(run.read_json("data.json"))
    if not report.train or not report.val:
        raise UserError(lazy("This run has no training or no validation examples to compare."),
                        lazy("Audit a run trained with a validation split."))
    predictor = inference.load(run.dir)
    chooser = random.Random(seed)
    members = _sample(report.train, per_side, chooser)
    strangers = _sample(report.val, per_side, chooser)
    losses = _losses_on_cached_features(predictor, report)
    if losses is None:
        report.require_files([key for key, _ in members + strangers], lazy("the audit scores"))
    member_losses, stranger_losses = (losses(members), losses(strangers)) if losses else (
        _losses(predictor, report, members), _losses(predictor, report, strangers))
    auc, advantage = auc_and_advantage(member_losses, stranger_losses)
    interval = metrics.auc_interval(auc, len(members), len(strangers))
    epoch = (run.summary() or {}).get(Summary.BEST_EPOCH)
    on_curve = next((record.get("val_loss") for record in run.history() if record.get("epoch") == epoch), None)
    return Audit(str(run.dir), round(auc, 6), (round(interval[0], 6), round(interval[1], 6)), len(members),
                 len(strangers), round(float(member_losses.mean()), 6), round(float(stranger_losses.mean()), 6),
                 round(advantage, 6), words(auc, interval),
                 {"members": member_losses.round(6).tolist(), "non_members": stranger_losses.round(6).tolist()},
                 epoch, None if on_curve is None else round(float(on_curve), 6), len(report.val))


def basis(found: Audit) -> str:
    """What the mean losses are, in plain words beside them (in the current language): which weights, which
    examples, which mode, and why they are not the loss curves' numbers; the validation curve's point that
    measures the same thing, where there is one."""
    counted = dict(members=found.members, others=found.non_members)
    scored = (_("These mean losses come from the kept weights (epoch {epoch}, the best one) in evaluation mode (no "
                "augmentation, no dropout), one example at a time: {members:,} training examples (members) and "
                "{others:,} validation examples (never seen).", epoch=found.epoch, **counted)
              if found.epoch else
              _("These mean losses come from the kept weights in evaluation mode (no augmentation, no dropout), one "
                "example at a time: {members:,} training examples (members) and {others:,} validation examples "
                "(never seen).", **counted))
    curves = _("The loss curves measure something else: their training loss is the average over each epoch while "
               "the weights were still changing, in training mode (with augmentation and dropout where the run used "
               "them), and their last points are the last epoch's, not the kept one's.")
    if found.epoch_val_loss is None or not found.epoch:
        return i18n.join(scored, curves)
    if found.non_members == found.validation_examples:
        same = _("Their validation loss at epoch {epoch} measures the same thing, on the same {count:,} examples: "
                 "{loss:.3f}.", epoch=found.epoch, count=found.validation_examples, loss=found.epoch_val_loss)
    else:
        same = ngettext("Their validation loss at epoch {epoch}, on all {n:,} validation example, is {loss:.3f} (the "
                        "audit scored a sample of them).",
                        "Their validation loss at epoch {epoch}, on all {n:,} validation examples, is {loss:.3f} (the "
                        "audit scored a sample of them).", found.validation_examples or 0, epoch=found.epoch,
                        loss=found.epoch_val_loss)
    return i18n.join(scored, curves, same)


def _sample(items: list[tuple[str, int]], size: int, chooser: random.Random) -> list[tuple[str, int]]:
    return list(items) if len(items) <= size else chooser.sample(list(items), size)


def _losses_on_cached_features(predictor: inference.Predictor, report: DataReport):
    """For a head trained on cached features (feature extraction): a function giving items' losses from the
    cached features of the data the run trained on, through the saved head. The same numbers as the whole
    model gives (the backbone is the pretrained one, the features its output), in milliseconds instead of
    a pass through the backbone (30 s for 700 images on a laptop CPU). None without such a cache."""
    from core import features, strategies

    if predictor.model is None or not strategies.get(predictor.config.strategy).on_features:
        return None
    found = features.cached(report, predictor.spec, predictor.config.cache_dir, predictor.config.max_length)
    if found is None:
        return None
    head = predictor.model.head

    def losses(items: list[tuple[str, int]]) -> np.ndarray:
        with torch.inference_mode():
            logits = head(found.rows(items).to(next(head.parameters()).device)).float()
            labels = torch.tensor([label for _, label in items], device=logits.device)
            return torch.nn.functional.cross_entropy(logits, labels, reduction="none").clamp(max=FLOOR).cpu().numpy()

    return losses


def _losses(predictor: inference.Predictor, report: DataReport, items: list[tuple[str, int]]) -> np.ndarray:
    """Cross-entropy of the saved model on each item."""
    from core.data import images

    found = []
    for start in range(0, len(items), BATCH):
        chunk = items[start:start + BATCH]
        if predictor.modality == "image":
            probabilities = predictor.predict_images([images.load_rgb(report.absolute(key)) for key, _ in chunk])
        else:
            probabilities = predictor.predict_texts([report.texts[key] for key, _ in chunk])
        picked = probabilities[np.arange(len(chunk)), [label for _, label in chunk]]
        found.append(np.minimum(-np.log(np.clip(picked, 1e-12, 1.0)), FLOOR))
    return np.concatenate(found)
