"""``train``: one training, its progress as lines and its summary as the last line, in JSON. The app trains
through this same command (``train --run DIR``) in a child process, so there is one way in to training; under
torchrun, each of its processes runs it (core/device/distributed.py: rank 0 prints and writes)."""

from __future__ import annotations

import argparse
from pathlib import Path

from core.cli.common import as_json, stop_on_signals
from core.cli.options import Parents, add_command
from core.cli.progress import progress_printer
from core.errors import UserError
from core.i18n import _, lazy


def train_command_parser(subparsers, parents: Parents) -> None:
    from core import adaptation

    parser = add_command(subparsers, parents, "train", _("train one model and print its summary as JSON"),
                         _source(), parents.backbone, parents.recipe, parents.columns_and_split, parents.runs_out,
                         parents.no_flip, parents.device, parents.cache)
    parser.add_argument("--stop-with-parent", action="store_true",
                        help=_("end as 'interrupted' (resumable) when the process that started this one exits"))
    parser.add_argument("--target", metavar="TARGET",
                        help=_("where the model will be used: a second dataset in the same formats; its labels (if "
                               "any) only score, never train"))
    parser.add_argument("--adapt", default="auto", choices=["auto", *adaptation.names()],
                        help=_("domain adaptation with --target (default auto: every method that fits the strategy "
                               "is measured without the target's labels and one is chosen only when clearly "
                               "better; none: train on the source alone, still score on the target)"))
    parser.add_argument("--encoding", help=_("texts: the table's encoding, e.g. gb18030, big5, cp932, cp1251, "
                                             "utf-16 (default: detected, and printed)"))
    parser.add_argument("--micro-batch-size", type=int, help=_("accumulate gradients over batches of this size"))
    parser.add_argument("--epochs", type=int,
                        help=_("passes over the training data (default: the strategy's recipe)"))
    parser.add_argument("--patience", type=int,
                        help=_("early stopping: epochs without a lower validation loss (default 5; 0 = off)"))
    parser.add_argument("--lr", type=float, help=_("the learning rate (default: the strategy's recipe)"))
    parser.add_argument("--no-augment", action="store_true", help=_("no random crops or flips"))
    parser.add_argument("--augmented-views", type=int, metavar="K",
                        help=_("feature extraction on images: K augmented copies of every training image "
                               "featurised once (cached); epochs draw among them (default 0)"))
    parser.add_argument("--per-class", type=int, metavar="N",
                        help=_("train on at most N examples of each class (a seeded, stratified subset; validation "
                               "stays whole)"))
    _gradual_and_private_options(parser)
    parser.add_argument("--quiet", action="store_true", help=_("print only the final JSON line"))
    parser.set_defaults(func=train)


def _source() -> argparse.ArgumentParser:
    """What to train, --data or --run: a parent of train's own, so that it comes first, as the one choice needed."""
    source = argparse.ArgumentParser(add_help=False)
    either = source.add_mutually_exclusive_group(required=True)
    either.add_argument("--data",
                        help=_("ImageFolder folder or .zip; a .csv/.tsv/.xlsx of texts; sample:mnist or sample:bbc"))
    either.add_argument("--run", metavar="RUN_DIR",
                        help=_("train the run prepared in RUN_DIR (its config.json), or resume it from its last "
                               "checkpoint if it was interrupted or stopped; other options are ignored"))
    return source


def _gradual_and_private_options(parser: argparse.ArgumentParser) -> None:
    """Gradual unfreezing's schedule, and private training's budget (DP-SGD)."""
    parser.add_argument("--unfreeze-stages", type=int, metavar="N",
                        help=_("gradual unfreezing: the head alone, then the backbone in N-1 parts, top first "
                               "(default 4)"))
    parser.add_argument("--unfreeze-every", type=int, metavar="EPOCHS", help=_("gradual unfreezing: epochs per stage"))
    parser.add_argument("--lr-decay", type=float, help=_("gradual unfreezing: each part down learns this many times "
                                                         "slower than the one above (default 2.6, ULMFiT's)"))
    parser.add_argument("--dp-epsilon", type=float, metavar="EPS",
                        help=_("private training (DP-SGD): the privacy budget epsilon, e.g. 1 (strong) to 8 "
                               "(common); the final JSON's epsilon is what was spent"))
    parser.add_argument("--dp-delta", type=float, help=_("private training: the chance the guarantee fails "
                                                         "(default 1 / the training examples)"))
    parser.add_argument("--dp-clip", type=float, metavar="NORM",
                        help=_("private training: each example's gradient clipped to this norm (default 1)"))


def train(args: argparse.Namespace) -> int:
    """One training; under torchrun, one of its processes (core/device/distributed.py: rank 0 prints and writes)."""
    from core.device import distributed
    from core.train import fit

    run, resume = None, False
    if args.run:
        run, config = _prepared_run(args.run)
        resume = True  # from the checkpoint when there is one (a queued run has none: it starts afresh)
    else:
        config = _config_from_args(args)
    should_stop = stop_on_signals(args.stop_with_parent)
    world = distributed.start(config.device)
    try:
        quiet = args.quiet or not world.main
        printer = progress_printer(quiet, guessed_given=bool(args.text_col and args.label_col) or bool(args.run))
        summary = fit(config, run=run, on_event=printer, should_stop=should_stop, resume=resume, world=world)
        world.barrier()  # the others wait while rank 0 writes the results
    finally:
        world.finish()
    if world.main:
        _print_result(args, summary, world)
    return 0 if summary["status"] != "interrupted" else 130


def _print_result(args: argparse.Namespace, summary: dict, world) -> None:
    """The time it took (unless quiet), then the summary as the last line, in JSON."""
    if not args.quiet and summary.get("seconds") is not None:
        from core import costs

        cost = costs.of(summary).words()
        print(_("time: {time} on {n} processes", time=cost, n=world.size) if world.active else
              _("time: {time}", time=cost), flush=True)
    print(as_json(summary))


def _config_from_args(args: argparse.Namespace):
    from core import backbones
    from core.config import TrainConfig
    from core.data import modality_of

    backbone = args.backbone or backbones.default_for(modality_of(args.data))
    return TrainConfig.for_strategy(
        args.data, args.strategy, backbone=backbone, epochs=args.epochs, out_dir=args.out, seed=args.seed,
        text_column=args.text_col, label_column=args.label_col, encoding=args.encoding, max_length=args.max_length,
        micro_batch_size=args.micro_batch_size, patience=args.patience, target=args.target,
        adapt=args.adapt if args.target else None,
        batch_size=args.batch_size, lr=args.lr, optimizer=args.optimizer, val_fraction=args.val_fraction,
        device=args.device, cache_dir=args.cache_dir,
        augment=False if args.no_augment else None, horizontal_flip=False if args.no_flip else None,
        per_class=args.per_class, augmented_views=args.augmented_views, dp_epsilon=args.dp_epsilon,
        dp_delta=args.dp_delta, dp_max_grad_norm=args.dp_clip, unfreeze_stages=args.unfreeze_stages,
        unfreeze_every=args.unfreeze_every, lr_decay=args.lr_decay)


def _prepared_run(folder: str):
    from core import runs
    from core.config import TrainConfig

    run = runs.Run(Path(folder).expanduser().resolve())
    if not run.has_config():
        raise UserError(lazy("{folder} is not a run folder (it has no config.json).", folder=folder),
                        lazy("Give a folder from the runs directory (`python -m core runs`)."))
    return run, TrainConfig.load(run.config_path)
