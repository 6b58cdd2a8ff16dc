"""TF-IDF + logistic regression: no neural network, the baseline any text model must beat."""

from __future__ import annotations

from core.errors import UserError
from core.strategies import Strategy, register


@register
class Tfidf(Strategy):
    name = "tfidf"
    title = "TF-IDF + logistic regression (baseline)"
    short = "the TF-IDF baseline"
    explanation = ("Counts words and word pairs (or characters, for languages written without spaces), weighs "
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
        raise UserError("TF-IDF + logistic regression has no neural network layers.",
                        "It counts words and fits a linear classifier; there is nothing to freeze or fine-tune.")

    def fit(self, session) -> dict:
        from core.baselines import fit_tfidf

        return fit_tfidf(session.report, session.emit, session.run)

    def layers(self, spec, num_classes: int) -> list[dict]:
        return []

    def layers_note(self, report) -> str:
        from core.baselines import tfidf_settings

        counting = tfidf_settings(report.details.get("language"))
        return ("TF-IDF + logistic regression has no layers: one weight per counted term and class, learned in one "
                f"go. The backbone above is not used. {counting['reason']}")
