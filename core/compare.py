"""Compare strategies in one click: the baseline, feature extraction and fine-tuning on the same data,
split and seed, queued one after another as one group, then read side by side in plain words.

The lesson of transfer learning, made visible on the person's own data.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from core import adaptation, backbones, costs, jobs, metrics, runs, strategies
from core.config import TrainConfig
from core.data import modality_of

OVERFIT_GAP = 0.1  # training accuracy this far above validation accuracy: memorising, not learning
LEVEL_POINTS = 1.0  # without a count of validation examples, gaps this small are called "about the same"


def plan(data: str, backbone: str, epochs: dict[str, int] | None = None, target: str | None = None,
         private: float | None = None, **shared) -> list[TrainConfig]:
    """One config per strategy, all with the same data, split (val_fraction, seed) and ``shared`` settings.
    With a ``target``, every run is also scored on it, and feature extraction runs a second time with
    its default adaptation, right after the same strategy without it. ``private`` (a privacy budget
    epsilon): feature extraction also runs privately (core/privacy.py, its private recipe), what privacy
    costs in accuracy."""
    modality = modality_of(data)
    group = "compare-" + datetime.now().strftime("%Y%m%d-%H%M%S")
    configs = []
    for strategy in strategies.compared(modality):
        net = strategy.baseline_backbone.get(modality, backbone)
        overrides = {**shared, "epochs": (epochs or {}).get(strategy.name)}
        configs.append(TrainConfig.for_strategy(data, strategy.name, backbone=net, group=group, target=target,
                                                adapt="none" if target else None, **overrides))
        # the adapted twin of feature extraction only: it costs seconds (the features are cached), where
        # an adapted fine-tuning would double the slowest run
        adapt = adaptation.resolve("auto", strategy, backbones.get(net)) if target and strategy.on_features else "none"
        if adapt != "none":
            configs.append(TrainConfig.for_strategy(data, strategy.name, backbone=net, group=group, target=target,
                                                    adapt=adapt, **overrides))
        if private and strategy.on_features:  # seconds on the cached features; a private fine-tuning takes hours
            configs.append(TrainConfig.for_strategy(data, strategy.name, backbone=net, group=group, target=target,
                                                    adapt="none" if target else None, dp_epsilon=private,
                                                    **{**overrides, "lr": None}))
    return configs


def submit(configs: list[TrainConfig]) -> list[runs.Run]:
    return [jobs.submit(config) for config in configs]


def group_runs(runs_dir: str | Path, group: str) -> list[runs.Run]:
    """The runs of one comparison, in strategy order (the baseline first)."""
    ranked = sorted(strategies.all_strategies(), key=lambda s: (not s.baseline, s.order, s.name))
    order = {strategy.name: index for index, strategy in enumerate(ranked)}
    found = [(run, run.config()) for run in runs.list_runs(runs_dir)]
    return [run for run, config in sorted(((r, c) for r, c in found if c.get("group") == group),
                                          key=lambda pair: (order.get(pair[1].get("strategy"), 9),
                                                            pair[1].get("adapt", "none") != "none",
                                                            pair[1].get("dp_epsilon") is not None))]


def groups(runs_dir: str | Path) -> list[str]:
    """Comparison groups, newest first."""
    seen = []
    for run in runs.list_runs(runs_dir):
        group = run.config().get("group")
        if group and group.startswith("compare-") and group not in seen:  # curves (curve-...) have their own
            seen.append(group)
    return sorted(seen, reverse=True)


def reading(rows: list[dict]) -> list[str]:
    """Plain-words sentences about a comparison. ``rows``: runs.describe() of the group's runs.

    Two accuracies are called different only when the 95% interval of their difference on this
    validation set excludes zero (``versus``); times are compared first time with first time
    (core/costs.py), so a cached feature pass never makes feature extraction look free."""
    adapted = [row for row in rows if row.get("adapt", "none") != "none"]
    private = [row for row in rows if row.get("dp_epsilon") is not None]
    by_strategy = {row["strategy"]: row for row in rows
                   if row.get("adapt", "none") == "none" and row.get("dp_epsilon") is None}
    done = {s: r for s, r in by_strategy.items() if r["status"] == "finished" and r["best_val_acc"] is not None}
    sentences = [f"{strategies.title(s)} did not finish ({r['status']}), so it is left out."
                 for s, r in by_strategy.items() if s not in done and r["status"] not in ("queued", "running")]
    baseline = next((row for s, row in done.items() if s in _baselines()), None)
    extract, tune = done.get("feature_extract"), done.get("fine_tune")
    if baseline and extract:
        gap, low, high = versus(extract, baseline)
        name = strategies.short(baseline["strategy"])
        if low > 0:
            sentences.append(f"Feature extraction beat {name} by {gap:.1f} points ({_pct(extract)} vs "
                             f"{_pct(baseline)}){_params(extract, baseline)}: the pretrained features already "
                             "carry much of what this task needs.")
        elif high < 0:
            sentences.append(f"{name[0].upper() + name[1:]} beat feature extraction by {-gap:.1f} points ({_pct(baseline)} "
                             f"vs {_pct(extract)}): with this many examples of this data, learning from them beats "
                             "reusing pretrained features. Fewer examples per class (the data-efficiency curve) "
                             "show where transfer pays.")
        else:
            sentences.append(f"Feature extraction and {name} are about the same ({_pct(extract)} vs {_pct(baseline)}; "
                             f"{_margin(low, high, extract)}): with this much data, reusing pretrained features buys "
                             "no measurable accuracy here. Fewer examples per class (the data-efficiency curve) "
                             "show where it does.")
    if extract and tune:
        gap, low, high = versus(tune, extract)
        cost = _times(tune, extract)
        if low > 0:
            sentences.append(f"Fine-tuning gained {gap:.1f} points over feature extraction{cost}.")
        elif high < 0:
            sentences.append(f"Fine-tuning lost {-gap:.1f} points against feature extraction{cost}" + _why_behind(tune))
        else:
            sentences.append(f"Fine-tuning and feature extraction are about the same ({_pct(tune)} vs {_pct(extract)}; "
                             f"{_margin(low, high, tune)}){cost}: the frozen features already do the job.")
    sentences += _on_the_target(by_strategy, adapted)
    sentences += [_privacy_price(row, done[row["strategy"]]) for row in private
                  if row["status"] == "finished" and row.get("best_val_acc") is not None and row["strategy"] in done]
    if len(done) >= 2 and not any(r["status"] in ("queued", "running") for r in rows):
        sentences.append(_best(list(done.values())))
    return sentences


def _privacy_price(row: dict, plain: dict) -> str:
    """What training privately cost (or not) against the same strategy trained normally."""
    gap, low, high = versus(row, plain)
    name = strategies.short(row["strategy"])
    spent = f"ε = {row['epsilon']:.2f}" if row.get("epsilon") is not None else f"ε ≤ {row['dp_epsilon']:g}"
    if high < 0:
        return (f"Privacy cost {-gap:.1f} points: private {name} ({spent}) reached {_pct(row)} against {_pct(plain)} "
                "without privacy. The noise that hides each training example also blurs what the head learns; a "
                "larger budget, more data or more epochs narrow the gap.")
    return (f"Private {name} ({spent}) is about as accurate as without privacy ({_pct(row)} vs {_pct(plain)}; "
            f"{_margin(low, high, row)}): here the guarantee comes almost free.")


def versus(row: dict, other: dict) -> tuple[float, float, float]:
    """(difference, low, high) in points of validation accuracy, row minus other, with the 95% interval:
    paired on the validation examples both runs predicted (same split), else from the two accuracies."""
    mine, theirs = _correct(row), _correct(other)
    shared = sorted(set(mine) & set(theirs))
    if shared and len(shared) == len(mine) == len(theirs):
        difference, low, high = metrics.paired_difference([mine[k] for k in shared], [theirs[k] for k in shared])
    else:
        n_a, n_b = row.get("val_images") or 0, other.get("val_images") or 0
        if not n_a or not n_b:  # nothing says how many examples: call only a clear point apart
            gap = row["best_val_acc"] - other["best_val_acc"]
            return gap * 100, gap * 100 - LEVEL_POINTS, gap * 100 + LEVEL_POINTS
        difference, low, high = metrics.unpaired_difference(row["best_val_acc"], other["best_val_acc"], n_a, n_b)
    return difference * 100, low * 100, high * 100


def _correct(row: dict) -> dict[str, bool]:
    """Per validation example (by item), whether the run's kept model got it right."""
    if not row.get("dir"):
        return {}
    try:
        return {str(p["item"]): p["predicted"] == p["label"] for p in runs.Run(Path(row["dir"])).predictions()}
    except Exception:  # unreadable predictions: the unpaired interval still answers
        return {}


def _margin(low: float, high: float, row: dict) -> str:
    count = row.get("val_images")
    examples = f"{count:,} validation examples" if count else "this validation set"
    return f"the difference is within what {examples} can tell apart, {low:+.1f} to {high:+.1f} points"


def _best(done: list[dict]) -> str:
    """The best run, or the runs that cannot be told apart from it (then the cheapest of them)."""
    ranked = sorted(done, key=lambda r: -r["best_val_acc"])
    best = ranked[0]
    level = [best] + [row for row in ranked[1:] if versus(best, row)[1] <= 0]
    if len(level) == 1:
        return f"Best here: {strategies.short(best['strategy'])} with {_pct(best)} validation accuracy."
    names = " and ".join([", ".join(strategies.short(r["strategy"]) for r in level[:-1]),
                          strategies.short(level[-1]["strategy"])])
    timed = [row for row in level if costs.of(row).like_for_like]
    cheapest = min(timed, key=lambda r: costs.of(r).like_for_like) if timed else None
    return (f"No clear winner: {names} are about the same ({', '.join(_pct(r) for r in level)}), within what the "
            "validation set can tell apart" + (f"; {strategies.short(cheapest['strategy'])} costs the least "
                                               f"({costs.of(cheapest).words()})." if cheapest else "."))


def _on_the_target(plain: dict[str, dict], adapted: list[dict]) -> list[str]:
    """With a target: each strategy's target accuracy, and what adaptation changed."""
    scored = {s: r for s, r in plain.items() if r.get("target_acc") is not None}
    sentences = []
    if scored:
        best = max(scored.values(), key=lambda r: r["target_acc"])
        sentences.append("On the target, without adaptation: " + ", ".join(
            f"{strategies.short(s)} {r['target_acc']:.1%}" for s, r in scored.items()) +
            f"; {strategies.short(best['strategy'])} travels best.")
    for row in adapted:
        before = plain.get(row["strategy"])
        if row.get("target_acc") is None or before is None or before.get("target_acc") is None:
            continue
        gain, low, high = _target_difference(row, before)
        method = adaptation.get(row["adapt"]).short if row["adapt"] in adaptation.names() else row["adapt"]
        change = f"raised its target accuracy by {gain:.1f} points" if low > 0 else (
            f"lowered its target accuracy by {-gain:.1f} points" if high < 0 else
            "left its target accuracy about the same")
        sentences.append(f"Adapting {strategies.short(row['strategy'])} to the target ({method}) {change} "
                         f"({before['target_acc']:.1%} → {row['target_acc']:.1%}).")
    return sentences


def _target_difference(row: dict, other: dict) -> tuple[float, float, float]:
    """Target accuracy of row minus other, in points, with the interval the target's size allows."""
    n = row.get("target_items") or 0
    if not n:
        gap = (row["target_acc"] - other["target_acc"]) * 100
        return gap, gap - LEVEL_POINTS, gap + LEVEL_POINTS
    difference, low, high = metrics.unpaired_difference(row["target_acc"], other["target_acc"], n, n)
    return difference * 100, low * 100, high * 100


def _baselines() -> set[str]:
    return {s.name for s in strategies.all_strategies() if s.baseline}


def _why_behind(row: dict) -> str:
    """Overfitting (training far above validation), too few epochs, or neither: different advice."""
    train, val, epochs = row.get("final_train_acc"), row["best_val_acc"], row.get("epochs") or 0
    if train is not None and round(train - val, 6) >= OVERFIT_GAP:
        return (f": it fits its training data ({train:.0%}) far better than the validation data, so updating the "
                "whole backbone on this little data overfits; feature extraction is the better deal here.")
    if (train is not None and train < 0.9) or (train is None and epochs <= 2):
        return (f": after {epochs} epoch{'s' if epochs != 1 else ''} it is still learning"
                + (f" (training accuracy {train:.0%})" if train is not None else "")
                + "; give it more epochs to see whether it catches up.")
    return ": the pretrained features suit this data as they are; feature extraction is the better deal here."


def _pct(row: dict) -> str:
    return f"{row['best_val_acc']:.1%}"


def _params(row: dict, other: dict) -> str:
    mine, theirs = row.get("trainable_params"), other.get("trainable_params")
    if mine and theirs and theirs > mine:
        return f", training {mine:,} parameters instead of {theirs:,}"
    return ""


def _times(row: dict, other: dict) -> str:
    """How ``row``'s time compares with ``other``'s, first time with first time (the feature pass included)."""
    mine, theirs = costs.of(row), costs.of(other)
    if not mine.like_for_like or not theirs.like_for_like:
        return ""
    ratio = mine.like_for_like / theirs.like_for_like
    words = f" at {ratio:.0f}x the time" if ratio >= 1.5 else (" in about the same time" if ratio > 0.67 else
                                                               f" in {1 / ratio:.0f}x less time")
    return f"{words} ({costs.duration(mine.like_for_like)}; {strategies.short(other['strategy'])}: {theirs.words()})"
