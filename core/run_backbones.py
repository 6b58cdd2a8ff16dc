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
from core.i18n import lazy
from core.runs import Summary

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
        raise UserError(lazy("{folder} is not a run folder (it has no config.json).", folder=name[len(PREFIX):]),
                        lazy("Give a finished run's folder (`python -m core runs`), as run:FOLDER."))
    config = run.config()
    if not usable(run):
        learner = config.get("strategy", "?")
        hint = lazy("Pick a finished fine-tuning or from-scratch run.")
        if run.status != "finished":
            raise UserError(lazy("Run {run} cannot serve as a backbone: it has not finished.", run=run.id), hint)
        from core import strategies

        if strategies.find(learner) and strategies.get(learner).on_features:  # the backbone left as it was
            raise UserError(lazy("Run {run} cannot serve as a backbone: feature extraction leaves the backbone as it "
                                 "was: use that backbone itself.", run=run.id), hint)
        raise UserError(lazy("Run {run} cannot serve as a backbone: its strategy ({strategy}) trains no network to "
                             "reuse.", run=run.id, strategy=learner), hint)
    base = backbones.get(config["backbone"])
    weights = run.weights_path
    stat = weights.stat()
    weights_id = _weights_hash(str(weights), stat.st_size, stat.st_mtime_ns)
    summary = run.summary() or {}
    accuracy = summary.get(Summary.BEST_VAL_ACC)

    def build(pretrained: bool):
        network = base.build(False)  # the architecture; the run's weights replace any it had
        if pretrained:
            state = {key[len("backbone."):]: value for key, value in run.load_weights().items()
                     if key.startswith("backbone.")}
            missing, unexpected = network.load_state_dict(state, strict=False)
            if missing or unexpected:
                raise runs.DamagedRun(lazy("The weights of run {run} do not fit {backbone}.", run=run.id,
                                           backbone=base.title_text),
                                      lazy("The run folder may be damaged; train it again."))
        return network

    data = str(config.get("data", ""))
    if isinstance(accuracy, (int, float)):
        summary = lazy("{backbone} trained on {data} ({strategy}, {accuracy:.1%} validation accuracy).",
                       backbone=base.title_text, data=Path(data).name or data, strategy=str(config.get("strategy")),
                       accuracy=accuracy)
    else:
        summary = lazy("{backbone} trained on {data} ({strategy}).", backbone=base.title_text,
                       data=Path(data).name or data, strategy=str(config.get("strategy")))
    return dataclasses.replace(
        base, name=name, title=lazy("Your model: {run}", run=run.id), family="your runs", source="run",
        pretrained=True, summary=summary, build=build, weights_id=weights_id,
        check_weights=lambda: Availability("local", lazy("Trained in run {run}.", run=run.id)))


def describe_runs(runs_dir: str | Path, modality: str) -> list[dict]:
    """The runs that can serve as backbones for ``modality``, newest first, for the Model page."""
    found = []
    for run in runs.list_runs(runs_dir):
        try:
            if not usable(run):
                continue
            config, summary = run.config(), run.summary() or {}
            finished = (run.dir / runs.SUMMARY).stat().st_mtime
            if summary.get("modality", "image") != modality:
                continue
        except (OSError, json.JSONDecodeError, runs.DamagedRun):
            continue
        found.append({"name": name_for(run.dir), "id": run.id, "data": str(config.get("data", "")),
                      "strategy": config.get("strategy"), "backbone": config.get("backbone"),
                      Summary.BEST_VAL_ACC: summary.get(Summary.BEST_VAL_ACC),
                      "finished": finished})
    return found


backbones.add_resolver(_resolve)
