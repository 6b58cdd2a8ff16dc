"""Training jobs: a queue of prepared runs, trained one at a time, each in its own child process.

``submit(config)`` prepares a run folder (status ``queued``, its config.json) and returns at once.
A supervisor thread of the server process starts ``python -m core train --run DIR
--stop-with-parent`` for the oldest queued run whenever nothing is training in that runs folder,
with the child's output in DIR/log.txt. So:

- the CLI is the one way in to training, and a crash (out of memory, a segfault in a library)
  stays inside the child: the run ends as failed with the reason, the server lives on;
- pages and browser tabs never own a job: they follow its files (events.jsonl, status), so a
  reload, a second tab, or another page finds it where it is;
- if the server stops, the child notices its parent is gone, finishes the batch and ends as
  ``interrupted``, resumable from its last epoch (``resume(run)`` queues it again).

Stopping goes through the run's ``stop`` file, so any process can ask.

Ahead of need (``prepare(config)``, the app calls it once data is loaded), the supervisor keeps one
warm process, ``python -m core worker`` (core/worker.py): torch imported, and the features the
prepared settings' run will need computed in the background. The next run is handed to it instead
of a new child: it trains exactly as that child would, joining the background pass, so a first
chart comes seconds after Start. Nothing prepares while a run trains (it would compete for the CPU).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path

from core import i18n, paths, runs, storage
from core.config import TrainConfig
from core.errors import UserError
from core.i18n import Text, lazy

ROOT = Path(__file__).resolve().parents[1]
POLL_SECONDS = 0.5


def _child_environment() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p),
            "PYTHONUNBUFFERED": "1"}


@dataclass(frozen=True)
class Preparation:
    """What the warm process does ahead of the next run (core/worker.py's last words)."""
    state: str            # starting, idle, loading, computing, ready, cancelled, skipped, failed
    title: str = ""       # the backbone's
    done: int = 0
    total: int = 0
    seconds: float | None = None   # ready: how long the pass took (or reading it back, when cached)
    cached: bool = False           # ready: the features were in the cache already
    message: str = ""              # skipped, failed: why, in the worker's language (or its last words)
    text: dict | None = None       # the same sentence to translate when read (i18n.Text.to_json())

    @property
    def busy(self) -> bool:
        return self.state in ("starting", "loading", "computing")

    @property
    def said(self) -> str:
        """``message`` in the reader's language, where the worker said it as a translatable sentence."""
        return i18n.event_text({"message": self.message, "text": self.text})


class _Worker:
    """One ``python -m core worker`` process and a thread that reads what it says."""

    def __init__(self, spare: bool = False) -> None:
        """``spare``: started while a run trains (it imports at the lowest priority, core/worker.py)."""
        env = {**_child_environment(), **({"TRANSFERLAB_SPARE": "1"} if spare else {})}
        self.process = subprocess.Popen([sys.executable, "-m", "core", "worker"], cwd=ROOT, env=env,
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                        text=True, encoding="utf-8", errors="replace", bufsize=1)
        self.state = Preparation("starting")
        self.asked = 0  # prepare commands sent: a report about an earlier one (other settings) is not kept
        self._said = threading.Lock()
        self.last_words: deque[str] = deque(maxlen=3)
        threading.Thread(target=self._listen, name="worker-reader", daemon=True).start()

    def _listen(self) -> None:
        for line in self.process.stdout:
            try:
                said = json.loads(line)
                with self._said:
                    if said.get("asked", self.asked) < self.asked:  # about settings asked for before the last
                        continue
                    self.state = Preparation(**{key: said[key] for key in Preparation.__dataclass_fields__
                                                if key in said})
            except (ValueError, TypeError, KeyError):
                if line.strip():
                    self.last_words.append(line.strip())  # a warning or a traceback: kept for a failed start
        self.process.stdout.close()
        if self.state.busy and self.process.poll() is not None:
            self.state = Preparation("failed", message=" / ".join(self.last_words))

    def alive(self) -> bool:
        return self.process.poll() is None

    def ask(self, config: TrainConfig) -> None:
        """Prepare for ``config``: until the process reports on it, what it is doing is "starting"."""
        with self._said:
            self.asked += 1
            self.state = Preparation("starting")
        self.send("prepare", json.dumps(config.to_dict()))

    def send(self, *words: str) -> bool:
        try:
            self.process.stdin.write(" ".join(words) + "\n")
            self.process.stdin.flush()
            return True
        except (OSError, ValueError):  # it died meanwhile
            return False

    def close(self) -> None:
        if self.alive():
            self.process.kill()
        self.process.wait()


class Supervisor:
    """Trains the queued runs of one runs folder, one at a time."""

    def __init__(self, runs_dir: Path) -> None:
        self.runs_dir = runs_dir
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._child: subprocess.Popen | None = None
        self._child_run: runs.Run | None = None
        self._unlaunchable: set[Path] = set()
        self._worker: _Worker | None = None      # warm, idle: the next run goes to it
        self._prepared: TrainConfig | None = None
        self._prepared_key: str | None = None
        self._cancelled = False                  # the person cancelled the preparation of these settings
        self._warm = False                       # prepare() was asked for: stay warm after every run

    # -- ahead of need ----------------------------------------------------------------------------
    def prepare(self, config: TrainConfig | None) -> None:
        """Keep a warm process ready for the next run, computing the features ``config``'s run will need
        (feature extraction with an available backbone; else it only waits, warm; None: no data yet, just
        warm). Asking again with the same settings changes nothing; with others, the preparation moves to
        them. Deferred while a run trains."""
        key = None if config is None else json.dumps(config.to_dict(), sort_keys=True)
        with self._lock:
            if key == self._prepared_key and (self._worker is not None or self._child is not None):
                return
            self._prepared, self._prepared_key, self._cancelled, self._warm = config, key, False, True
            if self._child is None:
                self._send_preparation()

    def warm(self) -> None:
        """Start the warm process now, if none is there and nothing trains, before any settings are known (the
        server's first page, before it loads the data): its imports overlap the page's work, and the
        preparation that follows goes to it. Changes nothing about what is prepared."""
        with self._lock:
            if self._worker is None and self._child is None:
                try:
                    self._worker = _Worker()
                except OSError:  # no process can start now: the preparation will try again
                    self._worker = None

    def cancel_preparation(self) -> None:
        """Stop the background pass (the warm process stays, idle); the same settings are not prepared again."""
        with self._lock:
            self._cancelled = True
            if self._worker is not None:
                self._worker.send("cancel")

    def preparation(self, config: TrainConfig | None = None) -> Preparation | None:
        """What the warm process is doing (None: there is none, a run is training, or it prepares for
        other settings than ``config``, when given)."""
        with self._lock:
            worker, prepared = self._worker, self._prepared_key
        if worker is None or (config is not None and json.dumps(config.to_dict(), sort_keys=True) != prepared):
            return None
        if not worker.alive():
            return Preparation("failed", message=" / ".join(worker.last_words))
        return worker.state

    def close(self) -> None:
        """End the warm process (a queued or training run is left as it is)."""
        with self._lock:
            worker, self._worker, self._prepared, self._prepared_key = self._worker, None, None, None
            self._warm = False
        if worker is not None:
            worker.close()

    def _send_preparation(self) -> None:
        """(lock held, nothing training) a warm process, spawned if needed, told what to prepare."""
        if self._worker is not None and not self._worker.alive():
            self._worker.close()
            self._worker = None
        if self._worker is None:
            try:
                self._worker = _Worker()
            except OSError:  # no process can start now: runs start the ordinary way
                return
        if self._prepared is not None and not self._cancelled:
            self._worker.ask(self._prepared)

    # -- what the UI calls ------------------------------------------------------------------------
    def submit(self, config: TrainConfig) -> runs.Run:
        config.validated()
        run = runs.create_run(self.runs_dir, config.model_label, config.strategy, status="queued",
                              config={"config": config.to_dict()})
        self._kick()
        return run

    def resume(self, run: runs.Run) -> runs.Run:
        if not run.can_resume():
            raise UserError(lazy("Run {run} cannot be resumed: its status is {status}.", run=run.id,
                                 status=lazy(runs.STATUS_WORDS.get(run.status, run.status))),
                            lazy("Start a new run with the same settings instead."))
        run.clear_stop()
        run.set_status("queued")
        run.append_event({"kind": "queued", "time": round(time.time(), 3), **i18n.for_event(lazy("Queued to resume."))})
        self._kick()
        return run

    def stop(self, run: runs.Run) -> None:
        """A queued run is taken out of the line; a training one stops after its current batch
        (keeping the best weights so far)."""
        with self._lock:
            starting = self._child_run is not None and self._child_run.dir == run.dir
            if run.recorded_status == "queued" and not starting:
                run.set_status("stopped")
                run.append_event({"kind": "notice", "time": round(time.time(), 3),
                                  **i18n.for_event(lazy("Taken out of the queue before it started."))})
                return
        run.request_stop()

    def queue(self) -> list[runs.Run]:
        """The run training now (or starting) first, then the waiting ones in the order they will start."""
        current = self.current()
        line, seen = [], set()
        for run in ([current] if current else []) + self._queued():
            if run.dir not in seen:
                seen.add(run.dir)
                line.append(run)
        return line

    def current(self) -> runs.Run | None:
        """The run being trained in this runs folder (by this process's child, or by any other process)."""
        with self._lock:
            child = self._child_run
        if child is not None and child.recorded_status in runs.ACTIVE:
            return child  # starting (queued until it takes its lock) or training; not once it has ended
        return next((r for r in runs.list_runs(self.runs_dir) if r.recorded_status == "running" and r.is_alive()),
                    None)

    def position(self, run: runs.Run) -> int | None:
        """0 = training now (or starting), k = k runs ahead of it; None = not in line."""
        for index, queued in enumerate(self.queue()):
            if queued.dir == run.dir:
                return index
        return None

    def wait_idle(self, timeout: float) -> bool:
        """Block until nothing is queued or training (tests, scripts). True if idle."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            if not self.queue():
                return True
            time.sleep(0.2)
        return False

    # -- the supervisor thread --------------------------------------------------------------------
    def _queued(self) -> list[runs.Run]:
        queued = [r for r in runs.list_runs(self.runs_dir) if r.recorded_status == "queued"
                  and r.dir not in self._unlaunchable]
        return sorted(queued, key=lambda r: (r.queued_at(), r.id))

    def _kick(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name=f"supervisor-{self.runs_dir.name}",
                                                daemon=True)
                self._thread.start()
        self._wake.set()

    def _loop(self) -> None:
        woken = False
        while True:
            with self._lock:
                if self._child is not None and self._child.poll() is not None:
                    self._finish_child()
                if self._child is None:
                    waiting = self._queued()
                    if not waiting:
                        if self._warm:
                            self._send_preparation()  # warm again for the next Start (the spare, or a new one)
                        self._thread = None
                        return
                    if not any(r.recorded_status == "running" and r.is_alive() for r in runs.list_runs(self.runs_dir)):
                        self._launch(waiting[0])
                elif woken:  # a run submitted while this one trains: it will start warm too
                    self._keep_spare()
            woken = self._wake.wait(POLL_SECONDS)
            self._wake.clear()

    def _launch(self, run: runs.Run) -> None:
        worker, self._worker = self._worker, None
        if worker is not None and worker.alive() and worker.send("run", str(run.dir)):
            self._child, self._child_run = worker.process, run  # trains exactly as the child below would
            self._keep_spare()
            return
        if worker is not None:
            worker.close()
        self._cold_launch(run)
        self._keep_spare()

    def _keep_spare(self) -> None:
        """(lock held, a run training or just launched) A warm process for the run after this one, started now:
        another run waits in line (a comparison's members, a curve's points) or the pages keep one warm. It imports
        while this run trains, at the lowest priority (measured: imported at normal priority beside a run on
        cached features, it made that run's epochs 20 times slower: PyTorch's threads wait for a core), then
        waits on its input, so the next run starts warm instead of paying the seconds of a new process's imports."""
        if self._child is None or self._worker is not None:
            return
        if not self._warm and not any(run.dir != self._child_run.dir for run in self._queued()):
            return
        try:
            self._worker = _Worker(spare=True)
        except OSError:  # no process can start now: the next run starts the ordinary way
            self._worker = None

    def _cold_launch(self, run: runs.Run) -> None:
        command = [sys.executable, "-m", "core", "train", "--run", str(run.dir), "--stop-with-parent", "--quiet"]
        env = {**_child_environment(), "TRANSFERLAB_LAUNCHED_AT": f"{time.time():.3f}", "TRANSFERLAB_WARM": "0"}
        try:
            with open(run.log_path, "ab") as log:
                self._child = subprocess.Popen(command, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=log,
                                               stderr=subprocess.STDOUT)
        except OSError as error:  # the folder is gone, the disk is full, no process can start
            said = storage.disk_full_error(lazy("this run's log"), run.dir).to_event() if storage.is_disk_full(error) \
                else i18n.for_event(lazy("Could not start the training process: {error}.", error=str(error)))
            try:
                run.set_status("failed")
                run.append_event({"kind": "error", "time": round(time.time(), 3), **said})
            except Exception:
                self._unlaunchable.add(run.dir)  # nothing can be written: skip it, the rest of the queue goes on
            return
        self._child_run = run

    def _finish_child(self) -> None:
        code, run = self._child.wait(), self._child_run
        if self._child.stdin is not None:  # a warm process that trained: its command pipe
            self._child.stdin.close()
        self._child, self._child_run = None, None
        if run.recorded_status in runs.ACTIVE and not run.is_alive():
            try:
                run.set_status("failed")
                run.append_event({"kind": "error", "time": round(time.time(), 3),
                                  **i18n.for_event(death_reason(code, run))})
            except Exception:  # a full disk refuses even this: the queue must go on all the same
                pass


def death_reason(code: int, run: runs.Run) -> Text | str:
    """Plain words for a training process that ended without recording why: a ``lazy`` Text, translated
    when read (the error event's ``i18n.for_event``)."""
    if code in (-9, 137):
        return lazy("The training process was killed by the system (signal 9), which most often means the machine "
                    "ran out of memory. Try a smaller batch size, a shorter max length, or a smaller backbone.")
    if code < 0:
        return lazy("The training process was ended by signal {signal}. Resume the run or start it again.",
                    signal=-code)
    free = storage.free_bytes(run.dir)
    if free is not None and free < storage.NEARLY_FULL:
        said = storage.disk_full_error(lazy("this run's files"), run.dir).to_event()
        return Text.from_json(said["text"]) if "text" in said else said["message"]
    lines = []
    log = run.log_path
    if log.is_file():
        lines = [line for line in log.read_text(errors="replace").splitlines() if line.strip()]
    if lines:
        return lazy("The training process ended unexpectedly (exit code {code}). Its last words: {last_words}",
                    code=code, last_words=" / ".join(lines[-3:]))
    return lazy("The training process ended unexpectedly (exit code {code}).", code=code)


_supervisors: dict[Path, Supervisor] = {}
_registry_lock = threading.Lock()


def supervisor(runs_dir: str | Path | None = None) -> Supervisor:
    """The one supervisor of this process for ``runs_dir`` (default: the configured runs folder)."""
    folder = Path(runs_dir or paths.runs_dir()).expanduser().resolve()
    with _registry_lock:
        if folder not in _supervisors:
            _supervisors[folder] = Supervisor(folder)
        return _supervisors[folder]


def submit(config: TrainConfig) -> runs.Run:
    """Queue ``config`` for training; returns its run at once (status "queued")."""
    return supervisor(config.out_dir).submit(config)
