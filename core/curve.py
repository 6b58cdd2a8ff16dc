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

from core import backbones, compare, costs, runs, strategies
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
    """In the current language, where transfer pays: the pretrained strategy against the baseline, smallest subset first; then
    fine-tuning against feature extraction. Differences inside the 95% interval are 'about the same'."""
    done = [p for p in found if p["val_acc"] is not None]
    by = {}
    for point in done:
        by.setdefault(point["strategy"], {})[point["per_class"]] = point
    sentences = []
    baseline = next((name for name in by if strategies.find(name) and strategies.get(name).baseline), None)
    for mine, theirs in (("feature_extract", baseline), ("fine_tune", "feature_extract")):
        if mine in by and theirs in by:
            sentence = _pair(by[mine], by[theirs], mine, theirs)
            if sentence:
                sentences.append(sentence)
    on_target = _on_the_target(by)
    return sentences + ([on_target] if on_target else [])


def _on_the_target(by: dict[str, dict]) -> str | None:
    """With a target: each strategy's target accuracy beside its validation accuracy, at its largest size."""
    from core import i18n

    scored = []
    for name, sizes in by.items():
        largest = max(sizes, key=_size_key)
        point = sizes[largest]
        if point.get(Summary.TARGET_ACC) is not None:
            scored.append(_("{strategy} {target:.1%} (validation {val:.1%})", strategy=strategies.short(name),
                            target=point[Summary.TARGET_ACC], val=point["val_acc"]))
    if not scored:
        return None
    return _("On the target, with the most examples each strategy had: {scores}. Validation accuracy says how well "
             "a model does on data like its training data; the target says how well it travels.",
             scores=i18n.listing(scored))


def _as_row(point: dict) -> dict:
    """A point as compare.versus reads a run: paired on its predictions when its run folder is known."""
    return {Summary.BEST_VAL_ACC: point["val_acc"], Summary.VAL_IMAGES: point.get(Summary.VAL_IMAGES), "dir": point.get("run_dir")}


def _pair(mine: dict, theirs: dict, mine_name: str, theirs_name: str) -> str | None:
    """One sentence on two strategies' points: who leads at the smallest shared size, and whether that holds
    up to the largest or changes (they meet, or the other pulls ahead), and from which size on."""
    shared = sorted(set(mine) & set(theirs), key=_size_key)
    if not shared:
        return None

    def verdict(size) -> int:  # 1: mine ahead, -1: theirs ahead, 0: about the same (as Compare decides it)
        _, low, high = compare.versus(_as_row(mine[size]), _as_row(theirs[size]))
        return 1 if low > 0 else (-1 if high < 0 else 0)

    first = shared[0]
    start = verdict(first)
    later = next((size for size in shared[1:] if verdict(size) != start), None)
    # the leader (when there is one) is named first: "a", with its accuracy "a_acc"
    leader, follower = (mine, theirs) if start >= 0 else (theirs, mine)
    names = {"a": strategies.short(mine_name if start >= 0 else theirs_name),
             "b": strategies.short(theirs_name if start >= 0 else mine_name),
             "a_acc": leader[first]["val_acc"], "b_acc": follower[first]["val_acc"]}
    if later is None:
        last = shared[-1]
        end = {"a_last": leader[last]["val_acc"], "b_last": follower[last]["val_acc"]}
        if len(shared) == 1:
            return _opening(first, start, names)
        return _held(first, last, start, names, end)
    change = verdict(later)
    after = {"a_later": leader[later]["val_acc"], "b_later": follower[later]["val_acc"],
             "mine_later": mine[later]["val_acc"], "theirs_later": theirs[later]["val_acc"],
             "mine": strategies.short(mine_name), "theirs": strategies.short(theirs_name)}
    return _changed(first, later, start, change, names, after)


def _opening(first, start: int, said: dict) -> str:
    """Only one size in common: who leads there."""
    if start == 0:
        if first == "all":
            return _("With all the examples, {a} and {b} are about the same ({a_acc:.0%} vs {b_acc:.0%}).", **said)
        return _("With {size} per class, {a} and {b} are about the same ({a_acc:.0%} vs {b_acc:.0%}).", size=first,
                 **said)
    if first == "all":
        return _("With all the examples, {a} reaches {a_acc:.0%} where {b} gets {b_acc:.0%}.", **said)
    return _("With {size} per class, {a} reaches {a_acc:.0%} where {b} gets {b_acc:.0%}.", size=first, **said)


def _held(first, last, start: int, said: dict, end: dict) -> str:
    """The same verdict from the smallest size to the largest."""
    said = {**said, **end, "size": first, "last": last}
    if start == 0:
        if last == "all":
            return _("With {size} per class, {a} and {b} are about the same ({a_acc:.0%} vs {b_acc:.0%}); they stay "
                     "about the same with all the examples too.", **said)
        return _("With {size} per class, {a} and {b} are about the same ({a_acc:.0%} vs {b_acc:.0%}); they stay about "
                 "the same up to {last} per class.", **said)
    if last == "all":
        return _("With {size} per class, {a} reaches {a_acc:.0%} where {b} gets {b_acc:.0%}; {a} stays ahead with all "
                 "the examples too ({a_last:.0%} vs {b_last:.0%}).", **said)
    return _("With {size} per class, {a} reaches {a_acc:.0%} where {b} gets {b_acc:.0%}; {a} stays ahead up to "
             "{last} per class ({a_last:.0%} vs {b_last:.0%}).", **said)


def _changed(first, later, start: int, change: int, said: dict, after: dict) -> str:
    """The verdict at the smallest size, and the size from which it changes: they meet, or one is ahead."""
    said = {**said, "size": first, "later": later}
    if change == 0:  # in the opening's order
        said.update(a_later=after["a_later"], b_later=after["b_later"])
    else:  # the one ahead from ``later`` on, first
        ahead = change == 1
        said.update(ahead=after["mine"] if ahead else after["theirs"],
                    ahead_acc=after["mine_later"] if ahead else after["theirs_later"],
                    behind_acc=after["theirs_later"] if ahead else after["mine_later"])
    if start == 0:
        if change == 0:  # cannot happen: a change from "about the same" is one side ahead
            return ""
        if later == "all":
            return _("With {size} per class, {a} and {b} are about the same ({a_acc:.0%} vs {b_acc:.0%}); with all "
                     "the examples, {ahead} is ahead ({ahead_acc:.0%} vs {behind_acc:.0%}).", **said)
        return _("With {size} per class, {a} and {b} are about the same ({a_acc:.0%} vs {b_acc:.0%}); from {later} "
                 "per class on, {ahead} is ahead ({ahead_acc:.0%} vs {behind_acc:.0%}).", **said)
    if change == 0:
        if later == "all":
            return _("With {size} per class, {a} reaches {a_acc:.0%} where {b} gets {b_acc:.0%}; with all the "
                     "examples, they meet ({a_later:.0%} vs {b_later:.0%}).", **said)
        return _("With {size} per class, {a} reaches {a_acc:.0%} where {b} gets {b_acc:.0%}; from {later} per class "
                 "on, they meet ({a_later:.0%} vs {b_later:.0%}).", **said)
    if later == "all":
        return _("With {size} per class, {a} reaches {a_acc:.0%} where {b} gets {b_acc:.0%}; with all the examples, "
                 "{ahead} is ahead ({ahead_acc:.0%} vs {behind_acc:.0%}).", **said)
    return _("With {size} per class, {a} reaches {a_acc:.0%} where {b} gets {b_acc:.0%}; from {later} per class on, "
             "{ahead} is ahead ({ahead_acc:.0%} vs {behind_acc:.0%}).", **said)


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


def time_left(found: list[dict], speed_of) -> float | None:
    """Seconds until the curve is drawn: the estimate of the points still to come, scaled by how the
    estimate fared on the points done (None before anything has started)."""
    known = shape(found)
    if known is None:
        return None
    counts, val_items = known
    configs = [TrainConfig.load(runs.Run(Path(p["run_dir"])).config_path) for p in found]
    guesses = estimate(configs, counts, val_items, speed_of, lambda config: True)
    done = [(p["seconds"], g) for p, g in zip(found, guesses) if p["status"] not in ("queued", "running") and p["seconds"]]
    scale = min(3.0, max(0.3, sum(s for s, _ in done) / sum(g for _, g in done))) if done else 1.0
    left = 0.0
    for point, guess in zip(found, guesses):
        if point["status"] == "queued":
            left += scale * guess
        elif point["status"] == "running":  # part of it is done
            left += max(0.1 * scale * guess, scale * guess - (point["seconds"] or 0))
    return left
