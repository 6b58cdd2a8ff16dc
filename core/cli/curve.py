"""``curve``: the data-efficiency curve, every (strategy, examples per class) point trained in this process one
after another, its lines on stderr and one JSON object at the end."""

from __future__ import annotations

import argparse
import sys

from core.cli.common import as_json, given, stop_on_signals
from core.cli.options import Parents, add_command
from core.errors import UserError
from core.i18n import _, lazy, ngettext
from core.runs import Summary


def curve_command_parser(subparsers, parents: Parents) -> None:
    parser = add_command(subparsers, parents, "curve", _("the data-efficiency curve: each strategy trained on 5, 10, "
                                                         "20... examples per class, scored on the same validation "
                                                         "split"),
                         parents.dataset, parents.columns_and_split, parents.encoding, parents.no_flip, parents.device,
                         parents.runs_out, parents.json_report)
    parser.add_argument("--backbone", help=_("the pretrained backbone (default: efficientnet_lite0 for images, "
                                             "all_minilm_l6_v2 for texts); baselines use their own"))
    parser.add_argument("--strategies", help=_("comma-separated (default: the compared ones, e.g. "
                                               "scratch,feature_extract,fine_tune for images)"))
    parser.add_argument("--per-class", default="5,10,20,50,all",
                        help=_("examples per class, comma-separated; 'all' for every example "
                               "(default 5,10,20,50,all)"))
    parser.add_argument("--epochs", type=int, help=_("epochs for every strategy (default: each one's recipe); "
                                                     "smaller subsets train longer, up to 4x, to get at least "
                                                     "--min-steps updates"))
    parser.add_argument("--min-steps", type=int, default=None,
                        help=_("updates every point gets at least (default 100; 0: exactly --epochs)"))
    parser.add_argument("--target", metavar="TARGET",
                        help=_("where the model will be used: every point is also scored on it (without adaptation)"))
    parser.set_defaults(func=curve)


def curve(args: argparse.Namespace) -> int:
    """Train every (strategy, size) point in this process, one after another; one JSON object at the end."""
    from core import curve as curves
    from core.train import fit

    configs = _planned(args)
    should_stop = stop_on_signals()
    found = []
    for index, config in enumerate(configs, 1):
        summary = fit(config, should_stop=should_stop)
        point = _point(config, summary)
        found.append(point)
        _print_point(point, index, len(configs))
        if summary["status"] == "interrupted":
            break
    result = {"group": configs[0].group, "points": found, "reading": curves.reading(found)}
    if not args.json:
        for sentence in result["reading"]:
            print(sentence, file=sys.stderr)
    print(as_json(result))
    return 130 if found and found[-1]["status"] == "interrupted" else 0


def _planned(args: argparse.Namespace) -> list:
    """The runs of the curve (core/curve.py's plan), said in one line on stderr."""
    from core import backbones, data, strategies
    from core import curve as curves

    sizes = curves.parse_sizes(args.per_class)
    backbone = args.backbone or backbones.default_for(data.modality_of(args.data))
    shared = given(seed=args.seed, val_fraction=args.val_fraction, text_column=args.text_col,
                   label_column=args.label_col, encoding=args.encoding, device=args.device, out_dir=args.out,
                   horizontal_flip=False if args.no_flip else None)
    report = data.load_dataset(args.data, shared.get("val_fraction", 0.2), shared.get("seed", 0),
                               args.text_col, args.label_col, args.encoding)
    names = [name.strip() for name in args.strategies.split(",") if name.strip()] if args.strategies else None
    for name in names or []:
        if name not in strategies.names():
            raise UserError(lazy("Unknown strategy {name}.", name=repr(name)),
                            lazy("Choose among: {names}.", names=", ".join(strategies.names())))
    epochs = {name: args.epochs for name in strategies.names()} if args.epochs else None
    configs = curves.plan(args.data, report, backbone, names, sizes, epochs,
                          curves.MIN_STEPS if args.min_steps is None else args.min_steps, target=args.target, **shared)
    print(ngettext("curve {group}: {runs} runs on {n} class, {val} validation examples",
                   "curve {group}: {runs} runs on {n} classes, {val} validation examples", len(report.classes),
                   group=configs[0].group, runs=len(configs), val=len(report.val)), file=sys.stderr, flush=True)
    return configs


def _point(config, summary: dict) -> dict:
    """One point of the curve, from its run's summary."""
    return {"strategy": config.strategy, "per_class": config.per_class or "all",
            "val_acc": summary.get(Summary.BEST_VAL_ACC), "seconds": summary.get("seconds"),
            "train_examples": summary.get(Summary.TRAIN_IMAGES), Summary.VAL_IMAGES: summary.get(Summary.VAL_IMAGES),
            "status": summary["status"], "run_dir": summary["run_dir"], "backbone": summary.get("backbone"),
            Summary.TARGET_ACC: summary.get(Summary.TARGET_ACC), "target": config.target}


def _print_point(point: dict, index: int, total: int) -> None:
    accuracy = "-" if point["val_acc"] is None else f"{point['val_acc']:.1%}"
    said = dict(index=index, total=total, strategy=point["strategy"], accuracy=accuracy,
                seconds=point["seconds"] or 0)
    size = point["per_class"]
    print(_("[{index}/{total}] {strategy:<16}  all per class: {accuracy:>6} in {seconds:.1f}s", **said)
          if size == "all" else
          _("[{index}/{total}] {strategy:<16} {size:>4} per class: {accuracy:>6} in {seconds:.1f}s", size=size,
            **said), file=sys.stderr, flush=True)
