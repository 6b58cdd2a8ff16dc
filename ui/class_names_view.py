"""The Data page's "Name the classes": a display name for each label (0 -> 差评, 1 -> 好评), kept with the
data (core/data/class_names.py) and every run trained on it."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.data import class_names
from core.i18n import _
from ui.widgets import show_error


def editor() -> None:
    report = st.session_state.report
    named = sum(1 for label in report.classes if report.class_titles.get(label))
    title = _("Name the classes ({named} of {total} named)", named=named, total=len(report.classes)) if named \
        else _("Name the classes")
    with st.expander(title, icon=":material/label:", expanded=False):
        st.caption(_("Labels such as 0 and 1, or folder names, can get a name that people understand (0 → negative, "
                     "1 → positive). The names show everywhere: charts, the confusion matrix, mistakes, Try it, "
                     "Compare and the exported model. Runs keep the names they were trained with."))
        label_column, name_column = _("Label in the data"), _("Name shown")
        table = pd.DataFrame({label_column: report.classes,
                              name_column: [report.class_titles.get(label, "") for label in report.classes]})
        with st.form("class_names_form", border=False):
            edited = st.data_editor(
                table, key="class_names_table", hide_index=True, width="stretch", disabled=[label_column],
                column_config={name_column: st.column_config.TextColumn(
                    name_column, max_chars=class_names.MAX_LENGTH,
                    help=_("Leave empty to show the label itself."))})
            if st.form_submit_button(_("Save the names"), key="save_class_names", icon=":material/save:"):
                names = dict(zip(edited[label_column].astype(str), edited[name_column].fillna("").astype(str)))
                try:
                    st.session_state.report = class_names.save(report, names)
                    st.toast(_("Saved: the next runs use these names."), icon=":material/check:")
                    st.rerun()
                except Exception as error:
                    show_error(error)
