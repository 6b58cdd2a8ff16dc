"""The Data page's dataset doctor: `python -m core doctor ... --json` in a child process (ui/child.py), then
each finding with its images or texts and a button that excludes it (core/exclusions.py), and the excluded
items with a button that includes them again."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from core import backbones, doctor, exclusions, images
from core.report import DataReport
from ui import child, state

KEY = "doctor"
SHOWN = 12   # findings of each kind drawn at once; "Show more" adds as many again
KINDS = {"label_issues": "Label issues", "duplicates": "Duplicates", "outliers": "Outliers"}


def backbone_for(report: DataReport) -> str:
    """The chosen backbone when it is a pretrained one for this data and on this machine, else the default."""
    try:
        spec = backbones.get(st.session_state.backbone)
        if spec.modality == report.modality and spec.pretrained and spec.availability().available:
            return spec.name
    except Exception:
        pass
    return state.DEFAULT_BACKBONE[report.modality]


def _identity(report: DataReport, backbone: str) -> tuple:
    return (st.session_state.data, report.fingerprint, backbone, st.session_state.val_fraction,
            st.session_state.split_seed)


def _arguments(report: DataReport, backbone: str) -> list[str]:
    arguments = ["doctor", "--data", str(st.session_state.data), "--backbone", backbone, "--json",
                 "--val-fraction", str(st.session_state.val_fraction), "--seed", str(st.session_state.split_seed)]
    if report.modality == "text":
        details = report.details
        arguments += ["--text-col", details["text_column"], "--label-col", details["label_column"]]
        if details.get("encoding_chosen_by") == "you":
            arguments += ["--encoding", details["encoding"]]
    return arguments


def _reload(report: DataReport) -> None:
    """Read the data again (what is excluded leaves the split), as the Data page read it."""
    details = report.details
    if report.modality == "text":
        state.load_data(st.session_state.data, st.session_state.data_name, details["text_column"],
                        details["label_column"], details["encoding"] if details.get("encoding_chosen_by") == "you"
                        else None)
    else:
        state.load_data(st.session_state.data, st.session_state.data_name)


def section(report: DataReport, waiting: str | None = None) -> None:
    """``waiting``: why it cannot start now (the features are being computed in the background)."""
    st.subheader("Dataset doctor")
    noun = "texts" if report.modality == "text" else "images"
    backbone = backbone_for(report)
    st.caption(f"Finds what is wrong with the labels and the split before you train, on the features of "
               f"**{backbones.get(backbone).title}** (computed once and cached, as for feature extraction): {noun} "
               "whose label disagrees with what a model trained on the others predicts for them (cleanlab's "
               "confident learning on cross-validated predictions), copies and near-copies (a validation example "
               "with a copy in the training data makes validation accuracy look better than it is), and outliers. "
               "Exclude what is wrong with one click: every run on this data leaves it out, and it can be included "
               "again here.")
    found = st.session_state.get(KEY)
    if waiting:
        st.caption(waiting)
    if st.button("Examine the data", key="doctor_run", icon=":material/stethoscope:",
                 disabled=bool(waiting) or child.running(found)):
        st.session_state[KEY] = found = child.start(_arguments(report, backbone), "doctor",
                                                    identity=_identity(report, backbone))
        st.session_state.doctor_shown = {}
    excluded_section(report)
    if not found:
        return

    @st.fragment(run_every=1.0 if child.running(found) else None)
    def follow() -> None:
        child.settle(found, "the examination")
        if child.running(found):
            counted = child.last_count(found, "features")
            st.progress(counted[0] / max(counted[1], 1) if counted else 0.0,
                        text=f"Computing the features: {counted[0]:,} of {counted[1]:,} {noun}" if counted
                        else "Loading the backbone and the data...")
            return
        if found["error"]:
            st.error(f"The examination did not finish: {found['error']}", icon=":material/error:")
            return
        if found.get("identity") != _identity(report, backbone):
            st.caption("The data or the backbone changed since this examination: examine again.")
        findings(report, found["result"])

    follow()


def findings(report: DataReport, result: dict) -> None:
    gone = set(report.excluded)
    words = result.get("words", [])
    (st.success if words and words[0].startswith("No suspected") else st.warning)(
        "  \n".join(words), icon=":material/stethoscope:")
    st.caption(f"{result['items']:,} examples examined in {result['seconds']:.1f} s.")
    left = {kind: [f for f in result.get(kind, []) if not (set(f.get("items", [f.get("item")])) & gone)]
            for kind in KINDS}
    tabs = st.tabs([f"{title} ({len(left[kind])})" for kind, title in KINDS.items()])
    for tab, kind in zip(tabs, KINDS):
        with tab:
            listed = left[kind]
            if not listed:
                st.caption("Nothing left to look at here.")
                continue
            limit = st.session_state.setdefault("doctor_shown", {}).get(kind, SHOWN)
            for index, finding in enumerate(listed[:limit]):
                with st.container(border=True):
                    show_finding(report, kind, finding, index)
            if len(listed) > limit:
                if st.button(f"Show {min(SHOWN, len(listed) - limit)} more ({limit} of {len(listed)} shown)",
                             key=f"doctor_more_{kind}"):
                    st.session_state.doctor_shown[kind] = limit + SHOWN
                    st.rerun()
            if st.button(f"Exclude all {len(listed)} listed", key=f"doctor_exclude_all_{kind}",
                         help="Each finding's item as its own button would (of a duplicate pair: the validation copy, "
                              "else the second)."):
                exclusions.exclude(report, {doctor.chosen_for_exclusion(f, kind): doctor.reason(f, kind) for f in listed})
                _reload(report)
                st.rerun()


def show_finding(report: DataReport, kind: str, finding: dict, index: int) -> None:
    chosen = doctor.chosen_for_exclusion(finding, kind)
    if kind == "duplicates":
        measure = {"pixels": "the pictures", "text": "the wording"}.get(finding.get("by"), "their features")
        what = "Copy" if finding["exact"] else f"Near-copy ({measure} {finding['similarity']:.1%} alike)"
        where = " · ".join(f"{item} ({split}, '{label}')" for item, split, label in
                           zip(finding["items"], finding["splits"], finding["labels"]))
        st.markdown(f"**{what}**" + (" · **across training and validation**" if finding["across"] else "")
                    + f"  \n{where}")
        items = finding["items"]
    elif kind == "label_issues":
        st.markdown(f"**{finding['item']}** ({finding['split']}) is labelled **'{finding['label']}'**; a model trained "
                    f"on the other examples says **'{finding['suggested']}'** (it gives the label "
                    f"{1 - finding['confidence']:.0%})")
        items = [finding["item"]]
    else:
        st.markdown(f"**{finding['item']}** ({finding['split']}, '{finding['label']}'): unlike all the others "
                    f"({finding['confidence']:.0%})")
        items = [finding["item"]]
    show_items(report, items)
    if st.button(f"Exclude {chosen}", key=f"doctor_exclude_{kind}_{index}", icon=":material/block:"):
        exclusions.exclude(report, {chosen: doctor.reason(finding, kind)})
        _reload(report)
        st.rerun()


def show_items(report: DataReport, items: list[str]) -> None:
    if report.modality == "text":
        for item in items:
            text = report.texts.get(item, "")
            st.text(text[:400] + ("…" if len(text) > 400 else ""))
        return
    pictures = []
    for item in items:
        path = report.absolute(item)
        try:
            pictures.append(images.thumbnail(str(path), 96))
        except Exception:  # a file gone or broken since: its name still says which
            continue
    if pictures:
        st.image(pictures, width=96)


def excluded_section(report: DataReport) -> None:
    listed = exclusions.load(report)
    present = {key for key, _ in report.all_items()}
    listed = {key: value for key, value in listed.items() if key in present}
    if not listed:
        return
    with st.expander(f"Excluded ({len(listed)}): left out of every run on this data", icon=":material/block:"):
        for index, (key, value) in enumerate(sorted(listed.items())):
            row = st.columns([6, 2])
            row[0].markdown(f"`{key}`: {value.get('reason', '')}")
            if row[1].button("Include again", key=f"doctor_include_{index}"):
                exclusions.include(report, [key])
                _reload(report)
                st.rerun()
        if len(listed) > 1 and st.button("Include them all again", key="doctor_include_all"):
            exclusions.include(report, list(listed))
            _reload(report)
            st.rerun()
        st.caption(f"Kept in {Path(exclusions.path_for(report)).name} in the workspace's data folder.")
