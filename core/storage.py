"""Writing files so that a full disk costs nothing: partial files go, the message says where and how much.

Every file TransferLab writes (an unpacked upload, the feature cache, a checkpoint, weights, an
export) is written to a partial name and renamed into place when complete. ``guard`` wraps such a
write: when the disk fills up (ENOSPC, or a quota: EDQUOT) it removes the partial files and raises
a UserError naming the folder, about how much space the write needed, and how much is free.
"""

from __future__ import annotations

import errno
import os
import shutil
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable, Iterator

from core.errors import UserError
from core.i18n import Text, lazy

NEARLY_FULL = 1 << 20  # bytes
FULL = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC), errno.EFBIG}


def is_disk_full(error: BaseException) -> bool:
    return isinstance(error, OSError) and error.errno in FULL or (
        # safetensors and torch wrap the OS error in their own types: read the message
        not isinstance(error, OSError) and ("No space left on device" in str(error) or "os error 28" in str(error)))


def free_bytes(folder: str | Path) -> int | None:
    """Free space where ``folder`` is (or would be), None if it cannot be told."""
    path = Path(folder)
    while not path.exists() and path != path.parent:
        path = path.parent
    try:
        return shutil.disk_usage(path).free
    except OSError:
        return None


def size_text(count: int | float | None) -> str:
    """A number of bytes for a person, in the current language: "1.5 MB"."""
    return str(_size(count))


def _size(count: int | float | None) -> Text | str:
    """``size_text`` as a lazy Text where it has words, for a message that is kept and shown later."""
    if count is None:
        return lazy("an unknown amount")
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if count >= scale:
            return f"{count / scale:.1f} {unit}"
    return lazy("{count} bytes", count=int(count))


def disk_full_error(what: str | Text, folder: str | Path, needed: int | None = None) -> UserError:
    """``what``: the thing that could not be written, as a noun ("the feature cache"; a lazy Text)."""
    free = free_bytes(folder)
    hint = lazy("Free some space on that disk, or move TransferLab's workspace to a bigger one (set TRANSFERLAB_HOME, "
                "or TRANSFERLAB_CACHE / TRANSFERLAB_RUNS), then try again.")
    if needed:
        message = lazy("The disk is full: could not write {what} in {folder} (it needs about {needed}; {free} free).",
                       what=what, folder=str(folder), needed=_size(needed), free=_size(free))
    else:
        message = lazy("The disk is full: could not write {what} in {folder} (it needs more space; {free} free).",
                       what=what, folder=str(folder), free=_size(free))
    return UserError(message, hint)


def remove(paths: Iterable[Path]) -> None:
    for path in paths:
        path = Path(path)
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            try:
                path.unlink()
            except OSError:
                pass


@contextmanager
def guard(what: str | Text, folder: str | Path, needed: int | None = None,
          partial: Iterable[Path] = ()) -> Iterator[None]:
    """Run a write; if the disk is full, remove ``partial`` and raise a UserError that says so (``what``: the
    thing written, as a noun in a lazy Text: ``lazy("the feature cache")``)."""
    partial = list(partial)
    try:
        yield
    except UserError:
        raise
    except Exception as error:
        # torch.save on a full disk says only "unexpected pos 576 vs 534": a write that failed with
        # (almost) nothing left free is taken for what it is
        free = free_bytes(folder)
        if not (is_disk_full(error) or (free is not None and free < NEARLY_FULL)):
            raise
        remove(partial)
        raise disk_full_error(what, folder, needed) from error


def write_atomically(path: Path, content: str | bytes, what: str | Text | None = None) -> None:
    """Write ``content`` to ``path`` through a partial file renamed into place (``what``: as for ``guard``)."""
    path = Path(path)
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    data = content.encode() if isinstance(content, str) else content
    with guard(what or path.name, path.parent, len(data), [partial]):
        with open(partial, "wb") as handle:
            handle.write(data)
        os.replace(partial, path)
