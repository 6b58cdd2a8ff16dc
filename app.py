"""TransferLab: the entry point. Sets up the page, the session and the navigation.

st.navigation (rather than pages/ auto-discovery) so this file runs on every page: one place
for the page config, the session defaults and the sidebar summary of the user's choices.

`streamlit run app.py -- --data sample:mnist` (or a folder, or a .zip) opens with that data loaded.
"""

import streamlit as st

from core import jobs, strategies
from core.i18n import _, ngettext
from ui import language, run_view, state
from ui.widgets import guarded, unexpected_errors

st.set_page_config(page_title="TransferLab", page_icon=":material/science:", layout="wide")
language.choose()  # first: every word below is in the session's language
state.init()
state.warm_up()  # before the data loads: the warm process imports meanwhile
state.preload_from_command_line()

navigation = st.navigation([
    st.Page("pages/0_home.py", title=_("Start"), icon=":material/home:", default=True),
    st.Page("pages/1_data.py", title=_("1 · Data"), icon=":material/folder_open:"),
    st.Page("pages/2_model.py", title=_("2 · Model"), icon=":material/neurology:"),
    st.Page("pages/3_train.py", title=_("3 · Train"), icon=":material/model_training:"),
    st.Page("pages/4_results.py", title=_("4 · Results"), icon=":material/analytics:"),
    st.Page("pages/7_predict.py", title=_("5 · Try it"), icon=":material/touch_app:"),
    st.Page("pages/5_compare.py", title=_("Compare strategies"), icon=":material/compare_arrows:"),
    st.Page("pages/6_runs.py", title=_("Runs"), icon=":material/history:"),
])


@guarded
def sidebar() -> None:
    language.switch()
    report = st.session_state.report
    st.caption(_("Your choices so far"))
    if report is None:
        st.markdown(_("**Data:** not loaded yet"))
    else:
        # sample titles already give the counts, unless the dataset doctor's exclusions changed them
        titled = str(st.session_state.data).startswith("sample:") and not report.excluded
        st.markdown(_("**Data:** {name}", name=st.session_state.data_name or "")
                    + ("" if titled else "  \n" + data_counts(report)))
    st.markdown(_("**Backbone:** `{backbone}`  \n**Strategy:** `{strategy}`", backbone=st.session_state.backbone,
                  strategy=strategies.title(st.session_state.strategy)))
    if st.session_state.target is not None:
        st.markdown(_("**Target:** {target}  \n**Adaptation:** `{method}`", target=st.session_state.target.name,
                      method=adaptation_words(st.session_state.adapt)))
    config = state.prepare_next_run()
    if config is not None:
        preparing(config)
    training_now(bool(jobs.supervisor().queue()))


def adaptation_words(name: str) -> str:
    """The chosen domain adaptation in words ("auto": chosen by measurement; the Model page says which)."""
    from core import adaptation

    return adaptation.title(name)


def data_counts(report) -> str:
    classes = ngettext("{n} class", "{n} classes", len(report.classes))
    if report.modality == "text":
        items = ngettext("{n:,} text", "{n:,} texts", report.num_items)
    else:
        items = ngettext("{n:,} image", "{n:,} images", report.num_items)
    counts = _("{classes}, {items}", classes=classes, items=items)
    if report.excluded:
        counts = _("{counts} ({excluded:,} excluded)", counts=counts, excluded=len(report.excluded))
    return counts


def preparing(config) -> None:
    """The next run's features, computed in the background while the person looks around: shown with a
    bar and a Cancel button, redrawn every second while it works."""
    now = jobs.supervisor().preparation(config)

    @st.fragment(run_every=1.0 if now is not None and now.busy else None)
    def line() -> None:
        supervisor = jobs.supervisor()
        what = supervisor.preparation(config)
        if now is not None and now.busy and (what is None or not what.busy):
            st.rerun()  # the whole page once: what waited for the features (the Train page) can go on; no more ticks
        if what is None:
            return
        if what.state == "starting":
            st.caption(_("Getting a training process ready..."))
        elif what.state in ("loading", "computing"):
            st.caption(_("Computing the **{backbone}** features of this data in the background, so that a "
                         "feature-extraction run starts in seconds: {done:,} of {total:,}", backbone=what.title,
                         done=what.done, total=what.total) if what.total else
                       _("Reading the data for the **{backbone}** features...", backbone=what.title))
            st.progress(what.done / what.total if what.total else 0.0)
            if st.button(_("Cancel"), key="cancel_preparation", icon=":material/close:",
                         help=_("Frees the CPU now; the first feature-extraction run then computes them itself.")):
                supervisor.cancel_preparation()
                st.rerun(scope="fragment")
        elif what.state == "ready":
            how = _("found in the cache") if what.cached else _("computed in {seconds:.0f} s", seconds=what.seconds)
            st.caption(_(":material/check_circle: The **{backbone}** features of this data are ready ({how}): "
                         "feature extraction starts in seconds.", backbone=what.title, how=how))
        elif what.state == "cancelled":
            st.caption(_("Background pass of **{backbone}** cancelled at {done:,} of {total:,}: the first "
                         "feature-extraction run computes the features itself.", backbone=what.title, done=what.done,
                         total=what.total))

    line()


def training_now(busy: bool) -> None:
    """What trains now and how many wait: redrawn every 2 s while anything is queued, so it follows a
    comparison from run to run (a page's own fragments do not redraw the sidebar)."""

    @st.fragment(run_every=2.0 if busy else None)
    def line() -> None:
        queue = jobs.supervisor().queue()
        if queue:
            if len(queue) > 1:
                st.caption(ngettext("Training now: **{run}**, {n} waiting", "Training now: **{run}**, {n} waiting",
                                    len(queue) - 1, run=run_view.short_label(queue[0])))
            else:
                st.caption(_("Training now: **{run}**", run=run_view.short_label(queue[0])))
            st.page_link("pages/3_train.py", label=_("Follow it"), icon=":material/model_training:")

    line()


with st.sidebar:
    sidebar()
state.remember_in_url()   # before the page too: a page may end with st.stop()
with unexpected_errors():  # never a traceback: a short explanation, the details folded away
    navigation.run()
state.remember_in_url()
