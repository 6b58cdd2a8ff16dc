"""From scratch: the same network from random weights, the baseline that prices pretrained knowledge."""

from __future__ import annotations

from core.i18n import N_
from core.strategies import register
from core.strategies.network import NetworkStrategy


@register
class FromScratch(NetworkStrategy):
    name = "scratch"
    title = N_("From scratch (baseline)")
    short = N_("the from-scratch baseline")
    explanation = N_("The same network starts from random weights and learns everything from your data alone. "
                     "The baseline that shows how much the pretrained knowledge is worth.")
    order = 30
    pretrained = False
    baseline = True
    compared_for = ("image",)           # texts compare against TF-IDF, the stronger and faster baseline
    baseline_backbone = {"image": "small_cnn"}
    defaults = {
        "image": {"optimizer": "adamw", "lr": 1e-3, "epochs": 15, "batch_size": 32, "scheduler": "none",
                  "weight_decay": 1e-4},
        "text": {"optimizer": "adamw", "lr": 2e-3, "epochs": 10, "batch_size": 32, "scheduler": "none",
                 "weight_decay": 1e-4, "max_length": 128},
    }

    def check(self, spec) -> None:  # any network can start from random weights
        return None
