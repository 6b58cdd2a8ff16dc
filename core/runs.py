"""The run directory: plain files a person can read without the app. Only this module knows it.

    <out_dir>/<yyyymmdd-hhmmss>-<backbone>-<strategy>/
        config.json        the TrainConfig, versions, device, data summary
        labels.json        class names in index order
        data.json          the DataReport (exact split used)
        events.jsonl       one JSON object per line, appended as they happen
        best.safetensors   best weights: the head alone for feature extraction, else the whole model
        checkpoint.pt      the last finished epoch (weights, optimizer, schedule), to resume from;
                           removed when the run finishes
        predictions.json   the best model's validation predictions
        summary.json       written once at the end, atomically
        log.txt            what the training process printed (when the app started it)
        status             queued | running | finished | stopped | failed | interrupted
        stop               present when someone asked the run to stop
        .lock              held (flock) by the process training the run, while it trains

A status file saying "running" whose lock nobody holds means the process died mid-run: the run
reads as "interrupted" and can be resumed from its checkpoint.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import save_file

STATUSES = ("queued", "running", "finished", "stopped", "failed", "interrupted")
ENDED = ("finished", "stopped", "failed", "interrupted")

try:
    import fcntl
except ImportError:  # Windows: fall back to "is the recorded process alive?"
    fcntl = None


def _write_atomically(path: Path, text: str) -> None:
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(text)
    os.replace(partial, path)


@dataclass
class Run:
    dir: Path

    @property
    def id(self) -> str:
        return self.dir.name

    def write_json(self, name: str, value: Any) -> None:
        _write_atomically(self.dir / name, json.dumps(value, indent=2))

    def read_json(self, name: str, default: Any = None) -> Any:
        path = self.dir / name
        return json.loads(path.read_text()) if path.is_file() else default

    def append_event(self, event: dict) -> None:
        with open(self.dir / "events.jsonl", "a") as handle:
            handle.write(json.dumps(event) + "\n")

    def events(self) -> list[dict]:
        path = self.dir / "events.jsonl"
        if not path.is_file():
            return []
        lines = path.read_text().splitlines()
        return [json.loads(line) for line in lines if line.strip().endswith("}")]  # skip a half-written last line

    def attempt_events(self) -> list[dict]:
        """The events since the last start: a resumed run appends a new attempt to the same file."""
        events = self.events()
        starts = [i for i, e in enumerate(events) if e["kind"] == "start"]
        return events[starts[-1]:] if starts else events

    def history(self) -> list[dict]:
        """Epoch records in order, one per epoch (an epoch redone after a resume counts once, last wins)."""
        return epoch_history(self.events())

    def set_status(self, status: str) -> None:
        assert status in STATUSES, status
        _write_atomically(self.dir / "status", status + "\n")

    @property
    def recorded_status(self) -> str:
        """What the status file says, without checking that a "running" run's process is alive."""
        try:
            return (self.dir / "status").read_text().strip() or "unknown"
        except FileNotFoundError:
            return "unknown"

    @property
    def status(self) -> str:
        """queued | running | finished | stopped | failed | interrupted (running, but its process is gone)."""
        status = self.recorded_status
        return "interrupted" if status == "running" and not self.is_alive() else status

    # -- the training process's lock: alive while held --------------------------------------------
    @contextmanager
    def training_lock(self):
        """Held by the process that trains this run; raises UserError if another process holds it."""
        from core.errors import UserError

        handle = open(self.dir / ".lock", "a+")
        try:
            if fcntl is not None:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError:
                    raise UserError(f"Run {self.id} is being trained by another process.",
                                    "Wait for it to end, or stop it first.") from None
            handle.seek(0)
            handle.truncate()
            handle.write(str(os.getpid()))
            handle.flush()
            yield
        finally:
            handle.close()  # closing releases the lock

    def is_alive(self) -> bool:
        """Is a process training this run right now?"""
        path = self.dir / ".lock"
        if not path.is_file():
            return False
        if fcntl is None:
            try:
                os.kill(int(path.read_text() or 0), 0)
                return True
            except (OSError, ValueError):
                return False
        with open(path, "a+") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                return True
            fcntl.flock(handle, fcntl.LOCK_UN)
            return False

    # -- asking a run to stop, from any process -----------------------------------------------------
    def request_stop(self) -> None:
        (self.dir / "stop").touch()

    def stop_requested(self) -> bool:
        return (self.dir / "stop").exists()

    def clear_stop(self) -> None:
        (self.dir / "stop").unlink(missing_ok=True)

    # -- resuming -----------------------------------------------------------------------------------
    def save_checkpoint(self, state: dict) -> None:
        """Everything to continue after an epoch (tensors, numbers, lists, dicts: loads with weights_only)."""
        partial = self.dir / ".checkpoint.pt.partial"
        torch.save(state, partial)
        os.replace(partial, self.dir / "checkpoint.pt")

    def load_checkpoint(self) -> dict | None:
        path = self.dir / "checkpoint.pt"
        return torch.load(path, map_location="cpu", weights_only=True) if path.is_file() else None

    def has_checkpoint(self) -> bool:
        return (self.dir / "checkpoint.pt").is_file()

    def drop_checkpoint(self) -> None:
        (self.dir / "checkpoint.pt").unlink(missing_ok=True)

    def can_resume(self) -> bool:
        """Interrupted runs continue from their last epoch (or start over if none ended); stopped or
        failed ones can continue when they left a checkpoint."""
        if not (self.dir / "config.json").is_file():
            return False
        status = self.status
        return status == "interrupted" or (status in ("stopped", "failed") and self.has_checkpoint())

    def delete(self) -> None:
        from core.errors import UserError

        if self.status in ("running", "queued") or self.is_alive():
            raise UserError(f"Run {self.id} is {self.status}.", "Stop it first, then delete it.")
        shutil.rmtree(self.dir)

    def save_weights(self, state: dict[str, torch.Tensor]) -> None:
        partial = self.dir / ".best.safetensors.partial"
        save_file({k: v.detach().cpu().contiguous() for k, v in state.items()}, partial)
        os.replace(partial, self.dir / "best.safetensors")

    def summary(self) -> dict | None:
        return self.read_json("summary.json")

    def config(self) -> dict:
        return self.read_json("config.json", {}).get("config", {})

    def labels(self) -> list[str]:
        return self.read_json("labels.json", [])


def epoch_history(events: list[dict]) -> list[dict]:
    by_epoch = {e["epoch"]: e for e in events if e["kind"] == "epoch"}
    return [by_epoch[k] for k in sorted(by_epoch)]


def versions() -> dict[str, str]:
    import torchvision

    found = {"python": platform.python_version(), "torch": torch.__version__, "torchvision": torchvision.__version__}
    try:
        import timm
        found["timm"] = timm.__version__
    except ImportError:
        pass
    return found


def create_run(out_dir: str | Path, backbone: str, strategy: str, status: str = "running") -> Run:
    """A new, empty run folder with a sortable, readable, unique name."""
    out = Path(out_dir).expanduser()
    out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    for attempt in range(1000):
        name = f"{stamp}-{backbone}-{strategy}" + (f"-{attempt + 1}" if attempt else "")
        try:
            (out / name).mkdir()
        except FileExistsError:
            continue
        run = Run(out / name)
        run.set_status(status)
        return run
    raise RuntimeError(f"could not create a run folder in {out}")


def list_runs(out_dir: str | Path) -> list[Run]:
    """Every run under ``out_dir``, newest first."""
    out = Path(out_dir).expanduser()
    if not out.is_dir():
        return []
    return [Run(d) for d in sorted(out.iterdir(), reverse=True) if (d / "status").is_file()]


def describe(run: Run) -> dict:
    """One row of the run history: what, on which data, how well, how long, and where it stands."""
    config = run.config()
    summary = run.summary() or {}
    events = run.events()
    history = epoch_history(events)
    times = [e["time"] for e in events if "time" in e]
    status = run.status
    best = summary.get("best_val_acc") if summary else max((e["val_acc"] for e in history), default=None)
    return {
        "id": run.id, "dir": str(run.dir), "status": status,
        "started": datetime.fromtimestamp(times[0] if times else run.dir.stat().st_mtime).isoformat(
            timespec="seconds"), "data": config.get("data", ""),
        "backbone": "tfidf" if config.get("strategy") == "tfidf" else config.get("backbone", ""),
        "strategy": config.get("strategy", ""), "group": config.get("group"),
        "epochs": len(history), "epochs_planned": config.get("epochs"),
        "best_val_acc": best, "best_val_macro_f1": summary.get("best_val_macro_f1"),
        "final_train_acc": history[-1]["train_acc"] if history else None,
        "seconds": summary.get("seconds", round(times[-1] - times[0], 3) if len(times) > 1 else None),
        "trainable_params": summary.get("trainable_params"), "can_resume": run.can_resume()}
