"""fit(config) -> summary: one training from settings to a finished run folder.

Checks the settings against the data and the backbone, locks the run folder, hands a
``loop.Session`` to the strategy (core/strategies/), retries with smaller batches after running out
of memory, and writes the results. The epochs themselves are core/loop.py's. Events are plain
dicts: start, features, batch, epoch, early_stop, notice, interrupted, end, error.
"""

from __future__ import annotations

import dataclasses
import gc
import random
import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from core import adaptation, backbones, costs, data, i18n, inference, loop, metrics, runs, strategies
from core.device import distributed
from core.data import domains
from core.config import TrainConfig
from core.device import describe_device, pick_device
from core.errors import UserError
from core.i18n import lazy
from core.data.report import DataReport
from core.runs import Summary

EventHandler = Callable[[dict], None]


class Reporter:
    """Append each event to the run's events.jsonl and hand it to the caller."""

    def __init__(self, run: runs.Run, on_event: EventHandler | None) -> None:
        self.run, self.on_event = run, on_event

    def __call__(self, kind: str, **values) -> None:
        event = {"kind": kind, "time": round(time.time(), 3), **values}
        if "message" in values:  # a lazy Text: its words now, and its id to translate when read
            event.update(i18n.for_event(values["message"]))
        self.run.append_event(event)
        if self.on_event:
            self.on_event(event)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


StopCheck = Callable[[], "bool | str | None"]


def _stop_checker(run: runs.Run, should_stop: StopCheck) -> Callable[[], str | None]:
    """None while training should go on, else the status to end with: "stopped" (someone asked,
    here or through the run's stop file) or "interrupted" (the process is going away; resumable)."""
    def reason() -> str | None:
        asked = should_stop()
        if asked:
            return asked if isinstance(asked, str) else "stopped"
        return "stopped" if run.stop_requested() else None
    return reason


def checked(config: TrainConfig, strategy: strategies.Strategy, spec: backbones.BackboneSpec,
            report: DataReport) -> DataReport:
    """Refuse settings that cannot train on this data, saying why; the data to train on (``per_class``:
    a seeded subset of each class; the features stay the whole data's)."""
    if strategy.uses_backbone:
        if spec.modality != report.modality and report.modality == "text":
            raise UserError(lazy("{backbone} is an image backbone but the data holds texts.", backbone=spec.title),
                            lazy("Pick a text backbone (`python -m core backbones --modality text`)."))
        if spec.modality != report.modality:
            raise UserError(lazy("{backbone} is a text backbone but the data holds images.", backbone=spec.title),
                            lazy("Pick an image backbone (`python -m core backbones --modality image`)."))
        strategy.check(spec)
        if strategy.pretrained and not spec.availability().available:
            raise UserError(lazy("The weights of {backbone} are not on this machine.", backbone=spec.title),
                            spec.availability().detail)
    if not report.val:
        raise UserError(lazy("There is no validation data, so progress cannot be measured."),
                        lazy("Add validation examples, or let TransferLab split the data automatically."))
    return report.at_most_per_class(config.per_class, config.seed) if config.per_class else report


def fit(config: TrainConfig, run: runs.Run | None = None, on_event: EventHandler | None = None,
        should_stop: StopCheck = lambda: False, resume: bool = False,
        world: distributed.World = distributed.SINGLE) -> dict:
    """Train as ``config`` says; return the summary (also written to the run folder).

    ``run``: a prepared run folder (else a new one is made). ``resume``: continue from the run's
    checkpoint (the last finished epoch), or start it over when it has none. ``should_stop`` is
    polled between batches; a string it returns becomes the final status (e.g. "interrupted").
    ``world``: the processes of a distributed training (core/device/distributed.py); rank 0 owns the run folder.
    """
    started = time.perf_counter()
    config.validated()
    strategy = strategies.get(config.strategy)
    spec = backbones.get(config.backbone)
    if not world.main:
        world.barrier()  # rank 0 prepares the data first (unpacks a zip, builds a sample); then the others read it
    report = data.load_dataset(config.data, config.val_fraction, config.seed, config.text_column, config.label_column,
                               config.encoding)
    if world.main:
        world.barrier()
    report = checked(config, strategy, spec, report)
    target = domains.load_target(config.target, report) if config.target else None
    device = world.device(pick_device(config.device))
    if world.active and config.dp_epsilon is not None:
        raise UserError(lazy("Private training does not run on several processes yet (each would spend its own "
                             "budget)."), lazy("Run it as one process (python -m core train ...)."))
    if world.active and type(strategy).epoch_start is not strategies.Strategy.epoch_start:
        raise UserError(lazy("{strategy} does not train on several processes yet (it changes what trains between "
                             "epochs, and the processes fix that when they start).", strategy=strategy.title_text),
                        lazy("Run it as one process."))
    if world.active and config.adapt in adaptation.names() and not adaptation.get(config.adapt).distributed:
        raise UserError(lazy("{method} does not train on several processes yet (what it adds to the training is not "
                             "shared between them).", method=adaptation.get(config.adapt).short_text),
                        lazy("Run it as one process (python -m core train ...), or pick another adaptation."))
    if world.main:
        run = run or runs.create_run(config.out_dir, config.model_label, config.strategy
                                     + (f"-{config.per_class}-per-class" if config.per_class else ""))
    folder = world.broadcast(str(run.dir) if world.main else None)
    if not world.main:  # the same folder, read and never written: rank 0 writes
        run, on_event = runs.FollowerRun(Path(folder)), None
    with run.training_lock():
        if resume and run.recorded_status == "finished":
            raise UserError(lazy("Run {run} already finished.", run=run.id),
                            lazy("Start a new run with the same settings instead."))
        session = loop.Session(config, strategy, spec, report, device, Reporter(run, on_event),
                               world.agreeing(_stop_checker(run, should_stop)), run,
                               feature_batch=config.batch_size,
                               target=target, world=world)
        return _fit_in(session, resume, started)


def _launch() -> dict:
    """How this run's process began (core/jobs.py says so in its environment): ``warm``, in a process that had
    imported everything before the run was handed to it (core/worker.py); ``launch_seconds``, from the
    supervisor handing the run over to this moment."""
    import os

    launched = os.environ.get("TRANSFERLAB_LAUNCHED_AT")
    if not launched:
        return {}
    try:
        return {"warm": os.environ.get("TRANSFERLAB_WARM") == "1",
                "launch_seconds": round(time.time() - float(launched), 3)}
    except ValueError:
        return {}


def _fit_in(session: loop.Session, resume: bool, started: float) -> dict:
    """fit(), with the run folder locked by this process."""
    run, config, spec, report, device, emit = (session.run, session.config, session.spec, session.report,
                                               session.device, session.emit)
    run.clear_stop()
    run.set_status("running")
    checkpoint = session.checkpoint = loop.Checkpoint.read(run) if resume else None
    if not resume:
        run.drop_checkpoint()
    write_config = lambda: run.write_config({  # noqa: E731
        "config": config.to_dict(), "versions": runs.versions(), "device": describe_device(device),
        "backbone": backbones.to_json(spec)})
    write_config()
    run.write_labels(report.classes)
    run.write_data(report.to_dict())
    try:
        seed_everything(config.seed)
        emit("start", run_dir=str(run.dir), device=describe_device(device), strategy=config.strategy, **_launch(),
             backbone=config.backbone, epochs=config.epochs, classes=report.classes, modality=report.modality,
             train_images=len(report.train), val_images=len(report.val), columns=report.details.get("guessed")
             and {"text": report.details["text_column"], "label": report.details["label_column"]},
             encoding=report.details.get("encoding_title") and {
                 "name": report.details["encoding"], "title": report.details["encoding_title"],
                 "confidence": report.details["encoding_confidence"], "chosen_by": report.details["encoding_chosen_by"]},
             language=report.details.get("language"),
             target=session.target and {"name": session.target.name, "items": len(session.target.items),
                                        "labelled": session.target.labelled, "adapt": config.adapt},
             resumed_from_epoch=checkpoint.epoch if checkpoint else None)
        warning = language_warning(spec, report, config.strategy)
        if warning:
            emit("notice", message=warning)
        while True:
            try:
                outcome = session.strategy.fit(session)
                break
            except Exception as error:  # out of memory: retry with smaller batches where that is safe
                if not is_out_of_memory(error):
                    raise
                _smaller_batches(session)
                config = session.config
                write_config()
                session.checkpoint = loop.Checkpoint.read(run)
        if not session.world.main:  # rank 0 writes the results; the others are done
            return {"status": outcome["status"], "run_dir": str(run.dir), "rank": session.world.rank}
        if outcome["status"] == "interrupted":  # the process is going away: keep the checkpoint, be quick
            run.set_status("interrupted")
            emit("interrupted", epochs=outcome["epochs"],
                 message=lazy("Interrupted; resume with `python -m core train --run {run_dir}`.", run_dir=str(run.dir)))
            return {"status": "interrupted", "run_dir": str(run.dir), "epochs": outcome["epochs"]}
        outcome.update(seconds=round(time.perf_counter() - started, 3), device=describe_device(device),
                       run_dir=str(run.dir), strategy=config.strategy,
                       backbone=config.backbone if session.strategy.uses_backbone else config.strategy,
                       modality=report.modality, data=config.data, num_classes=len(report.classes),
                       train_images=len(report.train), val_images=len(report.val), epochs_planned=config.epochs,
                       group=config.group, per_class=config.per_class, world_size=session.world.size)
        outcome.update(costs.ledger(session.feature_passes, outcome["seconds"]))
        _write_results(run, report, outcome, head_only=session.strategy.on_features)
        if session.target is not None:
            outcome.setdefault("adapt", config.adapt)
            outcome["target"] = config.target
            if Summary.TARGET_ACC not in outcome and outcome.get(Summary.BEST_VAL_ACC) is not None:
                outcome[Summary.TARGET_ACC] = inference.score_target(run.dir, session.target)
        run.write_summary(outcome)
        if outcome["status"] == "finished":
            run.drop_checkpoint()
        run.set_status(outcome["status"])
        emit("end", summary=outcome)
        return outcome
    except BaseException as error:
        said = error.to_event() if isinstance(error, UserError) else i18n.for_event(i18n.lazy(
            "Training failed unexpectedly: {error}", error=type(error).__name__ + ": " + str(error)))
        try:
            run.set_status("failed")
            emit("error", **said, detail=repr(error))
        except Exception:  # a full disk may refuse even these few bytes: the CLI still prints the message
            pass
        raise


def language_warning(spec: backbones.BackboneSpec, report: data.DataReport, strategy: str) -> str | None:
    """Said before training: an encoder trained on English alone will read texts in another language poorly."""
    from core.data import languages

    learner = strategies.get(strategy)
    if report.modality != "text" or not (learner.uses_backbone and learner.pretrained):
        return None
    return languages.encoder_warning(spec.title, spec.languages, languages.from_dict(report.details.get("language")))


def is_out_of_memory(error: BaseException) -> bool:
    text = str(error)
    return isinstance(error, torch.OutOfMemoryError) or (
        isinstance(error, RuntimeError) and ("out of memory" in text or "can't allocate memory" in text))


def _smaller_batches(session: loop.Session) -> None:
    """After running out of memory: the same training with half as many examples in memory at once.

    Safe because nothing the model learns changes: the feature pass just takes smaller bites, and
    fine-tuning adds up the gradients of two half batches into the same optimizer step.
    """
    config, feature_batch, emit = session.config, session.feature_batch, session.emit
    gc.collect()
    if session.device.type == "cuda":
        torch.cuda.empty_cache()
    if session.strategy.on_features:
        if feature_batch <= 1:
            raise UserError(lazy("Out of memory even with one example at a time."),
                            lazy("Pick a smaller backbone, or close other programs using the memory."))
        emit("notice", message=lazy("Out of memory computing features {batch} at a time; continuing {half} at a time.",
                                    batch=feature_batch, half=feature_batch // 2))
        session.feature_batch = feature_batch // 2
        return
    micro = config.micro_batch_size or config.batch_size
    if config.dp_epsilon is not None:  # DP-SGD clips whole batches' per-example gradients: no accumulation
        raise UserError(lazy("Out of memory training privately with batches of {batch_size}: every example's "
                             "gradient is kept apart, so a batch needs about that many times the model's memory.",
                             batch_size=config.batch_size),
                        lazy("Use a smaller batch size, a smaller backbone, or feature extraction (its head always "
                             "fits)."))
    if micro <= 1:
        shorter = session.report.modality == "text" and config.max_length > 64
        raise UserError(lazy("Out of memory even with one example per step."),
                        lazy("Use a shorter max length, pick a smaller backbone, or use feature extraction (it needs "
                             "far less memory).") if shorter else
                        lazy("Pick a smaller backbone, or use feature extraction (it needs far less memory)."))
    session.config = dataclasses.replace(config, micro_batch_size=micro // 2)
    emit("notice", message=lazy("Out of memory with {micro} examples per step; continuing with {half} per step and "
                                "adding up gradients, so each update still sees {batch_size}.", micro=micro,
                                half=micro // 2, batch_size=config.batch_size))


def _write_results(run: runs.Run, report: data.DataReport, outcome: dict, head_only: bool) -> None:
    """Best weights (full-model key names), validation predictions, and their scores into the run."""
    state = outcome.pop("best_state", None)
    evaluation = outcome.pop("best_predictions", None)
    if state is not None:
        run.save_weights({f"head.{k}": v for k, v in state.items()} if head_only else state)
    if evaluation is None:
        outcome.update(best_val_macro_f1=None, confusion_matrix=[], per_class=[])
        return
    probabilities, labels = evaluation["probabilities"], evaluation["labels"].tolist()
    predicted = probabilities.argmax(1).tolist()
    rows = [{"item": key, "label": label, "predicted": guess, "confidence": round(float(p[guess]), 5),
             "true_probability": round(float(p[label]), 5), "probabilities": [round(float(x), 5) for x in p]}
            for (key, label), guess, p in zip(report.val, predicted, probabilities)]
    run.write_predictions(rows)
    scores = metrics.summarize_predictions(labels, predicted, report.classes)
    outcome.update(best_val_macro_f1=scores["macro_f1"], confusion_matrix=scores["confusion_matrix"],
                   per_class=scores["per_class"])
