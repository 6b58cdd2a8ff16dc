"""Try it: any finished run on new images (files or the camera) or typed text; top classes and why."""

import streamlit as st

from core import paths, runs
from core.data import images
from core.explain import grad_cam, overlay, token_importance
from core.i18n import _, ngettext
from ui import charts, run_view, state
from ui.terms import help_for, what_is
from ui.widgets import file_uploader, highlighted_text, show_error


def pick_model():
    """The trained model chosen (the session's run, else the one that finished last); stops the page when there
    is none or it cannot be loaded."""
    listed = runs.list_runs(paths.runs_dir())
    usable = [run for run in listed if run.has_weights() and run.summary() is not None]
    unreadable = [run for run in listed if run.summary_damaged()]
    if unreadable:
        st.caption(ngettext("{n} run with a damaged summary.json is not listed here: the Runs page says what is wrong "
                            "with it.",
                            "{n} runs with a damaged summary.json are not listed here: the Runs page says what is "
                            "wrong with each.", len(unreadable)))
    if not usable:
        st.info(_("No trained model yet. Train one first."))
        st.page_link("pages/3_train.py", label=_("Go to Train"), icon=":material/model_training:")
        st.stop()
    folders = [str(run.dir) for run in usable]
    current = st.session_state.run_dir
    if current not in folders:
        current = str(run_view.latest_finished(usable).dir)
    chosen = st.selectbox(_("Model (a trained run)"), folders, index=folders.index(current),
                          format_func=run_view.run_label, key="predict_run")
    try:
        return run_view.trained_model(chosen)
    except Exception as error:
        show_error(error)
        st.stop()


def explained(labels: list[str], modality: str) -> int | None:
    """The class the explanations are for: None for the predicted one."""
    def label(index: int) -> str:
        return _("the predicted class") if index == -1 else _("the class '{label}'", label=labels[index])

    # -1, not None, for "the predicted class": a selectbox showing None reads as empty, as if cleared
    chosen = st.selectbox(_("Explain"), [-1] + list(range(len(labels))), key="explain_class", format_func=label,
                          help=help_for("grad_cam") if modality == "image" else help_for("word_importance"))
    return None if chosen in (-1, None) else chosen


def try_images(predictor, target: int | None) -> None:
    """Uploaded images and a camera photo: each one's top classes and a Grad-CAM heat map."""
    uploads = file_uploader(_("Images"), sorted(e.lstrip(".") for e in images.IMAGE_EXTENSIONS),
                            accept_multiple_files=True, key="predict_images")
    inputs = []
    if st.toggle(_("Take a photo with the camera"), key="use_camera"):
        photo = st.camera_input(_("Photo"), key="camera")
        if photo is not None:
            inputs.append(("camera", photo))
    inputs += [(upload.name, upload) for upload in uploads or []]
    if not inputs:
        st.info(_("Drop one or more images above: each gets the model's top classes and a Grad-CAM heat map of "
                  "where the evidence for the class lies."))
        what_is("grad_cam")
    if len(inputs) > 24:
        st.warning(_("Showing the first 24 of {n} images.", n=len(inputs)))
    for index, (name, upload) in enumerate(inputs[:24]):
        with st.container(border=True):
            one_image(predictor, target, index, name, upload)


def one_image(predictor, target: int | None, index: int, name: str, upload) -> None:
    labels = predictor.labels
    try:
        image = images.load_rgb(upload)
        probabilities = predictor.predict_images([image])[0]
        explanation = grad_cam(predictor, image, target)
    except Exception as error:
        show_error(error if not isinstance(error, OSError) else
                   ValueError(_("{name} is not a readable image ({error}).", name=name, error=error)))
        return
    best = int(probabilities.argmax())
    left, middle, right = st.columns([1, 1.4, 1])
    left.image(image, caption=name if name != "camera" else _("camera"), width="stretch")
    middle.markdown(_("**{label}** ({probability:.1%})", label=labels[best], probability=probabilities[best]))
    middle.plotly_chart(charts.top_classes(probabilities, labels), key=f"bars_{index}")
    right.image(overlay(explanation), width="stretch",
                caption=_("{method}: where it sees '{label}' (red)", method=_(explanation.method),
                          label=labels[explanation.class_index]))


def try_texts(predictor, target: int | None) -> None:
    """Typed texts, one per line: each one's top classes, its words coloured by their pull."""
    text = st.text_area(_("Text to classify (one per line to try several)"), key="predict_text", height=140,
                        placeholder=_("Type or paste a sentence, a review, a message..."))
    lines = [line.strip() for line in text.splitlines() if line.strip()][:20]
    if predictor.spec is not None and predictor.spec.pretrained:  # said again where its answers are read
        from core.data import languages

        found = languages.from_dict((predictor.run.data().get("details") or {}).get("language"))
        warning = languages.encoder_warning(predictor.spec.display_title, predictor.spec.languages, found)
        if warning:
            st.warning(warning, icon=":material/translate:")
    if not lines:
        st.info(_("Type a text above: the model's top classes appear, with each word coloured by how much it "
                  "pushed towards the class (green) or away from it (red)."))
        what_is("word_importance")
    labels = predictor.labels
    for index, line in enumerate(lines):
        with st.container(border=True):
            try:
                explanation = token_importance(predictor, line, target)
            except Exception as error:
                show_error(error)
                continue
            probabilities = explanation.probabilities
            best = int(probabilities.argmax())
            left, right = st.columns([1.4, 1])
            left.markdown(_("**{label}** ({probability:.1%})", label=labels[best], probability=probabilities[best]))
            left.markdown(highlighted_text(explanation.words, explanation.separators), unsafe_allow_html=True)
            left.caption(_("Word colours: {method}, for the class '{label}'.", method=_(explanation.method),
                           label=labels[explanation.class_index]))
            right.plotly_chart(charts.top_classes(probabilities, labels), key=f"bars_{index}")


state.init()
st.title(_("5 · Try it"))
st.caption(_("New inputs the model has never seen: what it answers, how sure it is, and what it looked at."))
model = pick_model()
chosen_class = explained(model.labels, model.modality)
if model.modality == "image":
    try_images(model, chosen_class)
else:
    try_texts(model, chosen_class)
