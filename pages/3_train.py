"""Train: hyperparameters in one form, training off the script thread, live charts, progress, stop."""

import time
from pathlib import Path

import streamlit as st

from core import backbones, jobs, progress, runs
from core.config import STRATEGY_TITLES, TrainConfig, strategy_defaults
from ui import charts, state
from ui.widgets import percent, show_error

state.init()
st.title("3 · Train")
if not state.require_data():
    st.stop()

strategy, backbone = st.session_state.strategy, st.session_state.backbone
report = st.session_state.report
modality = report.modality
spec = backbones.get(backbone)
noun = "texts" if modality == "text" else "images"
what = "TF-IDF words and word pairs" if strategy == "tfidf" else f"**{spec.title}**"
st.markdown(f"**{STRATEGY_TITLES[strategy]}** with {what} on **{report.num_items:,} {noun}** in "
            f"{len(report.classes)} classes.")

active = jobs.active()
remembered = st.session_state.setdefault("train_settings", {}).get((modality, strategy), {})
defaults = {**TrainConfig(data="").to_dict(), **strategy_defaults(modality, strategy), **remembered}
is_digits = str(st.session_state.data).startswith("sample:mnist")
SCHEDULES = {"none": "constant", "step": "step decay (StepLR)", "linear": "linear warmup, then decay"}

with st.form("hyperparameters"):
    settings = {}
    if strategy == "tfidf":
        st.caption("TF-IDF + logistic regression has no epochs or learning rate: it fits in one go, in seconds.")
    else:
        st.caption("Defaults follow the classic recipe for this strategy; change anything.")
        left, middle, right = st.columns(3)
        settings["epochs"] = left.number_input("Epochs (passes over the training data)", 1, 500, int(defaults["epochs"]))
        settings["batch_size"] = left.number_input("Batch size", 1, 1024, int(defaults["batch_size"]))
        settings["optimizer"] = middle.selectbox("Optimizer", ["adamw", "sgd"],
                                                 index=["adamw", "sgd"].index(defaults["optimizer"]),
                                                 help="SGD with momentum is the classic for fine-tuning images; "
                                                      "AdamW for heads and for transformers.")
        settings["lr"] = middle.number_input("Learning rate" + (" (backbone)" if strategy == "fine_tune" else ""),
                                             1e-7, 1.0, float(defaults["lr"]), format="%.6f")
        settings["head_lr_multiplier"] = middle.number_input("Head learning rate = backbone's x", 1.0, 1000.0,
                                                             float(defaults["head_lr_multiplier"]),
                                                             disabled=strategy != "fine_tune")
        settings["weight_decay"] = middle.number_input("Weight decay", 0.0, 1.0, float(defaults["weight_decay"]),
                                                       format="%.5f",
                                                       help="Pulls weights towards zero: a gentle guard against overfitting.")
        settings["scheduler"] = right.selectbox("Learning-rate schedule", list(SCHEDULES),
                                                index=list(SCHEDULES).index(defaults["scheduler"]),
                                                format_func=SCHEDULES.get)
        settings["step_size"] = right.number_input("Step decay: every N epochs", 1, 100, int(defaults["step_size"]))
        settings["gamma"] = right.number_input("Step decay: multiply by", 0.01, 1.0, float(defaults["gamma"]))
        settings["warmup_fraction"] = right.number_input("Warmup: share of the steps", 0.0, 0.9,
                                                         float(defaults["warmup_fraction"]))
        settings["momentum"] = right.number_input("Momentum (SGD only)", 0.0, 0.999, float(defaults["momentum"]))
        if modality == "text":
            settings["max_length"] = left.number_input("Max length (tokens per text)", 8, spec.max_positions,
                                                       min(int(defaults["max_length"]), spec.max_positions),
                                                       help="Longer texts are cut here. See the histogram on the Data page.")
            settings["micro_batch_size"] = left.number_input(
                "Micro batch (0 = off)", 0, 1024, int(defaults["micro_batch_size"]),
                help="When a batch does not fit in memory: process it in smaller pieces and add up their gradients.")
            settings["head_dropout"] = left.number_input("Dropout before the head", 0.0, 0.9,
                                                         float(defaults["head_dropout"]))
        else:
            settings["augment"] = left.checkbox("Augment training images (random crops)", bool(defaults["augment"]),
                                                disabled=strategy == "feature_extract",
                                                help="Feature extraction uses cached features of the unaltered images.")
            settings["horizontal_flip"] = left.checkbox(
                "Also mirror images left-right", bool(remembered.get("horizontal_flip", not is_digits)),
                disabled=strategy == "feature_extract", help="Off for digits: a mirrored 3 is not a 3.")
        settings["seed"] = right.number_input("Seed", 0, 1_000_000, int(defaults["seed"]))
    submitted = st.form_submit_button("Start training", key="start_training", type="primary",
                                      icon=":material/play_arrow:", disabled=active is not None)

if submitted:
    st.session_state.train_settings[(modality, strategy)] = settings
    try:
        config = TrainConfig.for_strategy(st.session_state.data, strategy, backbone=backbone,
                                          val_fraction=st.session_state.val_fraction,
                                          text_column=report.details.get("text_column"),
                                          label_column=report.details.get("label_column"), **settings)
        job = jobs.start(config)
        st.session_state.run_dir = str(job.run.dir)
        st.rerun()  # draw the page again with Start disabled and the live view ticking
    except Exception as error:
        show_error(error)

run_dir = st.session_state.run_dir
if run_dir is None:
    st.info("Press **Start training**: charts appear here and update while the model learns.")
    st.stop()
run_id = Path(run_dir).name
following_live = active is not None and active.id == run_id


@st.fragment(run_every=1.0 if following_live else None)
def live_view() -> None:
    # Fixed slots, created in the same order on every run: the element positions never shift between
    # "running" and "finished", so the full rerun at the end replaces them instead of leaving ghosts.
    banner, controls, numbers, curves, footer = (st.empty() for _ in range(5))
    run = runs.Run(Path(run_dir))
    job = jobs.get(run_id)
    status = run.status
    if status == "running" and job is None:
        status = "interrupted"  # the process that ran it is gone
    view = progress.follow(run.events(), status if status != "interrupted" else "stopped", time.time())
    if status == "running":
        details = [view.message, f"ETA {progress.format_seconds(view.eta_seconds)}", view.device]
        banner.progress(min(view.fraction, 1.0), text=" · ".join(d for d in details if d))
        if controls.button("Stop", key="stop_training", icon=":material/stop:"):
            job.stop()
            st.toast("Stopping after this batch; the best weights so far are kept.")
    elif status == "finished":
        banner.success(f"Finished: best validation accuracy {percent(view.summary and view.summary['best_val_acc'])}.",
                       icon=":material/check_circle:")
    elif status == "stopped":
        banner.warning("Stopped. The best weights so far were kept.", icon=":material/stop_circle:")
    elif status == "interrupted":
        banner.warning("This run was interrupted (the app restarted while it trained).", icon=":material/warning:")
    else:
        banner.error(view.error or "Training failed.", icon=":material/error:")
    if view.history:
        last = view.history[-1]
        change = last["val_acc"] - view.history[-2]["val_acc"] if len(view.history) > 1 else 0.0
        with numbers.container():
            columns = st.columns(4)
            columns[0].metric("Epoch", f"{last['epoch']}/{last['epochs']}")
            columns[1].metric("Validation accuracy", percent(last["val_acc"]),
                              f"{change * 100:+.1f} pts" if abs(change) >= 0.0005 else None)
            columns[2].metric("Best so far", percent(last["best_val_acc"]))
            columns[3].metric("Seconds per epoch", f"{last['seconds']:.2f}")
        curves.plotly_chart(charts.learning_curves(view.history))
    elif status == "running":
        numbers.caption("The curves appear after the first epoch.")
    if following_live and status != "running":
        st.rerun()  # the whole page: re-enables Start and stops this timer
    if status in ("finished", "stopped"):
        footer.page_link("pages/4_results.py", label="See the results", icon=":material/arrow_forward:")


live_view()
