"""Lesson 8: privacy (the membership audit; private training and what it costs)."""

from __future__ import annotations

from core import i18n, strategies
from core.i18n import N_, lazy
from core.lessons import Lesson, Setup, Step, accuracy, register

EPSILON = 3.0


def _plain(setup: Setup, group: str):
    return [setup.config(setup.images, strategies.FEATURE_EXTRACTION, group, backbone=setup.image_backbone)]


def _private(setup: Setup, group: str):
    return [setup.config(setup.images, strategies.FEATURE_EXTRACTION, group, backbone=setup.image_backbone,
                         dp_epsilon=EPSILON)]


def _audited(setup: Setup, rows: list[dict]) -> dict:
    from core import audit

    found = audit.audit(rows[0]["dir"])
    return {**accuracy(rows, strategies.FEATURE_EXTRACTION), "auc": round(found.mia_auc, 4),
            "auc_low": round(found.mia_auc_interval[0], 4), "auc_high": round(found.mia_auc_interval[1], 4)}


@register
class Privacy(Lesson):
    id = "privacy"
    order = 80
    title = N_("Privacy: what a model gives away, and what protecting it costs")
    goal = N_("Ask whether someone could tell from the model which examples it was trained on, then train "
              "privately and see what the guarantee costs in accuracy.")
    question = N_("Does the private model leak less, and how much accuracy does the guarantee cost?")
    variations = (N_("Try a smaller budget (ε = 1) or a larger one (ε = 8) on the Train page."),
                  N_("Audit a fine-tuned run: whole networks remember more."))

    def steps(self, setup: Setup) -> list[Step]:
        return [Step("plain", N_("A plain model, audited"),
                     N_("The audit compares the model's losses on its training examples with those on examples it "
                        "never saw. An AUC of 0.5 means it cannot tell them apart."), _plain, _audited),
                Step("private", N_("Trained privately (ε = 3), audited"),
                     N_("Private training clips each example's influence and adds noise, so no single example "
                        "changes the model much."), _private, _audited)]

    def conclude(self, numbers: dict[str, dict]) -> i18n.Text:
        plain, private = numbers["plain"], numbers["private"]
        said = dict(plain=i18n.percent(plain["accuracy"]), private=i18n.percent(private["accuracy"]),
                    cost=i18n.points(plain["accuracy"], private["accuracy"]),
                    plain_auc=i18n.number(plain["auc"], 2), private_auc=i18n.number(private["auc"], 2),
                    epsilon=i18n.number(EPSILON, 0))
        leaked = plain["auc_low"] > 0.5
        cost = plain["accuracy"] - private["accuracy"]
        if not leaked:
            return lazy("The plain model leaks little that this audit can see (AUC {plain_auc}, within chance): a "
                        "head on frozen features barely memorises. Private training (ε = {epsilon}) still "
                        "guarantees it, for {private} against {plain} accuracy ({cost} points).", **said)
        if cost > 0:
            return lazy("The plain model gives its training examples away a little (AUC {plain_auc}; 0.5 is "
                        "chance). Trained privately (ε = {epsilon}): AUC {private_auc}, at a cost of {cost} points "
                        "of accuracy ({private} against {plain}). Privacy has a price, paid in accuracy.", **said)
        return lazy("The plain model gives its training examples away a little (AUC {plain_auc}); trained "
                    "privately (ε = {epsilon}) the AUC is {private_auc}, and accuracy did not drop ({private} "
                    "against {plain}): here the guarantee came almost free.", **said)
