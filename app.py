"""TransferLab: the entry point. Sets up the page, the session and the navigation.

st.navigation (rather than pages/ auto-discovery) so this file runs on every page: one place
for the page config, the session defaults and the sidebar summary of the user's choices.

`streamlit run app.py -- --data sample:mnist` (or a folder, or a .zip) opens with that data loaded.
"""

import streamlit as st

from core import jobs, strategies
from core.i18n import _, ngettext
from ui import language, run_view, session_status, state
from ui.widgets import guarded, streamlit_hints_in_language, unexpected_errors

st.set_page_config(page_title="TransferLab", page_icon=":material/science:", layout="wide")
language.choose()  # first: every word below is in the session's language
streamlit_hints_in_language()
state.init()
state.warm_up()  # before the data loads: the warm process imports meanwhile
state.preload_from_command_line()
state.prepare_next_run()
status = session_status.observe()  # this run's one reading of the data and its features: the sidebar's and the page's

navigation = st.navigation([
    st.Page("pages/0_home.py", title=_("Start"), icon=":material/home:", default=True),
    st.Page("pages/1_data.py", title=_("1 · Data"), icon=":material/folder_open:"),
    st.Page("pages/2_model.py", title=_("2 · Model"), icon=":material/neurology:"),
    st.Page("pages/3_train.py", title=_("3 · Train"), icon=":material/model_training:"),
    st.Page("pages/4_results.py", title=_("4 · Results"), icon=":material/analytics:"),
    st.Page("pages/7_predict.py", title=_("5 · Try it"), icon=":material/touch_app:"),
    st.Page("pages/5_compare.py", title=_("Compare strategies"), icon=":material/compare_arrows:"),
    st.Page("pages/6_runs.py", title=_("Runs"), icon=":material/history:"),
    st.Page("pages/8_lessons.py", title=_("Lessons"), icon=":material/school:", url_path="lessons"),
])


@guarded
def sidebar(status: session_status.DataStatus) -> None:
    language.switch()
    st.caption(_("Your choices so far"))
    if status.data is None:
        st.markdown(_("**Data:** not loaded yet"))
    else:  # the name (without counts), then the counts of the data as used (exclusions left out)
        st.markdown(_("**Data:** {name}", name=status.name) + "  \n" + status.counts)
    st.markdown(_("**Backbone:** `{backbone}`  \n**Strategy:** `{strategy}`", backbone=status.backbone_title,
                  strategy=strategies.title(status.strategy)))
    if st.session_state.target is not None:
        st.markdown(_("**Target:** {target}  \n**Adaptation:** `{method}`", target=state.target_name(),
                      method=adaptation_words(st.session_state.adapt, st.session_state.get("private_training")
                                              and not strategies.get(status.strategy).fits_in_one_go)))
    session_status.follow(status, features_line)
    training_now(status.training)


def adaptation_words(name: str, private: bool = False) -> str:
    """The chosen domain adaptation in words ("auto": chosen by measurement; the Model page says which); a
    private run is never adapted (the Train page says why)."""
    from core import adaptation

    return _("none: a private run is not adapted") if private else adaptation.title(name)


def features_line(status: session_status.DataStatus) -> None:
    """Where the next run's features stand (computed in the background while the person looks around, so that
    feature extraction starts in seconds): a bar and a Cancel button while they are computed."""
    what = status.features
    if what == session_status.STARTING:
        st.caption(_("Getting a training process ready..."))
    elif what == session_status.LOADING:
        st.caption(_("Reading the data for the **{backbone}** features...", backbone=status.backbone_title))
    elif what == session_status.COMPUTING:
        st.caption(_("Computing the **{backbone}** features of this data in the background, so that a "
                     "feature-extraction run starts in seconds: {done:,} of {total:,}", backbone=status.backbone_title,
                     done=status.done, total=status.total))
        st.progress(status.done / status.total if status.total else 0.0)
        if st.button(_("Cancel"), key="cancel_preparation", icon=":material/close:",
                     help=_("Frees the CPU now; the first feature-extraction run then computes them itself.")):
            jobs.supervisor().cancel_preparation()
            st.rerun(scope="fragment")
    elif what == session_status.READY:
        how = _("found in the cache") if status.seconds is None else \
            _("computed in {seconds:.0f} s", seconds=status.seconds)
        st.caption(_(":material/check_circle: The **{backbone}** features of this data are ready ({how}): "
                     "feature extraction starts in seconds.", backbone=status.backbone_title, how=how))
    elif what == session_status.CANCELLED:
        st.caption(_("Background pass of **{backbone}** cancelled at {done:,} of {total:,}: the first "
                     "feature-extraction run computes the features itself.", backbone=status.backbone_title,
                     done=status.done, total=status.total))


def training_now(busy: bool) -> None:
    """What trains now and how many wait: redrawn every 2 s while anything is queued, so it follows a
    comparison from run to run (a page's own fragments do not redraw the sidebar); the whole app once the line
    is empty (the next run's features are then prepared, and every page should see it)."""

    @st.fragment(run_every=2.0 if busy else None)
    def line() -> None:
        queue = jobs.supervisor().queue()
        if busy and not queue:
            session_status.observe()
            st.rerun()
        if queue:
            if len(queue) > 1:
                st.caption(ngettext("Training now: **{run}**, {n} waiting", "Training now: **{run}**, {n} waiting",
                                    len(queue) - 1, run=run_view.short_label(queue[0])))
            else:
                st.caption(_("Training now: **{run}**", run=run_view.short_label(queue[0])))
            if queue[0].config().get("group"):  # a comparison's or a curve's run: followed on the Compare page
                st.page_link("pages/5_compare.py", label=_("Follow it"), icon=":material/compare_arrows:")
            else:
                st.page_link("pages/3_train.py", label=_("Follow it"), icon=":material/model_training:")

    line()


with st.sidebar:
    sidebar(status)
state.remember_in_url()   # before the page too: a page may end with st.stop()
with unexpected_errors():  # never a traceback: a short explanation, the details folded away
    navigation.run()
state.remember_in_url()
