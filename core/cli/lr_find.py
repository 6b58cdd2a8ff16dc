"""``lr-find``: the learning-rate range test, the loss against a growing rate, and a suggested rate."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from core.cli.common import as_json, stop_on_signals
from core.cli.options import Parents, add_command
from core.errors import UserError
from core.i18n import _, lazy


def lr_find_command_parser(subparsers, parents: Parents) -> None:
    parser = add_command(subparsers, parents, "lr-find", _("the learning-rate range test: a copy of the model "
                                                           "trained while the rate grows; the loss against the "
                                                           "rate, and a suggestion"),
                         _source(), parents.backbone, parents.recipe, parents.columns_and_split, parents.encoding,
                         parents.no_flip, parents.device, parents.cache, parents.json_report)
    parser.add_argument("--steps", type=int, default=100, help=_("training steps, one rate each (default 100)"))
    parser.add_argument("--start-lr", type=float, default=1e-7, help=_("the first learning rate (default 1e-7)"))
    parser.add_argument("--end-lr", type=float, default=10.0, help=_("the last learning rate (default 10)"))
    parser.set_defaults(func=find_lr)


def _source() -> argparse.ArgumentParser:
    """What to test, --data or --config: a parent of lr-find's own, so that it comes first."""
    source = argparse.ArgumentParser(add_help=False)
    either = source.add_mutually_exclusive_group(required=True)
    either.add_argument("--data", help=_("the same data as train --data"))
    either.add_argument("--config", metavar="CONFIG_JSON",
                        help=_("a run's settings (its config.json, or TrainConfig as JSON); other options ignored"))
    return source


def find_lr(args: argparse.Namespace) -> int:
    from core import lr_find

    config = _config_from_file(args.config) if args.config else _config_from_args(args)
    should_stop = stop_on_signals()
    _print_found(args, lr_find.range_test(config, args.steps, args.start_lr, args.end_lr, _step_printer(),
                                          lambda: bool(should_stop())))
    return 0


def _config_from_file(path: str):
    from core.config import TrainConfig

    try:
        given = json.loads(Path(path).read_text(encoding="utf-8"))
        return TrainConfig.from_dict(given.get("config", given))
    except (OSError, ValueError, TypeError, AttributeError) as error:
        raise UserError(lazy("{file} holds no training settings ({error}).", file=path,
                             error=type(error).__name__ + ": " + str(error)),
                        lazy("Give a run's config.json, or a TrainConfig written as JSON.")) from error


def _config_from_args(args: argparse.Namespace):
    from core import backbones
    from core.config import TrainConfig
    from core.data import modality_of

    backbone = args.backbone or backbones.default_for(modality_of(args.data))
    return TrainConfig.for_strategy(
        args.data, args.strategy, backbone=backbone, seed=args.seed, batch_size=args.batch_size,
        max_length=args.max_length, optimizer=args.optimizer, val_fraction=args.val_fraction,
        text_column=args.text_col, label_column=args.label_col, encoding=args.encoding, device=args.device,
        cache_dir=args.cache_dir, horizontal_flip=False if args.no_flip else None)


def _step_printer():
    def progress(done: int, total: int) -> None:
        print(_("step {done}/{total}", done=done, total=total), file=sys.stderr, flush=True)
    return progress


def _print_found(args: argparse.Namespace, test) -> None:
    """The loss at about 20 rates and the suggestion (unless --json), then the whole test as JSON."""
    result = test.to_dict()
    if not args.json:
        every = max(1, len(test.rates) // 20)
        for rate, loss in zip(test.rates[::every], test.losses[::every]):
            print(_("lr {rate:9.2e}  loss {loss:.4f}", rate=rate, loss=loss), file=sys.stderr)
        print(_("suggested learning rate: {lr:.2e}", lr=test.suggested_lr) if test.suggested_lr else
              _("no suggestion: the loss never fell (try more steps or another range)"), file=sys.stderr)
    print(as_json(result))
