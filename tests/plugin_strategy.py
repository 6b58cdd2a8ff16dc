"""A strategy from outside core/, loaded through TRANSFERLAB_PLUGINS like any user's plugin:
fine-tune only the top of the backbone (its last layer group) with the new head; the rest stays frozen."""

from __future__ import annotations

from core import strategies
from core.backbones.models import _layer_groups, freeze
from core.strategies.fine_tune import FineTuning

NAME = "top_block"


class TopBlock(FineTuning):
    name = NAME
    title = "Fine-tune the top block"
    short = "top-block fine-tuning"
    explanation = "Only the backbone's last block and the new head learn; the lower layers stay as pretrained."
    order = 25
    compared_for = ()

    def build(self, spec, num_classes, dropout=0.0, pretrained=None):
        model = super().build(spec, num_classes, dropout, pretrained)
        freeze(model.backbone)
        _, top = _layer_groups("backbone", model.backbone)[-1]
        for parameter in top.parameters():
            parameter.requires_grad_(True)
        return model


def register_plugin() -> None:
    strategies.register(TopBlock)
