"""Data: load a dataset (sample, upload, or a path) and show what is in it, problems included."""

from pathlib import Path

import pandas as pd
import streamlit as st

from core import backbones, encodings, images, jobs, languages, samples, strategies
from core.baselines import tfidf_settings
from core.text_backbones import token_lengths
from ui import access, charts, doctor_view, state, target_view
from ui.widgets import show_error

state.init()
st.title("1 · Data")
st.caption("Images: one folder per class (`cats/`, `dogs/`...), optionally inside `train/` and `val/` folders, "
           "as a .zip or a folder. Texts: a CSV, TSV or Excel sheet with a text column and a label column.")

SOURCES = {"sample": "Bundled sample", "upload": "Upload a file", "path": "Path on this machine"}
ALL_SAMPLES = {**{f"sample:{n}": s.title for n, s in samples.SAMPLES.items() if n not in samples.TARGET_SAMPLES},
               **{f"sample:{n}": s.title for n, s in samples.TEXT_SAMPLES.items()}}
source = st.radio("Where is your data?", list(SOURCES), format_func=SOURCES.get, horizontal=True, key="data_source")

with st.expander("Validation split (used when the data has no val/ folder or split column)"):
    # no widget keys: Streamlit drops a widget's key when its page is left, and these must persist
    st.session_state.val_fraction = st.slider("Share of each class kept for validation", 0.05, 0.5,
                                              value=st.session_state.val_fraction, step=0.05)
    st.session_state.split_seed = st.number_input("Split seed (same seed, same split)", 0, 10_000,
                                                  value=st.session_state.split_seed, step=1)

if source == "sample":
    options = list(ALL_SAMPLES)
    # picking another sample loads it (on_change: only a person's pick, never the page opening on a default)
    chosen = st.selectbox("Sample", options, format_func=ALL_SAMPLES.get, key="sample_pick",
                          index=options.index(st.session_state.data) if st.session_state.data in options else 0,
                          on_change=lambda: st.session_state.update(sample_picked=True))
    picked = st.session_state.pop("sample_picked", False) and chosen != st.session_state.data
    if chosen != st.session_state.data and not picked:
        st.button("Use this sample", key="load_sample", type="primary", on_click=lambda: st.session_state.update(
            sample_picked=True))
    if picked and state.load_data(chosen):
        st.rerun()  # the sidebar was drawn before this: draw it again with the new data
elif source == "upload":
    upload = st.file_uploader("An ImageFolder .zip, or a table of texts", key="upload_zip",
                              type=["zip", "csv", "tsv", "txt", "xlsx", "xls"],
                              help="Images: zip the folder that holds one sub-folder per class. "
                                   "Texts: one row per example, a text column and a label column.")
    try:
        stored = state.new_upload(upload, "loaded_upload")
        if stored and state.load_data(stored, upload.name):
            st.rerun()
    except Exception as error:
        show_error(error)
elif not access.server_paths_allowed():
    st.warning(access.why_paths_are_off(), icon=":material/lock:")
else:
    folder = st.text_input("Folder, .zip or table path", placeholder="/home/me/datasets/flowers", key="folder_path")
    if st.button("Load", key="load_folder", type="primary", disabled=not folder) and state.load_data(folder):
        st.rerun()

report = st.session_state.report
if report is None:
    st.info("No data loaded yet. Try a bundled sample: it is one click.")
    st.stop()
noun = "texts" if report.modality == "text" else "images"

st.divider()
st.subheader(f"What was found in {st.session_state.data_name or st.session_state.data}")
columns = st.columns(4)
columns[0].metric("Classes", len(report.classes))
columns[1].metric(noun.capitalize(), f"{report.num_items:,}")
columns[2].metric("Train / validation", f"{len(report.train):,} / {len(report.val):,}")
columns[3].metric("Skipped", len(report.skipped))
st.caption(report.layout)

if report.modality == "text":
    details = report.details
    for note in details["notes"]:
        st.info(note, icon=":material/info:")
    language = languages.from_dict(details.get("language"))
    if details["encoding"] != "xlsx":
        chosen_encoding = details["encoding_chosen_by"] == "you"
        options = ["auto"] + list(dict.fromkeys(details.get("encoding_alternatives", []) + list(encodings.CHOICES)
                                                + [details["encoding"]]))
        detected = "" if chosen_encoding else \
            f" (now {details['encoding_title']}, {details['encoding_confidence']:.0%} confidence)"
        picked = st.selectbox(
            "Encoding of the file", options, index=options.index(details["encoding"]) if chosen_encoding else 0,
            format_func=lambda e: f"Detect automatically{detected}" if e == "auto" else encodings.title(e),
            help="How the file's bytes become letters. Excel saves CSVs in the computer's code page: GB18030/GBK "
                 "(mainland China), Big5 (Taiwan, Hong Kong), Shift-JIS (Japan), EUC-KR (Korea), Windows-1251 "
                 "(Cyrillic), Windows-1252 (Western Europe). If the example texts look garbled, pick the right one.")
        wanted = None if picked == "auto" else picked
        if wanted != (details["encoding"] if chosen_encoding else None):  # changed: read the file again
            if state.load_data(st.session_state.data, st.session_state.data_name, details["text_column"],
                               details["label_column"], wanted):
                st.rerun()
        st.caption(f"Read as **{details['encoding_title']}**"
                   + (" (as you chose)." if chosen_encoding else f", detected with {details['encoding_confidence']:.0%} "
                      "confidence.")
                   + (f" {language.sentence()}" if language else ""))
    elif language:
        st.caption(language.sentence())
    if language is not None:
        st.caption(tfidf_settings(details.get("language"))["reason"].replace("TF-IDF counts",
                                                                            "The TF-IDF baseline will count"))
    left, right = st.columns(2)
    text_column = left.selectbox("Text column", details["columns"], index=details["columns"].index(details["text_column"]),
                                 help=f"Guessed: {details['guessed']['text']} (the longest free text).")
    label_column = right.selectbox("Label column", details["columns"],
                                   index=details["columns"].index(details["label_column"]),
                                   help=f"Guessed: {details['guessed']['label']} (few distinct values).")
    if (text_column, label_column) != (details["text_column"], details["label_column"]):
        if state.load_data(st.session_state.data, st.session_state.data_name, text_column, label_column,
                           report.reading()["encoding"] if details.get("encoding_chosen_by") == "you" else None):
            st.rerun()

for warning in report.warnings:
    st.warning(warning, icon=":material/warning:")
if not report.warnings:
    st.success("No problems found: every class has enough examples and the classes are balanced.",
               icon=":material/check_circle:")

st.plotly_chart(charts.class_counts(report.counts(), noun), key="class_counts_chart")

if report.skipped:
    with st.expander(f"Skipped ({len(report.skipped)}) and why"):
        st.dataframe(pd.DataFrame(report.skipped), hide_index=True)

by_class: dict[int, list[str]] = {}
for key, label in report.train + report.val:
    if len(by_class.setdefault(label, [])) < 8:
        by_class[label].append(key)
totals = {row["class"]: row["train"] + row["val"] for row in report.counts()}


@st.cache_data(max_entries=2000, show_spinner=False)
def thumbnail(path: str, modified: float):
    return images.thumbnail(path, 96)


@st.cache_data(max_entries=16, show_spinner="Counting tokens...")
def lengths_for(fingerprint: str, backbone: str, _texts: list[str]) -> list[int]:
    return token_lengths(backbones.get(backbone), _texts)


if report.modality == "text":
    st.subheader("Examples per label")
    shown = st.selectbox("Label", range(len(report.classes)), format_func=report.classes.__getitem__,
                         key="example_label") if len(report.classes) > 8 else None
    grid = st.columns(2)
    for place, (label, name) in enumerate((i, n) for i, n in enumerate(report.classes) if shown in (None, i)):
        with grid[place % 2].container(border=True):
            st.markdown(f"**{name}** · {totals[name]:,} texts")
            for key in by_class.get(label, [])[:3]:
                text = report.texts[key]
                st.text(text[:600] + (f"… ({len(text):,} characters in all)" if len(text) > 600 else ""))
    chosen_backbone = st.session_state.backbone if backbones.get(st.session_state.backbone).modality == "text" \
        else state.DEFAULT_BACKBONE["text"]
    sample_texts = [report.texts[key] for key, _ in report.all_items()[:2000]]
    try:
        lengths = lengths_for(report.fingerprint, chosen_backbone, sample_texts)
        strategy = st.session_state.strategy if st.session_state.strategy in strategies.names("text") else "fine_tune"
        max_length = {**strategies.get(strategy).recipe("text"),
                      **st.session_state.get("train_settings", {}).get(("text", strategy), {})}.get("max_length", 128)
        st.plotly_chart(charts.token_lengths(lengths, max_length), key="token_lengths")
        st.caption(f"Tokens as `{chosen_backbone}` counts them. Longer texts are cut at the max length "
                   "(set on the Train page): a longer limit keeps more of each text but trains slower.")
    except Exception as error:
        show_error(error)
else:
    st.subheader("Examples per class")
    for label, name in enumerate(report.classes):
        row = st.columns([1, 8])
        row[0].markdown(f"**{name}**  \n{totals[name]} images")
        files = [report.absolute(f) for f in by_class.get(label, [])]
        row[1].image([thumbnail(str(f), Path(f).stat().st_mtime) for f in files], width=72)

ahead = jobs.supervisor().preparation(state.next_run_config())
doctor_view.section(report, waiting="Available once the features being computed in the background are ready (the "
                                    "sidebar shows how far): the examination then reads them from the cache."
                    if ahead is not None and ahead.busy else None)
target_view.target_section(report)
st.page_link("pages/2_model.py", label="Next: choose a model", icon=":material/arrow_forward:")
