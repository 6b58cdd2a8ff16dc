"""Safe .zip extraction: nothing escapes the target folder, and size/count caps stop zip bombs.

Extraction goes to a temporary sibling folder that is renamed into place only when complete,
so a failed or refused upload never leaves a half-written dataset behind.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from core import storage
from core.errors import UserError
from core.i18n import Text, lazy

MANIFEST = ".transferlab-import.json"


@dataclass(frozen=True)
class ZipLimits:
    max_files: int = 200_000
    max_total_bytes: int = 8 * 1024**3          # uncompressed
    max_ratio: float = 1000.0                    # uncompressed / compressed, per file


def junk_reason(relative: str) -> Text | None:
    """Why a path inside an upload is ignored (macOS metadata, hidden files), as a lazy Text, or None."""
    parts = PurePosixPath(relative).parts
    if any(part == "__MACOSX" for part in parts):
        return lazy("macOS metadata folder (__MACOSX)")
    if any(part.startswith(".") for part in parts):
        return lazy("hidden file")
    if parts and parts[-1].lower() in ("thumbs.db", "desktop.ini"):
        return lazy("system file")
    return None


def _unsafe_reason(name: str, info: zipfile.ZipInfo) -> Text | None:
    path = PurePosixPath(name)
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        return lazy("absolute path: would be written outside the dataset folder")
    if ".." in path.parts:
        return lazy("path with '..': would be written outside the dataset folder")
    if stat.S_ISLNK(info.external_attr >> 16):
        return lazy("symbolic link: not followed")
    return None


def _copy_capped(source: BinaryIO, target: Path, budget: int) -> int:
    """Copy until EOF; raise if more than ``budget`` bytes come out (headers can lie)."""
    written = 0
    with open(target, "wb") as out:
        while chunk := source.read(1 << 20):
            written += len(chunk)
            if written > budget:
                raise _OverBudget()
            out.write(chunk)
    return written


class _OverBudget(Exception):
    pass


def _too_big(limits: ZipLimits) -> UserError:
    return UserError(lazy("The zip unpacks to more than {size:.0f} GiB, the limit.",
                          size=limits.max_total_bytes / 1024**3),
                     lazy("It may be a zip bomb; otherwise split the dataset or use a folder path instead."))


def extract_zip(source: str | Path | BinaryIO, target: Path, limits: ZipLimits = ZipLimits()) -> list[dict]:
    """Extract ``source`` into ``target`` (created; must not exist). Returns the skipped entries."""
    target = Path(target)
    partial = target.with_name(f"{target.name}.partial-{os.getpid()}")
    shutil.rmtree(partial, ignore_errors=True)
    try:
        archive = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError) as error:
        raise UserError(lazy("This file is not a readable .zip archive."),
                        lazy("Zip the dataset folder again (right-click > Compress) and upload that.")) from error
    skipped: list[dict] = []
    with archive:
        members = []
        for info in archive.infolist():
            name = info.filename.replace("\\", "/")
            if info.is_dir():
                continue
            reason = _unsafe_reason(name, info) or junk_reason(name)
            if reason:
                skipped.append({"path": name, "reason": reason})
                continue
            if info.compress_size and info.file_size / info.compress_size > limits.max_ratio:
                raise UserError(lazy("'{file}' expands {ratio:.0f}x when unpacked.", file=name,
                                     ratio=info.file_size / info.compress_size),
                                lazy("That is how zip bombs look; TransferLab refuses it. Re-zip real image files."))
            members.append((name, info))
        if len(members) > limits.max_files:
            raise UserError(lazy("The zip holds {count:,} files, more than the limit of {limit:,}.", count=len(members),
                                 limit=limits.max_files),
                            lazy("Upload a smaller dataset, or point TransferLab at a folder on disk."))
        if sum(info.file_size for _, info in members) > limits.max_total_bytes:
            raise _too_big(limits)
        budget = limits.max_total_bytes
        try:
            partial.mkdir(parents=True)
            root = partial.resolve()
            for name, info in members:
                destination = (partial / name).resolve()
                if not destination.is_relative_to(root):  # belt and braces after the '..' check
                    skipped.append({"path": name, "reason": lazy("would be written outside the dataset folder")})
                    continue
                destination.parent.mkdir(parents=True, exist_ok=True)
                with archive.open(info) as member:
                    budget -= _copy_capped(member, destination, budget)
            (partial / MANIFEST).write_text(json.dumps({"skipped": [_stored(entry) for entry in skipped]}))
            partial.rename(target)
        except _OverBudget:
            raise _too_big(limits) from None
        except OSError as error:
            if not storage.is_disk_full(error):
                raise
            raise storage.disk_full_error(lazy("the unpacked upload"), target.parent,
                                          sum(info.file_size for _, info in members)) from error
        except (zipfile.BadZipFile, EOFError, zipfile.LargeZipFile) as error:
            raise UserError(lazy("The zip is damaged and could not be unpacked ({error}).", error=str(error)),
                            lazy("Create the zip again and re-upload it.")) from error
        finally:
            shutil.rmtree(partial, ignore_errors=True)
    return skipped


def import_zip(source: str | Path | bytes, uploads_dir: Path, limits: ZipLimits = ZipLimits()) -> Path:
    """Unpack an uploaded zip once: the same bytes always land in the same folder (and reuse it)."""
    if isinstance(source, bytes):
        digest = hashlib.sha256(source).hexdigest()[:16]
        import io
        stream: str | Path | BinaryIO = io.BytesIO(source)
    else:
        digest = _file_digest(Path(source))
        stream = source
    target = Path(uploads_dir) / digest
    if not (target / MANIFEST).is_file():
        shutil.rmtree(target, ignore_errors=True)
        target.parent.mkdir(parents=True, exist_ok=True)
        extract_zip(stream, target, limits)
    return target


def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()[:16]


def _stored(entry: dict) -> dict:
    """A skipped entry for the manifest: its reason as a lazy Text's JSON, to speak the reader's language."""
    reason = entry["reason"]
    return {**entry, "reason": reason.to_json() if isinstance(reason, Text) else reason}


def import_skips(folder: Path) -> list[dict]:
    """What was dropped while unpacking ``folder`` (empty for folders that were not uploads); each reason a
    lazy Text (or plain text, from a manifest written before translations)."""
    manifest = Path(folder) / MANIFEST
    if not manifest.is_file():
        return []
    entries = json.loads(manifest.read_text())["skipped"]
    return [{**entry, "reason": Text.from_json(reason) if isinstance(reason := entry["reason"], dict) else reason}
            for entry in entries]
