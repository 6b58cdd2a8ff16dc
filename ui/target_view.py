"""The Data page's second dataset: where the model will be used (the target), and how far it is from
the training data. Loading goes through ui.state.load_target; the gap is core.data.domains.gap_report's."""

from __future__ import annotations


import pandas as pd
import streamlit as st

from core import adaptation, backbones, embeddings, i18n, paths
from core.data import domains, samples
from core.device import pick_device
from core.i18n import N_, _, ngettext
from core.runs import Summary
from ui import access, adapt_view, charts, state
from ui.feature_pass import both_domains_progress
from ui.terms import help_for, what_is
from ui.widgets import file_uploader, percent, show_error

SOURCES = {"sample": N_("Bundled stand-in"), "upload": N_("Upload a file"), "path": N_("Path on this machine")}


def target_section(report) -> None:
    st.divider()
    st.subheader(_("Where the model will be used (optional)"))
    st.caption(_("Training data and the data a model meets later often look different: catalogue photos and phone "
                 "snapshots, hotel and restaurant reviews. Load a sample of the second kind (the *target*) to see "
                 "how far apart they are and to adapt the model to it (domain adaptation, chosen on the Model page). "
                 "Its labels, when it has them, are used only to score the model, never to train it; images without "
                 "class folders make an unlabelled target."))
    what_is("source_target", "domain_adaptation", "domain_gap")
    target = st.session_state.target
    if target is None:
        _pick_target(report)
        return
    _describe(report, target)


def _pick_target(report) -> None:
    offered = [f"sample:{name}" for name in samples.TARGET_SAMPLES] if report.modality == "image" else []
    sources = [s for s in SOURCES if s != "sample" or offered]
    source = st.radio(_("Target data"), sources, format_func=lambda code: _(SOURCES[code]), horizontal=True,
                      key="target_source_kind")
    if source == "sample":
        chosen = st.selectbox(_("Stand-in target"), offered, format_func=lambda s: _(samples.SAMPLES[s[7:]].title),
                              key="target_sample")
        if st.button(_("Use as target"), key="load_target_sample") and state.load_target(chosen):
            st.rerun()
    elif source == "upload":
        upload = file_uploader(_("A .zip of images (class folders optional), or a table of texts"),
                               ["zip", "csv", "tsv", "txt", "xlsx", "xls"], key="upload_target")
        try:
            stored = state.new_upload(upload, "loaded_target_upload")
            if stored and state.load_target(stored, upload.name):
                st.rerun()
        except Exception as error:
            show_error(error)
    elif not access.server_paths_allowed():
        st.warning(access.why_paths_are_off(), icon=":material/lock:")
    else:
        folder = st.text_input(_("Folder, .zip or table path of the target"), key="target_path")
        if st.button(_("Load target"), key="load_target_path", disabled=not folder) and state.load_target(folder):
            st.rerun()


def _describe(report, target: domains.Target) -> None:
    columns = st.columns([3, 2, 2, 1])
    columns[0].metric(_("Target"), state.target_name(), help=state.target_name())  # the whole name, if cut
    columns[1].metric(_("Target texts") if report.modality == "text" else _("Target images"), f"{len(target.items):,}")
    present = len({label for _key, label in target.items if label != domains.UNLABELLED})
    columns[2].metric(_("Labels"), ngettext("{present} of {n} class", "{present} of {n} classes", len(report.classes),
                                            present=present) if target.labelled else _("none"))
    if columns[3].button(_("Remove"), key="remove_target", icon=":material/close:"):
        st.session_state.target = st.session_state.target_source = None
        st.rerun()
    layout = i18n.render(target.report.layout)
    st.caption(_("{layout} Their labels only score the model.", layout=layout) if target.labelled else
               _("{layout} Without labels, the target can be adapted to but not scored.", layout=layout))
    if report.modality == "image":
        shown = [target.report.absolute(key) for key, _label in target.items[:: max(1, len(target.items) // 12)][:12]]
        st.image([str(path) for path in shown], width=72)
    else:
        st.dataframe({_("Text"): [target.report.texts[key][:200] for key, _label in target.items[:5]]},
                     hide_index=True)
    _gap(report, target)


def _gap(report, target: domains.Target) -> None:
    spec = backbones.get(st.session_state.backbone)
    if spec.modality != report.modality or not spec.pretrained or not spec.availability().available:
        spec = backbones.get(backbones.default_for(report.modality))
    key = (report.fingerprint, target.report.fingerprint, spec.name)
    result = st.session_state.get("target_gap")
    if result is None or result[0] != key:
        asking = st.empty()  # the question and its button leave once it is answered
        with asking.container():
            st.caption(_("How far apart are the two? Both go through **{backbone}** once (the features are cached, "
                         "so training reuses them).", backbone=spec.display_title))
            if not st.button(_("Measure the domain gap"), key="measure_gap", icon=":material/straighten:",
                             help=help_for("domain_gap")):
                return
        asking.empty()
        bar = st.progress(0.0, text=_("Computing features..."))
        progress = both_domains_progress(bar)

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
    (st.warning if gap >= 0.85 else st.info)(_("Domain gap: {words}.", words=domains.gap_words(gap)),
                                             icon=":material/straighten:")
    st.plotly_chart(charts.embedding_scatter(measured["points"], measured["domains"], [_("training data"), _("target")],
                                             _("Both domains through {backbone} (PCA)", backbone=spec.display_title)),
                    key="target_map")
    st.caption(_("Each point is one example, placed by its features (squeezed onto a flat map with PCA). Two "
                 "separate clouds mean the backbone sees the domains differently, and a head trained on one may "
                 "misjudge the other: that is what adaptation addresses."))


def results_block(summary: dict) -> None:
    """Results page: the run on its target, with and without adaptation side by side, source validation beside
    target accuracy (adapting may trade one for the other), and how ``auto`` chose."""
    if not summary.get("target"):
        return
    method = summary.get("adapt", "none")
    title = adaptation.title(method)
    st.subheader(_("Where it will be used: the target"))
    name = samples.name_of(summary["target"])
    count = summary.get(Summary.TARGET_ITEMS)
    st.caption(_("Target **{name}** ({count} examples); adaptation: **{method}**. Its labels were used only for these "
                 "scores.", name=name, count=i18n.number(count) if isinstance(count, int) else "?", method=title))
    adapt_view.results_choice(summary)
    target_acc, without = summary.get(Summary.TARGET_ACC), summary.get(Summary.TARGET_ACC_WITHOUT)
    val_without = summary.get("val_acc_without")
    if method != "none" and (without is not None or val_without is not None):
        trade_off(summary, adaptation.get(method).short if method in adaptation.names() else method)
    else:
        columns = st.columns(2)
        columns[0].metric(_("Source validation accuracy"), percent(summary[Summary.BEST_VAL_ACC]))
        columns[1].metric(_("Target accuracy"), percent(target_acc),
                          help=None if target_acc is not None else _("The target has no labels to score with."))
    if summary.get("domain_gap") is not None:
        before, after = domains.gap_percent(summary["domain_gap"]), summary.get("domain_gap_after")
        st.caption(_("Domain gap (a classifier telling the two domains apart; 50% = alike): {gap}.", gap=before)
                   if after is None else
                   _("Domain gap (a classifier telling the two domains apart; 50% = alike): {before} on the "
                     "backbone's features, {after} after adaptation.", before=before, after=domains.gap_percent(after)),
                   help=help_for("domain_gap"))
    if without is None or target_acc is None:
        return
    gain = (target_acc - without) * 100
    said = dict(before=percent(without), after=percent(target_acc))
    if gain >= 1:
        st.success(_("Adapting raised target accuracy by {gain:.1f} points ({before} → {after}).", gain=gain, **said),
                   icon=":material/school:")
    elif gain <= -1:
        st.warning(_("Adapting lowered target accuracy by {loss:.1f} points ({before} → {after}): {method} does not "
                     "fit this shift. Train again with no adaptation, or let it be chosen by measurement, on the Model "
                     "page.", loss=-gain, method=title, **said), icon=":material/trending_down:")
    else:
        st.info(_("Adapting changed target accuracy by {gain:+.1f} points: the features already suit the target, "
                  "or this method does not fit this shift; try another one on the Model page.", gain=gain))


def trade_off(summary: dict, method: str) -> None:
    """The same head with and without adaptation: source validation accuracy beside target accuracy."""
    how, source, target = _("how it was trained"), _("source validation accuracy"), _("target accuracy")
    rows = [{how: _("without adaptation"), source: percent(summary.get("val_acc_without")),
             target: percent(summary.get(Summary.TARGET_ACC_WITHOUT))},
            {how: _("with {method}", method=method), source: percent(summary.get(Summary.BEST_VAL_ACC)),
             target: percent(summary.get(Summary.TARGET_ACC))}]
    st.dataframe(pd.DataFrame(rows), hide_index=True, key="target_trade_off")
    st.caption(_("The same head on the same features, trained once without and once with the adaptation. Aligning the "
                 "training data to the target can cost some accuracy on the training data's own validation set: "
                 "what counts is the target."))


def domain_maps(run, predictor) -> None:
    """Results page: the training data and the target on one map, before and after, by domain."""
    st.markdown(_("**Training data and target**, coloured by domain: adaptation should bring the two clouds together."))
    if not (run.has_embedding_map("domains") or st.button(_("Draw both domains"), key="draw_domains",
                                                          icon=":material/join_inner:")):
        return
    try:
        with st.spinner(_("Computing features of both domains...")):
            result = embeddings.domain_map(predictor)
    except Exception as error:
        show_error(error)
        return
    names = [_("training data (validation)"), _("target")]
    left, right = st.columns(2)
    left.plotly_chart(charts.embedding_scatter(result["before"], result["domains"], names,
                                               _("Pretrained features (before)")), key="domains_before")
    after = _("After training") if result["adapt"] == "none" else _("After training and adaptation")
    right.plotly_chart(charts.embedding_scatter(result["after"], result["domains"], names, after), key="domains_after")
    # before: the number measured with the run, shown above (this map's sample would differ by a point)
    gap_before, gap_after = (run.summary() or {}).get("domain_gap", result["gap_before"]), result["gap_after"]
    st.caption(_("Domain gap (a classifier telling the two apart; 50% = alike): {before} before, {after} after.",
                 before=domains.gap_percent(gap_before), after=domains.gap_percent(gap_after)))
