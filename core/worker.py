"""A warm training process: ``python -m core worker``, started by jobs.Supervisor before it is needed.

Starting a training process costs seconds on a laptop (importing torch, building the backbone), and a
feature-extraction run's first pass costs more. A worker pays both while the person still looks at the
data and the settings: it imports everything, then follows one-line commands on stdin:

    prepare <TrainConfig JSON>   compute the features a run with these settings will need, in the
                                 background (core/features.py: start_background); a new preparation
                                 replaces the old one, unless it needs the same features
    cancel                       stop the preparation (the CPU is free again)
    run <RUN_DIR>                train that prepared run folder exactly as
                                 ``python -m core train --run RUN_DIR --stop-with-parent --quiet`` does,
                                 output to RUN_DIR/log.txt; the run joins the background pass when it
                                 needs the same features, else cancels it first; then the worker exits

and says what it is doing as JSON lines on stdout (``state``: idle, loading, computing, ready, cancelled,
skipped, failed; ``done``, ``total``, ``title``, ``seconds``, ``message``, and ``text``: the message as a
sentence to translate where it is read, i18n.for_event). End of input (the server went
away) ends it at once. Only this module and jobs.py know this protocol.
"""

from __future__ import annotations

import importlib
import functools
import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import Callable, TextIO

from core import i18n
from core.i18n import lazy

PROGRESS_EVERY = 0.5  # seconds between progress lines while computing

Say = Callable[[dict], None]


class Preparer:
    """Prepares this worker's next run: loads the data, then starts the background feature pass (what it says is
    read by core/jobs.py as a ``Preparation``)."""

    def __init__(self, config, say: Say) -> None:
        self.config, self.say = config, say
        self.background = None
        self._shown = 0.0
        self._abandoned = threading.Event()
        self._thread = threading.Thread(target=self._load_and_start, name="prepare", daemon=True)
        self._thread.start()

    def _load_and_start(self) -> None:
        from core import backbones, data, features, strategies
        from core.device import pick_device

        config, say = self.config, self.say
        try:
            strategy, spec = strategies.get(config.strategy), backbones.get(config.backbone)
            skipped = lazy("{strategy} computes no features ahead.", strategy=strategy.title_text) \
                if not strategy.on_features else \
                lazy("The weights of {backbone} are not on this machine.", backbone=spec.title) \
                if not spec.availability().available else None
            if skipped:
                features.cancel_background()  # an earlier preparation's pass: nobody waits for it now
                say({"state": "skipped", **i18n.for_event(skipped)})
                return
            say({"state": "loading", "title": spec.title})
            report = data.load_dataset(config.data, config.val_fraction, config.seed, config.text_column,
                                       config.label_column, config.encoding)
            if spec.modality != report.modality:
                cannot = lazy("{backbone} does not read texts.", backbone=spec.title) if report.modality == "text" \
                    else lazy("{backbone} does not read images.", backbone=spec.title)
                say({"state": "skipped", **i18n.for_event(cannot)})
                return
            if self._abandoned.is_set():
                return
            device = pick_device(config.device)
            path, items = features.cache_path(config.cache_dir, report, spec, config.max_length), report.all_items()
            pending = features.pending_pass()
            if pending is not None and pending.path == path and pending.items == items and not pending.cancelled:
                self.background = pending  # the same features as the preparation before: go on with it
                self._report(spec.title, force=True)
                return
            self.background = features.start_background(
                report, spec, config.cache_dir, device, config.batch_size, config.max_length, lambda done, total: self._report(spec.title))
            if self.background.finished:  # so quickly (read from the cache) that its last words came too early
                self._report(spec.title, force=True)
        except Exception as error:  # bad settings or data: the run, if one starts, says so in its own words
            say({"state": "failed", **_failure(error)})

    def _report(self, title: str, force: bool = False) -> None:
        """Say how the background pass goes: every PROGRESS_EVERY seconds while it computes, then its end."""
        background = self.background
        if background is None:  # its first words, before start_background returned: said after it
            return
        finished = background.finished
        if not finished and not force and time.monotonic() - self._shown < PROGRESS_EVERY:
            return
        self._shown = time.monotonic()
        if not finished:
            self.say({"state": "computing", "title": title, "done": background.done, "total": background.total})
        elif background.result is not None:
            self.say({"state": "ready", "title": title, "done": background.total, "total": background.total,
                      "seconds": round(background.result.compute_seconds or background.seconds, 3),
                      "cached": background.result.cache_hit})
        elif background.cancelled:
            self.say({"state": "cancelled", "title": title, "done": background.done, "total": background.total})
        else:
            self.say({"state": "failed", "title": title, **_failure(background.error)})

    def settle(self) -> None:
        """Wait until the data is loaded and the pass (if any) has begun."""
        self._thread.join()

    def abandon(self) -> None:
        """Start nothing new (a newer preparation replaces this one); wait until it has stopped deciding."""
        self._abandoned.set()
        self.settle()

    def cancel(self) -> None:
        self.abandon()
        from core import features

        features.cancel_background()


def _failure(error: BaseException | None) -> dict:
    """The ``message`` (and ``text``) of a failure: a UserError's sentence translated where it is read, else
    the developer's text of the exception."""
    from core.errors import UserError

    if isinstance(error, UserError):
        said = error.to_event()
        return {**said, "message": said["message"][:300]}
    return {"message": str(error)[:300]}


def serve(train: Callable[[list[str]], int], commands: TextIO = sys.stdin, replies: TextIO = sys.stdout) -> int:
    """Follow the commands until a run has been trained (its exit code) or the input ends. ``train``: the
    command line's entry point (core.cli.main), given the arguments of a training child."""
    spare = os.environ.get("TRANSFERLAB_SPARE") == "1"
    if spare:  # beside a training run: import at the lowest priority, in a thread, while this one reads commands
        threading.Thread(target=_import_quietly, name="import", daemon=True).start()
    else:
        importlib.import_module("core.features")  # torch and the backbones: what a preparation needs first
    from core.config import TrainConfig

    lock, silent = threading.Lock(), threading.Event()

    def say(message: dict) -> None:
        with lock:
            if not silent.is_set():
                replies.write(json.dumps(message) + "\n")
                replies.flush()

    say({"state": "idle"})
    preparation: Preparer | None = None
    asked = 0  # prepare commands so far: every report of a preparation says which one it is about
    warmed = spare  # a spare's importing thread takes care of core.train too
    while True:
        if not warmed and not _waiting(commands):  # nothing to do yet: pay for the rest of a run's imports
            importlib.import_module("core.train")
            warmed = True
        line = commands.readline()
        if not line:  # the server is gone: nobody will ever send a run
            os._exit(0)
        command, _, argument = line.strip().partition(" ")
        if command == "prepare":
            if preparation is not None:
                preparation.abandon()
            asked += 1
            about = functools.partial(lambda number, message: say({**message, "asked": number}), asked)
            try:
                preparation = Preparer(TrainConfig.from_dict(json.loads(argument)), about)
            except Exception as error:
                about({"state": "failed", **_failure(error)})
        elif command == "cancel" and preparation is not None:
            preparation.cancel()
        elif command == "run":
            return _train(Path(argument), preparation, silent, train)


def _import_quietly() -> None:
    """What a run needs, imported by a thread at the lowest priority (Linux: a thread's own nice value; elsewhere
    as it comes): a spare process starts while another run trains, and must not take its cores. Once that run
    has ended, nothing competes, and the priority no longer matters. The threads PyTorch starts later for this
    process's own run are started by the main thread, at normal priority."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
    except (AttributeError, OSError):
        pass
    for module in ("core.features", "core.train"):
        importlib.import_module(module)


def _waiting(commands: TextIO) -> bool:
    """Whether a command is there to read now (so the first preparation starts before the last imports)."""
    import select

    try:
        return bool(select.select([commands], [], [], 0.05)[0])
    except (OSError, ValueError, TypeError):  # not a pipe (a test's StringIO): read on
        return True


def _train(run_dir: Path, preparation: Preparer | None, silent: threading.Event,
           train: Callable[[list[str]], int]) -> int:
    from core import strategies
    from core.config import TrainConfig

    launched = time.time()
    if preparation is not None:
        preparation.settle()
        try:
            uses_features = strategies.get(TrainConfig.load(run_dir / "config.json").strategy).on_features
        except Exception:
            uses_features = False  # train says what is wrong with the run; nothing must compete with it
        if not uses_features:
            preparation.cancel()  # a run that computes no features: the CPU is all its own
    os.environ.update(TRANSFERLAB_LAUNCHED_AT=f"{launched:.3f}", TRANSFERLAB_WARM="1")  # the run's start event says so
    silent.set()
    sys.stdout.flush()
    sys.stderr.flush()
    log = os.open(run_dir / "log.txt", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    os.dup2(log, 1)  # the run's output goes where a training child's goes; the server sees our stdout end
    os.dup2(log, 2)
    os.close(log)
    return train(["train", "--run", str(run_dir), "--stop-with-parent", "--quiet"])
