"""Results: how good the model is, per class, the curves, what it confuses, and its worst mistakes."""

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import streamlit as st

from core import audit, backbones, costs, i18n, metrics, paths, progress, runs, strategies
from core.data import images
from core.embeddings import embedding_map, separation
from core.explain import grad_cam, overlay, token_importance
from core.inference.export import export_run, zip_folder
from core.i18n import N_, _, ngettext
from core.runs import Summary
from ui import charts, run_view, state, target_view
from ui.terms import help_for, what_is
from ui.widgets import highlighted_text, percent, show_error

# the per-class table's columns as shown (the summary's keys stay as they are)
PER_CLASS_COLUMNS = {"class": N_("class"), "precision": N_("precision"), "recall": N_("recall"), "f1": N_("f1"),
                     "support": N_("support")}
EVIDENCE_FOR = {"predicted": N_("the class it predicted"), "true": N_("the true class")}
PROJECTIONS = {"pca": N_("PCA (fast, linear)"), "tsne": N_("t-SNE (slower, keeps neighbours)")}


@dataclass
class Opened:
    """The run the page shows, and what every section reads of it."""

    run: runs.Run
    summary: dict
    labels: list[str]                  # the names given to the classes, where given
    predictions: list[dict] = field(default_factory=list)
    texts: dict[str, str] = field(default_factory=dict)
    root: Path = Path(".")

    @classmethod
    def of(cls, run: runs.Run) -> "Opened":
        dataset = run.data()
        return cls(run, run.summary(), run.class_titles(), run.predictions(), dataset.get("texts", {}),
                   Path(dataset.get("root", ".")))

    @property
    def modality(self) -> str:
        return self.summary.get("modality", "image")

    @property
    def texts_run(self) -> bool:
        return self.modality == "text"

    @property
    def noun(self) -> str:
        return "texts" if self.texts_run else "images"  # a code (charts), never shown as it is

    @property
    def uses_backbone(self) -> bool:
        learner = strategies.find(self.summary["strategy"])
        return learner is None or learner.uses_backbone


def loss_of(row: dict) -> float:
    return -math.log(max(row["true_probability"], 1e-12))  # the example's cross-entropy loss


def pick_run() -> runs.Run:
    """The run chosen (the one opened or trained in this session, the address's on a reload, else the one that
    finished last); stops the page when there is none."""
    listed = runs.list_runs(paths.runs_dir())
    available = [r for r in listed if r.summary() is not None]
    unreadable = [r for r in listed if r.summary_damaged()]
    if unreadable:
        damaged = ", ".join(r.id for r in unreadable[:3]) + ("..." if len(unreadable) > 3 else "")
        st.caption(ngettext("{n} run with a damaged summary.json is not listed here ({runs}): the Runs page says what "
                            "is wrong with it.",
                            "{n} runs with a damaged summary.json are not listed here ({runs}): the Runs page says "
                            "what is wrong with each.", len(unreadable), runs=damaged))
    current = st.session_state.run_dir
    if not current and "run" in st.query_params:  # a reload of this page: the run it showed (named in the address)
        current = str(paths.runs_dir() / Path(st.query_params["run"]).name)
    if current and Path(current).parent != paths.runs_dir() and runs.Run(Path(current)).summary() is not None:
        available.insert(0, runs.Run(Path(current)))
    if not available:
        st.info(_("No finished runs yet. Train a model first."))
        st.page_link("pages/3_train.py", label=_("Go to Train"), icon=":material/model_training:")
        st.stop()
    ids = [str(r.dir) for r in available]
    if current not in ids:  # nothing opened or trained in this session: the run that finished last
        current = str(run_view.latest_finished(available).dir)
    chosen = st.selectbox(_("Run"), ids, index=ids.index(current), format_func=run_view.run_label, key="results_run")
    st.session_state.run_dir = chosen
    if Path(chosen).parent == paths.runs_dir():
        st.query_params["run"] = Path(chosen).name
    return runs.Run(Path(chosen))


def headline(shown: Opened) -> None:
    """What ran, and the five numbers: best and final accuracy, macro-F1, epochs, time; how the run ended."""
    summary, run = shown.summary, shown.run
    described = dict(strategy=run_view.strategy_label(summary["strategy"]), backbone=backbones.title_of(summary["backbone"]),
                     train=summary[Summary.TRAIN_IMAGES], val=summary[Summary.VAL_IMAGES],
                     device=progress.device_words(summary["device"]), folder=str(run.dir))
    st.caption(_("{strategy} · backbone `{backbone}` · {train:,} training / {val:,} validation texts · {device} · "
                 "folder `{folder}`", **described) if shown.texts_run else
               _("{strategy} · backbone `{backbone}` · {train:,} training / {val:,} validation images · {device} · "
                 "folder `{folder}`", **described))
    columns = st.columns(5)
    accuracy_metric(columns[0], shown)
    columns[1].metric(_("Final validation accuracy"), percent(summary[Summary.FINAL_VAL_ACC]),
                      help=_("The validation accuracy after the last epoch trained."))
    columns[2].metric(_("Macro-F1"), percent(summary.get(Summary.BEST_VAL_MACRO_F1)), help=help_for("macro_f1"))
    columns[3].metric(_("Epochs"), f"{summary['epochs']}/{summary[Summary.EPOCHS_PLANNED]}", help=help_for("epoch"))
    cost = costs.of(summary)
    repeat = cost.feature_pass and cost.first_time is not None and cost.words() != costs.duration(cost.first_time)
    columns[4].metric(_("Time, first time") if repeat else _("Time"),
                      costs.duration(cost.first_time if cost.first_time is not None else cost.seconds),
                      _("{time} when repeated", time=costs.duration(cost.repeated)) if repeat else None,
                      delta_color="off", delta_arrow="off", help=cost.explained())
    if summary["status"] == "stopped":
        st.warning(_("This run was stopped early; the numbers are for the best epoch reached."))
    elif summary.get("early_stopped"):
        st.info(_("Early stopping ended this run after epoch {epoch}: the validation loss had stopped improving. The "
                  "weights kept are those of epoch {best}.", epoch=summary["epochs"], best=summary[Summary.BEST_EPOCH]),
                icon=":material/info:")


def accuracy_metric(column, shown: Opened) -> None:
    """The best validation accuracy, with its 95% interval and what it was measured on."""
    summary = shown.summary
    best, count = summary[Summary.BEST_VAL_ACC], summary[Summary.VAL_IMAGES]
    interval = metrics.accuracy_interval(best, count) if best is not None and count else None
    measured = _("Measured on {n:,} validation texts: the true accuracy is likely (95%) inside the interval (Wilson). "
                 "Fewer examples, wider interval.", n=count) if shown.texts_run else \
        _("Measured on {n:,} validation images: the true accuracy is likely (95%) inside the interval (Wilson). "
          "Fewer examples, wider interval.", n=count)
    reached = _("Reached in epoch {epoch}; these weights are the ones kept.", epoch=summary[Summary.BEST_EPOCH]) \
        if summary[Summary.BEST_EPOCH] else ""
    column.metric(_("Best validation accuracy"), percent(best),
                  _("95% CI {low}–{high}", low=i18n.percent(interval[0], 0), high=i18n.percent(interval[1], 0))
                  if interval else None,  # whole percents: the badge is narrow
                  delta_color="off", delta_arrow="off",
                  help="\n\n".join(part for part in (reached, measured, help_for("accuracy", "validation_set"))
                                   if part))


def learning(shown: Opened) -> None:
    """The loss and accuracy curves, and a word when training accuracy runs far ahead of validation."""
    history = shown.run.history()
    if len(history) <= 1:
        return
    st.plotly_chart(charts.learning_curves(history), key="result_curves")
    train, val = history[-1]["train_acc"], history[-1]["val_acc"]
    if train - val > 0.1:
        # percentage points, as the two percentages read: "14 points", never "14%"
        st.info(_("Training accuracy is {gap} percentage points above validation accuracy ({train} vs {val}): the "
                  "model is memorising the training data (overfitting). More data, augmentation, or fewer epochs "
                  "help.", gap=i18n.points(train, val, 0), train=percent(train), val=percent(val)))
    what_is("loss", "overfitting", "augmentation")


def per_class(shown: Opened) -> None:
    if not shown.summary.get("per_class"):
        return
    st.subheader(_("Per class"))
    headers = {column: _(label) for column, label in PER_CLASS_COLUMNS.items()}
    named = dict(zip(shown.run.labels(), shown.labels))  # the names given to the classes, where given
    rows = [{**row, "class": named.get(row["class"], row["class"]),  # shares in percent, as on every other page
             **{name: row[name] * 100 for name in ("precision", "recall", "f1")}} for row in shown.summary["per_class"]]
    st.dataframe(pd.DataFrame(rows).rename(columns=headers), hide_index=True,
                 column_config={headers[name]: st.column_config.NumberColumn(format="%.1f%%")
                                for name in ("precision", "recall", "f1")})
    st.caption(_("Precision: of the items predicted as this class, the share that were right. Recall: of the items "
                 "of this class, the share found. F1 balances the two. Support: validation items of the class."))


def show_examples(shown: Opened, rows: list[dict], key: str, explain: str | None = None) -> None:
    """Validation examples, most wrong first: images as a grid (with Grad-CAM if asked), texts as a table."""
    if shown.texts_run:
        show_texts(shown, rows, key)
        return
    labels = shown.labels
    predictor = run_view.trained_model(shown.run.dir) if explain else None
    grid = st.columns(6)
    for index, item in enumerate(rows[:24]):
        with grid[index % 6]:
            path = shown.root / item["item"]
            if not path.is_file():
                st.caption(_("{item} is gone", item=item["item"]))
                continue
            if predictor is not None and predictor.modality == "image":
                target = item["label"] if explain == "true" else item["predicted"]
                st.image(overlay(grad_cam(predictor, images.load_rgb(path), target)), width=110)
            else:
                st.image(images.thumbnail(path, 128), width=110)
            st.caption(_("true **{true}** → {predicted} ({confidence:.0%}, loss {loss:.2f})",
                         true=labels[item["label"]], predicted=labels[item["predicted"]],
                         confidence=item["confidence"], loss=loss_of(item)))


def show_texts(shown: Opened, rows: list[dict], key: str) -> None:
    """Validation texts as a table; on a toggle, the words behind the first five."""
    labels, texts = shown.labels, shown.texts
    text, true, predicted, confidence, loss = _("text"), _("true"), _("predicted"), _("confidence"), _("loss")
    st.dataframe(pd.DataFrame([{text: texts.get(p["item"], "")[:500], true: labels[p["label"]],
                                predicted: labels[p["predicted"]], confidence: p["confidence"],
                                loss: round(loss_of(p), 3)} for p in rows[:50]]), hide_index=True,
                 key=key, column_config={text: st.column_config.TextColumn(width="large"),
                                         confidence: st.column_config.ProgressColumn(
                                             min_value=0, max_value=1, format="%.2f")})
    if rows and st.toggle(_("Show the words behind the first five"), key=f"{key}_words",
                          help=_("Each word (each character, for Chinese or Japanese) coloured by how much it "
                                 "pushed towards the predicted class (green) or away from it (red).")):
        predictor = run_view.trained_model(shown.run.dir)
        for item in rows[:5]:
            explanation = token_importance(predictor, texts.get(item["item"], ""), item["predicted"])
            st.markdown(highlighted_text(explanation.words, explanation.separators), unsafe_allow_html=True)
            st.caption(_("true **{true}** → {predicted} ({confidence:.0%}); colours: {method}",
                         true=labels[item["label"]], predicted=labels[item["predicted"]],
                         confidence=item["confidence"], method=_(explanation.method)))


def cell_sentence(texts_run: bool, count: int, true: str, predicted: str, correct: bool) -> str:
    """What the examples below the matrix are: one whole sentence for each case."""
    if texts_run and correct:
        return ngettext("**{n} validation text** of class **{true}** predicted as **{predicted}** (correct answers).",
                        "**{n} validation texts** of class **{true}** predicted as **{predicted}** (correct "
                        "answers).", count, true=true, predicted=predicted)
    if texts_run:
        return ngettext("**{n} validation text** of class **{true}** predicted as **{predicted}**.",
                        "**{n} validation texts** of class **{true}** predicted as **{predicted}**.", count,
                        true=true, predicted=predicted)
    if correct:
        return ngettext("**{n} validation image** of class **{true}** predicted as **{predicted}** (correct "
                        "answers).", "**{n} validation images** of class **{true}** predicted as **{predicted}** "
                        "(correct answers).", count, true=true, predicted=predicted)
    return ngettext("**{n} validation image** of class **{true}** predicted as **{predicted}**.",
                    "**{n} validation images** of class **{true}** predicted as **{predicted}**.", count,
                    true=true, predicted=predicted)


def confusion(shown: Opened) -> None:
    """The confusion matrix; a click on a cell (or the two pickers) shows that cell's examples below it."""
    matrix, labels = shown.summary.get("confusion_matrix"), shown.labels
    if not matrix or not shown.predictions:
        return
    marked = picked_cell(matrix, len(labels))
    st.plotly_chart(charts.confusion_matrix(matrix, labels, marked), key="confusion", on_select="rerun",
                    selection_mode="points")
    st.caption(_("Each row is a true class; the diagonal counts correct answers. Off-diagonal cells show which "
                 "classes the model mixes up. Click a cell: its examples appear right below, and the cell is "
                 "framed."))
    what_is("confusion_matrix")
    left, right = st.columns(2)
    true_class = left.selectbox(_("True class"), range(len(labels)), format_func=labels.__getitem__, key="cell_true")
    predicted_class = right.selectbox(_("Predicted class"), range(len(labels)), format_func=labels.__getitem__,
                                      key="cell_predicted")
    chosen_rows = sorted((p for p in shown.predictions
                          if p["label"] == true_class and p["predicted"] == predicted_class), key=loss_of, reverse=True)
    st.markdown(cell_sentence(shown.texts_run, len(chosen_rows), labels[true_class], labels[predicted_class],
                              true_class == predicted_class))
    if chosen_rows:
        st.caption(_("Highest loss first."))
        show_examples(shown, chosen_rows, "cell_table")


def picked_cell(matrix: list[list[int]], classes: int) -> tuple[int, int]:
    """The (true, predicted) cell to show: the chart's click that caused this rerun, else the pickers', else the
    largest mistake."""
    off_diagonal = [(count, i, j) for i, row in enumerate(matrix) for j, count in enumerate(row) if i != j and count]
    default = max(off_diagonal)[1:] if off_diagonal else (0, 0)
    for key, value in zip(("cell_true", "cell_predicted"), default):
        if st.session_state.get(key) not in range(classes):  # first visit, or a run with fewer classes
            st.session_state[key] = value
    clicked = st.session_state.get("confusion")  # the chart's selection, from the click that caused this rerun
    points = clicked.selection.points if clicked and clicked.selection else []
    if points and points[0].get("curve_number") == 1:  # a cell's marker: row by row
        cell = divmod(int(points[0]["point_index"]), classes)
        if st.session_state.get("cell_clicked") != cell:  # a new click picks the cell shown below the matrix
            st.session_state.cell_clicked = cell
            st.session_state.cell_true, st.session_state.cell_predicted = cell
    return st.session_state.cell_true, st.session_state.cell_predicted


def mistakes_tab(shown: Opened, wrong: list[dict]) -> None:
    if not wrong:
        st.success(_("None: every validation text was classified correctly.") if shown.texts_run else
                   _("None: every validation image was classified correctly."))
        return
    st.caption(_("The validation texts it got wrong, highest loss first (the least probability given to the "
                 "true class): often mislabelled or truly ambiguous examples.") if shown.texts_run else
               _("The validation images it got wrong, highest loss first (the least probability given to the "
                 "true class): often mislabelled or truly ambiguous examples."))
    explain = None
    if shown.modality == "image" and st.toggle(_("Show where the model looked (Grad-CAM)"), key="mistakes_gradcam",
                                               help=help_for("grad_cam")):
        explain = st.radio(_("Heat map of the evidence for"), list(EVIDENCE_FOR), horizontal=True,
                           key="mistakes_gradcam_class", format_func=lambda value: _(EVIDENCE_FOR[value]))
    show_examples(shown, wrong, "wrong_table", explain)


def embedding_tab(shown: Opened) -> None:
    if not shown.uses_backbone:
        st.info(_("TF-IDF has no learned representation to map: each text is a vector of word weights."))
        return
    st.caption(_("Every validation text as a point, placed by the features the backbone computes for it "
                 "(projected from hundreds of dimensions to 2). Points of one class close together and far from "
                 "the others mean the features already separate the classes.") if shown.texts_run else
               _("Every validation image as a point, placed by the features the backbone computes for it "
                 "(projected from hundreds of dimensions to 2). Points of one class close together and far from "
                 "the others mean the features already separate the classes."))
    what_is("embedding_map", "backbone", "feature_extraction", "fine_tuning")
    method = st.segmented_control(_("Projection"), list(PROJECTIONS), default="pca", key="embedding_method",
                                  format_func=lambda value: _(PROJECTIONS[value])) or "pca"
    if shown.run.has_embedding_map(method) or st.button(_("Draw the embedding map"), key="draw_embedding",
                                                        icon=":material/scatter_plot:"):
        try:
            embedding_maps(shown, method)
        except Exception as error:
            show_error(error)
    if shown.summary.get("target"):
        target_view.domain_maps(shown.run, run_view.trained_model(shown.run.dir))


def embedding_maps(shown: Opened, method: str) -> None:
    """The validation set's features before and after training, side by side, and how far apart the classes moved."""
    with st.spinner(_("Computing features of the validation set, before and after training...")):
        result = embedding_map(run_view.trained_model(shown.run.dir), method)
    before_title = _("Pretrained backbone (before training)") if result["pretrained"] else \
        _("Random weights (before training)")
    left, right = st.columns(2)
    left.plotly_chart(charts.embedding_scatter(result["before"], result["labels"], shown.labels, before_title),
                      key="embedding_before")
    right.plotly_chart(charts.embedding_scatter(result["after"], result["labels"], shown.labels,
                                                _("Trained model (after)")), key="embedding_after")
    gain = separation(result["after"], result["labels"]) / max(separation(result["before"], result["labels"]), 1e-9)
    if result["same"]:
        st.info(_("Feature extraction keeps the backbone frozen, so the map does not change: only the new "
                  "head learned where to draw the lines between these clusters. Fine-tune to move the "
                  "points."))
    else:
        st.caption(_("Class separation (distance between class centres / spread within classes) after "
                     "training is {gain:.1f}x what it was before.", gain=gain))


def privacy_tab(shown: Opened) -> None:
    st.caption(_("Can someone who may query the model tell whether a given text was in its training data? The audit "
                 "tries: it scores up to 500 training texts and the validation texts with this model, and guesses "
                 "\"was in the training data\" when the loss is low. Its success is given as AUC: 50% means the "
                 "model gives away nothing about who was in its training data, 100% that it tells them all apart.")
               if shown.texts_run else
               _("Can someone who may query the model tell whether a given image was in its training data? The "
                 "audit tries: it scores up to 500 training images and the validation images with this model, and "
                 "guesses \"was in the training data\" when the loss is low. Its success is given as AUC: 50% means "
                 "the model gives away nothing about who was in its training data, 100% that it tells them all "
                 "apart."))
    what_is("membership_inference", "differential_privacy", "epsilon", "dp_sgd")
    privacy_spent(shown.summary)
    audits = st.session_state.setdefault("audits", {})
    if st.button(_("Audit privacy"), key="audit_run", icon=":material/shield:"):
        try:
            with st.spinner(_("Scoring training and validation texts with the trained model...") if shown.texts_run
                            else _("Scoring training and validation images with the trained model...")):
                audits[str(shown.run.dir)] = audit.audit(shown.run.dir)
        except Exception as error:
            show_error(error)
    found = audits.get(str(shown.run.dir))
    if found is not None:
        audit_numbers(shown, found)


def privacy_spent(summary: dict) -> None:
    """Whether the run trained privately, and what it spent."""
    if summary.get("epsilon") is None:
        st.caption(_("This run trained without differential privacy: switch on **Private training** on the Train "
                     "page to bound what the model can give away."))
        return
    dp = summary.get("dp", {})
    st.success(_("This run trained privately (DP-SGD): it spent **ε = {epsilon:.2f}** of a budget of {budget}, "
                 "with δ = {delta:.2g}: each training example's gradient was clipped to norm {norm} and noise "
                 "({noise} times that norm) added to every step. That bounds what any attack can learn about one "
                 "example; the audit below measures what this attack does.", epsilon=summary["epsilon"],
                 budget=dp.get("target_epsilon", "?"), delta=dp.get("delta", 0),
                 norm=dp.get("max_grad_norm", "?"), noise=dp.get("noise_multiplier", "?")),
               icon=":material/lock:")


def audit_numbers(shown: Opened, found: audit.Audit) -> None:
    """The audit's AUC, advantage and mean losses, what those losses are, and the two loss distributions."""
    left, middle, right = st.columns(3)
    low, high = found.mia_auc_interval
    counted = dict(members=found.members, others=found.non_members)
    left.metric(_("Membership attack AUC"), f"{found.mia_auc:.1%}", _("95% CI {low:.1%} – {high:.1%}", low=low,
                                                                      high=high),
                delta_color="off", delta_arrow="off",
                help=_("50% = a coin: nothing leaks. Measured on {members:,} training and {others:,} validation "
                       "texts: chance alone moves it within the interval.", **counted) if shown.texts_run else
                _("50% = a coin: nothing leaks. Measured on {members:,} training and {others:,} validation "
                  "images: chance alone moves it within the interval.", **counted))
    middle.metric(_("Best threshold's advantage"), f"{found.advantage:.1%}",
                  help=_("True-positive rate minus false-positive rate of the attacker's best loss threshold."))
    right.metric(_("Mean loss: training / validation"), f"{found.member_loss:.3f} / {found.non_member_loss:.3f}")
    st.caption(audit.basis(found))  # which weights, which examples, which mode: not the loss curves' numbers
    # the words again, now: the audit may have been run in the other language
    (st.info if found.mia_auc < 0.6 or low <= 0.5 else st.warning)(audit.words(found.mia_auc, (low, high)))
    st.plotly_chart(charts.membership_losses(found.losses["members"], found.losses["non_members"], shown.noun),
                    key="audit_losses")


def export_tab(shown: Opened) -> None:
    """Every kind of run exports, TF-IDF included."""
    if not shown.uses_backbone:
        st.caption(_("One zip that runs outside the app: the model as ONNX (preprocessing inside) and for PyTorch "
                     "(torch.export), labels, config, a model card and a predict.py that needs only onnxruntime and "
                     "numpy (it counts the words itself, as scikit-learn does)."))
    elif shown.modality == "image":
        st.caption(_("One zip that runs outside the app: the model as ONNX (preprocessing inside) and for PyTorch "
                     "(torch.export), labels, config, a model card and a predict.py that needs only onnxruntime, "
                     "numpy and Pillow."))
    else:
        st.caption(_("One zip that runs outside the app: the model as ONNX (preprocessing inside) and for PyTorch "
                     "(torch.export), labels, config, a model card and a predict.py that needs only onnxruntime, "
                     "numpy and tokenizers (the tokenizer files are included)."))
    st.caption(_("The model card (README.md) is written in the language this page is shown in when you export."))
    what_is("onnx")
    folder = shown.run.export_dir
    # one container that a rerun empties first: while a new export runs, the last one's download button is gone
    # (clicked then, it gave the old zip and its rerun cut the new export short)
    with st.empty().container():
        if st.button(_("Export and check"), key="export_run", icon=":material/package_2:", type="primary"):
            try:
                with st.spinner(_("Exporting, then checking the export against the app on every validation "
                                  "example...")):
                    export_run(shown.run.dir, folder)
            except Exception as error:
                show_error(error)
        parity_file = folder / "parity.json"
        if parity_file.is_file():
            parity_check(json.loads(parity_file.read_text()), folder, shown.run.id)


def parity_check(parity: dict, folder: Path, run_id: str) -> None:
    """Whether the export predicts what the app predicts, and its download."""
    left, middle, right = st.columns(3)
    left.metric(_("Same label as the app"), f"{parity['examples'] - parity['disagreements']}/{parity['examples']}")
    middle.metric(_("Largest probability difference"), f"{parity['max_probability_difference']:.1e}",
                  help=_("Between the exported model (onnxruntime) and the app's model, over the validation "
                         "split; must stay below {tolerance:.0e}.", tolerance=parity["tolerance"]))
    right.metric(_("Parity check"), _("passed") if parity["passed"] else _("FAILED"))
    (st.success if parity["passed"] else st.error)(
        _("The export predicts what the app predicts.") if parity["passed"] else
        _("The export does not match the app: do not use it, and please report this run."))
    st.download_button(_("Download the export (.zip)"), zip_folder(folder), file_name=f"{run_id}.zip",
                       mime="application/zip", key="download_export", icon=":material/download:")


state.init()
st.title(_("4 · Results"))
shown = Opened.of(pick_run())
headline(shown)
target_view.results_block(shown.summary)
learning(shown)
per_class(shown)
confusion(shown)
wrong = sorted((p for p in shown.predictions if p["predicted"] != p["label"]), key=loss_of, reverse=True)
mistakes, embedding, privacy, export = st.tabs([_("Mistakes ({n})", n=len(wrong)), _("Embedding map"), _("Privacy"),
                                                _("Export")])
with mistakes:
    mistakes_tab(shown, wrong)
with embedding:
    embedding_tab(shown)
with privacy:
    privacy_tab(shown)
with export:
    export_tab(shown)
