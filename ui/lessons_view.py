"""The Lessons page (pages/8_lessons.py): the list of lessons, a lesson one step per screen, presenter mode.

A screen shows what ``core.lessons.run`` kept (<workspace>/lessons/<id>.json and the run folders it names): it never
trains nor computes features, so a prepared step draws at once. "Prepare" runs ``python -m core lessons prepare``
in a child process (ui/child.py), followed by a fragment; the child reads the same ``lessons.Setup`` as this page
(the workspace, and the ``TRANSFERLAB_LESSON_*`` variables where a server for a class sets them).

The address says what is shown: ``?lesson=ID&step=N`` (N from 1; the screen after the last step, the question,
is the number of steps + 1) and ``?present=1`` for presenter mode, so a link opens the same step elsewhere.
"""

from __future__ import annotations

from urllib.parse import urlencode

import streamlit as st

from core import backbones, costs, lessons, runs
from core.errors import UserError
from core.i18n import _, ngettext
from ui import child, lesson_results, run_view, state
from ui.widgets import guarded, show_error

PREPARING = "lessons_preparing"       # session_state: the "Prepare" child (ui/child.py's dict)
PRESENT = "lessons_present"           # session_state: the presenter-mode toggle
PRESENT_SEEN = "lessons_present_seen"  # what ?present= said when last read: a changed address wins
REVEALED = "lessons_revealed"         # session_state: the lesson whose answer is shown
ALL = "all"
PAGE = "lessons"  # the page's address (app.py: url_path)
PRESENTER_CSS = """<style>
section[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], [data-testid="stExpandSidebarButton"],
[data-testid="stSidebarCollapseButton"] { display: none !important; }
[data-testid="stMainBlockContainer"] { max-width: 100%; padding: 2.5rem 4rem 3rem 4rem; }
[data-testid="stMainBlockContainer"] p, [data-testid="stMainBlockContainer"] li { font-size: 1.5rem; line-height: 1.5; }
[data-testid="stMainBlockContainer"] h1 { font-size: 3.4rem; }
[data-testid="stMainBlockContainer"] h2 { font-size: 2.6rem; }
[data-testid="stMainBlockContainer"] h3 { font-size: 2.2rem; }
[data-testid="stMainBlockContainer"] [data-testid="stMetricValue"],
[data-testid="stMainBlockContainer"] [data-testid="stMetricValue"] * { font-size: 4.2rem; line-height: 1.15; }
[data-testid="stMainBlockContainer"] [data-testid="stMetricLabel"] p,
[data-testid="stMainBlockContainer"] [data-testid="stMetricDelta"] * { font-size: 1.5rem; }
[data-testid="stMainBlockContainer"] code { font-size: 1.2rem; }
.st-key-lesson_back button, .st-key-lesson_next button, .st-key-lesson_answer button {
  min-height: 4.5rem; padding: 0 2rem; }
.st-key-lesson_back button *, .st-key-lesson_next button *, .st-key-lesson_answer button * { font-size: 2rem; }
</style>"""  # not-translated: CSS


# -- the address: which lesson, which screen, presenter mode -------------------------------------------------------
def address() -> tuple[str | None, int]:
    """The lesson the address opens (None: the list) and its screen (from 1)."""
    try:
        screen = int(st.query_params.get("step", 1))
    except ValueError:
        screen = 1
    return st.query_params.get("lesson") or None, screen


def go(lesson_id: str | None, screen: int = 1) -> None:
    """Show ``lesson_id``'s screen ``screen`` (None: the list), through the address; the answer hidden again."""
    st.session_state[REVEALED] = None
    if lesson_id is None:
        for key in ("lesson", "step"):
            if key in st.query_params:
                del st.query_params[key]
    else:
        st.query_params["lesson"], st.query_params["step"] = lesson_id, str(screen)


def presenter_switch() -> bool:
    """The presenter-mode toggle, kept in the address (``?present=1``); True when on."""
    asked = st.query_params.get("present") == "1"
    if PRESENT not in st.session_state or st.session_state.get(PRESENT_SEEN) != asked:
        st.session_state[PRESENT] = st.session_state[PRESENT_SEEN] = asked
    st.toggle(_("Presenter mode"), key=PRESENT, on_change=_presenting_changed,
              help=_("For a projector: large type, no sidebar, one step per screen with big Back and Next buttons, "
                     "taller charts. The address keeps it (?present=1)."))
    return bool(st.session_state[PRESENT])


def _presenting_changed() -> None:
    on = bool(st.session_state[PRESENT])
    st.session_state[PRESENT_SEEN] = on
    if on:
        st.query_params["present"] = "1"
    elif "present" in st.query_params:
        del st.query_params["present"]


def presenter_style() -> None:
    """Large type, the sidebar and its controls hidden: only while this page draws in presenter mode."""
    st.markdown(PRESENTER_CSS, unsafe_allow_html=True)


def step_link(lesson_id: str, screen: int) -> str:
    """The address that opens this screen of the lesson (in this language, without presenter mode)."""
    query = {"lesson": lesson_id, "step": screen}
    if st.query_params.get("lang"):
        query["lang"] = st.query_params["lang"]
    try:
        base = (st.context.url or "").rstrip("/")
    except Exception:  # an older Streamlit, or no browser (AppTest)
        base = ""
    if base.endswith("/" + PAGE):  # the address of this page, not the app's
        base = base[: -len(PAGE) - 1]
    return f"{base or '.'}/{PAGE}?{urlencode(query)}"


# -- the list ----------------------------------------------------------------------------------------------------
def time_to_prepare(lesson: lessons.Lesson, setup: lessons.Setup, minutes: float | None = None) -> str:
    """How long preparing ``lesson`` takes on this machine, in words (``minutes``: estimated already)."""
    minutes = lessons.estimate_minutes(lesson, setup) if minutes is None else minutes
    if minutes <= 0:
        return _("Not prepared yet: its runs are ready, preparing only reads their numbers.")
    return _("Not prepared yet: preparing takes about {time} on this machine.", time=costs.duration(minutes * 60))


def lesson_list(setup: lessons.Setup) -> None:
    """Every lesson: title, goal, steps, prepared or how long preparing takes; Open, Prepare, Prepare all."""
    busy = preparing(setup)
    listed = lessons.all_lessons()
    minutes = {lesson.id: lessons.estimate_minutes(lesson, setup) for lesson in listed
               if not lessons.prepared(lesson.id, setup)}
    if minutes:
        left, right = st.columns([5, 2], vertical_alignment="center")
        left.caption(ngettext("{n} lesson is not prepared yet: preparing it takes about {time} on this machine. "
                              "Prepare before class, and every step shows its result at once.",
                              "{n} lessons are not prepared yet: preparing them takes about {time} on this machine. "
                              "Prepare before class, and every step shows its result at once.", len(minutes),
                              time=costs.duration(sum(minutes.values()) * 60)))
        right.button(_("Prepare all"), key="lessons_prepare_all", icon=":material/model_training:", disabled=busy,
                     on_click=start_preparing, args=(ALL, setup), width="stretch")
    for lesson in listed:
        with st.container(border=True):
            lesson_card(lesson, setup, minutes.get(lesson.id), busy)


def lesson_card(lesson: lessons.Lesson, setup: lessons.Setup, minutes: float | None, busy: bool) -> None:
    """Title, goal, steps; prepared, or how long preparing takes (``minutes``; None: prepared); Open, Prepare."""
    text, buttons = st.columns([5, 2], vertical_alignment="center")
    count = len(lesson.steps(setup))
    text.markdown(f"**{lesson.title}**  \n{lesson.goal}")
    steps = ngettext("{n} step", "{n} steps", count)
    prepared = minutes is None
    if prepared:
        text.caption(_("{steps} · :material/check_circle: Prepared: every step shows its result at once.",
                       steps=steps))
    else:
        text.caption(f"{steps} · {time_to_prepare(lesson, setup, minutes)}")
    buttons.button(_("Open"), key=f"lesson_open_{lesson.id}", type="primary" if prepared else "secondary",
                   icon=":material/school:", on_click=go, args=(lesson.id, 1), width="stretch")
    if not prepared:
        buttons.button(_("Prepare"), key=f"lesson_prepare_{lesson.id}", icon=":material/model_training:",
                       disabled=busy, on_click=start_preparing, args=(lesson.id, setup), width="stretch")


# -- preparing: python -m core lessons prepare ID, in a child process ---------------------------------------------
@st.cache_resource
def _running() -> dict[str, dict]:
    """The preparation started in this server, per runs folder: every session sees it and can stop it (the
    teacher's page after a reload, a second tab, a student's laptop), and none starts a second one beside it."""
    return {}


def preparing(setup: lessons.Setup) -> bool:
    """True while a preparation of these lessons runs (started by any session); this session then follows it."""
    found = _running().get(setup.runs_dir)
    if not child.running(found):
        return False
    st.session_state[PREPARING] = found
    return True


def start_preparing(lesson_id: str, setup: lessons.Setup) -> None:
    """Start ``python -m core lessons prepare <lesson_id|all>``, remembering how many runs it has to train."""
    if preparing(setup):
        return
    chosen = lessons.all_lessons() if lesson_id == ALL else [lessons.get(lesson_id)]
    st.session_state[PREPARING] = _running()[setup.runs_dir] = child.start(
        ["lessons", "prepare", lesson_id], "lessons", lesson=lesson_id, total=len(lessons.missing(chosen, setup)),
        runs_dir=setup.runs_dir, before=[run.dir.name for run in runs.list_runs(setup.runs_dir)], stopped=False)


def _stop_preparing(found: dict) -> None:
    if found.get("process") is not None:
        found["process"].terminate()  # the run in training ends "interrupted"; the finished ones are kept
        found["stopped"] = True


def _preparing_bar(found: dict) -> None:
    """Runs trained of those missing at the start, the one training now counted by its own progress."""
    new = [run for run in runs.list_runs(found["runs_dir"]) if run.dir.name not in found["before"]]
    done = sum(run.status == "finished" for run in new)
    current = next((run for run in new if run.status in runs.ACTIVE), None)
    view = run_view.follow(current) if current is not None else None
    total = max(found["total"], 1)
    text = ngettext("Preparing: {done} of {n} run trained", "Preparing: {done} of {n} runs trained", total,
                    done=min(done, total))
    if view is not None:
        text += f" · {run_view.short_label(current)}: {view.message}"
    st.progress(min(1.0, (done + (view.fraction if view else 0.0)) / total), text=text)


def preparation(setup: lessons.Setup) -> None:
    """The preparation running (whoever started it) or the one this session followed, every 2 s while it runs;
    the whole page redrawn once it ends (the list and the steps then read the prepared results)."""
    preparing(setup)
    found = st.session_state.get(PREPARING)
    if not found:
        return

    @st.fragment(run_every=2.0 if child.running(found) else None)
    @guarded
    def follow() -> None:
        was_running = child.running(found)
        child.settle(found, _("the preparation"))
        if child.running(found):
            _preparing_bar(found)
            st.button(_("Stop preparing"), key="lessons_stop", icon=":material/stop:", on_click=_stop_preparing,
                      args=(found,), help=_("Ends the run training now; the runs finished so far are kept and "
                                            "reused when you prepare again."))
            return
        if was_running:
            st.rerun()
        if found["stopped"]:
            st.info(_("Preparation stopped: the runs finished so far are kept."), icon=":material/stop_circle:")
        elif found["error"]:
            st.error(_("The preparation did not finish: {error}", error=found["error"]), icon=":material/error:")
        elif found["lesson"] == ALL:
            st.success(_("Every lesson is prepared."), icon=":material/check_circle:")
        else:
            st.success(_("“{title}” is prepared.", title=lessons.get(found["lesson"]).title),
                       icon=":material/check_circle:")

    follow()


# -- a lesson, one screen at a time -------------------------------------------------------------------------------
def back_to_list() -> None:
    st.button(_("All lessons"), key="lessons_all", icon=":material/arrow_back:", type="tertiary", on_click=go,
              args=(None,))


def lesson_page(lesson_id: str, screen: int, setup: lessons.Setup, presenting: bool, heading=None) -> None:
    """The lesson's title (in ``heading``, a slot at the top of the page, where given) and goal, then screen
    ``screen``: a step, or (after the last) the question."""
    try:
        lesson = lessons.get(lesson_id)
    except UserError as error:
        show_error(error)
        return
    steps = lesson.steps(setup)
    screen = min(max(screen, 1), len(steps) + 1)
    found = lessons.kept(lesson.id, setup)
    numbers = (found or {}).get("numbers") or {}
    (heading or st).title(lesson.title)
    st.markdown(_("**Goal:** {goal}", goal=lesson.goal))
    if screen <= len(steps):
        step_screen(lesson, steps[screen - 1], screen, len(steps), numbers, setup, presenting)
    else:
        question_screen(lesson, [step.id for step in steps], numbers, setup)
    navigation(lesson.id, screen, len(steps) + 1)
    st.caption(_("Students can open this screen at this address:"))
    link = step_link(lesson.id, screen)
    st.code(link, language=None)
    if "://localhost" in link or "://127.0.0.1" in link:  # the teacher's own machine: not an address for others
        st.caption(_("On the students' computers, put this computer's address on the network in place of "
                     "“localhost” (and start the app with `--server.address 0.0.0.0`)."))


def step_screen(lesson: lessons.Lesson, step: lessons.Step, number: int, count: int, numbers: dict,
                setup: lessons.Setup, presenting: bool) -> None:
    st.caption(_("Step {n} of {count}", n=number, count=count))
    st.header(_(step.title))
    if step.id in numbers and lessons.step_ready(lesson, step, setup):
        lesson_results.show(lesson.id, step.id, numbers, presenting)
    else:
        not_prepared(lesson, setup)
    set_up_buttons(lesson, step, setup)
    st.info(_("**What to notice:** {notice}", notice=_(step.notice)), icon=":material/visibility:")


def set_up_buttons(lesson: lessons.Lesson, step: lessons.Step, setup: lessons.Setup) -> None:
    """One button per run of the step: the app set up as that run trains (data, target, backbone, strategy,
    settings), then the Train page, to train it again or change a setting in front of the class."""
    configs = step.plan(setup, lessons.group_of(lesson, step))
    if not configs:
        return
    columns = st.columns([2] + [3] * len(configs), vertical_alignment="center")
    columns[0].caption(_("Set up the app as:"))
    for index, (column, config) in enumerate(zip(columns[1:], configs)):
        what = f"{run_view.what_trained(config.to_dict())} · {backbones.title_of(config.backbone)}"
        if column.button(what, key=f"lesson_set_up_{index}", icon=":material/tune:", width="stretch",
                         help=_("Loads this run's data (and target), backbone, strategy and settings into the app, "
                                "and opens the Train page.")) and state.set_up(config):
            st.switch_page("pages/3_train.py")


def question_screen(lesson: lessons.Lesson, step_ids: list[str], numbers: dict, setup: lessons.Setup) -> None:
    """The question for the class, its answer revealed on request (in the reader's language, from the numbers),
    the conclusion, and what to try next."""
    st.header(_("Question for the class"))
    st.markdown(f"### {lesson.question}")
    if not all(step_id in numbers for step_id in step_ids) or not lessons.prepared(lesson.id, setup):
        not_prepared(lesson, setup)
    elif st.session_state.get(REVEALED) == lesson.id:
        answer, conclusion = str(lesson.answer(numbers)), str(lesson.conclude(numbers))
        st.success(_("**Answer:** {answer}", answer=answer), icon=":material/lightbulb:")
        if conclusion != answer:
            st.markdown(_("**Conclusion:** {conclusion}", conclusion=conclusion))
    else:
        st.button(_("Answer"), key="lesson_answer", type="primary", icon=":material/lightbulb:",
                  on_click=_reveal, args=(lesson.id,),
                  help=_("Ask the class first; then show the answer these numbers give."))
    if lesson.variations:
        st.subheader(_("Try it yourself"))
        st.markdown("\n".join(f"- {_(variation)}" for variation in lesson.variations))


def _reveal(lesson_id: str) -> None:
    st.session_state[REVEALED] = lesson_id


def not_prepared(lesson: lessons.Lesson, setup: lessons.Setup) -> None:
    """Where a result would be: how long preparing takes, and Prepare (or its progress)."""
    st.warning(time_to_prepare(lesson, setup), icon=":material/hourglass_empty:")
    st.button(_("Prepare"), key="lesson_prepare_here", icon=":material/model_training:",
              disabled=preparing(setup), on_click=start_preparing,
              args=(lesson.id, setup))


def navigation(lesson_id: str, screen: int, screens: int) -> None:
    back, middle, forward = st.columns([2, 3, 2], vertical_alignment="center")
    back.button(_("Back"), key="lesson_back", icon=":material/arrow_back:", disabled=screen <= 1, on_click=go,
                args=(lesson_id, screen - 1), width="stretch")
    middle.progress(screen / screens)
    forward.button(_("Next"), key="lesson_next", icon=":material/arrow_forward:", icon_position="right",
                   type="primary", disabled=screen >= screens, on_click=go, args=(lesson_id, screen + 1),
                   width="stretch")
