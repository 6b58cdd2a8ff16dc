"""A `python -m core ...` command in a child process, followed by a page: the work never runs on the script
thread (a range test or a dataset examination takes seconds to minutes on a laptop). The child prints its
progress on stderr and one JSON object, last, on stdout; ``settle`` reads the answer once it has ended.
Used by the learning-rate finder (ui/lr_finder.py) and the dataset doctor (ui/doctor_view.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from core import i18n
from core.i18n import N_, _

ROOT = Path(__file__).resolve().parents[1]
CLI_ERROR = "error: {message}"  # how the command line starts its last words (core/__main__.py), translated there


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


def settle(found: dict, what: str = N_("the command")) -> None:
    """Once the child has ended: its JSON answer into ``found["result"]``, else its reason into ``error`` (in the
    current language; ``what``: what the child did, as a noun, marked for the catalogue where it is written)."""
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
    log = Path(found["folder"]) / "progress.log"
    return [line for line in log.read_text(errors="replace").splitlines() if line.strip()] if log.is_file() else []


def last_count(found: dict, prefix: str) -> tuple[int, int] | None:
    """(done, total) from the child's last "<prefix> done/total" line, None before the first."""
    counted = [line for line in progress_lines(found) if line.startswith(prefix + " ")]
    if not counted:
        return None
    done, _, total = counted[-1].split()[1].partition("/")
    try:
        return int(done), int(total)
    except ValueError:
        return None


def running(found: dict | None) -> bool:
    return bool(found) and found["process"] is not None
