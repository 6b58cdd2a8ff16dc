"""CORAL (correlation alignment; Sun, Feng and Saenko, 2016) on the cached features.

Written out rather than through skada's CORALAdapter: on sentence embeddings (MiniLM, BBC News) its
matrix square root took the root of slightly negative eigenvalues and returned NaN. Here the
covariances are estimated as skada does (Ledoit-Wolf on standardised features, scaled back) and the
eigenvalues are floored before the roots.
"""

from __future__ import annotations

import threading

import numpy as np

from core.adaptation import Adaptation, Affine, register
from core.i18n import N_


def _power(rows: np.ndarray, exponent: float) -> np.ndarray:
    values, vectors = _eigen(rows)
    return (vectors * values ** exponent) @ vectors.T


_EIGEN: dict[bytes, tuple[np.ndarray, np.ndarray]] = {}
_EIGEN_LOCK = threading.Lock()  # measured in threads (choose.py), and the app may measure for two people at once


def _eigen(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The covariance's eigenvalues (floored) and vectors, remembered for the last few row sets: measuring
    the methods (core/adaptation/choose.py) fits CORAL again on the same domains, swapped."""
    import hashlib

    key = hashlib.blake2b(np.ascontiguousarray(rows).view(np.uint8), digest_size=16).digest() + str(rows.shape).encode()
    with _EIGEN_LOCK:
        found = _EIGEN.get(key)
    if found is None:
        values, vectors = np.linalg.eigh(_covariance(rows))
        found = np.maximum(values, max(values.max(), 1e-12) * 1e-6), vectors
        with _EIGEN_LOCK:
            _EIGEN[key] = found
            while len(_EIGEN) > 4:
                _EIGEN.pop(next(iter(_EIGEN)))
    return found


def _covariance(rows: np.ndarray) -> np.ndarray:
    """Ledoit-Wolf shrinkage of the correlations, scaled back (as skada estimates it)."""
    from sklearn.covariance import ledoit_wolf
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler()
    shrunk = ledoit_wolf(scaler.fit_transform(rows))[0]
    return scaler.scale_[:, None] * shrunk * scaler.scale_[None, :]


@register
class Coral(Adaptation):
    name = "coral"
    title = N_("CORAL (match the correlations)")
    explanation = N_("Reshapes the training data's features so that their spread, and how they vary together, match "
                     "the target's (and centres both), then trains the classifier head on them. Cheap, and often a "
                     "solid gain.")
    order = 20

    def maps(self, source: np.ndarray, target: np.ndarray, seed: int = 0) -> tuple[Affine, Affine]:
        source, target = source.astype(np.float64), target.astype(np.float64)
        whiten = _power(source, -0.5)
        colour = _power(target, 0.5)
        return Affine(source.mean(0), whiten @ colour), Affine(target.mean(0), np.ones(source.shape[1]))
