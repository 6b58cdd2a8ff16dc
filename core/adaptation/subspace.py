"""Subspace alignment (Fernando et al., 2013) on the cached features, through skada."""

from __future__ import annotations

import numpy as np

from core.adaptation import Adaptation, Affine, register
from core.i18n import N_

COMPONENTS = 64


@register
class SubspaceAlignment(Adaptation):
    name = "subspace"
    title = N_("Subspace alignment")
    explanation = N_("Finds the main directions in which each domain's features vary (PCA) and turns the training "
                     "data's onto the target's, then trains the classifier head in that shared space.")
    order = 30

    def maps(self, source: np.ndarray, target: np.ndarray, seed: int = 0) -> tuple[Affine, Affine]:
        from skada import SubspaceAlignmentAdapter

        components = int(min(COMPONENTS, source.shape[1], len(source) - 1, len(target) - 1))
        rows = np.concatenate([source, target]).astype(np.float64)
        domains = np.concatenate([np.ones(len(source), int), -np.ones(len(target), int)])
        adapter = SubspaceAlignmentAdapter(n_components=components, random_state=seed).fit(rows, sample_domain=domains)
        pca_source, pca_target = adapter.pca_source_, adapter.pca_target_
        return (Affine(pca_source.mean_, pca_source.components_.T @ adapter.M_),
                Affine(pca_target.mean_, pca_target.components_.T))
