"""Lesson 2: feature extraction or fine-tuning (which layers train, the accuracy, the first-time cost)."""

from __future__ import annotations

from core import costs, i18n, strategies
from core.i18n import N_, lazy
from core.lessons import Lesson, Setup, Step, accuracy, ahead, register


def _extract(setup: Setup, group: str):
    return [setup.config(setup.images, strategies.FEATURE_EXTRACTION, group, backbone=setup.image_backbone)]


def _tune(setup: Setup, group: str):
    return [setup.config(setup.images, strategies.FINE_TUNING, group, backbone=setup.image_backbone)]


@register
class ExtractOrTune(Lesson):
    id = "extract_or_tune"
    order = 20
    title = N_("Feature extraction or fine-tuning")
    goal = N_("Compare the two ways to reuse a pretrained network: train only a new head on its frozen "
              "features, or let every layer learn.")
    question = N_("Fine-tuning trains every layer. Is it more accurate here, and what does it cost?")
    variations = (N_("Turn on gradual unfreezing (Model page) and compare it with both."),
                  N_("Use fewer examples per class: which strategy suffers more?"))

    def steps(self, setup: Setup) -> list[Step]:
        return [Step("extract", N_("Feature extraction: the backbone frozen, a new head trains"),
                     N_("Look at how few parameters train and how fast each epoch is once the features are "
                        "computed."), _extract, lambda setup, rows: accuracy(rows, strategies.FEATURE_EXTRACTION)),
                Step("tune", N_("Fine-tuning: every layer trains"),
                     N_("Every parameter trains now: each epoch passes every image through the whole network, "
                        "forwards and backwards."), _tune, lambda setup, rows: accuracy(rows, strategies.FINE_TUNING))]

    def conclude(self, numbers: dict[str, dict]) -> i18n.Text:
        extract, tune = numbers["extract"], numbers["tune"]
        said = dict(extract=i18n.percent(extract["accuracy"]), tune=i18n.percent(tune["accuracy"]),
                    points=i18n.points(tune["accuracy"], extract["accuracy"]),
                    extract_time=costs.duration(extract["seconds"] or 0), tune_time=costs.duration(tune["seconds"] or 0))
        verdict = ahead(tune, extract)
        if verdict > 0:
            return lazy("Fine-tuning reaches {tune}, feature extraction {extract}: {points} points better, for "
                        "{tune_time} of training against {extract_time}. Letting the layers adapt to your images "
                        "pays here, at a price in time.", **said)
        if verdict < 0:
            return lazy("Feature extraction wins: {extract} against {tune} for fine-tuning ({points} points), and "
                        "in {extract_time} against {tune_time}. With this little data, changing every layer "
                        "overfits or forgets; the frozen features already do the job.", **said)
        return lazy("About the same: fine-tuning {tune}, feature extraction {extract}, a difference within what the "
                    "validation images can tell apart; but fine-tuning took {tune_time} against {extract_time}. "
                    "When the frozen features already do the job, they are the better buy.", **said)
