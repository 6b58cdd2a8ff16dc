"""Runs: every run in the runs folder; overlay curves, open, train again, resume, download, delete."""


import pandas as pd
import streamlit as st

from core import backbones, costs, jobs, paths, runs, strategies
from core.config import TrainConfig
from core.i18n import N_, _, ngettext
from core.runs import Summary
from ui import charts, run_view, state
from ui.terms import help_for
from ui.widgets import show_error

# the table's columns: stable keys in the code, shown in the current language, in the order shown: what a person
# looks for first (what trained, did it finish, how well) at the left, where a narrow window still shows it
COLUMNS = {"strategy": N_("strategy"), "status": N_("status"), "problems": N_("problems"),
           "best accuracy": N_("best accuracy"), "backbone": N_("backbone"), "data": N_("data"),
           "started": N_("started"), "time": N_("time"), "macro-F1": N_("macro-F1"), "epochs": N_("epochs"),
           "run": N_("run")}
MORE = ("macro-F1", "epochs", "run")  # shown on request: the table then scrolls sideways
METRICS = {"val_acc": N_("validation accuracy"), "val_loss": N_("validation loss"),
           "train_acc": N_("training accuracy"), "train_loss": N_("training loss")}


def listed() -> tuple[list[runs.Run], list[dict]]:
    """Every run and its description, newest start first; stops the page when there is none."""
    all_runs = runs.list_runs(paths.runs_dir())
    rows = [runs.describe(run) for run in all_runs]
    order = sorted(range(len(rows)), key=lambda i: rows[i]["started"], reverse=True)  # newest start first
    if not all_runs:
        st.info(_("No runs yet. Train a model first."))
        st.page_link("pages/3_train.py", label=_("Go to Train"), icon=":material/model_training:")
        st.stop()
    return [all_runs[i] for i in order], [rows[i] for i in order]


def table_of(rows: list[dict], damaged: bool) -> pd.DataFrame:
    """The runs as a table, its headers in the current language (``damaged``: with the problems column)."""
    table = pd.DataFrame([{
        "strategy": run_view.what_trained(row), "status": runs.status_words(row["status"]),
        **({"problems": "; ".join(row["damage"])} if damaged else {}),
        # in points, shown with one decimal as on every other page ("98.0%", not "98%")
        "best accuracy": None if row[Summary.BEST_VAL_ACC] is None else row[Summary.BEST_VAL_ACC] * 100,
        "data": state.display_name(row["data"]), "started": row["started"].replace("T", " ")[5:16],  # to the minute: room for the time column
        "time": costs.of(row).words(short=True), "backbone": backbones.title_of(row["backbone"]),
        "macro-F1": None if row[Summary.BEST_VAL_MACRO_F1] is None else row[Summary.BEST_VAL_MACRO_F1] * 100,
        "epochs": f"{row['epochs']}/{row[Summary.EPOCHS_PLANNED]}" if row[Summary.EPOCHS_PLANNED] else "",
        "run": row["id"]} for row in rows])
    return table.rename(columns=lambda column: _(COLUMNS[column]) if column in COLUMNS else column)


def pick(all_runs: list[runs.Run], rows: list[dict]) -> list[runs.Run]:
    """The table of runs, the damaged ones explained; returns the runs ticked in it."""
    damaged = [row for row in rows if row["damage"]]
    if damaged:
        st.warning(ngettext("{n} run folder has damaged files (cut off by a crash or a full disk, or edited by hand). "
                            "It is listed with what is wrong in the '{column}' column; the rest of the run is shown "
                            "where it can be read. Delete it below, or restore the files.",
                            "{n} run folders have damaged files (cut off by a crash or a full disk, or edited by "
                            "hand). They are listed with what is wrong in the '{column}' column; the rest of each run "
                            "is shown where it can be read. Delete them below, or restore the files.", len(damaged),
                            column=_(COLUMNS["problems"])), icon=":material/report:")
    every = st.toggle(_("Show every column"), key="runs_every_column",
                      help=_("Also macro-F1, the epochs and the run's folder name."))
    shown = [_(label) for key, label in COLUMNS.items()
             if (every or key not in MORE) and (damaged or key != "problems")]
    table_version = st.session_state.setdefault("runs_table_version", 0)  # bumped to clear the selection
    picked = st.dataframe(
        table_of(rows, bool(damaged)), hide_index=True, on_select="rerun", selection_mode="multi-row",
        placeholder="–",  # a failed run's accuracy: a dash, as every page writes a missing number
        key=f"runs_table_{table_version}", column_order=shown,
        column_config={_(COLUMNS["problems"]): st.column_config.TextColumn(width="large"),
                       _(COLUMNS["best accuracy"]): st.column_config.NumberColumn(format="%.1f%%",
                                                                                   help=help_for("accuracy")),
                       _(COLUMNS["data"]): st.column_config.TextColumn(width="medium"),
                       _(COLUMNS["strategy"]): st.column_config.TextColumn(width="medium"),
                       _(COLUMNS["macro-F1"]): st.column_config.NumberColumn(format="%.1f%%",
                                                                              help=help_for("macro_f1")),
                       _(COLUMNS["time"]): st.column_config.TextColumn(help=_(
                           "The whole run; for feature extraction, the first time (with the one-time feature pass) "
                           "and when repeated (features from the cache)"))})
    return [all_runs[index] for index in picked.selection.rows if index < len(all_runs)]


def overlay(selected: list[runs.Run], all_runs: list[runs.Run], rows: list[dict]) -> None:
    """The ticked runs' curves on one chart, the metric chosen."""
    histories = {_("{time} {strategy} ({backbone})", time=row["started"][11:],
                   strategy=strategies.title(row["strategy"]).lower(), backbone=backbones.title_of(row["backbone"])): run.history()
                 for run, row in zip(all_runs, rows) if run in selected}
    histories = {name: history for name, history in histories.items() if history}
    if histories:
        metric = st.segmented_control(_("Curve"), list(METRICS), default="val_acc",
                                      format_func=lambda value: _(METRICS[value]), key="runs_metric") or "val_acc"
        st.plotly_chart(charts.overlay(histories, metric), key="runs_overlay")


def acted_on(selected: list[runs.Run]) -> runs.Run:
    """The run the actions act on: the ticked one, or the one picked among those ticked."""
    if len(selected) == 1:
        return selected[0]
    chosen = st.selectbox(_("Act on one of the {n} ticked runs", n=len(selected)), [str(r.dir) for r in selected],
                          format_func=run_view.run_label, key="runs_act_on")
    return next(r for r in selected if str(r.dir) == chosen)


def actions(run: runs.Run) -> None:
    """Open its results, train it again, resume it, download its config."""
    config_text = run.config_path.read_text() if run.has_config() else None
    columns = st.columns(4)
    if columns[0].button(_("Open its results"), key="open_run", icon=":material/analytics:",
                         disabled=run.summary() is None):
        st.session_state.run_dir = str(run.dir)
        st.session_state.pop("results_run", None)  # the Results page then opens on run_dir
        st.switch_page("pages/4_results.py")
    if columns[1].button(_("Train again, same settings"), key="rerun_run", icon=":material/replay:",
                         disabled=config_text is None):
        try:
            st.session_state.run_dir = str(jobs.submit(TrainConfig.load(run.config_path)).dir)
            st.switch_page("pages/3_train.py")
        except Exception as error:
            show_error(error)
    if run.can_resume() and columns[2].button(_("Resume"), key="resume_run", icon=":material/play_arrow:",
                                              help=_("Continues from the last finished epoch: the run's checkpoint.")):
        try:
            jobs.supervisor().resume(run)
            st.session_state.run_dir = str(run.dir)
            st.switch_page("pages/3_train.py")
        except Exception as error:
            show_error(error)
    if config_text:
        columns[3].download_button(_("Download its config"), config_text, file_name=f"{run.id}-config.json",
                                   mime="application/json", key="download_config", icon=":material/download:")


def delete(selected: list[runs.Run]) -> None:
    with st.expander(ngettext("Delete {n} run", "Delete {n} runs", len(selected)), icon=":material/delete:"):
        st.caption(_("Deletes the run folders with their weights and metrics. This cannot be undone."))
        if not st.button(_("Delete for good"), key="delete_runs", type="primary"):
            return
        failed = False
        for run in selected:
            try:
                run.delete()
                if st.session_state.run_dir == str(run.dir):
                    st.session_state.run_dir = None
            except Exception as error:
                show_error(error)  # e.g. still training: stop it first
                failed = True
        if not failed:
            st.session_state.runs_table_version += 1
            st.rerun()


state.init()
st.title(_("Runs"))
st.caption(_("Every run is a folder of plain files in `{folder}` (set TRANSFERLAB_RUNS or TRANSFERLAB_HOME to move "
             "it): config.json, events.jsonl (metrics, one JSON object per line), best.safetensors (weights), "
             "summary.json.", folder=paths.runs_dir()))
all_runs, rows = listed()
selected = pick(all_runs, rows)
if not selected:
    st.caption(_("Tick runs in the table to overlay their curves and act on them."))
    st.stop()
overlay(selected, all_runs, rows)
actions(acted_on(selected))
delete(selected)
