"""Your own runs as backbones: pretrain, then transfer.

``run:RUN_DIR`` names the trained network of a finished run without its head: the architecture of
the run's own backbone, with the run's weights. Feature extraction, fine-tuning and adaptation all
work from it; the feature cache keys on a hash of its weights. Only runs that changed their
backbone qualify (fine-tuning, from scratch): a feature-extraction run's backbone is the pretrained
one it started from, so that one is named instead.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
from pathlib import Path

from core import backbones, runs
from core.backbones import Availability, BackboneSpec
from core.errors import UserError

PREFIX = "run:"


def name_for(run_dir: str | Path) -> str:
    return PREFIX + str(Path(run_dir))


def usable(run: runs.Run) -> bool:
    """A finished run whose training changed its backbone, with weights to reuse."""
    from core import strategies

    if run.status != "finished" or not run.has_weights():
        return False
    learner = strategies.find(run.config().get("strategy", ""))
    return learner is not None and learner.changes_backbone


@functools.lru_cache(maxsize=64)
def _weights_hash(path: str, size: int, modified: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]


def _resolve(name: str) -> BackboneSpec | None:
    if not name.startswith(PREFIX):
        return None
    run = runs.Run(Path(name[len(PREFIX):]).expanduser())
    if not run.has_config():
        raise UserError(f"{name[len(PREFIX):]} is not a run folder (it has no config.json).",
                        "Give a finished run's folder (`python -m core runs`), as run:FOLDER.")
    config = run.config()
    if not usable(run):
        learner = config.get("strategy", "?")
        why = "it has not finished" if run.status != "finished" else (
            "feature extraction leaves the backbone as it was: use that backbone itself"
            if learner == "feature_extract" else f"its strategy ({learner}) trains no network to reuse")
        raise UserError(f"Run {run.id} cannot serve as a backbone: {why}.",
                        "Pick a finished fine-tuning or from-scratch run.")
    base = backbones.get(config["backbone"])
    weights = run.weights_path
    stat = weights.stat()
    weights_id = _weights_hash(str(weights), stat.st_size, stat.st_mtime_ns)
    summary = run.summary() or {}
    accuracy = summary.get("best_val_acc")

    def build(pretrained: bool):
        network = base.build(False)  # the architecture; the run's weights replace any it had
        if pretrained:
            state = {key[len("backbone."):]: value for key, value in run.load_weights().items()
                     if key.startswith("backbone.")}
            missing, unexpected = network.load_state_dict(state, strict=False)
            if missing or unexpected:
                raise runs.DamagedRun(f"The weights of run {run.id} do not fit {base.title}.",
                                      "The run folder may be damaged; train it again.")
        return network

    data = str(config.get("data", ""))
    return dataclasses.replace(
        base, name=name, title=f"Your model: {run.id}", family="your runs", source="run", pretrained=True,
        summary=f"{base.title} trained on {Path(data).name or data} ({config.get('strategy')}"
                + (f", {accuracy:.1%} validation accuracy" if isinstance(accuracy, (int, float)) else "") + ").",
        build=build, weights_id=weights_id,
        check_weights=lambda: Availability("local", f"Trained in run {run.id}."))


def describe_runs(runs_dir: str | Path, modality: str) -> list[dict]:
    """The runs that can serve as backbones for ``modality``, newest first, for the Model page."""
    found = []
    for run in runs.list_runs(runs_dir):
        try:
            if not usable(run):
                continue
            config, summary = run.config(), run.summary() or {}
            if summary.get("modality", "image") != modality:
                continue
        except (OSError, json.JSONDecodeError, runs.DamagedRun):
            continue
        found.append({"name": name_for(run.dir), "id": run.id, "data": str(config.get("data", "")),
                      "strategy": config.get("strategy"), "backbone": config.get("backbone"),
                      "best_val_acc": summary.get("best_val_acc")})
    return found


backbones.add_resolver(_resolve)
