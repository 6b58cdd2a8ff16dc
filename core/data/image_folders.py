"""ImageFolder datasets: find the layout, list the images, split, and explain every problem.

Every sentence kept in the report (layout, warnings, skipped files' reasons) is a lazy Text (core/i18n.py):
the Data page shows it later, in the language chosen then.

Accepted layouts (with or without one wrapping top folder):
    root/<class>/*                     -> a stratified, seeded train/validation split is made
    root/{train,val|valid}/<class>/*   -> the given split is used as is
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from core import paths
from core.data import archive, samples
from core.data.report import DataReport, balance_warnings, stratified_split
from core.errors import UserError
from core.i18n import Text, lazy, lazy_ngettext
from core.data.images import IMAGE_EXTENSIONS, UNREADABLE, probe

TRAIN_NAMES = ("train", "training")
VAL_NAMES = ("val", "valid", "validation")


def load_dataset(source: str | Path, val_fraction: float = 0.2, seed: int = 0, min_classes: int = 2) -> DataReport:
    """Open a dataset from a folder, a .zip file or ``sample:<name>``; scan, split and report."""
    text = str(source)
    if text.startswith("sample:"):
        folder = samples.ensure_sample(text.split(":", 1)[1])
    else:
        path = Path(text).expanduser()
        if not path.exists():
            raise UserError(lazy("No file or folder at {path}.", path=str(path)),
                            lazy("Check the path, or upload a .zip instead."))
        if path.is_file() and path.suffix.lower() != ".zip":
            raise UserError(lazy("{file} is neither a .zip of images nor a table of texts.", file=path.name),
                            lazy("Give a folder, a .zip of the folder, or a .csv/.tsv/.xlsx file."))
        folder = archive.import_zip(path, paths.data_dir() / "uploads") if path.is_file() else path
    return scan(folder, val_fraction=val_fraction, seed=seed, min_classes=min_classes)


def find_root(folder: Path) -> Path:
    """Step into single wrapping folders (``dataset.zip -> dataset/ -> classes``)."""
    while True:
        dirs, files = _visible_children(folder)
        if len(dirs) == 1 and not any(_is_image(f) for f in files) and _visible_children(dirs[0])[0] \
                and dirs[0].name.lower() not in TRAIN_NAMES + VAL_NAMES:
            folder = dirs[0]
        else:
            return folder


def scan(folder: str | Path, val_fraction: float = 0.2, seed: int = 0, min_classes: int = 2) -> DataReport:
    """``min_classes``: 2 for training data; 1 for a target, which is only scored."""
    folder = Path(folder)
    if not folder.is_dir():
        raise UserError(lazy("{folder} is not a folder.", folder=str(folder)),
                        lazy("Give the folder that holds one sub-folder per class."))
    skipped = archive.import_skips(folder)
    root = find_root(folder)
    dirs, files = _visible_children(root)
    skipped += [{"path": _rel(f, root), "reason": lazy("not inside a class folder")} for f in files
                if f.name != archive.MANIFEST]
    by_name = {d.name.lower(): d for d in dirs}
    train_dir = next((by_name[n] for n in TRAIN_NAMES if n in by_name), None)
    val_dir = next((by_name[n] for n in VAL_NAMES if n in by_name), None)
    warnings: list[Text] = []   # lazy Texts: the report is shown later, perhaps in another language

    if train_dir is not None and val_dir is not None:
        for extra in dirs:
            if extra not in (train_dir, val_dir):
                skipped.append({"path": _rel(extra, root) + "/",
                                "reason": lazy("folder ignored: only {train}/ and {val}/ are used",
                                               train=train_dir.name, val=val_dir.name)})
        train_found = _collect_classes(train_dir, root, skipped, warnings)
        val_found = _collect_classes(val_dir, root, skipped, warnings)
        classes = sorted(set(train_found) | set(val_found))
        for name in classes:
            if name not in train_found:
                warnings.append(lazy("Class '{name}' has validation images but no training images: the model "
                                     "cannot learn it. Add training images to {folder}/{name}/.", name=name,
                                     folder=train_dir.name))
            elif name not in val_found:
                warnings.append(lazy("Class '{name}' has no validation images, so its accuracy cannot be measured.",
                                     name=name))
        index = {name: i for i, name in enumerate(classes)}
        train = [(p, index[c]) for c, ps in train_found.items() for p in ps]
        val = [(p, index[c]) for c, ps in val_found.items() for p in ps]
        layout = lazy("Found {train}/ and {val}/ folders: using that split as given.", train=train_dir.name,
                      val=val_dir.name)
    else:
        if train_dir is not None or val_dir is not None:
            only = (train_dir or val_dir).name
            raise UserError(lazy("Found a '{folder}' folder but not its partner.", folder=only),
                            lazy("Use either root/train/<class>/ and root/val/<class>/, or just root/<class>/."))
        found = _collect_classes(root, root, skipped, warnings)
        classes = sorted(found)
        train, val = stratified_split(found, classes, val_fraction, seed)
        layout = lazy_ngettext("Found {n} class folder; split {train:.0%} train / {val:.0%} validation per class "
                               "(seed {seed}).",
                               "Found {n} class folders; split {train:.0%} train / {val:.0%} validation per class "
                               "(seed {seed}).", len(classes), train=1 - val_fraction, val=val_fraction, seed=seed)

    if not classes:
        raise UserError(lazy("No images found in class folders under {folder}.", folder=str(root)),
                        lazy("Arrange the data as <folder>/<class name>/<image files> and try again."))
    if len(classes) < min_classes:
        raise UserError(lazy("Only one class was found ('{name}'); a classifier needs at least two.", name=classes[0]),
                        lazy("Add a folder per class, each holding that class's images."))
    report = DataReport(root=str(root), classes=classes, train=sorted(train), val=sorted(val), layout=layout,
                        skipped=skipped, warnings=warnings)
    report.warnings += balance_warnings(report)
    unreadable = sum(1 for s in skipped if isinstance(s["reason"], Text) and s["reason"].message == UNREADABLE)
    if unreadable:
        report.warnings.append(lazy_ngettext("{n} file could not be read as an image and is left out (see the list "
                                             "of skipped files).",
                                             "{n} files could not be read as images and are left out (see the list "
                                             "of skipped files).", unreadable))
    report.fingerprint = _fingerprint(report)
    return report


def _collect_classes(parent: Path, root: Path, skipped: list[dict], warnings: list[Text]) -> dict[str, list[str]]:
    """{class name: [image paths relative to root]} for each sub-folder of ``parent``."""
    dirs, files = _visible_children(parent)
    if parent != root:
        skipped += [{"path": _rel(f, root), "reason": lazy("not inside a class folder")} for f in files]
    found = {}
    for class_dir in dirs:
        images = []
        for path in sorted(class_dir.rglob("*")):
            relative = _rel(path, root)
            if not path.is_file():
                continue
            junk = archive.junk_reason(_rel(path, class_dir))
            if junk:
                skipped.append({"path": relative, "reason": junk})
            elif not _is_image(path):
                skipped.append({"path": relative, "reason": lazy("not an image file ({suffix})", suffix=path.suffix)
                                if path.suffix else lazy("not an image file (no extension)")})
            elif reason := probe(path):
                skipped.append({"path": relative, "reason": reason})
            else:
                images.append(relative)
        if images:
            found[class_dir.name] = images
        else:
            warnings.append(lazy("Folder '{folder}' holds no readable images and is ignored.",
                                 folder=_rel(class_dir, root)))
    return found


def _fingerprint(report: DataReport) -> str:
    """Hash of every image's path, class, size and modification time (cheap, no file reading)."""
    digest = hashlib.sha256(json.dumps(report.classes).encode())
    for relative, label in report.all_items():
        info = report.absolute(relative).stat()
        digest.update(f"{relative}\0{label}\0{info.st_size}\0{info.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:20]


def _visible_children(folder: Path) -> tuple[list[Path], list[Path]]:
    children = sorted(c for c in folder.iterdir() if archive.junk_reason(c.name) is None)
    return [c for c in children if c.is_dir()], [c for c in children if c.is_file()]


def _is_image(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_EXTENSIONS


def _rel(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix()
