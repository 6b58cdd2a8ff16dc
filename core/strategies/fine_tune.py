"""Fine-tuning: every layer trains, the pretrained backbone gently and the new head faster."""

from __future__ import annotations

from torch import nn

from core.i18n import N_
from core.backbones.models import TransferModel
from core.strategies import FINE_TUNING, register
from core.strategies.network import NetworkStrategy


def freeze_batchnorm_statistics(module: nn.Module) -> None:
    """BatchNorm layers normalise with their pretrained running statistics while the weights around
    them fine-tune. Re-estimating them from small batches of a small dataset shifts every layer's
    input away from what the weights expect: validation accuracy can collapse to chance (measured on
    two-colour squares, 80 images: 50% with updated statistics, 100% with frozen ones)."""
    for layer in module.modules():
        if isinstance(layer, nn.modules.batchnorm._BatchNorm):
            layer.eval()


@register
class FineTuning(NetworkStrategy):
    name = FINE_TUNING
    title = N_("Fine-tuning")
    short = N_("fine-tuning")
    explanation = N_("Every layer trains: the backbone gently (a small learning rate) and the new head faster. "
                     "Slower, but it adapts the features themselves to your data, often gaining accuracy.")
    order = 20
    two_rates = True
    compared_for = ("image", "text")
    # images: the PyTorch transfer-learning tutorial's SGD + StepLR, the head 10x faster.
    # texts: BERT's recipe, AdamW with linear warmup and decay, dropout before the head.
    defaults = {
        "image": {"optimizer": "sgd", "lr": 1e-3, "epochs": 10, "batch_size": 16, "scheduler": "step",
                  "weight_decay": 0.0},
        "text": {"optimizer": "adamw", "lr": 4e-5, "head_lr_multiplier": 10.0, "epochs": 3, "batch_size": 16,
                 "scheduler": "linear", "warmup_fraction": 0.1, "weight_decay": 1e-2, "head_dropout": 0.1,
                 "max_length": 128},
    }

    def train_mode(self, model: nn.Module, config) -> None:
        if isinstance(model, TransferModel) and not config.train_batchnorm:
            freeze_batchnorm_statistics(model.backbone)
