"""Model: pick a pretrained backbone (as cards) and a strategy; see which layers will train."""

import pandas as pd
import streamlit as st

from core import backbones, models, paths, speed
from core.config import STRATEGIES, STRATEGY_TITLES
from core.device import describe_device, pick_device
from ui import state
from ui.widgets import millions, show_error

state.init()
st.title("2 · Model")
if not state.require_data():
    st.stop()
report = st.session_state.report

STRATEGY_TEXT = {
    "feature_extract": "The pretrained backbone stays frozen and only a new final layer (the head) learns. "
                       "The backbone's features are computed once and cached, so each epoch takes milliseconds.",
    "fine_tune": "Every layer trains: the backbone gently (a small learning rate) and the new head faster. "
                 "Slower, but it adapts the features themselves to your images, often gaining accuracy.",
    "scratch": "The same network starts from random weights and learns everything from your images alone. "
               "The baseline that shows how much the pretrained knowledge is worth.",
}

device = pick_device()
st.subheader("Backbone")
st.caption(f"A backbone turns an image into a list of numbers (features). Speeds are measured on this "
           f"machine: {describe_device(device)}.")


@st.cache_data(ttl=60, show_spinner=False)
def availability(name: str) -> tuple[str, str]:
    result = backbones.get(name).availability()
    return result.status, result.detail


BADGES = {"local": ("green", "on this machine"), "download": ("blue", "downloads on first use"),
          "missing": ("red", "not available here")}
specs = backbones.list_specs("image")
for row_start in range(0, len(specs), 3):
    for column, spec in zip(st.columns(3), specs[row_start:row_start + 3]):
        status, detail = availability(spec.name)
        chosen = spec.name == st.session_state.backbone
        with column.container(border=True):
            color, label = BADGES[status]
            st.markdown(f"**{spec.title}**" + ("  :material/check_circle:" if chosen else ""))
            st.markdown(f":{color}-badge[{label}]")
            ms = speed.known_speed(spec, device, paths.cache_dir())
            st.caption(f"{millions(spec.num_params)} parameters · {spec.input_size} px · {spec.feature_dim} features"
                       f" · {f'{ms:.0f} ms/image here' if ms else f'{spec.gflops:g} GFLOPs/image'}")
            st.caption(spec.summary)
            if status == "missing":
                st.caption(f":red[{detail}]")
            if st.button("Chosen" if chosen else "Use this", key=f"pick_{spec.name}", disabled=chosen or
                         status == "missing", type="primary" if chosen else "secondary", width="stretch"):
                st.session_state.backbone = spec.name
                if not spec.pretrained:
                    st.session_state.strategy = "scratch"
                st.rerun()

if st.button("Measure speed on this machine", key="measure_speed", icon=":material/speed:"):
    progress = st.progress(0.0, text="Measuring...")
    for index, spec in enumerate(specs):
        progress.progress(index / len(specs), text=f"Measuring {spec.title}...")
        speed.measure_speed(spec, device, paths.cache_dir())
    progress.empty()
    st.rerun()

spec = backbones.get(st.session_state.backbone)
st.subheader("Strategy")
allowed = list(STRATEGIES) if spec.pretrained else ["scratch"]
if st.session_state.strategy not in allowed:
    st.session_state.strategy = allowed[0]
st.session_state.strategy = st.radio(
    "How should the model learn?", allowed, index=allowed.index(st.session_state.strategy),
    format_func=STRATEGY_TITLES.get, captions=[STRATEGY_TEXT[s] for s in allowed])
if not spec.pretrained:
    st.caption(f"{spec.title} has no pretrained weights, so from-scratch is its only strategy.")


@st.cache_data(show_spinner="Building the model to count its layers...")
def layer_plan(name: str, strategy: str, num_classes: int) -> list[dict]:
    return models.plan(backbones.get(name), strategy, num_classes)


st.subheader("Which layers train")
try:
    rows = layer_plan(spec.name, st.session_state.strategy, len(report.classes))
except Exception as error:
    show_error(error)
    st.stop()
trainable = sum(r["parameters"] for r in rows if r["trainable"])
frozen = sum(r["parameters"] for r in rows if not r["trainable"])
columns = st.columns(3)
columns[0].metric("Trainable parameters", f"{trainable:,}")
columns[1].metric("Frozen parameters", f"{frozen:,}")
columns[2].metric("Share that trains", f"{trainable / (trainable + frozen):.2%}")
table = pd.DataFrame([{"layer": r["layer"], "parameters": r["parameters"],
                       "trains": "yes" if r["trainable"] else "frozen"} for r in rows])
st.dataframe(table, hide_index=True, height=min(420, 36 * (len(rows) + 1)),
             column_config={"parameters": st.column_config.NumberColumn(format="%d")})
st.page_link("pages/3_train.py", label="Next: train", icon=":material/arrow_forward:")
