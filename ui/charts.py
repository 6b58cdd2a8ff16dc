"""Plotly figures built from plain data (events, counts, matrices): no torch, no streamlit."""

from __future__ import annotations

import plotly.graph_objects as go
from plotly.subplots import make_subplots

TRAIN_COLOR, VAL_COLOR = "#1f77b4", "#ff7f0e"
# Strong, distinct colours for categories (Tableau 10 without its grey): Streamlit's own palette ends in a
# light grey that vanishes on a white background (class 9 of the digits did). Beyond ten, symbols change too.
PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22",
           "#393b79"]
SYMBOLS = ["circle", "diamond", "square", "triangle-up", "x", "cross"]


def class_counts(counts: list[dict], noun: str = "images") -> go.Figure:
    names = [row["class"] for row in counts]
    figure = go.Figure([go.Bar(name="train", x=names, y=[r["train"] for r in counts], marker_color=TRAIN_COLOR),
                        go.Bar(name="validation", x=names, y=[r["val"] for r in counts], marker_color=VAL_COLOR)])
    figure.update_layout(barmode="stack", height=320, margin=dict(l=10, r=10, t=50, b=10),
                         title=f"{noun.capitalize()} per class", xaxis_title="class", yaxis_title=noun,
                         xaxis_type="category", legend=dict(orientation="h", x=1, xanchor="right", y=1.02,
                                                            yanchor="bottom"))
    return figure


def learning_curves(history: list[dict]) -> go.Figure:
    """Loss and accuracy per epoch, train vs validation, side by side."""
    figure = make_subplots(rows=1, cols=2, subplot_titles=("Loss (lower is better)", "Accuracy (higher is better)"))
    epochs = [e["epoch"] for e in history]
    for column, metric in ((1, "loss"), (2, "acc")):
        for split, color in (("train", TRAIN_COLOR), ("val", VAL_COLOR)):
            figure.add_trace(go.Scatter(x=epochs, y=[e[f"{split}_{metric}"] for e in history], mode="lines+markers",
                                        name="train" if split == "train" else "validation", line_color=color,
                                        showlegend=column == 1, legendgroup=split), row=1, col=column)
    previous = None
    for record in history:  # gradual unfreezing: where each stage begins
        stage = record.get("stage")
        if stage is not None and stage != previous and record["epoch"] > 1:
            for column in (1, 2):
                label = dict(annotation_text=f"stage {stage}", annotation_position="top left") if column == 1 else {}
                figure.add_vline(x=record["epoch"] - 0.5, line_dash="dot", line_color="#888", row=1, col=column,
                                 **label)
        previous = stage
    figure.update_xaxes(title_text="epoch", dtick=1 if len(epochs) <= 15 else None)
    figure.update_yaxes(range=[0, 1.02], row=1, col=2)
    figure.update_layout(height=340, margin=dict(l=10, r=10, t=40, b=10), legend_orientation="h", legend_y=-0.25)
    return figure


def confusion_matrix(matrix: list[list[int]], classes: list[str], marked: tuple[int, int] | None = None) -> go.Figure:
    """The heat map, plus one nearly invisible square marker per cell: Streamlit reports clicks on
    markers (not on heat-map cells), so clicking a cell selects its marker, numbered row by row.
    ``marked`` (true, predicted): the cell whose examples are shown, framed."""
    figure = go.Figure(go.Heatmap(z=matrix, x=classes, y=classes, colorscale="Blues", text=matrix,
                                  texttemplate="%{text}", hoverinfo="skip"))
    size = max(320, 40 * len(classes) + 120)
    cells = [(i, j) for i in range(len(classes)) for j in range(len(classes))]
    figure.add_trace(go.Scatter(
        x=[classes[j] for _, j in cells], y=[classes[i] for i, _ in cells], mode="markers", showlegend=False,
        marker=dict(symbol="square", size=max(8, (size - 150) // max(len(classes), 1) - 4), opacity=0.01,
                    color="#000"),
        customdata=[matrix[i][j] for i, j in cells],
        hovertemplate="true %{y}, predicted %{x}: %{customdata}<br>click to see them<extra></extra>"))
    figure.update_layout(height=size, xaxis_title="predicted class", yaxis_title="true class",
                         xaxis_type="category", yaxis_type="category", yaxis_autorange="reversed",
                         margin=dict(l=10, r=10, t=30, b=10), title="Confusion matrix (validation)")
    if marked is not None:  # category axes: cell k spans k - 0.5 .. k + 0.5
        true, predicted = marked
        figure.add_shape(type="rect", x0=predicted - 0.5, x1=predicted + 0.5, y0=true - 0.5, y1=true + 0.5,
                         line=dict(color=VAL_COLOR, width=4), fillcolor="rgba(0,0,0,0)")
    return figure


def token_lengths(lengths: list[int], max_length: int) -> go.Figure:
    """How long the texts are in tokens, with the cut-off the model will use."""
    figure = go.Figure(go.Histogram(x=lengths, nbinsx=40, marker_color=TRAIN_COLOR))
    figure.add_vline(x=max_length, line_dash="dash", line_color=VAL_COLOR)
    # the label sits above the plotting area, where no bar can be under it
    figure.add_annotation(x=max_length, y=1, yref="paper", yanchor="bottom", xanchor="left", showarrow=False,
                          text=f"max length {max_length}", font_color=VAL_COLOR)
    cut = sum(length > max_length for length in lengths) / max(len(lengths), 1)
    figure.update_layout(height=320, margin=dict(l=10, r=10, t=70, b=10), xaxis_title="tokens per text",
                         yaxis_title="texts", title=f"Text lengths in tokens ({cut:.0%} longer than the max length)")
    return figure


def overlay(histories: dict[str, list[dict]], metric: str = "val_acc") -> go.Figure:
    """One line per run: the chosen per-epoch metric, so runs can be compared on one chart."""
    titles = {"val_acc": "Validation accuracy", "val_loss": "Validation loss", "train_acc": "Training accuracy",
              "train_loss": "Training loss"}
    figure = go.Figure([go.Scatter(x=[e["epoch"] for e in history], y=[e[metric] for e in history],
                                   mode="lines+markers", name=name, line_color=PALETTE[index % len(PALETTE)])
                        for index, (name, history) in enumerate(histories.items())])
    figure.update_layout(height=360, margin=dict(l=10, r=10, t=40, b=10), title=titles.get(metric, metric),
                         xaxis_title="epoch", legend_orientation="h", legend_y=-0.25)
    if metric.endswith("acc"):
        figure.update_yaxes(range=[0, 1.02])
    return figure


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
    return figure


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
    return figure


def data_curve(lines: dict[str, list[tuple[float, float, str]]]) -> go.Figure:
    """Validation accuracy against examples per class (log scale), one line per strategy.
    ``lines``: name -> [(examples per class, accuracy, tick label)]."""
    figure = go.Figure()
    ticks = {}
    for name, points in lines.items():
        points = sorted(points)
        figure.add_trace(go.Scatter(x=[p[0] for p in points], y=[p[1] for p in points], mode="lines+markers",
                                    line_color=PALETTE[len(figure.data) % len(PALETTE)], name=name, hovertemplate="%{y:.1%} with %{x:.0f} per class<extra>" + name + "</extra>"))
        ticks.update({p[0]: p[2] for p in points})
    figure.update_layout(height=380, margin=dict(l=10, r=10, t=40, b=10), title="How much data each strategy needs",
                         xaxis=dict(title="training examples per class (log scale)", type="log",
                                    tickvals=list(ticks), ticktext=list(ticks.values())),
                         yaxis=dict(title="validation accuracy", range=[0, 1.02], tickformat=".0%"),
                         legend=dict(orientation="h", y=-0.25))
    return figure


def lr_range(rates: list[float], losses: list[float], suggested: float | None, current: float | None) -> go.Figure:
    """The range test: smoothed training loss against the learning rate (log scale), the suggestion marked."""
    shown = [(rate, loss) for rate, loss in zip(rates, losses) if loss == loss and loss != float("inf")]
    figure = go.Figure(go.Scatter(x=[r for r, _ in shown], y=[l for _, l in shown], mode="lines",
                                  line_color=TRAIN_COLOR, name="training loss (smoothed)"))
    if suggested:
        figure.add_vline(x=suggested, line_color="#2ca02c", line_dash="dash",
                         annotation_text=f"suggested {suggested:.1e}", annotation_position="top left")
    if current:
        figure.add_vline(x=current, line_color="#7f7f7f", line_dash="dot",
                         annotation_text=f"now {current:.1e}", annotation_position="bottom right")
    lowest = min((l for _, l in shown), default=0.0)
    start = shown[0][1] if shown else 1.0
    figure.update_layout(height=300, margin=dict(l=10, r=10, t=30, b=10), showlegend=False,
                         xaxis=dict(type="log", title="learning rate"), yaxis=dict(title="training loss",
                                                                                 range=[lowest * 0.9, start * 1.6]))
    return figure


def membership_losses(members: list[float], others: list[float], noun: str) -> go.Figure:
    """The audit's two loss distributions: the further apart, the more the model gives away."""
    import math

    figure = go.Figure()
    for name, values, color in ((f"training {noun} (members)", members, TRAIN_COLOR),
                                (f"validation {noun} (never seen)", others, VAL_COLOR)):
        figure.add_trace(go.Histogram(x=[math.log10(max(v, 1e-6)) for v in values], name=name, marker_color=color,
                                      opacity=0.6, histnorm="percent", nbinsx=30))
    figure.update_layout(barmode="overlay", height=300, margin=dict(l=10, r=10, t=30, b=10),
                         xaxis_title="loss on the example (log10)", yaxis_title="% of the group",
                         legend=dict(orientation="h", y=-0.3))
    return figure
