"""``lessons``: the classic experiments as lessons: list them, prepare them before class, run one."""

from __future__ import annotations

import argparse
import sys

from core.cli.common import as_json, given
from core.cli.options import Parents, add_command
from core.i18n import _, ngettext


def lessons_command_parser(subparsers, parents: Parents) -> None:
    parser = add_command(subparsers, parents, "lessons", _("lessons for a class: list them, prepare them ahead, or run "
                                                           "one and print its numbers and conclusion"))
    parser.add_argument("action", nargs="?", choices=("list", "prepare", "run"), default="list",
                        help=_("list (the default), prepare [ID|all]: train every step ahead, run ID: every step's "
                               "numbers and the conclusion (reusing what is prepared)"))
    parser.add_argument("lesson", nargs="?", default=None, help=_("a lesson's id (prepare: default all)"))
    parser.add_argument("--json", action="store_true", help=_("print only the JSON"))
    mine = parser.add_argument_group(_("try it yourself: the lessons on other data or backbones"))
    mine.add_argument("--images", help=_("the images (default: sample:mnist)"))
    mine.add_argument("--target", help=_("the target images (default: sample:mnist-m)"))
    mine.add_argument("--texts", help=_("the texts (default: sample:bbc)"))
    mine.add_argument("--image-backbone", help=_("default: efficientnet_lite0"))
    mine.add_argument("--text-backbone", help=_("default: all_minilm_l6_v2"))
    mine.add_argument("--epochs", type=int, help=_("every run's epochs (default: each strategy's recipe)"))
    parser.set_defaults(func=lessons_run)


def _setup(args: argparse.Namespace):
    from core import lessons

    return lessons.Setup(**given(images=args.images, target=args.target, texts=args.texts,
                                 image_backbone=args.image_backbone, text_backbone=args.text_backbone,
                                 epochs=args.epochs))


def lessons_run(args: argparse.Namespace) -> int:
    from core import lessons
    from core.errors import UserError
    from core.i18n import lazy

    say = (lambda line: None) if args.json else (lambda line: print(line, file=sys.stderr, flush=True))
    if args.action == "list":
        setup = _setup(args)
        listed = [{"id": lesson.id, "title": lesson.title, "minutes": lessons.estimate_minutes(lesson, setup),
                   "steps": len(lesson.steps(setup))} for lesson in lessons.all_lessons()]
        if args.json:
            print(as_json(listed))
        else:
            from core.costs import duration

            for row in listed:
                if not row["minutes"]:
                    print(ngettext("{id}: {title} ({n} step; prepared)", "{id}: {title} ({n} steps; prepared)",
                                   row["steps"], id=row["id"], title=row["title"]))
                    continue
                print(ngettext("{id}: {title} ({n} step; {time} to prepare)",
                               "{id}: {title} ({n} steps; {time} to prepare)", row["steps"], id=row["id"],
                               title=row["title"], time=duration(row["minutes"] * 60)))
        return 0
    if args.action == "run" and not args.lesson:
        raise UserError(lazy("Say which lesson to run."), lazy("Run `python -m core lessons` to list them."))
    chosen = [lessons.get(args.lesson)] if args.lesson and args.lesson != "all" else lessons.all_lessons()
    results = []
    for lesson in chosen:
        say(_("Lesson: {title}", title=lesson.title))
        results.append(lessons.run(lesson.id, _setup(args), say=say))
        if not args.json:
            for step in results[-1]["steps"]:
                print(_("{title}: {numbers}", title=step["title"], numbers=as_json(_brief(step["numbers"]))),
                      file=sys.stderr)
            print(results[-1]["conclusion"], file=sys.stderr)
    print(as_json(results[0] if args.action == "run" else results))
    return 0


def _brief(value):
    """A step's numbers for a person's eyes: long lists (a curve's points, explained mistakes) as their length."""
    if isinstance(value, dict):
        return {key: _brief(item) for key, item in value.items()}
    if isinstance(value, list) and len(value) > 3:
        return f"[{len(value)}]"
    if isinstance(value, list):
        return [_brief(item) for item in value]
    return value
