"""Lessons: the field's classic experiments, each a few steps that set up the app, train, and read the numbers.

A lesson (one module per lesson, like the other registries) declares its goal, its steps, a question for the
class and ``conclude(numbers)``: the conclusion is computed from this machine's numbers, never written in
advance, so where they disagree with the textbook story the lesson says so and why. Each step plans the runs
it needs (``TrainConfig``s, tagged with the group ``lesson-<lesson>-<step>``) and measures numbers from them.

``run(lesson_id)`` trains what is missing and reuses every finished run whose config is the same, so a lesson
prepared before class (``python -m core lessons prepare``) shows each step's result at once; its results are
kept in ``<workspace>/lessons/<id>.json``. ``Setup`` holds what a lesson runs on (the bundled samples and the
default backbones; tests and "try it yourself" change them, and so do ``TRANSFERLAB_LESSON_*`` variables, which a
server for a class, the Lessons page's "Prepare" child and the browser tests all read the same way).
"""

from __future__ import annotations

import functools
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, ClassVar

from core import backbones, compare, i18n, paths, plugins, runs, storage
from core.config import TrainConfig
from core.errors import UserError
from core.i18n import Shown, Text, lazy
from core.runs import Summary

Say = Callable[[str], None]


ENVIRONMENT = "TRANSFERLAB_LESSON_"  # + IMAGES, TARGET, TEXTS, IMAGE_BACKBONE, TEXT_BACKBONE, EPOCHS


def _environment(name: str, default: Callable[[], Any]) -> Callable[[], Any]:
    """A field's default: ``TRANSFERLAB_LESSON_<NAME>`` where it is set, else ``default()``. So one setting holds
    for every process that reads a lesson (the server, the "Prepare" child it starts, the CLI)."""
    def factory() -> Any:
        given = os.environ.get(ENVIRONMENT + name.upper(), "").strip()
        if not given:
            return default()
        if name != "epochs":
            return given
        try:
            return int(given)
        except ValueError:
            raise UserError(lazy("{variable}={value} is not a number of epochs.", variable=ENVIRONMENT + "EPOCHS",
                                 value=given), lazy("Give a whole number, e.g. 1, or unset it.")) from None
    return factory


@dataclass(frozen=True)
class Setup:
    """What the lessons run on: the bundled samples and the default backbones, unless told otherwise (here, or
    by ``TRANSFERLAB_LESSON_IMAGES``, ``_TARGET``, ``_TEXTS``, ``_IMAGE_BACKBONE``, ``_TEXT_BACKBONE``, ``_EPOCHS``)."""

    images: str = field(default_factory=_environment("images", lambda: "sample:mnist"))
    target: str = field(default_factory=_environment("target", lambda: "sample:mnist-m"))
    texts: str = field(default_factory=_environment("texts", lambda: "sample:bbc"))
    image_backbone: str = field(default_factory=_environment("image_backbone", lambda: backbones.default_for("image")))
    text_backbone: str = field(default_factory=_environment("text_backbone", lambda: backbones.default_for("text")))
    # every run's epochs (tests: 1); None: each strategy's recipe
    epochs: int | None = field(default_factory=_environment("epochs", lambda: None))
    runs_dir: str = field(default_factory=lambda: str(paths.runs_dir()))
    shared: dict = field(default_factory=dict)  # more TrainConfig fields for every run (tests: batch_size...)

    def config(self, data: str, strategy: str, group: str, **values) -> TrainConfig:
        if self.epochs is not None:
            values.setdefault("epochs", self.epochs)
        return TrainConfig.for_strategy(data, strategy, group=group, out_dir=self.runs_dir,
                                        **{**self.shared, **values})

    def curve(self, names: list[str], sizes: list[int | None], group: str) -> list[TrainConfig]:
        """The images' runs on ``sizes`` examples per class, exactly as the data-efficiency curve plans them
        (epochs grow as the data shrinks): a lesson that measures one of its points reuses the curve's run, so
        the class sees the same number for the same measurement in every lesson."""
        import dataclasses

        from core import curve

        report = _images_report(self.images, self.shared.get("val_fraction"), _changed_at(self.images))
        epochs = {name: self.epochs for name in names} if self.epochs else None
        configs = curve.plan(self.images, report, self.image_backbone, names, sizes=sizes, epochs=epochs,
                             **self.shared)
        return [dataclasses.replace(c, group=group, out_dir=self.runs_dir).validated() for c in configs]


@functools.lru_cache(maxsize=8)
def _images_report(images: str, val_fraction: float | None, changed_at: float):
    """The images' DataReport (its class counts size the curve's points), read once while the folder is unchanged:
    three steps plan from it, and the Lessons page plans every unprepared lesson on each redraw."""
    from core.data import load_dataset

    return load_dataset(images, **({"val_fraction": val_fraction} if val_fraction is not None else {}))


def _changed_at(images: str) -> float:
    """When the images last changed: their folder's and its class folders' times (a file, its own); 0 for a
    sample not written yet."""
    path = Path(images) if not images.startswith("sample:") else paths.data_dir() / "samples" / images[7:]
    try:
        return max([path.stat().st_mtime] + [p.stat().st_mtime for p in path.iterdir() if p.is_dir()]
                   if path.is_dir() else [path.stat().st_mtime])
    except OSError:
        return 0.0


@dataclass
class Step:
    """One screen of a lesson: what it sets up (the runs it plans) and what it reads from them."""

    id: str
    title: str                                           # English, marked N_(); read through _()
    notice: str                                          # "what to notice", English, marked N_()
    plan: Callable[[Setup, str], list[TrainConfig]]      # (setup, group) -> the runs it needs
    measure: Callable[[Setup, list[dict]], dict]         # (setup, the runs' rows) -> its numbers


class Lesson:
    """A lesson: subclass, set the class attributes, give ``steps`` and ``conclude``."""

    id: ClassVar[str]
    order: ClassVar[int] = 50
    title = Shown()
    goal = Shown()
    question = Shown()
    _title: ClassVar[str] = ""
    _goal: ClassVar[str] = ""
    _question: ClassVar[str] = ""
    variations: ClassVar[tuple[str, ...]] = ()           # "try it yourself", English, marked N_()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name in ("title", "goal", "question"):
            given = cls.__dict__.get(name)
            if isinstance(given, str):
                setattr(cls, "_" + name, given)
                delattr(cls, name)

    def steps(self, setup: Setup) -> list[Step]:
        raise NotImplementedError

    def conclude(self, numbers: dict[str, dict]) -> Text:
        """The conclusion, from every step's numbers (keyed by step id)."""
        raise NotImplementedError

    def answer(self, numbers: dict[str, dict]) -> Text:
        """The question's answer, revealed from the numbers; the conclusion unless a lesson says more."""
        return self.conclude(numbers)


_REGISTRY: dict[str, Lesson] = {}
BUILT_IN = ("core.lessons.pretrained", "core.lessons.extract_or_tune", "core.lessons.how_much_data",
            "core.lessons.pretrain_transfer", "core.lessons.domain_shift", "core.lessons.texts",
            "core.lessons.look_inside", "core.lessons.privacy")


def register(lesson: "Lesson | type[Lesson]"):
    instance = lesson() if isinstance(lesson, type) else lesson
    _REGISTRY[instance.id] = instance
    return lesson


def all_lessons() -> list[Lesson]:
    plugins.load(BUILT_IN)
    return sorted(_REGISTRY.values(), key=lambda lesson: (lesson.order, lesson.id))


def get(lesson_id: str) -> Lesson:
    plugins.load(BUILT_IN)
    if lesson_id not in _REGISTRY:
        raise UserError(lazy("Unknown lesson '{name}'.", name=lesson_id),
                        lazy("Run `python -m core lessons` to list them."))
    return _REGISTRY[lesson_id]


# -- running a lesson: reuse what is prepared, train what is missing ---------------------------------------
def group_of(lesson: Lesson, step: Step) -> str:
    return f"lesson-{lesson.id}-{step.id}"


def _same(config: dict, wanted: dict) -> bool:
    volatile = {"out_dir", "cache_dir", "group"}  # where it was kept, and for what: the same settings, the same run
    return {k: v for k, v in config.items() if k not in volatile} == \
        {k: v for k, v in wanted.items() if k not in volatile}


def prepared_run(config: TrainConfig) -> runs.Run | None:
    """A finished run of exactly ``config``'s settings in its runs folder (another lesson's or step's, or the
    person's own), the newest; None when there is none."""
    wanted = config.to_dict()
    for run in runs.list_runs(config.out_dir):
        if run.status == "finished" and _same(run.config(), wanted):
            return run
    return None


def _train(config: TrainConfig, say: Say) -> runs.Run:
    from core import train

    say(i18n._("Training {what}...", what=config.model_label))
    summary = train.fit(config)
    if summary.get("status") != "finished":
        raise UserError(lazy("A lesson's run did not finish ({status}).", status=summary.get("status")),
                        lazy("Run the lesson again: the finished runs are kept."))
    return runs.Run(Path(summary["run_dir"]))


def planned(lesson: Lesson, setup: Setup) -> list[tuple[Step, list[TrainConfig]]]:
    return [(step, step.plan(setup, group_of(lesson, step))) for step in lesson.steps(setup)]


def is_prepared(lesson: Lesson, setup: Setup | None = None) -> bool:
    """True when every run the lesson plans now is finished (its results may not be kept yet)."""
    setup = setup or Setup()
    return all(step_ready(lesson, step, setup) for step in lesson.steps(setup))


def run(lesson_id: str, setup: Setup | None = None, say: Say = lambda line: None) -> dict:
    """Every step of the lesson: its runs (reused when prepared, else trained), its numbers, then the
    conclusion. Kept in ``<workspace>/lessons/<id>.json``; returned as
    ``{"id", "title", "steps": [{"id", "title", "runs", "numbers"}], "answer", "conclusion"}``."""
    lesson, setup = get(lesson_id), setup or Setup()
    steps, numbers, every = [], {}, lesson.steps(setup)
    for step in every:
        configs = step.plan(setup, group_of(lesson, step))  # planned when reached: a step may build on the last
        found = []
        for config in configs:
            found.append(prepared_run(config) or _train(config, say))
        rows = [runs.describe(run) for run in found]
        numbers[step.id] = step.measure(setup, rows)
        steps.append({"id": step.id, "title": i18n._(step.title), "runs": [str(r.dir) for r in found],
                      "numbers": numbers[step.id]})
        if len(numbers) < len(every):  # kept step by step: a preparation stopped half-way shows
            _keep(setup, lesson.id, {"id": lesson.id, "title": lesson.title, "steps": steps, "numbers": numbers,
                                     "partial": True})  # the steps it finished
    result = {"id": lesson.id, "title": lesson.title, "steps": steps,
              "answer": str(lesson.answer(numbers)), "conclusion": str(lesson.conclude(numbers))}
    _keep(setup, lesson.id, {**result, "numbers": numbers})
    return result


def prepared(lesson_id: str, setup: Setup | None = None) -> bool:
    """True when every step's results are kept and every run the lesson plans now is there (a lesson whose plan
    changed since is not: the CLI's "minutes to prepare" and the page agree)."""
    found = kept(lesson_id, setup)
    return found is not None and not found.get("partial") and is_prepared(get(lesson_id), setup)


def step_ready(lesson: Lesson, step: Step, setup: Setup | None = None) -> bool:
    """True when the runs ``step`` plans now are all finished (its kept numbers then speak of them)."""
    setup = setup or Setup()
    return all(prepared_run(config) is not None for config in step.plan(setup, group_of(lesson, step)))


def kept(lesson_id: str, setup: Setup | None = None) -> dict | None:
    """The results a ``run`` kept (``"partial": true`` while only its first steps are), when every run they name
    is still there; else None."""
    path = results_path(lesson_id, setup)
    try:
        found = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    every = [Path(d) for step in found.get("steps", []) for d in step.get("runs", [])]
    return found if all((d / runs.SUMMARY).is_file() for d in every) else None


def _results_dir(setup: Setup) -> Path:
    return Path(setup.runs_dir).parent / "lessons"


def results_path(lesson_id: str, setup: Setup | None = None) -> Path:
    """Where ``run`` keeps a lesson's results (a page caches what it read by this file's time)."""
    return _results_dir(setup or Setup()) / f"{lesson_id}.json"


def _keep(setup: Setup, lesson_id: str, result: dict) -> None:
    folder = _results_dir(setup)
    folder.mkdir(parents=True, exist_ok=True)
    storage.write_atomically(folder / f"{lesson_id}.json", json.dumps(result, indent=2, ensure_ascii=False),
                             lazy("the results of lesson {lesson}", lesson=lesson_id))


def missing(chosen: list[Lesson], setup: Setup | None = None) -> list[TrainConfig]:
    """The runs the ``chosen`` lessons still have to train, each once (steps and lessons may share one: lesson
    1's two steps do): what preparing them trains."""
    found: dict[str, TrainConfig] = {}
    for lesson in chosen:
        for _, configs in planned(lesson, setup or Setup()):
            for config in configs:
                key = json.dumps({k: v for k, v in config.to_dict().items() if k != "group"}, sort_keys=True,
                                 default=str)
                if key not in found and prepared_run(config) is None:
                    found[key] = config
    return list(found.values())


def estimate_minutes(lesson: Lesson, setup: Setup | None = None) -> float:
    """Minutes to prepare ``lesson`` on this machine: 0 when prepared; else the runs still missing, each from
    the size of its backbone (calibrated on 2 cores)."""
    seconds = sum(_run_seconds(config) for config in missing([lesson], setup))
    return round(seconds / 60, 1)


def _run_seconds(config: TrainConfig) -> float:
    """A run's time, roughly, calibrated on 2 cores (the lessons prepared on the bundled samples): its examples
    through the frozen backbone once (feature extraction; a target's too, and 30 s to measure which adaptation
    fits), or forwards and backwards every epoch: a pretrained network about 12 times its frozen pass on the
    engine (fine-tuning EfficientNet-Lite0 trains about 11 images/s where its frozen pass runs 134/s), the small
    networks trained from scratch about 1 ms an image and 7 ms a text; validating about a second an epoch.

    From the backbone's size, not from a speed measured on the Model page: that one is PyTorch's own pass, not
    the engine's, and it was seen 9 times slower while a comparison trained beside it (an estimate of 5 hours
    for a lesson of 10 minutes)."""
    from core import strategies
    from core.data import modality_of

    texts = modality_of(config.data) == "text"
    examples = 2225 if texts else 1000
    if config.per_class:
        examples = min(examples, config.per_class * 10 + 200)
    try:
        spec = backbones.get(config.backbone)
        per_example = min(60.0, max(1.0, spec.num_params / 1e6 * 1.5)) / 1000  # s an example on the engine
        pretrained = spec.pretrained
    except Exception:  # a backbone not on this machine
        per_example, pretrained = 0.02, True
    learner = strategies.get(config.strategy)
    if not learner.uses_backbone:
        return 10.0
    if learner.on_features:
        target = (1000 * per_example + 30) if config.target else 0.0
        return examples * per_example + target + 5
    per_epoch = examples * (per_example * 12 if pretrained else (0.007 if texts else 0.001)) + 1.0  # + validating
    return per_epoch * config.epochs + 5


# -- reading numbers -------------------------------------------------------------------------------------
def accuracy(rows: list[dict], strategy: str) -> dict:
    """The row of ``strategy`` among ``rows`` (the first), as the numbers a conclusion reads."""
    row = next(r for r in rows if r["strategy"] == strategy)
    return {"strategy": strategy, "accuracy": row[Summary.BEST_VAL_ACC], "val_images": row.get(Summary.VAL_IMAGES),
            "seconds": row.get("seconds"), "trainable_params": row.get(Summary.TRAINABLE_PARAMS), "dir": row["dir"]}


def ahead(mine: dict, theirs: dict) -> int:
    """+1 when ``mine`` is ahead beyond the 95% interval, -1 when behind beyond it, 0 when the difference is
    within what the validation examples can tell apart (compare.versus, unpaired)."""
    gap, low, high = compare.versus(_as_row(mine), _as_row(theirs))
    return 1 if low > 0 else -1 if high < 0 else 0


def _as_row(numbers: dict) -> dict:
    return {Summary.BEST_VAL_ACC: numbers["accuracy"], Summary.VAL_IMAGES: numbers.get("val_images"),
            "dir": numbers.get("dir", "")}


