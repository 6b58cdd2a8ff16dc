"""Home: what TransferLab is, the steps, and a one-click start with the sample."""

import streamlit as st

from core.i18n import _
from ui import state
from ui.terms import what_is

st.title("TransferLab")  # not-translated: the name
st.markdown(_(
    "**Transfer learning** means reusing a network that has already learned from millions of examples, so that "
    "it can learn **your** images or texts from a few dozen of each kind, in minutes. You bring labelled "
    "examples; TransferLab takes a pretrained model, teaches it your classes, and shows what it learned. "
    "Step by step you will load data, pick a model and a strategy, watch it train, then test and export it."))
what_is("transfer_learning", "pretrained_model", "backbone", "head", "feature_extraction", "fine_tuning")

steps = [
    (_("1 · Data"), _("Upload a zip of folders (one per class) or a CSV of texts, or use a bundled sample.")),
    (_("2 · Model"), _("Pick a pretrained backbone and a strategy: reuse its features, or fine-tune it.")),
    (_("3 · Train"), _("Watch loss and accuracy move, epoch by epoch, on training and validation data.")),
    (_("4 · Results"), _("See what it gets right, what it confuses, where it looked; export it.")),
    (_("5 · Try it"), _("Give it new images or sentences and see its answer, and why.")),
]
for column, (title, text) in zip(st.columns(len(steps)), steps):
    with column.container(border=True):
        st.markdown(f"**{title}**")
        st.caption(text)

if st.button(_("Start with the sample (MNIST digits)"), type="primary", key="start_with_sample",
             icon=":material/play_arrow:"):
    if state.load_data("sample:mnist"):
        st.switch_page("pages/1_data.py")

st.caption(_("Everything runs on this machine: its GPU if it has one, otherwise the CPU. "
             "The EfficientNet-Lite backbones and the sample data work offline."))
