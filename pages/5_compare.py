"""Compare strategies: baseline, feature extraction and fine-tuning on the same data, split and seed,
queued in one click, then side by side with a plain-words reading."""

import pandas as pd
import streamlit as st

from core import backbones, compare, costs, jobs, paths, runs, strategies
from ui import charts, run_view, state
from ui.widgets import guarded, millions, percent, show_error

state.init()
st.title("Compare strategies")
st.markdown("Does reusing a pretrained network pay off on **your** data, and is fine-tuning worth its time? "
            "Train the three approaches one after another on the same split and seed, and see.")
folder = paths.runs_dir()
report = st.session_state.report

if report is not None:
    modality = report.modality
    spec = backbones.get(st.session_state.backbone)
    members = strategies.compared(modality)
    if not spec.pretrained:
        st.info(f"**{spec.title}** has no pretrained weights, so there is nothing to transfer. Pick a pretrained "
                "backbone on the Model page first.")
        st.page_link("pages/2_model.py", label="Go to Model", icon=":material/neurology:")
    else:
        order = ", then ".join(s.short for s in members)
        st.markdown(f"On **{st.session_state.data_name}** with **{spec.title}**: {order}.")
        if st.session_state.target is not None:
            st.caption(f"Every run is also scored on the target, **{st.session_state.target.name}**; feature "
                       "extraction runs a second time, adapted to it.")
        with st.form("compare"):
            epochs = {}
            for column, strategy in zip(st.columns(len(members)), members):
                if strategy.fits_in_one_go:
                    column.caption(f"{strategy.title}: fits in one go.")
                    continue
                epochs[strategy.name] = column.number_input(f"{strategy.title}: epochs", 1, 500,
                                                            int(strategy.recipe(modality)["epochs"]),
                                                            key=f"compare_epochs_{strategy.name}")
            st.caption("Each uses its classic recipe; early stopping ends a run when validation loss stops "
                       "improving. Fine-tuning is the slow one on a CPU.")
            count = len(members) + (1 if st.session_state.target is not None and any(m.on_features for m in members)
                                    else 0)  # feature extraction's adapted twin
            start = st.form_submit_button({3: "Compare the three", 4: "Compare the four"}.get(count, f"Compare the {count}"), key="start_compare", type="primary",
                                          icon=":material/compare_arrows:")
        if start:
            try:
                shared = dict(val_fraction=st.session_state.val_fraction,
                              **report.reading(),
                              horizontal_flip=False if str(st.session_state.data).startswith("sample:mnist") else None)
                target = st.session_state.target_source if st.session_state.target is not None else None
                configs = compare.plan(st.session_state.data, spec.name, epochs, target=target, **shared)
                compare.submit(configs)
                st.session_state.compare_group = configs[0].group
                st.rerun()
            except Exception as error:
                show_error(error)
else:
    st.info("Load a dataset to start a comparison.")
    st.page_link("pages/1_data.py", label="Go to Data", icon=":material/folder_open:")

known = compare.groups(folder)
if not known:
    st.stop()
current = st.session_state.get("compare_group")
group = st.selectbox("Comparison", known, index=known.index(current) if current in known else 0,
                     key="compare_pick")
members = compare.group_runs(folder, group)
live = any(run_view.is_live(run) for run in members)


@st.fragment(run_every=2.0 if live else None)
@guarded
def comparison() -> None:
    rows = [runs.describe(run) for run in members]
    status_slot, controls_slot, table_slot, chart_slot, reading_slot = (st.empty() for _ in range(5))
    current = next((run for run in members if run_view.is_live(run)), None)
    if current is not None:
        strategy = current.config()["strategy"]
        with status_slot.container():
            st.caption(f"Now: {strategies.title(strategy)}")
            run_view.status_line(current, run_view.follow(current), st.empty(), controls_slot,
                                 key=f"compare_{strategy}")
    table_slot.dataframe(pd.DataFrame([{
        "strategy": run_view.strategy_label(row["strategy"], row.get("adapt")), "backbone": row["backbone"],
        "status": row["status"], "best accuracy": percent(row["best_val_acc"]),
        "macro-F1": "–" if row["best_val_macro_f1"] is None else f"{row['best_val_macro_f1']:.3f}",
        "time": costs.of(row).words(),
        "trainable parameters": millions(row["trainable_params"]) if row["trainable_params"] else "–",
        "epochs": row["epochs"], **({"target accuracy": percent(row.get("target_acc"))} if row.get("target") else {})}
        for row in rows]), hide_index=True)
    histories = {run_view.strategy_label(run.config()["strategy"], run.config().get("adapt")): run.history()
                 for run in members}
    histories = {name: history for name, history in histories.items() if history}
    if histories:
        chart_slot.plotly_chart(charts.overlay(histories, "val_acc"), key="compare_curves")
    sentences = compare.reading(rows)
    if sentences:
        reading_slot.success("  \n".join(sentences), icon=":material/school:")
    if live and not any(row["status"] in ("queued", "running") for row in rows):
        st.rerun()


comparison()
if live and st.button("Stop the whole comparison", key="stop_compare", icon=":material/cancel:"):
    for run in members:
        if run_view.is_live(run):
            jobs.supervisor().stop(run)
    st.rerun()
