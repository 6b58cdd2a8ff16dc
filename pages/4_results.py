"""Results: how good the model is, per class, the curves, what it confuses, and its worst mistakes."""

import json
import math
from pathlib import Path

import pandas as pd
import streamlit as st

from core import costs, images, metrics, paths, runs, strategies
from core.audit import audit as privacy_audit
from core.embeddings import embedding_map, separation
from core.explain import grad_cam, overlay, token_importance
from core.export import export_run, zip_folder
from ui import charts, run_view, state, target_view
from ui.widgets import highlighted_text, percent, show_error

state.init()
st.title("4 · Results")

listed = runs.list_runs(paths.runs_dir())
available = [r for r in listed if r.summary() is not None]
unreadable = [r for r in listed if r.summary_damaged()]
if unreadable:
    st.caption(f"{len(unreadable)} run(s) with a damaged summary.json are not listed here "
               f"({', '.join(r.id for r in unreadable[:3])}{'...' if len(unreadable) > 3 else ''}): the Runs page says "
               "what is wrong with each.")
current = st.session_state.run_dir
if not current and "run" in st.query_params:  # a reload of this page: the run it showed (named in the address)
    current = str(paths.runs_dir() / Path(st.query_params["run"]).name)
if current and Path(current).parent != paths.runs_dir() and runs.Run(Path(current)).summary() is not None:
    available.insert(0, runs.Run(Path(current)))
if not available:
    st.info("No finished runs yet. Train a model first.")
    st.page_link("pages/3_train.py", label="Go to Train", icon=":material/model_training:")
    st.stop()

ids = [str(r.dir) for r in available]
if current not in ids:  # nothing opened or trained in this session: the run that finished last
    current = str(run_view.latest_finished(available).dir)
chosen = st.selectbox("Run", ids, index=ids.index(current), format_func=run_view.run_label, key="results_run")
st.session_state.run_dir = chosen
if Path(chosen).parent == paths.runs_dir():
    st.query_params["run"] = Path(chosen).name
run = runs.Run(Path(chosen))
summary, labels = run.summary(), run.labels()
learner = strategies.find(summary["strategy"])
uses_backbone = learner is None or learner.uses_backbone
modality = summary.get("modality", "image")
noun = "texts" if modality == "text" else "images"
st.caption(f"{strategies.title(summary['strategy'])} · backbone `{summary['backbone']}` · "
           f"{summary['train_images']:,} training / {summary['val_images']:,} validation {noun} · "
           f"{summary['device']} · folder `{run.dir}`")

columns = st.columns(5)
interval = metrics.accuracy_interval(summary["best_val_acc"], summary["val_images"]) \
    if summary["best_val_acc"] is not None and summary["val_images"] else None
columns[0].metric("Best validation accuracy", percent(summary["best_val_acc"]),
                  f"95% CI {interval[0]:.1%} – {interval[1]:.1%}" if interval else None, delta_color="off",
                  delta_arrow="off",
                  help=(f"Reached in epoch {summary['best_epoch']}; these weights are the ones kept. " if
                        summary["best_epoch"] else "") + f"Measured on {summary['val_images']:,} validation "
                  f"{noun}: the true accuracy is likely (95%) inside the interval (Wilson). Fewer examples, wider "
                  "interval.")
columns[1].metric("Final validation accuracy", percent(summary["final_val_acc"]))
columns[2].metric("Macro-F1", percent(summary.get("best_val_macro_f1")),
                  help="The average of per-class F1 scores: every class counts equally, however rare.")
columns[3].metric("Epochs", f"{summary['epochs']}/{summary['epochs_planned']}")
cost = costs.of(summary)
repeat = cost.feature_pass and cost.first_time is not None and cost.words() != costs.duration(cost.first_time)
columns[4].metric("Time" + (", first time" if repeat else ""),
                  costs.duration(cost.first_time if cost.first_time is not None else cost.seconds),
                  f"{costs.duration(cost.repeated)} when repeated" if repeat else None, delta_color="off",
                  delta_arrow="off", help=cost.explained())
if summary["status"] == "stopped":
    st.warning("This run was stopped early; the numbers are for the best epoch reached.")
elif summary.get("early_stopped"):
    st.info(f"Early stopping ended this run after epoch {summary['epochs']}: the validation loss had stopped "
            f"improving. The weights kept are those of epoch {summary['best_epoch']}.", icon=":material/info:")

target_view.results_block(summary)

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
predictions = run.predictions()
dataset = run.data()
texts, root = dataset.get("texts", {}), Path(dataset.get("root", "."))


def loss_of(row: dict) -> float:
    return -math.log(max(row["true_probability"], 1e-12))  # the example's cross-entropy loss


def show_examples(rows: list[dict], key: str, explain: str | None = None) -> None:
    """Validation examples, most wrong first: images as a grid (with Grad-CAM if asked), texts as a table."""
    if modality == "text":
        st.dataframe(pd.DataFrame([{"text": texts.get(p["item"], "")[:500], "true": labels[p["label"]],
                                    "predicted": labels[p["predicted"]], "confidence": p["confidence"],
                                    "loss": round(loss_of(p), 3)} for p in rows[:50]]), hide_index=True,
                     key=key, column_config={"text": st.column_config.TextColumn(width="large"),
                                             "confidence": st.column_config.ProgressColumn(
                                                 min_value=0, max_value=1, format="%.2f")})
        if rows and st.toggle("Show the words behind the first five", key=f"{key}_words",
                              help="Each word (each character, for Chinese or Japanese) coloured by how much it "
                                   "pushed towards the predicted class (green) or away from it (red)."):
            predictor = run_view.trained_model(run.dir)
            for item in rows[:5]:
                explanation = token_importance(predictor, texts.get(item["item"], ""), item["predicted"])
                st.markdown(highlighted_text(explanation.words, explanation.separators), unsafe_allow_html=True)
                st.caption(f"true **{labels[item['label']]}** → {labels[item['predicted']]} "
                           f"({item['confidence']:.0%}); colours: {explanation.method}")
        return
    predictor = run_view.trained_model(run.dir) if explain else None
    grid = st.columns(6)
    for index, item in enumerate(rows[:24]):
        with grid[index % 6]:
            path = root / item["item"]
            if not path.is_file():
                st.caption(f"{item['item']} is gone")
                continue
            if predictor is not None and predictor.modality == "image":
                target = item["label"] if explain == "true" else item["predicted"]
                st.image(overlay(grad_cam(predictor, images.load_rgb(path), target)), width=110)
            else:
                st.image(images.thumbnail(path, 128), width=110)
            st.caption(f"true **{labels[item['label']]}** → {labels[item['predicted']]} ({item['confidence']:.0%}, "
                       f"loss {loss_of(item):.2f})")


if summary.get("confusion_matrix") and predictions:
    matrix = summary["confusion_matrix"]
    off_diagonal = [(count, i, j) for i, row in enumerate(matrix) for j, count in enumerate(row) if i != j and count]
    default = max(off_diagonal)[1:] if off_diagonal else (0, 0)
    for key, value in zip(("cell_true", "cell_predicted"), default):
        if st.session_state.get(key) not in range(len(labels)):  # first visit, or a run with fewer classes
            st.session_state[key] = value
    clicked = st.session_state.get("confusion")  # the chart's selection, from the click that caused this rerun
    points = clicked.selection.points if clicked and clicked.selection else []
    if points and points[0].get("curve_number") == 1:  # a cell's marker: row by row
        cell = divmod(int(points[0]["point_index"]), len(labels))
        if st.session_state.get("cell_clicked") != cell:  # a new click picks the cell shown below the matrix
            st.session_state.cell_clicked = cell
            st.session_state.cell_true, st.session_state.cell_predicted = cell
    marked = (st.session_state.cell_true, st.session_state.cell_predicted)
    st.plotly_chart(charts.confusion_matrix(matrix, labels, marked), key="confusion", on_select="rerun",
                    selection_mode="points")
    st.caption("Each row is a true class; the diagonal counts correct answers. Off-diagonal cells show "
               "which classes the model mixes up. Click a cell: its examples appear right below, and the cell is "
               "framed.")
    left, right = st.columns(2)
    true_class = left.selectbox("True class", range(len(labels)), format_func=labels.__getitem__, key="cell_true")
    predicted_class = right.selectbox("Predicted class", range(len(labels)), format_func=labels.__getitem__,
                                      key="cell_predicted")
    chosen_rows = sorted((p for p in predictions if p["label"] == true_class and p["predicted"] == predicted_class),
                         key=loss_of, reverse=True)
    st.markdown(f"**{len(chosen_rows)} validation {noun}** of class **{labels[true_class]}** predicted as "
                f"**{labels[predicted_class]}**" + (" (correct answers)" if true_class == predicted_class else "")
                + (", highest loss first:" if chosen_rows else "."))
    if chosen_rows:
        show_examples(chosen_rows, "cell_table")

wrong = sorted((p for p in predictions if p["predicted"] != p["label"]), key=loss_of, reverse=True)
mistakes, embedding, privacy, export = st.tabs([f"Mistakes ({len(wrong)})", "Embedding map", "Privacy", "Export"])

with mistakes:
    if not wrong:
        st.success(f"None: every validation {noun[:-1]} was classified correctly.")
    else:
        st.caption(f"The validation {noun} it got wrong, highest loss first (the least probability given to the "
                   "true class): often mislabelled or truly ambiguous examples.")
        explain = None
        if modality == "image" and st.toggle("Show where the model looked (Grad-CAM)", key="mistakes_gradcam"):
            explain = st.radio("Heat map of the evidence for", ["predicted", "true"], horizontal=True,
                               key="mistakes_gradcam_class",
                               format_func={"predicted": "the class it predicted", "true": "the true class"}.get)
        show_examples(wrong, "wrong_table", explain)

with embedding:
    if not uses_backbone:
        st.info("TF-IDF has no learned representation to map: each text is a vector of word weights.")
    else:
        st.caption(f"Every validation {noun[:-1]} as a point, placed by the features the backbone computes for it "
                   "(projected from hundreds of dimensions to 2). Points of one class close together and far from "
                   "the others mean the features already separate the classes.")
        method = st.segmented_control("Projection", ["pca", "tsne"], default="pca", key="embedding_method",
                                      format_func={"pca": "PCA (fast, linear)", "tsne": "t-SNE (slower, keeps neighbours)"}.get) \
            or "pca"
        if run.has_embedding_map(method) or st.button("Draw the embedding map", key="draw_embedding", icon=":material/scatter_plot:"):
            try:
                with st.spinner("Computing features of the validation set, before and after training..."):
                    result = embedding_map(run_view.trained_model(run.dir), method)
                before_title = "Pretrained backbone (before training)" if result["pretrained"] else \
                    "Random weights (before training)"
                left, right = st.columns(2)
                left.plotly_chart(charts.embedding_scatter(result["before"], result["labels"], labels, before_title),
                                  key="embedding_before")
                right.plotly_chart(charts.embedding_scatter(result["after"], result["labels"], labels,
                                                            "Trained model (after)"), key="embedding_after")
                gain = separation(result["after"], result["labels"]) / max(separation(result["before"], result["labels"]), 1e-9)
                if result["same"]:
                    st.info("Feature extraction keeps the backbone frozen, so the map does not change: only the new "
                            "head learned where to draw the lines between these clusters. Fine-tune to move the points.")
                else:
                    st.caption(f"Class separation (distance between class centres / spread within classes) after "
                               f"training is {gain:.1f}x what it was before.")
            except Exception as error:
                show_error(error)
        if summary.get("target"):
            target_view.domain_maps(run, run_view.trained_model(run.dir))

with privacy:
    st.caption(f"Can someone who may query the model tell whether a given {noun[:-1]} was in its training data? "
               f"The audit tries: it scores up to 500 training {noun} and the validation {noun} with this model, and "
               "guesses \"was in the training data\" when the loss is low. Its success is given as AUC: 50% means the "
               "model gives away nothing about who was in its training data, 100% that it tells them all apart.")
    if summary.get("epsilon") is not None:
        dp = summary.get("dp", {})
        st.success(f"This run trained privately (DP-SGD): it spent **ε = {summary['epsilon']:.2f}** of a budget of "
                   f"{dp.get('target_epsilon', '?')}, with δ = {dp.get('delta', 0):.2g}: each training example's "
                   f"gradient was clipped to norm {dp.get('max_grad_norm', '?')} and noise "
                   f"({dp.get('noise_multiplier', '?')} times that norm) added to every step. That bounds what any "
                   "attack can learn about one example; the audit below measures what this attack does.",
                   icon=":material/lock:")
    else:
        st.caption("This run trained without differential privacy: switch on **Private training** on the Train "
                   "page to bound what the model can give away.")
    audits = st.session_state.setdefault("audits", {})
    if st.button("Audit privacy", key="audit_run", icon=":material/shield:"):
        try:
            with st.spinner(f"Scoring training and validation {noun} with the trained model..."):
                audits[str(run.dir)] = privacy_audit(run.dir)
        except Exception as error:
            show_error(error)
    found = audits.get(str(run.dir))
    if found is not None:
        left, middle, right = st.columns(3)
        low, high = found.mia_auc_interval
        left.metric("Membership attack AUC", f"{found.mia_auc:.1%}", f"95% CI {low:.1%} – {high:.1%}",
                    delta_color="off", delta_arrow="off",
                    help=f"50% = a coin: nothing leaks. Measured on {found.members:,} training and "
                         f"{found.non_members:,} validation {noun}: chance alone moves it within the interval.")
        middle.metric("Best threshold's advantage", f"{found.advantage:.1%}",
                      help="True-positive rate minus false-positive rate of the attacker's best loss threshold.")
        right.metric("Mean loss: training / validation", f"{found.member_loss:.3f} / {found.non_member_loss:.3f}")
        (st.info if found.mia_auc < 0.6 or low <= 0.5 else st.warning)(found.words)
        st.plotly_chart(charts.membership_losses(found.losses["members"], found.losses["non_members"], noun),
                        key="audit_losses")

with export:  # every kind of run exports, TF-IDF included
    needs = {"image": "and Pillow.", "text": "and tokenizers (the tokenizer files are included)."}[modality] \
        if uses_backbone else "(it counts the words itself, as scikit-learn does)."
    st.caption("One zip that runs outside the app: the model as ONNX (preprocessing inside) and for PyTorch "
               "(torch.export), labels, config, a model card and a predict.py that needs only onnxruntime, "
               f"numpy {needs}")
    folder = run.export_dir
    if st.button("Export and check", key="export_run", icon=":material/package_2:", type="primary"):
        try:
            with st.spinner("Exporting, then checking the export against the app on every validation example..."):
                export_run(run.dir, folder)
        except Exception as error:
            show_error(error)
    parity_file = folder / "parity.json"
    if parity_file.is_file():
        parity = json.loads(parity_file.read_text())
        left, middle, right = st.columns(3)
        left.metric("Same label as the app", f"{parity['examples'] - parity['disagreements']}/{parity['examples']}")
        middle.metric("Largest probability difference", f"{parity['max_probability_difference']:.1e}",
                      help=f"Between the exported model (onnxruntime) and the app's model, over the validation "
                           f"split; must stay below {parity['tolerance']:.0e}.")
        right.metric("Parity check", "passed" if parity["passed"] else "FAILED")
        (st.success if parity["passed"] else st.error)(
            "The export predicts what the app predicts." if parity["passed"] else
            "The export does not match the app: do not use it, and please report this run.")
        st.download_button("Download the export (.zip)", zip_folder(folder), file_name=f"{run.id}.zip",
                           mime="application/zip", key="download_export", icon=":material/download:")
