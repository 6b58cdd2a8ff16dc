"""Model: pick a pretrained backbone (as cards) and a strategy; see which layers will train."""

from pathlib import Path

import pandas as pd
import streamlit as st

from core import backbones, i18n, paths, run_backbones, strategies
from core.data import languages
from core.backbones import speed
from core.device import device_label, pick_device
from core.errors import UserError
from core.i18n import N_, _, lazy
from core.runs import Summary
from ui import access, adapt_view, state
from ui.terms import help_for, what_is
from ui.widgets import millions, share, show_error

READS = {("en",): N_("English only"), ("multilingual",): N_("many languages")}
BADGES = {"local": ("green", N_("on this machine")), "download": ("blue", N_("downloads on first use")),
          "missing": ("red", N_("not available here"))}


@st.cache_data(ttl=60, show_spinner=False)
def availability(name: str, language: str) -> tuple[str, str]:
    """(status, a sentence for a person): ``language`` keys the cache, so the sentence is in the page's."""
    with i18n.language(language):
        result = backbones.get(name).availability()
        return result.status, str(result.detail)


def card_facts(spec, modality: str, device) -> str:
    """The facts on a backbone's card, each a short label of its own, joined by dots."""
    size = _("{pixels} px", pixels=spec.input_size) if modality == "image" else \
        _("up to {n} tokens", n=spec.max_positions)
    ms = speed.known_speed(spec, device, paths.cache_dir())
    if ms:
        pace = _("{ms:.0f} ms per text here", ms=ms) if modality == "text" else _("{ms:.0f} ms per image here", ms=ms)
    else:
        pace = _("{gflops:g} GFLOPs per image", gflops=spec.gflops) if spec.gflops else _("speed not measured")
    count = _("{count} parameters", count=millions(spec.num_params)) if spec.num_params else _("size unknown")
    reads = _(READS[spec.languages]) if modality == "text" and spec.pretrained and spec.languages in READS else None
    features = _("{n} features", n=spec.feature_dim)
    return " · ".join(part for part in (count, size, features, reads, pace) if part)


def backbone_heading(report, device) -> None:
    """What a backbone is, and a warning when the chosen one does not read the texts' language."""
    st.subheader(_("Backbone"))
    if report.modality == "text":
        st.caption(_("A backbone turns each text into a list of numbers (features). Speeds are measured on this "
                     "machine: {device}.", device=device_label(device)))
    else:
        st.caption(_("A backbone turns each image into a list of numbers (features). Speeds are measured on this "
                     "machine: {device}.", device=device_label(device)))
    what_is("pretrained_model", "backbone", "head")
    language = languages.from_dict(report.details.get("language")) if report.modality == "text" else None
    chosen_spec = backbones.get(st.session_state.backbone)
    if language is not None and chosen_spec.modality == "text" and chosen_spec.pretrained:
        warning = languages.encoder_warning(chosen_spec.display_title, chosen_spec.languages, language)
        if warning:
            st.warning(warning, icon=":material/translate:")


def backbone_cards(specs: list, modality: str, device) -> None:
    """One card per registered backbone, three to a row; a click chooses it."""
    for row_start in range(0, len(specs), 3):
        for column, spec in zip(st.columns(3), specs[row_start:row_start + 3]):
            status, detail = availability(spec.name, i18n.current())
            chosen = spec.name == st.session_state.backbone
            with column.container(border=True):
                color, label = BADGES[status]
                st.markdown(f"**{spec.display_title}**" + ("  :material/check_circle:" if chosen else ""))
                st.markdown(f":{color}-badge[{_(label)}]")  # not-translated: badge markup around a translated label
                st.caption(card_facts(spec, modality, device))
                if spec.summary:
                    st.caption(_(spec.summary))  # the registry's sentence, in the current language
                if status == "missing":
                    st.caption(f":red[{detail}]")
                if st.button(_("Chosen") if chosen else _("Use this"), key=f"pick_{spec.name}", disabled=chosen or
                             status == "missing", type="primary" if chosen else "secondary", width="stretch"):
                    st.session_state.backbone = spec.name
                    if not spec.pretrained and strategies.get(st.session_state.strategy).pretrained:
                        st.session_state.strategy = next(s.name for s in strategies.for_modality(modality)
                                                         if not s.pretrained and s.uses_backbone)
                    st.rerun()


def your_models(modality: str) -> None:
    """Finished runs whose network learned, offered as backbones."""
    yours = run_backbones.describe_runs(paths.runs_dir(), modality)
    if not yours:
        return
    st.markdown(_("**Your models**: finished runs whose network learned (fine-tuning, from scratch). Reuse one "
                  "as the backbone: pretrain on a large task of your own, then transfer to a small one."))
    what_is("run_backbone")
    for row_start in range(0, len(yours), 3):
        for column, mine in zip(st.columns(3), yours[row_start:row_start + 3]):
            chosen = mine["name"] == st.session_state.backbone
            with column.container(border=True):
                st.markdown(_("**{what}**, {when}", what=strategies.title(mine["strategy"]),
                              when=i18n.date_time(mine["finished"]))
                            + ("  :material/check_circle:" if chosen else ""))
                accuracy = i18n.percent(mine[Summary.BEST_VAL_ACC]) \
                    if isinstance(mine[Summary.BEST_VAL_ACC], (int, float)) else "–"
                st.caption(_("{backbone} on {data} · {accuracy} validation accuracy",
                             backbone=backbones.title_of(mine["backbone"]),
                             data=state.display_name(mine["data"]), accuracy=accuracy))
                if st.button(_("Chosen") if chosen else _("Use this"), key=f"pick_run_{mine['id']}", disabled=chosen,
                             type="primary" if chosen else "secondary", width="stretch"):
                    st.session_state.backbone = mine["name"]
                    st.rerun()


def measure_and_custom(specs: list, modality: str, device) -> None:
    """Measure every backbone's speed here; for texts, any Hugging Face model by its id."""
    left, right = st.columns(2)
    if left.button(_("Measure speed on this machine"), key="measure_speed", icon=":material/speed:"):
        progress = st.progress(0.0, text=_("Measuring..."))
        for index, spec in enumerate(specs):
            progress.progress(index / len(specs), text=_("Measuring {backbone}...", backbone=spec.display_title))
            try:
                speed.measure_speed(spec, device, paths.cache_dir())
            except Exception:  # a hub model whose config is not here: nothing to measure
                continue
        progress.empty()
        st.rerun()
    if modality == "text":
        with right.popover(_("Another Hugging Face model"), icon=":material/add:"):
            custom_model()


def custom_model() -> None:
    custom = st.text_input(_("Model id (e.g. `sentence-transformers/all-mpnet-base-v2`) or a local folder"),
                           key="custom_model")
    if st.button(_("Use it"), key="use_custom_model", disabled=not custom):
        try:
            local = Path(custom).expanduser().is_dir()
            if local and not access.server_paths_allowed():
                raise UserError(lazy("Local model folders are off while this app is shared."),
                                access.why_paths_are_off())
            spec = backbones.get(custom if local or custom.startswith("hf:") else f"hf:{custom}")
            st.session_state.backbone = spec.name
            st.rerun()
        except Exception as error:
            show_error(error)


def strategy_section(report, spec) -> None:
    """How the model learns: the strategies this backbone and data allow, each explained."""
    modality = report.modality
    st.subheader(_("Strategy"))
    allowed = [s for s in strategies.for_modality(modality) if (spec.pretrained or not s.pretrained)
               and (not s.needs_target or st.session_state.target is not None)]
    if st.session_state.strategy not in [s.name for s in allowed]:
        st.session_state.strategy = allowed[0].name
        st.rerun()  # the whole app: the sidebar was drawn with the strategy that no longer applies
    st.session_state.strategy_radio = st.session_state.strategy  # the radio follows the session, and ...
    st.radio(_("How should the model learn?"), [s.name for s in allowed], key="strategy_radio",
             format_func=strategies.title,  # titles and explanations: in the current language (core/strategies)
             captions=[s.explanation for s in allowed],  # ... sets it before the next run, sidebar included
             on_change=lambda: st.session_state.update(strategy=st.session_state.strategy_radio))
    what_is("feature_extraction", "fine_tuning", "gradual_unfreezing", "from_scratch", "baseline",
            *(["tfidf"] if modality == "text" else []))
    if not spec.pretrained:
        st.caption(_("{backbone} has no pretrained weights, so it can only be trained from scratch.",
                     backbone=spec.display_title))
    waiting = [s.title for s in strategies.for_modality(modality) if s.needs_target and st.session_state.target is None]
    if waiting:
        st.caption(_("{strategies}: needs a target dataset (where the model will be used), loaded on the Data page.",
                     strategies=", ".join(waiting)))
    if st.session_state.target is not None:
        adapt_view.model_section(report, st.session_state.target, spec, strategies.get(st.session_state.strategy))


@st.cache_data(show_spinner=_("Building the model to count its layers..."))
def layer_plan(name: str, strategy: str, num_classes: int, language: str) -> list[dict]:
    """The layer table's rows; ``language`` keys the cache (its "when" column and head row are sentences)."""
    with i18n.language(language):
        return strategies.get(strategy).layers(backbones.get(name), num_classes)


def layers_section(report, spec) -> None:
    """Which layers train: the counts, and the table with what trains first (highlighted), the frozen rest below."""
    st.subheader(_("Which layers train"))
    note = strategies.get(st.session_state.strategy).layers_note(report)
    if note:
        st.info(note)
        return
    try:
        rows = layer_plan(spec.name, st.session_state.strategy, len(report.classes), i18n.current())
    except Exception as error:
        show_error(error)
        return
    trainable = sum(r["parameters"] for r in rows if r["trainable"])
    frozen = sum(r["parameters"] for r in rows if not r["trainable"])
    columns = st.columns(3)
    columns[0].metric(_("Trainable parameters"), i18n.number(trainable), help=help_for("head"))
    columns[1].metric(_("Frozen parameters"), i18n.number(frozen), help=help_for("freeze"))
    columns[2].metric(_("Share that trains"), share(trainable, trainable + frozen),
                      help=_("{trainable} of {total} parameters learn; the rest keep what pretraining taught them.",
                             trainable=millions(trainable), total=millions(trainable + frozen)))
    layer_table(rows)


def layer_table(rows: list[dict]) -> None:
    """The layers, those that train first and highlighted (a frozen backbone's hundred rows would hide the one
    new head at the bottom), each part otherwise in the network's order."""
    ordered = [r for r in rows if r["trainable"]] + [r for r in rows if not r["trainable"]]
    if 0 < sum(r["trainable"] for r in rows) < len(rows):
        st.caption(_("The layers that train come first, highlighted; the frozen layers follow, from the input up."))
    LAYER, PARAMETERS, TRAINS = _("layer"), _("parameters"), _("trains")  # the table's headers
    table = pd.DataFrame([{LAYER: r["layer"], PARAMETERS: r["parameters"],
                           TRAINS: r.get("when") or (_("learns") if r["trainable"] else _("frozen"))} for r in ordered])
    mixed = 0 < sum(r["trainable"] for r in rows) < len(rows)
    trains = [r["trainable"] and mixed for r in ordered]  # all alike: nothing to single out
    styled = table.style.apply(lambda column: ["background-color: rgba(44, 160, 44, 0.18)" if t else ""
                                               for t in trains], axis=0)
    st.dataframe(styled, hide_index=True, height=min(600, 35 * (len(rows) + 1) + 3),  # no empty row below
                 column_config={PARAMETERS: st.column_config.NumberColumn(format="localized")})


def main() -> None:
    state.init()
    st.title(_("2 · Model"))
    if not state.require_data():
        return
    report = st.session_state.report
    modality, device = report.modality, pick_device()
    backbone_heading(report, device)
    specs = [spec for spec in backbones.list_specs(modality) if spec.source != "run"]  # yours: below
    backbone_cards(specs, modality, device)
    your_models(modality)
    measure_and_custom(specs, modality, device)
    spec = backbones.get(st.session_state.backbone)
    if spec.modality != modality:
        spec = backbones.get(backbones.default_for(modality))
        st.session_state.backbone = spec.name
        st.rerun()  # the whole app: the sidebar was drawn with the backbone of the other kind of data
    strategy_section(report, spec)
    layers_section(report, spec)
    st.page_link("pages/3_train.py", label=_("Next: train"), icon=":material/arrow_forward:")


main()
