"""TF-IDF + logistic regression: no neural network, the baseline any text model must beat."""

from __future__ import annotations

from core.errors import UserError
from core.i18n import N_, _, lazy
from core.strategies import Strategy, register


@register
class Tfidf(Strategy):
    name = "tfidf"
    title = N_("TF-IDF + logistic regression (baseline)")
    short = N_("the TF-IDF baseline")
    explanation = N_("Counts words and word pairs (or characters, for languages written without spaces), weighs "
                     "rare ones up, and fits a linear classifier: no neural network at all. Fast and often strong; "
                     "the baseline any text model must beat.")
    order = 40
    modalities = ("text",)
    uses_backbone = False
    pretrained = False
    fits_in_one_go = True
    baseline = True
    compared_for = ("text",)
    defaults = {"text": {"epochs": 1, "batch_size": 32, "scheduler": "none"}}

    def check(self, spec) -> None:
        raise UserError(lazy("TF-IDF + logistic regression has no neural network layers."),
                        lazy("It counts words and fits a linear classifier; there is nothing to freeze or fine-tune."))

    def fit(self, session) -> dict:
        from core.baselines import fit_tfidf

        return fit_tfidf(session.report, session.emit, session.run)

    def layers(self, spec, num_classes: int) -> list[dict]:
        return []

    def layers_note(self, report) -> str:
        from core.baselines import tfidf_settings

        counting = tfidf_settings(report.details.get("language"))
        return _("TF-IDF + logistic regression has no layers: one weight per counted term and class, learned in one "
                 "go. The backbone above is not used. {reason}", reason=counting["reason"])
