"""Model: pick a pretrained backbone (as cards) and a strategy; see which layers will train."""

from pathlib import Path

import pandas as pd
import streamlit as st

from core import adaptation, backbones, languages, paths, run_backbones, speed, strategies
from core.device import describe_device, pick_device
from core.errors import UserError
from ui import access, state
from ui.widgets import millions, show_error

state.init()
st.title("2 · Model")
if not state.require_data():
    st.stop()
report = st.session_state.report
modality = report.modality
unit = "text" if modality == "text" else "image"

device = pick_device()
st.subheader("Backbone")
st.caption(f"A backbone turns each {unit} into a list of numbers (features). Speeds are measured on this "
           f"machine: {describe_device(device)}.")


language = languages.from_dict(report.details.get("language")) if modality == "text" else None
chosen_spec = backbones.get(st.session_state.backbone)
if language is not None and chosen_spec.modality == "text" and chosen_spec.pretrained:
    warning = languages.encoder_warning(chosen_spec.title, chosen_spec.languages, language)
    if warning:
        st.warning(warning, icon=":material/translate:")


@st.cache_data(ttl=60, show_spinner=False)
def availability(name: str) -> tuple[str, str]:
    result = backbones.get(name).availability()
    return result.status, result.detail


def card_facts(spec) -> str:
    size = f"{spec.input_size} px" if modality == "image" else f"up to {spec.max_positions} tokens"
    ms = speed.known_speed(spec, device, paths.cache_dir())
    pace = f"{ms:.0f} ms/{unit} here" if ms else (f"{spec.gflops:g} GFLOPs/image" if spec.gflops else "speed not measured")
    count = millions(spec.num_params) + " parameters" if spec.num_params else "size unknown"
    reads = {("en",): "English only", ("multilingual",): "many languages"}.get(spec.languages) \
        if modality == "text" and spec.pretrained else None
    return " · ".join(part for part in (count, size, f"{spec.feature_dim} features", reads, pace) if part)


BADGES = {"local": ("green", "on this machine"), "download": ("blue", "downloads on first use"),
          "missing": ("red", "not available here")}
specs = [spec for spec in backbones.list_specs(modality) if spec.source != "run"]  # yours: below
for row_start in range(0, len(specs), 3):
    for column, spec in zip(st.columns(3), specs[row_start:row_start + 3]):
        status, detail = availability(spec.name)
        chosen = spec.name == st.session_state.backbone
        with column.container(border=True):
            color, label = BADGES[status]
            st.markdown(f"**{spec.title}**" + ("  :material/check_circle:" if chosen else ""))
            st.markdown(f":{color}-badge[{label}]")
            st.caption(card_facts(spec))
            st.caption(spec.summary)
            if status == "missing":
                st.caption(f":red[{detail}]")
            if st.button("Chosen" if chosen else "Use this", key=f"pick_{spec.name}", disabled=chosen or
                         status == "missing", type="primary" if chosen else "secondary", width="stretch"):
                st.session_state.backbone = spec.name
                if not spec.pretrained and strategies.get(st.session_state.strategy).pretrained:
                    st.session_state.strategy = next(s.name for s in strategies.for_modality(modality)
                                                     if not s.pretrained and s.uses_backbone)
                st.rerun()

yours = run_backbones.describe_runs(paths.runs_dir(), modality)
if yours:
    st.markdown("**Your models**: finished runs whose network learned (fine-tuning, from scratch). Reuse one "
                "as the backbone: pretrain on a large task of your own, then transfer to a small one.")
    for row_start in range(0, len(yours), 3):
        for column, mine in zip(st.columns(3), yours[row_start:row_start + 3]):
            chosen = mine["name"] == st.session_state.backbone
            with column.container(border=True):
                st.markdown(f"**{mine['id']}**" + ("  :material/check_circle:" if chosen else ""))
                accuracy = f"{mine['best_val_acc']:.1%}" if isinstance(mine["best_val_acc"], (int, float)) else "–"
                st.caption(f"{strategies.title(mine['strategy'])} of `{mine['backbone']}` on "
                           f"{Path(mine['data']).name or mine['data']} · {accuracy} validation accuracy")
                if st.button("Chosen" if chosen else "Use this", key=f"pick_run_{mine['id']}", disabled=chosen,
                             type="primary" if chosen else "secondary", width="stretch"):
                    st.session_state.backbone = mine["name"]
                    st.rerun()

left, right = st.columns(2)
if left.button("Measure speed on this machine", key="measure_speed", icon=":material/speed:"):
    progress = st.progress(0.0, text="Measuring...")
    for index, spec in enumerate(specs):
        progress.progress(index / len(specs), text=f"Measuring {spec.title}...")
        try:
            speed.measure_speed(spec, device, paths.cache_dir())
        except Exception:  # a hub model whose config is not here: nothing to measure
            continue
    progress.empty()
    st.rerun()
if modality == "text":
    with right.popover("Another Hugging Face model", icon=":material/add:"):
        custom = st.text_input("Model id (e.g. `sentence-transformers/all-mpnet-base-v2`) or a local folder",
                               key="custom_model")
        if st.button("Use it", key="use_custom_model", disabled=not custom):
            try:
                local = Path(custom).expanduser().is_dir()
                if local and not access.server_paths_allowed():
                    raise UserError("Local model folders are off while this app is shared.", access.why_paths_are_off())
                spec = backbones.get(custom if local or custom.startswith("hf:") else f"hf:{custom}")
                st.session_state.backbone = spec.name
                st.rerun()
            except Exception as error:
                show_error(error)

spec = backbones.get(st.session_state.backbone)
if spec.modality != modality:
    spec = backbones.get(state.DEFAULT_BACKBONE[modality])
    st.session_state.backbone = spec.name
st.subheader("Strategy")
allowed = [s for s in strategies.for_modality(modality) if (spec.pretrained or not s.pretrained)
           and (not s.needs_target or st.session_state.target is not None)]
if st.session_state.strategy not in [s.name for s in allowed]:
    st.session_state.strategy = allowed[0].name
st.session_state.strategy_radio = st.session_state.strategy  # the radio follows the session, and ...
st.radio("How should the model learn?", [s.name for s in allowed], key="strategy_radio", format_func=strategies.title,
         captions=[s.explanation for s in allowed],  # ... sets it before the next run, sidebar included
         on_change=lambda: st.session_state.update(strategy=st.session_state.strategy_radio))
if not spec.pretrained:
    st.caption(f"{spec.title} has no pretrained weights, so it can only be trained from scratch.")
waiting = [s.title for s in strategies.for_modality(modality) if s.needs_target and st.session_state.target is None]
if waiting:
    st.caption(f"{', '.join(waiting)}: needs a target dataset (where the model will be used), loaded on the Data page.")

if st.session_state.target is not None:
    st.subheader("Domain adaptation")
    learner = strategies.get(st.session_state.strategy)
    methods = adaptation.for_strategy(learner, spec)
    default = adaptation.get(adaptation.resolve("auto", learner, spec))
    st.caption(f"The target, **{st.session_state.target.name}**, is where the model will be used. Adaptation uses "
               "its examples (never its labels) to make what was learned on the training data work there.")
    if len(methods) == 1:
        st.info(f"{learner.title} trains without adaptation here: the target is scored only. Feature extraction "
                "can adapt its features to the target.", icon=":material/info:")
        st.session_state.adapt = "none"
    else:
        options = ["auto"] + [m.name for m in methods]
        if st.session_state.adapt not in options:
            st.session_state.adapt = "auto"
        st.session_state.adapt_radio = st.session_state.adapt
        st.radio("How should it adapt?", options, key="adapt_radio",
                 format_func=lambda name: f"Recommended ({default.title})" if name == "auto" else adaptation.get(name).title,
                 captions=["Chosen by measurement on stand-in shifts (bench/domain_shift.py)."]
                 + [m.explanation for m in methods],
                 on_change=lambda: st.session_state.update(adapt=st.session_state.adapt_radio))


@st.cache_data(show_spinner="Building the model to count its layers...")
def layer_plan(name: str, strategy: str, num_classes: int) -> list[dict]:
    return strategies.get(strategy).layers(backbones.get(name), num_classes)


st.subheader("Which layers train")
note = strategies.get(st.session_state.strategy).layers_note(report)
if note:
    st.info(note)
    st.page_link("pages/3_train.py", label="Next: train", icon=":material/arrow_forward:")
    st.stop()
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
                       "trains": r.get("when") or ("yes" if r["trainable"] else "frozen")} for r in rows])
st.dataframe(table, hide_index=True, height=min(420, 36 * (len(rows) + 1)),
             column_config={"parameters": st.column_config.NumberColumn(format="%d")})
st.page_link("pages/3_train.py", label="Next: train", icon=":material/arrow_forward:")
