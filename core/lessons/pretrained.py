"""Lesson 1: what a pretrained network already knows (its features before any training; 5 examples per class)."""

from __future__ import annotations

from core import i18n, strategies
from core.i18n import N_, lazy
from core.lessons import Lesson, Setup, Step, accuracy, ahead, register

FEW = 5  # examples per class


def _map(setup: Setup, group: str):
    return setup.curve([strategies.FEATURE_EXTRACTION], [FEW], group)  # the next step's run, and the curve's


def _separation(setup: Setup, rows: list[dict]) -> dict:
    """How far apart the classes sit on the pretrained features, before any training (the embedding map)."""
    from core import embeddings, inference

    found = embeddings.embedding_map(inference.load(rows[0]["dir"]))
    return {"separation": round(embeddings.separation(found["before"], found["labels"]), 3),
            "map_run": rows[0]["dir"]}


def _few(setup: Setup, group: str):
    return setup.curve([strategies.FEATURE_EXTRACTION, "scratch"], [FEW], group)  # the curve's first points


def _versus(setup: Setup, rows: list[dict]) -> dict:
    return {"transfer": accuracy(rows, strategies.FEATURE_EXTRACTION), "scratch": accuracy(rows, "scratch")}


@register
class WhatPretrainedKnows(Lesson):
    id = "pretrained"
    order = 10
    title = N_("What a pretrained network already knows")
    goal = N_("See that a network trained on millions of photos already sorts your images before it has seen "
              "a single label of yours.")
    question = N_("With only 5 examples per class, who wins: the pretrained network's features with a new head, "
                  "or a network that learns everything from those examples?")
    variations = (N_("Try 1 or 20 examples per class (Compare, \"As the data grows\")."),
                  N_("Try another backbone on the Model page and compare the maps."))

    def steps(self, setup: Setup) -> list[Step]:
        return [Step("map", N_("The data through the pretrained network, before any training"),
                     N_("Each dot is one validation image placed by the pretrained features alone. Do the "
                        "classes already form groups? The separation number says how far apart they sit."),
                     _map, _separation),
                Step("few", N_("5 examples per class: transfer against from scratch"),
                     N_("Both see the same 5 examples per class and are scored on the same validation images."),
                     _few, _versus)]

    def conclude(self, numbers: dict[str, dict]) -> i18n.Text:
        transfer, scratch = numbers["few"]["transfer"], numbers["few"]["scratch"]
        said = dict(transfer=i18n.percent(transfer["accuracy"]), scratch=i18n.percent(scratch["accuracy"]),
                    points=i18n.points(transfer["accuracy"], scratch["accuracy"]), n=FEW)
        verdict = ahead(transfer, scratch)
        if verdict > 0:
            return lazy("With {n} examples per class the pretrained features reach {transfer}, the network from "
                        "scratch {scratch}: {points} points ahead, more than chance explains. What the network "
                        "learned on millions of photos (edges, strokes, shapes) carries over to your images.", **said)
        if verdict < 0:
            return lazy("Here the network from scratch wins: {scratch} against {transfer} for the pretrained "
                        "features ({points} points). Not the textbook story: on these data the pretrained "
                        "features do not fit (small grey digits enlarged look little like the photos it learned "
                        "from), and a small network learns simple shapes fast.", **said)
        return lazy("With {n} examples per class the two are about the same ({transfer} for the pretrained "
                    "features, {scratch} from scratch): the difference is within what the validation images can "
                    "tell apart. On simple data like these digits, a small network catches up quickly; the "
                    "pretrained features pay most when examples are fewer or the images harder.", **said)
