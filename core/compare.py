"""Compare strategies in one click: the baseline, feature extraction and fine-tuning on the same data,
split and seed, queued one after another as one group, then read side by side in plain words.

The lesson of transfer learning, made visible on the person's own data.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from core import adaptation, backbones, costs, i18n, jobs, metrics, runs, strategies
from core.config import TrainConfig
from core.data import modality_of
from core.i18n import _, ngettext
from core.runs import Summary

OVERFIT_GAP = 0.1  # training accuracy this far above validation accuracy: memorising, not learning
LEVEL_POINTS = 1.0  # without a count of validation examples, gaps this small are called "about the same"


def plan(data: str, backbone: str, epochs: dict[str, int] | None = None, target: str | None = None,
         private: float | None = None, **shared) -> list[TrainConfig]:
    """One config per strategy, all with the same data, split (val_fraction, seed) and ``shared`` settings.
    With a ``target``, every run is also scored on it, and feature extraction runs a second time with
    its adaptation chosen by measurement (``auto``), right after the same strategy without it. ``private`` (a privacy budget
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
        if adapt != "none":  # auto: chosen by measurement when it trains
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
    """Plain-words sentences about a comparison, in the current language. ``rows``: runs.describe() of the
    group's runs.

    Two accuracies are called different only when the 95% interval of their difference on this
    validation set excludes zero (``versus``); times are compared first time with first time
    (core/costs.py), so a cached feature pass never makes feature extraction look free."""
    adapted = [row for row in rows if _adapted(row)]
    private = [row for row in rows if row.get("dp_epsilon") is not None]
    by_strategy = {row["strategy"]: row for row in rows if not _adapted(row) and row.get("dp_epsilon") is None}
    done = {s: r for s, r in by_strategy.items() if r["status"] == "finished" and r[Summary.BEST_VAL_ACC] is not None}
    sentences = [_("{strategy} did not finish ({status}), so it is left out.", strategy=strategies.title(s),
                   status=runs.status_words(r["status"]))
                 for s, r in by_strategy.items() if s not in done and r["status"] not in runs.ACTIVE]
    baseline = next((row for s, row in done.items() if s in _baselines()), None)
    extract, tune = done.get(strategies.FEATURE_EXTRACTION), done.get(strategies.FINE_TUNING)
    if baseline and extract:
        sentences.append(_extraction_against_baseline(extract, baseline))
    if extract and tune:
        gap, low, high = versus(tune, extract)
        if low > 0:
            said = _("Fine-tuning gained {gap:.1f} points over feature extraction.", gap=gap)
        elif high < 0:
            said = _why_behind(tune, -gap)
        else:
            said = _("Fine-tuning and feature extraction are about the same ({tune:.1%} vs {extract:.1%}; {margin}): "
                     "the frozen features already do the job.", tune=tune[Summary.BEST_VAL_ACC],
                     extract=extract[Summary.BEST_VAL_ACC], margin=_margin(low, high, tune))
        cost = _times(tune, extract)
        sentences.append(_("{sentence} {next_sentence}", sentence=said, next_sentence=cost) if cost else said)
    sentences += _on_the_target(by_strategy, adapted)
    sentences += [_privacy_price(row, done[row["strategy"]]) for row in private
                  if row["status"] == "finished" and row.get(Summary.BEST_VAL_ACC) is not None and row["strategy"] in done]
    if len(done) >= 2 and not any(r["status"] in runs.ACTIVE for r in rows):
        sentences.append(_best(list(done.values())))
    return sentences


def _extraction_against_baseline(extract: dict, baseline: dict) -> str:
    """Feature extraction against the comparison's baseline: ahead, behind, or level."""
    gap, low, high = versus(extract, baseline)
    name = strategies.short(baseline["strategy"])
    accuracies = {"extract": extract[Summary.BEST_VAL_ACC], "baseline": baseline[Summary.BEST_VAL_ACC]}
    if low > 0:
        mine, theirs = extract.get(Summary.TRAINABLE_PARAMS), baseline.get(Summary.TRAINABLE_PARAMS)
        if mine and theirs and theirs > mine:
            return _("Feature extraction beat {name} by {gap:.1f} points ({extract:.1%} vs {baseline:.1%}), "
                     "training {params:,} parameters instead of {baseline_params:,}: the pretrained features already "
                     "carry much of what this task needs.", name=name, gap=gap, params=mine, baseline_params=theirs,
                     **accuracies)
        return _("Feature extraction beat {name} by {gap:.1f} points ({extract:.1%} vs {baseline:.1%}): the "
                 "pretrained features already carry much of what this task needs.", name=name, gap=gap, **accuracies)
    if high < 0:
        return _("Feature extraction lost to {name} by {gap:.1f} points ({extract:.1%} vs {baseline:.1%}): with this "
                 "many examples of this data, learning from them beats reusing pretrained features. Fewer examples "
                 "per class (the data-efficiency curve) show where transfer pays.", name=name, gap=-gap, **accuracies)
    return _("Feature extraction and {name} are about the same ({extract:.1%} vs {baseline:.1%}; {margin}): with "
             "this much data, reusing pretrained features buys no measurable accuracy here. Fewer examples per class "
             "(the data-efficiency curve) show where it does.", name=name, margin=_margin(low, high, extract),
             **accuracies)


def _privacy_price(row: dict, plain: dict) -> str:
    """What training privately cost (or not) against the same strategy trained normally."""
    gap, low, high = versus(row, plain)
    name = strategies.short(row["strategy"])
    spent = f"ε = {row['epsilon']:.2f}" if row.get("epsilon") is not None else f"ε ≤ {row['dp_epsilon']:g}"
    if high < 0:
        return _("Privacy cost {gap:.1f} points: private {name} ({spent}) reached {private:.1%} against {plain:.1%} "
                 "without privacy. The noise that hides each training example also blurs what the head learns; a "
                 "larger budget, more data or more epochs narrow the gap.", gap=-gap, name=name, spent=spent,
                 private=row[Summary.BEST_VAL_ACC], plain=plain[Summary.BEST_VAL_ACC])
    return _("Private {name} ({spent}) is about as accurate as without privacy ({private:.1%} vs {plain:.1%}; "
             "{margin}): here the guarantee comes almost free.", name=name, spent=spent, private=row[Summary.BEST_VAL_ACC],
             plain=plain[Summary.BEST_VAL_ACC], margin=_margin(low, high, row))


def versus(row: dict, other: dict) -> tuple[float, float, float]:
    """(difference, low, high) in points of validation accuracy, row minus other, with the 95% interval:
    paired on the validation examples both runs predicted (same split), else from the two accuracies."""
    mine, theirs = _correct(row), _correct(other)
    shared = sorted(set(mine) & set(theirs))
    if shared and len(shared) == len(mine) == len(theirs):
        difference, low, high = metrics.paired_difference([mine[k] for k in shared], [theirs[k] for k in shared])
    else:
        n_a, n_b = row.get(Summary.VAL_IMAGES) or 0, other.get(Summary.VAL_IMAGES) or 0
        if not n_a or not n_b:  # nothing says how many examples: call only a clear point apart
            gap = row[Summary.BEST_VAL_ACC] - other[Summary.BEST_VAL_ACC]
            return gap * 100, gap * 100 - LEVEL_POINTS, gap * 100 + LEVEL_POINTS
        difference, low, high = metrics.unpaired_difference(row[Summary.BEST_VAL_ACC], other[Summary.BEST_VAL_ACC], n_a, n_b)
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
    """The 95% interval of a difference, as a clause in brackets."""
    count = row.get(Summary.VAL_IMAGES)
    if count:
        return _("the difference is within what {count:,} validation examples can tell apart, {low:+.1f} to "
                 "{high:+.1f} points", count=count, low=low, high=high)
    return _("the difference is within what this validation set can tell apart, {low:+.1f} to {high:+.1f} points",
             low=low, high=high)


def _best(done: list[dict]) -> str:
    """The best run, or the runs that cannot be told apart from it (then the cheapest of them)."""
    ranked = sorted(done, key=lambda r: -r[Summary.BEST_VAL_ACC])
    best = ranked[0]
    level = [best] + [row for row in ranked[1:] if versus(best, row)[1] <= 0]
    if len(level) == 1:
        return _("Best here: {strategy} with {accuracy:.1%} validation accuracy.",
                 strategy=strategies.short(best["strategy"]), accuracy=best[Summary.BEST_VAL_ACC])
    names = i18n.listing([strategies.short(r["strategy"]) for r in level])
    accuracies = i18n.listing([i18n.percent(r[Summary.BEST_VAL_ACC]) for r in level])
    timed = [row for row in level if costs.of(row).like_for_like]
    cheapest = min(timed, key=lambda r: costs.of(r).like_for_like) if timed else None
    if cheapest is None:
        return _("No clear winner: {names} are about the same ({accuracies}), within what the validation set can "
                 "tell apart.", names=names, accuracies=accuracies)
    return _("No clear winner: {names} are about the same ({accuracies}), within what the validation set can tell "
             "apart; {cheapest} costs the least ({time}).", names=names, accuracies=accuracies,
             cheapest=strategies.short(cheapest["strategy"]), time=costs.of(cheapest).words())


def _adapted(row: dict) -> bool:
    """A run that adapted to its target, or chose by measurement whether to (``auto``, even if it chose none)."""
    return row.get("adapt", "none") != "none" or bool(row.get(Summary.ADAPT_AUTO) and row.get("target"))


def _on_the_target(plain: dict[str, dict], adapted: list[dict]) -> list[str]:
    """With a target: each strategy's target accuracy, and what adaptation changed."""
    scored = {s: r for s, r in plain.items() if r.get(Summary.TARGET_ACC) is not None}
    sentences = []
    if scored:
        best = max(scored.values(), key=lambda r: r[Summary.TARGET_ACC])
        scores = i18n.listing([_("{strategy} {accuracy:.1%}", strategy=strategies.short(s), accuracy=r[Summary.TARGET_ACC])
                          for s, r in scored.items()])
        if len(scored) > 1:
            sentences.append(_("On the target, without adaptation: {scores}; {strategy} travels best.", scores=scores,
                               strategy=strategies.short(best["strategy"])))
        else:  # one score so far: nothing to rank
            sentences.append(_("On the target, without adaptation: {scores}.", scores=scores))
    for row in adapted:
        before = plain.get(row["strategy"])
        if row.get("adapt", "none") == "none":  # auto measured and kept no adaptation
            if row["status"] == "finished":
                sentences.append(_("Measured without the target's labels, no adaptation method was clearly better for "
                                   "{strategy} on this target, so its adapted run trained without one.",
                                   strategy=strategies.short(row["strategy"])))
            continue
        if row.get(Summary.TARGET_ACC) is None or before is None or before.get(Summary.TARGET_ACC) is None:
            continue
        gain, low, high = _target_difference(row, before)
        method = adaptation.get(row["adapt"]).short if row["adapt"] in adaptation.names() else row["adapt"]
        said = {"strategy": strategies.short(row["strategy"]), "method": method, "before": before[Summary.TARGET_ACC],
                "after": row[Summary.TARGET_ACC]}
        if low > 0:
            sentences.append(_("Adapting {strategy} to the target ({method}) raised its target accuracy by {gain:.1f} "
                               "points ({before:.1%} → {after:.1%}).", gain=gain, **said))
        elif high < 0:
            sentences.append(_("Adapting {strategy} to the target ({method}) lowered its target accuracy by "
                               "{loss:.1f} points ({before:.1%} → {after:.1%}).", loss=-gain, **said))
        else:
            sentences.append(_("Adapting {strategy} to the target ({method}) left its target accuracy about the same "
                               "({before:.1%} → {after:.1%}).", **said))
    return sentences


def _target_difference(row: dict, other: dict) -> tuple[float, float, float]:
    """Target accuracy of row minus other, in points, with the interval the target's size allows."""
    n = row.get(Summary.TARGET_ITEMS) or 0
    if not n:
        gap = (row[Summary.TARGET_ACC] - other[Summary.TARGET_ACC]) * 100
        return gap, gap - LEVEL_POINTS, gap + LEVEL_POINTS
    difference, low, high = metrics.unpaired_difference(row[Summary.TARGET_ACC], other[Summary.TARGET_ACC], n, n)
    return difference * 100, low * 100, high * 100


def _baselines() -> set[str]:
    return {s.name for s in strategies.all_strategies() if s.baseline}


def _why_behind(row: dict, loss: float) -> str:
    """Fine-tuning ``loss`` points behind feature extraction, and why: overfitting (training far above
    validation), too few epochs, or neither: different advice."""
    train, val, epochs = row.get("final_train_acc"), row[Summary.BEST_VAL_ACC], row.get("epochs") or 0
    if train is not None and round(train - val, 6) >= OVERFIT_GAP:
        return _("Fine-tuning lost {loss:.1f} points against feature extraction: it fits its training data "
                 "({train:.0%}) far better than the validation data, so updating the whole backbone on this little "
                 "data overfits; feature extraction is the better deal here.", loss=loss, train=train)
    if train is not None and train < 0.9:
        return ngettext("Fine-tuning lost {loss:.1f} points against feature extraction: after {n} epoch it is still "
                        "learning (training accuracy {train:.0%}); give it more epochs to see whether it catches up.",
                        "Fine-tuning lost {loss:.1f} points against feature extraction: after {n} epochs it is still "
                        "learning (training accuracy {train:.0%}); give it more epochs to see whether it catches up.",
                        epochs, loss=loss, train=train)
    if train is None and epochs <= 2:
        return ngettext("Fine-tuning lost {loss:.1f} points against feature extraction: after {n} epoch it is still "
                        "learning; give it more epochs to see whether it catches up.",
                        "Fine-tuning lost {loss:.1f} points against feature extraction: after {n} epochs it is still "
                        "learning; give it more epochs to see whether it catches up.", epochs, loss=loss)
    return _("Fine-tuning lost {loss:.1f} points against feature extraction: the pretrained features suit this data "
             "as they are; feature extraction is the better deal here.", loss=loss)


def _times(row: dict, other: dict) -> str:
    """A sentence on how ``row``'s time compares with ``other``'s, first time with first time (the feature pass
    included); empty when either time is unknown."""
    mine, theirs = costs.of(row), costs.of(other)
    if not mine.like_for_like or not theirs.like_for_like:
        return ""
    ratio = mine.like_for_like / theirs.like_for_like
    # a name never opens the sentence: names are written for the middle of one ("the TF-IDF baseline"), and
    # capitalising them in code breaks wherever a translation moves them ("so The TF-IDF baseline")
    said = {"strategy": strategies.short(row["strategy"]), "other": strategies.short(other["strategy"]),
            "time": costs.duration(mine.like_for_like), "other_time": theirs.words()}
    if ratio >= 1.5:
        return _("Time: {strategy} took {ratio:.0f}x as long as {other} ({time}; {other}: {other_time}).",
                 ratio=ratio, **said)
    if ratio > 0.67:
        return _("Time: {strategy} took about as long as {other} ({time}; {other}: {other_time}).", **said)
    return _("Time: {strategy} took {ratio:.0f}x less time than {other} ({time}; {other}: {other_time}).",
             ratio=1 / ratio, **said)
