"""TrainConfig: the one typed object that flows from the UI or the CLI into training.

Saved beside every run (config.json) so a run can be reproduced exactly.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core import paths
from core.errors import UserError

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
    strategy: str = "feature_extract"
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
                                                # trained on with its labels (core/domains.py)
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
            raise UserError(f"Unknown strategy {strategy!r} for {modality} data.",
                            f"Choose one of: {', '.join(strategies.names(modality))}.")
        values = {**strategies.get(strategy).recipe(modality, private=overrides.get("dp_epsilon") is not None),
                  **{k: v for k, v in overrides.items() if v is not None}}
        if values.get("adapt") == "auto" or (values.get("target") and "adapt" not in values):
            from core import adaptation

            spec = _spec(values.get("backbone", cls.backbone))
            values["adapt"] = adaptation.resolve("auto", strategies.get(strategy), spec) if values.get("target") \
                else "none"
        return cls(data=data, strategy=strategy, **values).validated()

    def validated(self) -> "TrainConfig":
        """Return self if every value makes sense, else raise UserError saying which and why."""
        known = strategies.names()
        checks = [
            (self.strategy in known, f"strategy must be one of {', '.join(known)}"),
            (isinstance(self.epochs, int) and 1 <= self.epochs <= 1000, "epochs must be a whole number from 1 to 1000"),
            (isinstance(self.batch_size, int) and 1 <= self.batch_size <= 4096, "batch size must be from 1 to 4096"),
            (self.optimizer in ("adamw", "sgd"), "optimizer must be adamw or sgd"),
            (self.lr > 0, "learning rate must be above 0 (typical: 1e-4 to 1e-2)"),
            (self.lr <= MAX_LR, f"learning rate {self.lr:g} is far too high: training would diverge (the loss "
                                f"explodes); use at most {MAX_LR:g}, typically 1e-4 to 1e-2"),
            (self.head_lr_multiplier > 0, "head learning-rate multiplier must be above 0"),
            (0 <= self.momentum < 1, "momentum must be in [0, 1)"),
            (self.weight_decay >= 0, "weight decay cannot be negative"),
            (self.scheduler in ("none", "step", "linear"), "scheduler must be none, step or linear"),
            (0 <= self.warmup_fraction < 1, "warmup fraction must be in [0, 1)"),
            (0 <= self.head_dropout < 1, "head dropout must be in [0, 1)"),
            (isinstance(self.max_length, int) and 8 <= self.max_length <= 8192, "max length must be 8 to 8192 tokens"),
            (0 <= self.micro_batch_size <= self.batch_size, "micro batch size must be 0 (off) up to the batch size"),
            (isinstance(self.patience, int) and 0 <= self.patience <= 1000,
             "early-stopping patience must be 0 (off) or a whole number of epochs"),
            (self.strategy not in known or self.strategy in strategies.names(modality_of(self.data)),
             f"strategy {self.strategy} does not apply to {modality_of(self.data)} data"),
            (self.step_size >= 1, "scheduler step size must be at least 1 epoch"),
            (isinstance(self.unfreeze_stages, int) and 2 <= self.unfreeze_stages <= 50,
             "unfreezing stages must be a whole number from 2 (the head, then the whole backbone) to 50"),
            (isinstance(self.unfreeze_every, int) and 1 <= self.unfreeze_every <= 100,
             "epochs per unfreezing stage must be a whole number from 1 to 100"),
            (1 <= self.lr_decay <= 100, "the learning-rate decay per part must be from 1 (all alike) to 100"),
            (0 < self.gamma <= 1, "scheduler gamma must be in (0, 1]"),
            (0 < self.val_fraction < 1, "validation fraction must be between 0 and 1 (e.g. 0.2)"),
            (self.device in ("auto", "cpu", "cuda", "mps"), "device must be auto, cpu, cuda or mps"),
            *self._views_checks(known),
            (self.per_class is None or (isinstance(self.per_class, int) and self.per_class >= 1),
             "examples per class must be a whole number from 1 up (or left out for all)"),
            *self._adaptation_checks(known),
            *self._privacy_checks(known),
            (self.encoding is None or _known_codec(self.encoding),
             f"encoding {self.encoding!r} is not a text encoding Python knows (e.g. utf-8, gb18030, big5, cp932)"),
        ]
        problems = [message for ok, message in checks if not ok]
        if problems:
            raise UserError("Invalid training settings: " + "; ".join(problems) + ".")
        return self

    def _views_checks(self, known: list[str]) -> list[tuple[bool, str]]:
        if not (isinstance(self.augmented_views, int) and 0 <= self.augmented_views <= 20):
            return [(False, "augmented views per image must be a whole number from 0 (off) to 20")]
        if not self.augmented_views:
            return []
        on_features = self.strategy in known and strategies.get(self.strategy).on_features
        return [(on_features and modality_of(self.data) == "image",
                 "augmented views are for feature extraction on images (fine-tuning augments every epoch anyway)"),
                (not self.target, "augmented views are not used with a target yet: set them to 0 to adapt"),
                (self.augment, "augmented views need augmentation on: turn augmentation on, or use 0 views")]

    def _adaptation_checks(self, known: list[str]) -> list[tuple[bool, str]]:
        from core import adaptation

        methods = adaptation.names()
        if self.adapt not in methods:
            return [(False, f"adapt must be auto or one of {', '.join(methods)}")]
        if self.strategy in known and strategies.get(self.strategy).needs_target and not self.target:
            return [(False, f"strategy {self.strategy} needs a target dataset (where the model will be used)")]
        if self.adapt != "none" and not self.target:
            return [(False, f"adaptation ({self.adapt}) needs a target dataset: give one, or use adapt none")]
        if self.strategy in known and self.adapt != "none":
            learner = strategies.get(self.strategy)
            usable = [m.name for m in adaptation.for_strategy(learner, _spec(self.backbone))]
            if self.adapt not in usable:
                return [(False, f"{self.adapt} does not work with {learner.title.lower()} "
                                f"(with it: {', '.join(usable)})")]
        return []

    def _privacy_checks(self, known: list[str]) -> list[tuple[bool, str]]:
        from core import privacy

        numbers = all(value is None or (isinstance(value, (int, float)) and not isinstance(value, bool))
                      for value in (self.dp_epsilon, self.dp_delta)) and isinstance(self.dp_max_grad_norm, (int, float))
        if not numbers:
            return [(False, "the privacy budget, delta and clipping norm must be numbers")]
        learner = strategies.get(self.strategy) if self.strategy in known else None
        refusals = privacy.refusals(self, learner is None or learner.uses_backbone)
        if self.dp_epsilon is not None and learner is not None and not learner.private_ok:
            refusals.append((False, f"{learner.title.lower()} does not train privately yet: use feature extraction "
                                    "or fine-tuning for a private model"))
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
            raise UserError(f"Unknown config keys: {', '.join(unknown)}.", "Remove them or check the spelling.")
        return cls(**values).validated()

    @classmethod
    def load(cls, path: str | Path) -> "TrainConfig":
        return cls.from_dict(json.loads(Path(path).read_text())["config"])
