"""Backbone + new head as one module; freezing as explicit functions; who trains what, as a table."""

from __future__ import annotations

import torch
from torch import nn

from core.backbones import BackboneSpec, create_backbone
from core.errors import UserError


class Head(nn.Module):
    """The new classifier: optional dropout, then one linear layer."""

    def __init__(self, feature_dim: int, num_classes: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.linear = nn.Linear(feature_dim, num_classes)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.linear(self.dropout(features))


class TransferModel(nn.Module):
    """A feature extractor (pretrained or not) followed by a new classification head.

    Inputs are whatever the backbone takes: an image batch, or (input_ids, attention_mask).
    """

    def __init__(self, backbone: nn.Module, feature_dim: int, num_classes: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.backbone = backbone
        self.head = Head(feature_dim, num_classes, dropout)

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone(*inputs))


def freeze(module: nn.Module) -> None:
    for parameter in module.parameters():
        parameter.requires_grad_(False)


def check_strategy(spec: BackboneSpec, strategy: str) -> None:
    """Refuse combinations that cannot teach anything, with the reason."""
    if strategy == "tfidf":
        raise UserError("TF-IDF + logistic regression has no neural network layers.",
                        "It counts words and fits a linear classifier; there is nothing to freeze or fine-tune.")
    if not spec.pretrained and strategy != "scratch":
        raise UserError(f"{spec.title} has no pretrained weights, so there is nothing to transfer.",
                        "Use the strategy 'scratch' with it, or pick a pretrained backbone.")


def build_model(spec: BackboneSpec, num_classes: int, strategy: str, pretrained: bool | None = None,
                dropout: float = 0.0) -> TransferModel:
    """The model for ``strategy``: frozen pretrained backbone, trainable pretrained one, or random init."""
    check_strategy(spec, strategy)
    use_weights = strategy != "scratch" if pretrained is None else pretrained
    model = TransferModel(create_backbone(spec, pretrained=use_weights), spec.feature_dim, num_classes, dropout)
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
    rows = [{"layer": name, "parameters": sum(p.numel() for p in module.parameters()),
             "trainable": any(p.requires_grad for p in module.parameters())}
            for name, module in _layer_groups("backbone", model.backbone)]
    rows.append({"layer": "head (new)", "parameters": sum(p.numel() for p in model.head.parameters()),
                 "trainable": True})
    return [row for row in rows if row["parameters"]]


def _layer_groups(prefix: str, module: nn.Module) -> list[tuple[str, nn.Module]]:
    """Readable groups: step through single-child wrappers, split stacks (Sequential, ModuleList)
    into their blocks, keep anything else whole (a conv, an embedding table, a transformer block)."""
    children = [(name, child) for name, child in module.named_children() if any(True for _ in child.parameters())]
    if len(children) == 1:
        name, child = children[0]
        return _layer_groups(f"{prefix}.{name}", child)
    groups = []
    for name, child in children:
        inner = [c for c in child.named_children() if any(True for _ in c[1].parameters())]
        if isinstance(child, (nn.Sequential, nn.ModuleList)) and len(inner) > 1:
            groups += [(f"{prefix}.{name}.{sub}", block) for sub, block in inner]
        elif len(inner) == 1 and not isinstance(child, (nn.Sequential, nn.ModuleList)):
            groups += _layer_groups(f"{prefix}.{name}", child)
        else:
            groups.append((f"{prefix}.{name}", child))
    return groups or [(prefix, module)]


def count_parameters(model: nn.Module) -> tuple[int, int]:
    """(trainable, frozen)."""
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return trainable, sum(p.numel() for p in model.parameters()) - trainable



def plan(spec: BackboneSpec, strategy: str, num_classes: int) -> list[dict]:
    """What would train under ``strategy``, without loading any weights (the structure is the same)."""
    return describe(build_model(spec, num_classes, strategy, pretrained=False))
