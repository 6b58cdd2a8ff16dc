"""AdaBN (Li et al., 2016): after training on the source, every BatchNorm layer's statistics are
re-estimated on the target, so each layer normalises target inputs as it learned to normalise
source inputs."""

from __future__ import annotations

import functools

from core.adaptation import Adaptation, register
from core.adaptation.end_to_end import has_batchnorm, reestimate_batchnorm


@functools.lru_cache(maxsize=32)
def _spec_has_batchnorm(name: str) -> bool:
    from core import backbones

    return has_batchnorm(backbones.get(name).build(False))


@register
class AdaBN(Adaptation):
    name = "adabn"
    title = "AdaBN (target BatchNorm statistics)"
    explanation = ("Trains on the training data as usual, then lets every BatchNorm layer measure the target's "
                   "averages and spreads instead: a network that normalises each domain on its own terms. "
                   "Free (one pass over the target); only for networks with BatchNorm layers (CNNs).")
    order = 40
    level = "statistics"

    def applies(self, strategy, spec=None) -> bool:
        if not strategy.changes_backbone:
            return False
        return spec is None or (spec.modality == "image" and _spec_has_batchnorm(spec.name))

    def finish(self, session, model) -> bool:
        return reestimate_batchnorm(session, model.backbone) > 0
