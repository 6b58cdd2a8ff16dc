"""Domain adaptation as a person meets it: the Model page's choice (measured before training, once the
target is loaded) and the Results page's account of what was chosen and why. The measuring is
core.adaptation.choose's; this module only gathers the click and renders."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core import adaptation, i18n, paths
from core.config import TrainConfig
from core.features import cache_path
from core.adaptation import choose
from core.device import pick_device
from core.i18n import N_, _
from core.terms import TERMS
from core.runs import Summary
from ui import state
from ui.feature_pass import both_domains_progress
from ui.terms import help_for, what_is
from ui.widgets import percent, show_error

EXPECTED = {"help": N_("Expected to help"), "same": N_("No clear change"),
            "risky": N_("Not trusted: costs source accuracy"), "hurt": N_("Expected to hurt")}
MAX_LENGTH = TrainConfig.max_length  # texts: the tokens a run keeps by default (the feature cache's key)
ON_THESE_DATA = {"help": N_("**Expected to help** on these data."), "same": N_("**No clear change** expected on these data."),
                 "risky": N_("**Not trusted** on these data: it costs more than {guard} points of source "
                             "validation accuracy."),
                 "hurt": N_("**Expected to hurt** on these data.")}


def model_section(report, target, spec, learner) -> None:
    """The Model page's "Domain adaptation": the options, with what measurement expects of each."""
    st.subheader(_("Domain adaptation"))
    methods = adaptation.for_strategy(learner, spec)
    st.caption(_("The target, **{target}**, is where the model will be used. Adaptation uses its examples (never "
                 "its labels) to make what was learned on the training data work there.", target=state.target_name()))
    what_is("domain_adaptation", "source_target", *[m.name for m in methods if m.name in TERMS])
    if len(methods) == 1:
        st.info(_("{strategy} trains without adaptation here: the target is scored only. Feature extraction can "
                  "adapt its features to the target.", strategy=learner.title), icon=":material/info:")
        st.session_state.adapt = "none"
        return
    measured = adaptation.measured_here(learner, spec)
    choice = _measured_choice(report, target, spec, learner) if measured else None
    options = ["auto"] + [m.name for m in methods]
    if st.session_state.adapt not in options:
        st.session_state.adapt = "auto"
    st.session_state.adapt_radio = st.session_state.adapt

    def label(name: str) -> str:
        if name != "auto":
            return adaptation.get(name).title
        if choice is not None:
            return _("Chosen by measurement (now: {method})", method=adaptation.get(choice.chosen).title)
        return _("Chosen by measurement")

    def caption(method) -> str:
        words = method.explanation
        if choice is not None and method.name in choice.expected:
            return i18n.join(words, _(ON_THESE_DATA[choice.expected[method.name]], guard=round(choose.GUARD * 100)))
        return words

    auto_caption = (_("Each method is tried on the cached features without the target's labels, and one is chosen "
                      "only when it is clearly better than none.") if measured else
                    _("{methods} change the network itself: measuring them would mean training it twice, so auto "
                      "trains without adaptation. Choose one to try it; Results then shows the target accuracy.",
                      methods=", ".join(m.short for m in methods if m.name != "none")))
    st.radio(_("How should it adapt?"), options, key="adapt_radio", format_func=label,
             captions=[auto_caption] + [caption(m) for m in methods],
             on_change=lambda: st.session_state.update(adapt=st.session_state.adapt_radio))


def _measured_choice(report, target, spec, learner) -> choose.Choice | None:
    """The choice auto would make, measured on a click (seconds once the features are cached), kept for the
    session per data, target, backbone and strategy."""
    key = (report.fingerprint, target.report.fingerprint, spec.name, learner.name)
    found = st.session_state.get("adapt_choice")
    if found is None or found[0] != key:
        ready = all(cache_path(paths.cache_dir(), part, spec, MAX_LENGTH).is_file()
                    for part in (report, target.report))
        if not ready:  # the features cost a pass: measured on a click; once cached, measured at once (seconds)
            st.caption(_("Which method fits these data? Measure it before training: each one is tried on the "
                         "features of both domains (computed once and cached), and scored by checks that need no "
                         "target labels."))
            if not st.button(_("Measure which adaptation fits"), key="measure_adaptation", icon=":material/science:",
                             help=help_for("domain_adaptation")):
                return None
        bar = st.progress(0.0, text=_("Computing features..."))
        progress = both_domains_progress(bar)

        try:
            with st.spinner(_("Trying each method on the features...")):
                choice = choose.for_data(report, target, spec, learner, paths.cache_dir(), pick_device(), progress,
                                         MAX_LENGTH, seed=0)
        except Exception as error:
            show_error(error)
            return None
        finally:
            bar.empty()
        st.session_state.adapt_choice = found = (key, choice)
    choice = found[1]
    expected_words(choice.expected, choice.chosen)
    (st.success if choice.chosen != "none" else st.info)(str(choice.reason), icon=":material/science:")
    with st.expander(_("The measurements")):
        scores_table(choice.scores, choice.expected, choice.chosen)
    return choice


def expected_words(expected: dict[str, str], chosen: str) -> None:
    """One sentence: which method is expected to help most, which to hurt."""
    hurting = [adaptation.get(name).short for name, word in expected.items() if word in ("hurt", "risky")]
    if chosen != "none" and hurting:
        st.markdown(_("**{best}** is expected to help most; {hurting}: not expected to help on these data.",
                      best=adaptation.get(chosen).short, hurting=i18n.listing(hurting)))
    elif chosen != "none":
        st.markdown(_("**{best}** is expected to help most on these data.", best=adaptation.get(chosen).short))
    elif hurting:
        st.markdown(_("No method is expected to help clearly; {hurting}: not expected to help on these data.",
                      hurting=i18n.listing(hurting)))


def scores_table(scores: dict, expected: dict, chosen: str) -> None:
    method, circular, mixval, source, verdict = (_("method"), _("circular validation"), _("MixVal"),
                                                  _("source validation accuracy"), _("expected"))
    rows = []
    for name, found in scores.items():
        if name not in adaptation.names():
            continue
        rows.append({method: adaptation.get(name).short + (" ✓" if name == chosen else ""),
                     circular: percent(found.get("circular")), mixval: percent(found.get("mixval")),
                     source: percent(found.get("source_val")),
                     verdict: _("(the baseline)") if name == "none" else _(EXPECTED.get(expected.get(name), "–"))
                     if name in expected else "–"})
    st.dataframe(pd.DataFrame(rows), hide_index=True)
    st.caption(_("Circular validation: label the target with the method, learn again from those labels alone, and "
                 "see how many of the training data's true classes come back. MixVal: blend two target examples "
                 "and check that the answers on the blend agree with the answers on the examples. Neither needs the "
                 "target's labels; a method is chosen when it beats none by {margin} points on one of them and "
                 "loses at most {guard} points of source validation accuracy.", margin=round(choose.MARGIN * 100),
                 guard=round(choose.GUARD * 100)))


def results_choice(summary: dict) -> None:
    """Results: how ``auto`` chose (the run's own measurement), when it did."""
    if not summary.get(Summary.ADAPT_AUTO):
        return
    reason = i18n.render(summary.get("adapt_reason_text") or summary.get("adapt_reason"))
    st.markdown(_("**How the adaptation was chosen.** {reason}", reason=reason))
    if summary.get("adapt_scores"):
        with st.expander(_("The measurements")):
            scores_table(summary["adapt_scores"], summary.get("adapt_expected") or {}, summary.get("adapt", "none"))
