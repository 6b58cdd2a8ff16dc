"""skada's pieces for measuring an adaptation on cached features (core/adaptation/choose.py): an adapter
around a registered method's maps, a fast softmax head, and the unsupervised scorers by name."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from threadpoolctl import threadpool_limits
from skada.base import BaseAdapter

from core import adaptation


class MapsAdapter(BaseAdapter):
    """A skada adapter for one registered feature-level method: its source map on source rows (domain >= 0),
    its target map on target rows."""

    def __init__(self, method: str = "none", seed: int = 0):
        self.method, self.seed = method, seed

    def fit_transform(self, X, y=None, *, sample_domain=None, **params):
        source = sample_domain >= 0
        self.maps_ = adaptation.get(self.method).maps(X[source], X[~source], self.seed)
        if not all(m.finite() for m in self.maps_):
            raise ValueError(f"{self.method} gave no finite numbers")
        return self.transform(X, sample_domain=sample_domain, allow_source=True)

    def fit(self, X, y=None, *, sample_domain=None, **params):
        self.fit_transform(X, y, sample_domain=sample_domain)
        return self

    def transform(self, X, y=None, *, sample_domain=None, allow_source=False, **params):
        if sample_domain is None:
            sample_domain = -np.ones(len(X), int)
        source = np.asarray(sample_domain) >= 0
        out = np.empty((len(X), self.maps_[0].out_dim))
        if source.any():
            out[source] = self.maps_[0](X[source])
        if (~source).any():
            out[~source] = self.maps_[1](X[~source])
        return out


class SoftmaxHead(ClassifierMixin, BaseEstimator):
    """The classifier head as a scikit-learn estimator: multinomial logistic regression with a little L2,
    fitted full-batch by L-BFGS on the exact gradient (a tenth of a second on a laptop's features)."""

    def __init__(self, l2: float = 1e-3, max_iter: int = 60):
        self.l2, self.max_iter = l2, max_iter

    def fit(self, X, y, sample_weight=None):
        from scipy.optimize import minimize

        self.classes_ = np.unique(y)
        rows = np.asarray(X, np.float32)
        onehot = np.eye(len(self.classes_), dtype=np.float32)[np.searchsorted(self.classes_, y)]
        shape = (rows.shape[1] + 1, len(self.classes_))

        def loss_and_gradient(flat: np.ndarray) -> tuple[float, np.ndarray]:
            weights = flat.reshape(shape).astype(np.float32)
            logits = rows @ weights[:-1] + weights[-1]
            logits -= logits.max(1, keepdims=True)
            log_total = np.log(np.exp(logits).sum(1, keepdims=True))
            probabilities = np.exp(logits - log_total)
            loss = -(onehot * (logits - log_total)).sum() / len(rows) + self.l2 * (weights[:-1] ** 2).sum()
            error = (probabilities - onehot) / len(rows)
            gradient = np.vstack([rows.T @ error + 2 * self.l2 * weights[:-1], error.sum(0, keepdims=True)])
            return float(loss), gradient.ravel().astype(np.float64)

        with threadpool_limits(1):  # small products, many of them: BLAS threads cost more than they give (5x)
            found = minimize(loss_and_gradient, np.zeros(shape[0] * shape[1]), jac=True, method="L-BFGS-B",
                             options={"maxiter": self.max_iter})
        weights = found.x.reshape(shape).astype(np.float32)
        self.weight_, self.bias_ = weights[:-1], weights[-1]
        return self

    def decision_function(self, X):
        return np.asarray(X, np.float32) @ self.weight_ + self.bias_

    def predict_proba(self, X):
        logits = self.decision_function(X)
        exp = np.exp(logits - logits.max(1, keepdims=True))
        return exp / exp.sum(1, keepdims=True)

    def predict_log_proba(self, X):
        return np.log(np.clip(self.predict_proba(X), 1e-12, None))

    def predict(self, X):
        return self.classes_[self.decision_function(X).argmax(1)]


def scorer(name: str, seed: int = 0):
    """One of skada's unsupervised scorers (greater is better for all of them, as skada signs them)."""
    from skada.metrics import (CircularValidation, DeepEmbeddedValidation, ImportanceWeightedScorer, MixValScorer,
                               PredictionEntropyScorer, SoftNeighborhoodDensity)

    if name == "circular":
        return CircularValidation()
    if name == "dev":
        return DeepEmbeddedValidation(random_state=seed)
    if name == "snd":
        return SoftNeighborhoodDensity()
    if name == "entropy":
        return PredictionEntropyScorer()
    if name == "mixval":
        return MixValScorer(random_state=seed)
    if name == "iwv":
        return ImportanceWeightedScorer(_DomainDensity(seed))
    raise ValueError(f"unknown scorer {name}")


class _DomainDensity(BaseEstimator):
    """Importance weights' density for high-dimensional features: a kernel density on 32 principal
    components (skada's default kernel density on raw features gives all weight to one example)."""

    def __init__(self, seed: int = 0):
        self.seed = seed

    def fit(self, X, y=None):
        from sklearn.decomposition import PCA
        from sklearn.neighbors import KernelDensity

        self.pca_ = PCA(min(32, X.shape[1], len(X)), random_state=self.seed).fit(X)
        self.density_ = KernelDensity(bandwidth="scott").fit(self.pca_.transform(X))
        return self

    def score_samples(self, X):
        return self.density_.score_samples(self.pca_.transform(X))
