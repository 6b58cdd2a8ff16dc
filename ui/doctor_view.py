"""The Data page's dataset doctor: `python -m core doctor ... --json` in a child process (ui/child.py; in a
thread of the server when the features are cached), then
each finding with its images or texts and a button that excludes it (core/data/exclusions.py), and the excluded
items with a button that includes them again."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from core import backbones, doctor, features, i18n, paths
from core.data import exclusions, images
from core.i18n import N_, _, ngettext
from core.data.report import DataReport
from ui import child, state
from ui.terms import what_is

KEY = "doctor"
SHOWN = 12   # findings of each kind drawn at once; "Show more" adds as many again
KINDS = {"label_issues": N_("Label issues"), "duplicates": N_("Duplicates"), "outliers": N_("Outliers")}
SPLITS = {"train": N_("training"), "val": N_("validation")}


def backbone_for(report: DataReport) -> str:
    """The chosen backbone when it is a pretrained one for this data and on this machine, else the default."""
    try:
        spec = backbones.get(st.session_state.backbone)
        if spec.modality == report.modality and spec.pretrained and spec.availability().available:
            return spec.name
    except Exception:
        pass
    return backbones.default_for(report.modality)


def _identity(report: DataReport, backbone: str) -> tuple:
    return (st.session_state.data, report.fingerprint, backbone, st.session_state.val_fraction,
            st.session_state.split_seed)


def _arguments(report: DataReport, backbone: str) -> list[str]:
    arguments = ["doctor", "--data", str(st.session_state.data), "--backbone", backbone, "--json",
                 "--val-fraction", str(st.session_state.val_fraction), "--seed", str(st.session_state.split_seed),
                 "--lang", i18n.current()]  # its refusals in this page's language (the findings are said here)
    if report.modality == "text":
        details = report.details
        arguments += ["--text-col", details["text_column"], "--label-col", details["label_column"]]
        if details.get("encoding_chosen_by") == "you":
            arguments += ["--encoding", details["encoding"]]
    return arguments


def _start(report: DataReport, backbone: str) -> dict:
    """The examination: in a thread of this server when the features are cached (a second or two of work, where
    a new process would first spend seconds importing), else in a child process (the feature pass may take
    minutes and memory: apart from the server)."""
    identity = _identity(report, backbone)
    spec = backbones.get(backbone)
    length = 128
    if not features.cache_path(paths.cache_dir(), report, spec, length).is_file():
        return child.start(_arguments(report, backbone), "doctor", identity=identity)
    details, source = report.details, str(st.session_state.data)
    settings = dict(val_fraction=st.session_state.val_fraction, seed=st.session_state.split_seed)
    if report.modality == "text":
        settings.update(text_column=details["text_column"], label_column=details["label_column"],
                        encoding=details["encoding"] if details.get("encoding_chosen_by") == "you" else None)
    return child.start_thread(lambda progress: doctor.examine(source, backbone, on_progress=progress,
                                                               max_length=length, **settings).to_dict(),
                              identity=identity)


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
    st.subheader(_("Dataset doctor"))
    texts = report.modality == "text"
    backbone = backbone_for(report)
    st.caption(_("Before you train, the doctor looks for what is wrong with the labels and the split, using the "
                 "features of **{backbone}** (computed once and cached, as for feature extraction): examples whose "
                 "label disagrees with what a model trained on the other examples predicts for them (confident "
                 "learning, with the cleanlab library), copies and near-copies (a validation example with a copy "
                 "in the training data makes validation accuracy look better than it is), and outliers. Exclude "
                 "what is wrong with one click: every run on this data leaves it out, and you can include it again "
                 "here.", backbone=backbones.get(backbone).title))
    what_is("confident_learning", "label_error", "duplicate", "outlier")
    found = st.session_state.get(KEY)
    if waiting:
        st.caption(waiting)
    if st.button(_("Examine the data"), key="doctor_run", icon=":material/stethoscope:",
                 disabled=bool(waiting) or child.running(found)):
        st.session_state[KEY] = found = _start(report, backbone)
        st.session_state.doctor_shown = {}
    excluded_section(report)
    if not found:
        return

    @st.fragment(run_every=1.0 if child.running(found) else None)
    def follow() -> None:
        child.settle(found, _("the examination"))
        if child.running(found):
            counted = child.last_count(found, "features")
            if counted is None:
                text = _("Loading the backbone and the data...")
            elif texts:
                text = _("Computing the features: {done:,} of {total:,} texts", done=counted[0], total=counted[1])
            else:
                text = _("Computing the features: {done:,} of {total:,} images", done=counted[0], total=counted[1])
            st.progress(counted[0] / max(counted[1], 1) if counted else 0.0, text=text)
            return
        if found["error"]:
            st.error(_("The examination did not finish: {error}", error=found["error"]), icon=":material/error:")
            return
        if found.get("identity") != _identity(report, backbone):
            st.caption(_("The data or the backbone changed since this examination: examine again."))
        findings(report, found["result"])

    follow()


def findings(report: DataReport, result: dict) -> None:
    gone = set(report.excluded)
    try:  # said in this page's language, not the examining process's, as it stands after any exclusion since
        checkup = doctor.Checkup.from_dict(result).without(gone)
        words, clean = checkup.words(report.title), checkup.clean
        left = {kind: getattr(checkup, kind) for kind in KINDS}
    except (TypeError, KeyError):  # an answer of another shape: its own words
        words = result.get("words", [])
        clean = not any(result.get(kind) for kind in KINDS)
        left = {kind: [f for f in result.get(kind, []) if not (set(f.get("items", [f.get("item")])) & gone)]
                for kind in KINDS}
    (st.success if clean else st.warning)("  \n".join(words), icon=":material/stethoscope:")
    st.caption(ngettext("{n:,} example examined in {seconds:.1f} s.", "{n:,} examples examined in {seconds:.1f} s.",
                        result["items"], seconds=result["seconds"]))
    tabs = st.tabs([_("{kind} ({count})", kind=_(title), count=len(left[kind])) for kind, title in KINDS.items()])
    for tab, kind in zip(tabs, KINDS):
        with tab:
            listed = left[kind]
            if not listed:
                st.caption(_("Nothing left to look at here."))
                continue
            limit = st.session_state.setdefault("doctor_shown", {}).get(kind, SHOWN)
            for index, finding in enumerate(listed[:limit]):
                with st.container(border=True):
                    show_finding(report, kind, finding, index)
            if len(listed) > limit:
                if st.button(_("Show {more} more ({shown} of {total} shown)", more=min(SHOWN, len(listed) - limit),
                               shown=limit, total=len(listed)), key=f"doctor_more_{kind}"):
                    st.session_state.doctor_shown[kind] = limit + SHOWN
                    st.rerun()
            if st.button(ngettext("Exclude the one listed", "Exclude all {n} listed", len(listed)),
                         key=f"doctor_exclude_all_{kind}",
                         help=_("Excludes each finding's item, as its own button would (of a duplicate pair: the "
                                "validation copy, else the second).")):
                exclusions.exclude(report, {doctor.chosen_for_exclusion(f, kind): doctor.reason(f, kind) for f in listed})
                _reload(report)
                st.rerun()


def show_finding(report: DataReport, kind: str, finding: dict, index: int) -> None:
    chosen = doctor.chosen_for_exclusion(finding, kind)
    if kind == "duplicates":
        what = _("Copy") if finding["exact"] else near_copy(finding)
        where = " · ".join(_("{item} ({split}, '{label}')", item=item, split=split_name(split),
                             label=report.title(label)) for item, split, label in zip(finding["items"], finding["splits"], finding["labels"]))
        heading = _("**{what}** · **across training and validation**", what=what) if finding["across"] \
            else f"**{what}**"
        st.markdown(f"{heading}  \n{where}")
        items = finding["items"]
    elif kind == "label_issues":
        given = 1 - finding["confidence"]
        st.markdown(_("**{item}** ({split}) is labelled **'{label}'**; a model trained on the other examples says "
                      "**'{suggested}'** (it gives the given label {probability})", item=finding["item"],
                      split=split_name(finding["split"]), label=report.title(finding["label"]),
                      suggested=report.title(finding["suggested"]),
                      probability=i18n.percent(given, 0) if given >= 0.01 else _("less than 1%")))
        items = [finding["item"]]
    else:
        st.markdown(_("**{item}** ({split}, '{label}'): unlike all the others (how unusual: {confidence:.0%})",
                      item=finding["item"],
                      split=split_name(finding["split"]), label=report.title(finding["label"]),
                      confidence=finding["confidence"]))
        items = [finding["item"]]
    show_items(report, items)
    if st.button(_("Exclude {item}", item=chosen), key=f"doctor_exclude_{kind}_{index}", icon=":material/block:"):
        exclusions.exclude(report, {chosen: doctor.reason(finding, kind)})
        _reload(report)
        st.rerun()


def split_name(split: str) -> str:
    """"train" / "val" in words."""
    return _(SPLITS[split]) if split in SPLITS else split


def near_copy(finding: dict) -> str:
    """A near-duplicate pair's heading: what was compared, and how alike."""
    by, similarity = finding.get("by"), finding["similarity"]
    if by == "pixels":
        return _("Near-copy (the pictures are {similarity:.1%} alike)", similarity=similarity)
    if by == "text":
        return _("Near-copy (the wording is {similarity:.1%} alike)", similarity=similarity)
    return _("Near-copy (their features are {similarity:.1%} alike)", similarity=similarity)


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
    present = {key for key, _label in report.all_items()}
    listed = {key: value for key, value in listed.items() if key in present}
    if not listed:
        return
    with st.expander(_("Excluded ({count}): left out of every run on this data", count=len(listed)),
                     icon=":material/block:"):
        for index, (key, value) in enumerate(sorted(listed.items())):
            row = st.columns([6, 2])
            row[0].markdown(f"`{key}`: {i18n.render(value.get('reason', ''))}")
            if row[1].button(_("Include again"), key=f"doctor_include_{index}"):
                exclusions.include(report, [key])
                _reload(report)
                st.rerun()
        if len(listed) > 1 and st.button(_("Include them all again"), key="doctor_include_all"):
            exclusions.include(report, list(listed))
            _reload(report)
            st.rerun()
        st.caption(_("Kept in {file} in the workspace's data folder.", file=Path(exclusions.path_for(report)).name))
