"""Lesson 5: when the data moves (the domain gap; adaptation with and without; what was chosen and why)."""

from __future__ import annotations

from core import i18n, strategies
from core.i18n import N_, lazy
from core.lessons import Lesson, Setup, Step, accuracy, ahead, register
from core.runs import Summary


def _plain(setup: Setup, group: str):
    return [setup.config(setup.images, strategies.FEATURE_EXTRACTION, group, backbone=setup.image_backbone,
                         target=setup.target, adapt="none")]


def _adapted(setup: Setup, group: str):
    return [setup.config(setup.images, strategies.FEATURE_EXTRACTION, group, backbone=setup.image_backbone,
                         target=setup.target, adapt="auto")]


def _scores(setup: Setup, rows: list[dict]) -> dict:
    row = rows[0]
    return {**accuracy(rows, strategies.FEATURE_EXTRACTION), "target_accuracy": row.get(Summary.TARGET_ACC),
            "target_items": row.get(Summary.TARGET_ITEMS), "adapt": row.get("adapt") or "none"}


@register
class WhenTheDataMoves(Lesson):
    id = "domain_shift"
    order = 50
    title = N_("When the data moves")
    goal = N_("Train on one kind of images (the source), use the model on another (the target), and see what "
              "domain adaptation can and cannot win back.")
    question = N_("A model that reads clean digits well: how well does it read digits on photos, and does "
                  "adaptation help?")
    variations = (N_("Load your own target on the Data page and measure the domain gap."),
                  N_("Force CORAL or standardisation on the Model page: does a forced method ever hurt?"))

    def steps(self, setup: Setup) -> list[Step]:
        return [Step("plain", N_("Trained on the source, used on the target"),
                     N_("Compare the accuracy on the source's validation images with the accuracy on the target: "
                        "the drop is the price of the domain gap."), _plain, _scores),
                Step("adapted", N_("The same, with adaptation chosen by measurement"),
                     N_("auto measures each method without the target's labels and keeps one only when it is "
                        "expected to help; otherwise it says so and adapts nothing."), _adapted, _scores)]

    def conclude(self, numbers: dict[str, dict]) -> i18n.Text:
        plain, adapted = numbers["plain"], numbers["adapted"]
        if plain["target_accuracy"] is None or adapted["target_accuracy"] is None:
            return lazy("The target has no labels, so its accuracy cannot be measured: the lesson needs a labelled "
                        "target.")
        said = dict(source=i18n.percent(plain["accuracy"]), target=i18n.percent(plain["target_accuracy"]),
                    drop=i18n.points(plain["accuracy"], plain["target_accuracy"]),
                    adapted=i18n.percent(adapted["target_accuracy"]), method=_method(adapted["adapt"]),
                    gain=i18n.points(adapted["target_accuracy"], plain["target_accuracy"]))
        gain = adapted["target_accuracy"] - plain["target_accuracy"]
        if adapted["adapt"] == "none":
            return lazy("On the source the model reaches {source}, on the target {target}: {drop} points lost to "
                        "the domain gap. auto measured the methods and kept none (none was expected to help "
                        "without hurting), so the target accuracy stays {adapted}: adaptation is no free lunch.",
                        **said)
        if gain > 0:
            found = lazy("On the source the model reaches {source}, on the target {target}: {drop} points lost to "
                         "the domain gap. Adapted with the method chosen by measurement ({method}), it reaches "
                         "{adapted} on the target: {gain} points won back.", **said)
        else:
            found = lazy("On the source the model reaches {source}, on the target {target}: {drop} points lost to "
                         "the domain gap. The method chosen by measurement without the target's labels ({method}) "
                         "did not help here ({adapted}, {gain} points lower): the measurement guesses, the labels "
                         "decide.", **said)
        cost = _source_cost(plain, adapted)
        return i18n.join(found, cost) if cost else found


def _source_cost(plain: dict, adapted: dict) -> i18n.Text | None:
    """What adapting cost on the source's own validation images, when it cost a clear point or more."""
    if plain["accuracy"] - adapted["accuracy"] < 0.01:
        return None
    said = dict(before=i18n.percent(plain["accuracy"]), after=i18n.percent(adapted["accuracy"]),
                cost=i18n.points(plain["accuracy"], adapted["accuracy"]))
    if ahead(adapted, plain) < 0:
        return lazy("It paid for it on the source: {after} there instead of {before} ({cost} points lower). "
                    "Adaptation moves the model towards the target and away from the source; whether the trade is "
                    "worth it depends on where the model will be used.", **said)
    return lazy("On the source it reaches {after} instead of {before} ({cost} points lower, within what the "
                "validation images can tell apart): worth watching, since adaptation moves the model towards the "
                "target and may move it away from the source.", **said)


def _method(name: str) -> str:
    """A method's short name in the reader's language ("CORAL"), or its code when its plugin is gone."""
    from core import adaptation

    try:
        return adaptation.get(name).short
    except Exception:
        return name
