"""Choosing the adaptation by measurement, without the target's labels (``--adapt auto``).

Which alignment helps depends on the shift: on stand-in digits (MNIST-M) CORAL adds the most, on a real
shift to other people's digits from another scanner it lost 6.6 points where per-domain standardisation
gained, and on short news snippets standardisation and subspace alignment lose (bench/README.md). So
``auto`` measures, on the cached features, every feature-level method that applies, ``none``
included, with skada's unsupervised validation:

- each candidate is a skada pipeline: the method's two maps (a skada adapter around
  :meth:`Adaptation.maps`), then a softmax head fitted on the mapped source training features;
- **circular validation** (``CircularValidation``): label the target with the candidate, fit it again
  on the target alone with those labels, and score how well that recovers the source's true labels;
- **MixVal** (``MixValScorer``): blend pairs of target examples and check that the candidate's answers
  on the blends agree with its answers on the examples (a boundary through the target's clusters fails);
- **source validation accuracy**: how well the candidate still tells the source's classes apart.

The rule, measured on 7 real shifts and 12 synthetic ones against every skada scorer alone and other
votes (bench/domain_shift.py, bench/README.md): a method qualifies when it loses at most ``GUARD`` of
source validation accuracy and beats ``none`` by at least ``MARGIN`` on circular validation or on
MixVal; the qualifier that wins on more checks (then ranks higher on both, then scores higher at circular
validation, the steadier of the two) is chosen, else ``none``.
Networks (AdaBN, DANN) are not tried: measuring them would mean training the network again, and the
reason says so.
"""

from __future__ import annotations

import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from core import adaptation
from core.errors import UserError
from core.i18n import Text, lazy, lazy_ngettext
from core.runs import Summary

GUARD = 0.03      # at most 3 points of source validation accuracy lost
MARGIN = 0.02     # at least 2 points better than none on a check
CHECKS = ("circular", "mixval")                                       # what the rule reads
SCORERS = ("circular", "mixval", "dev", "snd", "entropy", "iwv")      # every skada scorer (the benchmark's)
MIN_TARGET = 20   # fewer target examples than this: too few to measure; none
EPSILON = 1e-9    # "at most 3 points" includes 3 (accuracies are fractions: 0.92 - 0.89 > 0.03 in floats)
WORKERS = 2       # methods measured at once (threads)
RULE = 2          # the rule's version: a remembered choice made under another rule is measured again


@dataclass
class Choice:
    """What ``auto`` measured and chose. ``scores``: method -> {"circular": .., "source_val": .., and any
    other scorer measured}; ``expected``: method -> "help", "same", "risky" or "hurt"."""

    chosen: str
    scores: dict[str, dict[str, float]]
    expected: dict[str, str]
    reason: Text
    seconds: float
    remembered: bool = False   # read from the cache (measured before: the Model page, or an earlier run)

    def to_json(self) -> dict:
        return {"rule": RULE, "chosen": self.chosen, "scores": self.scores, "expected": self.expected,
                "reason": self.reason.to_json(), "seconds": self.seconds}

    @classmethod
    def from_json(cls, data: dict) -> "Choice":
        return cls(data["chosen"], data["scores"], data["expected"], Text.from_json(data["reason"]), data["seconds"],
                   remembered=True)

    def summary(self) -> dict:
        """The keys a run's summary gains. ``adapt_scores``: per method tried (``none`` included) its checks
        (circular validation, MixVal) and source validation accuracy, as fractions."""
        return {Summary.ADAPT_AUTO: True, "adapt_checks": list(CHECKS),
                "adapt_scores": {method: {key: round(value, 4) if isinstance(value, float) else value
                                          for key, value in found.items()} for method, found in self.scores.items()},
                "adapt_expected": self.expected, "adapt_reason": str(self.reason),
                "adapt_reason_text": self.reason.to_json(),
                "adapt_choice_seconds": round(self.seconds, 3), "adapt_choice_remembered": self.remembered}


def remembered(cache_dir, train_x: np.ndarray, train_y: np.ndarray, val_x: np.ndarray, val_y: np.ndarray,
               target_x: np.ndarray, candidates: list[str], seed: int = 0, on_measuring=None) -> Choice:
    """:func:`measure`, remembered in ``cache_dir`` for these very features, labels, candidates and seed (like the
    features themselves): measured once (on the Model page, or by the first run), read back in milliseconds.
    ``on_measuring()`` is called before measuring, only when nothing was remembered."""
    import hashlib
    import json

    from core import storage

    digest = hashlib.blake2b(digest_size=16)
    for rows in (train_x, train_y, val_x, val_y, target_x):
        rows = np.ascontiguousarray(rows)
        digest.update(str((rows.dtype.str, rows.shape)).encode())
        digest.update(rows.view(np.uint8).data)
    digest.update(json.dumps([sorted(candidates), seed, RULE]).encode())
    path = Path(cache_dir) / "adaptation" / f"{digest.hexdigest()}.json"
    try:
        found = json.loads(path.read_text(encoding="utf-8"))
        if found.get("rule") == RULE:
            return Choice.from_json(found)
    except (OSError, ValueError, KeyError, TypeError):
        pass  # not measured yet, or a damaged file: measure
    if on_measuring is not None:
        on_measuring()
    choice = measure(train_x, train_y, val_x, val_y, target_x, candidates, seed)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        storage.write_atomically(path, json.dumps(choice.to_json()))
    except (OSError, UserError):
        pass  # a read-only or full cache: the choice still stands, measured again next time
    return choice


def measure(train_x: np.ndarray, train_y: np.ndarray, val_x: np.ndarray, val_y: np.ndarray, target_x: np.ndarray,
            candidates: list[str], seed: int = 0, scorers: tuple[str, ...] = CHECKS) -> Choice:
    """Score ``none`` and each candidate method on these features and choose (see the module's rule)."""
    started = time.perf_counter()
    methods = ["none"] + [name for name in candidates if name not in ("none", "auto")]
    if len(target_x) < MIN_TARGET:
        return Choice("none", {}, {}, lazy("No adaptation: the target has {n} examples, too few to measure which "
                                           "method fits (at least {least} are needed).", n=len(target_x),
                                           least=MIN_TARGET), time.perf_counter() - started)
    if len(methods) == 1:
        return Choice("none", {}, {}, lazy("No adaptation: no method applies to this strategy."),
                      time.perf_counter() - started)
    data = _Data(train_x, train_y, val_x, val_y, target_x)

    def score(name: str) -> dict[str, float]:
        try:
            return data.score(name, seed, scorers)
        except (np.linalg.LinAlgError, ValueError, FloatingPointError) as error:  # a method that cannot align
            return {"failed": str(error)[:200]}

    # Two methods at a time, each on one BLAS thread: many small products, where BLAS's own threads mostly wait
    # on each other (measured on 2 cores: 1.6-2 times faster, the same scores).
    with threadpool_limits(1), warnings.catch_warnings(), ThreadPoolExecutor(WORKERS) as pool:
        warnings.simplefilter("ignore")  # here, not in the threads: the filters are the process's
        scores = dict(zip(methods, pool.map(score, methods)))
    if any(check not in scores["none"] for check in CHECKS):
        return Choice("none", scores, {}, lazy("No adaptation: these features could not be measured."),
                      time.perf_counter() - started)
    plain = scores["none"]
    wins = {name: _wins(plain, scores[name]) for name in methods if name != "none"}
    expected = {name: _expectation(plain, scores[name], wins[name]) for name in wins}
    helping = [name for name in wins if expected[name] == "help"]
    rank = {name: sum(sorted(methods, key=lambda other: scores[other].get(check, -np.inf)).index(name)
                      for check in CHECKS) for name in helping}
    chosen = max(helping, key=lambda name: (len(wins[name]), rank[name], scores[name]["circular"])) \
        if helping else "none"
    return Choice(chosen, scores, expected, _reason(chosen, scores, wins.get(chosen, [])),
                  time.perf_counter() - started)


def for_data(report, target, spec, strategy, cache_dir, device, on_progress=None, max_length: int = 128,
             seed: int = 0) -> Choice:
    """The choice a run of ``strategy`` on ``report`` with ``target`` would make, before it trains (the Model
    page): the features from the cache (computed now if missing, ``on_progress(index, done, total)``:
    index 0 the training data, 1 the target), then :func:`remembered` (measured once, kept for the run)."""
    from core import features

    sets = []
    for index, part in enumerate((report, target.report)):
        progress = (lambda done, total, index=index: on_progress(index, done, total)) if on_progress else None
        sets.append(features.load_or_compute(part, spec, cache_dir, device, on_progress=progress,
                                             max_length=max_length))
    rows = [sets[0].rows(report.train).double().numpy(), sets[0].rows(report.val).double().numpy(),
            sets[1].rows(target.items).double().numpy()]
    labels = [np.array([label for _key, label in items]) for items in (report.train, report.val)]
    return remembered(cache_dir, rows[0], labels[0], rows[1], labels[1], rows[2],
                      adaptation.measured_here(strategy, spec), seed)


def _wins(plain: dict, method: dict) -> list[str]:
    """The checks on which ``method`` beats no adaptation by the margin (none if it failed)."""
    return [check for check in CHECKS if check in method and method[check] >= plain[check] + MARGIN - EPSILON]


def _expectation(plain: dict, method: dict, wins: list[str]) -> str:
    """help: qualifies; hurt: failed, or worse than none on both checks; risky: loses more source validation
    accuracy than the guard allows; same: no clear difference."""
    if any(check not in method for check in CHECKS) or \
            all(method[check] <= plain[check] - MARGIN + EPSILON for check in CHECKS):
        return "hurt"
    if plain["source_val"] - method["source_val"] > GUARD + EPSILON:
        return "risky"
    return "help" if wins else "same"


def _reason(chosen: str, scores: dict[str, dict[str, float]], wins: list[str]) -> Text:
    plain = scores["none"]
    if chosen == "none":
        return lazy("No adaptation: no method was clearly better than none on these data. To be chosen, a method "
                    "must beat none by at least {margin} on one of two checks that need no target labels (circular "
                    "validation, MixVal), and lose at most {guard} of source validation accuracy.",
                    margin=lazy_ngettext("{n} point", "{n} points", round(MARGIN * 100)),
                    guard=lazy_ngettext("{n} point", "{n} points", round(GUARD * 100)))
    picked, method = scores[chosen], adaptation.get(chosen).short_text
    evidence = {
        "circular": lazy("a classifier taught only by its answers on the target recovers {now} of the training "
                         "data's true classes ({before} without adaptation)", now=_percent(picked["circular"]),
                         before=_percent(plain["circular"])),
        "mixval": lazy("its answers on blends of two target examples agree with its answers on the examples {now} of "
                       "the time ({before} without adaptation)", now=_percent(picked["mixval"]),
                       before=_percent(plain["mixval"]))}
    found = evidence[wins[0]] if len(wins) == 1 else lazy("{first}, and {second}", first=evidence[wins[0]],
                                                           second=evidence[wins[1]])
    return lazy("{method} was chosen by measurement, without the target's labels: {evidence}. It keeps {val} source "
                "validation accuracy ({val_none} without adaptation).", method=method, evidence=found,
                val=_percent(picked["source_val"]), val_none=_percent(plain["source_val"]))


def _percent(value: float) -> str:
    return f"{value:.1%}"


class _Data:
    """The features in skada's layout: source rows with domain 1 and their labels, target rows with
    domain -2 and masked labels (-1); the evaluation set puts source validation in place of training."""

    def __init__(self, train_x, train_y, val_x, val_y, target_x):
        self.train_x, self.train_y = np.asarray(train_x, np.float64), np.asarray(train_y)
        self.val_x, self.val_y = np.asarray(val_x, np.float64), np.asarray(val_y)
        self.target_x = np.asarray(target_x, np.float64)
        masked = -np.ones(len(self.target_x), int)
        self.X = np.concatenate([self.train_x, self.target_x])
        self.y = np.concatenate([self.train_y, masked])
        self.domain = np.concatenate([np.ones(len(self.train_x), int), -2 * np.ones(len(self.target_x), int)])
        self.eval_X = np.concatenate([self.val_x, self.target_x]) if len(self.val_x) else self.X
        self.eval_y = np.concatenate([self.val_y, masked]) if len(self.val_x) else self.y
        self.eval_domain = np.concatenate([np.ones(len(self.val_x), int), -2 * np.ones(len(self.target_x), int)]) \
            if len(self.val_x) else self.domain

    def score(self, method: str, seed: int, scorers: tuple[str, ...]) -> dict[str, float]:
        import sklearn
        from skada import make_da_pipeline

        from core.adaptation.scoring import SoftmaxHead, MapsAdapter, scorer

        with sklearn.config_context(enable_metadata_routing=True):  # per thread
            pipeline = make_da_pipeline(MapsAdapter(method, seed),
                                        SoftmaxHead().set_score_request(sample_weight=True))
            pipeline.fit(self.X, self.y, sample_domain=self.domain)
            found = {}
            if len(self.val_x):
                predicted = pipeline.predict(self.val_x, sample_domain=np.ones(len(self.val_x), int), allow_source=True)
                found["source_val"] = float((predicted == self.val_y).mean())
            else:  # no validation split: the training rows stand in
                predicted = pipeline.predict(self.train_x, sample_domain=np.ones(len(self.train_x), int),
                                             allow_source=True)
                found["source_val"] = float((predicted == self.train_y).mean())
            for name in scorers:  # on source validation and the target (circular fits again on them)
                found[name] = float(scorer(name, seed)(pipeline, self.eval_X, self.eval_y,
                                                       sample_domain=self.eval_domain))
        return found
