"""Lesson 7: look inside (the mistakes; where the model looked in each image, Grad-CAM; which words pushed a text
the wrong way, word importance). The heat maps are drawn while the lesson is prepared and kept beside its results
(``<workspace>/lessons/look_inside/``), so the screen shows them at once."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from core import i18n, runs, strategies
from core.i18n import N_, lazy
from core.lessons import Lesson, Setup, Step, accuracy, register, results_path


SHOWN = 6  # mistakes explained on the screen (most confident first: the most instructive)


def _run(setup: Setup, group: str):
    return [setup.config(setup.images, strategies.FEATURE_EXTRACTION, group, backbone=setup.image_backbone)]


def _texts_run(setup: Setup, group: str):
    """The texts lesson's run of the pretrained language model (its own plan: reused when that is prepared)."""
    from core.lessons import texts

    return [config for config in texts.runs(setup, group) if config.strategy == strategies.FEATURE_EXTRACTION]


def _wrong(predictions: list[dict]) -> list[dict]:
    """The validation mistakes, the most confident first."""
    return sorted((p for p in predictions if p["predicted"] != p["label"]), key=lambda p: -p.get("confidence", 0.0))


def _mistakes(setup: Setup, rows: list[dict]) -> dict:
    """The run's validation mistakes: how many, the pairs (true class -> predicted) it confuses most, and the
    first few with where the model looked (a Grad-CAM heat map over each image, kept as a picture)."""
    from core import explain, inference, storage
    from core.data import images

    run = runs.Run(Path(rows[0]["dir"]))
    names, predictions = run.class_titles(), run.predictions()
    wrong = _wrong(predictions)
    pairs = [{"true": names[a], "predicted": names[b], "count": n}
             for (a, b), n in Counter((p["label"], p["predicted"]) for p in wrong).most_common(3)]
    folder = results_path(LookInside.id, setup).with_suffix("") / run.dir.name
    predictor, root, shown = inference.load(run.dir), Path(run.data().get("root", ".")), []
    for index, item in enumerate(wrong[:SHOWN]):
        path = root / item["item"]
        if not path.is_file():
            continue
        heat = explain.overlay(explain.grad_cam(predictor, images.load_rgb(path), item["predicted"]))
        picture = folder / f"{index}.png"
        folder.mkdir(parents=True, exist_ok=True)
        partial = picture.with_suffix(".partial.png")
        with storage.guard(lazy("the heat maps of lesson {lesson}", lesson=LookInside.id), folder, 200_000,
                           [partial]):
            heat.save(partial)
            partial.replace(picture)
        shown.append({"picture": str(picture), "true": names[item["label"]], "predicted": names[item["predicted"]],
                      "confidence": item.get("confidence")})
    return {**accuracy(rows, strategies.FEATURE_EXTRACTION), "mistakes": len(wrong),
            "validated": len(predictions), "confused": pairs, "shown": shown}


def _words(setup: Setup, rows: list[dict]) -> dict:
    """The language model's first few text mistakes, each with the words that pushed it towards its wrong answer
    (word importance), kept as numbers."""
    from core import explain, inference

    run = runs.Run(Path(rows[0]["dir"]))
    names, texts, predictions = run.class_titles(), run.data().get("texts", {}), run.predictions()
    wrong = _wrong(predictions)
    predictor, shown = inference.load(run.dir), []
    for item in wrong[:3]:
        text = texts.get(item["item"], "")
        if not text:
            continue
        found = explain.token_importance(predictor, text[:1500], item["predicted"])
        strongest = []  # the words (not punctuation) that pushed most towards the wrong answer, each once
        for word, _score in sorted(found.words, key=lambda word: -word[1]):
            if any(c.isalnum() for c in word) and len(word) < 40 and word not in strongest and len(strongest) < 5:
                strongest.append(word)
        shown.append({"words": found.words, "separators": found.separators, "method": found.method,
                      "true": names[item["label"]], "predicted": names[item["predicted"]],
                      "confidence": item.get("confidence"), "strongest": strongest})
    return {**accuracy(rows, strategies.FEATURE_EXTRACTION), "mistakes": len(wrong),
            "validated": len(predictions), "shown": shown}


@register
class LookInside(Lesson):
    id = "look_inside"
    order = 70
    title = N_("Look inside: where the model looks, and where it goes wrong")
    goal = N_("Read a model's mistakes: which classes it confuses, where in each image it looked (Grad-CAM), and "
              "which words pushed a text the wrong way (word importance).")
    question = N_("Which digits does the model confuse most, and do its mistakes look like mistakes a person "
                  "could make?")
    variations = (N_("Open the run on the Results page, Mistakes tab: every mistake with its heat map."),
                  N_("Type your own sentence on the Try it page and see which words push the prediction."))

    def steps(self, setup: Setup) -> list[Step]:
        return [Step("mistakes", N_("Where the model looked when it went wrong"),
                     N_("Each picture is a mistake with its heat map: red where the evidence for the wrong answer "
                        "sits. Is it on the digit's strokes, or somewhere else? The table lists the pairs it "
                        "confuses most."), _run, _mistakes),
                Step("words", N_("Which words misled the language model"),
                     N_("Each article the model got wrong, its words coloured by how much they pushed towards the "
                        "wrong answer (green) or away from it (red). Would these words mislead a person too?"),
                     _texts_run, _words)]

    def conclude(self, numbers: dict[str, dict]) -> i18n.Text:
        found = numbers["mistakes"]
        if not found["confused"]:
            images = lazy("The model made no mistake on the {n} validation images: nothing to look at here; try "
                          "harder data (the digits on photos).", n=found["validated"])
        else:
            top = found["confused"][0]
            images = lazy("The model gets {mistakes} of {n} validation images wrong ({accuracy} right). It most "
                          "often answers {predicted} for a {true} ({count} times); where the heat map sits says "
                          "whether it looked at the digit's strokes or elsewhere.",
                          mistakes=found["mistakes"], n=found["validated"], accuracy=i18n.percent(found["accuracy"]),
                          predicted=top["predicted"], true=top["true"], count=top["count"])
        words = numbers.get("words") or {}
        if not words.get("shown"):
            return images
        first = words["shown"][0]
        return i18n.join(images, lazy(
            "On the texts the language model gets {mistakes} of {n} wrong; in its most confident mistake ({true} "
            "read as {predicted}) the words that pushed it most were: {words}.", mistakes=words["mistakes"],
            n=words["validated"], true=first["true"], predicted=first["predicted"],
            words=i18n.listing(first["strongest"][:3])))
