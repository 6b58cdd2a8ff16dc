"""Lesson 3: how much data is enough (the data-efficiency curve: where transfer pays, where a baseline catches up)."""

from __future__ import annotations

from core import i18n, strategies
from core.i18n import N_, lazy
from core.lessons import Lesson, Setup, Step, ahead, register
from core.runs import Summary

SIZES = (5, 20, 50, None)  # examples per class; None: all


def _curve(setup: Setup, group: str):
    return setup.curve(["scratch", strategies.FEATURE_EXTRACTION], list(SIZES), group)


def _points(setup: Setup, rows: list[dict]) -> dict:
    from core.runs import Run
    from pathlib import Path

    found = []
    for row in rows:
        per_class = Run(Path(row["dir"])).config().get("per_class")
        found.append({"strategy": row["strategy"], "per_class": per_class, "accuracy": row[Summary.BEST_VAL_ACC],
                      "val_images": row.get(Summary.VAL_IMAGES), "dir": row["dir"]})
    return {"points": found}


@register
class HowMuchData(Lesson):
    id = "how_much_data"
    order = 30
    title = N_("How much data is enough")
    goal = N_("Train with 5, 20, 50 and all examples per class and see where transfer pays and where a network "
              "from scratch catches up.")
    question = N_("As the examples per class grow, does the network from scratch catch up with transfer?")
    variations = (N_("Add fine-tuning to the curve (Compare, \"As the data grows\")."),
                  N_("Try the BBC News texts: TF-IDF is the baseline there."))

    def steps(self, setup: Setup) -> list[Step]:
        return [Step("curve", N_("Accuracy as the data grows"),
                     N_("Each point is a run on that many examples per class, scored on the same validation "
                        "images. Where do the two lines meet?"), _curve, _points)]

    def conclude(self, numbers: dict[str, dict]) -> i18n.Text:
        by = {}
        for point in numbers["curve"]["points"]:
            by.setdefault(point["per_class"], {})[point["strategy"]] = point
        sizes = sorted((s for s in by if len(by[s]) == 2), key=lambda s: float("inf") if s is None else s)
        first, last = by[sizes[0]], by[sizes[-1]]
        transfer_first, scratch_first = first[strategies.FEATURE_EXTRACTION], first["scratch"]
        transfer_last, scratch_last = last[strategies.FEATURE_EXTRACTION], last["scratch"]
        caught = [s for s in sizes if ahead(by[s][strategies.FEATURE_EXTRACTION], by[s]["scratch"]) <= 0]
        catch = caught[0] if caught else None  # (a size of None is all the data)
        said = dict(small=sizes[0], transfer=i18n.percent(transfer_first["accuracy"]),
                    scratch=i18n.percent(scratch_first["accuracy"]),
                    transfer_all=i18n.percent(transfer_last["accuracy"]),
                    scratch_all=i18n.percent(scratch_last["accuracy"]),
                    at=_size_words(catch))
        if ahead(transfer_first, scratch_first) > 0 and caught == sizes[-1:]:
            return lazy("Transfer pays where data is scarce: with {small} per class it reaches {transfer} against "
                        "{scratch} from scratch. Only with all the data does the network from scratch catch up "
                        "({scratch_all} against {transfer_all}, a difference within what the validation images can "
                        "tell apart). Pretrained features buy the most when labelled examples are few.", **said)
        if ahead(transfer_first, scratch_first) > 0 and caught:
            return lazy("Transfer pays where data is scarce: with {small} per class it reaches {transfer} against "
                        "{scratch} from scratch. With {at} the network from scratch has caught up (with all the "
                        "data: {transfer_all} against {scratch_all}). Pretrained features buy the most when "
                        "labelled examples are few.", **said)
        if ahead(transfer_first, scratch_first) > 0:
            return lazy("Transfer stays ahead at every size: {transfer} against {scratch} with {small} per class, "
                        "{transfer_all} against {scratch_all} with all the data. On these data the network from "
                        "scratch never catches up within the examples there are.", **said)
        return lazy("Not the textbook story: already with {small} per class the network from scratch keeps up "
                    "({scratch} against {transfer} for transfer; with all the data {scratch_all} against "
                    "{transfer_all}). These digits are simple shapes a small network learns from few examples; "
                    "transfer pays most on harder images and fewer examples.", **said)


def _size_words(size) -> str:
    if size is None:
        return i18n._("all the data")
    return i18n._("{n} examples per class", n=size)
