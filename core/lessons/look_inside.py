"""Lesson 7: look inside (the mistakes, where the model looked: Grad-CAM on the Results page)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from core import i18n, runs, strategies
from core.i18n import N_, lazy
from core.lessons import Lesson, Setup, Step, accuracy, register


def _run(setup: Setup, group: str):
    return [setup.config(setup.images, strategies.FEATURE_EXTRACTION, group, backbone=setup.image_backbone)]


def _mistakes(setup: Setup, rows: list[dict]) -> dict:
    """The run's validation mistakes: how many, and the pairs (true class -> predicted) it confuses most."""
    run = runs.Run(Path(rows[0]["dir"]))
    names = run.class_titles()
    wrong = [(p["label"], p["predicted"]) for p in run.predictions() if p["predicted"] != p["label"]]
    pairs = [{"true": names[a], "predicted": names[b], "count": n} for (a, b), n in Counter(wrong).most_common(3)]
    return {**accuracy(rows, strategies.FEATURE_EXTRACTION), "mistakes": len(wrong),
            "validated": len(run.predictions()), "confused": pairs}


@register
class LookInside(Lesson):
    id = "look_inside"
    order = 70
    title = N_("Look inside: where the model looks, and where it goes wrong")
    goal = N_("Read a model's mistakes: which classes it confuses, and, on the Results page, where in each image "
              "it looked (Grad-CAM).")
    question = N_("Which digits does the model confuse most, and do its mistakes look like mistakes a person "
                  "could make?")
    variations = (N_("Open the run on the Results page, Mistakes tab: each mistake with its heat map."),
                  N_("On texts (BBC News), Try it shows which words pushed the prediction."))

    def steps(self, setup: Setup) -> list[Step]:
        return [Step("mistakes", N_("The mistakes of a feature-extraction run"),
                     N_("Each pair is a true class and what the model answered instead, most frequent first. Open "
                        "the Results page to see where it looked in each image."), _run, _mistakes)]

    def conclude(self, numbers: dict[str, dict]) -> i18n.Text:
        found = numbers["mistakes"]
        if not found["confused"]:
            return lazy("The model made no mistake on the {n} validation images: nothing to look at here; try "
                        "harder data (the digits on photos).", n=found["validated"])
        top = found["confused"][0]
        return lazy("The model gets {mistakes} of {n} validation images wrong ({accuracy} right). It most often "
                    "answers {predicted} for a {true} ({count} times): look at those images on the Results page; "
                    "where the heat map sits says whether it looked at the digit's strokes or elsewhere.",
                    mistakes=found["mistakes"], n=found["validated"], accuracy=i18n.percent(found["accuracy"]),
                    predicted=top["predicted"], true=top["true"], count=top["count"])
