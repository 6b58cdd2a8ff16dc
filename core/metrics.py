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


def auc_interval(auc: float, positives: int, negatives: int, z: float = 1.96) -> tuple[float, float]:
    """95% interval of a ROC AUC measured on ``positives`` and ``negatives`` examples (Hanley and McNeil,
    1982): how far chance alone moves it with that many examples. 200 and 200 at an AUC of 50% give about
    44% to 56%, so a 53% is no evidence of anything."""
    if positives <= 0 or negatives <= 0:
        return 0.0, 1.0
    q1, q2 = auc / (2 - auc), 2 * auc * auc / (1 + auc)
    variance = (auc * (1 - auc) + (positives - 1) * (q1 - auc * auc) + (negatives - 1) * (q2 - auc * auc)) \
        / (positives * negatives)
    spread = z * max(variance, 0.0) ** 0.5
    return max(0.0, auc - spread), min(1.0, auc + spread)


def paired_difference(a_correct: list[bool], b_correct: list[bool], z: float = 1.96) -> tuple[float, float, float]:
    """Accuracy of model a minus that of model b on the same examples, with its 95% interval.

    Paired: only the examples where exactly one of them is right tell them apart. Agresti and Min's
    adjusted interval (half an example added to each of the four cells), so that two models with
    identical answers on 200 examples still get an interval of about a point, not a certainty."""
    n = len(a_correct)
    only_a = sum(1 for a, b in zip(a_correct, b_correct) if a and not b) + 0.5
    only_b = sum(1 for a, b in zip(a_correct, b_correct) if b and not a) + 0.5
    total = n + 2
    difference = (only_a - only_b) / total
    spread = z * max(0.0, (only_a + only_b) - (only_a - only_b) ** 2 / total) ** 0.5 / total
    observed = (sum(map(bool, a_correct)) - sum(map(bool, b_correct))) / n if n else 0.0
    return observed, difference - spread, difference + spread


def unpaired_difference(a: float, b: float, n_a: int, n_b: int, z: float = 1.96) -> tuple[float, float, float]:
    """Accuracy a minus accuracy b measured on different examples, with Newcombe's interval (from Wilson's)."""
    low_a, high_a = accuracy_interval(a, n_a, z)
    low_b, high_b = accuracy_interval(b, n_b, z)
    difference = a - b
    return (difference, difference - ((a - low_a) ** 2 + (high_b - b) ** 2) ** 0.5,
            difference + ((high_a - a) ** 2 + (b - low_b) ** 2) ** 0.5)
