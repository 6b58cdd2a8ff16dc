"""Results: how good the model is, the curves, what it confuses, and the images it got wrong."""

from pathlib import Path

import streamlit as st

from core import images, paths, runs
from core.config import STRATEGY_TITLES
from ui import charts, state
from ui.widgets import percent

state.init()
st.title("4 · Results")

available = [r for r in runs.list_runs(paths.runs_dir()) if r.summary() is not None]
current = st.session_state.run_dir
if current and Path(current).parent != paths.runs_dir() and (Path(current) / "summary.json").is_file():
    available.insert(0, runs.Run(Path(current)))
if not available:
    st.info("No finished runs yet. Train a model first.")
    st.page_link("pages/3_train.py", label="Go to Train", icon=":material/model_training:")
    st.stop()

ids = [str(r.dir) for r in available]
chosen = st.selectbox("Run", ids, index=ids.index(current) if current in ids else 0,
                      format_func=lambda d: Path(d).name, key="results_run")
run = runs.Run(Path(chosen))
summary, labels = run.summary(), run.labels()
st.caption(f"{STRATEGY_TITLES.get(summary['strategy'], summary['strategy'])} · backbone `{summary['backbone']}` · "
           f"{summary['train_images']:,} training / {summary['val_images']:,} validation images · "
           f"{summary['device']} · folder `{run.dir}`")

columns = st.columns(5)
columns[0].metric("Best validation accuracy", percent(summary["best_val_acc"]),
                  help=f"Reached in epoch {summary['best_epoch']}; these weights are the ones kept."
                  if summary["best_epoch"] else None)
columns[1].metric("Final validation accuracy", percent(summary["final_val_acc"]))
columns[2].metric("Macro-F1", percent(summary.get("best_val_macro_f1")),
                  help="The average of per-class F1 scores: every class counts equally, however rare.")
columns[3].metric("Epochs", f"{summary['epochs']}/{summary['epochs_planned']}")
columns[4].metric("Time", f"{summary['seconds']:.1f}s",
                  help="Feature cache hit: the backbone was skipped" if summary.get("cache_hit") else None)
if summary["status"] == "stopped":
    st.warning("This run was stopped early; the numbers are for the best epoch reached.")

history = [e for e in run.events() if e["kind"] == "epoch"]
if history:
    st.plotly_chart(charts.learning_curves(history), key="result_curves")
    gap = history[-1]["train_acc"] - history[-1]["val_acc"]
    if gap > 0.1:
        st.info(f"Training accuracy is {gap:.0%} above validation accuracy: the model is memorising the training "
                "images (overfitting). More data, augmentation, or fewer epochs help.")

if summary.get("confusion_matrix"):
    st.plotly_chart(charts.confusion_matrix(summary["confusion_matrix"], labels), key="confusion")
    st.caption("Each row is a true class; the diagonal counts correct answers. Off-diagonal cells show "
               "which classes the model mixes up.")

predictions = run.read_json("predictions.json", [])
wrong = sorted((p for p in predictions if p["predicted"] != p["label"]), key=lambda p: -p["confidence"])
root = Path(run.read_json("data.json", {}).get("root", "."))
st.subheader(f"Validation images it got wrong ({len(wrong)} of {len(predictions)})")
if not wrong:
    st.success("None: every validation image was classified correctly.")
else:
    st.caption("Most confident mistakes first: these are often mislabelled or truly ambiguous images.")
    shown = wrong[:24]
    grid = st.columns(6)
    for index, item in enumerate(shown):
        with grid[index % 6]:
            path = root / item["path"]
            if path.is_file():
                st.image(images.thumbnail(path, 128), width=110)
            st.caption(f"true **{labels[item['label']]}** → {labels[item['predicted']]} ({item['confidence']:.0%})")
