"""The names a person gives a dataset's classes (0 -> 差评, 1 -> 好评; a folder "cat_01" -> 猫): one JSON file
per dataset in the workspace's data folder (data/class_names/<id>.json, beside the exclusions), never inside
the person's own folder. The owner of that file.

``apply`` is called by data.load_dataset, so every report of that data carries the names
(``DataReport.class_titles``); a run keeps the names it was trained with (its data.json), and what shows a
run's classes (Results, Try it, Compare, the export and its predict.py) reads them from there. The labels
themselves never change: targets, caches and splits still go by the data's own labels.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from core import paths, storage
from core.errors import UserError
from core.data.exclusions import dataset_id
from core.i18n import lazy
from core.data.report import DataReport

MAX_LENGTH = 60


def path_for(report: DataReport) -> Path:
    return paths.data_dir() / "class_names" / f"{dataset_id(report)}.json"


def load(report: DataReport) -> dict[str, str]:
    """Label -> the name given to it, for this data's labels only; empty when none were given (or the file
    cannot be read: the data's own labels show, nothing is refused)."""
    try:
        values = json.loads(path_for(report).read_text(encoding="utf-8")).get("names", {})
        return {str(label): str(name) for label, name in values.items() if str(label) in report.classes and name}
    except (OSError, ValueError, AttributeError):
        return {}


def clean(report: DataReport, names: dict[str, str]) -> dict[str, str]:
    """The names worth keeping: trimmed, not empty, not the label itself; refused when two classes would
    share a name (they could no longer be told apart)."""
    kept = {}
    for label in report.classes:
        name = " ".join(str(names.get(label) or "").split())
        if name and name != label:
            if len(name) > MAX_LENGTH:
                raise UserError(lazy("The name for class {label} is {length} characters long.", label=label,
                                     length=len(name)),
                                lazy("Keep names under {limit} characters.", limit=MAX_LENGTH))
            kept[label] = name
    shown = [kept.get(label, label) for label in report.classes]
    for name in shown:
        if shown.count(name) > 1:
            twins = [label for label in report.classes if kept.get(label, label) == name]
            raise UserError(lazy("Classes {labels} would all be called “{name}”.", labels=", ".join(twins), name=name),
                            lazy("Give each class a different name."))
    return kept


def save(report: DataReport, names: dict[str, str]) -> DataReport:
    """Keep ``names`` (label -> name; an empty name gives the label back its own) for this data from now on;
    returns the report with them."""
    kept = clean(report, names)
    path = path_for(report)
    body = json.dumps({"root": str(report.root), "names": kept}, indent=1, ensure_ascii=False).encode("utf-8")
    with storage.guard(lazy("the names of the classes"), path.parent, len(body)):
        path.parent.mkdir(parents=True, exist_ok=True)
    storage.write_atomically(path, body, lazy("the names of the classes"))
    return replace(report, class_titles=kept)


def apply(report: DataReport) -> DataReport:
    """The report with the names given to its classes (data.load_dataset calls this)."""
    names = load(report)
    return replace(report, class_titles=names) if names or report.class_titles else report
