"""Per-domain standardisation: each domain's features centred and scaled on their own statistics."""

from __future__ import annotations

import numpy as np

from core.adaptation import Adaptation, Affine, register
from core.i18n import N_


@register
class Standardize(Adaptation):
    name = "standardize"
    title = N_("Per-domain standardisation")
    explanation = N_("Centres and scales each domain's features on its own averages, so that a shift shared by all "
                     "the target's examples (lighting, camera, writing style) no longer pushes them across the "
                     "head's boundaries between classes. The simplest alignment, and hard to beat.")
    order = 10

    def maps(self, source: np.ndarray, target: np.ndarray, seed: int = 0) -> tuple[Affine, Affine]:
        def scaler(rows: np.ndarray) -> Affine:
            spread = rows.std(0)
            return Affine(rows.mean(0), 1.0 / np.where(spread > 1e-6, spread, 1.0))

        return scaler(source.astype(np.float64)), scaler(target.astype(np.float64))
