"""Data: every format TransferLab reads, each with one owner module, and what is known about it.

    __init__.py        ``load_dataset``: the one entry point (this file)
    image_folders.py   ImageFolders: folders, train/val layouts, .zip uploads
    text_tables.py     tables of texts (.csv, .tsv, .xlsx): columns, labels
    report.py          ``DataReport``: the exact split, classes, warnings, in plain words
    encodings.py       which text encoding a file is in (GBK/GB18030, UTF-8, ...), said with confidence
    languages.py       which language texts are in, and whether a backbone reads it
    archive.py         unpacking uploads safely (.zip), junk files skipped
    images.py          decoding images (EXIF rotation, modes, broken files)
    samples.py         the bundled samples (MNIST digits, BBC News, digits on photos), built on first use
    exclusions.py      examples a person set aside (the dataset doctor), per dataset
    class_names.py     the names a person gives the classes
    domains.py         a target domain: where the model will be used

The entry point opens any dataset: ImageFolders (folder, .zip, sample:mnist) or tables
of texts (.csv, .tsv, .xlsx, sample:bbc), into a DataReport (core.data.report). The report's sentences (layout,
warnings, skipped items' reasons, a table's notes) are lazy Texts (core/i18n.py), shown in the reader's language.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from core import paths, storage
from core.i18n import lazy
from core.data.report import DataReport

TEXT_SUFFIXES = {".csv", ".tsv", ".txt", ".xlsx", ".xls"}
TEXT_SAMPLES = {"bbc"}


def store_upload(name: str, content: bytes) -> Path:
    """Keep an uploaded table under the workspace (same bytes, same place) and return its path."""
    safe_name = Path(name).name or "upload.csv"
    folder = paths.data_dir() / "uploads" / hashlib.sha256(content).hexdigest()[:16]
    with storage.guard(lazy("the uploaded file"), folder.parent, len(content)):
        folder.mkdir(parents=True, exist_ok=True)
    target = folder / safe_name
    if not target.is_file():
        storage.write_atomically(target, content, lazy("the uploaded file"))
    return target


def modality_of(source: str | Path) -> str:
    """'text' for tables of texts and text samples, else 'image'."""
    text = str(source)
    if text.startswith("sample:"):
        return "text" if text.split(":", 1)[1] in TEXT_SAMPLES else "image"
    return "text" if Path(text).suffix.lower() in TEXT_SUFFIXES else "image"


def load_dataset(source: str | Path, val_fraction: float = 0.2, seed: int = 0, text_column: str | None = None,
                 label_column: str | None = None, encoding: str | None = None, min_classes: int = 2) -> DataReport:
    """Open any dataset TransferLab understands, scan it, split it and report on it (``encoding``: of a
    table of texts; detected when None), without the items excluded from it (core/data/exclusions.py)."""
    from core.data import class_names, exclusions

    if modality_of(source) == "text":
        from core.data import text_tables

        report = text_tables.load_dataset(source, val_fraction, seed, text_column, label_column, encoding, min_classes)
    else:
        from core.data import image_folders

        report = image_folders.load_dataset(source, val_fraction, seed, min_classes)
    return class_names.apply(exclusions.apply(report))  # what the person excluded leaves every split
