"""Data: load a dataset (sample, .zip upload or folder) and show what is in it, problems included."""

from pathlib import Path

import pandas as pd
import streamlit as st

from core import archive, images, paths, samples
from ui import charts, state
from ui.widgets import show_error

state.init()
st.title("1 · Data")
st.caption("An image classifier learns from examples sorted into one folder per class "
           "(`cats/`, `dogs/`...). Optionally `train/` and `val/` folders, each holding the class folders.")

SOURCES = {"sample": "Bundled sample", "zip": "Upload a .zip", "folder": "Folder on this machine"}
source = st.radio("Where is your data?", list(SOURCES), format_func=SOURCES.get, horizontal=True, key="data_source")

with st.expander("Validation split (used when the data has no val/ folder)"):
    # no widget keys: Streamlit drops a widget's key when its page is left, and these must persist
    st.session_state.val_fraction = st.slider("Share of each class kept for validation", 0.05, 0.5,
                                              value=st.session_state.val_fraction, step=0.05)
    st.session_state.split_seed = st.number_input("Split seed (same seed, same split)", 0, 10_000,
                                                  value=st.session_state.split_seed, step=1)


if source == "sample":
    name = st.selectbox("Sample", list(samples.SAMPLES), format_func=lambda n: samples.SAMPLES[n].title,
                        key="sample_name")
    if st.button("Use this sample", key="load_sample", type="primary") and \
            state.load_data(f"sample:{name}"):
        st.rerun()  # the sidebar was drawn before this: draw it again with the new data
elif source == "zip":
    upload = st.file_uploader("ImageFolder as a .zip", type=["zip"], key="upload_zip",
                              help="Zip the folder that holds one sub-folder per class.")
    if upload is not None and st.session_state.get("loaded_upload") != upload.file_id:
        try:
            with st.spinner(f"Unpacking {upload.name}..."):
                folder = archive.import_zip(upload.getvalue(), paths.data_dir() / "uploads")
            st.session_state.loaded_upload = upload.file_id
            if state.load_data(str(folder), upload.name):
                st.rerun()
        except Exception as error:
            show_error(error)
else:
    folder = st.text_input("Folder path", placeholder="/home/me/datasets/flowers", key="folder_path")
    if st.button("Load folder", key="load_folder", type="primary", disabled=not folder) and state.load_data(folder):
        st.rerun()

report = st.session_state.report
if report is None:
    st.info("No data loaded yet. Try the bundled sample: it is one click.")
    st.stop()


@st.cache_data(max_entries=2000, show_spinner=False)
def thumbnail(path: str, modified: float):
    return images.thumbnail(path, 96)


st.divider()
st.subheader(f"What was found in {st.session_state.data_name or st.session_state.data}")
train_count, val_count = len(report.train), len(report.val)
columns = st.columns(4)
columns[0].metric("Classes", len(report.classes))
columns[1].metric("Images", f"{report.num_items:,}")
columns[2].metric("Train / validation", f"{train_count:,} / {val_count:,}")
columns[3].metric("Skipped files", len(report.skipped))
st.caption(report.layout)

for warning in report.warnings:
    st.warning(warning, icon=":material/warning:")
if not report.warnings:
    st.success("No problems found: every class has enough images and the classes are balanced.",
               icon=":material/check_circle:")

st.plotly_chart(charts.class_counts(report.counts()), key="class_counts_chart")

if report.skipped:
    with st.expander(f"Skipped files ({len(report.skipped)}) and why"):
        st.dataframe(pd.DataFrame(report.skipped), hide_index=True)

st.subheader("Examples per class")
per_class = 8
by_class: dict[int, list[str]] = {}
for relative, label in report.train + report.val:
    by_class.setdefault(label, [])
    if len(by_class[label]) < per_class:
        by_class[label].append(relative)
for label, name in enumerate(report.classes):
    files = by_class.get(label, [])
    row = st.columns([1, 8])
    row[0].markdown(f"**{name}**  \n{sum(1 for _, l in report.train + report.val if l == label)} images")
    thumbs = [thumbnail(str(report.absolute(f)), Path(report.absolute(f)).stat().st_mtime) for f in files]
    row[1].image(thumbs, width=72)

st.page_link("pages/2_model.py", label="Next: choose a model", icon=":material/arrow_forward:")
