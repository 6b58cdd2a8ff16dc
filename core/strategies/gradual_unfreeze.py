"""Gradual unfreezing with discriminative learning rates (ULMFiT: Howard & Ruder, 2018).

The backbone's blocks (models.layer_groups: the stem, each stage or transformer layer, the last conv...) are
cut, from the top, into ``unfreeze_stages - 1`` parts. Stage 1 trains the new head alone on the frozen
backbone; each later stage unfreezes the next part down, so the layers nearest the head adapt first and the
general, low-level ones last. Every part learns at its own rate: the top part at ``lr``, each part below at
``lr / lr_decay`` of the one above (ULMFiT's 2.6), the head at ``lr x head_lr_multiplier``. A stage lasts
``unfreeze_every`` epochs; once all are unfrozen, training goes on as fine-tuning. Frozen parts stay in eval
mode; BatchNorm statistics stay pretrained unless ``train_batchnorm``.
"""

from __future__ import annotations

from torch import nn

from core.i18n import N_, _, lazy, lazy_ngettext
from core.backbones.models import TransferModel, layer_groups, outside_groups
from core.strategies import register
from core.strategies.fine_tune import freeze_batchnorm_statistics
from core.strategies.network import NetworkStrategy


def parts(model: TransferModel, stages: int) -> list[list[tuple[str, nn.Module]]]:
    """The backbone's blocks cut into ``stages - 1`` parts, top part first (each as even as the blocks allow)."""
    blocks = list(reversed(layer_groups("backbone", model.backbone)))
    count = max(1, min(stages - 1, len(blocks)))
    return [blocks[len(blocks) * k // count:len(blocks) * (k + 1) // count] for k in range(count)]


def stage_of(epoch: int, config, stages: int) -> int:
    """The stage epoch ``epoch`` (1-based) trains in: 1 = the head alone; ``stages``: as many as the backbone
    has parts for (a backbone of two blocks has three stages whatever the setting)."""
    return min(stages, 1 + (epoch - 1) // config.unfreeze_every)


@register
class GradualUnfreezing(NetworkStrategy):
    name = "gradual_unfreeze"
    title = N_("Gradual unfreezing")
    short = N_("gradual unfreezing")
    explanation = N_("Fine-tuning in stages (the ULMFiT recipe): first only the new head learns, then one more block "
                     "of the backbone joins per stage, from the top down, and lower layers learn at lower rates. The "
                     "general features of the bottom layers are disturbed last and least.")
    order = 28
    two_rates = True
    private_ok = False
    # the fine-tuning recipes, with the epochs for four stages (head, then three parts of the backbone)
    defaults = {
        "image": {"optimizer": "sgd", "lr": 1e-3, "epochs": 8, "batch_size": 16, "scheduler": "none",
                  "weight_decay": 0.0, "unfreeze_stages": 4, "unfreeze_every": 2},
        "text": {"optimizer": "adamw", "lr": 4e-5, "head_lr_multiplier": 10.0, "epochs": 4, "batch_size": 16,
                 "scheduler": "none", "weight_decay": 1e-2, "head_dropout": 0.1, "max_length": 128,
                 "unfreeze_stages": 4, "unfreeze_every": 1},
    }

    def build(self, spec, num_classes, dropout=0.0, pretrained=None) -> TransferModel:
        model = super().build(spec, num_classes, dropout, pretrained)
        for parameter in model.backbone.parameters():  # stage 1: the head alone (epoch_start unfreezes the rest)
            parameter.requires_grad_(False)
        return model

    def parameter_groups(self, model: TransferModel, config) -> list[dict]:
        """One group per part, each ``lr_decay`` times slower than the one above; then the head. Every backbone
        parameter is in a group from the start (frozen ones simply get no gradient until their stage)."""
        groups = [{"params": [p for _, block in part for p in block.parameters()], "lr": config.lr / config.lr_decay ** k,
                   "name": "backbone" if k == 0 else f"backbone-{k + 1}"}
                  for k, part in enumerate(parts(model, config.unfreeze_stages))]
        groups[-1]["params"] += [p for _, p in outside_groups(model)]  # a ViT's class token: with the lowest part
        return [group for group in groups if group["params"]] + [
            {"params": list(model.head.parameters()), "lr": config.lr * config.head_lr_multiplier, "name": "head"}]

    def epoch_start(self, model: nn.Module, config, epoch: int) -> dict | None:
        """Unfreeze what ``epoch``'s stage trains; says so when a stage begins (the live chart marks it)."""
        if not isinstance(model, TransferModel):
            return None
        cut = parts(model, config.unfreeze_stages)
        stage = stage_of(epoch, config, len(cut) + 1)
        open_parts = cut[:stage - 1]
        for k, part in enumerate(cut):
            for _name, block in part:
                for parameter in block.parameters():
                    parameter.requires_grad_(k < stage - 1)
        for _name, parameter in outside_groups(model):
            parameter.requires_grad_(stage - 1 >= len(cut))
        if epoch != 1 and stage == stage_of(epoch - 1, config, len(cut) + 1):
            return None
        names = [name.removeprefix("backbone.") for part in open_parts for name, _block in part]
        if stage == 1:
            message = lazy("Stage 1: the head learns alone on the frozen backbone.")
        else:
            unfrozen = ", ".join(name for name, _block in cut[stage - 2]).replace("backbone.", "")
            message = lazy_ngettext("Stage {stage} of {stages}: unfrozen {blocks} ({n} block of the backbone now "
                                    "trains).", "Stage {stage} of {stages}: unfrozen {blocks} ({n} blocks of the "
                                    "backbone now train).", len(names), stage=stage, stages=len(cut) + 1,
                                    blocks=unfrozen)
        return {"stage": stage, "stages": len(cut) + 1, "trainable_blocks": len(names), "message": message}

    def layers(self, spec, num_classes: int, stages: int = 4, decay: float = 2.6) -> list[dict]:
        """The layer table with when each block starts training, and how fast ("stage 3 on, at lr / 2.6")."""
        from core.backbones.models import describe

        model = self.build(spec, num_classes, pretrained=False)
        start = {name: (k + 2, k) for k, part in enumerate(parts(model, stages)) for name, _ in part}
        rows = describe(model)
        for index, row in enumerate(rows):
            stage, depth = start.get(row["layer"], (None, None))
            row["trainable"] = True  # every block trains from its stage on
            if index == len(rows) - 1:  # the head: describe's last row
                row["when"] = _("stage 1 on, at lr x head multiplier")
            elif not stage:
                row["when"] = _("with the lowest part")
            else:  # the rate as a formula: "lr", "lr / 2.6", "lr / 2.6^2"
                rate = "lr" if depth == 0 else f"lr / {decay:g}" + (f"^{depth}" if depth > 1 else "")
                row["when"] = _("stage {stage} on, at {rate}", stage=stage, rate=rate)
        return rows

    def train_mode(self, model: nn.Module, config) -> None:
        if not isinstance(model, TransferModel):
            return
        for _name, block in [block for part in parts(model, config.unfreeze_stages) for block in part]:
            if not any(p.requires_grad for p in block.parameters()):
                block.eval()  # a frozen block: no dropout, no statistics updated
        if not config.train_batchnorm:
            freeze_batchnorm_statistics(model.backbone)
