"""The embedding map: validation examples as points, placed by the features the model computes,
before training and after, projected to 2-D (PCA, or t-SNE). What fine-tuning did to the
representation, made visible: classes that were mixed before are pulled apart after.

Computed once per run and method, kept in the run folder (runs.py owns the file).
"""

from __future__ import annotations

import numpy as np
import torch

from core import features, strategies
from core.backbones import create_backbone
from core.report import DataReport
from core.inference import Predictor
from core.loaders import usable_length

METHODS = ("pca", "tsne")


def project(points: np.ndarray, method: str, seed: int = 0) -> np.ndarray:
    from sklearn.decomposition import PCA

    if len(points) < 3:
        return np.zeros((len(points), 2))
    if method == "tsne":
        from sklearn.manifold import TSNE

        reduced = PCA(n_components=min(50, len(points) - 1, points.shape[1]), random_state=seed).fit_transform(points)
        return TSNE(n_components=2, perplexity=min(30.0, (len(points) - 1) / 3), init="pca",
                    random_state=seed).fit_transform(reduced)
    return PCA(n_components=2, random_state=seed).fit_transform(points)


def embedding_map(predictor: Predictor, method: str = "pca") -> dict:
    """{"before": [[x, y]...], "after": [[x, y]...], "labels": [...], "predicted": [...], "same": bool}."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}")
    run = predictor.run
    cached = run.embedding_map(method)
    if cached is not None:
        return cached
    report = DataReport.from_dict(run.data())
    spec, config = predictor.spec, predictor.config
    length = usable_length(spec, config.max_length) if report.modality == "text" else 128
    device = torch.device("cpu")
    before = features.compute_features(report, spec, device, items=report.val, max_length=length,
                                       backbone=create_backbone(spec, pretrained=spec.pretrained))
    same = not strategies.get(config.strategy).changes_backbone
    after = before if same else features.compute_features(report, spec, device, items=report.val, max_length=length,
                                                          backbone=predictor.model.backbone)
    predicted = [row["predicted"] for row in run.predictions()]
    result = {"method": method, "same": same, "pretrained": spec.pretrained,
              "before": project(before.numpy(), method, config.seed).round(4).tolist(),
              "after": project(after.numpy(), method, config.seed).round(4).tolist(),
              "labels": [label for _, label in report.val], "items": [key for key, _ in report.val],
              "predicted": predicted if len(predicted) == len(report.val) else None}
    run.write_embedding_map(method, result)
    return result


def separation(points: list[list[float]], labels: list[int]) -> float:
    """How far apart the classes sit relative to their spread (between / within distances): a number
    that grows when training pulls classes apart."""
    array, labels_array = np.asarray(points), np.asarray(labels)
    centres = {label: array[labels_array == label].mean(0) for label in set(labels)}
    within = np.mean([np.linalg.norm(array[i] - centres[label]) for i, label in enumerate(labels)])
    overall = array.mean(0)
    between = np.mean([np.linalg.norm(centre - overall) for centre in centres.values()])
    return float(between / within) if within > 0 else 0.0
