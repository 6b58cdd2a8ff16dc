"""Differentially private training: DP-SGD through Opacus.

With ``TrainConfig.dp_epsilon`` set, every optimizer step clips each training example's gradient to
``dp_max_grad_norm`` and adds Gaussian noise scaled to it, and each batch is a Poisson sample (every
example joins with probability batch size / N). Opacus' accountant (RDP) picks the noise that spends at
most ``dp_epsilon`` over the planned epochs at ``dp_delta`` (default 1/N) and says what was spent: a run
that stops early has spent less. The guarantee covers the training examples: validation chooses the best
epoch, as it does for any run.

What trains privately: the head on cached features (feature extraction), and whole networks whose
trainable layers Opacus can compute per-example gradients for. BatchNorm mixes the examples of a batch,
so its layers stay frozen (their pretrained statistics and weights, in eval mode); what else cannot be
handled is refused with Opacus' validator's words. Private runs train in float32 (no mixed precision).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Callable, Protocol

import torch
from torch import nn

from core.errors import UserError
from core.i18n import N_, Text, _, lazy


class PrivacySettings(Protocol):
    """What private training reads of the run's settings (core.config.TrainConfig has all of it; the config
    checks its settings with ``refusals``, so this module does not import it back)."""

    dp_epsilon: float | None
    dp_delta: float | None
    dp_max_grad_norm: float
    adapt: str
    micro_batch_size: int
    train_batchnorm: bool


DEFAULT_EPSILON = 3.0   # what the Train form offers first: a meaningful guarantee that still learns
_EXPLANATION = N_("Epsilon is the privacy budget: the smaller it is, the less anyone can learn from the model "
                  "about whether one particular example was in its training data (1 is strong, 8 is common, above "
                  "10 is weak).")


def explanation() -> str:
    """What epsilon means, in plain words and the current language."""
    return _(_EXPLANATION)


def __getattr__(name: str) -> str:
    """``privacy.EXPLANATION``: read in the current language each time (pages that show it need no change)."""
    if name == "EXPLANATION":
        return explanation()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def delta_for(config: PrivacySettings, examples: int) -> float:
    """The delta of the guarantee (the chance it fails): the config's, else 1 / the training examples."""
    return config.dp_delta if config.dp_delta else 1.0 / max(examples, 1)


def refusals(config: PrivacySettings, uses_backbone: bool) -> list[tuple[bool, Text]]:
    """(ok, why not) for settings private training cannot honour; checked with the rest of the config. The
    reasons are lazy Texts (read in the reader's language, like the UserError they end up in)."""
    if config.dp_epsilon is None:
        return [(config.dp_delta is None, lazy("a privacy delta needs a privacy budget epsilon (--dp-epsilon)"))]
    return [
        (0 < config.dp_epsilon <= 1000, lazy("the privacy budget epsilon must be above 0 (typical: 1 to 10)")),
        (config.dp_delta is None or 0 < config.dp_delta < 1,
         lazy("the privacy delta must be between 0 and 1 (leave it out for 1 / the training examples)")),
        (config.dp_max_grad_norm > 0, lazy("the gradient clipping norm must be above 0 (typical: 1)")),
        (uses_backbone, lazy("private training is for networks trained by gradient steps: TF-IDF + logistic "
                             "regression has none (use feature extraction for a private model)")),
        (config.adapt == "none", lazy("private training is not combined with domain adaptation yet (its maps are "
                                      "fitted on the training data outside the privacy budget): use adapt none")),
        (not config.micro_batch_size, lazy("private training takes whole batches: set micro batch size to 0")),
        (not config.train_batchnorm, lazy("private training keeps BatchNorm statistics fixed (a batch's statistics "
                                          "mix its examples): turn 'update BatchNorm statistics' off")),
    ]


def prepare(model: nn.Module) -> list[str]:
    """Make ``model`` trainable by DP-SGD: BatchNorm layers frozen (weights and statistics), then Opacus'
    validator; what it still objects to is refused, with its words. Returns the frozen layers' names."""
    from opacus.validators import ModuleValidator

    frozen = []
    for name, layer in model.named_modules():
        if isinstance(layer, nn.modules.batchnorm._BatchNorm) and any(p.requires_grad for p in layer.parameters()):
            for parameter in layer.parameters():
                parameter.requires_grad_(False)
            frozen.append(name)
    was_training = model.training
    model.train()
    errors = ModuleValidator.validate(model, strict=False)
    model.train(was_training)
    if errors:
        listed = "; ".join(dict.fromkeys(str(error).strip() for error in errors))
        raise UserError(lazy("This network cannot train privately as it is: {problems}", problems=listed[:600]),
                        lazy("Use feature extraction (the head always trains privately), or another backbone."))
    return frozen


@dataclass
class Private:
    """One run's DP-SGD: the engine (its accountant), the noise it adds, the budget it keeps to."""

    engine: object
    delta: float
    noise_multiplier: float
    max_grad_norm: float
    target_epsilon: float

    @classmethod
    def attach(cls, config: PrivacySettings, trainer: nn.Module, stepper, loader, epochs: int,
               examples: int) -> "tuple[Private, nn.Module, torch.utils.data.DataLoader]":
        """Wrap the training: ``trainer`` computes per-example gradients, ``stepper``'s optimizer clips and
        adds noise, ``loader`` draws Poisson batches (same mean size, same generator, so still seeded)."""
        from opacus import PrivacyEngine

        delta = delta_for(config, examples)
        silence()
        engine = PrivacyEngine(accountant="rdp")
        trainer.train()
        private_model, optimizer, private_loader = engine.make_private_with_epsilon(
            module=trainer, optimizer=stepper.optimizer, data_loader=loader, target_epsilon=config.dp_epsilon,
            target_delta=delta, epochs=epochs, max_grad_norm=config.dp_max_grad_norm)
        stepper.optimizer = optimizer
        return cls(engine, delta, float(optimizer.noise_multiplier), config.dp_max_grad_norm,
                   config.dp_epsilon), private_model, private_loader

    def freeze_shared(self, private_model: nn.Module, optimizer, loss_of_two: Callable[[], torch.Tensor],
                      examples: int = 2) -> list[str]:
        """Freeze the parameters every example of a batch shares an input of (a text encoder's position
        embeddings: one row of positions broadcast over the batch): they have no per-example gradient.
        Found by one trial step on two examples (``loss_of_two``); nothing is updated. Returns their names."""
        if examples < 2:  # one example: a shared input looks like a per-example one
            return []
        loss_of_two().backward()
        shared = [name for name, parameter in private_model.named_parameters()
                  if parameter.requires_grad and _examples_in(getattr(parameter, "grad_sample", None)) not in (None, examples)]
        optimizer.zero_grad(set_to_none=True)
        for name, parameter in private_model.named_parameters():
            if name in shared:
                parameter.requires_grad_(False)
        return [name.removeprefix("_module.") for name in shared]

    def epsilon(self) -> float:
        """The budget spent so far (0 before the first step)."""
        if not self.engine.accountant.history:
            return 0.0
        return float(self.engine.accountant.get_epsilon(self.delta))

    def state_dict(self) -> dict:
        return {"history": [list(step) for step in self.engine.accountant.history]}

    def load_state_dict(self, state: dict) -> None:
        self.engine.accountant.history = [tuple(step) for step in state.get("history", [])]

    def summary(self) -> dict:
        return {"epsilon": round(self.epsilon(), 4), "dp": {
            "target_epsilon": self.target_epsilon, "delta": self.delta,
            "noise_multiplier": round(self.noise_multiplier, 4), "max_grad_norm": self.max_grad_norm}}

    @staticmethod
    def detach(private_model: nn.Module) -> None:
        """Remove the per-example gradient hooks (the model evaluates and exports as a plain network)."""
        if hasattr(private_model, "to_standard_module"):
            private_model.to_standard_module()


def _examples_in(grad_sample) -> int | None:
    if isinstance(grad_sample, list):
        grad_sample = grad_sample[0] if grad_sample else None
    return None if grad_sample is None else int(grad_sample.shape[0])


def silence() -> None:
    """Opacus' advice meant for production (its secure random generator) and torch's note about the
    hooks it installs during every backward pass: not for the person training."""
    for message in (".*Secure RNG.*", ".*[Ff]ull backward hook.*", ".*Optimal order is.*"):
        warnings.filterwarnings("ignore", message=message)
