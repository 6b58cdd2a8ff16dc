"""Home: what TransferLab is, the steps, and a one-click start with the sample."""

import streamlit as st

from ui import state

st.title("TransferLab")
st.markdown(
    "Teach a computer to recognise **your** images or texts in minutes, by reusing a network that has already "
    "learned from millions of examples. That reuse is **transfer learning**, and this app walks you through it, "
    "showing what happens at every step.")

steps = [
    ("1 · Data", "Upload a zip of folders (one per class) or a CSV of texts, or use a bundled sample."),
    ("2 · Model", "Pick a pretrained backbone and a strategy: reuse its features, or fine-tune it."),
    ("3 · Train", "Watch loss and accuracy move, epoch by epoch, on training and validation data."),
    ("4 · Results", "See what it gets right, what it confuses, where it looked; export it."),
    ("5 · Try it", "Give it new images or sentences and see its answer, and why."),
]
for column, (title, text) in zip(st.columns(len(steps)), steps):
    with column.container(border=True):
        st.markdown(f"**{title}**")
        st.caption(text)

if st.button("Start with the sample (MNIST digits)", type="primary", key="start_with_sample",
             icon=":material/play_arrow:"):
    if state.load_data("sample:mnist"):
        st.switch_page("pages/1_data.py")

st.caption("Everything runs on this machine: its GPU if it has one, otherwise the CPU. "
           "The EfficientNet-Lite backbones and the sample data work offline.")
