"""CORAL (correlation alignment; Sun, Feng and Saenko, 2016) on the cached features.

Written out rather than through skada's CORALAdapter: on sentence embeddings (MiniLM, BBC News) its
matrix square root took the root of slightly negative eigenvalues and returned NaN. Here the
covariances are estimated as skada does (Ledoit-Wolf on standardised features, scaled back) and the
eigenvalues are floored before the roots.
"""

from __future__ import annotations

import numpy as np

from core.adaptation import Adaptation, Affine, register
from core.i18n import N_


def _power(covariance: np.ndarray, exponent: float) -> np.ndarray:
    values, vectors = np.linalg.eigh(covariance)
    values = np.maximum(values, max(values.max(), 1e-12) * 1e-6)
    return (vectors * values ** exponent) @ vectors.T


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
        whiten = _power(_covariance(source), -0.5)
        colour = _power(_covariance(target), 0.5)
        return Affine(source.mean(0), whiten @ colour), Affine(target.mean(0), np.eye(source.shape[1]))
