"""Training as a background job owned by the process, not by a page or a browser tab.

``start(config)`` creates the run folder, then trains in a daemon thread; the UI keeps only the
run id and reads progress from the run folder's events (the same file the CLI writes), so a
page reload or a second tab finds the job where it is.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from core import runs
from core.config import TrainConfig
from core.errors import UserError


@dataclass
class Job:
    run: runs.Run
    config: TrainConfig
    stop_requested: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None
    summary: dict | None = None
    error: str | None = None

    @property
    def id(self) -> str:
        return self.run.id

    def is_running(self) -> bool:
        return self.thread is not None and self.thread.is_alive()

    def stop(self) -> None:
        """Ask the loop to stop after the current batch; the best weights so far are kept."""
        self.stop_requested.set()

    def wait(self, timeout: float | None = None) -> bool:
        if self.thread:
            self.thread.join(timeout)
        return not self.is_running()


_jobs: dict[str, Job] = {}
_lock = threading.Lock()


def start(config: TrainConfig) -> Job:
    """Validate, create the run folder, and start training in the background."""
    from core.train import fit  # torch is imported here, not when a page merely lists jobs

    config.validated()
    with _lock:
        busy = [job for job in _jobs.values() if job.is_running()]
        if busy:
            raise UserError(f"A training run is already in progress ({busy[0].id}).",
                            "Wait for it to finish or stop it first.")
        job = Job(run=runs.create_run(config.out_dir, config.model_label, config.strategy), config=config)

        def work() -> None:
            try:
                job.summary = fit(config, run=job.run, should_stop=job.stop_requested.is_set)
            except UserError as error:
                job.error = str(error)
                _mark_failed(job, str(error))
            except Exception as error:  # never let a worker crash the server; the run says why
                job.error = f"Training failed unexpectedly: {type(error).__name__}: {error}"
                _mark_failed(job, job.error)

        job.thread = threading.Thread(target=work, name=f"train-{job.id}", daemon=True)
        _jobs[job.id] = job
        job.thread.start()
    return job


def _mark_failed(job: Job, message: str) -> None:
    """fit() records its own failures; this covers errors raised before its first event."""
    if job.run.status == "running":
        job.run.set_status("failed")
        job.run.append_event({"kind": "error", "message": message})


def get(run_id: str) -> Job | None:
    return _jobs.get(run_id)


def active() -> Job | None:
    return next((job for job in _jobs.values() if job.is_running()), None)
