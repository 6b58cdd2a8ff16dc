"""One reading of this session's data and of the features its next run needs, shared by the sidebar and
every page, so that they can never disagree.

Seen in the browser before: the sidebar said the features were "ready" while the page said they were being
computed, because each read the background preparation (core/jobs.py) at its own moment, and the warm process
still reported on the settings before (it says what it does, not for which settings) until it had taken up the
new ones. Now app.py reads the status once per script run (``observe``), before the sidebar; the pages read that
same reading (``current``); and one fragment in the sidebar (``follow``) reads again every second while anything
can still change, and reruns the whole app when the reading changes, so that every part is drawn again from the
new one at once (no reload needed).

The feature cache is asked first: features found there are ready, whatever the warm process says meanwhile (it
reads the data again each time the settings change, e.g. the private-training switch, which needs the same
features). What the warm process says is believed only once it has spoken since it was asked for these settings
(ui/state.py: prepare_next_run keeps what it said then), and only when it is about their backbone and data.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, replace

import streamlit as st

from core import backbones, jobs, strategies
from core.i18n import _, ngettext

KEY = "data_status"
UNHEARD_SECONDS = 60.0  # after asking for new settings: how long the warm process's words may still be about the
                        # settings before (it takes a command up after its last import: seconds on a busy machine).
                        # Each word of it is a new Preparation: the same object as when asked means it said nothing

NONE = "none"            # no data loaded
UNUSED = "unused"        # the next run computes no features ahead (fine-tuning, TF-IDF...), or settings a run refuses
READY = "ready"          # in the feature cache: a feature-extraction run starts in seconds
STARTING = "starting"    # asked for; the warm process has not taken it up yet
LOADING = "loading"      # the warm process reads the data
COMPUTING = "computing"  # the warm process computes them: ``done`` of ``total``
CANCELLED = "cancelled"  # the person cancelled the background pass
FAILED = "failed"        # the background pass failed (``message``): the run computes them itself and says why
LATER = "later"          # not cached, nothing computes them now (a run trains, or preparation is off): the first
                         # feature-extraction run computes them itself
BUSY = (STARTING, LOADING, COMPUTING)


@dataclass(frozen=True)
class DataStatus:
    """This session's data and the state of the features its next run needs, read at one moment."""
    data: str | None = None        # what TrainConfig.data will be; None: nothing loaded
    name: str = ""                 # how the data is called on screen
    counts: str = ""               # "10 classes, 999 images (1 excluded)"
    excluded: int = 0              # examples the person excluded (the dataset doctor)
    backbone: str = ""             # registry name
    backbone_title: str = ""
    strategy: str = ""
    features: str = NONE           # one of the states above
    done: int = 0                  # computing: examples done so far, of total
    total: int = 0
    seconds: float | None = None   # ready: how long the background pass took; None: found in the cache
    message: str = ""              # failed: why, in the reader's language
    training: bool = False         # a run trains or waits in line (nothing is prepared meanwhile)

    @property
    def busy(self) -> bool:
        """The features are on their way: what reads them (the learning-rate finder, the doctor) waits."""
        return self.features in BUSY

    @property
    def ready(self) -> bool:
        return self.features == READY

    def phase(self) -> tuple:
        """What the pages draw from (everything but the progress counts): a change redraws the whole app."""
        return (self.data, self.counts, self.backbone, self.strategy, self.features, self.training)


def observe() -> DataStatus:
    """Read the status now and keep it as this script run's reading (app.py, before the sidebar)."""
    status = measure()
    st.session_state[KEY] = (_this_run(), status)
    return status


def current() -> DataStatus:
    """This script run's reading (taken by app.py before the sidebar); read now when this run has none yet (a page
    run on its own, as AppTest's switch_page runs it)."""
    kept = st.session_state.get(KEY)
    if isinstance(kept, tuple) and kept[0] is not None and kept[0] is _this_run():
        return kept[1]
    return observe()


def _this_run() -> object | None:
    """An object that stands for this script run: the context's cursors, made anew when a run starts (a reading
    keeps a reference to them, so no later run's can be mistaken for them)."""
    from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

    context = get_script_run_ctx()
    return None if context is None else context.cursors


def measure() -> DataStatus:
    """Read the session's data, the feature cache and the background preparation, once."""
    from ui import state

    session = st.session_state
    backbone, strategy = session.get("backbone") or "", session.get("strategy") or ""
    training = bool(jobs.supervisor().queue())
    report = session.get("report")
    title = _backbone_title(backbone)
    if report is None:
        return DataStatus(backbone=backbone, backbone_title=title, strategy=strategy, training=training)
    name = session.get("data_name") or str(session.get("data"))  # a name without counts (ui/state.display_name)
    status = DataStatus(data=str(session.get("data")), name=name, counts=counts(report),
                        excluded=len(report.excluded), backbone=backbone, backbone_title=title, strategy=strategy,
                        features=UNUSED, training=training)
    learner = strategies.find(strategy)
    config = state.next_run_config()
    if config is None or learner is None or not learner.on_features:
        return status
    try:
        return _features(status, report, config)
    except Exception:  # a backbone gone from the registry, a cache folder unreadable: the run says what is wrong
        return replace(status, features=LATER)


def _backbone_title(name: str) -> str:
    return backbones.title_of(name)  # a stale name as it is: the pages say what is wrong with it


def _features(status: DataStatus, report, config) -> DataStatus:
    """The status with what is known about ``config``'s features: the cache first, then the warm process."""
    spec = backbones.get(config.backbone)
    status = replace(status, backbone_title=spec.display_title, total=len(report.all_items()))
    said = None
    if os.environ.get("TRANSFERLAB_PREPARE", "1") != "0" and not status.training:
        said = jobs.supervisor().preparation(config)
    about_these = said is not None and said.title == spec.title and (not said.total or said.total == status.total)
    if _in_cache(report, spec, config):
        computed = about_these and said.state == "ready" and not said.cached
        return replace(status, features=READY, done=status.total, seconds=said.seconds if computed else None)
    if said is None:
        return replace(status, features=LATER)
    asked = st.session_state.get("prepare_asked")  # ui/state.py: prepare_next_run
    recently = asked is not None and time.time() - asked[0] < UNHEARD_SECONDS
    if said.state == "starting" or (recently and (said.state == "idle" or said is asked[1])):
        return replace(status, features=STARTING)  # not begun, or its words are still about the settings before
    if not about_these:
        return replace(status, features=LATER)  # it prepares for other settings (another session's, say)
    if said.state in (LOADING, COMPUTING):
        return replace(status, features=said.state, done=said.done)
    if said.state == "ready":  # computed where this server's cache check does not look: believe it
        return replace(status, features=READY, done=status.total, seconds=None if said.cached else said.seconds)
    if said.state in (CANCELLED, FAILED):
        return replace(status, features=said.state, done=said.done, message=said.said)
    return replace(status, features=LATER)


def _in_cache(report, spec, config) -> bool:
    from core import features

    try:
        return features.cache_path(config.cache_dir, report, spec, config.max_length).is_file()
    except Exception:  # a backbone whose files are gone: the warm process and the run say so
        return False


def counts(report) -> str:
    """The data's classes and examples in one phrase, the excluded ones said: "10 classes, 999 images (1 excluded)"."""
    classes = ngettext("{n} class", "{n} classes", len(report.classes))
    if report.modality == "text":
        items = ngettext("{n:,} text", "{n:,} texts", report.num_items)
    else:
        items = ngettext("{n:,} image", "{n:,} images", report.num_items)
    said = _("{classes}, {items}", classes=classes, items=items)
    if report.excluded:
        said = _("{counts} ({excluded:,} excluded)", counts=said, excluded=len(report.excluded))
    return said


def follow(drawn: DataStatus, line) -> None:
    """Draw ``line(status)`` (the sidebar's words on the features) in a fragment that reads the status again every
    second while the features are on their way (or asked for), and reruns the whole app when the reading changes
    (every part then draws the new one, and the timer stops once nothing is on its way); progress counts alone
    redraw only this."""
    first = [True]  # the fragment's first call is part of this script run: it draws this run's reading

    @st.fragment(run_every=1.0 if drawn.busy else None)
    def ticking() -> None:
        if first[0]:
            first[0] = False
            line(drawn)
            return
        fresh = measure()
        if fresh.phase() != drawn.phase():
            observe()
            st.rerun()  # the whole app: every part draws the same new reading
        line(fresh)

    ticking()
