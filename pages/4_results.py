"""Results: how good the model is, per class, the curves, what it confuses, and its worst mistakes."""

from pathlib import Path

import pandas as pd
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
modality = summary.get("modality", "image")
noun = "texts" if modality == "text" else "images"
st.caption(f"{STRATEGY_TITLES.get(summary['strategy'], summary['strategy'])} · backbone `{summary['backbone']}` · "
           f"{summary['train_images']:,} training / {summary['val_images']:,} validation {noun} · "
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
elif summary.get("early_stopped"):
    st.info(f"Early stopping ended this run after epoch {summary['epochs']}: the validation loss had stopped "
            f"improving. The weights kept are those of epoch {summary['best_epoch']}.", icon=":material/info:")

history = run.history()
if len(history) > 1:
    st.plotly_chart(charts.learning_curves(history), key="result_curves")
    gap = history[-1]["train_acc"] - history[-1]["val_acc"]
    if gap > 0.1:
        st.info(f"Training accuracy is {gap:.0%} above validation accuracy: the model is memorising the training "
                "data (overfitting). More data, augmentation, or fewer epochs help.")

if summary.get("per_class"):
    st.subheader("Per class")
    st.dataframe(pd.DataFrame(summary["per_class"]), hide_index=True,
                 column_config={name: st.column_config.NumberColumn(format="%.3f")
                                for name in ("precision", "recall", "f1")})
    st.caption("Precision: of the items predicted as this class, the share that were right. Recall: of the items "
               "of this class, the share found. F1 balances the two. Support: validation items of the class.")
if summary.get("confusion_matrix"):
    st.plotly_chart(charts.confusion_matrix(summary["confusion_matrix"], labels), key="confusion")
    st.caption("Each row is a true class; the diagonal counts correct answers. Off-diagonal cells show "
               "which classes the model mixes up.")

predictions = run.read_json("predictions.json", [])
wrong = sorted((p for p in predictions if p["predicted"] != p["label"]), key=lambda p: p["true_probability"])
dataset = run.read_json("data.json", {})
st.subheader(f"Validation {noun} it got wrong ({len(wrong)} of {len(predictions)})")
if not wrong:
    st.success(f"None: every validation {noun[:-1]} was classified correctly.")
elif modality == "text":
    st.caption("Most wrong first (the lowest probability given to the true label): often mislabelled or "
               "truly ambiguous texts.")
    texts = dataset.get("texts", {})
    st.dataframe(pd.DataFrame([{"text": texts.get(p["item"], "")[:500], "true": labels[p["label"]],
                                "predicted": labels[p["predicted"]], "confidence": p["confidence"]}
                               for p in wrong[:50]]), hide_index=True,
                 column_config={"text": st.column_config.TextColumn(width="large"),
                                "confidence": st.column_config.ProgressColumn(min_value=0, max_value=1,
                                                                              format="%.2f")})
else:
    st.caption("Most wrong first (the lowest probability given to the true class): often mislabelled or "
               "truly ambiguous images.")
    root = Path(dataset.get("root", "."))
    grid = st.columns(6)
    for index, item in enumerate(wrong[:24]):
        with grid[index % 6]:
            path = root / item["item"]
            if path.is_file():
                st.image(images.thumbnail(path, 128), width=110)
            st.caption(f"true **{labels[item['label']]}** → {labels[item['predicted']]} ({item['confidence']:.0%})")
