"""Backbone + new head as one module; freezing as an explicit function; who trains what, as a table.

What a strategy freezes and how fast each part learns is the strategy's (core/strategies/)."""

from __future__ import annotations

import torch
from torch import nn



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


def describe(model: TransferModel) -> list[dict]:
    """One row per layer group: name, parameter count, whether it trains. Backbone first, head last."""
    rows = [{"layer": name, "parameters": sum(p.numel() for p in module.parameters()),
             "trainable": any(p.requires_grad for p in module.parameters())}
            for name, module in _layer_groups("backbone", model.backbone)]
    rows.append({"layer": "head (new)", "parameters": sum(p.numel() for p in model.head.parameters()),
                 "trainable": True})
    return [row for row in rows if row["parameters"]]


def layer_groups(prefix: str, module: nn.Module) -> list[tuple[str, nn.Module]]:
    """The backbone's blocks, bottom to top, as the layer table shows them (gradual unfreezing's units)."""
    return _layer_groups(prefix, module)


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

