"""Lessons: the field's classic experiments for a class (core/lessons/): the list, then a lesson one step per
screen with its measured result, the question for the class and its answer; presenter mode for a projector.

The address holds the lesson, the screen and presenter mode (``?lesson=pretrained&step=2&present=1``), so a
reload, a second screen or a student's browser opens the same step."""

import streamlit as st

from core import lessons
from core.i18n import _
from ui import lessons_view as view, state

state.init()  # a first visit straight to /lessons goes through app.py (see state._through_app_py)
setup = lessons.Setup()  # the workspace's, and TRANSFERLAB_LESSON_* where a server for a class sets them
lesson_id, screen = view.address()
heading, controls = st.columns([5, 2], vertical_alignment="center")
with controls:
    presenting = view.presenter_switch()
    if lesson_id is not None:
        view.back_to_list()
if presenting:
    view.presenter_style()
if lesson_id is None:
    heading.title(_("Lessons"))
    st.markdown(_("Each lesson is one of the field's classic experiments, a few steps long: each step shows what "
                  "this machine measured, then the class answers a question. The conclusion is computed from these "
                  "numbers, never written in advance: where they disagree with the textbook, the lesson says so."))
    view.preparation(setup)
    view.lesson_list(setup)
else:
    view.preparation(setup)
    view.lesson_page(lesson_id, screen, setup, presenting, heading)
