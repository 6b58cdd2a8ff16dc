"""Scores from predictions, computed with scikit-learn so they match a reference everywhere."""

from __future__ import annotations


def summarize_predictions(labels: list[int], predictions: list[int], classes: list[str]) -> dict:
    # imported here: scikit-learn takes over a second to import, and a training process needs it only at the end
    from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support

    if not labels:
        return {"accuracy": None, "macro_f1": None, "confusion_matrix": [], "per_class": []}
    indices = list(range(len(classes)))
    precision, recall, f1, support = precision_recall_fscore_support(labels, predictions, labels=indices,
                                                                     zero_division=0)
    return {
        "accuracy": float(accuracy_score(labels, predictions)),
        "macro_f1": float(f1_score(labels, predictions, labels=indices, average="macro", zero_division=0)),
        "confusion_matrix": confusion_matrix(labels, predictions, labels=indices).tolist(),
        "per_class": [{"class": name, "precision": float(p), "recall": float(r), "f1": float(f), "support": int(n)}
                      for name, p, r, f, n in zip(classes, precision, recall, f1, support)],
    }


def accuracy_interval(accuracy: float, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval for an accuracy measured on ``n`` examples (95% by default): honest for
    small validation sets and near 0% or 100%, where accuracy +- 2 standard errors is not."""
    if n <= 0:
        return 0.0, 1.0
    centre = (accuracy + z * z / (2 * n)) / (1 + z * z / n)
    spread = z / (1 + z * z / n) * (accuracy * (1 - accuracy) / n + z * z / (4 * n * n)) ** 0.5
    return max(0.0, centre - spread), min(1.0, centre + spread)
