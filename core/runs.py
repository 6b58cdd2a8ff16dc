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
from safetensors.torch import load_file, save_file

from core import i18n, storage
from core.errors import UserError
from core.i18n import N_, _, lazy, ngettext

STATUSES = ("queued", "running", "finished", "stopped", "failed", "interrupted")
ACTIVE = ("queued", "running")  # a run that has not ended yet
# How a status reads in tables and sentences ("damaged": describe()'s, for a folder that cannot be used)
STATUS_WORDS = {"queued": N_("queued"), "running": N_("running"), "finished": N_("finished"),
                "stopped": N_("stopped"), "failed": N_("failed"), "interrupted": N_("interrupted"),
                "damaged": N_("damaged")}


def status_words(status: str) -> str:
    """A run's status (a code of STATUSES, or "damaged") as a person reads it, in the current language."""
    return _(STATUS_WORDS[status]) if status in STATUS_WORDS else status

try:
    import fcntl
except ImportError:  # Windows: fall back to "is the recorded process alive?"
    fcntl = None


# The files of a run folder, named here and nowhere else.
CONFIG, LABELS, DATA, EVENTS = "config.json", "labels.json", "data.json", "events.jsonl"
WEIGHTS, CHECKPOINT, PREDICTIONS, SUMMARY = "best.safetensors", "checkpoint.pt", "predictions.json", "summary.json"
LOG, STATUS, STOP, LOCK, TFIDF_VOCABULARY, EXPORT = "log.txt", "status", "stop", ".lock", "tfidf_vocabulary.json", "export"


class Summary:
    """The results keys of a run's summary.json, which are also columns of its row (``run_row``) and, for the
    accuracy, a field of its epoch events: spelled here only, so that the writer and every reader agree."""
    BEST_VAL_ACC = "best_val_acc"
    BEST_VAL_MACRO_F1 = "best_val_macro_f1"
    FINAL_VAL_ACC = "final_val_acc"
    BEST_EPOCH = "best_epoch"
    TARGET_ACC_WITHOUT = "target_acc_without"
    TARGET_ACC = "target_acc"
    TARGET_ITEMS = "target_items"
    ADAPT_AUTO = "adapt_auto"
    VAL_IMAGES = "val_images"
    TRAIN_IMAGES = "train_images"
    TRAINABLE_PARAMS = "trainable_params"
    EPOCHS_PLANNED = "epochs_planned"


class DamagedRun(UserError):
    """A run folder whose files cannot be read (cut off by a crash or a full disk, edited by hand)."""


@dataclass
class Run:
    dir: Path

    @property
    def id(self) -> str:
        return self.dir.name

    # -- where things are ----------------------------------------------------------------------------
    @property
    def config_path(self) -> Path:
        return self.dir / CONFIG

    @property
    def weights_path(self) -> Path:
        return self.dir / WEIGHTS

    @property
    def log_path(self) -> Path:
        return self.dir / LOG

    @property
    def export_dir(self) -> Path:
        return self.dir / EXPORT

    def has_weights(self) -> bool:
        return self.weights_path.is_file()

    def has_config(self) -> bool:
        return self.config_path.is_file()

    def summary_damaged(self) -> bool:
        """A summary.json that is there but cannot be read."""
        return self.summary() is None and (self.dir / SUMMARY).is_file()

    def queued_at(self) -> int:
        """When the status last changed (ns); 0 if the run was deleted a moment ago."""
        try:
            return (self.dir / STATUS).stat().st_mtime_ns
        except OSError:
            return 0

    # -- what a run keeps, written once each by training --------------------------------------------
    def write_config(self, value: dict) -> None:
        self.write_json(CONFIG, value)

    def write_labels(self, classes: list[str]) -> None:
        self.write_json(LABELS, classes)

    def write_data(self, report: dict) -> None:
        self.write_json(DATA, report)

    def data(self) -> dict:
        """The DataReport the run trained on, as a dict (root, split, texts); {} if missing or damaged."""
        value = self.read_json(DATA, {})
        return value if isinstance(value, dict) else {}

    def write_predictions(self, rows: list[dict]) -> None:
        self.write_json(PREDICTIONS, rows)

    def predictions(self) -> list[dict]:
        value = self.read_json(PREDICTIONS, [])
        return value if isinstance(value, list) else []

    def write_summary(self, summary: dict) -> None:
        self.write_json(SUMMARY, summary)

    def write_tfidf_vocabulary(self, value: dict) -> None:
        self.write_json(TFIDF_VOCABULARY, value)

    def tfidf_vocabulary(self) -> dict | None:
        value = self.read_json(TFIDF_VOCABULARY)
        return value if isinstance(value, dict) else None

    def embedding_map(self, method: str) -> dict | None:
        return self.read_json(f"embedding_map-{method}.json")

    def write_embedding_map(self, method: str, value: dict) -> None:
        self.write_json(f"embedding_map-{method}.json", value)

    def has_embedding_map(self, method: str) -> bool:
        return (self.dir / f"embedding_map-{method}.json").is_file()

    # -- plain JSON files -------------------------------------------------------------------------------
    def write_json(self, name: str, value: Any) -> None:
        storage.write_atomically(self.dir / name, json.dumps(value, indent=2),
                                 lazy("{file} of run {run}", file=name, run=self.id))

    def read_json(self, name: str, default: Any = None) -> Any:
        """The file's value; ``default`` when it is missing or damaged (``damage()`` says which)."""
        try:
            return self._read_json(name, default)
        except DamagedRun:
            return default

    def _read_json(self, name: str, default: Any = None) -> Any:
        path = self.dir / name
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return default
        except (ValueError, UnicodeDecodeError, OSError) as error:  # JSONDecodeError is a ValueError
            raise DamagedRun(lazy("Run {run}: {file} is damaged ({error}).", run=self.id, file=name,
                                  error=_short(error)),
                             lazy("Delete the run, or restore the file.")) from error

    def append_event(self, event: dict) -> None:
        line = json.dumps(event) + "\n"
        with storage.guard(lazy("the events of run {run}", run=self.id), self.dir, len(line)):
            with open(self.dir / EVENTS, "a", encoding="utf-8") as handle:
                handle.write(line)

    def events(self) -> list[dict]:
        """Every readable event, in order. Lines that are not whole events (a last line cut off by a
        crash, a line edited by hand) are skipped; ``damage()`` says how many."""
        return self._events()[0]

    def _events(self) -> tuple[list[dict], list[str], bool]:
        """(events, what is wrong with the file in plain words, whether that is only a cut-off last line)."""
        path = self.dir / EVENTS
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return [], [], False
        except OSError as error:
            return [], [_("{file} cannot be read ({error})", file=EVENTS, error=_short(error))], False
        events, bad, lines = [], [], raw.decode("utf-8", errors="replace").splitlines()
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                event = json.loads(line)
            except ValueError:
                event = None
            if isinstance(event, dict) and isinstance(event.get("kind"), str):
                events.append(event)
            else:
                bad.append(number)
        if bad == [len(lines)] and not raw.endswith(b"\n"):
            return events, [_("the last line of {file} was cut off (ignored)", file=EVENTS)], True
        if bad:
            return events, [ngettext("{n} line of {file} is not a readable event (ignored; line {first})",
                                     "{n} lines of {file} are not readable events (ignored; first: line {first})",
                                     len(bad), file=EVENTS, first=bad[0])], False
        return events, [], False

    def damage(self) -> list[str]:
        """What is wrong with this folder's files, in plain words (the current language); empty for a
        healthy run."""
        files, events = self._damage()
        return files + events

    def _damage(self) -> tuple[list[str], list[str]]:
        """damage(): (the problems of the small files, those of events.jsonl)."""
        problems = []
        status = self.recorded_status
        if status not in STATUSES:
            problems.append(_("its status file is missing or unreadable") if status == "unknown"
                            else _("its status file says {status}", status=repr(status[:40])))
        if not self.has_config():
            problems.append(_("{file} is missing", file=CONFIG))
        for name in (CONFIG, SUMMARY, LABELS):  # the small files every list reads
            try:
                self._read_json(name)
            except DamagedRun as error:
                problems.append(_("{file} is not valid JSON ({error})", file=name, error=_short(error.__cause__)))
        if status == "finished" and not (self.dir / SUMMARY).is_file():
            problems.append(_("it finished but {file} is missing", file=SUMMARY))
        alive = status == "running" and self.is_alive()
        event_problems, cut_off = self._events()[1:]
        return problems, [] if alive and cut_off else event_problems  # a live run writes as we read

    def history(self) -> list[dict]:
        """Epoch records in order, one per epoch (an epoch redone after a resume counts once, last wins)."""
        return epoch_history(self.events())

    def set_status(self, status: str) -> None:
        assert status in STATUSES, status
        storage.write_atomically(self.dir / STATUS, status + "\n", lazy("the status of run {run}", run=self.id))

    @property
    def recorded_status(self) -> str:
        """What the status file says, without checking that a "running" run's process is alive."""
        try:
            return (self.dir / STATUS).read_text(errors="replace").strip() or "unknown"
        except OSError:
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
        handle = open(self.dir / LOCK, "a+")
        try:
            if fcntl is not None:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError:
                    raise UserError(lazy("Run {run} is being trained by another process.", run=self.id),
                                    lazy("Wait for it to end, or stop it first.")) from None
            handle.seek(0)
            handle.truncate()
            handle.write(str(os.getpid()))
            handle.flush()
            yield
        finally:
            handle.close()  # closing releases the lock

    def is_alive(self) -> bool:
        """Is a process training this run right now?"""
        path = self.dir / LOCK
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
        (self.dir / STOP).touch()

    def stop_requested(self) -> bool:
        return (self.dir / STOP).exists()

    def clear_stop(self) -> None:
        (self.dir / STOP).unlink(missing_ok=True)

    # -- resuming -----------------------------------------------------------------------------------
    def save_checkpoint(self, state: dict) -> None:
        """Everything to continue after an epoch (tensors, numbers, lists, dicts: loads with weights_only)."""
        partial = self.dir / ".checkpoint.pt.partial"
        with storage.guard(lazy("the checkpoint of run {run}", run=self.id), self.dir, _tensor_bytes(state),
                           [partial]):
            torch.save(state, partial)
            os.replace(partial, self.dir / CHECKPOINT)

    def load_checkpoint(self) -> dict | None:
        path = self.dir / CHECKPOINT
        if not path.is_file():
            return None
        try:
            return torch.load(path, map_location="cpu", weights_only=True)
        except Exception as error:  # cut off by a crash or a full disk
            raise DamagedRun(lazy("Run {run}: its checkpoint is damaged ({error}).", run=self.id,
                                  error=_short(error)),
                             lazy("Train it again with the same settings (Runs page: Train again).")) from error

    def load_weights(self) -> dict[str, torch.Tensor]:
        try:
            return load_file(self.weights_path)
        except FileNotFoundError:
            raise DamagedRun(lazy("Run {run} has no weights ({file}).", run=self.id, file=WEIGHTS),
                             lazy("Pick a run that finished, or train it again.")) from None
        except Exception as error:
            raise DamagedRun(lazy("Run {run}: its weights file {file} is damaged ({error}).", run=self.id,
                                  file=WEIGHTS, error=_short(error)),
                             lazy("Train it again with the same settings (Runs page: Train again).")) from error

    def has_checkpoint(self) -> bool:
        return (self.dir / CHECKPOINT).is_file()

    def drop_checkpoint(self) -> None:
        (self.dir / CHECKPOINT).unlink(missing_ok=True)

    def can_resume(self) -> bool:
        """Interrupted runs continue from their last epoch (or start over if none ended); stopped or
        failed ones can continue when they left a checkpoint."""
        if not self.has_config():
            return False
        status = self.status
        return status == "interrupted" or (status in ("stopped", "failed") and self.has_checkpoint())

    def delete(self) -> None:
        if self.status in ("running", "queued") or self.is_alive():
            busy = lazy("Run {run} is waiting in the queue.", run=self.id) if self.status == "queued" else \
                lazy("Run {run} is training.", run=self.id)
            raise UserError(busy, lazy("Stop it first, then delete it."))
        shutil.rmtree(self.dir)

    def save_weights(self, state: dict[str, torch.Tensor]) -> None:
        partial = self.dir / ".best.safetensors.partial"
        with storage.guard(lazy("the weights of run {run}", run=self.id), self.dir, _tensor_bytes(state), [partial]):
            save_file({k: v.detach().cpu().contiguous() for k, v in state.items()}, partial)
            os.replace(partial, self.weights_path)

    def summary(self) -> dict | None:
        summary = self.read_json(SUMMARY)
        return summary if isinstance(summary, dict) else None

    def config(self) -> dict:
        stored = self.read_json(CONFIG, {})
        config = stored.get("config", {}) if isinstance(stored, dict) else {}
        return config if isinstance(config, dict) else {}

    def labels(self) -> list[str]:
        labels = self.read_json(LABELS, [])
        return labels if isinstance(labels, list) else []

    def class_titles(self) -> list[str]:
        """The classes as shown, in index order: the names a person gave them when the run trained
        (core/data/class_names.py, kept in data.json), else the labels themselves."""
        titles = self.data().get("class_titles") or {}
        return [str(titles.get(label) or label) for label in self.labels()]


class FollowerRun(Run):
    """The run as a distributed training's other processes see it (core/device/distributed.py): the same
    folder, read (a resumed run's checkpoint) but never written; rank 0 writes everything."""

    def write_json(self, name: str, value: Any) -> None:
        pass

    def append_event(self, event: dict) -> None:
        pass

    def set_status(self, status: str) -> None:
        pass

    @contextmanager
    def training_lock(self):
        yield  # rank 0 holds it

    def stop_requested(self) -> bool:
        return False  # rank 0 reads the stop file; the ranks agree on it every batch

    def clear_stop(self) -> None:
        pass

    def save_checkpoint(self, state: dict) -> None:
        pass

    def drop_checkpoint(self) -> None:
        pass

    def save_weights(self, state: dict[str, torch.Tensor]) -> None:
        pass


def _short(error: BaseException | None) -> str:
    return str(error).splitlines()[0][:120] if error is not None and str(error) else type(error).__name__


def _tensor_bytes(value: Any) -> int:
    """About how many bytes the tensors in a (nested) state take on disk."""
    if isinstance(value, torch.Tensor):
        return value.numel() * value.element_size()
    if isinstance(value, dict):
        return sum(_tensor_bytes(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return sum(_tensor_bytes(v) for v in value)
    return 64


def last_attempt(events: list[dict]) -> list[dict]:
    """The events since the last start: a resumed run appends a new attempt to the same file."""
    starts = [i for i, e in enumerate(events) if e["kind"] == "start"]
    return events[starts[-1]:] if starts else events


def epoch_history(events: list[dict]) -> list[dict]:
    by_epoch = {e["epoch"]: e for e in events if e["kind"] == "epoch" and isinstance(e.get("epoch"), int)}
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


def create_run(out_dir: str | Path, backbone: str, strategy: str, status: str = "running",
               config: dict | None = None) -> Run:
    """A new run folder with a sortable, readable, unique name (``config`` written before the status,
    so a run that shows in the list always has its config)."""
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
        if config is not None:
            run.write_config(config)
        run.set_status(status)
        return run
    raise RuntimeError(f"could not create a run folder in {out}")


def list_runs(out_dir: str | Path) -> list[Run]:
    """Every run under ``out_dir``, newest first."""
    out = Path(out_dir).expanduser()
    if not out.is_dir():
        return []
    return [Run(d) for d in sorted(out.iterdir(), reverse=True) if (d / STATUS).is_file()]


_described: dict[tuple[Path, str], tuple[tuple, dict]] = {}  # (folder, language): its damage is in words
_SIGNED = (STATUS, EVENTS, SUMMARY, CONFIG, LABELS, CHECKPOINT)


def _signature(run: Run) -> tuple | None:
    """What a run's row depends on: its small files' sizes and times (None: changes by itself, don't keep)."""
    if run.recorded_status in ("running", "queued"):
        return None  # alive or not is the lock's, not a file's
    signature = []
    for name in _SIGNED:
        try:
            info = (run.dir / name).stat()
            signature.append((name, info.st_mtime_ns, info.st_size))
        except OSError:
            signature.append((name, None, None))
    return tuple(signature)


def describe(run: Run) -> dict:
    """One row of the run history: what, on which data, how well, how long, and where it stands.

    A damaged folder still gets a row: ``damage`` lists what is wrong, and ``status`` is "damaged"
    when the run cannot be used (config or summary unreadable). Rows of ended runs are kept in
    memory until one of their files changes (the Runs page redraws hundreds of them per click)."""
    signature = _signature(run)
    where = (run.dir, i18n.current())
    kept = _described.get(where)
    if signature is not None and kept is not None and kept[0] == signature:
        return dict(kept[1])
    row = _describe(run)
    if signature is not None:
        _described[where] = (signature, row)
    return dict(row)


def _backbone_shown(config: dict) -> str:
    """The backbone, or the strategy's name when it uses none (TF-IDF)."""
    from core import strategies

    strategy = str(config.get("strategy", ""))
    try:
        uses_backbone = strategies.get(strategy).uses_backbone
    except Exception:  # a strategy whose plugin is gone
        uses_backbone = True
    return str(config.get("backbone", "")) if uses_backbone else strategy


def _describe(run: Run) -> dict:
    config = run.config()
    summary = run.summary() or {}
    events = run.events()
    history = epoch_history(events)
    times = [e["time"] for e in events if isinstance(e.get("time"), (int, float))]
    files, event_problems = run._damage()
    damage = files + event_problems
    status = run.status
    if files and status not in ACTIVE:  # events.jsonl's problems alone leave the run usable
        status = "damaged"
    accuracies = [e["val_acc"] for e in history if isinstance(e.get("val_acc"), (int, float))]
    best = summary.get(Summary.BEST_VAL_ACC) if summary else max(accuracies, default=None)
    try:
        started = times[0] if times else run.dir.stat().st_mtime
    except OSError:
        started = 0.0
    return {
        "id": run.id, "dir": str(run.dir), "status": status, "damage": damage,
        "started": datetime.fromtimestamp(started).isoformat(timespec="seconds"), "data": str(config.get("data", "")),
        "backbone": _backbone_shown(config),
        "strategy": str(config.get("strategy", "")), "group": config.get("group"),
        "adapt": summary.get("adapt") or config.get("adapt") or "none", "target": config.get("target"),
        Summary.ADAPT_AUTO: bool(summary.get(Summary.ADAPT_AUTO)) or config.get("adapt") == "auto",
        Summary.TARGET_ACC: summary.get(Summary.TARGET_ACC), Summary.TARGET_ACC_WITHOUT: summary.get(Summary.TARGET_ACC_WITHOUT),
        "dp_epsilon": config.get("dp_epsilon"), "epsilon": summary.get("epsilon"),  # private training: budget, spent
        "per_class": config.get("per_class"),  # trained on that many examples per class (a curve's point)
        "epochs": len(history), Summary.EPOCHS_PLANNED: config.get("epochs"),
        Summary.BEST_VAL_ACC: best, Summary.BEST_VAL_MACRO_F1: summary.get(Summary.BEST_VAL_MACRO_F1),
        "final_train_acc": history[-1].get("train_acc") if history else None,
        "seconds": summary.get("seconds", round(times[-1] - times[0], 3) if len(times) > 1 else None),
        # what the time includes (core/costs.py): the one-time feature pass, and the time when repeated
        **{key: summary.get(key) for key in ("cache_hit", "feature_pass_seconds", "feature_pass_first_seconds",
                                             "first_time_seconds", "repeat_seconds", "feature_seconds")},
        Summary.VAL_IMAGES: summary.get(Summary.VAL_IMAGES), Summary.TARGET_ITEMS: summary.get(Summary.TARGET_ITEMS),
        Summary.TRAINABLE_PARAMS: summary.get(Summary.TRAINABLE_PARAMS), "can_resume": status != "damaged" and run.can_resume()}
