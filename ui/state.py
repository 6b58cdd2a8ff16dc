"""Per-user session state: few keys, each with one meaning, initialised once with setdefault.

    data          what TrainConfig.data will be: "sample:mnist", a folder path
    data_name     how to call it on screen (the uploaded file's name, the sample's title)
    report        the DataReport of that data (classes, split, warnings)
    backbone      registry name of the chosen backbone
    strategy      feature_extract | fine_tune | scratch
    run_dir       folder of the run this session started or opened last
    val_fraction, split_seed   how data without a val/ folder is split
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import streamlit as st

from core import backbones, data, samples
from ui.widgets import show_error

DEFAULT_BACKBONE = {"image": "efficientnet_lite0", "text": "all_minilm_l6_v2"}
DEFAULTS = {"data": None, "data_name": None, "report": None, "backbone": "efficientnet_lite0", "strategy": "feature_extract",
            "run_dir": None, "val_fraction": 0.2, "split_seed": 0}


def init() -> None:
    for key, value in DEFAULTS.items():
        st.session_state.setdefault(key, value)


def load_data(source: str, name: str | None = None, text_column: str | None = None,
              label_column: str | None = None) -> bool:
    """Scan ``source`` into the session's report; a problem is shown in plain words and the data
    loaded before stays. True if loaded."""
    try:
        with st.spinner("Reading the data..."):
            report = data.load_dataset(source, st.session_state.val_fraction, st.session_state.split_seed,
                                       text_column, label_column)
        if backbones.get(st.session_state.backbone).modality != report.modality:  # images <-> texts
            st.session_state.backbone = DEFAULT_BACKBONE[report.modality]
            st.session_state.strategy = "feature_extract"
        st.session_state.report, st.session_state.data = report, source
        st.session_state.data_name = name or display_name(source)
        return True
    except Exception as error:
        show_error(error)
        return False


def display_name(data: str) -> str:
    known = {**samples.SAMPLES, **samples.TEXT_SAMPLES}
    if data.startswith("sample:") and data[7:] in known:
        return known[data[7:]].title
    return Path(data).name or data


def require_data() -> bool:
    """True if data is loaded; otherwise say what to do, with a link, and return False."""
    if st.session_state.get("report") is None:
        st.info("Load a dataset first: the bundled sample is one click away.")
        st.page_link("pages/1_data.py", label="Go to Data", icon=":material/folder_open:")
        return False
    return True


def _command_line() -> argparse.Namespace:
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--data")
    return parser.parse_known_args(sys.argv[1:])[0]


def preload_from_command_line() -> None:
    """Load ``--data`` given after ``streamlit run app.py --``, once per session."""
    if st.session_state.get("preload_done"):
        return
    st.session_state.preload_done = True
    data = _command_line().data
    if data and st.session_state.report is None:
        load_data(data)
