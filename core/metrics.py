"""Scores from predictions, computed with scikit-learn so they match a reference everywhere."""

from __future__ import annotations

from sklearn.metrics import accuracy_score, confusion_matrix, f1_score


def summarize_predictions(labels: list[int], predictions: list[int], num_classes: int) -> dict:
    if not labels:
        return {"accuracy": None, "macro_f1": None, "confusion_matrix": []}
    classes = list(range(num_classes))
    return {
        "accuracy": float(accuracy_score(labels, predictions)),
        "macro_f1": float(f1_score(labels, predictions, labels=classes, average="macro", zero_division=0)),
        "confusion_matrix": confusion_matrix(labels, predictions, labels=classes).tolist(),
    }

