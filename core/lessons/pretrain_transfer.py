"""Lesson 4: pretrain, then transfer (your own run as a backbone on a small related task, against from scratch)."""

from __future__ import annotations

from core import i18n, strategies
from core.i18n import N_, lazy
from core.lessons import Lesson, Setup, Step, accuracy, ahead, prepared_run, register

FEW = 10  # examples per class of the small related task
SCRATCH = "scratch"


def _pretrain_config(setup: Setup, group: str):
    scratch = strategies.get(SCRATCH)
    return setup.config(setup.images, SCRATCH, group, backbone=scratch.baseline_backbone.get("image", "small_cnn"))


def _pretrain(setup: Setup, group: str):
    return [_pretrain_config(setup, group)]


def _pretrained(setup: Setup, rows: list[dict]) -> dict:
    return accuracy(rows, SCRATCH)


def _transfer(setup: Setup, group: str):
    """On the target's digits (another look, few examples): the network pretrained in step 1 with a new head,
    against the same network from scratch. Until step 1 is trained its network stands in (for the estimate)."""
    from core import run_backbones

    base = _pretrain_config(setup, group)
    done = prepared_run(base)
    backbone = run_backbones.name_for(done.dir) if done is not None else base.backbone
    return [setup.config(setup.target, strategies.FEATURE_EXTRACTION, group, backbone=backbone, per_class=FEW),
            setup.config(setup.target, SCRATCH, group, backbone=base.backbone, per_class=FEW)]


def _versus(setup: Setup, rows: list[dict]) -> dict:
    return {"transfer": accuracy(rows, strategies.FEATURE_EXTRACTION), "scratch": accuracy(rows, SCRATCH)}


@register
class PretrainThenTransfer(Lesson):
    id = "pretrain_transfer"
    order = 40
    title = N_("Pretrain, then transfer")
    goal = N_("Pretrain a small network yourself on plenty of digits, then reuse it on a related task with few "
              "examples: the whole idea of transfer learning, done by hand.")
    question = N_("On digits on photos, with 10 examples per class: does your pretrained network beat the same "
                  "network trained from scratch?")
    variations = (N_("On the Model page, pick your run under \"Your models\" as the backbone and fine-tune it."),
                  N_("Pretrain on the larger sample (5,000 digits) and compare."))

    def steps(self, setup: Setup) -> list[Step]:
        return [Step("pretrain", N_("Pretrain a small network on the clean digits"),
                     N_("This run learns digits from scratch on all the clean examples: its network is what the "
                        "next step reuses."), _pretrain, _pretrained),
                Step("transfer", N_("Reuse it on digits on photos, 10 examples per class"),
                     N_("The pretrained network is frozen and gets a new head; the other network starts from random "
                        "weights. Same examples, same validation images."), _transfer, _versus)]

    def conclude(self, numbers: dict[str, dict]) -> i18n.Text:
        pretrained, transfer, scratch = numbers["pretrain"], numbers["transfer"]["transfer"], \
            numbers["transfer"]["scratch"]
        said = dict(source=i18n.percent(pretrained["accuracy"]), transfer=i18n.percent(transfer["accuracy"]),
                    scratch=i18n.percent(scratch["accuracy"]), n=FEW,
                    points=i18n.points(transfer["accuracy"], scratch["accuracy"]))
        verdict = ahead(transfer, scratch)
        if verdict > 0:
            return lazy("Pretrained on the clean digits ({source} there), your network reaches {transfer} on digits "
                        "on photos with {n} examples per class, against {scratch} from scratch: {points} points "
                        "ahead. Pretraining on a related task reduced the data needed: transfer learning, by hand.",
                        **said)
        if verdict < 0:
            return lazy("Here pretraining did not pay: {transfer} with your pretrained network against {scratch} "
                        "from scratch ({points} points behind). The photos' colours and textures are far from the "
                        "clean digits it learned on, so its features fit poorly; a larger, more varied pretraining "
                        "set would do better.", **said)
        return lazy("About the same: {transfer} with your pretrained network, {scratch} from scratch, within what "
                    "the validation images can tell apart. What it learned on clean digits helps little on photos "
                    "with only {n} examples per class.", **said)
