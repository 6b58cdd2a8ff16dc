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
from core.data.report import DataReport
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
                                       backbone=None if spec.pretrained else create_backbone(spec, pretrained=False),
                                       cache_dir=config.cache_dir)  # None: the pretrained one, on the engine
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


def domain_map(predictor: Predictor, limit: int = 300) -> dict:
    """The training data's validation split and the target on one map, before and after training
    (and adaptation), coloured by domain: {"before", "after", "domains", "gap_before", "gap_after"}.

    Feature extraction keeps the backbone, so "after" is the features in the space the head was
    trained in: the method's two maps, refitted on the cached features exactly as training fitted
    them. A trained network's "after" is its own backbone's features."""
    from core import adaptation
    from core.data import domains

    run, config, spec = predictor.run, predictor.config, predictor.spec
    cached = run.embedding_map("domains")
    if cached is not None:
        return cached
    report = DataReport.from_dict(run.data())
    target = domains.load_target(config.target, report)
    device = torch.device("cpu")
    length = usable_length(spec, config.max_length) if report.modality == "text" else 128
    rng = np.random.default_rng(config.seed)
    source_items = [report.val[i] for i in sorted(rng.choice(len(report.val), min(limit, len(report.val)), replace=False))]
    target_items = [target.items[i] for i in sorted(rng.choice(len(target.items), min(limit, len(target.items)),
                                                               replace=False))]

    def through(backbone, part, items):
        return features.compute_features(part, spec, device, items=items, max_length=length, backbone=backbone,
                                         cache_dir=config.cache_dir).double().numpy()

    pretrained = None if spec.pretrained else create_backbone(spec, pretrained=False)  # None: the engine's pass
    before = (through(pretrained, report, source_items), through(pretrained, target.report, target_items))
    learner = strategies.get(config.strategy)
    method = (run.summary() or {}).get("adapt") or config.adapt or "none"  # what auto chose, not "auto"
    if method == "auto":  # a run that ended before choosing: drawn without adaptation
        method = "none"
    if learner.changes_backbone:
        after = (through(predictor.model.backbone, report, source_items),
                 through(predictor.model.backbone, target.report, target_items))
    else:
        train_x = features.load_or_compute(report, spec, config.cache_dir, device, max_length=config.max_length)
        target_set = features.load_or_compute(target.report, spec, config.cache_dir, device, max_length=config.max_length)
        source_map, target_map = adaptation.get(method).maps(
            train_x.rows(report.train).double().numpy(), target_set.rows(target.items).double().numpy(), config.seed)
        after = (source_map(before[0]), target_map(before[1]))
    result = {"method": "pca", "domains": [0] * len(source_items) + [1] * len(target_items),
              "before": project(np.concatenate(before), "pca", config.seed).round(4).tolist(),
              "after": project(np.concatenate(after), "pca", config.seed).round(4).tolist(),
              "gap_before": domains.domain_gap(*before, seed=config.seed),
              "gap_after": domains.domain_gap(*after, seed=config.seed), "adapt": method}
    run.write_embedding_map("domains", result)
    return result


def gap_report(report: DataReport, target, spec, cache_dir, device,
               on_progress=None, max_length: int = 128, seed: int = 0) -> dict:
    """How far apart the training data and the target are, seen through ``spec``'s features (from the
    feature cache, which training then reuses): the domain gap, and both domains on one 2-D map
    (PCA of the features, at most 600 points of each). ``target``: a domains.Target."""
    from core.data import domains

    sets = []
    for index, part in enumerate((report, target.report)):
        progress = (lambda done, total, index=index: on_progress(index, done, total)) if on_progress else None
        sets.append(features.load_or_compute(part, spec, cache_dir, device, on_progress=progress,
                                             max_length=max_length))
    source_x = sets[0].rows(report.all_items()).double().numpy()
    target_x = sets[1].rows(target.items).double().numpy()
    rng = np.random.default_rng(seed)
    picked = [rng.choice(len(x), min(600, len(x)), replace=False) for x in (source_x, target_x)]
    points = project(np.concatenate([source_x[picked[0]], target_x[picked[1]]]), "pca", seed)
    return {"gap": domains.domain_gap(source_x, target_x, seed), "points": points.round(4).tolist(),
            "domains": [0] * len(picked[0]) + [1] * len(picked[1]), "backbone": spec.name}
