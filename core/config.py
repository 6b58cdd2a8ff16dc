"""TrainConfig: the one typed object that flows from the UI or the CLI into training.

Saved beside every run (config.json) so a run can be reproduced exactly.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from core import paths
from core.errors import UserError
from core.i18n import Text, lazy

from core import strategies
from core.data import modality_of

MAX_LR = 10.0


def _spec(backbone: str):
    """The backbone's registry entry, or None when it cannot be resolved (training says why later)."""
    from core import backbones

    try:
        return backbones.get(backbone)
    except Exception:
        return None


def _listed(problems: list[Text]) -> Text:
    """Several problems as one lazy text, "a; b; c", joined in the reader's language when read."""
    joined = problems[0]
    for problem in problems[1:]:
        joined = lazy("{earlier}; {problem}", earlier=joined, problem=problem)
    return joined


def _known_codec(name: str) -> bool:
    import codecs

    try:
        codecs.lookup(name)
        return True
    except LookupError:
        return False


@dataclass
class TrainConfig:
    """Everything that decides a training run. Defaults follow the classic recipes."""

    data: str                                   # folder, .zip, or "sample:mnist"
    backbone: str = "efficientnet_lite0"
    strategy: str = strategies.FEATURE_EXTRACTION
    epochs: int = 25
    batch_size: int = 32
    optimizer: str = "adamw"                    # adamw | sgd
    lr: float = 1e-3                            # the backbone's rate when fine-tuning
    head_lr_multiplier: float = 10.0            # fine-tuning: head lr = lr x this
    momentum: float = 0.9                       # SGD only
    weight_decay: float = 1e-2
    scheduler: str = "none"                     # none | step | linear (warmup, then decay to 0)
    step_size: int = 7                          # StepLR: every N epochs ...
    gamma: float = 0.1                          # ... multiply lr by this
    warmup_fraction: float = 0.1                # linear: share of the steps spent warming up
    head_dropout: float = 0.0                   # dropout before the new head
    unfreeze_stages: int = 4                    # gradual unfreezing: the head alone, then the backbone in N-1 parts
    unfreeze_every: int = 1                     # ... each stage this many epochs
    lr_decay: float = 2.6                       # ... each part down learns this many times slower (ULMFiT)
    train_batchnorm: bool = False               # fine-tuning: update BatchNorm statistics too (off: keep the
                                                # pretrained ones; far steadier on small data)
    seed: int = 0
    val_fraction: float = 0.2                   # used when the data has no val folder
    augment: bool = True                        # random resized crop (+ flip) when training images
    augmented_views: int = 0                    # feature extraction on images: K augmented copies of every
                                                # training image featurised once (cached); epochs draw among
                                                # them and the plain one. 0 = the plain features only
    horizontal_flip: bool = True                # turn off for digits and text in images
    text_column: str | None = None              # texts: None = the guessed column
    label_column: str | None = None
    encoding: str | None = None                 # texts: the table's encoding; None = detected
    max_length: int = 128                       # texts: tokens kept per text
    micro_batch_size: int = 0                   # >0: accumulate gradients over batch_size / this
    patience: int = 5                           # early stopping: epochs without a lower val loss; 0 = off
    target: str | None = None                   # where the model will be used: a second dataset, scored, never
                                                # trained on with its labels (core/data/domains.py)
    adapt: str = "none"                         # domain adaptation (core/adaptation/): none, standardize, coral...
    per_class: int | None = None                # train on at most this many examples of each class (a seeded,
                                                # stratified, nested subset; validation stays whole): the
                                                # data-efficiency curve (core/curve.py); None = all
    dp_epsilon: float | None = None             # private training (DP-SGD, core/privacy.py): the privacy budget
                                                # epsilon; None = an ordinary run
    dp_delta: float | None = None               # the chance the guarantee fails; None = 1 / training examples
    dp_max_grad_norm: float = 1.0               # each example's gradient clipped to this norm, noise scaled to it
    group: str | None = None                    # runs started together (a strategy comparison, a curve)
    device: str = "auto"                        # auto | cpu | cuda | mps
    out_dir: str = field(default_factory=lambda: str(paths.runs_dir()))
    cache_dir: str = field(default_factory=lambda: str(paths.cache_dir()))

    @classmethod
    def for_strategy(cls, data: str, strategy: str, **overrides: Any) -> "TrainConfig":
        """A config with the strategy's recipe defaults, then ``overrides`` (None values ignored)."""
        modality = modality_of(data)
        if strategy not in strategies.names(modality):
            listed = ", ".join(strategies.names(modality))
            raise UserError(lazy("Unknown strategy {name} for text data.", name=repr(strategy)) if modality == "text"
                            else lazy("Unknown strategy {name} for image data.", name=repr(strategy)),
                            lazy("Choose one of: {names}.", names=listed))
        values = {**strategies.get(strategy).recipe(modality, private=overrides.get("dp_epsilon") is not None),
                  **{k: v for k, v in overrides.items() if v is not None}}
        if values.get("adapt") == "auto" or (values.get("target") and "adapt" not in values):
            from core import adaptation

            spec = _spec(values.get("backbone", cls.backbone))
            values["adapt"] = adaptation.resolve("auto", strategies.get(strategy), spec) \
                if values.get("target") and values.get("dp_epsilon") is None else "none"
        return cls(data=data, strategy=strategy, **values).validated()

    def validated(self) -> "TrainConfig":
        """Return self if every value makes sense, else raise UserError saying which and why (in lazy Texts:
        read in the reader's language, also when a training process raised it)."""
        wrong = self._wrong_types()
        if wrong:  # a hand-edited or older config.json: said before any comparison could fail on it
            raise UserError(lazy("Invalid training settings: {problems}.", problems=_listed(wrong)))
        known = strategies.names()
        checks = [
            (self.strategy in known, lazy("strategy must be one of {names}", names=", ".join(known))),
            (isinstance(self.epochs, int) and 1 <= self.epochs <= 1000,
             lazy("epochs must be a whole number from 1 to 1000")),
            (isinstance(self.batch_size, int) and 1 <= self.batch_size <= 4096,
             lazy("batch size must be from 1 to 4096")),
            (self.optimizer in ("adamw", "sgd"), lazy("optimizer must be adamw or sgd")),
            (self.lr > 0, lazy("learning rate must be above 0 (typical: 1e-4 to 1e-2)")),
            (self.lr <= MAX_LR, lazy("learning rate {lr:g} is far too high: training would diverge (the loss "
                                     "explodes); use at most {max_lr:g}, typically 1e-4 to 1e-2", lr=self.lr,
                                     max_lr=MAX_LR)),
            (self.head_lr_multiplier > 0, lazy("head learning-rate multiplier must be above 0")),
            (0 <= self.momentum < 1, lazy("momentum must be in [0, 1)")),
            (self.weight_decay >= 0, lazy("weight decay cannot be negative")),
            (self.scheduler in ("none", "step", "linear"), lazy("scheduler must be none, step or linear")),
            (0 <= self.warmup_fraction < 1, lazy("warmup fraction must be in [0, 1)")),
            (0 <= self.head_dropout < 1, lazy("head dropout must be in [0, 1)")),
            (isinstance(self.max_length, int) and 8 <= self.max_length <= 8192,
             lazy("max length must be 8 to 8192 tokens")),
            (0 <= self.micro_batch_size <= self.batch_size,
             lazy("micro batch size must be 0 (off) up to the batch size")),
            (isinstance(self.patience, int) and 0 <= self.patience <= 1000,
             lazy("early-stopping patience must be 0 (off) or a whole number of epochs")),
            self._modality_check(known),
            (self.step_size >= 1, lazy("scheduler step size must be at least 1 epoch")),
            (isinstance(self.unfreeze_stages, int) and 2 <= self.unfreeze_stages <= 50,
             lazy("unfreezing stages must be a whole number from 2 (the head, then the whole backbone) to 50")),
            (isinstance(self.unfreeze_every, int) and 1 <= self.unfreeze_every <= 100,
             lazy("epochs per unfreezing stage must be a whole number from 1 to 100")),
            (1 <= self.lr_decay <= 100, lazy("the learning-rate decay per part must be from 1 (all alike) to 100")),
            (0 < self.gamma <= 1, lazy("scheduler gamma must be in (0, 1]")),
            (0 < self.val_fraction < 1, lazy("validation fraction must be between 0 and 1 (e.g. 0.2)")),
            (self.device in ("auto", "cpu", "cuda", "mps"), lazy("device must be auto, cpu, cuda or mps")),
            *self._views_checks(known),
            (self.per_class is None or (isinstance(self.per_class, int) and self.per_class >= 1),
             lazy("examples per class must be a whole number from 1 up (or left out for all)")),
            *self._adaptation_checks(known),
            *self._privacy_checks(known),
            (self.encoding is None or _known_codec(self.encoding),
             lazy("encoding {encoding} is not a text encoding Python knows (e.g. utf-8, gb18030, big5, cp932)",
                  encoding=repr(self.encoding))),
        ]
        problems = [message for ok, message in checks if not ok]
        if problems:
            raise UserError(lazy("Invalid training settings: {problems}.", problems=_listed(problems)))
        return self

    def _wrong_types(self) -> list[Text]:
        """Fields whose default is a number but whose value is not one (True and False are not numbers)."""
        problems = []
        for spec in fields(self):
            default, value = spec.default, getattr(self, spec.name)
            if isinstance(default, (int, float)) and not isinstance(default, bool):
                if isinstance(value, bool) or not isinstance(value, (int, float)):
                    problems.append(lazy("{name} must be a number, not {value}", name=spec.name, value=repr(value)))
        return problems

    def _modality_check(self, known: list[str]) -> tuple[bool, Text]:
        modality = modality_of(self.data)
        applies = self.strategy not in known or self.strategy in strategies.names(modality)
        if modality == "text":
            return applies, lazy("strategy {name} does not apply to text data", name=self.strategy)
        return applies, lazy("strategy {name} does not apply to image data", name=self.strategy)

    def _views_checks(self, known: list[str]) -> list[tuple[bool, Text]]:
        if not (isinstance(self.augmented_views, int) and 0 <= self.augmented_views <= 20):
            return [(False, lazy("augmented views per image must be a whole number from 0 (off) to 20"))]
        if not self.augmented_views:
            return []
        on_features = self.strategy in known and strategies.get(self.strategy).on_features
        return [(on_features and modality_of(self.data) == "image",
                 lazy("augmented views are for feature extraction on images (fine-tuning augments every epoch "
                      "anyway)")),
                (not self.target, lazy("augmented views are not used with a target yet: set them to 0 to adapt")),
                (self.augment, lazy("augmented views need augmentation on: turn augmentation on, or use 0 views"))]

    def _adaptation_checks(self, known: list[str]) -> list[tuple[bool, Text]]:
        from core import adaptation

        methods = adaptation.names()
        if self.adapt not in (adaptation.AUTO, *methods):
            return [(False, lazy("adapt must be auto or one of {names}", names=", ".join(methods)))]
        if self.strategy in known and strategies.get(self.strategy).needs_target and not self.target:
            return [(False, lazy("strategy {name} needs a target dataset (where the model will be used)",
                                 name=self.strategy))]
        if self.adapt != "none" and not self.target:
            return [(False, lazy("adaptation ({method}) needs a target dataset: give one, or use adapt none",
                                 method=self.adapt))]
        if self.strategy in known and self.adapt != "none":
            learner = strategies.get(self.strategy)
            usable = [m.name for m in adaptation.for_strategy(learner, _spec(self.backbone))]
            if self.adapt not in usable and not (self.adapt == adaptation.AUTO and len(usable) > 1):
                return [(False, lazy("{method} does not work with {strategy} (with it: {usable})", method=self.adapt,
                                     strategy=learner.short_text, usable=", ".join(usable)))]
        return []

    def _privacy_checks(self, known: list[str]) -> list[tuple[bool, Text]]:
        from core import privacy

        numbers = all(value is None or (isinstance(value, (int, float)) and not isinstance(value, bool))
                      for value in (self.dp_epsilon, self.dp_delta)) and isinstance(self.dp_max_grad_norm, (int, float))
        if not numbers:
            return [(False, lazy("the privacy budget, delta and clipping norm must be numbers"))]
        learner = strategies.get(self.strategy) if self.strategy in known else None
        refusals = privacy.refusals(self, learner is None or learner.uses_backbone)
        if self.dp_epsilon is not None and learner is not None and not learner.private_ok:
            refusals.append((False, lazy("{strategy} does not train privately yet: use feature extraction or "
                                         "fine-tuning for a private model", strategy=learner.short_text)))
        return refusals

    @property
    def model_label(self) -> str:
        """A short, file-name-safe name for what is trained (used in run folder names)."""
        if not strategies.get(self.strategy).uses_backbone:
            return self.strategy
        if self.backbone.startswith("run:"):  # a run used as a backbone: named after that run's folder
            return "from-" + "".join(c if c.isalnum() or c in "-_." else "-" for c in Path(self.backbone[4:]).name)[-55:]
        return "".join(c if c.isalnum() or c in "-_." else "-" for c in self.backbone.removeprefix("hf:"))[-60:]

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "TrainConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise UserError(lazy("Unknown config keys: {keys}.", keys=", ".join(unknown)),
                            lazy("Remove them or check the spelling."))
        return cls(**values).validated()

    @classmethod
    def load(cls, path: str | Path) -> "TrainConfig":
        return cls.from_dict(json.loads(Path(path).read_text())["config"])
