"""Feature extraction: the pretrained backbone stays frozen; a new head learns on its cached features."""

from __future__ import annotations

import torch

from core import loop
from core.i18n import N_
from core.loaders import view_key
from core.strategies import FEATURE_EXTRACTION, Strategy, register


@register
class FeatureExtraction(Strategy):
    name = FEATURE_EXTRACTION
    title = N_("Feature extraction")
    short = N_("feature extraction")
    explanation = N_("The pretrained backbone stays frozen and only a new final layer (the head) learns. "
                     "The backbone's features are computed once and cached, so each epoch takes milliseconds.")
    order = 10
    on_features = True
    compared_for = ("image", "text")
    # A linear head on frozen features, AdamW: epochs take milliseconds, so many of them.
    defaults = {
        "image": {"optimizer": "adamw", "lr": 1e-3, "epochs": 25, "batch_size": 32, "scheduler": "none",
                  "weight_decay": 1e-2},
        "text": {"optimizer": "adamw", "lr": 3e-3, "epochs": 25, "batch_size": 32, "scheduler": "none",
                 "weight_decay": 1e-2, "max_length": 256},
    }

    # DP-SGD's noise drowns small steps: on MNIST digits at epsilon 3, 73.5% at 1e-3, 83.5% at 1e-2 (bench/privacy.py)
    private_defaults = {"image": {"lr": 1e-2}, "text": {"lr": 1e-2}}

    def fit(self, session: loop.Session) -> dict:
        feature_set = loop.cached_features(session)
        if feature_set is None:
            return loop.stopped_before_training(session.stop_reason() or "stopped")
        if session.target is not None:  # domain adaptation on the features (core/adaptation/)
            from core.adaptation.features import fit_aligned

            return fit_aligned(session, feature_set)
        report, views = session.report, None
        if session.config.augmented_views:  # K augmented copies of each training image, featurised once
            view_set = loop.cached_views(session)
            if view_set is None:
                return loop.stopped_before_training(session.stop_reason() or "stopped")
            views = torch.stack([view_set.rows([(view_key(k, key), label) for key, label in report.train])
                                 for k in range(1, session.config.augmented_views + 1)])
        torch.manual_seed(session.config.seed)  # the same head whether the features were computed or read back
        head = self.build(session.spec, len(report.classes), session.config.head_dropout, pretrained=False).head
        return loop.fit_on_features(session, head, feature_set.rows(report.train), feature_set.rows(report.val),
                                    feature_set, views=views)
