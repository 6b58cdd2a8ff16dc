"""Read a run's events into what a person wants to see: where it is, how long is left, the curves."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Progress:
    status: str                          # running | finished | stopped | failed
    phase: str                           # starting | features | training | done
    fraction: float                      # 0..1 of the whole run
    eta_seconds: float | None
    message: str
    device: str = ""
    history: list[dict] = field(default_factory=list)     # epoch events
    batch_losses: list[float] = field(default_factory=list)
    error: str | None = None
    summary: dict | None = None


def follow(events: list[dict], status: str, now: float) -> Progress:
    """Summarise ``events`` (in order) for a run whose status file says ``status``."""
    start = next((e for e in events if e["kind"] == "start"), None)
    history = [e for e in events if e["kind"] == "epoch"]
    losses = [e["loss"] for e in events if e["kind"] == "batch"]
    error = next((e["message"] for e in reversed(events) if e["kind"] == "error"), None)
    end = next((e for e in reversed(events) if e["kind"] == "end"), None)
    progress = Progress(status=status, phase="starting", fraction=0.0, eta_seconds=None, message="Starting...",
                        device=start["device"] if start else "", history=history, batch_losses=losses,
                        error=error, summary=end["summary"] if end else None)
    if status != "running":
        progress.phase, progress.fraction = "done", 1.0 if status == "finished" else _fraction(events, start)
        progress.message = {"finished": "Finished", "stopped": "Stopped: the best weights so far were kept",
                            "failed": "Failed"}.get(status, status.capitalize())
        return progress
    if start is None:
        return progress
    feature_events = [e for e in events if e["kind"] == "features"]
    batches = [e for e in events if e["kind"] == "batch"]
    if feature_events and not batches and "cache_hit" not in feature_events[-1]:
        first, last = feature_events[0], feature_events[-1]
        done = last["done"] / max(last["total"], 1)
        progress.phase, progress.fraction = "features", 0.9 * done
        progress.message = f"Computing backbone features once: {last['done']}/{last['total']} images"
        progress.eta_seconds = _eta(first["time"], now, done)
        return progress
    if batches:
        last = batches[-1]
        epochs = start["epochs"]
        done = ((last["epoch"] - 1) * last["batches"] + last["batch"]) / (epochs * last["batches"])
        offset = 0.9 if feature_events and not feature_events[-1].get("cache_hit", False) else 0.0
        progress.phase, progress.fraction = "training", offset + (1 - offset) * done
        progress.message = f"Epoch {last['epoch']}/{epochs} · batch {last['batch']}/{last['batches']}"
        progress.eta_seconds = _eta(batches[0]["time"], now, done)
    return progress


def _fraction(events: list[dict], start: dict | None) -> float:
    history = [e for e in events if e["kind"] == "epoch"]
    return len(history) / start["epochs"] if start and start.get("epochs") else 0.0


def _eta(started: float, now: float, done: float) -> float | None:
    if done <= 0.0:
        return None
    return max(0.0, (now - started) / done * (1 - done))


def format_seconds(seconds: float | None) -> str:
    if seconds is None:
        return "estimating..."
    seconds = int(round(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}" if seconds >= 60 else f"{seconds}s"
