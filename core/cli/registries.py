"""``backbones`` and ``strategies``: what the registries hold, as lines or as JSON."""

from __future__ import annotations

import argparse

from core.cli.common import as_json
from core.cli.options import Parents, add_command
from core.i18n import N_, _

AVAILABILITY_LABELS = {"local": N_("on this machine"), "download": N_("downloads on first use")}
NOT_AVAILABLE = N_("NOT AVAILABLE here")


def backbones_command_parser(subparsers, parents: Parents) -> None:
    parser = add_command(subparsers, parents, "backbones", _("list the backbone registry"), parents.json_list)
    parser.add_argument("--modality", choices=["image", "text"], help=_("only the backbones for images, or texts"))
    parser.set_defaults(func=list_backbones)


def list_backbones(args: argparse.Namespace) -> int:
    from core import backbones

    entries = [backbones.to_json(spec) for spec in backbones.list_specs(args.modality)]
    if args.json:
        print(as_json(entries))
        return 0
    for entry in entries:
        mark = _(AVAILABILITY_LABELS.get(entry["availability"], NOT_AVAILABLE))
        languages = tuple(entry.get("languages") or ())
        reads = "  " + _("English only") if languages == ("en",) else \
            "  " + _("many languages") if languages == ("multilingual",) else ""
        print(f"{entry['name']:<20} {entry['modality']:<6} {entry['num_params'] / 1e6:6.1f}M  {mark}{reads}")
        if not entry["available"]:
            print(f"{'':<20} {entry['availability_detail']}")
    return 0


def strategies_command_parser(subparsers, parents: Parents) -> None:
    parser = add_command(subparsers, parents, "strategies", _("list the strategy registry"), parents.json_list)
    parser.add_argument("--modality", choices=["image", "text"], help=_("only the strategies for images, or texts"))
    parser.set_defaults(func=list_strategies)


def list_strategies(args: argparse.Namespace) -> int:
    from core import strategies

    entries = [strategy.to_json() for strategy in strategies.for_modality(args.modality)]
    if args.json:
        print(as_json(entries))
        return 0
    for entry in entries:
        needs = "  " + _("needs a target set") if entry["needs_target"] else ""
        print(f"{entry['name']:<20} {'/'.join(entry['modalities']):<11} {_(entry['title'])}{needs}")
        print(f"{'':<20} {_(entry['explanation'])}")
    return 0
