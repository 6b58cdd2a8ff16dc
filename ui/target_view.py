"""The Data page's second dataset: where the model will be used (the target), and how far it is from
the training data. Loading goes through ui.state.load_target; the gap is core.domains.gap_report's."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from core import backbones, domains, embeddings, paths, samples
from core.device import pick_device
from ui import access, charts, state
from ui.widgets import show_error

SOURCES = {"sample": "Bundled stand-in", "upload": "Upload a file", "path": "Path on this machine"}


def target_section(report) -> None:
    st.divider()
    st.subheader("Where the model will be used (optional)")
    st.caption("Training data and the data a model meets later often look different: catalogue photos and phone "
               "snapshots, hotel and restaurant reviews. Load a sample of the second kind (the *target*) to see how "
               "far apart they are and to adapt the model to it (domain adaptation, chosen on the Model page). "
               "Its labels, when it has them, are used only to score the model, never to train it; images without "
               "class folders make an unlabelled target.")
    target = st.session_state.target
    if target is None:
        _pick_target(report)
        return
    _describe(report, target)


def _pick_target(report) -> None:
    offered = [f"sample:{name}" for name in samples.TARGET_SAMPLES] if report.modality == "image" else []
    sources = [s for s in SOURCES if s != "sample" or offered]
    source = st.radio("Target data", sources, format_func=SOURCES.get, horizontal=True, key="target_source_kind")
    if source == "sample":
        chosen = st.selectbox("Stand-in target", offered, format_func=lambda s: samples.SAMPLES[s[7:]].title,
                              key="target_sample")
        if st.button("Use as target", key="load_target_sample") and state.load_target(chosen):
            st.rerun()
    elif source == "upload":
        upload = st.file_uploader("A .zip of images (class folders optional), or a table of texts",
                                  type=["zip", "csv", "tsv", "txt", "xlsx", "xls"], key="upload_target")
        try:
            stored = state.new_upload(upload, "loaded_target_upload")
            if stored and state.load_target(stored, upload.name):
                st.rerun()
        except Exception as error:
            show_error(error)
    elif not access.server_paths_allowed():
        st.warning(access.why_paths_are_off(), icon=":material/lock:")
    else:
        folder = st.text_input("Folder, .zip or table path of the target", key="target_path")
        if st.button("Load target", key="load_target_path", disabled=not folder) and state.load_target(folder):
            st.rerun()


def _describe(report, target: domains.Target) -> None:
    noun = "texts" if report.modality == "text" else "images"
    columns = st.columns([2, 2, 2, 1])
    columns[0].metric("Target", target.name)
    columns[1].metric(f"Target {noun}", f"{len(target.items):,}")
    present = len({label for _, label in target.items if label != domains.UNLABELLED})
    columns[2].metric("Labels", f"{present} of {len(report.classes)} classes" if target.labelled else "none")
    if columns[3].button("Remove", key="remove_target", icon=":material/close:"):
        st.session_state.target = st.session_state.target_source = None
        st.rerun()
    st.caption(target.report.layout + (" Their labels only score the model." if target.labelled else
                                       " Without labels, the target can be adapted to but not scored."))
    if report.modality == "image":
        shown = [target.report.absolute(key) for key, _ in target.items[:: max(1, len(target.items) // 12)][:12]]
        st.image([str(path) for path in shown], width=72)
    else:
        st.dataframe([{"text": target.report.texts[key][:200]} for key, _ in target.items[:5]], hide_index=True)
    _gap(report, target)


def _gap(report, target: domains.Target) -> None:
    spec = backbones.get(st.session_state.backbone)
    if spec.modality != report.modality or not spec.pretrained or not spec.availability().available:
        spec = backbones.get(state.DEFAULT_BACKBONE[report.modality])
    key = (report.fingerprint, target.report.fingerprint, spec.name)
    result = st.session_state.get("target_gap")
    if result is None or result[0] != key:
        st.caption(f"How far apart are the two? Both go through **{spec.title}** once (the features are cached, "
                   "so training reuses them).")
        if not st.button("Measure the domain gap", key="measure_gap", icon=":material/straighten:"):
            return
        bar = st.progress(0.0, text="Computing features...")
        names = ("training data", "target")

        def progress(index: int, done: int, total: int) -> None:
            bar.progress(min(done / max(total, 1), 1.0), text=f"Computing features of the {names[index]}: {done}/{total}")

        try:
            measured = embeddings.gap_report(report, target, spec, paths.cache_dir(), pick_device(), progress)
        except Exception as error:
            show_error(error)
            return
        finally:
            bar.empty()
        st.session_state.target_gap = result = (key, measured)
    measured = result[1]
    gap = measured["gap"]
    (st.warning if gap >= 0.85 else st.info)(f"Domain gap: {domains.gap_words(gap)}.", icon=":material/straighten:")
    st.plotly_chart(charts.embedding_scatter(measured["points"], measured["domains"], ["training data", "target"],
                                             f"Both domains through {spec.title} (PCA)"), key="target_map")
    st.caption("Each point is one example, placed by its features. Two separate clouds mean the backbone sees the "
               "domains differently, and a head trained on one may misjudge the other: that is what adaptation "
               "addresses.")


def results_block(summary: dict) -> None:
    """Results page: the run on its target, with and without adaptation, side by side."""
    from core import adaptation
    from ui.widgets import percent

    if not summary.get("target"):
        return
    method = summary.get("adapt", "none")
    title = adaptation.get(method).title if method in adaptation.names() else method
    st.subheader("Where it will be used: the target")
    name = Path(str(summary["target"])).name if not str(summary["target"]).startswith("sample:") else summary["target"][7:]
    st.caption(f"Target **{name}** ({summary.get('target_items', '?')} examples); adaptation: **{title}**. Its labels "
               "were used only for these scores.")
    columns = st.columns(4)
    columns[0].metric("Source validation accuracy", percent(summary["best_val_acc"]))
    columns[1].metric("Target accuracy", percent(summary.get("target_acc")),
                      help=None if summary.get("target_acc") is not None else "The target has no labels to score with.")
    without = summary.get("target_acc_without")
    if without is not None:
        columns[2].metric("Target accuracy without adaptation", percent(without),
                          help="The same head trained on the same features, not adapted.")
    if summary.get("domain_gap") is not None:
        after = summary.get("domain_gap_after")
        columns[3].metric("Domain gap", f"{summary['domain_gap']:.0%}" + (f" → {after:.0%}" if after is not None else ""),
                          help="Accuracy of a classifier telling the domains apart (50% = alike), before and after "
                               "alignment.")
    if without is not None and summary.get("target_acc") is not None:
        gain = (summary["target_acc"] - without) * 100
        verdict = (f"Adapting raised target accuracy by {gain:.1f} points ({percent(without)} → "
                   f"{percent(summary['target_acc'])})" if gain >= 1 else
                   f"Adapting changed target accuracy by {gain:+.1f} points: the features already suit the target, "
                   "or this method does not fit this shift; try another one on the Model page")
        st.success(verdict + ".", icon=":material/school:") if gain >= 1 else st.info(verdict + ".")


def domain_maps(run, predictor) -> None:
    """Results page: the training data and the target on one map, before and after, by domain."""
    from core.embeddings import domain_map

    st.markdown("**Training data and target**, coloured by domain: adaptation should bring the two clouds together.")
    if not (run.has_embedding_map("domains") or st.button("Draw both domains", key="draw_domains",
                                                          icon=":material/join_inner:")):
        return
    try:
        with st.spinner("Computing features of both domains..."):
            result = domain_map(predictor)
    except Exception as error:
        show_error(error)
        return
    names = ["training data (validation)", "target"]
    left, right = st.columns(2)
    left.plotly_chart(charts.embedding_scatter(result["before"], result["domains"], names, "Pretrained features "
                                               "(before)"), key="domains_before")
    after = "After training" + ("" if result["adapt"] == "none" else " and adaptation")
    right.plotly_chart(charts.embedding_scatter(result["after"], result["domains"], names, after), key="domains_after")
    st.caption(f"Domain gap (a classifier telling the two apart; 50% = alike): {result['gap_before']:.0%} before, "
               f"{result['gap_after']:.0%} after.")
