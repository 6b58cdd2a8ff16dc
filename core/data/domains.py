"""The target: a second dataset, where the model will be used (phone photos where the training data
are catalogue shots; restaurant reviews where it learned from hotel reviews).

``load_target`` opens it like any dataset (same formats) and maps its labels, when it has them, onto
the source's classes: they are used to score, never to train. An image folder with no class
folders (just images) is an unlabelled target. ``domain_gap`` says how far apart the two domains
are: the balanced, cross-validated accuracy of a classifier that tells source features from
target features (50% = the backbone sees them alike; 100% = it tells them apart every time).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.errors import UserError
from core.i18n import _, lazy
from core.data.report import DataReport

UNLABELLED = -1


@dataclass
class Target:
    report: DataReport            # every target item in ``report.train`` (``report.val`` empty), labels in
                                  # the source's class indices, UNLABELLED where there is none
    labelled: bool                # True when every item has a label (then target accuracy can be measured)
    name: str

    @property
    def items(self) -> list[tuple[str, int]]:
        return self.report.train

    def labels(self) -> np.ndarray:
        return np.array([label for _key, label in self.items])


def load_target(source: str, report: DataReport, text_column: str | None = None, label_column: str | None = None,
                encoding: str | None = None) -> Target:
    """The target dataset at ``source``, in the source ``report``'s classes."""
    from core import data

    if data.modality_of(source) != report.modality:
        if report.modality == "image":
            raise UserError(lazy("The target holds texts but the training data holds images."),
                            lazy("Give a target of images, in the same formats."))
        raise UserError(lazy("The target holds images but the training data holds texts."),
                        lazy("Give a target of texts, in the same formats."))
    if report.modality == "text":
        found = _text_target(source, report, text_column, label_column, encoding)
        if isinstance(found, Target):
            return found
    else:
        try:
            found = data.load_dataset(source, 0.2, 0, min_classes=1)
        except UserError as error:
            unlabelled = _unlabelled_images(source)
            if unlabelled is None:
                raise UserError(lazy("The target could not be read: {reason}", reason=error._message),
                                error._hint) from error
            return unlabelled
    unknown = [name for name in found.classes if name not in report.classes]
    if unknown:
        names = ", ".join(repr(name) for name in unknown[:5])
        hint = lazy("A target's labels must be among the training data's classes ({classes}); rename them, or leave "
                    "the target unlabelled.", classes=", ".join(report.classes[:8]))
        if len(unknown) == 1:
            raise UserError(lazy("The target has a class the training data does not: {names}.", names=names), hint)
        raise UserError(lazy("The target has classes the training data does not: {names}.", names=names), hint)
    index = {name: report.classes.index(name) for name in found.classes}
    items = sorted((key, index[found.classes[label]]) for key, label in found.all_items())
    layout = lazy("Found {classes} of the training data's classes in {examples:,} examples; all of them are used, "
                  "none for training.", classes=len(found.classes), examples=len(items))
    target = DataReport(root=found.root, classes=list(report.classes), train=items, val=[], layout=layout,
                        skipped=found.skipped, warnings=[], fingerprint=found.fingerprint, modality=found.modality,
                        texts=found.texts, details=found.details)
    return Target(target, labelled=True, name=_name(source))


def _text_target(source: str, report: DataReport, text_column: str | None, label_column: str | None,
                 encoding: str | None) -> "DataReport | Target":
    """A labelled table (the source's column names, or guessed ones whose labels are the source's
    classes), else an unlabelled one: its text column, no labels."""
    from core import data
    from core.data import text_tables, samples

    path = samples.ensure_text_sample(source[7:]) if source.startswith("sample:") else Path(source).expanduser()
    if not path.is_file():
        raise UserError(lazy("No file at {path}.", path=str(path)),
                        lazy("Check the path, or upload the target table instead."))
    table = text_tables.read_table(path, encoding)
    columns = list(table.frame.columns)
    text_column = text_column or (report.details.get("text_column") if report.details.get("text_column") in columns
                                  else None)
    label_column = label_column or (report.details.get("label_column")
                                    if report.details.get("label_column") in columns else None)
    if label_column is None and len(columns) >= 2:
        guessed_text, guessed_label = text_tables.guess_columns(table.frame)
        values = set(table.frame[guessed_label].astype(str).str.strip()) - {""}
        if values and values <= set(report.classes):
            text_column, label_column = text_column or guessed_text, guessed_label
    if label_column is not None:
        return data.load_dataset(str(path), 0.2, 0, text_column, label_column, table.encoding
                                 if table.encoding != "xlsx" else None, min_classes=1)
    if text_column is None:
        text_column = max(columns, key=lambda c: table.frame[c].astype(str).str.len().mean())
    texts = {f"{index:07d}": str(text).strip() for index, text in enumerate(table.frame[text_column])
             if str(text).strip()}
    fingerprint = hashlib.sha256("\n".join(texts.values()).encode()).hexdigest()[:16]
    target = DataReport(root=str(path), classes=[], train=[(key, UNLABELLED) for key in texts], val=[],
                        layout=lazy("Found {texts:,} texts in column {column!r} and no column of the training data's "
                                    "labels: an unlabelled target.", texts=len(texts), column=text_column),
                        fingerprint=fingerprint, modality="text",
                        texts=texts, details={"text_column": text_column, "encoding": table.encoding})
    return Target(target, labelled=False, name=_name(source))


def _unlabelled_images(source: str) -> Target | None:
    """A folder (or .zip) of images without class folders: every image, no labels."""
    from core import paths
    from core.data import archive, image_folders

    path = Path(source).expanduser()
    if not path.exists():
        return None
    folder = archive.import_zip(path, paths.data_dir() / "uploads") if path.is_file() else path
    root = image_folders.find_root(folder)
    files = sorted(p for p in root.rglob("*") if p.is_file() and image_folders._is_image(p)
                   and not any(part.startswith(".") for part in p.relative_to(root).parts))
    if not files:
        return None
    items = [(p.relative_to(root).as_posix(), UNLABELLED) for p in files]
    fingerprint = hashlib.sha256("\n".join(f"{key}:{(root / key).stat().st_size}:{(root / key).stat().st_mtime_ns}"
                                           for key, _label in items).encode()).hexdigest()[:16]
    report = DataReport(root=str(root), classes=[], train=items, val=[], fingerprint=fingerprint,
                        layout=lazy("Found {images:,} images without class folders: an unlabelled target.",
                                    images=len(items)))
    return Target(report, labelled=False, name=_name(source))


def _name(source: str) -> str:
    """The target's name for a person (a bundled sample's in the current language): plain text, as it goes into
    a run's events and onto the page's widgets."""
    from core.data import samples

    return str(samples.name_of(source))


def domain_gap(source: np.ndarray, target: np.ndarray, seed: int = 0, limit: int = 2000) -> float:
    """Balanced accuracy (5-fold) of a logistic regression telling source rows from target rows,
    on at most ``limit`` rows of each, standardised together. BLAS runs on one thread: its products are small
    and many, and on 2 cores threads that wait on each other made it 5 times slower (1.8 s -> 0.2 s on 2,000
    rows of 1,280 features), with the same result."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(seed)
    n = min(len(source), len(target), limit)
    if n < 5:
        return float("nan")
    rows = np.concatenate([source[rng.choice(len(source), n, replace=False)],
                           target[rng.choice(len(target), n, replace=False)]])
    domains = np.repeat([0, 1], n)
    classifier = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=500))
    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=seed)
    with threadpool_limits(1):
        return float(cross_val_score(classifier, rows, domains, cv=folds, scoring="balanced_accuracy").mean())


def gap_percent(accuracy: float) -> str:
    """The domain gap as a percent: below 50% (a classifier doing worse than chance, which only noise does on
    domains it cannot tell apart) it is said as 50%, what it means."""
    from core import i18n

    return i18n.percent(max(accuracy, 0.5), 0) if accuracy == accuracy else "–"


def gap_words(accuracy: float) -> str:
    """The domain gap in plain words."""
    if accuracy != accuracy:  # NaN: too few examples
        return _("too few examples to measure how far apart the two domains are")
    if accuracy < 0.6:
        return _("the two domains look alike to this backbone (a classifier tells training data from target data "
                 "apart {accuracy:.0%} of the time; 50% means they cannot be told apart)", accuracy=max(accuracy, 0.5))
    if accuracy < 0.85:
        return _("the two domains differ noticeably (a classifier tells training data from target data apart "
                 "{accuracy:.0%} of the time; 50% would mean alike)", accuracy=accuracy)
    return _("the two domains are far apart (a classifier tells training data from target data apart {accuracy:.0%} "
             "of the time; 50% would mean alike): expect accuracy to drop on the target", accuracy=accuracy)

