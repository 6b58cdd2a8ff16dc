"""The domain-adaptation registry: how a model trained on the source is made to work on the target.

Like the strategy registry, this module knows no entries; each built-in module here registers one
method, plugins (TRANSFERLAB_PLUGINS) can add more. A method declares its title, a plain
explanation for the Model page, the strategies it works with (``applies``), and its hook:
feature-level methods (CORAL, per-domain standardisation, subspace alignment) return two affine
maps, one per domain, fitted on the cached features; the head trains on mapped source features,
and the target's map is folded into the head afterwards, so the saved model is an ordinary
backbone + linear head that takes target inputs as they come (export, Try it and explanations need
nothing new). ``none`` trains on the source alone and still scores on the target.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import torch

from core import plugins
from core.errors import UserError
from core.i18n import N_, Shown, Text, _, lazy

if TYPE_CHECKING:
    from core.backbones import BackboneSpec
    from core.strategies import Strategy


@dataclass
class Affine:
    """x -> (x - mean) @ matrix: one domain's map into the shared space. A 1-D ``matrix`` is a diagonal one
    (a scale per feature: identity and standardisation), applied without a full product."""

    mean: np.ndarray      # [d]
    matrix: np.ndarray    # [d, k], or [d]: the diagonal

    def __call__(self, x: np.ndarray) -> np.ndarray:
        centred = x - self.mean
        return centred * self.matrix if self.matrix.ndim == 1 else centred @ self.matrix

    @property
    def full(self) -> np.ndarray:
        """The map's matrix as [d, k]."""
        return np.diag(self.matrix) if self.matrix.ndim == 1 else self.matrix

    @property
    def out_dim(self) -> int:
        return self.matrix.shape[-1]

    def finite(self) -> bool:
        return bool(np.isfinite(self.matrix).all() and np.isfinite(self.mean).all())

    @classmethod
    def identity(cls, dim: int) -> "Affine":
        return cls(np.zeros(dim), np.ones(dim))


class Adaptation:
    """One way to adapt. ``title`` ("CORAL (match the correlations)") and ``explanation`` (plain sentences for the
    Model page) are given in English, marked ``N_("...")``; read, they are in the current language, and so is
    ``short``. ``title_text`` / ``short_text``: the same as lazy Texts, for sentences read later (errors)."""

    name: ClassVar[str]
    title = Shown()
    explanation = Shown()
    _title: ClassVar[str] = ""
    _explanation: ClassVar[str] = ""
    order: ClassVar[int] = 50
    level: ClassVar[str] = "features"     # features: maps fitted on cached features (feature extraction);
                                          # training: changes each training step (DANN); statistics:
                                          # changes the trained network afterwards (AdaBN)
    distributed: ClassVar[bool] = True    # trains on several processes (torchrun); False: refused, said why

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for field in ("title", "explanation"):  # the English given: kept, translated when read
            given = cls.__dict__.get(field)
            if isinstance(given, str):
                setattr(cls, "_" + field, given)
                delattr(cls, field)

    def applies(self, strategy: "Strategy", spec: "BackboneSpec | None" = None) -> bool:
        return self.level == "features" and strategy.on_features

    def maps(self, source: np.ndarray, target: np.ndarray, seed: int = 0) -> tuple[Affine, Affine]:
        """Features level: (source map, target map), fitted on source training and target features."""
        raise NotImplementedError

    def prepare(self, session) -> tuple:
        """Training level: (training step or None, extra parameter groups, extra modules to checkpoint)."""
        return None, [], {}

    def finish(self, session, model) -> bool:
        """After training: change the trained ``model`` for the target; True if it changed."""
        return False

    @property
    def short(self) -> str:
        """The title without its gloss ("CORAL" for "CORAL (match the correlations)"), in the current language."""
        return _(self._short_english)

    @property
    def _short_english(self) -> str:
        return self._title.split(" (")[0]

    @property
    def title_text(self) -> Text:
        """The title, translated when shown: for sentences made now and read later (errors, events)."""
        return Text(self._title)

    @property
    def short_text(self) -> Text:
        return Text(self._short_english)

    def to_json(self) -> dict:
        return {"name": self.name, "title": self.title, "level": self.level, "explanation": self.explanation}


class NoAdaptation(Adaptation):
    name = "none"
    title = N_("No adaptation")
    explanation = N_("Train on the source alone; the target is only scored (when it has labels).")
    order = 0

    def applies(self, strategy, spec=None) -> bool:
        return True

    def maps(self, source, target, seed=0):
        return Affine.identity(source.shape[1]), Affine.identity(source.shape[1])


_REGISTRY: dict[str, Adaptation] = {"none": NoAdaptation()}
BUILT_IN = ("core.adaptation.coral", "core.adaptation.standardize", "core.adaptation.subspace",
            "core.adaptation.adabn", "core.adaptation.dann")
# ``auto`` is chosen by measurement on each run's own features (core/adaptation/choose.py), not by a fixed rule:
# which method helps depends on the shift (bench/README.md).
AUTO = "auto"


def register(method: "Adaptation | type[Adaptation]"):
    instance = method() if isinstance(method, type) else method
    _REGISTRY[instance.name] = instance
    return method


def unregister(name: str) -> None:
    if name != "none":
        _REGISTRY.pop(name, None)


def all_methods() -> list[Adaptation]:
    plugins.load(BUILT_IN)
    return sorted(_REGISTRY.values(), key=lambda m: (m.order, m.name))


def names() -> list[str]:
    return [m.name for m in all_methods()]


def get(name: str) -> Adaptation:
    plugins.load(BUILT_IN)
    if name in _REGISTRY:
        return _REGISTRY[name]
    close = difflib.get_close_matches(name, list(_REGISTRY), n=3)
    raise UserError(lazy("Unknown adaptation method {name!r}.", name=name),
                    lazy("Did you mean {names}?", names=", ".join(close)) if close else
                    lazy("Choose one of: auto, {names}.", names=", ".join(_REGISTRY)))


def for_strategy(strategy: "Strategy", spec: "BackboneSpec | None" = None) -> list[Adaptation]:
    return [m for m in all_methods() if m.applies(strategy, spec)]


def resolve(name: str, strategy: "Strategy", spec: "BackboneSpec | None" = None) -> str:
    """``auto`` stays ``auto`` where some method applies (measured when the run trains: choose.py), else
    ``none``; any other name is checked against the strategy."""
    usable = [m.name for m in for_strategy(strategy, spec)]
    if name == AUTO:
        return AUTO if len(usable) > 1 else "none"
    if name not in usable:
        get(name)  # unknown names get the "did you mean" error
        raise UserError(lazy("{method} does not work with {strategy}.", method=get(name).title_text,
                             strategy=strategy.short_text),
                        lazy("With {strategy}, use one of: {names}.", strategy=strategy.short_text,
                             names=", ".join(usable)))
    return name


def measured_here(strategy: "Strategy", spec: "BackboneSpec | None" = None) -> list[str]:
    """The methods ``auto`` measures for this strategy (feature level: seconds on cached features)."""
    return [m.name for m in for_strategy(strategy, spec) if m.level == "features" and m.name != "none"]


def title(name: str) -> str:
    """A method's title in the current language; ``auto``: chosen by measurement."""
    return _("Chosen by measurement") if name == AUTO else get(name).title if name in names() else name


def fold(head: torch.nn.Module, mapping: Affine) -> dict[str, torch.Tensor]:
    """The head's weights with ``mapping`` in front: linear(map(x)) as one linear layer on raw x."""
    weight = head.linear.weight.detach().double()          # [C, k]
    bias = head.linear.bias.detach().double()              # [C]
    matrix = torch.from_numpy(mapping.full).double()       # [d, k]
    mean = torch.from_numpy(mapping.mean).double()         # [d]
    folded = weight @ matrix.T                             # [C, d]
    return {"linear.weight": folded.float(), "linear.bias": (bias - folded @ mean).float()}
