"""How one run looks while it waits, trains and after: used by the Train and Compare pages.

Everything is read from the run folder (status, events), never from a thread or a process handle,
so any page, tab or session shows the same thing.
"""

from __future__ import annotations

import time

import streamlit as st

from pathlib import Path

from core import backbones, jobs, progress, runs, strategies
from core.i18n import Text, _, ngettext
from core.runs import Summary
from ui import charts
from ui.terms import help_for
from ui.widgets import percent, show_error


def is_live(run: runs.Run) -> bool:
    return run.status in runs.ACTIVE


def status_line(run: runs.Run, view: progress.Progress, slot, controls, key: str, stop_label: str | None = None,
                stop_help: str | None = None) -> None:
    """The banner of a run (progress bar, or how it ended) in ``slot``, and in ``controls`` the one
    button that fits its state (fixed slots: elements never shift between states). In a group of runs
    (Compare), ``stop_label``/``stop_help`` (already translated) say that the button stops this run only;
    without them the button reads "Stop"."""
    supervisor = jobs.supervisor(run.dir.parent)
    status = view.status
    if status == "queued":
        place = supervisor.position(run)
        if place == 0 or place is None:
            slot.info(_("Starting: loading PyTorch, the data and the backbone..."), icon=":material/hourglass_top:")
        else:
            slot.info(ngettext("Waiting for its turn: {n} run ahead of it. One run trains at a time, so each gets "
                               "the whole machine.",
                               "Waiting for its turn: {n} runs ahead of it. One run trains at a time, so each gets "
                               "the whole machine.", place), icon=":material/schedule:")
        if controls.button(_("Cancel"), key=f"stop_{key}", icon=":material/close:"):
            supervisor.stop(run)
            st.rerun()
    elif status == "running":
        learner = strategies.find(view.strategy or "")
        on_features = view.phase == "training" and learner is not None and learner.on_features
        speed = _speed(view.throughput, view.noun, on_features) if view.throughput else None
        eta = _("ETA {time}", time=progress.format_seconds(view.eta_seconds))
        slot.progress(min(view.fraction, 1.0), text=" · ".join(d for d in (view.message, speed, eta, view.device) if d))
        if controls.button(stop_label or _("Stop"), key=f"stop_{key}", icon=":material/stop:", help=stop_help):
            supervisor.stop(run)
            st.toast(_("Stopping after this batch; the best weights so far are kept."))
    elif status == "finished":
        summary = view.summary or {}
        accuracy = percent(summary.get(Summary.BEST_VAL_ACC))
        slot.success(_("Finished: best validation accuracy {accuracy}. Stopped early after epoch {epoch} (validation "
                       "loss no longer improving).", accuracy=accuracy, epoch=summary.get("epochs"))
                     if summary.get("early_stopped") else
                     _("Finished: best validation accuracy {accuracy}.", accuracy=accuracy),
                     icon=":material/check_circle:")
    elif status in ("stopped", "interrupted"):
        if status == "stopped":
            text = _("Stopped. The best weights so far were kept.") if view.history else \
                _("Stopped before the first epoch ended, so there is no model to keep.")
        elif view.history and run.has_checkpoint():
            text = _("Interrupted: the app stopped while this run trained. Its last checkpoint is epoch {epoch}; "
                     "Resume goes on from there.", epoch=view.history[-1]["epoch"])
        else:
            text = _("Interrupted before its first epoch ended: Resume starts it again.")
        slot.warning(text, icon=":material/stop_circle:" if status == "stopped" else ":material/warning:")
        if run.can_resume() and controls.button(_("Resume") if status == "interrupted" else _("Continue training"),
                                          key=f"resume_{key}", icon=":material/play_arrow:"):
            try:
                supervisor.resume(run)
                st.rerun()
            except Exception as error:
                show_error(error)
    else:
        slot.error(view.error or _("Training failed."), icon=":material/error:")


def _speed(throughput: float, noun: str, on_features: bool) -> str:
    """How fast it goes: "120 images/s", "(head only, on cached features)" when only the head trains."""
    if noun == "texts":
        return _("{rate:,.0f} texts/s (head only, on cached features)", rate=throughput) if on_features else \
            _("{rate:,.0f} texts/s", rate=throughput)
    return _("{rate:,.0f} images/s (head only, on cached features)", rate=throughput) if on_features else \
        _("{rate:,.0f} images/s", rate=throughput)


def epoch_numbers(view: progress.Progress) -> None:
    last = view.history[-1]
    change = last["val_acc"] - view.history[-2]["val_acc"] if len(view.history) > 1 else 0.0
    private = last.get("epsilon") is not None
    columns = st.columns(5 if private else 4)
    columns[0].metric(_("Epoch"), f"{last['epoch']}/{last['epochs']}", help=help_for("epoch"))
    columns[1].metric(_("Validation accuracy"), percent(last["val_acc"]),
                      _("{points:+.1f} pts", points=change * 100) if abs(change) >= 0.0005 else None,
                      help=help_for("accuracy", "validation_set"))
    columns[2].metric(_("Best so far"), percent(last.get(Summary.BEST_VAL_ACC)),
                      help=_("The best validation accuracy of any epoch so far: its weights are the ones kept."))
    columns[3].metric(_("Seconds per epoch"), f"{last['seconds']:.2f}")
    if private:
        columns[4].metric(_("Privacy spent (ε)"), f"{last['epsilon']:.2f}",
                          help=_("The privacy budget spent so far: it grows with every step of private training.")
                          + "\n\n" + help_for("epsilon"))


def follow(run: runs.Run) -> progress.Progress:
    return progress.follow(run.events(), run.status, time.time())


def show_curves(view: progress.Progress, slot, key: str) -> None:
    if view.history:
        slot.plotly_chart(charts.learning_curves(view.history), key=f"curves_{key}")


@st.cache_resource(max_entries=4, show_spinner=False)  # the spinner is trained_model's, in the reader's language
def _predictor(folder: str, weights_time: float):
    from core.inference import load  # PyTorch is imported by the pages that show a model, not by every page

    return load(folder)


def trained_model(folder: str | Path):
    """A run's best model, loaded once for every page and session (reloaded when its weights change)."""
    weights = runs.Run(Path(folder)).weights_path
    if not weights.is_file():
        return None
    with st.spinner(_("Loading the model...")):  # shown only when loading takes a while (a cached model: never)
        return _predictor(str(folder), weights.stat().st_mtime)


def strategy_label(strategy: str, adapt: str | None = None, epsilon: float | None = None, auto: bool = False) -> str:
    """How a run's strategy reads in tables and legends: "Feature extraction", "Feature extraction + CORAL",
    "Feature extraction, private (ε ≤ 3)" (``epsilon``: the private run's budget); ``auto``: the adaptation
    was (or will be) chosen by measurement. In the current language."""
    from core import adaptation

    title = _shown(strategies.title(strategy))
    if adapt == "auto" or (auto and not adapt):
        return _("{strategy} + adaptation chosen by measurement", strategy=title)
    if not adapt or adapt == "none":
        if auto:
            return _("{strategy}, no adaptation (chosen by measurement)", strategy=title)
        return _("{strategy}, private (ε ≤ {epsilon:g})", strategy=title, epsilon=epsilon) if epsilon else title
    method = _shown(adaptation.get(adapt).short) if adapt in adaptation.names() else adapt
    if epsilon:
        return _("{strategy} + {method}, private (ε ≤ {epsilon:g})", strategy=title, method=method, epsilon=epsilon)
    if auto:
        return _("{strategy} + {method} (chosen by measurement)", strategy=title, method=method)
    return _("{strategy} + {method}", strategy=title, method=method)


def _shown(text) -> str:
    """A registry's title in the current language: a lazy Text, or English marked where it is defined (``_("")``
    would be the catalogue's header; a title translated already comes back unchanged)."""
    if isinstance(text, Text):
        return str(text)
    return _(text) if text else text


def run_label(folder: str | Path) -> str:
    """How a run is named in every picker: what trained, on which backbone, how well, when, on what.
    "Fine-tuning · efficientnet_lite0 · 98.0% · 12-02 00:59 · MNIST digits"."""
    from ui.state import display_name

    row = runs.describe(runs.Run(Path(folder)))
    parts = [what_trained(row), backbones.title_of(row["backbone"]),
             percent(row[Summary.BEST_VAL_ACC]),
             row["started"][5:16].replace("T", " "), display_name(row["data"]) if row["data"] else ""]
    return " · ".join(part for part in parts if part)


def what_trained(row: dict) -> str:
    """A run's row (runs.describe) in the words of tables and pickers: its strategy, adaptation, privacy and, for
    a curve's point, its examples per class ("Feature extraction + CORAL", "Fine-tuning (10 per class)")."""
    what = strategy_label(row["strategy"], row.get("adapt"), row.get("dp_epsilon"), row.get(Summary.ADAPT_AUTO))
    size = row.get("per_class")
    return _("{strategy} ({size} per class)", strategy=what, size=size) if size else what


def short_label(run: runs.Run) -> str:
    """A live run in a few words: "Fine-tuning · efficientnet_lite0 (10 per class)"."""
    config = run.config()
    size = config.get("per_class")
    what = strategy_label(config.get("strategy", ""), config.get("adapt"), config.get("dp_epsilon"))
    backbone = backbones.title_of(runs.describe(run)["backbone"])
    if size:
        return _("{strategy} · {backbone} ({size} per class)", strategy=what, backbone=backbone, size=size)
    return f"{what} · {backbone}"


def latest_finished(candidates: list[runs.Run]) -> runs.Run | None:
    """The run that finished last (its summary written last), for pages that open on "the latest": the person's
    own runs before those a lesson prepared."""
    def finished_at(run: runs.Run) -> float:
        try:
            return (run.dir / runs.SUMMARY).stat().st_mtime
        except OSError:
            return 0.0

    def lessons_last(run: runs.Run) -> tuple[bool, float]:  # a lesson's runs, prepared before class, only when
        return not str(run.config().get("group") or "").startswith("lesson-"), finished_at(run)  # nothing else

    return max(candidates, key=lessons_last, default=None)
