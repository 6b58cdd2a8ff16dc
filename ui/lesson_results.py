"""What a lesson's step measured, drawn from the numbers ``core.lessons.run`` kept (keyed by step id): the
accuracies as metrics, the data-efficiency curve, the embedding map of the pretrained features.

Nothing here trains or computes features: the map is the one the step measured (kept in its run folder), the
curve's points are the kept numbers (plus each full-data run's summary, for where it sits on the axis). A step
of a lesson not listed in ``DRAWN`` (a plugin's) shows every accuracy it finds, else its numbers as they are.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import streamlit as st

from core import adaptation, costs, i18n, runs, strategies
from core.i18n import _
from core.runs import Summary
from ui import charts
from ui.widgets import highlighted_text, millions, percent

TALL = 420  # a chart's height in presenter mode: taller for a projector, the notice and buttons still near

Drawn = Callable[[dict, str, bool], None]  # (every step's numbers, the step's id, presenting)


def show(lesson_id: str, step_id: str, numbers: dict[str, dict], presenting: bool) -> None:
    """The result of ``step_id`` of ``lesson_id``, from ``numbers`` (every step's)."""
    DRAWN.get((lesson_id, step_id), _anything)(numbers, step_id, presenting)


def _gap(value: float, other: float) -> dict:
    """st.metric's delta: ``value`` against ``other`` in percentage points, signed (st.metric colours by the sign;
    no colour when they read the same)."""
    gap = i18n.points(value, other)
    sign = "-" if value < other else "+"
    return {"delta": _("{gap} points", gap=sign + gap),
            "delta_color": "off" if gap == i18n.points(0.0, 0.0) else "normal"}


def scores(entries: list[dict], presenting: bool = False, labels: list[str] | None = None) -> None:
    """One metric per run (each entry: ``lessons.accuracy``'s numbers), side by side; each after the first with
    its gap to the first. ``labels``: what to call each (default: its strategy's title)."""
    labels = labels or [strategies.title(entry["strategy"]) for entry in entries]
    for column, entry, label in zip(st.columns(len(entries)), entries, labels):
        with column:
            first = entries[0]
            st.metric(label, percent(entry["accuracy"]),
                      **({} if entry is first else _gap(entry["accuracy"], first["accuracy"])),
                      help=_("Best validation accuracy, on {n:,} validation examples.", n=entry.get("val_images") or 0))
            details = []
            if entry.get("trainable_params") is not None:
                details.append(_("{params} parameters trained", params=millions(entry["trainable_params"])))
            if entry.get("seconds") is not None:
                details.append(_("{time} of training", time=costs.duration(entry["seconds"])))
            if details and not presenting:
                st.caption(" · ".join(details))
            elif details:
                st.markdown(" · ".join(details))


def _few(numbers: dict, step_id: str, presenting: bool) -> None:
    found = numbers[step_id]
    scores([found["transfer"], found["scratch"]], presenting)


def _extract_or_tune(numbers: dict, step_id: str, presenting: bool) -> None:
    if step_id == "extract" or "extract" not in numbers:
        scores([numbers[step_id]], presenting)
    else:  # fine-tuning beside what feature extraction reached on the screen before
        scores([numbers["extract"], numbers[step_id]], presenting)


def _texts(numbers: dict, step_id: str, presenting: bool) -> None:
    found = numbers[step_id]
    scores([found["pretrained"], found["tfidf"], found["lstm"]], presenting,
           [_("Pretrained language model (its features)"), strategies.title(found["tfidf"]["strategy"]),
            _("LSTM from scratch")])


def _domains(numbers: dict, step_id: str, presenting: bool) -> None:
    """Source and target accuracy; adapted, each beside the plain run's (adapting may cost on the source what it
    wins on the target), and the method chosen."""
    found = numbers[step_id]
    plain = numbers.get("plain") if step_id != "plain" else None
    columns = st.columns(3)
    columns[0].metric(_("On the source (validation)"), percent(found["accuracy"]),
                      **(_gap(found["accuracy"], plain["accuracy"]) if plain else {}),
                      help=_("Best validation accuracy, on {n:,} validation examples.", n=found.get("val_images") or 0))
    target = found.get("target_accuracy")
    against = plain["target_accuracy"] if plain and plain.get("target_accuracy") is not None else found["accuracy"]
    columns[1].metric(_("On the target"), percent(target), **(_gap(target, against) if target is not None else {}),
                      help=_("Accuracy on the {n:,} target examples (their labels are used only to score).",
                             n=found.get("target_items") or 0))
    method = found.get("adapt") or "none"
    known = method in adaptation.names()
    columns[2].metric(_("Adaptation"), adaptation.get(method).short if known else method,  # short: not cut off
                      help=adaptation.title(method) if known else None)


def _audit(numbers: dict, step_id: str, presenting: bool) -> None:
    """Accuracy and the membership audit's AUC; trained privately, each beside the plain model's."""
    found = numbers[step_id]
    plain = numbers.get("plain") if step_id != "plain" else None
    left, right = st.columns(2)
    left.metric(_("Accuracy"), percent(found["accuracy"]),
                **(_gap(found["accuracy"], plain["accuracy"]) if plain else {}),
                help=_("Best validation accuracy, on {n:,} validation examples.", n=found.get("val_images") or 0))
    right.metric(_("Membership attack AUC"), i18n.number(found["auc"], 2),
                 delta=f"{found['auc'] - plain['auc']:+.2f}" if plain else None, delta_color="inverse",
                 help=_("0.5: the audit cannot tell training examples from unseen ones; 1: it always can."))
    right.caption(_("95% interval: {low} to {high}", low=i18n.number(found["auc_low"], 2),
                    high=i18n.number(found["auc_high"], 2)))


@st.cache_data(max_entries=16, show_spinner=False)
def _kept_map(folder: str, written: float) -> tuple[dict | None, list[str]]:
    """The embedding map a step kept in ``folder`` and the class names (``written``: the file's time, the key)."""
    run = runs.Run(Path(folder))
    return run.embedding_map("pca"), run.class_titles()


def _map(numbers: dict, step_id: str, presenting: bool) -> None:
    """The validation examples placed by the pretrained features (the map the step measured), and how far apart
    the classes sit."""
    found = numbers[step_id]
    path = Path(found["map_run"]) / "embedding_map-pca.json"
    drawn, classes = _kept_map(found["map_run"], path.stat().st_mtime) if path.is_file() else (None, [])
    left, right = st.columns([1, 4] if not presenting else [1, 5])
    left.metric(_("Separation"), i18n.number(found["separation"], 2),
                help=_("How far apart the classes sit, relative to their spread (between / within distances): the "
                       "larger, the better the features alone tell the classes apart."))
    if drawn is None:
        right.info(_("The map is not kept any more: prepare the lesson again to draw it."), icon=":material/info:")
        return
    figure = charts.embedding_scatter(drawn["before"], drawn["labels"], classes,
                                      _("Pretrained backbone (before training)"))
    right.plotly_chart(_for_projector(figure) if presenting else figure, key="lesson_map")


def _curve_x(point: dict) -> float:
    """Where a point sits: its examples per class; all the data, the training examples per class it had."""
    if point.get("per_class"):
        return float(point["per_class"])
    summary = runs.Run(Path(point["dir"])).summary() or {}
    return (summary.get(Summary.TRAIN_IMAGES) or 0) / max(1, summary.get("num_classes") or 1)


def _curve(numbers: dict, step_id: str, presenting: bool) -> None:
    lines: dict[str, list[tuple[float, float, str]]] = {}
    for point in numbers[step_id]["points"]:
        tick = str(point["per_class"]) if point.get("per_class") else _("all")
        lines.setdefault(strategies.title(point["strategy"]), []).append((_curve_x(point), point["accuracy"], tick))
    figure = charts.data_curve(lines, labelled=True)
    st.plotly_chart(_for_projector(figure) if presenting else figure, key="lesson_curve")


def _for_projector(figure):
    """Taller, with larger type, for the back of a classroom."""
    figure.update_layout(height=TALL, font_size=18, title_font_size=22, legend_font_size=18)
    figure.update_xaxes(tickfont_size=16, title_font_size=16)
    figure.update_yaxes(tickfont_size=16, title_font_size=16)
    figure.update_traces(marker_size=12)
    return figure


def _pretrain_transfer(numbers: dict, step_id: str, presenting: bool) -> None:
    if step_id == "pretrain":
        scores([numbers[step_id]], presenting, labels=[_("Your network, pretrained on the clean digits")])
    else:
        found = numbers[step_id]
        scores([found["transfer"], found["scratch"]], presenting,
               labels=[_("Your pretrained network, a new head"), _("The same network from scratch")])


def _mistakes(numbers: dict, step_id: str, presenting: bool) -> None:
    """How many mistakes; the first few with their heat maps (drawn when the lesson was prepared); the pairs
    confused most."""
    found = numbers[step_id]
    left, right = st.columns(2)
    left.metric(_("Validation accuracy"), percent(found["accuracy"]))
    right.metric(_("Mistakes"), _("{mistakes} of {n}", mistakes=found["mistakes"], n=found["validated"]))
    pictures = [item for item in found.get("shown", []) if Path(item["picture"]).is_file()]
    if pictures:
        grid = st.columns(6)
        for column, item in zip(grid, pictures):  # small enough that the table and Next stay on a projector's screen
            column.image(item["picture"], width=150 if presenting else "stretch")
            column.caption(_("true **{true}** → {predicted} ({confidence:.0%})", true=item["true"],
                             predicted=item["predicted"], confidence=item.get("confidence") or 0.0))
    if found["confused"]:
        st.dataframe([{_("true class"): pair["true"], _("answered"): pair["predicted"], _("times"): pair["count"]}
                      for pair in found["confused"]], hide_index=True)
    st.page_link("pages/4_results.py", label=_("See each mistake and where the model looked (Results)"),
                 icon=":material/visibility:", query_params={"run": found["dir"]})


def _words(numbers: dict, step_id: str, presenting: bool) -> None:
    """The language model's first text mistakes, each word coloured by how it pushed the wrong answer."""
    found = numbers[step_id]
    left, right = st.columns(2)
    left.metric(_("Validation accuracy"), percent(found["accuracy"]))
    right.metric(_("Mistakes"), _("{mistakes} of {n}", mistakes=found["mistakes"], n=found["validated"]))
    for item in found.get("shown", [])[:2 if presenting else 3]:
        words = [tuple(word) for word in item["words"]]
        with st.container(border=True, height=220 if presenting else 180):
            st.markdown(highlighted_text(words, item.get("separators"), large=presenting), unsafe_allow_html=True)
        st.caption(_("true **{true}** → {predicted} ({confidence:.0%}); colours: {method}", true=item["true"],
                     predicted=item["predicted"], confidence=item.get("confidence") or 0.0,
                     method=_(item["method"])))


def _anything(numbers: dict, step_id: str, presenting: bool) -> None:
    """A step this file does not know: every accuracy in its numbers, else the numbers as they are."""
    found = numbers[step_id]
    entries = [found] if "accuracy" in found else [v for v in found.values() if isinstance(v, dict) and "accuracy" in v]
    if entries and all("strategy" in entry for entry in entries):
        scores(entries, presenting)
    else:
        st.json(found, expanded=False)


DRAWN: dict[tuple[str, str], Drawn] = {
    ("pretrained", "map"): _map, ("pretrained", "few"): _few,
    ("extract_or_tune", "extract"): _extract_or_tune, ("extract_or_tune", "tune"): _extract_or_tune,
    ("how_much_data", "curve"): _curve,
    ("domain_shift", "plain"): _domains, ("domain_shift", "adapted"): _domains,
    ("texts", "three"): _texts,
    ("privacy", "plain"): _audit, ("privacy", "private"): _audit,
    ("pretrain_transfer", "pretrain"): _pretrain_transfer, ("pretrain_transfer", "transfer"): _pretrain_transfer,
    ("look_inside", "mistakes"): _mistakes, ("look_inside", "words"): _words,
}
