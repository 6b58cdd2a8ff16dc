"""Plotly figures built from plain data (events, counts, matrices): no torch, no streamlit.

Every title, axis, legend entry and hover text is in the current language (core/i18n.py): a figure is built
when it is shown, never cached across languages. ``noun`` arguments are codes ("images" | "texts").
"""

from __future__ import annotations

import math

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from core import i18n
from core.i18n import _

TRAIN_COLOR, VAL_COLOR = "#1f77b4", "#ff7f0e"
TARGET_COLOR = "#2ca02c"  # the target (where the model will be used)
# Strong, distinct colours for categories (Tableau 10 without its grey): Streamlit's own palette ends in a
# light grey that vanishes on a white background (class 9 of the digits did). Beyond ten, symbols change too.
PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22",
           "#393b79"]
SYMBOLS = ["circle", "diamond", "square", "triangle-up", "x", "cross"]
# Plotly's toolbar (the modebar: zoom, pan, download) appears in the top right corner of a chart under the
# pointer, over whatever is drawn there. Every figure keeps this band at its top free for it: titles, subplot
# titles and legends start below (``_below_toolbar``).
TOOLBAR = 30  # pixels: the toolbar's height and its gap to the edge


def _below_toolbar(figure: go.Figure) -> go.Figure:
    """The figure with its top margin (and height: the plot keeps its size) grown by the toolbar's band, and its
    title placed just under that band."""
    margin = figure.layout.margin.t if figure.layout.margin.t is not None else 80  # Plotly's default: 80
    figure.update_layout(margin_t=margin + TOOLBAR, height=(figure.layout.height or 450) + TOOLBAR)
    if figure.layout.title.text:
        figure.update_layout(title=dict(yref="container", y=1, yanchor="top", pad=dict(t=TOOLBAR)))
    return figure


def _texts(noun: str) -> bool:
    """Whether a ``noun`` code means texts ("texts", or the modality "text"); anything else: images."""
    return noun in ("texts", "text")


def class_counts(counts: list[dict], noun: str = "images") -> go.Figure:
    names = [row.get("title") or row["class"] for row in counts]  # the names given to the classes, where given
    figure = go.Figure([go.Bar(name=_("train"), x=names, y=[r["train"] for r in counts], marker_color=TRAIN_COLOR),
                        go.Bar(name=_("validation"), x=names, y=[r["val"] for r in counts], marker_color=VAL_COLOR)])
    texts = _texts(noun)
    figure.update_layout(barmode="stack", height=320, margin=dict(l=10, r=10, t=50, b=10),
                         title=_("Texts per class") if texts else _("Images per class"), xaxis_title=_("class"),
                         yaxis_title=_("texts") if texts else _("images"),
                         xaxis_type="category", legend=dict(orientation="h", x=1, xanchor="right", y=1.02,
                                                            yanchor="bottom"))
    return _below_toolbar(figure)


def learning_curves(history: list[dict]) -> go.Figure:
    """Loss and accuracy per epoch, train vs validation, side by side."""
    figure = make_subplots(rows=1, cols=2, subplot_titles=(_("Loss (lower is better)"),
                                                            _("Accuracy (higher is better)")))
    epochs = [e["epoch"] for e in history]
    for column, metric in ((1, "loss"), (2, "acc")):
        for split, color in (("train", TRAIN_COLOR), ("val", VAL_COLOR)):
            figure.add_trace(go.Scatter(x=epochs, y=[e[f"{split}_{metric}"] for e in history], mode="lines+markers",
                                        name=_("train") if split == "train" else _("validation"), line_color=color,
                                        showlegend=column == 1, legendgroup=split), row=1, col=column)
    previous = None
    for record in history:  # gradual unfreezing: where each stage begins
        stage = record.get("stage")
        if stage is not None and stage != previous and record["epoch"] > 1:
            for column in (1, 2):
                label = dict(annotation_text=_("stage {stage}", stage=stage),
                             annotation_position="top left") if column == 1 else {}
                figure.add_vline(x=record["epoch"] - 0.5, line_dash="dot", line_color="#888", row=1, col=column,
                                 **label)
        previous = stage
    figure.update_xaxes(title_text=_("epoch"), dtick=1 if len(epochs) <= 15 else None)  # whole epochs only
    figure.update_yaxes(range=[0, 1.02], tickformat=".0%", row=1, col=2)  # in percent, as every number shown
    figure.update_traces(hovertemplate=_("epoch %{x}: %{y:.1%}"), row=1, col=2)  # Plotly's fields
    figure.update_layout(height=340, margin=dict(l=10, r=10, t=40, b=10), legend_orientation="h", legend_y=-0.25)
    return _below_toolbar(figure)


def confusion_matrix(matrix: list[list[int]], classes: list[str], marked: tuple[int, int] | None = None) -> go.Figure:
    """The heat map, plus one nearly invisible square marker per cell: Streamlit reports clicks on
    markers (not on heat-map cells), so clicking a cell selects its marker, numbered row by row.
    ``marked`` (true, predicted): the cell whose examples are shown, framed."""
    figure = go.Figure(go.Heatmap(z=matrix, x=classes, y=classes, colorscale="Blues", text=matrix,
                                  texttemplate="%{text}", hoverinfo="skip"))
    size = max(320, 40 * len(classes) + 120)
    cells = [(i, j) for i in range(len(classes)) for j in range(len(classes))]
    figure.add_trace(go.Scatter(
        x=[classes[j] for _i, j in cells], y=[classes[i] for i, _j in cells], mode="markers", showlegend=False,
        marker=dict(symbol="square", size=max(8, (size - 150) // max(len(classes), 1) - 4), opacity=0.01,
                    color="#000"),
        customdata=[matrix[i][j] for i, j in cells],
        # Plotly's %{...} fields, not Python placeholders: the translation keeps them as they are
        hovertemplate=_("true %{y}, predicted %{x}: %{customdata}<br>click to see them")
        + "<extra></extra>"))  # not-translated: Plotly's markup (no second box)
    figure.update_layout(height=size, xaxis_title=_("predicted class"), yaxis_title=_("true class"),
                         xaxis_type="category", yaxis_type="category", yaxis_autorange="reversed",
                         margin=dict(l=10, r=10, t=30, b=10), title=_("Confusion matrix (validation)"))
    if marked is not None:  # category axes: cell k spans k - 0.5 .. k + 0.5
        true, predicted = marked
        figure.add_shape(type="rect", x0=predicted - 0.5, x1=predicted + 0.5, y0=true - 0.5, y1=true + 0.5,
                         line=dict(color=VAL_COLOR, width=4), fillcolor="rgba(0,0,0,0)")
    return _below_toolbar(figure)


def token_lengths(lengths: list[int], max_length: int) -> go.Figure:
    """How long the texts are in tokens, with the cut-off the model will use."""
    figure = go.Figure(go.Histogram(x=lengths, nbinsx=40, marker_color=TRAIN_COLOR))
    figure.add_vline(x=max_length, line_dash="dash", line_color=VAL_COLOR)
    # the label sits above the plotting area, where no bar can be under it
    figure.add_annotation(x=max_length, y=1, yref="paper", yanchor="bottom", xanchor="left", showarrow=False,
                          text=_("max length {max_length}", max_length=max_length), font_color=VAL_COLOR)
    cut = sum(length > max_length for length in lengths) / max(len(lengths), 1)
    figure.update_layout(height=320, margin=dict(l=10, r=10, t=70, b=10), xaxis_title=_("tokens per text"),
                         yaxis_title=_("texts"),
                         title=_("Text lengths in tokens ({cut:.0%} longer than the max length)", cut=cut))
    return _below_toolbar(figure)


def overlay(histories: dict[str, list[dict]], metric: str = "val_acc") -> go.Figure:
    """One line per run: the chosen per-epoch metric, so runs can be compared on one chart."""
    titles = {"val_acc": _("Validation accuracy"), "val_loss": _("Validation loss"),
              "train_acc": _("Training accuracy"), "train_loss": _("Training loss")}
    figure = go.Figure([go.Scatter(x=[e["epoch"] for e in history], y=[e[metric] for e in history],
                                   mode="lines+markers", name=name, line_color=PALETTE[index % len(PALETTE)])
                        for index, (name, history) in enumerate(histories.items())])
    figure.update_layout(height=360, margin=dict(l=10, r=10, t=40, b=10), title=titles.get(metric, metric),
                         xaxis_title=_("epoch"), legend_orientation="h", legend_y=-0.25)
    longest = max((len(history) for history in histories.values()), default=0)
    figure.update_xaxes(dtick=1 if longest <= 15 else None)  # whole epochs only
    if metric.endswith("acc"):
        figure.update_yaxes(range=[0, 1.02], tickformat=".0%")
    return _below_toolbar(figure)


def top_classes(probabilities, labels: list[str], k: int = 5) -> go.Figure:
    """The k most likely classes as horizontal bars, the most likely on top."""
    order = sorted(range(len(labels)), key=lambda i: -float(probabilities[i]))[:k]
    figure = go.Figure(go.Bar(x=[float(probabilities[i]) for i in order][::-1], y=[labels[i] for i in order][::-1],
                              orientation="h", marker_color=[TRAIN_COLOR] * (len(order) - 1) + [VAL_COLOR],
                              text=[f"{float(probabilities[i]):.1%}" for i in order][::-1],
                              textposition="outside", textangle=0, cliponaxis=False))  # never turned sideways
    figure.update_layout(height=60 + 36 * len(order), margin=dict(l=10, r=40, t=10, b=10),
                         xaxis=dict(range=[0, 1.18], tickformat=".0%", tickvals=[0, 0.25, 0.5, 0.75, 1]),
                         yaxis_type="category", uniformtext=dict(minsize=11, mode="show"))
    return _below_toolbar(figure)


def embedding_scatter(points: list[list[float]], labels: list[int], classes: list[str], title: str) -> go.Figure:
    figure = go.Figure()
    for index, name in enumerate(classes):
        chosen = [p for p, label in zip(points, labels) if label == index]
        if chosen:
            figure.add_trace(go.Scatter(x=[p[0] for p in chosen], y=[p[1] for p in chosen], mode="markers",
                                        name=name, marker=dict(size=7, opacity=0.85, color=PALETTE[index % 10],
                                                               symbol=SYMBOLS[index // 10 % len(SYMBOLS)],
                                                               line=dict(width=0.5, color="#333333"))))
    figure.update_layout(height=380, title=title, margin=dict(l=10, r=10, t=40, b=10), legend_orientation="h",
                         legend_y=-0.1, xaxis=dict(showticklabels=False), yaxis=dict(showticklabels=False))
    return _below_toolbar(figure)


def data_curve(lines: dict[str, list[tuple[float, float, str]]],
               target_lines: dict[str, list[tuple[float, float, str]]] | None = None,
               labelled: bool = False) -> go.Figure:
    """Validation accuracy against examples per class (log scale), one line per strategy; with a target, each
    strategy's target accuracy as a dashed line of the same colour. ``lines``: name -> [(examples per class,
    accuracy, tick label)]. ``labelled``: each point's accuracy written beside it (the first line's above its
    points, the others' below), to be read from the back of a classroom."""
    figure = go.Figure()
    ticks = {}
    colours = {name: PALETTE[index % len(PALETTE)] for index, name in enumerate(lines)}
    for index, (name, points) in enumerate(lines.items()):
        points = sorted(points)
        figure.add_trace(go.Scatter(x=[p[0] for p in points], y=[p[1] for p in points],
                                    mode="lines+markers+text" if labelled else "lines+markers",
                                    text=[i18n.percent(p[1]) for p in points] if labelled else None,
                                    textposition="top center" if index == 0 else "bottom center",
                                    textfont_color=colours[name], line_color=colours[name], name=name,
                                    hovertemplate=_("%{y:.1%} with %{x:.0f} per class")  # Plotly's fields
                                    + "<extra>" + name + "</extra>"))  # not-translated: Plotly's markup
        ticks.update({p[0]: p[2] for p in points})
    for name, points in (target_lines or {}).items():
        points = sorted(points)
        shown = _("{strategy}, on the target", strategy=name)
        figure.add_trace(go.Scatter(x=[p[0] for p in points], y=[p[1] for p in points], mode="lines+markers",
                                    line=dict(color=colours.get(name, TARGET_COLOR), dash="dash"),
                                    marker_symbol="diamond", name=shown,
                                    hovertemplate=_("%{y:.1%} with %{x:.0f} per class")  # Plotly's fields
                                    + "<extra>" + shown + "</extra>"))  # not-translated: Plotly's markup
        ticks.update({p[0]: p[2] for p in points})
    figure.update_layout(height=380, margin=dict(l=10, r=10, t=40, b=10), title=_("How much data each strategy needs"),
                         xaxis=dict(title=_("training examples per class (log scale)"), type="log",
                                    tickvals=list(ticks), ticktext=list(ticks.values())),
                         yaxis=dict(title=_("accuracy (solid: validation; dashed: target)") if target_lines
                                    else _("validation accuracy"), range=[0, 1.1 if labelled else 1.02],
                                    tickvals=[0, 0.2, 0.4, 0.6, 0.8, 1.0], tickformat=".0%"),  # labels above 100%
                         legend=dict(orientation="h", y=-0.25))
    return _below_toolbar(figure)


def source_and_target(rows: list[tuple[str, float | None, float | None]]) -> go.Figure:
    """Each run's best validation accuracy beside its target accuracy: ``rows`` of (name, validation, target). Long
    run names are wrapped onto lines under their bars; the legend sits above the plot."""
    names = [_wrapped(name) for name, _val, _target in rows]
    shown = lambda value: i18n.percent(value) if value is not None else ""  # noqa: E731
    figure = go.Figure([
        go.Bar(x=names, y=[val for _name, val, _target in rows], name=_("validation accuracy (training data)"),
               marker_color=VAL_COLOR, text=[shown(val) for _n, val, _t in rows], textposition="outside",
               cliponaxis=False),
        go.Bar(x=names, y=[target for _name, _val, target in rows], name=_("target accuracy"),
               marker_color=TARGET_COLOR, text=[shown(t) for _n, _v, t in rows], textposition="outside",
               cliponaxis=False)])
    lines = max((name.count("<br>") + 1 for name in names), default=1)
    figure.update_layout(height=380 + 18 * lines, margin=dict(l=10, r=10, t=60, b=10 + 16 * lines), barmode="group",
                         title=_("On the training data and on the target"),
                         xaxis=dict(tickangle=0, automargin=True),
                         yaxis=dict(range=[0, 1.15], tickformat=".0%"),
                         legend=dict(orientation="h", x=1, xanchor="right", y=1.02, yanchor="bottom"))
    return _below_toolbar(figure)


def _wrapped(name: str, width: int = 22) -> str:
    """A label broken onto lines of about ``width`` columns: between words, and between the characters of a
    script written without spaces (each counted two columns wide)."""
    wide = lambda text: sum(2 if ord(c) > 0x2E80 else 1 for c in text)  # noqa: E731
    pieces = []  # (text, a space before it)
    for word in name.split(" "):
        parts = list(word) if wide(word) > len(word) else [word]
        pieces += [(part, i == 0 and bool(pieces)) for i, part in enumerate(parts)]
    lines, line = [], ""
    for part, spaced in pieces:
        joined = line + (" " if spaced and line else "") + part
        if line and wide(joined) > width:
            lines.append(line)
            line = part
        else:
            line = joined
    return "<br>".join(lines + [line])


def lr_range(rates: list[float], losses: list[float], suggested: float | None, current: float | None) -> go.Figure:
    """The range test: smoothed training loss against the learning rate (log scale), the suggestion marked."""
    shown = [(rate, loss) for rate, loss in zip(rates, losses) if loss == loss and loss != float("inf")]
    figure = go.Figure(go.Scatter(x=[r for r, _loss in shown], y=[l for _rate, l in shown], mode="lines",
                                  line_color=TRAIN_COLOR, name=_("training loss (smoothed)")))
    # each line's label beside it: on a log axis an annotation's x is the exponent (add_vline's own label would
    # sit at the rate read as an exponent, at the far right)
    if suggested:
        figure.add_vline(x=suggested, line_color="#2ca02c", line_dash="dash")
        figure.add_annotation(x=math.log10(suggested), y=1, yref="paper", xanchor="right", yanchor="top",
                              showarrow=False, font_color="#2ca02c", text=_("suggested {rate:.1e}", rate=suggested))
    if current:
        figure.add_vline(x=current, line_color="#7f7f7f", line_dash="dot")
        figure.add_annotation(x=math.log10(current), y=0, yref="paper", xanchor="left", yanchor="bottom",
                              showarrow=False, font_color="#7f7f7f", text=_("now {rate:.1e}", rate=current))
    lowest = min((l for _rate, l in shown), default=0.0)
    start = shown[0][1] if shown else 1.0
    figure.update_layout(height=300, margin=dict(l=10, r=10, t=30, b=10), showlegend=False,
                         xaxis=dict(type="log", title=_("learning rate")),
                         yaxis=dict(title=_("training loss"), range=[lowest * 0.9, start * 1.6]))
    return _below_toolbar(figure)


def membership_losses(members: list[float], others: list[float], noun: str) -> go.Figure:
    """The audit's two loss distributions: the further apart, the more the model gives away."""
    import math

    figure = go.Figure()
    if _texts(noun):
        names = _("training texts (members)"), _("validation texts (never seen)")
    else:
        names = _("training images (members)"), _("validation images (never seen)")
    for name, values, color in ((names[0], members, TRAIN_COLOR), (names[1], others, VAL_COLOR)):
        figure.add_trace(go.Histogram(x=[math.log10(max(v, 1e-6)) for v in values], name=name, marker_color=color,
                                      opacity=0.6, histnorm="percent", nbinsx=30))
    figure.update_layout(barmode="overlay", height=300, margin=dict(l=10, r=10, t=30, b=10),
                         xaxis_title=_("loss on the example (log10)"), yaxis_title=_("% of the group"),
                         legend=dict(orientation="h", y=-0.3))
    return _below_toolbar(figure)
