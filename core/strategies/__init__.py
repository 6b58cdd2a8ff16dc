"""The strategy registry: how a model learns, one module per strategy.

Like the backbone registry, this module knows no entries. Each built-in module in this package
(feature_extract, fine_tune, gradual_unfreeze, scratch, tfidf) subclasses ``Strategy`` and ``register``s it; plugins
named in TRANSFERLAB_PLUGINS can register more (core/plugins.py). A strategy declares what the
pages and the CLI show (title, explanation, modalities, recipe defaults, whether it needs a target
set) and the hooks the one training loop (core/loop.py) calls: ``build`` (which parameters train),
``parameter_groups`` (their learning rates), ``train_mode`` (what stays in eval mode), ``fit``.
Everything else (the Model page, the Train form, Compare, the CLI's choices, inference, export,
the embedding map) asks the registry instead of naming strategies.
"""

from __future__ import annotations

import difflib
from typing import Any, ClassVar

from torch import nn

from core import plugins
from core.backbones import BackboneSpec, create_backbone
from core.errors import UserError
from core.i18n import Shown, Text, _, lazy
from core.backbones.models import TransferModel, describe, freeze

# The two transfer strategies that every comparison reads against each other and against the baseline
# (Compare's reading, the curve's, the default of a new run): their names, written here and in their modules.
FEATURE_EXTRACTION, FINE_TUNING = "feature_extract", "fine_tune"

# The registry sits below config.py and loop.py, which import it: hooks get a TrainConfig (config), a
# loop.Session (session) and a DataReport (report), named in words here to keep the imports one-way.
Config = Session = Report = Any



class Strategy:
    """One way to learn. Subclass, set the class attributes, override the hooks that differ.

    ``title``, ``short`` and ``explanation`` are given in English, marked ``N_("...")``; read, they are in the
    current language (``Shown``)."""

    name: ClassVar[str]
    title = Shown()                               # "Feature extraction"
    short = Shown("title")                        # in sentences: "feature extraction"
    explanation = Shown()                         # one or two plain sentences for the Model page
    _title: ClassVar[str] = ""
    _short: ClassVar[str] = ""                    # none given: the title
    _explanation: ClassVar[str] = ""
    modalities: ClassVar[tuple[str, ...]] = ("image", "text")
    defaults: ClassVar[dict[str, dict[str, Any]]] = {}   # modality -> recipe (TrainConfig fields)
    private_defaults: ClassVar[dict[str, dict[str, Any]]] = {}  # modality -> changes to it for private training
    order: ClassVar[int] = 50                     # place in lists (Model page, CLI)
    needs_target: ClassVar[bool] = False          # learns from a second, unlabelled dataset (the target)
    uses_backbone: ClassVar[bool] = True          # False: no neural network (TF-IDF)
    pretrained: ClassVar[bool] = True             # starts from pretrained weights (so needs them)
    on_features: ClassVar[bool] = False           # trains a head on cached features: the backbone never changes,
                                                  # images are not augmented, the run keeps the head's weights only
    two_rates: ClassVar[bool] = False             # the backbone trains at `lr`, the head at lr x head_lr_multiplier
    fits_in_one_go: ClassVar[bool] = False        # no epochs or learning rate
    baseline: ClassVar[bool] = False              # what transfer is measured against in comparisons
    compared_for: ClassVar[tuple[str, ...]] = ()  # modalities whose "Compare strategies" includes it
    baseline_backbone: ClassVar[dict[str, str]] = {}  # modality -> backbone it trains in a comparison
    private_ok: ClassVar[bool] = True             # can train with differential privacy (core/privacy.py)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for field in ("title", "short", "explanation"):  # the English given: kept, translated when read
            given = cls.__dict__.get(field)
            if isinstance(given, str):
                setattr(cls, "_" + field, given)
                delattr(cls, field)

    @property
    def title_text(self) -> Text:
        """The title, translated when shown: for sentences made now and read later (``lazy``, errors)."""
        return Text(self._title or self.name)

    @property
    def short_text(self) -> Text:
        """``short`` (else the title), translated when shown, for lazy sentences: "{strategy} does not ..."."""
        return Text(self._short or self._title or self.name)

    def recipe(self, modality: str, private: bool = False) -> dict[str, Any]:
        """The classic settings for ``modality`` (``private``: with the changes private training wants);
        anything not listed keeps TrainConfig's default."""
        return {**self.defaults.get(modality, {}), **(self.private_defaults.get(modality, {}) if private else {})}

    @property
    def changes_backbone(self) -> bool:
        return self.uses_backbone and not self.on_features

    def check(self, spec: BackboneSpec) -> None:
        """Refuse a backbone this strategy cannot teach anything with, saying why."""
        if self.pretrained and not spec.pretrained:
            raise UserError(lazy("{backbone} has no pretrained weights, so there is nothing to transfer.",
                                 backbone=spec.title),
                            lazy("Use the strategy 'scratch' with it, or pick a pretrained backbone."))

    def build(self, spec: BackboneSpec, num_classes: int, dropout: float = 0.0,
              pretrained: bool | None = None) -> TransferModel:
        """The backbone (pretrained unless this strategy starts from random weights, or ``pretrained``
        says otherwise) with a new head; frozen parts frozen."""
        self.check(spec)
        weights = self.pretrained if pretrained is None else pretrained
        model = TransferModel(create_backbone(spec, pretrained=weights), spec.feature_dim, num_classes, dropout)
        if self.on_features:
            freeze(model.backbone)
            model.backbone.eval()
        return model

    def parameter_groups(self, model: TransferModel, config: Config) -> list[dict]:
        """The optimizer's parameter groups; "backbone" and "head" groups show on the live chart."""
        if self.two_rates:
            return [{"params": [p for p in model.backbone.parameters() if p.requires_grad], "lr": config.lr,
                     "name": "backbone"},
                    {"params": list(model.head.parameters()), "lr": config.lr * config.head_lr_multiplier,
                     "name": "head"}]
        return [{"params": [p for p in model.parameters() if p.requires_grad], "lr": config.lr, "name": "all"}]

    def epoch_start(self, model: nn.Module, config: Config, epoch: int) -> dict | None:
        """Called before each epoch (``epoch`` from 1): change what trains. A dict ({"stage", "stages",
        "message"...}) when a new stage begins: shown live and marked on the chart (gradual unfreezing)."""
        return None

    def train_mode(self, model: nn.Module, config: Config) -> None:
        """Called after ``model.train()`` each epoch: put back in eval mode what must not change."""
        if self.on_features and isinstance(model, TransferModel):
            model.backbone.eval()

    def fit(self, session: Session) -> dict:
        """Train; return the outcome (status, best_val_acc, best_state, best_predictions...).
        Subclass NetworkStrategy (core/strategies/network.py) to train a whole network."""
        raise NotImplementedError(f"strategy {self.name} does not say how it trains")

    def layers(self, spec: BackboneSpec, num_classes: int) -> list[dict]:
        """Which layers would train, without loading weights (the structure is the same)."""
        return describe(self.build(spec, num_classes, pretrained=False))

    def layers_note(self, report: Report) -> str | None:
        """For strategies without layers: what the Model page says instead of the layer table."""
        return None

    def to_json(self) -> dict:
        return {"name": self.name, "title": self.title, "modalities": list(self.modalities),
                "needs_target": self.needs_target, "uses_backbone": self.uses_backbone,
                "pretrained": self.pretrained, "baseline": self.baseline, "explanation": self.explanation,
                "defaults": {m: self.recipe(m) for m in self.modalities}}


_REGISTRY: dict[str, Strategy] = {}
BUILT_IN = ("core.strategies.feature_extract", "core.strategies.fine_tune", "core.strategies.gradual_unfreeze",
            "core.strategies.scratch", "core.strategies.tfidf")


def register(strategy: "Strategy | type[Strategy]"):
    """Add a strategy (an instance, or a class: usable as a decorator). Returns what it was given."""
    instance = strategy() if isinstance(strategy, type) else strategy
    _REGISTRY[instance.name] = instance
    return strategy


def unregister(name: str) -> None:
    _REGISTRY.pop(name, None)


def load_plugins() -> None:
    plugins.load(BUILT_IN)


def all_strategies() -> list[Strategy]:
    load_plugins()
    return sorted(_REGISTRY.values(), key=lambda s: (s.order, s.name))


def names(modality: str | None = None) -> list[str]:
    return [s.name for s in for_modality(modality)]


def for_modality(modality: str | None) -> list[Strategy]:
    return [s for s in all_strategies() if modality is None or modality in s.modalities]


def compared(modality: str) -> list[Strategy]:
    """The strategies "Compare strategies" trains for ``modality``: the baseline first."""
    return sorted((s for s in all_strategies() if modality in s.compared_for),
                  key=lambda s: (not s.baseline, s.order, s.name))


def get(name: str) -> Strategy:
    load_plugins()
    if name in _REGISTRY:
        return _REGISTRY[name]
    close = difflib.get_close_matches(name, list(_REGISTRY), n=3)
    hint = lazy("Did you mean {names}?", names=", ".join(close)) if close else \
        lazy("Run `python -m core strategies` to list them.")
    raise UserError(lazy("Unknown strategy {name}.", name=repr(name)), hint)


def find(name: str) -> Strategy | None:
    """The strategy, or None when no loaded entry has that name (a run of a plugin since removed)."""
    load_plugins()
    return _REGISTRY.get(name)


def title(name: str) -> str:
    """The strategy's title in the current language, or its bare name when no loaded entry has it (a plugin
    since removed)."""
    load_plugins()
    return _REGISTRY[name].title if name in _REGISTRY else name


def short(name: str) -> str:
    """The strategy's name in a sentence ("feature extraction"), in the current language."""
    load_plugins()
    return _REGISTRY[name].short if name in _REGISTRY else name
