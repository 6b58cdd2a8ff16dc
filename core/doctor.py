"""The dataset doctor: what is wrong with the labels and the split, found on the backbone's cached features
before any training (the backbone never trains here; a pass over the data is computed once, as for feature
extraction, and shared with it).

- **Label issues**: out-of-sample probabilities from a logistic regression on the features, cross-validated
  (each example scored by a model that never saw it), handed to cleanlab's confident learning
  (``find_label_issues``); ranked by how little the model believes the given label (cleanlab's
  self-confidence: confidence = 1 - the probability of the given label).
- **Duplicates**: exact (the same file bytes, the same text once spaces and case are set aside) and near
  (images: grey thumbnails that correlate at ``NEAR_PIXELS``, which survives re-saving and resizing; texts:
  the longer holding ``NEAR_TEXT`` of the shorter one's character 5-grams, in any script; any data: cosine similarity of the
  features at least ``NEAR``), within the training data, within validation
  and **between training and validation**, where a copy makes validation accuracy look better than it is.
- **Outliers**: cleanlab's ``OutOfDistribution`` on the features (the mean distance to the nearest
  neighbours); flagged when far beyond the rest (Tukey's far-out fence: above Q3 + 3 IQR).

Every finding names its items by their keys in the data report (an image's path under the data's root,
a text's row key), with its split and labels. ``examine`` returns a Checkup; ``python -m core doctor``
prints it (JSON: ``label_issues``, ``duplicates``, ``outliers``, each ordered by confidence).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import time
import unicodedata
import warnings
from dataclasses import asdict, dataclass, field, replace
from typing import Callable

import numpy as np

from core import backbones, data, features
from core.device import pick_device
from core.errors import UserError
from core.i18n import N_, Text, _, lazy, ngettext
from core.data.report import DataReport

NEAR = 0.99            # cosine similarity of two items' features from which they count as near-duplicates
NEAR_PIXELS = 0.993    # images: correlation of two 32x32 grey thumbnails from which they count as near-duplicates
NEAR_TEXT = 0.8        # texts: share of the shorter text's character 5-grams found in the longer from which two
HALF = 0.5             # are near-duplicates, when they also share half of the longer one's (any script, spaces
                       # or none: an article without its first sentence is one)
THUMB = 32             # (bench/doctor.py, MNIST digits saved again 1.5x larger as JPEGs: their features' cosine
                       # falls to 0.83-0.93, below that of distinct digits (up to 0.983), while their thumbnails
                       # correlate at 0.9965 or more against at most 0.9866 for distinct digits)
FOLDS = 5
FAR_OUT = 3.0          # Tukey's far-out fence, in interquartile ranges above the third quartile
NEIGHBOURS = 10
MAX_FINDINGS = 500     # per kind: the rest are counted, not listed


@dataclass
class Checkup:
    data: str
    backbone: str
    items: int
    classes: list[str]
    label_issues: list[dict] = field(default_factory=list)   # {item, split, label, suggested, confidence}
    duplicates: list[dict] = field(default_factory=list)     # {items, splits, labels, similarity, exact, across,
                                                             #  confidence}
    outliers: list[dict] = field(default_factory=list)       # {item, split, label, confidence}
    counts: dict = field(default_factory=dict)               # every finding counted, listed or not
    excluded: list[str] = field(default_factory=list)        # what the person had excluded already
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)           # what could not be checked, and why: English
                                                             # sentences marked N_(), translated by words()

    def to_dict(self) -> dict:
        return {**asdict(self), "words": self.words()}

    @classmethod
    def from_dict(cls, values: dict) -> "Checkup":
        """A checkup read back from ``to_dict`` (the CLI's JSON), so that its words are said in the reader's
        language rather than the examining process's."""
        known = {name for name in cls.__dataclass_fields__}
        return cls(**{key: value for key, value in values.items() if key in known})

    def without(self, gone: set[str]) -> "Checkup":
        """The checkup as it stands once ``gone`` (items the person excluded since) is left out: those findings
        dropped, and the counts (which also count findings not listed) lowered by as many."""
        def kept(finding: dict) -> bool:
            return not (set(finding.get("items") or [finding.get("item")]) & gone)

        label_issues = [f for f in self.label_issues if kept(f)]
        duplicates = [d for d in self.duplicates if kept(d)]
        outliers = [f for f in self.outliers if kept(f)]
        dropped = {"label_issues": len(self.label_issues) - len(label_issues), "outliers": len(self.outliers) -
                   len(outliers), "across": sum(1 for d in self.duplicates if d["across"] and not kept(d)),
                   "within": sum(1 for d in self.duplicates if not d["across"] and not kept(d)),
                   "duplicates": len(self.duplicates) - len(duplicates)}
        counts = {key: max(0, value - dropped.get(key, 0)) if isinstance(value, int) else value
                  for key, value in self.counts.items()}
        return replace(self, label_issues=label_issues, duplicates=duplicates, outliers=outliers, counts=counts)

    @property
    def clean(self) -> bool:
        """Nothing suspected at all."""
        return not (self.label_issues or self.duplicates or self.outliers)

    def words(self, title: Callable[[str], str] = str) -> list[str]:
        """The findings in plain sentences, the most consequential first, in the current language; ``title``:
        what to call a label (the name a person gave the class)."""
        said = []
        across = [d for d in self.duplicates if d["across"]]
        if across:
            said.append(ngettext(
                "{n} validation example has a copy (or a near-copy) in the training data: the model is graded on "
                "what it has seen, so validation accuracy looks better than it will be on new data. Exclude the "
                "validation copy.",
                "{n} validation examples have a copy (or a near-copy) in the training data: the model is graded on "
                "what it has seen, so validation accuracy looks better than it will be on new data. Exclude the "
                "validation copy of each.", self.counts.get("across", len(across))))
        if self.label_issues:
            first = self.label_issues[0]
            said.append(ngettext(
                "{n} example may be mislabelled: to this backbone it looks like another class ({item}, labelled "
                "'{label}', where a model trained on the other examples says '{suggested}'). A suspect, not a "
                "verdict: look at it, and if its label is wrong, exclude it or fix the label in the data; some "
                "examples are right and only unusual.",
                "{n} examples may be mislabelled: to this backbone they look like another class (the surest: "
                "{item}, labelled '{label}', where a model trained on the other examples says '{suggested}'). "
                "Suspects, not verdicts: look at each, exclude the wrong ones or fix their labels in the data; "
                "some are right and only unusual.", self.counts.get("label_issues", len(self.label_issues)),
                item=first["item"], label=title(first["label"]), suggested=title(first["suggested"])))
        within = [d for d in self.duplicates if not d["across"]]
        if within:
            pairs = self.counts.get("within", len(within))
            conflicting = sum(1 for d in within if len(set(d["labels"])) > 1)
            if conflicting:
                said.append(ngettext(
                    "{n} pair of duplicates inside one split, with different labels (at most one can be right): "
                    "it counts twice in training or in the score.",
                    "{n} pairs of duplicates inside one split, {conflicting} of them with different labels (at most "
                    "one can be right): they count twice in training or in the score.", pairs,
                    conflicting=conflicting))
            else:
                said.append(ngettext(
                    "{n} pair of duplicates inside one split: it counts twice in training or in the score.",
                    "{n} pairs of duplicates inside one split: they count twice in training or in the score.", pairs))
        if self.outliers:
            said.append(ngettext(
                "{n} example is unlike all the others (an outlier): a wrong or broken file, a blank, or a rare case "
                "worth more examples.",
                "{n} examples are unlike all the others (outliers): a wrong or broken file, a blank, or a rare case "
                "worth more examples.", self.counts.get("outliers", len(self.outliers))))
        if not said:
            said.append(ngettext("No suspected label errors, duplicates or outliers in {n:,} example.",
                                 "No suspected label errors, duplicates or outliers among {n:,} examples.", self.items))
        return said + [_(note) for note in self.notes]


def examine(source: str, backbone: str | None = None, val_fraction: float = 0.2, seed: int = 0,
            text_column: str | None = None, label_column: str | None = None, encoding: str | None = None,
            max_length: int = 128, cache_dir: str | None = None, device: str = "auto",
            on_progress: Callable[[int, int], None] | None = None, should_stop: Callable[[], bool] = lambda: False,
            near: float = NEAR, near_pixels: float = NEAR_PIXELS) -> Checkup:
    """Examine the data at ``source`` (read as training would read it) on ``backbone``'s features."""
    from core import paths

    started = time.perf_counter()
    report = data.load_dataset(source, val_fraction, seed, text_column, label_column, encoding)
    spec = backbones.get(backbone or backbones.default_for(report.modality))
    if spec.modality != report.modality:
        if report.modality == "text":
            raise UserError(lazy("{backbone} is an image backbone but the data holds texts.", backbone=spec.title),
                            lazy("Pick a text backbone (`python -m core backbones --modality text`)."))
        raise UserError(lazy("{backbone} is a text backbone but the data holds images.", backbone=spec.title),
                        lazy("Pick an image backbone (`python -m core backbones --modality image`)."))
    if not spec.pretrained or not spec.availability().available:
        raise UserError(lazy("The doctor needs pretrained features, and {backbone} has none on this machine.",
                             backbone=spec.title),
                        spec.availability().detail if spec.pretrained else lazy("Pick a pretrained backbone."))
    chosen = pick_device(device)
    feature_set = features.load_or_compute(report, spec, cache_dir or str(paths.cache_dir()), chosen,
                                           32, on_progress, should_stop, max_length)
    if feature_set is None:
        raise UserError(lazy("The examination was stopped."), lazy("Start it again when you are ready."))
    items = report.train + report.val
    splits = ["train"] * len(report.train) + ["val"] * len(report.val)
    vectors = feature_set.rows(items).double().numpy()
    labels = np.array([label for _key, label in items])
    checkup = Checkup(str(source), spec.name, len(items), list(report.classes), excluded=list(report.excluded))
    names = report.classes
    issues, checkup.notes = label_issues(vectors, labels, seed)
    checkup.label_issues = [{"item": items[i][0], "split": splits[i], "label": names[labels[i]],
                             "suggested": names[suggested], "confidence": round(confidence, 4)}
                            for i, suggested, confidence in issues]
    pairs = duplicates(report, items, vectors, near, near_pixels)
    checkup.duplicates = [{"items": [items[i][0], items[j][0]], "splits": [splits[i], splits[j]],
                           "labels": [names[labels[i]], names[labels[j]]], "similarity": round(similarity, 4),
                           "exact": by == "bytes", "by": by, "across": splits[i] != splits[j],
                           "confidence": round(similarity, 4)}
                          for i, j, similarity, by in pairs]
    checkup.outliers = [{"item": items[i][0], "split": splits[i], "label": names[labels[i]],
                         "confidence": round(confidence, 4)} for i, confidence in outliers(vectors)]
    checkup.counts = {"label_issues": len(checkup.label_issues), "duplicates": len(checkup.duplicates),
                      "across": sum(d["across"] for d in checkup.duplicates),
                      "within": sum(not d["across"] for d in checkup.duplicates), "outliers": len(checkup.outliers)}
    for kind in ("label_issues", "duplicates", "outliers"):
        setattr(checkup, kind, getattr(checkup, kind)[:MAX_FINDINGS])
    checkup.seconds = round(time.perf_counter() - started, 3)
    return checkup


def out_of_sample_probabilities(vectors: np.ndarray, labels: np.ndarray, seed: int = 0) -> np.ndarray:
    """Each example's class probabilities from a logistic regression that did not see it (K-fold)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from threadpoolctl import threadpool_limits

    folds = min(FOLDS, int(np.bincount(labels).min()))
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=300, C=0.1))
    # one BLAS thread: small products, many of them (as domains.domain_gap: 2 cores' threads wait on each other)
    with warnings.catch_warnings(), threadpool_limits(1):  # a fold that does not converge fully still ranks
        warnings.simplefilter("ignore")
        return cross_val_predict(model, vectors, labels, cv=StratifiedKFold(folds, shuffle=True, random_state=seed),
                                 method="predict_proba")


def label_issues(vectors: np.ndarray, labels: np.ndarray, seed: int = 0) -> tuple[list[tuple[int, int, float]], list[str]]:
    """(index, suggested class, confidence) of every suspected label error, surest first; and notes (English,
    marked for the catalogue: ``_(note)`` where shown)."""
    from cleanlab.filter import find_label_issues

    counts = np.bincount(labels, minlength=labels.max() + 1)
    if counts.min() < 2:
        return [], [N_("Label errors were not looked for: a class has fewer than 2 examples, too few to check each "
                       "example with a model trained on the others.")]
    probabilities = out_of_sample_probabilities(vectors, labels, seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        flagged = np.flatnonzero(find_label_issues(labels, probabilities, filter_by="prune_by_noise_rate"))
    given = probabilities[np.arange(len(labels)), labels]
    found = [(int(i), int(probabilities[i].argmax()), float(1.0 - given[i])) for i in flagged
             if probabilities[i].argmax() != labels[i]]
    return sorted(found, key=lambda finding: -finding[2]), []


def _fingerprint(report: DataReport, key: str) -> str:
    """What makes two items the same exactly: a file's bytes, or a text without case and spacing."""
    if report.modality == "text":
        text = " ".join(unicodedata.normalize("NFKC", report.texts.get(key, "")).casefold().split())
        return hashlib.sha1(text.encode("utf-8")).hexdigest()
    try:
        return hashlib.sha1(report.absolute(key).read_bytes()).hexdigest()
    except OSError:
        return f"unreadable:{key}"


def thumbnail_signature(path) -> np.ndarray:
    """A picture as a 32x32 grey thumbnail, centred and scaled to length 1 (JPEGs decoded at a reduced size)."""
    from PIL import Image

    try:
        with Image.open(path) as picture:
            picture.draft("L", (THUMB * 2, THUMB * 2))
            grey = np.asarray(picture.convert("L").resize((THUMB, THUMB), Image.BILINEAR), dtype=np.float32).ravel()
    except Exception:  # unreadable since the scan: it matches nothing
        return np.zeros(THUMB * THUMB, dtype=np.float32)
    grey = grey - grey.mean()
    return grey / max(float(np.linalg.norm(grey)), 1e-6)


def _alike(unit: np.ndarray, threshold: float, found: dict, by: str, chunk: int = 2048) -> None:
    """Add to ``found`` every pair (i < j) whose rows' dot product reaches ``threshold``: a block of rows against
    all at a time, so memory grows with the data, not its square."""
    for start in range(0, len(unit), chunk):
        block = unit[start:start + chunk] @ unit.T
        rows, columns = np.nonzero(block >= threshold)
        for row, column in zip(rows.tolist(), columns.tolist()):
            i = start + row
            similarity = float(block[row, column])
            if column > i and similarity > found.get((i, column), ("", -1.0))[1]:
                found[(i, column)] = (by, similarity)


def _overlapping(texts: list[str], threshold: float, found: dict, chunk: int = 1024) -> None:
    """Add to ``found`` every pair of texts where the longer holds ``threshold`` or more of the shorter one's
    character 5-grams, and they share at least half of the longer one's (a line quoted in a long text is
    not its copy)."""
    from sklearn.feature_extraction.text import HashingVectorizer

    normal = [" ".join(unicodedata.normalize("NFKC", text).casefold().split()) for text in texts]
    grams = HashingVectorizer(analyzer="char", ngram_range=(5, 5), binary=True, norm=None, alternate_sign=False,
                              n_features=2 ** 22).transform(normal).astype(np.float32).tocsr()
    sizes = np.asarray(grams.sum(axis=1)).ravel()
    for start in range(0, grams.shape[0], chunk):
        shared = (grams[start:start + chunk] @ grams.T).tocoo()
        for row, column, common in zip(shared.row.tolist(), shared.col.tolist(), shared.data.tolist()):
            i = start + row
            if column <= i:
                continue
            smaller, larger = sorted((sizes[i], sizes[column]))
            similarity = common / smaller if smaller else 0.0  # how much of the shorter text the longer one holds
            if similarity >= threshold and common >= HALF * larger and similarity > found.get((i, column), ("", -1.0))[1]:
                found[(i, column)] = ("text", float(similarity))


def duplicates(report: DataReport, items: list[tuple[str, int]], vectors: np.ndarray, near: float = NEAR,
               near_pixels: float = NEAR_PIXELS, near_text: float = NEAR_TEXT) -> list[tuple[int, int, float, str]]:
    """(i, j, similarity, by) for every pair that are the same item or nearly: by "bytes" (the same file, the
    same text), "pixels" (images: thumbnails that correlate at ``near_pixels`` or more), "text" (texts: their
    character 5-grams overlap at ``near_text`` or more) or "features" (cosine
    ``near`` or more); exact ones first, then by similarity. Pairs between training and validation come with
    i in training."""
    groups: dict[str, list[int]] = {}
    for index, (key, _) in enumerate(items):
        groups.setdefault(_fingerprint(report, key), []).append(index)
    found: dict[tuple[int, int], tuple[str, float]] = {}
    unit = (vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)).astype(np.float32)
    _alike(unit, near, found, "features")
    if report.modality == "image" and near_pixels <= 1.0:
        _alike(np.stack([thumbnail_signature(report.absolute(key)) for key, _label in items]), near_pixels, found, "pixels")
    if report.modality == "text" and near_text <= 1.0:
        _overlapping([report.texts.get(key, "") for key, _label in items], near_text, found)
    for members in groups.values():
        for n, a in enumerate(members):
            for b in members[n + 1:]:
                found[(a, b)] = ("bytes", 1.0)
    return sorted(((i, j, min(similarity, 1.0), by) for (i, j), (by, similarity) in found.items()),
                  key=lambda pair: (pair[3] != "bytes", -pair[2], pair[0], pair[1]))


def outliers(vectors: np.ndarray) -> list[tuple[int, float]]:
    """(index, confidence) of the examples far from all others, the farthest first (cleanlab's
    OutOfDistribution on the features: mean distance to the nearest neighbours)."""
    from cleanlab.outlier import OutOfDistribution

    if len(vectors) <= NEIGHBOURS + 1:
        return []
    unit = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):  # its "Fitting..." line: not ours
        warnings.simplefilter("ignore")
        scores = OutOfDistribution(params={"k": NEIGHBOURS}).fit_score(features=unit)
    distance = -np.log(np.clip(scores, 1e-300, 1.0))  # monotone in the mean neighbour distance
    q1, q3 = np.percentile(distance, [25, 75])
    fence = q3 + FAR_OUT * (q3 - q1)
    flagged = np.flatnonzero(distance > fence)
    return sorted(((int(i), float(1.0 - scores[i])) for i in flagged), key=lambda finding: -finding[1])


def chosen_for_exclusion(finding: dict, kind: str) -> str:
    """The item one click excludes for a finding: the item itself; of a duplicate pair, the validation copy
    (so validation stops grading what training saw), else the second of the two."""
    if kind != "duplicates":
        return finding["item"]
    if "val" in finding["splits"]:
        return finding["items"][finding["splits"].index("val")]
    return finding["items"][1]


def reason(finding: dict, kind: str) -> Text:
    """Why an item was excluded, in the words the Data page shows beside it: a lazy Text, kept in the exclusions
    file as its id and values (core/data/exclusions.py), so that it is read in the reader's language."""
    if kind == "label_issues":
        return lazy("labelled '{label}', the others' model says '{suggested}'", label=finding["label"],
                    suggested=finding["suggested"])
    if kind == "duplicates":
        kept = next(item for item in finding["items"] if item != chosen_for_exclusion(finding, kind))
        if finding["exact"]:
            return lazy("a copy of {item} ({similarity:.1%} alike)", item=kept, similarity=finding["similarity"])
        return lazy("a near-copy of {item} ({similarity:.1%} alike)", item=kept, similarity=finding["similarity"])
    return lazy("unlike all the others (outlier, {confidence:.0%})", confidence=finding["confidence"])


def exclude_found(checkup: Checkup, source: str, val_fraction: float = 0.2, seed: int = 0,
                  text_column: str | None = None, label_column: str | None = None, encoding: str | None = None,
                  kinds: tuple[str, ...] | list[str] = ("label_issues", "duplicates", "outliers")) -> list[str]:
    """Exclude every listed finding of ``kinds`` from the data (core/data/exclusions.py). Returns the keys."""
    from core.data import exclusions

    report = data.load_dataset(source, val_fraction, seed, text_column, label_column, encoding)
    reasons = {}
    for kind in kinds:
        for finding in getattr(checkup, kind):
            reasons.setdefault(chosen_for_exclusion(finding, kind), reason(finding, kind))
    exclusions.exclude(report, reasons)
    return sorted(reasons)
