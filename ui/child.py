"""A `python -m core ...` command in a child process, followed by a page: the work never runs on the script
thread (a range test or a dataset examination takes seconds to minutes on a laptop). The child prints its
progress on stderr and one JSON object, last, on stdout; ``settle`` reads the answer once it has ended.
Used by the learning-rate finder (ui/lr_finder.py) and the dataset doctor (ui/doctor_view.py).

Work that takes a second or two once its features are cached (the doctor) may instead run in a thread of
this server (``start_thread``): a new process would spend longer importing PyTorch and the libraries than
the work takes. The page follows both the same way (``running``, ``settle``, ``last_count``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Callable

from core import i18n
from core.i18n import N_, _

ROOT = Path(__file__).resolve().parents[1]
CLI_ERROR = "error: {message}"  # how the command line starts its last words (core/cli/__init__.py), translated there


def start(arguments: list[str], prefix: str, files: dict[str, str] | None = None, **meta) -> dict:
    """Start ``python -m core <arguments>``; ``files`` (name -> text) are written into its folder first and
    ``{name}`` in the arguments becomes their path. Returns what the page keeps: the process, its folder, the
    answer (``result``) or the reason it failed (``error``) once settled, and ``meta``. The child speaks the
    session's language (``TRANSFERLAB_LANG``), so the error it prints reads as the page does."""
    folder = Path(tempfile.mkdtemp(prefix=f"transferlab-{prefix}-"))
    for name, text in (files or {}).items():
        (folder / name).write_text(text, encoding="utf-8")
    for name in files or {}:  # str.replace, not str.format: "{config.json}" would read as config's attribute
        arguments = [argument.replace("{" + name + "}", str(folder / name)) for argument in arguments]
    with open(folder / "out.json", "wb") as out, open(folder / "progress.log", "wb") as err:
        process = subprocess.Popen([sys.executable, "-m", "core", *arguments], cwd=ROOT, stdin=subprocess.DEVNULL,
                                   stdout=out, stderr=err, env={**os.environ, "TRANSFERLAB_LANG": i18n.current()})
    return {"folder": str(folder), "process": process, "result": None, "error": None, **meta}


def start_thread(work: Callable[[Callable[[int, int], None]], dict], **meta) -> dict:
    """Run ``work(progress)`` in a thread of this server; what the page keeps, as ``start`` returns it. ``work``
    returns the answer (a dict, as the command's JSON); ``progress(done, total)`` feeds ``last_count``."""
    found = {"folder": None, "process": None, "result": None, "error": None, "count": None, "failure": None, **meta}

    def progress(done: int, total: int) -> None:
        found["count"] = (done, total)

    def target() -> None:
        try:
            found["answer"] = work(progress)
        except Exception as error:  # said by settle, on the script thread, in the page's language
            found["failure"] = error

    found["thread"] = thread = threading.Thread(target=target, name="transferlab-work", daemon=True)  # not-translated: a thread name
    thread.start()
    return found


def settle(found: dict, what: str = N_("the command")) -> None:
    """Once the child has ended: its JSON answer into ``found["result"]``, else its reason into ``error`` (in the
    current language; ``what``: what the child did, as a noun, marked for the catalogue where it is written)."""
    thread = found.get("thread")
    if thread is not None:
        if thread.is_alive():
            return
        failure, found["thread"] = found.pop("failure", None), None
        found["result"] = found.pop("answer", None)
        if failure is not None:
            from core.errors import UserError

            found["error"] = str(failure) if isinstance(failure, UserError) else f"{type(failure).__name__}: {failure}"
        return
    process = found["process"]
    if process is None or process.poll() is None:
        return
    folder = Path(found["folder"])
    lines = [line for line in (folder / "out.json").read_text(errors="replace").splitlines() if line.strip()]
    said = progress_lines(found)
    try:
        found["result"] = json.loads(lines[-1]) if process.returncode == 0 and lines else None
    except ValueError:
        found["result"] = None
    if found["result"] is None:
        prefixes = _error_prefixes()
        reason = next((line for line in reversed(said) if line.startswith(prefixes)), said[-1] if said else "")
        prefix = next((prefix for prefix in prefixes if reason.startswith(prefix)), "")
        found["error"] = reason[len(prefix):].strip() or _("{what} ended with exit code {code}.", what=_(what),
                                                            code=process.returncode)
    found["process"] = None


def _error_prefixes() -> tuple[str, ...]:
    """How the child's error line starts: "error:", or its word in the language the child speaks (this one)."""
    translated = i18n._(CLI_ERROR, message="").strip()
    return tuple(dict.fromkeys(prefix for prefix in ("error:", translated) if prefix))


def progress_lines(found: dict) -> list[str]:
    if found.get("folder") is None:
        return []
    log = Path(found["folder"]) / "progress.log"
    return [line for line in log.read_text(errors="replace").splitlines() if line.strip()] if log.is_file() else []


def last_count(found: dict, prefix: str) -> tuple[int, int] | None:
    """(done, total) from the child's last "<prefix> done/total" line, None before the first."""
    if found.get("folder") is None:  # a thread: its last progress call
        return found.get("count")
    counted = [line for line in progress_lines(found) if line.startswith(prefix + " ")]
    if not counted:
        return None
    done, _, total = counted[-1].split()[1].partition("/")
    try:
        return int(done), int(total)
    except ValueError:
        return None


def running(found: dict | None) -> bool:
    return bool(found) and (found["process"] is not None or found.get("thread") is not None)
