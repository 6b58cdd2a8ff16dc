"""The run directory: plain files a person can read without the app. Only this module knows it.

    <out_dir>/<yyyymmdd-hhmmss>-<backbone>-<strategy>/
        config.json        the TrainConfig, versions, device, data summary
        labels.json        class names in index order
        data.json          the DataReport (exact split used)
        events.jsonl       one JSON object per line, appended as they happen
        best.safetensors   best weights: the head alone for feature extraction, else the whole model
        predictions.json   the best model's validation predictions
        summary.json       written once at the end, atomically
        status             running | finished | stopped | failed
"""

from __future__ import annotations

import json
import os
import platform
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import save_file

STATUSES = ("running", "finished", "stopped", "failed")


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

    def set_status(self, status: str) -> None:
        assert status in STATUSES, status
        _write_atomically(self.dir / "status", status + "\n")

    @property
    def status(self) -> str:
        path = self.dir / "status"
        return path.read_text().strip() if path.is_file() else "unknown"

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


def versions() -> dict[str, str]:
    import torchvision

    found = {"python": platform.python_version(), "torch": torch.__version__, "torchvision": torchvision.__version__}
    try:
        import timm
        found["timm"] = timm.__version__
    except ImportError:
        pass
    return found


def create_run(out_dir: str | Path, backbone: str, strategy: str) -> Run:
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
        run.set_status("running")
        return run
    raise RuntimeError(f"could not create a run folder in {out}")


def list_runs(out_dir: str | Path) -> list[Run]:
    """Every run under ``out_dir``, newest first."""
    out = Path(out_dir).expanduser()
    if not out.is_dir():
        return []
    return [Run(d) for d in sorted(out.iterdir(), reverse=True) if (d / "status").is_file()]
