"""Data: load a dataset (sample, upload, or a path) and show what is in it, problems included."""

from pathlib import Path

import pandas as pd
import streamlit as st

from core import backbones, i18n, strategies
from core.data import encodings, images, languages, samples
from core.baselines import tfidf_settings
from core.i18n import N_, _, ngettext
from core.backbones.text_backbones import token_lengths
from ui import access, charts, class_names_view, doctor_view, session_status, state, target_view
from ui.terms import help_for
from ui.widgets import file_uploader, show_error

SOURCES = {"sample": N_("Bundled sample"), "upload": N_("Upload a file"), "path": N_("Path on this machine")}
ALL_SAMPLES = {**{f"sample:{n}": s.title for n, s in samples.SAMPLES.items() if n not in samples.TARGET_SAMPLES},
               **{f"sample:{n}": s.title for n, s in samples.TEXT_SAMPLES.items()}}  # English, marked in samples.py


def choose_source() -> None:
    """Where the data comes from: a bundled sample, an upload, or a path on this machine (when allowed)."""
    source = st.radio(_("Where is your data?"), list(SOURCES), format_func=lambda code: _(SOURCES[code]),
                      horizontal=True, key="data_source")
    split_settings()
    if source == "sample":
        sample_source()
    elif source == "upload":
        upload_source()
    elif not access.server_paths_allowed():
        st.warning(access.why_paths_are_off(), icon=":material/lock:")
    else:
        folder = st.text_input(_("Folder, .zip or table path"), placeholder="/home/me/datasets/flowers",
                               key="folder_path")
        if st.button(_("Load"), key="load_folder", type="primary", disabled=not folder) and state.load_data(folder):
            st.rerun()


def split_settings() -> None:
    """How data without a val/ folder is split."""
    with st.expander(_("Validation split (used when the data has no val/ folder or split column)")):
        # the values live in val_fraction and split_seed: Streamlit drops a widget's own key when its page is left,
        # and these must persist (the widgets' keys only keep them the same widgets in every language)
        share = st.slider(_("Share of each class kept for validation"), 5, 50,  # in percent, as said below it
                          value=round(st.session_state.val_fraction * 100), step=5, format="%d%%",
                          key="val_percent_slider", help=help_for("validation_set"))
        st.session_state.val_fraction = round(share / 100, 2)
        st.session_state.split_seed = st.number_input(_("Split seed (same seed, same split)"), 0, 10_000,
                                                      value=st.session_state.split_seed, step=1,
                                                      key="split_seed_input",
                                                      help=_("The seed decides which examples go to validation: the "
                                                             "same seed always gives the same split."))


def sample_source() -> None:
    options = list(ALL_SAMPLES)
    # picking another sample loads it (on_change: only a person's pick, never the page opening on a default)
    chosen = st.selectbox(_("Sample"), options, format_func=lambda code: _(ALL_SAMPLES[code]), key="sample_pick",
                          index=options.index(st.session_state.data) if st.session_state.data in options else 0,
                          on_change=lambda: st.session_state.update(sample_picked=True))
    picked = st.session_state.pop("sample_picked", False) and chosen != st.session_state.data
    if chosen != st.session_state.data and not picked:
        st.button(_("Use this sample"), key="load_sample", type="primary", on_click=lambda: st.session_state.update(
            sample_picked=True))
    if picked and state.load_data(chosen):
        st.rerun()  # the sidebar was drawn before this: draw it again with the new data


def upload_source() -> None:
    upload = file_uploader(_("An ImageFolder .zip, or a table of texts"), ["zip", "csv", "tsv", "txt", "xlsx", "xls"],
                           key="upload_zip",
                              help=_("Images: zip the folder that holds one sub-folder per class. "
                                     "Texts: one row per example, a text column and a label column."))
    try:
        stored = state.new_upload(upload, "loaded_upload")
        if stored and state.load_data(stored, upload.name):
            st.rerun()
    except Exception as error:
        show_error(error)


def overview(report, status: session_status.DataStatus) -> None:
    """The heading and the counts, from the same reading as the sidebar (exclusions left out)."""
    st.subheader(_("What was found in {name}: {counts}", name=status.name, counts=status.counts))
    columns = st.columns(4)
    columns[0].metric(_("Classes"), len(report.classes))
    excluded = _("{n:,} excluded", n=status.excluded) if status.excluded else None
    columns[1].metric(_("Texts") if report.modality == "text" else _("Images"), i18n.number(report.num_items),
                      delta=excluded, delta_color="off", delta_arrow="off")
    columns[2].metric(_("Train / validation"), f"{i18n.number(len(report.train))} / {i18n.number(len(report.val))}",
                      help=help_for("validation_set"))
    columns[3].metric(_("Skipped"), len(report.skipped))
    st.caption(i18n.render(report.layout))


def text_reading(report) -> None:
    """Texts: how the table was read (its encoding, its language, which columns), each changeable."""
    details = report.details
    # widgets that read this data: new ones when it is read differently (another file, encoding or columns)
    reading = f"{report.fingerprint}-{details['encoding']}-{details.get('encoding_chosen_by')}"
    for note in details["notes"]:
        st.info(i18n.render(note), icon=":material/info:")
    language = languages.from_dict(details.get("language"))
    if details["encoding"] != "xlsx":
        encoding_picker(report, reading, language)
    elif language:
        st.caption(language.sentence())
    if language is not None:
        st.caption(tfidf_settings(details.get("language"))["reason"])  # how the TF-IDF baseline would read them
    column_pickers(report, reading)


def encoding_picker(report, reading: str, language) -> None:
    details = report.details
    chosen_encoding = details["encoding_chosen_by"] == "you"
    options = ["auto"] + list(dict.fromkeys(details.get("encoding_alternatives", []) + list(encodings.CHOICES)
                                            + [details["encoding"]]))

    def encoding_label(code: str) -> str:
        if code != "auto":
            return _(encodings.title(code))
        if chosen_encoding:
            return _("Detect automatically")
        return _("Detect automatically (now {encoding}, {confidence:.0%} confidence)",
                 encoding=_(details["encoding_title"]), confidence=details["encoding_confidence"])

    picked = st.selectbox(
        _("Encoding of the file"), options, index=options.index(details["encoding"]) if chosen_encoding else 0,
        format_func=encoding_label, key=f"encoding_pick_{reading}",
        help=help_for("encoding") + "\n\n" + _(
            "Excel saves CSVs in the computer's code page: GB18030/GBK (mainland China), Big5 (Taiwan, Hong "
            "Kong), Shift-JIS (Japan), EUC-KR (Korea), Windows-1251 (Cyrillic), Windows-1252 (Western Europe). "
            "If the example texts look garbled, pick the right one."))
    wanted = None if picked == "auto" else picked
    if wanted != (details["encoding"] if chosen_encoding else None):  # changed: read the file again
        if state.load_data(st.session_state.data, st.session_state.data_name, details["text_column"],
                           details["label_column"], wanted):
            st.rerun()
    read = _("Read as **{encoding}** (as you chose).", encoding=_(details["encoding_title"])) if chosen_encoding \
        else _("Read as **{encoding}**, detected with {confidence:.0%} confidence.",
               encoding=_(details["encoding_title"]), confidence=details["encoding_confidence"])
    st.caption(i18n.join(read, language.sentence() if language else ""))


def column_pickers(report, reading: str) -> None:
    details = report.details
    left, right = st.columns(2)
    columns_read = f"{reading}-{details['text_column']}-{details['label_column']}"
    text_column = left.selectbox(_("Text column"), details["columns"],
                                 index=details["columns"].index(details["text_column"]),
                                 key=f"text_column_pick_{columns_read}",
                                 help=_("Guessed: {column} (the longest free text).", column=details["guessed"]["text"]))
    label_column = right.selectbox(_("Label column"), details["columns"],
                                   index=details["columns"].index(details["label_column"]),
                                   key=f"label_column_pick_{columns_read}",
                                   help=_("Guessed: {column} (few distinct values).",
                                          column=details["guessed"]["label"]))
    if (text_column, label_column) != (details["text_column"], details["label_column"]):
        if state.load_data(st.session_state.data, st.session_state.data_name, text_column, label_column,
                           report.read_settings()["encoding"] if details.get("encoding_chosen_by") == "you" else None):
            st.rerun()


def problems(report) -> None:
    """The warnings (or that there are none), the classes' chart and names, what was skipped and why."""
    for warning in report.warnings:
        st.warning(i18n.render(warning), icon=":material/warning:")
    if not report.warnings:
        st.success(_("No problems found: every class has enough examples and the classes are balanced."),
                   icon=":material/check_circle:")
    noun = "texts" if report.modality == "text" else "images"  # a code (charts.class_counts), never shown as such
    st.plotly_chart(charts.class_counts(report.counts(), noun), key="class_counts_chart")
    class_names_view.editor()
    if report.skipped:
        with st.expander(_("Skipped ({count}) and why", count=len(report.skipped))):
            st.dataframe(pd.DataFrame({_("File"): [row.get("path", "") for row in report.skipped],
                                       _("Why"): [i18n.render(row.get("reason")) for row in report.skipped]}),
                         hide_index=True)


@st.cache_data(max_entries=2000, show_spinner=False)
def thumbnail(path: str, modified: float):
    return images.thumbnail(path, 96)


@st.cache_data(max_entries=16, show_spinner=_("Counting tokens..."))  # made on each run: in its language
def lengths_for(fingerprint: str, backbone: str, _texts: list[str]) -> list[int]:
    return token_lengths(backbones.get(backbone), _texts)


def examples_by_class(report) -> tuple[dict[int, list[str]], dict[str, int]]:
    """Up to 8 item keys of each class index, and each class's number of examples."""
    by_class: dict[int, list[str]] = {}
    for key, label in report.train + report.val:
        if len(by_class.setdefault(label, [])) < 8:
            by_class[label].append(key)
    return by_class, {row["class"]: row["train"] + row["val"] for row in report.counts()}


def text_examples(report) -> None:
    """A few texts of each label, then how long the texts are in tokens."""
    by_class, totals = examples_by_class(report)
    st.subheader(_("Examples per label"))
    shown = st.selectbox(_("Label"), range(len(report.classes)), format_func=report.titles.__getitem__,
                         key="example_label") if len(report.classes) > 8 else None
    grid = st.columns(2)
    for place, (label, name) in enumerate((i, n) for i, n in enumerate(report.classes) if shown in (None, i)):
        with grid[place % 2].container(border=True):
            st.markdown(ngettext("**{name}** · {n:,} text", "**{name}** · {n:,} texts", totals[name],
                                 name=report.title(name)))
            for key in by_class.get(label, [])[:3]:
                text = report.texts[key]
                st.text(_("{start}… ({length:,} characters in all)", start=text[:600], length=len(text))
                        if len(text) > 600 else text)
    token_histogram(report)


def token_histogram(report) -> None:
    chosen_backbone = st.session_state.backbone if backbones.get(st.session_state.backbone).modality == "text" \
        else backbones.default_for("text")
    sample_texts = [report.texts[key] for key, _label in report.all_items()[:2000]]
    try:
        lengths = lengths_for(report.fingerprint, chosen_backbone, sample_texts)
        strategy = st.session_state.strategy if st.session_state.strategy in strategies.names("text") else strategies.FINE_TUNING
        max_length = {**strategies.get(strategy).recipe("text"),
                      **st.session_state.get("train_settings", {}).get(("text", strategy), {})}.get("max_length", 128)
        st.plotly_chart(charts.token_lengths(lengths, max_length), key="token_lengths")
        st.caption(_("Tokens (the pieces of words a text network reads) as `{backbone}` counts them. Longer texts "
                     "are cut at the max length (set on the Train page): a longer limit keeps more of each text but "
                     "trains slower.", backbone=chosen_backbone))
    except Exception as error:
        show_error(error)


def image_examples(report) -> None:
    """A row of thumbnails for each class."""
    by_class, totals = examples_by_class(report)
    st.subheader(_("A few examples of each class"))
    for label, name in enumerate(report.classes):
        row = st.columns([1, 8])
        row[0].markdown(ngettext("**{name}**  \n{n:,} image", "**{name}**  \n{n:,} images", totals[name],
                                 name=report.title(name)))
        files = [report.absolute(f) for f in by_class.get(label, [])]
        row[1].image([thumbnail(str(f), Path(f).stat().st_mtime) for f in files], width=72)


def main() -> None:
    state.init()
    st.title(_("1 · Data"))
    st.caption(_("Images: one folder per class (`cats/`, `dogs/`...), optionally inside `train/` and `val/` folders, "
                 "as a .zip or a folder. Texts: a CSV, TSV or Excel sheet with a text column and a label column."))
    choose_source()
    report = st.session_state.report
    if report is None:
        st.info(_("No data loaded yet. Try a bundled sample: it is one click."))
        return
    status = session_status.current()  # the sidebar's reading: the same counts, the same state of the features
    st.divider()
    overview(report, status)
    if report.modality == "text":
        text_reading(report)
    problems(report)
    if report.modality == "text":
        text_examples(report)
    else:
        image_examples(report)
    doctor_view.section(report, waiting=_("Available once the features being computed in the background are ready "
                                          "(the sidebar shows how far): the examination then reads them from the "
                                          "cache.") if status.busy else None)
    target_view.target_section(report)
    st.page_link("pages/2_model.py", label=_("Next: choose a model"), icon=":material/arrow_forward:")


main()
