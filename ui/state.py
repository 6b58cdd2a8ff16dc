"""Per-user session state: few keys, each with one meaning, initialised once with setdefault.

    data       what TrainConfig.data will be: "sample:mnist" or a folder path
    report     the DataReport of that data (class lists, split, warnings)
    backbone   registry name of the chosen backbone
    strategy   feature_extract | fine_tune | scratch
    run_dir    folder of the run this session started or opened last
"""

from __future__ import annotations

import streamlit as st

DEFAULTS = {"data": None, "report": None, "backbone": "efficientnet_lite0", "strategy": "feature_extract",
            "run_dir": None, "val_fraction": 0.2, "split_seed": 0}


def init() -> None:
    for key, value in DEFAULTS.items():
        st.session_state.setdefault(key, value)


def require_data() -> bool:
    """True if data is loaded; otherwise say what to do, with a link, and return False."""
    if st.session_state.get("report") is None:
        st.info("Load a dataset first: the bundled sample is one click away.")
        st.page_link("pages/1_data.py", label="Go to Data", icon=":material/folder_open:")
        return False
    return True
