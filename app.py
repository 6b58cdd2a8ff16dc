"""TransferLab: the entry point. Sets up the page, the session and the navigation.

st.navigation (rather than pages/ auto-discovery) so this file runs on every page: one place
for the page config, the session defaults and the sidebar summary of the user's choices.

`streamlit run app.py -- --data sample:mnist` (or a folder, or a .zip) opens with that data loaded.
"""

import streamlit as st

from core import jobs
from ui import run_view, state
from ui.widgets import guarded, unexpected_errors

st.set_page_config(page_title="TransferLab", page_icon=":material/science:", layout="wide")
state.init()
state.preload_from_command_line()

navigation = st.navigation([
    st.Page("pages/0_home.py", title="Start", icon=":material/home:", default=True),
    st.Page("pages/1_data.py", title="1 · Data", icon=":material/folder_open:"),
    st.Page("pages/2_model.py", title="2 · Model", icon=":material/neurology:"),
    st.Page("pages/3_train.py", title="3 · Train", icon=":material/model_training:"),
    st.Page("pages/4_results.py", title="4 · Results", icon=":material/analytics:"),
    st.Page("pages/7_predict.py", title="5 · Try it", icon=":material/touch_app:"),
    st.Page("pages/5_compare.py", title="Compare strategies", icon=":material/compare_arrows:"),
    st.Page("pages/6_runs.py", title="Runs", icon=":material/history:"),
])


@guarded
def sidebar() -> None:
    report = st.session_state.report
    st.caption("Your choices so far")
    if report is None:
        st.markdown("**Data:** not loaded yet")
    else:
        counts = f"{len(report.classes)} classes, {report.num_items:,} {'texts' if report.modality == 'text' else 'images'}"
        if report.excluded:
            counts += f" ({len(report.excluded):,} excluded)"
        # sample titles already give the counts, unless the dataset doctor's exclusions changed them
        titled = str(st.session_state.data).startswith("sample:") and not report.excluded
        st.markdown(f"**Data:** {st.session_state.data_name or ''}" + ("" if titled else f"  \n{counts}"))
    st.markdown(f"**Backbone:** `{st.session_state.backbone}`  \n**Strategy:** `{st.session_state.strategy}`")
    if st.session_state.target is not None:
        st.markdown(f"**Target:** {st.session_state.target.name}  \n**Adaptation:** `{st.session_state.adapt}`")
    config = state.prepare_next_run()
    if config is not None:
        preparing(config)
    training_now(bool(jobs.supervisor().queue()))


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
            st.caption("Getting a training process ready...")
        elif what.state in ("loading", "computing"):
            st.caption(f"Computing the **{what.title}** features of this data in the background, so that a "
                       f"feature-extraction run starts in seconds: {what.done:,} of {what.total:,}" if what.total else
                       f"Reading the data for the **{what.title}** features...")
            st.progress(what.done / what.total if what.total else 0.0)
            if st.button("Cancel", key="cancel_preparation", icon=":material/close:",
                         help="Frees the CPU now; the first feature-extraction run then computes them itself."):
                supervisor.cancel_preparation()
                st.rerun(scope="fragment")
        elif what.state == "ready":
            how = "found in the cache" if what.cached else f"computed in {what.seconds:.0f} s"
            st.caption(f":material/check_circle: The **{what.title}** features of this data are ready ({how}): "
                       "feature extraction starts in seconds.")
        elif what.state == "cancelled":
            st.caption(f"Background pass of **{what.title}** cancelled at {what.done:,} of {what.total:,}: the "
                       "first feature-extraction run computes the features itself.")

    line()


def training_now(busy: bool) -> None:
    """What trains now and how many wait: redrawn every 2 s while anything is queued, so it follows a
    comparison from run to run (a page's own fragments do not redraw the sidebar)."""

    @st.fragment(run_every=2.0 if busy else None)
    def line() -> None:
        queue = jobs.supervisor().queue()
        if queue:
            waiting = f", {len(queue) - 1} waiting" if len(queue) > 1 else ""
            st.caption(f"Training now: **{run_view.short_label(queue[0])}**{waiting}")
            st.page_link("pages/3_train.py", label="Follow it", icon=":material/model_training:")

    line()


with st.sidebar:
    sidebar()
state.remember_in_url()   # before the page too: a page may end with st.stop()
with unexpected_errors():  # never a traceback: a short explanation, the details folded away
    navigation.run()
state.remember_in_url()
