"""What every dataset becomes, whatever it was: a DataReport (classes, split, problems), with the
stratified split and the balance warnings that both modalities share. Only data.py opens sources.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from core.errors import UserError


MIN_PER_CLASS = 5
IMBALANCE_RATIO = 3.0


@dataclass
class DataReport:
    """A dataset ready to train on, and everything worth telling the person about it."""

    root: str                             # image folder, or the table file
    classes: list[str]
    train: list[tuple[str, int]]          # (item key, class index): image path relative to root, or row key
    val: list[tuple[str, int]]
    layout: str                           # a sentence: what was found
    skipped: list[dict] = field(default_factory=list)   # {"path", "reason"}
    warnings: list[str] = field(default_factory=list)
    fingerprint: str = ""                 # changes when any item is added, removed or edited
    modality: str = "image"               # image | text
    texts: dict[str, str] = field(default_factory=dict)  # text only: row key -> text
    details: dict = field(default_factory=dict)          # text only: encoding, delimiter, columns...
    set_aside: list[tuple[str, int]] = field(default_factory=list)  # training items a run leaves out
                                                                    # (at_most_per_class, or excluded); still featurised
    excluded: list[str] = field(default_factory=list)  # item keys the person excluded (core/exclusions.py)

    @property
    def num_items(self) -> int:
        return len(self.train) + len(self.val)

    def counts(self) -> list[dict]:
        train, val = Counter(label for _, label in self.train), Counter(label for _, label in self.val)
        return [{"class": name, "train": train[i], "val": val[i]} for i, name in enumerate(self.classes)]

    def all_items(self) -> list[tuple[str, int]]:
        """Every item once, in a fixed order (the feature cache's row order), those set aside included:
        a run on fewer examples per class shares the whole data's cached features."""
        return sorted(self.train + self.val + self.set_aside)

    def at_most_per_class(self, per_class: int, seed: int) -> "DataReport":
        """The same data with at most ``per_class`` training examples of each class: per class, the
        training items in an order drawn from ``seed``, the first ``per_class`` of them. So the subsets are
        nested (the 5 of a class are among its 10) and stratified; validation is untouched; the rest of
        the training items are set aside (the fingerprint, and so the feature cache, stay the data's)."""
        kept, aside = [], []
        generator = random.Random(seed)
        for label in range(len(self.classes)):
            items = sorted(item for item in self.train if item[1] == label)
            generator.shuffle(items)
            kept += items[:per_class]
            aside += items[per_class:]
        return replace(self, train=sorted(kept), set_aside=sorted(aside + self.set_aside))

    def reading(self) -> dict:
        """How to read this data again exactly so: TrainConfig's text_column, label_column, encoding."""
        if self.modality != "text":
            return {}
        encoding = self.details.get("encoding")
        return {"text_column": self.details.get("text_column"), "label_column": self.details.get("label_column"),
                "encoding": encoding if encoding and encoding != "xlsx" else None}

    def absolute(self, relative: str) -> Path:
        return Path(self.root) / relative

    def require_files(self, keys: list[str], purpose: str) -> None:
        """UserError, saying what to do, when image files among ``keys`` are not on this machine any more (the
        data was moved or deleted after the run trained on it); texts live in the report itself."""
        if self.modality != "image":
            return
        gone = [key for key in keys if not self.absolute(key).is_file()]
        if gone:
            raise UserError(f"{len(gone):,} of the {len(keys):,} images {purpose} are not where the run found them "
                            f"(first: {self.absolute(gone[0])}).",
                            f"Put the data back in {self.root}, or train a new run on the data where it is now.")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> "DataReport":
        values = dict(values)
        values["train"] = [tuple(item) for item in values["train"]]
        values["val"] = [tuple(item) for item in values["val"]]
        values["set_aside"] = [tuple(item) for item in values.get("set_aside", [])]
        return cls(**values)


def stratified_split(found: dict[str, list[str]], classes: list[str], val_fraction: float,
                     seed: int) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
    """Per class: shuffle with the seed, send round(n x fraction) to validation (at least one
    when the class has two or more images, never all of them)."""
    rng = random.Random(seed)
    train, val = [], []
    for label, name in enumerate(classes):
        items = sorted(found[name])
        rng.shuffle(items)
        n_val = min(max(round(len(items) * val_fraction), 1 if len(items) >= 2 else 0), len(items) - 1)
        val += [(p, label) for p in items[:n_val]]
        train += [(p, label) for p in items[n_val:]]
    return train, val


def balance_warnings(report: DataReport) -> list[str]:
    totals = {row["class"]: row["train"] + row["val"] for row in report.counts()}
    warnings = [f"Class '{name}' has only {n} example(s). Aim for at least {MIN_PER_CLASS} (20 or more is "
                "better): with so few, the model can hardly learn it and its validation score means little."
                for name, n in totals.items() if n < MIN_PER_CLASS]
    largest, smallest = max(totals, key=totals.get), min(totals, key=totals.get)
    if totals[smallest] and totals[largest] / totals[smallest] >= IMBALANCE_RATIO:
        warnings.append(f"The classes are unbalanced: '{largest}' has {totals[largest]} examples, "
                        f"{totals[largest] / totals[smallest]:.0f}x as many as '{smallest}' ({totals[smallest]}). "
                        f"The model will lean towards '{largest}', and overall accuracy can look good while "
                        f"'{smallest}' is mostly wrong: check per-class results, or add examples of the small classes.")
    return warnings
