"""Home: what TransferLab is, the steps, and a one-click start with the sample."""

import streamlit as st

from ui import state

st.title("TransferLab")
st.markdown(
    "Teach a computer to recognise **your** images in minutes, by reusing a network that has already "
    "learned to see from millions of photos. That reuse is **transfer learning**, and this app walks you "
    "through it, showing what happens at every step.")

steps = [
    ("1 · Data", "Upload a zip of folders, one folder per class, or use the bundled handwritten digits."),
    ("2 · Model", "Pick a pretrained backbone and a strategy: reuse its features, or fine-tune it."),
    ("3 · Train", "Watch loss and accuracy move, epoch by epoch, on training and validation images."),
    ("4 · Results", "See what the model gets right, what it confuses, and the images it got wrong."),
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
