"""Read a run's events into what a person wants to see: where it is, how fast, how long is left, the curves."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from core import i18n
from core.i18n import N_, _
from core.runs import epoch_history, last_attempt

# shown as _(ENDED_MESSAGES[status]): translated when read, in the reader's language
ENDED_MESSAGES = {"finished": N_("Finished"), "stopped": N_("Stopped: the best weights so far were kept"),
                  "failed": N_("Failed"), "interrupted": N_("Interrupted: it can be resumed from its last epoch")}


@dataclass
class Progress:
    status: str                          # queued | running | finished | stopped | failed | interrupted
    phase: str                           # waiting | starting | features | training | done
    fraction: float                      # 0..1 of the whole run
    eta_seconds: float | None
    message: str                         # in the language current when ``follow`` read the events
    device: str = ""
    noun: str = "images"
    strategy: str = ""
    throughput: float | None = None      # images or texts per second, lately
    epoch: int | None = None             # the epoch in progress (1-based) and how many are planned
    epochs: int | None = None
    history: list[dict] = field(default_factory=list)     # epoch events, one per epoch
    batch_losses: list[float] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)      # early stop, smaller batches after out of memory
    error: str | None = None
    summary: dict | None = None


def follow(events: list[dict], status: str, now: float) -> Progress:
    """Summarise ``events`` (in order; a resumed run holds several attempts) for a run whose status is ``status``."""
    attempt = last_attempt(events)
    start = attempt[0] if attempt and attempt[0]["kind"] == "start" else None
    history = epoch_history(events)
    batches = [e for e in attempt if e["kind"] == "batch"]
    error = next((i18n.event_text(e) for e in reversed(attempt) if e["kind"] == "error"), None)
    end = next((e for e in reversed(attempt) if e["kind"] == "end"), None)
    noun = "texts" if start and start.get("modality") == "text" else "images"
    progress = Progress(status=status, phase="starting", fraction=0.0, eta_seconds=None,
                        message=_("Starting: loading PyTorch, the data and the backbone..."),
                        device=device_words(start["device"]) if start else "", noun=noun, history=history,
                        strategy=start.get("strategy", "") if start else "",
                        batch_losses=[e["loss"] for e in batches], error=error,
                        summary=end["summary"] if end else None, epochs=start["epochs"] if start else None,
                        notices=[i18n.event_text(e) for e in attempt if e["kind"] in ("notice", "early_stop", "stage")])
    if status == "queued":
        progress.phase, progress.message = "waiting", _("Waiting for its turn")
        return progress
    if status != "running":
        progress.phase = "done"
        progress.fraction = 1.0 if status == "finished" else _fraction(history, start)
        progress.message = _(ENDED_MESSAGES[status]) if status in ENDED_MESSAGES else status.capitalize()
        return progress
    if start is None:
        return progress
    feature_events = [e for e in attempt if e["kind"] == "features"]
    if feature_events and not batches and "cache_hit" not in feature_events[-1]:
        last = feature_events[-1]
        domain = last.get("domain", "source")  # a target's pass follows the training data's
        pass_events = [e for e in feature_events if e.get("domain", "source") == domain]
        first = pass_events[0]  # done > 0 when the run joined a pass begun in the background: its pace from there
        done = last["done"] / max(last["total"], 1)
        since = (last["done"] - first["done"]) / max(last["total"] - first["done"], 1)
        progress.phase, progress.fraction = "features", 0.9 * done
        progress.message = _computing(domain, last.get("views"), noun, last["done"], last["total"])
        progress.eta_seconds = _eta(first["time"], now, since)
        progress.throughput = _rate(pass_events, "done")
        return progress
    if batches:
        last = batches[-1]
        epochs = start["epochs"]
        resumed = start.get("resumed_from_epoch") or 0
        done = ((last["epoch"] - 1) * last["batches"] + last["batch"]) / (epochs * last["batches"])
        done_before = resumed / epochs  # epochs trained by an earlier attempt: not part of this one's pace
        offset = 0.9 if feature_events and not feature_events[-1].get("cache_hit", False) else 0.0
        progress.phase, progress.fraction = "training", offset + (1 - offset) * done
        progress.epoch = last["epoch"]
        progress.message = _("Epoch {epoch}/{epochs} · batch {batch}/{batches}", epoch=last["epoch"], epochs=epochs,
                             batch=last["batch"], batches=last["batches"])
        progress.eta_seconds = _eta(batches[0]["time"], now, (done - done_before) / max(1 - done_before, 1e-9))
        progress.throughput = _rate(batches[-50:], "examples", cumulative=False)
    return progress


def _computing(domain: str, views: int | None, noun: str, done: int, total: int) -> str:
    """What a feature pass computes, one whole sentence per kind of pass (and of data)."""
    if domain == "views":  # augmented views are of images only
        if views is None:
            return _("Computing the augmented views of every training image once: {done:,}/{total:,} images",
                     done=done, total=total)
        return _("Computing {views} augmented views of every training image once: {done:,}/{total:,} images",
                 views=views, done=done, total=total)
    if domain == "target":
        if noun == "texts":
            return _("Computing the target's features once: {done:,}/{total:,} texts", done=done, total=total)
        return _("Computing the target's features once: {done:,}/{total:,} images", done=done, total=total)
    if noun == "texts":
        return _("Computing backbone features once: {done:,}/{total:,} texts", done=done, total=total)
    return _("Computing backbone features once: {done:,}/{total:,} images", done=done, total=total)


def _fraction(history: list[dict], start: dict | None) -> float:
    return min(1.0, len(history) / start["epochs"]) if start and start.get("epochs") else 0.0


def _eta(started: float, now: float, done: float) -> float | None:
    """Seconds left when ``done`` (0..1) of the work took ``now - started``."""
    if done <= 0.0:
        return None
    return max(0.0, (now - started) / done * (1 - done))


def _rate(events: list[dict], key: str, cumulative: bool = True) -> float | None:
    """Items per second over ``events``: ``key`` is a running count (cumulative) or a count per event."""
    if len(events) < 2 or events[-1]["time"] <= events[0]["time"]:
        return None
    span = events[-1]["time"] - events[0]["time"]
    items = events[-1][key] - events[0][key] if cumulative else sum(e.get(key, 0) for e in events[1:])
    return items / span if items > 0 else None


def format_seconds(seconds: float | None) -> str:
    if seconds is None:
        return _("estimating...")
    from core.costs import duration

    return duration(round(seconds))  # in words, as every other time shown ("1 min 15 s", not "1:15")


def device_words(described: str) -> str:
    """A device as a run stored it (device.describe_device: "CPU (2 threads)", the same in every language), in
    the current language."""
    threads = re.fullmatch(r"CPU \((\d+) threads?\)", described or "")
    if threads:
        return i18n.ngettext("CPU ({n} thread)", "CPU ({n} threads)", int(threads.group(1)))
    if described == "Apple GPU (MPS)":
        return i18n._("Apple GPU (MPS)")
    return described or ""
