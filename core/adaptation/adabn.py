"""AdaBN (Li et al., 2016): after training on the source, every BatchNorm layer's statistics are
re-estimated on the target, so each layer normalises target inputs as it learned to normalise
source inputs."""

from __future__ import annotations

import functools

from core.adaptation import Adaptation, register
from core.adaptation.end_to_end import has_batchnorm, reestimate_batchnorm
from core.i18n import N_


@functools.lru_cache(maxsize=32)
def _spec_has_batchnorm(name: str) -> bool:
    from core import backbones

    return has_batchnorm(backbones.get(name).build(False))


@register
class AdaBN(Adaptation):
    name = "adabn"
    title = N_("AdaBN (target BatchNorm statistics)")
    explanation = N_("Trains on the training data as usual; afterwards, every BatchNorm layer (the layers that keep "
                     "each feature's usual average and spread) measures those on the target instead, so the network "
                     "reads each domain on its own terms. Free: one pass over the target. For networks trained from "
                     "scratch that have BatchNorm layers (CNNs); fine-tuning keeps the pretrained averages, which "
                     "the trained weights rely on.")
    order = 40
    level = "statistics"

    def applies(self, strategy, spec=None) -> bool:
        # Only networks whose BatchNorm statistics were learned on the training data: fine-tuning keeps the
        # pretrained ones (see FineTuning), and swapping those for the target's broke it (bench/domain_shift.py:
        # EfficientNet-Lite0 fine-tuned on MNIST, on MNIST-M: 80.2% as trained, 41.7% with AdaBN).
        if not strategy.changes_backbone or strategy.pretrained:
            return False
        return spec is None or (spec.modality == "image" and _spec_has_batchnorm(spec.name))

    def finish(self, session, model) -> bool:
        return reestimate_batchnorm(session, model.backbone) > 0
