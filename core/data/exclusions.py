"""Items a person excluded from a dataset (the Data page's dataset doctor, or by hand): one JSON file per
dataset in the workspace's data folder (data/exclusions/<id>.json, beside the uploads), never inside the
person's own folder. The owner of that file.

``apply`` is called by data.load_dataset, so every split of that data respects it (training, validation,
comparisons, curves, the doctor itself): an excluded item leaves train and val but stays in ``set_aside``,
so the feature cache (the whole data's) is still shared; the split of the other items does not move.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import replace
from pathlib import Path

from core import paths, storage
from core.i18n import Text, lazy, lazy_ngettext
from core.data.report import DataReport


def dataset_id(report: DataReport) -> str:
    """Which data a person's exclusions and class names belong to: the folder or table, and for a table the
    columns read."""
    root = str(Path(report.root).expanduser().resolve())
    columns = [report.details.get("text_column"), report.details.get("label_column")] if report.modality == "text" else []
    return hashlib.sha256(json.dumps([root, *columns]).encode()).hexdigest()[:20]


def path_for(report: DataReport) -> Path:
    return paths.data_dir() / "exclusions" / f"{dataset_id(report)}.json"


def load(report: DataReport) -> dict[str, dict]:
    """Excluded item key -> {"reason", "time"}; empty when none (or the file is unreadable: nothing is
    excluded rather than the data refused). A reason is plain text, or a sentence to translate when shown
    (``{"id": ...}``, a lazy Text's JSON): show it with ``i18n.render``."""
    path = path_for(report)
    try:
        values = json.loads(path.read_text(encoding="utf-8"))
        return {str(key): dict(value) for key, value in values.get("items", {}).items()}
    except (OSError, ValueError, AttributeError):
        return {}


def _save(report: DataReport, items: dict[str, dict]) -> None:
    path = path_for(report)
    body = json.dumps({"root": str(report.root), "items": items}, indent=1, ensure_ascii=False).encode("utf-8")
    what = lazy("the list of excluded items")
    with storage.guard(what, path.parent, len(body)):
        path.parent.mkdir(parents=True, exist_ok=True)
    storage.write_atomically(path, body, what)


def exclude(report: DataReport, reasons: dict[str, str | Text]) -> None:
    """Exclude ``reasons``' items (key -> why) from this data from now on. A lazy Text reason is kept as its
    id and values, so that it is read in the reader's language."""
    items = load(report)
    items.update({key: {"reason": reason.to_json() if isinstance(reason, Text) else reason,
                        "time": round(time.time(), 3)} for key, reason in reasons.items()})
    _save(report, items)


def include(report: DataReport, keys: list[str]) -> None:
    """Take items off the list again (they train and validate as before)."""
    items = load(report)
    for key in keys:
        items.pop(key, None)
    _save(report, items)


def apply(report: DataReport) -> DataReport:
    """The report without its excluded items in train or val (they move to set_aside); unchanged if none."""
    excluded = load(report)
    if not excluded:
        return report
    keep = lambda items: [item for item in items if item[0] not in excluded]  # noqa: E731
    out = [item for item in report.train + report.val if item[0] in excluded]
    if not out:
        return report
    note = lazy_ngettext("{n} item is excluded: every run on this data leaves it out (the Data page's dataset doctor "
                         "lists it and can include it again).",
                         "{n} items are excluded: every run on this data leaves them out (the Data page's dataset "
                         "doctor lists them and can include them again).", len(out))
    return replace(report, train=keep(report.train), val=keep(report.val), set_aside=sorted(report.set_aside + out),
                   excluded=sorted(key for key, _ in out), warnings=[*report.warnings, note])
