"""What every dataset becomes, whatever it was: a DataReport (classes, split, problems), with the
stratified split and the balance warnings that both modalities share. Only data.py opens sources.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from core.errors import UserError
from core.i18n import Text, _, lazy


MIN_PER_CLASS = 5
IMBALANCE_RATIO = 3.0


@dataclass
class DataReport:
    """A dataset ready to train on, and everything worth telling the person about it."""

    root: str                             # image folder, or the table file
    classes: list[str]
    train: list[tuple[str, int]]          # (item key, class index): image path relative to root, or row key
    val: list[tuple[str, int]]
    layout: str                           # a sentence: what was found (plain text, or a lazy Text)
    skipped: list[dict] = field(default_factory=list)   # {"path", "reason"}
    warnings: list[str] = field(default_factory=list)   # sentences (plain text, or lazy Texts)
    fingerprint: str = ""                 # changes when any item is added, removed or edited
    modality: str = "image"               # image | text
    texts: dict[str, str] = field(default_factory=dict)  # text only: row key -> text
    details: dict = field(default_factory=dict)          # text only: encoding, delimiter, columns...
    set_aside: list[tuple[str, int]] = field(default_factory=list)  # training items a run leaves out
                                                                    # (at_most_per_class, or excluded); still featurised
    excluded: list[str] = field(default_factory=list)  # item keys the person excluded (core/data/exclusions.py)
    class_titles: dict[str, str] = field(default_factory=dict)  # label -> the name a person gave it (class_names.py)

    @property
    def num_items(self) -> int:
        return len(self.train) + len(self.val)

    def counts(self) -> list[dict]:
        train, val = Counter(label for _key, label in self.train), Counter(label for _key, label in self.val)
        return [{"class": name, "title": self.title(name), "train": train[i], "val": val[i]}
                for i, name in enumerate(self.classes)]

    def title(self, label: str) -> str:
        """What to call class ``label`` on screen: the name given to it, else the label itself."""
        return self.class_titles.get(label) or label

    @property
    def titles(self) -> list[str]:
        """The classes as shown, in index order."""
        return [self.title(label) for label in self.classes]

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

    def read_settings(self) -> dict:
        """How to read this data again exactly so: TrainConfig's text_column, label_column, encoding."""
        if self.modality != "text":
            return {}
        encoding = self.details.get("encoding")
        return {"text_column": self.details.get("text_column"), "label_column": self.details.get("label_column"),
                "encoding": encoding if encoding and encoding != "xlsx" else None}

    def absolute(self, relative: str) -> Path:
        return Path(self.root) / relative

    def require_files(self, keys: list[str], purpose: str | Text) -> None:
        """UserError, saying what to do, when image files among ``keys`` are not on this machine any more (the
        data was moved or deleted after the run trained on it); texts live in the report itself. ``purpose``
        completes "the images ... are not where the run found them" ("the export is checked on"): best a lazy
        Text, so that it is translated with the sentence."""
        if self.modality != "image":
            return
        gone = [key for key in keys if not self.absolute(key).is_file()]
        if gone:
            raise UserError(lazy("{missing:,} of the {total:,} images {purpose} are not where the run found them "
                                 "(first: {first}).", missing=len(gone), total=len(keys), purpose=purpose,
                                 first=str(self.absolute(gone[0]))),
                            lazy("Put the data back in {folder}, or train a new run on the data where it is now.",
                                 folder=str(self.root)))

    def to_dict(self) -> dict:
        """Plain JSON values; a sentence kept as a lazy Text (layout, warnings, skipped reasons) is stored as its
        id and values (``Text.to_json``), and read back as a Text by ``from_dict``."""
        return _plain(asdict(self))

    @classmethod
    def from_dict(cls, values: dict) -> "DataReport":
        values = dict(values)
        values["train"] = [tuple(item) for item in values["train"]]
        values["val"] = [tuple(item) for item in values["val"]]
        values["set_aside"] = [tuple(item) for item in values.get("set_aside", [])]
        values["layout"] = _sentence(values.get("layout", ""))
        values["warnings"] = [_sentence(warning) for warning in values.get("warnings", [])]
        values["skipped"] = [{**row, "reason": _sentence(row["reason"])} if isinstance(row, dict) and "reason" in row
                             else row for row in values.get("skipped", [])]
        return cls(**values)


def _plain(value):
    """``value`` with every lazy Text in it as its JSON form."""
    if isinstance(value, Text):
        return value.to_json()
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_plain(item) for item in value)
    return value


def _sentence(value):
    """A sentence read from JSON: a stored Text (``{"id": ...}``) as a Text again, plain text as it is."""
    return Text.from_json(value) if isinstance(value, dict) and "id" in value else value


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
    """Too few examples in a class, or classes of very different sizes: sentences in the current language."""
    totals = {row["class"]: row["train"] + row["val"] for row in report.counts()}
    warnings = [_("Class '{name}' has only {n} example(s). Aim for at least {minimum} (20 or more is better): with "
                  "so few, the model can hardly learn it and its validation score means little.", name=name, n=n,
                  minimum=MIN_PER_CLASS)
                for name, n in totals.items() if n < MIN_PER_CLASS]
    largest, smallest = max(totals, key=totals.get), min(totals, key=totals.get)
    if totals[smallest] and totals[largest] / totals[smallest] >= IMBALANCE_RATIO:
        warnings.append(_("The classes are unbalanced: '{largest}' has {large} examples, {ratio:.0f}x as many as "
                          "'{smallest}' ({small}). The model will lean towards '{largest}', and overall accuracy can "
                          "look good while '{smallest}' is mostly wrong: check the results of each class, or add "
                          "examples of the small classes.", largest=largest, large=totals[largest],
                          ratio=totals[largest] / totals[smallest], smallest=smallest, small=totals[smallest]))
    return warnings
