"""DANN (Ganin and Lempitsky, 2015): while the network trains on the source's labels, a small domain
classifier learns to tell source features from target features, and its gradient reaches the
backbone reversed, so the backbone learns features that do not give the domain away."""

from __future__ import annotations

import math

import torch
from torch import nn

from core.adaptation import Adaptation, register
from core.adaptation.end_to_end import target_loader
from core.i18n import N_


class _Reverse(torch.autograd.Function):
    @staticmethod
    def forward(context, features, weight):
        context.weight = weight
        return features.view_as(features)

    @staticmethod
    def backward(context, gradient):
        return -context.weight * gradient, None


def reverse_gradient(features: torch.Tensor, weight: float) -> torch.Tensor:
    """Identity going forward; the gradient multiplied by -weight coming back."""
    return _Reverse.apply(features, weight)


def domain_classifier(feature_dim: int, hidden: int = 256) -> nn.Module:
    return nn.Sequential(nn.Linear(feature_dim, hidden), nn.ReLU(), nn.Dropout(0.5), nn.Linear(hidden, 2))


@register
class Dann(Adaptation):
    name = "dann"
    title = N_("DANN (adversarial domain classifier)")
    explanation = N_("While the network learns the labels, a small second classifier tries to tell training data "
                     "from target data by their features, and the backbone is trained to fool it: it learns features "
                     "that work for both domains. The strongest here, and slower: every step also reads a batch of "
                     "the target.")
    order = 50
    level = "training"
    distributed = False  # its domain classifier is not shared between processes yet
    weight = 1.0       # the domain loss's final weight; it ramps up from 0 as in the paper

    def applies(self, strategy, spec=None) -> bool:
        return strategy.changes_backbone

    def prepare(self, session):
        config = session.config
        classifier = domain_classifier(session.spec.feature_dim).to(session.device)
        batches = iter(())
        steps = {"done": 0}
        loader = target_loader(session, train=True)
        total = max(1, config.epochs * math.ceil(len(session.report.train) / (config.micro_batch_size or
                                                                                 config.batch_size)))

        def next_target():
            nonlocal batches
            try:
                return next(batches)
            except StopIteration:
                batches = iter(loader)
                return next(batches)

        def step(network, inputs, labels):
            from core.loaders import to_device

            progress = min(1.0, steps["done"] / total)
            steps["done"] += 1
            ramp = self.weight * (2.0 / (1.0 + math.exp(-10 * progress)) - 1.0)
            target_inputs = to_device(next_target()[0], session.device)
            if isinstance(inputs, tuple):  # token ids and masks of other lengths: one pass each (LayerNorm
                source_features = network.backbone(*inputs)  # keeps no batch statistics, so nothing differs)
                target_features = network.backbone(*target_inputs)
            else:  # images: one batch of both, so that BatchNorm sees (and remembers) both domains
                both_features = network.backbone(torch.cat([inputs, target_inputs]))
                source_features, target_features = both_features[:len(inputs)], both_features[len(inputs):]
            logits = network.head(source_features)
            label_loss = nn.functional.cross_entropy(logits.float(), labels)
            both = torch.cat([source_features, target_features])
            domains = torch.cat([torch.zeros(len(source_features)), torch.ones(len(target_features))]).long()
            domain_logits = classifier(reverse_gradient(both, ramp))
            domain_loss = nn.functional.cross_entropy(domain_logits.float(), domains.to(both.device))
            return logits, label_loss + domain_loss, label_loss

        groups = [{"params": list(classifier.parameters()), "lr": config.lr * config.head_lr_multiplier,
                   "name": "domain classifier"}]
        return step, groups, {"domain_classifier": classifier}
