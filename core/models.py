"""Backbone + new head as one module; freezing as explicit functions; who trains what, as a table."""

from __future__ import annotations

import torch
from torch import nn

from core.backbones import BackboneSpec, create_backbone
from core.errors import UserError


class TransferModel(nn.Module):
    """A feature extractor (pretrained or not) followed by a new linear classification head."""

    def __init__(self, backbone: nn.Module, feature_dim: int, num_classes: int) -> None:
        super().__init__()
        self.backbone = backbone
        self.head = create_head(feature_dim, num_classes)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone(images))


def create_head(feature_dim: int, num_classes: int) -> nn.Module:
    return nn.Linear(feature_dim, num_classes)


def freeze(module: nn.Module) -> None:
    for parameter in module.parameters():
        parameter.requires_grad_(False)


def check_strategy(spec: BackboneSpec, strategy: str) -> None:
    """Refuse combinations that cannot teach anything, with the reason."""
    if not spec.pretrained and strategy != "scratch":
        raise UserError(f"{spec.title} has no pretrained weights, so there is nothing to transfer.",
                        "Use the strategy 'scratch' with it, or pick a pretrained backbone.")


def build_model(spec: BackboneSpec, num_classes: int, strategy: str, pretrained: bool | None = None) -> TransferModel:
    """The model for ``strategy``: frozen pretrained backbone, trainable pretrained one, or random init."""
    check_strategy(spec, strategy)
    use_weights = strategy != "scratch" if pretrained is None else pretrained
    model = TransferModel(create_backbone(spec, pretrained=use_weights), spec.feature_dim, num_classes)
    if strategy == "feature_extract":
        freeze(model.backbone)
        model.backbone.eval()
    return model


def parameter_groups(model: TransferModel, strategy: str, lr: float, head_lr_multiplier: float) -> list[dict]:
    """Fine-tuning trains the pretrained backbone gently and the new head faster."""
    if strategy == "fine_tune":
        return [{"params": [p for p in model.backbone.parameters() if p.requires_grad], "lr": lr, "name": "backbone"},
                {"params": list(model.head.parameters()), "lr": lr * head_lr_multiplier, "name": "head"}]
    return [{"params": [p for p in model.parameters() if p.requires_grad], "lr": lr, "name": "all"}]


def describe(model: TransferModel) -> list[dict]:
    """One row per layer group: name, parameter count, whether it trains. Backbone first, head last."""
    rows = []
    for name, child in model.backbone.named_children():
        parts = list(child.named_children()) if _is_container(child) else [("", child)]
        for sub, module in parts:
            count = sum(p.numel() for p in module.parameters())
            if count:
                rows.append({"layer": f"backbone.{name}" + (f".{sub}" if sub else ""), "parameters": count,
                             "trainable": any(p.requires_grad for p in module.parameters())})
    rows.append({"layer": "head (new)", "parameters": sum(p.numel() for p in model.head.parameters()),
                 "trainable": True})
    return rows


def count_parameters(model: nn.Module) -> tuple[int, int]:
    """(trainable, frozen)."""
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return trainable, sum(p.numel() for p in model.parameters()) - trainable


def _is_container(module: nn.Module) -> bool:
    return isinstance(module, (nn.Sequential, nn.ModuleList)) and len(module) > 1


def plan(spec: BackboneSpec, strategy: str, num_classes: int) -> list[dict]:
    """What would train under ``strategy``, without loading any weights (the structure is the same)."""
    return describe(build_model(spec, num_classes, strategy, pretrained=False))
