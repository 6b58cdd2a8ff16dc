"""Compare strategies: side by side on all the data (baseline, feature extraction, fine-tuning on the
same split and seed), or as the data grows (the data-efficiency curve: each strategy on 5, 10, 20...
examples per class), queued in one click, then read in plain words."""

from pathlib import Path

import pandas as pd
import streamlit as st

from core import backbones, compare, costs, curve, i18n, jobs, paths, privacy, runs, strategies
from core.backbones import speed
from core.device import pick_device
from core.errors import UserError
from core.i18n import N_, _, ngettext
from core.runs import Summary
from ui import charts, run_view, state
from ui.terms import help_for, what_is
from ui.widgets import guarded, millions, percent, show_error

state.init()
st.title(_("Compare strategies"))
st.markdown(_("Does reusing a pretrained network pay off on **your** data, how much data does each approach need, "
              "and is fine-tuning worth its time? Train them one after another on the same split and seed, and see."))
what_is("baseline", "feature_extraction", "fine_tuning", "validation_set", "early_stopping")
folder = paths.runs_dir()
report = st.session_state.report
MODES = {"side": N_("Side by side, on all the data"), "curve": N_("As the data grows (examples per class)")}
mode = st.segmented_control(_("What to compare"), list(MODES), default="side", format_func=lambda m: _(MODES[m]),
                            key="compare_mode") or "side"
# the tables' columns: stable keys in the code, shown in the current language
COLUMNS = {"strategy": N_("strategy"), "backbone": N_("backbone"), "status": N_("status"),
           "best accuracy": N_("best accuracy"), "macro-F1": N_("macro-F1"), "time": N_("time"),
           "trainable parameters": N_("trainable parameters"), "epochs": N_("epochs"),
           "privacy spent (ε)": N_("privacy spent (ε)"), "target accuracy": N_("target accuracy"),
           "per class": N_("per class"), "training examples": N_("training examples"),
           "validation accuracy": N_("validation accuracy")}


def shown(rows: list[dict]) -> pd.DataFrame:
    """A table of ``rows`` (keyed by COLUMNS' keys) with its headers in the current language."""
    return pd.DataFrame(rows).rename(columns=lambda column: _(COLUMNS[column]) if column in COLUMNS else column)


def group_labels(groups: list[str]) -> dict[str, str]:
    """Comparisons or curves in words: when each started and on what data ("12/6/26, 7:28 PM · MNIST digits, 4
    runs"), not its folder code; one pass over the runs for all of them."""
    from datetime import datetime

    members: dict[str, list[runs.Run]] = {group: [] for group in groups}
    for run in runs.list_runs(folder):
        group = run.config().get("group")
        if group in members:
            members[group].append(run)
    labels = {}
    for group, found in members.items():
        data = state.display_name(found[0].config().get("data", "")) if found else ""
        try:
            when = i18n.date_time(datetime.strptime(group.split("-", 1)[1], "%Y%m%d-%H%M%S").timestamp())
        except (IndexError, ValueError):  # a group named otherwise (a plugin's, or renamed)
            when = group
        labels[group] = ngettext("{when} · {data}, {n} run", "{when} · {data}, {n} runs", len(found), when=when,
                                 data=data)
    return labels


def stop_one(what: str) -> str:
    """The help of the button that stops one run of a comparison (``what``: "comparison") or a curve."""
    if what == "curve":
        return _("Ends this run now (its best weights so far are kept); the curve goes on with the next point. "
                 "To end them all, use the button under the table.")
    return _("Ends this run now (its best weights so far are kept); the comparison goes on with the next one. "
             "To end them all, use the button under the table.")


def open_results(run: runs.Run) -> None:
    st.session_state.run_dir = str(run.dir)
    st.session_state.pop("results_run", None)  # the Results page then opens on run_dir
    st.switch_page("pages/4_results.py")


def open_buttons(members: list[runs.Run], key: str) -> None:
    """One way from a comparison to each member's Results."""
    finished = [run for run in members if run.summary() is not None]
    if not finished:
        return
    left, right = st.columns([4, 1], vertical_alignment="bottom")
    chosen = left.selectbox(_("Open the results of"), [str(run.dir) for run in finished],
                            format_func=run_view.run_label, index=finished.index(run_view.latest_finished(finished)),
                            key=f"{key}_open_pick")
    if right.button(_("Open its results"), key=f"{key}_open", icon=":material/analytics:"):
        open_results(runs.Run(Path(chosen)))


def group_actions(members: list[runs.Run], live: bool, key: str, what: str) -> None:
    """Under a group: open a member's results; while it trains, stop it all. ``what``: "comparison" or "curve"."""
    open_buttons(members, key)
    if live:
        stop_all(members, f"stop_{key}", what)


def stop_all(members: list[runs.Run], key: str, what: str) -> None:
    if what == "curve":
        label, explained = _("Stop the whole curve"), _("Stops the run training now and cancels the ones still "
                                                        "waiting: the whole curve ends. Finished runs stay.")
    else:
        label, explained = _("Stop the whole comparison"), _("Stops the run training now and cancels the ones still "
                                                             "waiting: the whole comparison ends. Finished runs stay.")
    if st.button(label, key=key, icon=":material/cancel:", help=explained):
        for run in members:
            if run_view.is_live(run):
                jobs.supervisor().stop(run)
        st.rerun()


def live_groups() -> list[str]:
    """The groups of the runs training or waiting now."""
    return [str(run.config().get("group")) for run in jobs.supervisor().queue() if run.config().get("group")]


def pretrained_or_explain():
    """The chosen backbone when it is pretrained; otherwise say what to do and return None."""
    spec = backbones.get(st.session_state.backbone)
    if spec.pretrained:
        return spec
    st.info(_("**{backbone}** has no pretrained weights, so there is nothing to transfer. Pick a pretrained "
              "backbone on the Model page first.", backbone=spec.display_title))
    st.page_link("pages/2_model.py", label=_("Go to Model"), icon=":material/neurology:")
    return None


def shared_settings() -> dict:
    return dict(val_fraction=st.session_state.val_fraction, **report.read_settings(),
                horizontal_flip=False if str(st.session_state.data).startswith("sample:mnist") else None)


# -- side by side ----------------------------------------------------------------------------------------

def section(known: list[str], prefix: str, plan, show, missing_data: str) -> None:
    """A mode of the page: its planner (with the data loaded and a pretrained backbone; ``busy`` while
    one of its groups trains), then the groups already trained or training."""
    busy = any(group.startswith(prefix) for group in live_groups())
    if report is not None:
        spec = pretrained_or_explain()
        if spec is not None:
            plan(spec, busy=busy)
    else:
        st.info(missing_data)
        st.page_link("pages/1_data.py", label=_("Go to Data"), icon=":material/folder_open:")
    if known:
        show(known)


def plan_side_by_side(spec, busy: bool) -> None:
    modality = report.modality
    members = strategies.compared(modality)
    st.markdown(_("On **{data}** with **{backbone}**: {strategies}, one after another.",
                  data=st.session_state.data_name, backbone=spec.display_title,
                  strategies=i18n.listing([s.short for s in members])))
    if st.session_state.target is not None:
        st.caption(_("Every run is also scored on the target, **{target}**; feature extraction runs a second time, "
                     "adapted to it.", target=state.target_name()))
        what_is("source_target", "domain_adaptation")
    with st.form("compare", enter_to_submit=False):  # Enter in a field must not start minutes of training
        epochs = {}
        for column, strategy in zip(st.columns(len(members)), members):
            if strategy.fits_in_one_go:
                column.caption(_("{strategy}: fits in one go.", strategy=strategy.title))
                continue
            epochs[strategy.name] = column.number_input(_("{strategy}: epochs", strategy=strategy.title), 1, 500,
                                                        int(strategy.recipe(modality)["epochs"]),
                                                        key=f"compare_epochs_{strategy.name}", help=help_for("epoch"))
        st.caption(_("Each uses its classic recipe; early stopping ends a run when validation loss stops "
                     "improving. Fine-tuning is the slow one on a CPU."))
        left, right = st.columns([2, 1])
        add_private = left.checkbox(_("Also train feature extraction privately (differential privacy)"),
                                    key="compare_private",
                                    help=_("One more run (seconds: the features are cached): the same head trained "
                                           "with DP-SGD, to see what privacy costs in accuracy.")
                                    + "\n\n" + help_for("differential_privacy", "dp_sgd"))
        epsilon = right.number_input(_("Privacy budget ε"), 0.1, 100.0, privacy.DEFAULT_EPSILON, step=0.5,
                                     key="compare_epsilon", help=help_for("epsilon"))
        count = len(members) + (1 if st.session_state.target is not None and any(m.on_features for m in members)
                                else 0)  # feature extraction's adapted twin
        label = _("Compare the three") if count == 3 else _("Compare the four") if count == 4 else \
            _("Compare the {count}", count=count)
        start = st.form_submit_button(label, key="start_compare", type="primary", icon=":material/compare_arrows:",
                                      disabled=busy)
        if busy:
            st.caption(_("A comparison is training below: stop it, or wait for it to end, to start another."))
    if start:
        try:
            target = st.session_state.target_source if st.session_state.target is not None else None
            configs = compare.plan(st.session_state.data, spec.name, epochs, target=target,
                                   private=epsilon if add_private else None, **shared_settings())
            submitted = compare.submit(configs)
            st.session_state.compare_group = configs[0].group
            st.session_state.run_dir = str(submitted[-1].dir)  # the one that finishes last: what Results opens
            st.rerun()
        except Exception as error:
            show_error(error)


def show_group(known: list[str]) -> None:
    current = st.session_state.get("compare_group")
    group = st.selectbox(_("Comparison"), known, index=known.index(current) if current in known else 0,
                         format_func=group_labels(known).get, key="compare_pick")
    members = compare.group_runs(folder, group)
    live = any(run_view.is_live(run) for run in members)

    @st.fragment(run_every=2.0 if live else None)
    @guarded
    def comparison() -> None:
        rows = [runs.describe(run) for run in members]
        status_slot, controls_slot, table_slot, chart_slot, reading_slot = (st.empty() for _ in range(5))
        current = next((run for run in members if run_view.is_live(run)), None)
        if current is not None:
            strategy = current.config()["strategy"]
            with status_slot.container():
                st.caption(_("Now: {strategy}", strategy=strategies.title(strategy)))
                run_view.status_line(current, run_view.follow(current), st.empty(), controls_slot,
                                     key=f"compare_{strategy}", stop_label=_("Stop this run"),
                                     stop_help=stop_one("comparison"))
        table_slot.dataframe(shown([{
            "strategy": run_view.strategy_label(row["strategy"], row.get("adapt"), row.get("dp_epsilon"),
                                                row.get(Summary.ADAPT_AUTO)),
            "best accuracy": percent(row[Summary.BEST_VAL_ACC]),  # what is read first, first: the rest scrolls
            **({"target accuracy": percent(row.get(Summary.TARGET_ACC))} if row.get("target") else {}),
            "time": costs.of(row).words(), "status": runs.status_words(row["status"]),
            "macro-F1": percent(row[Summary.BEST_VAL_MACRO_F1]), "backbone": backbones.title_of(row["backbone"]),
            "trainable parameters": millions(row[Summary.TRAINABLE_PARAMS]) if row[Summary.TRAINABLE_PARAMS] else "–",
            "epochs": row["epochs"],
            **({"privacy spent (ε)": "–" if row.get("epsilon") is None else f"{row['epsilon']:.2f}"}
               if any(r.get("dp_epsilon") is not None for r in rows) else {})}
            for row in rows]), hide_index=True,
            placeholder="–", column_config={_("time"): st.column_config.TextColumn(
                width="large", help=_("Feature extraction: the first time includes the one-time pass that computes "
                                      "the backbone's features; a repeat reads them from the cache.")),
                _("macro-F1"): st.column_config.TextColumn(width="small", help=help_for("macro_f1"))})
        labels = {row["dir"]: run_view.strategy_label(row["strategy"], row.get("adapt"), row.get("dp_epsilon"),
                                                       row.get(Summary.ADAPT_AUTO)) for row in rows}
        histories = {labels[str(run.dir)]: run.history() for run in members}
        histories = {name: history for name, history in histories.items() if history}
        scored = [row for row in rows if row.get("target") and row.get(Summary.TARGET_ACC) is not None]
        if histories:
            with chart_slot.container():
                if scored:  # with a target: where it will be used, beside validation
                    left, right = st.columns(2)
                    left.plotly_chart(charts.overlay(histories, "val_acc"), key="compare_curves")
                    right.plotly_chart(charts.source_and_target(
                        [(labels[row["dir"]], row[Summary.BEST_VAL_ACC], row[Summary.TARGET_ACC]) for row in scored]),
                        key="compare_target")
                else:
                    st.plotly_chart(charts.overlay(histories, "val_acc"), key="compare_curves")
        sentences = compare.reading(rows)
        if sentences:
            reading_slot.success("  \n".join(sentences), icon=":material/school:")
        if live and not any(row["status"] in runs.ACTIVE for row in rows):
            st.rerun()

    comparison()
    group_actions(members, live, "compare", "comparison")


# -- as the data grows -----------------------------------------------------------------------------------

@st.cache_data(show_spinner=_("Measuring how fast each network runs on this machine..."))
def forward_ms(backbone: str, device: str) -> float | None:
    try:
        spec = backbones.get(backbone)
        known = speed.known_speed(spec, pick_device(device), paths.cache_dir())
        return known if known is not None else speed.measure_speed(spec, pick_device(device), paths.cache_dir())
    except Exception:  # weights or a plugin missing: the estimate falls back to a typical speed
        return None


def plan_curve(spec, busy: bool) -> None:
    modality = report.modality
    members = strategies.compared(modality)
    st.markdown(_("Each strategy learns from **the same few examples of each class** of **{data}** (5, then 10, "
                  "20... picked at random with the seed, the smaller sets inside the larger), and is always scored on "
                  "the **same whole validation split**. Where the lines part is where transfer learning pays.",
                  data=st.session_state.data_name))
    what_is("data_efficiency_curve")
    if st.session_state.target is not None:
        st.caption(_("Every point is also scored on the target, **{target}** (without adaptation), and drawn as a "
                     "dashed line beside its validation accuracy.", target=state.target_name()))
    device = pick_device("auto")
    slow = [s.name for s in members if not s.on_features and not s.fits_in_one_go and not s.baseline]
    default = [s.name for s in members if device.type != "cpu" or s.name not in slow]
    left, right = st.columns([3, 2])
    chosen = left.multiselect(_("Strategies"), [s.name for s in members], default=default,
                              format_func=strategies.title, key="curve_strategies")
    sizes_text = right.text_input(_("Examples per class"), _("5, 10, 20, 50, all"), key="curve_sizes",
                                  help=_("Whole numbers, separated by commas; 'all' for every training example."))
    epochs = {}
    trained = [strategies.get(name) for name in chosen if not strategies.get(name).fits_in_one_go]
    for column, strategy in zip(st.columns(max(1, len(trained))), trained):
        epochs[strategy.name] = column.number_input(_("{strategy}: epochs", strategy=strategy.title), 1, 500,
                                                    int(strategy.recipe(modality)["epochs"]),
                                                    key=f"curve_epochs_{strategy.name}", help=help_for("epoch"))
    try:
        sizes = curve.parse_sizes(sizes_text)
        if not chosen:
            raise UserError(_("No strategy chosen."), _("Pick at least one above."))
        target = st.session_state.target_source if st.session_state.target is not None else None
        configs = curve.plan(st.session_state.data, report, spec.name, chosen, sizes, epochs, target=target,
                             **shared_settings())
    except Exception as error:
        show_error(error)
        return
    counts = [row["train"] for row in report.counts()]
    guesses = curve.estimate(configs, counts, len(report.val), lambda name: forward_ms(name, "auto"),
                             curve.features_ready(report))
    used = [str(config.per_class) if config.per_class else _("all") for config in configs
            if config.strategy == configs[0].strategy]
    planned = ngettext("{n} run ({sizes} per class; smaller sets train for more epochs, so each gets at least "
                       "{updates} updates, up to {factor}x the epochs).",
                       "{n} runs ({sizes} per class; smaller sets train for more epochs, so each gets at least "
                       "{updates} updates, up to {factor}x the epochs).", len(configs), sizes=", ".join(used),
                       updates=curve.MIN_STEPS, factor=curve.MAX_EPOCH_FACTOR)
    if any(strategies.get(c.strategy).on_features for c in configs):
        cost = _("**About {duration} in all** on {device}, a rough estimate from this machine's measured speed of "
                 "each network; feature extraction's features are computed once and shared by all its points.",
                 duration=costs.duration(sum(guesses)), device=device.type.upper())
    else:
        cost = _("**About {duration} in all** on {device}, a rough estimate from this machine's measured speed of "
                 "each network.", duration=costs.duration(sum(guesses)), device=device.type.upper())
    st.caption(_("{sentence} {next_sentence}", sentence=planned, next_sentence=cost))
    if slow and not set(slow) & set(chosen) and device.type == "cpu":
        st.caption(_("{strategy} is left out by default on a CPU: it trains the whole network for every point. Add it "
                     "above to see it too.", strategy=strategies.title(slow[0])))
    if st.button(_("Draw the curve"), key="start_curve", type="primary", icon=":material/show_chart:", disabled=busy):
        try:
            submitted = compare.submit(configs)
            st.session_state.curve_group = configs[0].group
            st.session_state.run_dir = str(submitted[-1].dir)
            st.rerun()
        except Exception as error:
            show_error(error)
    if busy:
        st.caption(_("A curve is being drawn below: stop it, or wait for it to end, to start another."))


def show_curve(known: list[str]) -> None:
    current = st.session_state.get("curve_group")
    group = st.selectbox(_("Curve"), known, index=known.index(current) if current in known else 0,
                         format_func=group_labels(known).get, key="curve_pick")
    members = [runs.Run(Path(p["run_dir"])) for p in curve.points(folder, group)]
    live = any(run_view.is_live(run) for run in members)

    @st.fragment(run_every=2.0 if live else None)
    @guarded
    def drawing() -> None:
        found = curve.points(folder, group)
        done = [p for p in found if p["status"] not in runs.ACTIVE]
        current = next((runs.Run(Path(p["run_dir"])) for p in found if p["status"] == "running"), None)
        view = run_view.follow(current) if current is not None else None  # read once: its bar and the whole's
        if len(done) < len(found):
            left = curve.time_left(found, lambda name: forward_ms(name, "auto"), view.eta_seconds if view else None)
            if left is not None:
                text = ngettext("{done} of {n} point drawn · about {left} left",
                                "{done} of {n} points drawn · about {left} left", len(found), done=len(done),
                                left=costs.duration(left))
            else:
                text = ngettext("{done} of {n} point drawn · a few seconds per point",
                                "{done} of {n} points drawn · a few seconds per point", len(found), done=len(done))
            st.progress(len(done) / len(found), text=text)
            if current is not None:
                config = current.config()
                if config.get("per_class"):
                    st.caption(_("Now: {strategy}, {size} per class", strategy=strategies.title(config["strategy"]),
                                 size=config["per_class"]))
                else:
                    st.caption(_("Now: {strategy}, all the examples", strategy=strategies.title(config["strategy"])))
                run_view.status_line(current, view, st.empty(), st.empty(),
                                     key="curve_now", stop_label=_("Stop this point"), stop_help=stop_one("curve"))
        lines, target_lines = {}, {}
        for point in found:
            if point["val_acc"] is not None:
                x = curve.x_value(point)
                tick = _("all") if point["per_class"] == "all" else str(point["per_class"])
                lines.setdefault(strategies.title(point["strategy"]), []).append((x, point["val_acc"], tick))
                if point.get(Summary.TARGET_ACC) is not None:
                    target_lines.setdefault(strategies.title(point["strategy"]), []).append(
                        (x, point[Summary.TARGET_ACC], tick))
        if lines:
            st.plotly_chart(charts.data_curve(lines, target_lines), key="curve_chart")
        sentences = curve.reading(found)
        if sentences:
            st.success("  \n".join(sentences), icon=":material/school:")
        st.dataframe(shown([{
            "strategy": strategies.title(p["strategy"]),
            "per class": _("all") if p["per_class"] == "all" else str(p["per_class"]),
            "training examples": "–" if p["train_examples"] is None else f"{p['train_examples']:,}",
            "validation accuracy": percent(p["val_acc"]),
            **({"target accuracy": percent(p.get(Summary.TARGET_ACC))} if p.get("target") else {}),
            "time": p["time"], "status": runs.status_words(p["status"])} for p in found]), hide_index=True,
            key="curve_table")
        if live and not any(p["status"] in runs.ACTIVE for p in found):
            st.rerun()

    drawing()
    group_actions(members, live, "curve", "curve")


if mode == "curve":
    section(curve.groups(folder), "curve-", plan_curve, show_curve,
            _("Load a dataset to draw its data-efficiency curve."))
else:
    section(compare.groups(folder), "compare-", plan_side_by_side, show_group,
            _("Load a dataset to start a comparison."))
