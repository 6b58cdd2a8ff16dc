"""How much data does each strategy need? The data-efficiency curve.

Each strategy trains on the same nested, stratified, seeded subsets of the training split (5, 10, 20...
examples per class: ``DataReport.at_most_per_class``) and is always scored on the same whole
validation split, one run per point, queued as one group (``plan``). ``points`` reads them back,
``reading`` says in plain words where transfer pays, ``estimate`` says beforehand what it will cost.
Feature extraction's points share one feature pass (the subsets' features are the whole data's,
cached), so after the first they cost a head's training.
"""

from __future__ import annotations

import functools
import json
import math
from datetime import datetime
from pathlib import Path

from core import backbones, compare, costs, i18n, runs, strategies
from core.config import TrainConfig
from core.data import modality_of
from core.errors import UserError
from core.i18n import _, lazy
from core.data.report import DataReport
from core.runs import Summary

DEFAULT_PER_CLASS: tuple[int | None, ...] = (5, 10, 20, 50, None)  # None: all
MIN_STEPS = 100        # small subsets train for more epochs, so that every point gets this many updates...
MAX_EPOCH_FACTOR = 4   # ... but at most this many times the recipe's epochs (early stopping still applies)
START_SECONDS = 8.0    # a training process starting (PyTorch and the backbone loading), measured on 2 CPU cores
TRAIN_FACTOR = 3.0     # a training step costs about three forward passes (forward, backward, update)


def parse_sizes(text: str) -> list[int | None]:
    """'5, 10, 20, all' -> [5, 10, 20, None]; a clear error for anything else."""
    sizes: list[int | None] = []
    for part in str(text).replace(";", ",").replace("，", ",").replace("、", ",").replace("；", ",").split(","):
        part = part.strip().lower()
        if not part:
            continue
        if part in ("all", "*", _("all").lower()):  # "all", or the word for it in the current language
            sizes.append(None)
        elif part.isdigit() and int(part) >= 1:
            sizes.append(int(part))
        else:
            raise UserError(lazy("'{size}' is not a number of examples per class.", size=part),
                            lazy("Give whole numbers from 1 up, separated by commas, and 'all' for every example: "
                                 "5, 10, 20, 50, all."))
    if not sizes:
        raise UserError(lazy("No examples-per-class sizes given."), lazy("For example: 5, 10, 20, 50, all."))
    return sorted(set(sizes), key=lambda size: math.inf if size is None else size)


def usable_sizes(report: DataReport, sizes: list[int | None]) -> list[int | None]:
    """The sizes that mean something for this data: a size at or above the largest class's training
    count is the same as all (kept once, as all)."""
    largest = max((row["train"] for row in report.counts()), default=0)
    kept = [size for size in sizes if size is not None and size < largest]
    return kept + [None] if len(kept) < len(sizes) or None in sizes else kept


def epochs_for(base: int, train_examples: int, batch_size: int, min_steps: int = MIN_STEPS) -> int:
    """A subset's epochs: at least ``base``, more when its batches are few (``min_steps`` updates in all),
    at most MAX_EPOCH_FACTOR x ``base``."""
    steps_per_epoch = max(1, math.ceil(train_examples / max(1, batch_size)))
    return int(min(base * MAX_EPOCH_FACTOR, max(base, math.ceil(min_steps / steps_per_epoch))))


def plan(data: str, report: DataReport, backbone: str, strategy_names: list[str] | None = None,
         sizes: list[int | None] = DEFAULT_PER_CLASS, epochs: dict[str, int] | None = None,
         min_steps: int = MIN_STEPS, target: str | None = None, **shared) -> list[TrainConfig]:
    """One config per (strategy, size): the same data, split and seed; the same group id. Feature
    extraction first (its points are the cheap ones, so the chart fills early), then the baseline, then
    the rest (fine-tuning, the slow one, last), each from the smallest subset up. With a ``target``, every
    point is also scored on it (without adaptation: the curve is about how much data each strategy needs)."""
    modality = modality_of(data)
    chosen = [strategies.get(name) for name in strategy_names] if strategy_names else strategies.compared(modality)
    unknown = [s.name for s in chosen if modality not in s.modalities]
    if unknown:
        raise UserError(lazy("{strategies} does not apply to text data.", strategies=", ".join(unknown))
                        if modality == "text" else
                        lazy("{strategies} does not apply to image data.", strategies=", ".join(unknown)),
                        lazy("Choose among: {names}.", names=", ".join(strategies.names(modality))))
    chosen.sort(key=lambda s: _run_order(s.name))
    group = "curve-" + datetime.now().strftime("%Y%m%d-%H%M%S")
    counts = {row["class"]: row["train"] for row in report.counts()}
    configs = []
    for strategy in chosen:
        net = strategy.baseline_backbone.get(modality, backbone)
        recipe = strategy.recipe(modality)
        base = (epochs or {}).get(strategy.name) or recipe.get("epochs", 1)
        batch = shared.get("batch_size") or recipe.get("batch_size", 32)
        for size in usable_sizes(report, sizes):
            examples = sum(min(size, n) if size else n for n in counts.values())
            configs.append(TrainConfig.for_strategy(
                data, strategy.name, backbone=net, group=group, per_class=size, target=target,
                adapt="none" if target else None,
                epochs=base if strategy.fits_in_one_go else epochs_for(base, examples, batch, min_steps), **shared))
    return configs


def points(runs_dir: str | Path, group: str) -> list[dict]:
    """The curve's points so far: one per run of the group, with its status."""
    found = []
    for run in runs.list_runs(runs_dir):
        config = run.config()
        if config.get("group") != group:
            continue
        row = runs.describe(run)
        summary = run.summary() or {}
        found.append({"strategy": row["strategy"], "per_class": config.get("per_class") or "all",
                      "train_examples": summary.get(Summary.TRAIN_IMAGES), "val_acc": row[Summary.BEST_VAL_ACC]
                      if row["status"] == "finished" else None, Summary.VAL_IMAGES: row.get(Summary.VAL_IMAGES),
                      "seconds": row["seconds"], "time": costs.of(row).words(), "status": row["status"],
                      "run_dir": row["dir"], "backbone": row["backbone"], "classes": summary.get("num_classes"),
                      Summary.TARGET_ACC: row.get(Summary.TARGET_ACC) if row["status"] == "finished" else None,
                      "target": config.get("target")})
    return sorted(found, key=lambda p: (_run_order(p["strategy"]), _size_key(p["per_class"])))


def _run_order(name: str) -> tuple:
    """The order ``plan`` queues strategies in: feature extraction, one-go baselines, the baseline, the rest."""
    strategy = strategies.find(name)
    if strategy is None:  # a strategy whose plugin is gone: last
        return (True, True, True, 1_000_000, name)
    return (not strategy.on_features, not strategy.fits_in_one_go, not strategy.baseline, strategy.order, name)


def groups(runs_dir: str | Path) -> list[str]:
    """Curve groups, newest first."""
    found = {str(run.config().get("group") or "") for run in runs.list_runs(runs_dir)}
    return sorted((group for group in found if group.startswith("curve-")), reverse=True)


def _size_key(size: int | str) -> float:
    return math.inf if size == "all" else float(size)


def x_value(point: dict) -> float:
    """Where a point sits on the chart: its examples per class ("all": the average training count per class)."""
    if point["per_class"] != "all":
        return float(point["per_class"])
    return (point.get("train_examples") or 0) / max(1, point.get("classes") or 1)


def reading(found: list[dict]) -> list[str]:
    """In the current language, where transfer pays: the pretrained strategy against the baseline, smallest subset
    first; then fine-tuning against feature extraction. One text per pair, saying at each size it names who is
    ahead and by how many points; a difference inside the 95% interval is "about the same", and the one ahead
    is still named."""
    done = [p for p in found if p["val_acc"] is not None]
    by = {}
    for point in done:
        by.setdefault(point["strategy"], {})[point["per_class"]] = point
    sentences = []
    baseline = next((name for name in by if strategies.find(name) and strategies.get(name).baseline), None)
    extract, tune = strategies.FEATURE_EXTRACTION, strategies.FINE_TUNING
    for mine, theirs in ((extract, baseline), (tune, extract)):
        if mine in by and theirs in by:
            sentence = _pair(by[mine], by[theirs], mine, theirs)
            if sentence:
                sentences.append(sentence)
    on_target = _on_the_target(by)
    return sentences + ([on_target] if on_target else [])


def _on_the_target(by: dict[str, dict]) -> str | None:
    """With a target: each strategy's target accuracy beside its validation accuracy, at its largest size."""
    scored = []
    for name, sizes in by.items():
        largest = max(sizes, key=_size_key)
        point = sizes[largest]
        if point.get(Summary.TARGET_ACC) is not None:
            scored.append(_("{strategy} {target} (validation {val})", strategy=strategies.short(name),
                            target=i18n.percent(point[Summary.TARGET_ACC]), val=i18n.percent(point["val_acc"])))
    if not scored:
        return None
    return _("On the target, with the most examples each strategy had: {scores}. Validation accuracy says how well "
             "a model does on data like its training data; the target says how well it travels.",
             scores=i18n.listing(scored))


def _as_row(point: dict) -> dict:
    """A point as compare.versus reads a run: paired on its predictions when its run folder is known."""
    return {Summary.BEST_VAL_ACC: point["val_acc"], Summary.VAL_IMAGES: point.get(Summary.VAL_IMAGES), "dir": point.get("run_dir")}


def verdict(mine: dict, theirs: dict) -> int:
    """1: ``mine`` is ahead, -1: ``theirs`` is, 0: the 95% interval of the difference holds zero (about the same),
    as Compare decides it."""
    _gap, low, high = compare.versus(_as_row(mine), _as_row(theirs))
    return 1 if low > 0 else (-1 if high < 0 else 0)


def _pair(mine: dict, theirs: dict, mine_name: str, theirs_name: str) -> str | None:
    """Two strategies' points in a few sentences: who is ahead, by how many points, at the smallest shared size,
    at each size where that changes (one pulls ahead, they meet), and at the largest."""
    shared = sorted(set(mine) & set(theirs), key=_size_key)
    if not shared:
        return None
    verdicts = {size: verdict(mine[size], theirs[size]) for size in shared}
    changes = [size for before, size in zip(shared, shared[1:]) if verdicts[size] != verdicts[before]]
    told = [shared[0], *changes] + ([shared[-1]] if shared[-1] not in changes and len(shared) > 1 else [])
    names = {"mine": strategies.short(mine_name), "theirs": strategies.short(theirs_name)}
    sentences = [_at(size, verdicts[size], mine[size], theirs[size], names,
                     since=size in changes and size != shared[-1]) for size in told]
    level = {size for size in told if i18n.percent(mine[size]["val_acc"]) == i18n.percent(theirs[size]["val_acc"])}
    if any(verdicts[size] == 0 and (size not in level or size in changes) for size in told):  # "about the same" said
        count = mine[shared[0]].get(Summary.VAL_IMAGES)
        sentences.append(_("\"About the same\" means a gap within what {count:,} validation examples can tell apart "
                           "(95% interval).", count=count) if count else
                         _("\"About the same\" means a gap within what the validation set can tell apart (95% "
                           "interval)."))
    return i18n.join(*sentences)


def _at(size, said: int, mine: dict, theirs: dict, names: dict, since: bool) -> str:
    """One sentence on a size: one ahead (``said`` 1 or -1), about the same with the one ahead named, or level.
    ``since``: the state holds from this size on (a change), else it is the state at this size."""
    first, second = (mine, theirs) if mine["val_acc"] >= theirs["val_acc"] else (theirs, mine)
    ahead, behind = (names["mine"], names["theirs"]) if first is mine else (names["theirs"], names["mine"])
    words = dict(size=size, ahead=ahead, behind=behind, ahead_acc=i18n.percent(first["val_acc"]),
                 behind_acc=i18n.percent(second["val_acc"]), gap=i18n.points(first["val_acc"], second["val_acc"]))
    if said == 0 and words["ahead_acc"] == words["behind_acc"]:
        return _level(size, since, words)
    if said == 0:
        return _close(size, since, words)
    if since:
        return _("From {size} per class on, {ahead} is ahead of {behind}: by {gap} points at {size} per class "
                 "({ahead_acc} vs {behind_acc}).", **words)
    if size == "all":
        return _("With all the examples, {ahead} is ahead of {behind} by {gap} points ({ahead_acc} vs {behind_acc}).",
                 **words)
    return _("With {size} per class, {ahead} is ahead of {behind} by {gap} points ({ahead_acc} vs {behind_acc}).",
             **words)


def _close(size, since: bool, words: dict) -> str:
    """About the same, within the uncertainty: the one ahead is named all the same."""
    if since:
        return _("From {size} per class on, {ahead} and {behind} are about the same: at {size} per class {ahead} is "
                 "{gap} points ahead ({ahead_acc} vs {behind_acc}).", **words)
    if size == "all":
        return _("With all the examples, {ahead} and {behind} are about the same: {ahead} is {gap} points ahead "
                 "({ahead_acc} vs {behind_acc}).", **words)
    return _("With {size} per class, {ahead} and {behind} are about the same: {ahead} is {gap} points ahead "
             "({ahead_acc} vs {behind_acc}).", **words)


def _level(size, since: bool, words: dict) -> str:
    """The same accuracy, as shown."""
    if since:
        return _("From {size} per class on, {ahead} and {behind} are about the same; at {size} per class they are "
                 "level ({ahead_acc} each).", **words)
    if size == "all":
        return _("With all the examples, {ahead} and {behind} are level ({ahead_acc} each).", **words)
    return _("With {size} per class, {ahead} and {behind} are level ({ahead_acc} each).", **words)


def estimate(configs: list[TrainConfig], counts: list[int], val_items: int, speed_of,
             features_ready=lambda config: False) -> list[float]:
    """Rough seconds of each config's run: ``counts`` are the training examples of each class (all of
    them), ``speed_of(backbone name)`` the forward milliseconds per example on this machine
    (core/backbones/speed.py), ``features_ready(config)`` whether its features are cached. Every run pays its start;
    feature extraction pays one pass over all the data, once per backbone."""
    seconds, featurised = [], set()
    for config in configs:
        strategy = strategies.get(config.strategy)
        total = START_SECONDS
        if strategy.fits_in_one_go or not strategy.uses_backbone:
            seconds.append(total + 2.0)
            continue
        forward = (speed_of(config.backbone) or 50.0) / 1000
        examples = sum(min(config.per_class, n) if config.per_class else n for n in counts)
        if strategy.on_features:
            if config.backbone not in featurised and not features_ready(config):
                total += forward * (sum(counts) + val_items)  # one pass over every example, then cached
            featurised.add(config.backbone)
            total += 1.0
        else:
            total += config.epochs * (TRAIN_FACTOR * forward * examples + forward * val_items)
        seconds.append(total)
    return seconds


def features_ready(report: DataReport):
    """For ``estimate``: whether a config's backbone already has this data's features in the cache."""
    from core import features

    def ready(config: TrainConfig) -> bool:
        spec = backbones.get(config.backbone)
        return features.cache_path(config.cache_dir, report, spec, config.max_length).is_file()

    return ready


def shape(found: list[dict]) -> tuple[list[int], int] | None:
    """(training examples per class, validation examples) of a curve's data, from any run that started."""
    for point in found:
        data_file = Path(point["run_dir"]) / runs.DATA
        if data_file.is_file():  # written once, when the run starts: read once (the page asks every 2 s)
            return _shape_of(str(data_file), data_file.stat().st_mtime_ns)
    return None


@functools.lru_cache(maxsize=8)
def _shape_of(data_file: str, modified: int) -> tuple[list[int], int]:
    report = DataReport.from_dict(json.loads(Path(data_file).read_text()))
    counts = [0] * len(report.classes)
    for _item, label in report.train + report.set_aside:
        counts[label] += 1
    return counts, len(report.val)


def time_left(found: list[dict], speed_of, current_eta: float | None = None) -> float | None:
    """Seconds until the curve is drawn: the point training now (``current_eta``, its own countdown from its
    pace, where known), then the estimates of the points still waiting, scaled by how the estimate fared on
    the points done (None before anything has started)."""
    known = shape(found)
    if known is None:
        return None
    counts, val_items = known
    configs = [TrainConfig.load(runs.Run(Path(p["run_dir"])).config_path) for p in found]
    guesses = estimate(configs, counts, val_items, speed_of, lambda config: True)
    return remaining(found, guesses, current_eta)


def remaining(found: list[dict], guesses: list[float], current_eta: float | None = None) -> float:
    """Seconds left of a group of runs (``found``: their statuses and seconds so far; ``guesses``: each one's
    estimate): the running one's ``current_eta`` when known (else its estimate less the time it has run) plus
    every queued one's estimate, scaled by how the estimates fared on the runs done. Never less than the
    running one's own countdown: the whole cannot end before its part."""
    done = [(p["seconds"], g) for p, g in zip(found, guesses)
            if p["status"] not in runs.ACTIVE and p["seconds"]]
    scale = min(3.0, max(0.3, sum(s for s, _ in done) / sum(g for _, g in done))) if done else 1.0
    left = 0.0
    for point, guess in zip(found, guesses):
        if point["status"] == "queued":
            left += scale * guess
        elif point["status"] == "running" and current_eta is not None:
            left += current_eta
        elif point["status"] == "running":  # part of it is done
            left += max(0.1 * scale * guess, scale * guess - (point["seconds"] or 0))
    return left
