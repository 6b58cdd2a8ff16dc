"""The lines ``train`` prints while a run trains (its events: start, features, epochs, notices), before the
summary's JSON line."""

from __future__ import annotations

from core import i18n
from core.i18n import _, ngettext
from core.runs import Summary


def progress_printer(quiet: bool, guessed_given: bool):
    """The ``on_event`` of a training: each event as its line (none when ``quiet``)."""
    def show(event: dict) -> None:
        if quiet:
            return
        kind = event["kind"]
        if kind == "start":
            for line in _start_lines(event, guessed_given):
                print(line, flush=True)
        elif kind == "features" and "cache_hit" in event:
            print(_features_line(event), flush=True)
        elif kind in ("notice", "early_stop", "interrupted", "stage"):
            print(i18n.event_text(event), flush=True)
        elif kind == "epoch":
            print(_epoch_line(event), flush=True)
    return show


def _start_lines(event: dict, guessed_given: bool) -> list[str]:
    """What a run's ``start`` event says: the run, the data, and what was guessed or detected about it."""
    texts = event.get("modality") == "text"
    numbers = dict(run=event["run_dir"], device=event["device"], train=event[Summary.TRAIN_IMAGES],
                   val=event[Summary.VAL_IMAGES])
    if texts:
        lines = [ngettext("run {run} on {device}: {train} train / {val} val texts, {n} class",
                          "run {run} on {device}: {train} train / {val} val texts, {n} classes",
                          len(event["classes"]), **numbers)]
    else:
        lines = [ngettext("run {run} on {device}: {train} train / {val} val images, {n} class",
                          "run {run} on {device}: {train} train / {val} val images, {n} classes",
                          len(event["classes"]), **numbers)]
    if event.get("columns"):
        columns = dict(text=event["columns"]["text"], label=event["columns"]["label"])
        lines.append(_("columns: text={text!r} label={label!r}", **columns) if guessed_given else
                     _("columns: text={text!r} label={label!r} (guessed; choose with --text-col and --label-col)",
                       **columns))
    encoding = event.get("encoding")
    if encoding:
        title = _(encoding["title"])
        lines.append(_("encoding: {encoding} (as chosen)", encoding=title) if encoding["chosen_by"] == "you" else
                     _("encoding: {encoding} (detected, {confidence:.0%} confidence; choose with --encoding)",
                       encoding=title, confidence=encoding["confidence"]))
    if event.get("target"):
        lines.append(_target_line(event["target"], texts))
    language = event.get("language")
    if language:
        lines.append(_("language: {language} ({share:.0%} of the texts looked at)", language=_(language["name"]),
                       share=language["share"]))
    return lines


def _target_line(target: dict, texts: bool) -> str:
    """The target set a run adapts to: its size, whether its labels score it, and the adaptation."""
    from core import adaptation

    said = dict(name=target["name"], items=target["items"], adapt=adaptation.title(target["adapt"]))
    if texts and target["labelled"]:
        return _("target {name}: {items} texts, labelled (scored only); adaptation: {adapt}", **said)
    if texts:
        return _("target {name}: {items} texts, unlabelled; adaptation: {adapt}", **said)
    if target["labelled"]:
        return _("target {name}: {items} images, labelled (scored only); adaptation: {adapt}", **said)
    return _("target {name}: {items} images, unlabelled; adaptation: {adapt}", **said)


def _features_line(event: dict) -> str:
    """A finished feature pass: which features, read from the cache or computed, and how long it took."""
    seconds, hit = event["seconds"], event["cache_hit"]
    if event.get("domain") == "views":
        if hit:
            return _("{views} augmented views: cache hit in {seconds:.1f}s", views=event["views"], seconds=seconds)
        return _("{views} augmented views: computed in {seconds:.1f}s", views=event["views"], seconds=seconds)
    if event.get("domain") == "target":
        if hit:
            return _("target features: cache hit in {seconds:.1f}s", seconds=seconds)
        return _("target features: computed in {seconds:.1f}s", seconds=seconds)
    if hit:
        return _("features: cache hit in {seconds:.1f}s", seconds=seconds)
    return _("features: computed in {seconds:.1f}s", seconds=seconds)


def _epoch_line(event: dict) -> str:
    numbers = {key: event[key] for key in ("epoch", "epochs", "train_loss", "train_acc", "val_loss", "val_acc",
                                           "seconds")}
    if "epsilon" in event:
        return _("epoch {epoch}/{epochs}  train loss {train_loss:.4f} acc {train_acc:.3f}  val loss {val_loss:.4f} "
                 "acc {val_acc:.3f}  ({seconds:.2f}s)  epsilon {epsilon:.2f}", epsilon=event["epsilon"], **numbers)
    return _("epoch {epoch}/{epochs}  train loss {train_loss:.4f} acc {train_acc:.3f}  val loss {val_loss:.4f} "
             "acc {val_acc:.3f}  ({seconds:.2f}s)", **numbers)
