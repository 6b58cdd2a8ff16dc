"""Backbone + new head as one module; freezing as an explicit function; who trains what, as a table.

What a strategy freezes and how fast each part learns is the strategy's (core/strategies/)."""

from __future__ import annotations

import torch
from torch import nn

from core.i18n import _


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
    """One row per layer group: name, parameter count, whether it trains. Backbone first, head last (its name in
    the current language: the table is shown at once)."""
    rows = [{"layer": name, "parameters": sum(p.numel() for p in module.parameters()),
             "trainable": any(p.requires_grad for p in module.parameters())}
            for name, module in _layer_groups("backbone", model.backbone)]
    loose = outside_groups(model)
    if loose:
        rows.append({"layer": ", ".join(name for name, _ in loose), "parameters": sum(p.numel() for _, p in loose),
                     "trainable": any(p.requires_grad for _, p in loose)})
    rows.append({"layer": _("head (new)"), "parameters": sum(p.numel() for p in model.head.parameters()),
                 "trainable": True})
    return [row for row in rows if row["parameters"]]


def layer_groups(prefix: str, module: nn.Module) -> list[tuple[str, nn.Module]]:
    """The backbone's blocks, bottom to top, as the layer table shows them (gradual unfreezing's units)."""
    return _layer_groups(prefix, module)


def _layer_groups(prefix: str, module: nn.Module) -> list[tuple[str, nn.Module]]:
    """Readable groups: step through single-child wrappers, split stacks (Sequential, ModuleList)
    into their blocks, keep anything else whole (a conv, an embedding table, a transformer block)."""
    children = _with_parameters(module)
    if len(children) == 1:
        name, child = children[0]
        return _layer_groups(f"{prefix}.{name}", child)
    groups = []
    for name, child in children:
        inner = _with_parameters(child)
        if _is_stack(child):
            groups += [(f"{prefix}.{name}.{sub}", block) for sub, block in inner]
        elif (len(inner) == 1 and not isinstance(child, (nn.Sequential, nn.ModuleList))) or any(
                _is_stack(block) for _, block in inner):  # a wrapper around a stack (a ViT's encoder): its blocks
            groups += _layer_groups(f"{prefix}.{name}", child)
        else:
            groups.append((f"{prefix}.{name}", child))
    return groups or [(prefix, module)]


def _with_parameters(module: nn.Module) -> list[tuple[str, nn.Module]]:
    return [(name, child) for name, child in module.named_children() if any(True for _ in child.parameters())]


def _is_stack(module: nn.Module) -> bool:
    """A Sequential or ModuleList of several blocks that hold parameters (a network's stages or layers)."""
    return isinstance(module, (nn.Sequential, nn.ModuleList)) and len(_with_parameters(module)) > 1


def outside_groups(model: TransferModel) -> list[tuple[str, nn.Parameter]]:
    """Backbone parameters that belong to no layer group (a ViT's class token and position embeddings)."""
    inside = {id(p) for _, module in _layer_groups("backbone", model.backbone) for p in module.parameters()}
    return [(f"backbone.{name}", p) for name, p in model.backbone.named_parameters() if id(p) not in inside]


def count_parameters(model: nn.Module) -> tuple[int, int]:
    """(trainable, frozen)."""
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return trainable, sum(p.numel() for p in model.parameters()) - trainable

