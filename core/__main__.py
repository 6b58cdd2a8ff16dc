"""Headless TransferLab: ``python -m core backbones | strategies | train | curve | runs | export | predict |
lr-find | audit`` (and ``worker``, the app's warm training process).

The last stdout line of ``train`` is one JSON object (the run summary); progress goes before it.
Bad arguments or data exit non-zero with a one-line reason on stderr. The app trains through this
same command (``train --run DIR``) in a child process, so there is one way in to training.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from pathlib import Path

from core.errors import UserError


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2, like every other refusal here
        print(f"error: {message} (see `python -m core {self.prog.split()[-1]} --help`)", file=sys.stderr)
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    from core import adaptation, strategies

    parser = _Parser(prog="python -m core", description="TransferLab, headless.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    listing = commands.add_parser("backbones", help="list the backbone registry")
    listing.add_argument("--json", action="store_true", help="print a JSON list")
    listing.add_argument("--modality", choices=["image", "text"])
    listing_strategies = commands.add_parser("strategies", help="list the strategy registry")
    listing_strategies.add_argument("--json", action="store_true", help="print a JSON list")
    listing_strategies.add_argument("--modality", choices=["image", "text"])
    train = commands.add_parser("train", help="train one model and print its summary as JSON")
    source = train.add_mutually_exclusive_group(required=True)
    source.add_argument("--data",
                        help="ImageFolder folder or .zip; a .csv/.tsv/.xlsx of texts; sample:mnist or sample:bbc")
    source.add_argument("--run", metavar="RUN_DIR",
                        help="train the run prepared in RUN_DIR (its config.json), or resume it from its last "
                             "checkpoint if it was interrupted or stopped; other options are ignored")
    train.add_argument("--stop-with-parent", action="store_true",
                       help="end as 'interrupted' (resumable) when the process that started this one exits")
    train.add_argument("--backbone", help="registry name, hf:<model id>, or a local model folder "
                                          "(default: efficientnet_lite0 for images, all_minilm_l6_v2 for texts)")
    train.add_argument("--strategy", default="feature_extract", choices=strategies.names(),
                       help="how the model learns (`python -m core strategies` explains each)")
    train.add_argument("--target", metavar="TARGET",
                       help="where the model will be used: a second dataset in the same formats; its labels (if "
                            "any) only score, never train")
    train.add_argument("--adapt", default="auto", choices=["auto", *adaptation.names()],
                       help="domain adaptation with --target (default auto: the measured default for the strategy; "
                            "none: train on the source alone, still score on the target)")
    train.add_argument("--text-col", help="texts: the column holding the text (default: guessed)")
    train.add_argument("--label-col", help="texts: the column holding the label (default: guessed)")
    train.add_argument("--encoding", help="texts: the table's encoding, e.g. gb18030, big5, cp932, cp1251, utf-16 "
                                          "(default: detected, and printed)")
    train.add_argument("--max-length", type=int, help="texts: tokens kept per text")
    train.add_argument("--micro-batch-size", type=int, help="accumulate gradients over batches of this size")
    train.add_argument("--epochs", type=int)
    train.add_argument("--patience", type=int,
                       help="early stopping: epochs without a lower validation loss (default 5; 0 = off)")
    train.add_argument("--out", help="folder that receives the run folder (default: workspace/runs)")
    train.add_argument("--seed", type=int)
    train.add_argument("--batch-size", type=int)
    train.add_argument("--lr", type=float)
    train.add_argument("--optimizer", choices=["adamw", "sgd"])
    train.add_argument("--val-fraction", type=float)
    train.add_argument("--no-augment", action="store_true", help="no random crops or flips")
    train.add_argument("--no-flip", action="store_true", help="no horizontal flips (digits, text)")
    train.add_argument("--augmented-views", type=int, metavar="K",
                       help="feature extraction on images: K augmented copies of every training image "
                            "featurised once (cached); epochs draw among them (default 0)")
    train.add_argument("--device", choices=["auto", "cpu", "cuda", "mps"])
    train.add_argument("--cache-dir", help="feature cache folder shared by runs")
    train.add_argument("--per-class", type=int, metavar="N",
                       help="train on at most N examples of each class (a seeded, stratified subset; validation "
                            "stays whole)")
    train.add_argument("--unfreeze-stages", type=int, metavar="N",
                       help="gradual unfreezing: the head alone, then the backbone in N-1 parts, top first (default 4)")
    train.add_argument("--unfreeze-every", type=int, metavar="EPOCHS", help="gradual unfreezing: epochs per stage")
    train.add_argument("--lr-decay", type=float, help="gradual unfreezing: each part down learns this many times "
                                                      "slower than the one above (default 2.6, ULMFiT's)")
    train.add_argument("--dp-epsilon", type=float, metavar="EPS",
                       help="private training (DP-SGD): the privacy budget epsilon, e.g. 1 (strong) to 8 (common); "
                            "the final JSON's epsilon is what was spent")
    train.add_argument("--dp-delta", type=float, help="private training: the chance the guarantee fails "
                                                      "(default 1 / the training examples)")
    train.add_argument("--dp-clip", type=float, metavar="NORM",
                       help="private training: each example's gradient clipped to this norm (default 1)")
    train.add_argument("--quiet", action="store_true", help="print only the final JSON line")
    curve = commands.add_parser("curve", help="the data-efficiency curve: each strategy trained on 5, 10, 20... "
                                              "examples per class, scored on the same validation split")
    curve.add_argument("--data", required=True, help="the same data as train --data")
    curve.add_argument("--backbone", help="the pretrained backbone (default: efficientnet_lite0 for images, "
                                          "all_minilm_l6_v2 for texts); baselines use their own")
    curve.add_argument("--strategies", help="comma-separated (default: the compared ones, e.g. "
                                            "scratch,feature_extract,fine_tune for images)")
    curve.add_argument("--per-class", default="5,10,20,50,all",
                       help="examples per class, comma-separated; 'all' for every example (default 5,10,20,50,all)")
    curve.add_argument("--epochs", type=int, help="epochs for every strategy (default: each one's recipe); smaller "
                                                  "subsets train longer, up to 4x, to get at least --min-steps updates")
    curve.add_argument("--min-steps", type=int, default=None, help="updates every point gets at least (default 100; "
                                                                    "0: exactly --epochs)")
    curve.add_argument("--seed", type=int)
    curve.add_argument("--val-fraction", type=float)
    curve.add_argument("--text-col", help="texts: the column holding the text (default: guessed)")
    curve.add_argument("--label-col", help="texts: the column holding the label (default: guessed)")
    curve.add_argument("--encoding", help="texts: the table's encoding (default: detected)")
    curve.add_argument("--no-flip", action="store_true", help="no horizontal flips (digits, text)")
    curve.add_argument("--device", choices=["auto", "cpu", "cuda", "mps"])
    curve.add_argument("--out", help="folder that receives the runs (default: workspace/runs)")
    curve.add_argument("--json", action="store_true", help="print only the JSON object (progress on stderr)")
    listing_runs = commands.add_parser("runs", help="list the runs in the runs folder")
    listing_runs.add_argument("--out", help="runs folder (default: workspace/runs)")
    listing_runs.add_argument("--json", action="store_true", help="print a JSON list")
    exporting = commands.add_parser("export", help="write ONNX + torch.export + predict.py + model card, "
                                                   "and check their predictions against the app's")
    exporting.add_argument("run", metavar="RUN_DIR")
    exporting.add_argument("--out", required=True, help="folder to write (replaced if it exists)")
    exporting.add_argument("--no-check", action="store_true", help="skip the parity check on the validation split")
    predicting = commands.add_parser("predict", help="one JSON object per input: label and probabilities")
    predicting.add_argument("run", metavar="RUN_DIR")
    predicting.add_argument("inputs", metavar="INPUT", nargs="+",
                            help="image files for image runs; texts (or .txt files) for text runs")
    finding = commands.add_parser("lr-find", help="the learning-rate range test: a copy of the model trained while "
                                                  "the rate grows; the loss against the rate, and a suggestion")
    finding_source = finding.add_mutually_exclusive_group(required=True)
    finding_source.add_argument("--data", help="the same data as train --data")
    finding_source.add_argument("--config", metavar="CONFIG_JSON",
                                help="a run's settings (its config.json, or TrainConfig as JSON); other options ignored")
    finding.add_argument("--backbone", help="default: efficientnet_lite0 for images, all_minilm_l6_v2 for texts")
    finding.add_argument("--strategy", default="feature_extract", choices=strategies.names())
    finding.add_argument("--steps", type=int, default=100, help="training steps, one rate each (default 100)")
    finding.add_argument("--start-lr", type=float, default=1e-7)
    finding.add_argument("--end-lr", type=float, default=10.0)
    for name in ("--batch-size", "--seed", "--max-length"):
        finding.add_argument(name, type=int)
    finding.add_argument("--optimizer", choices=["adamw", "sgd"])
    finding.add_argument("--val-fraction", type=float)
    finding.add_argument("--text-col")
    finding.add_argument("--label-col")
    finding.add_argument("--encoding")
    finding.add_argument("--no-flip", action="store_true")
    finding.add_argument("--device", choices=["auto", "cpu", "cuda", "mps"])
    finding.add_argument("--cache-dir")
    finding.add_argument("--json", action="store_true", help="print only the JSON object (progress on stderr)")
    auditing = commands.add_parser("audit", help="privacy audit of a finished run: a membership-inference test "
                                                 "(loss threshold), as ROC AUC (50% = nothing leaks)")
    auditing.add_argument("run", metavar="RUN_DIR")
    auditing.add_argument("--per-side", type=int, default=500,
                          help="training and validation examples scored, each (a seeded sample; default 500)")
    auditing.add_argument("--json", action="store_true", help="print only the JSON object")
    examining = commands.add_parser("doctor", help="the dataset doctor: suspected label errors, duplicates (also "
                                                    "between training and validation) and outliers, on the "
                                                    "backbone's cached features")
    examining.add_argument("--data", required=True, help="the same data as train --data")
    examining.add_argument("--backbone", help="the pretrained backbone whose features are examined (default: "
                                              "efficientnet_lite0 for images, all_minilm_l6_v2 for texts)")
    examining.add_argument("--val-fraction", type=float, default=0.2)
    examining.add_argument("--seed", type=int, default=0)
    examining.add_argument("--text-col")
    examining.add_argument("--label-col")
    examining.add_argument("--encoding")
    examining.add_argument("--max-length", type=int, default=128)
    examining.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda", "mps"])
    examining.add_argument("--cache-dir")
    examining.add_argument("--near", type=float, help="cosine similarity of the features from which two items are "
                                                      "near-duplicates (default 0.99)")
    examining.add_argument("--near-pixels", type=float, help="images: correlation of two 32x32 grey thumbnails from "
                                                             "which they are near-duplicates (default 0.993; above 1: "
                                                             "off)")
    examining.add_argument("--exclude", choices=["label_issues", "duplicates", "outliers", "all"],
                           help="also exclude what was found from every later split (duplicates: the validation "
                                "copy, else the second of the pair); the Data page can include them again")
    examining.add_argument("--json", action="store_true", help="print only the JSON object (progress on stderr)")
    commands.add_parser("worker", help="a warm training process for the app (commands on stdin; core/worker.py)")
    return parser


def examine_data(args: argparse.Namespace) -> int:
    from core import doctor

    def progress(done: int, total: int) -> None:
        print(f"features {done}/{total}", file=sys.stderr, flush=True)

    checkup = doctor.examine(args.data, args.backbone, args.val_fraction, args.seed, args.text_col, args.label_col,
                             args.encoding, args.max_length, args.cache_dir, args.device, on_progress=progress,
                             near=args.near or doctor.NEAR, near_pixels=args.near_pixels or doctor.NEAR_PIXELS)
    if args.exclude:
        excluded = doctor.exclude_found(checkup, args.data, args.val_fraction, args.seed, args.text_col,
                                        args.label_col, args.encoding,
                                        ["label_issues", "duplicates", "outliers"] if args.exclude == "all"
                                        else [args.exclude])
        print(f"excluded {len(excluded)} item(s) from every later split of this data", file=sys.stderr)
    if not args.json:
        for sentence in checkup.words():
            print(sentence, file=sys.stderr)
        print(f"examined {checkup.items:,} examples on {checkup.backbone} features in {checkup.seconds:.1f}s",
              file=sys.stderr)
    print(json.dumps(checkup.to_dict(), ensure_ascii=False))
    return 0


def find_lr(args: argparse.Namespace) -> int:
    from core import lr_find
    from core.config import TrainConfig

    if args.config:
        try:
            given = json.loads(Path(args.config).read_text(encoding="utf-8"))
            config = TrainConfig.from_dict(given.get("config", given))
        except (OSError, ValueError, TypeError, AttributeError) as error:
            raise UserError(f"{args.config} holds no training settings ({type(error).__name__}: {error}).",
                            "Give a run's config.json, or a TrainConfig written as JSON.") from error
    else:
        config = _lr_find_config(args)
    should_stop = _stop_on_signals()
    _found_lr(args, lr_find.range_test(config, args.steps, args.start_lr, args.end_lr, _step_printer(),
                                       lambda: bool(should_stop())))
    return 0


def _lr_find_config(args: argparse.Namespace):
    from core.config import TrainConfig
    from core.data import modality_of

    backbone = args.backbone or {"image": "efficientnet_lite0", "text": "all_minilm_l6_v2"}[modality_of(args.data)]
    return TrainConfig.for_strategy(
        args.data, args.strategy, backbone=backbone, seed=args.seed, batch_size=args.batch_size,
        max_length=args.max_length, optimizer=args.optimizer, val_fraction=args.val_fraction,
        text_column=args.text_col, label_column=args.label_col, encoding=args.encoding, device=args.device,
        cache_dir=args.cache_dir, horizontal_flip=False if args.no_flip else None)


def _step_printer():
    def progress(done: int, total: int) -> None:
        print(f"step {done}/{total}", file=sys.stderr, flush=True)
    return progress


def _found_lr(args: argparse.Namespace, test) -> None:
    result = test.to_dict()
    if not args.json:
        for rate, loss in zip(test.rates[::max(1, len(test.rates) // 20)], test.losses[::max(1, len(test.rates) // 20)]):
            print(f"lr {rate:9.2e}  loss {loss:.4f}", file=sys.stderr)
        print(f"suggested learning rate: {test.suggested_lr:.2e}" if test.suggested_lr else
              "no suggestion: the loss never fell (try more steps or another range)", file=sys.stderr)
    print(json.dumps(result))


def audit_run(args: argparse.Namespace) -> int:
    from core import audit

    if args.per_side < 10:
        raise UserError(f"--per-side {args.per_side} is too few to measure anything.", "Use at least 10 (default 500).")
    found = audit.audit(args.run, args.per_side)
    if not args.json:
        print(found.words, file=sys.stderr)
        print(f"AUC {found.mia_auc:.1%} (95% interval {found.mia_auc_interval[0]:.1%} to "
              f"{found.mia_auc_interval[1]:.1%}); "
              f"members {found.members} (mean loss {found.member_loss:.4f}), non-members {found.non_members} "
              f"(mean loss {found.non_member_loss:.4f}), best threshold's advantage {found.advantage:.1%}",
              file=sys.stderr)
    print(json.dumps(found.to_dict()))
    return 0


def serve_as_worker(args: argparse.Namespace) -> int:
    from core import worker

    return worker.serve(main)


def list_backbones(args: argparse.Namespace) -> int:
    from core import backbones

    entries = [backbones.to_json(spec) for spec in backbones.list_specs(args.modality)]
    if args.json:
        print(json.dumps(entries))
        return 0
    for entry in entries:
        mark = {"local": "on this machine", "download": "downloads on first use"}.get(entry["availability"],
                                                                                     "NOT AVAILABLE here")
        reads = {("en",): "  English only", ("multilingual",): "  many languages"}.get(
            tuple(entry.get("languages") or ()), "")
        print(f"{entry['name']:<20} {entry['modality']:<6} {entry['num_params'] / 1e6:6.1f}M  {mark}{reads}")
        if not entry["available"]:
            print(f"{'':<20} {entry['availability_detail']}")
    return 0


def list_strategies(args: argparse.Namespace) -> int:
    from core import strategies

    entries = [strategy.to_json() for strategy in strategies.for_modality(args.modality)]
    if args.json:
        print(json.dumps(entries))
        return 0
    for entry in entries:
        needs = "  needs a target set" if entry["needs_target"] else ""
        print(f"{entry['name']:<20} {'/'.join(entry['modalities']):<11} {entry['title']}{needs}")
        print(f"{'':<20} {entry['explanation']}")
    return 0


def _progress_printer(quiet: bool, guessed_given: bool):
    def show(event: dict) -> None:
        if quiet:
            return
        kind = event["kind"]
        if kind == "start":
            noun = "texts" if event.get("modality") == "text" else "images"
            print(f"run {event['run_dir']} on {event['device']}: {event['train_images']} train / "
                  f"{event['val_images']} val {noun}, {len(event['classes'])} classes", flush=True)
            if event.get("columns"):
                print(f"columns: text={event['columns']['text']!r} label={event['columns']['label']!r}"
                      + ("" if guessed_given else " (guessed; choose with --text-col and --label-col)"), flush=True)
            encoding = event.get("encoding")
            if encoding:
                how = "as chosen" if encoding["chosen_by"] == "you" else \
                    f"detected, {encoding['confidence']:.0%} confidence; choose with --encoding"
                print(f"encoding: {encoding['title']} ({how})", flush=True)
            if event.get("target"):
                target = event["target"]
                print(f"target {target['name']}: {target['items']} {noun}, "
                      f"{'labelled (scored only)' if target['labelled'] else 'unlabelled'}; adaptation: "
                      f"{target['adapt']}", flush=True)
            if event.get("language"):
                language = event["language"]
                print(f"language: {language['name']} ({language['share']:.0%} of the texts looked at)", flush=True)
        elif kind == "features" and "cache_hit" in event:
            what = f"{event['views']} augmented views" if event.get("domain") == "views" else \
                "target features" if event.get("domain") == "target" else "features"
            print(f"{what}: {'cache hit' if event['cache_hit'] else 'computed'} in {event['seconds']:.1f}s",
                  flush=True)
        elif kind in ("notice", "early_stop", "interrupted", "stage"):
            print(event["message"], flush=True)
        elif kind == "epoch":
            print(f"epoch {event['epoch']}/{event['epochs']}  train loss {event['train_loss']:.4f} "
                  f"acc {event['train_acc']:.3f}  val loss {event['val_loss']:.4f} acc {event['val_acc']:.3f}  "
                  f"({event['seconds']:.2f}s)" + (f"  epsilon {event['epsilon']:.2f}" if "epsilon" in event else ""),
                  flush=True)
    return show


def _config_from_args(args: argparse.Namespace):
    from core.config import TrainConfig
    from core.data import modality_of

    backbone = args.backbone or {"image": "efficientnet_lite0", "text": "all_minilm_l6_v2"}[modality_of(args.data)]
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
        raise UserError(f"{folder} is not a run folder (it has no config.json).",
                        "Give a folder from the runs directory (`python -m core runs`).")
    return run, TrainConfig.load(run.config_path)


def train(args: argparse.Namespace) -> int:
    """One training; under torchrun, one of its processes (core/distributed.py: rank 0 prints and writes)."""
    from core import distributed
    from core.train import fit

    run, resume = None, False
    if args.run:
        run, config = _prepared_run(args.run)
        resume = True  # from the checkpoint when there is one (a queued run has none: it starts afresh)
    else:
        config = _config_from_args(args)
    should_stop = _stop_on_signals(args.stop_with_parent)
    world = distributed.start(config.device)
    try:
        quiet = args.quiet or not world.main
        printer = _progress_printer(quiet, guessed_given=bool(args.text_col and args.label_col) or bool(args.run))
        summary = fit(config, run=run, on_event=printer, should_stop=should_stop, resume=resume, world=world)
        world.barrier()  # the others wait while rank 0 writes the results
    finally:
        world.finish()
    if not world.main:
        return 0 if summary["status"] != "interrupted" else 130
    if not args.quiet and summary.get("seconds") is not None:
        from core import costs

        print(f"time: {costs.of(summary).words()}" + (f" on {world.size} processes" if world.active else ""),
              flush=True)
    print(json.dumps(summary))
    return 0 if summary["status"] != "interrupted" else 130


def _stop_on_signals(with_parent: bool = False):
    """Ctrl+C, a terminal closing, the app's server going away: finish the batch, keep the last
    checkpoint, and end as "interrupted" so the run can be resumed. Returns the should_stop check."""
    going_away = threading.Event()

    def on_signal(*_) -> None:
        if going_away.is_set():  # asked twice: stop now
            raise KeyboardInterrupt
        going_away.set()

    for number in (signal.SIGTERM, signal.SIGINT) + ((signal.SIGHUP,) if hasattr(signal, "SIGHUP") else ()):
        signal.signal(number, on_signal)
    parent = os.getppid()

    def should_stop() -> str | None:
        if going_away.is_set() or (with_parent and os.getppid() != parent):
            return "interrupted"
        return None

    return should_stop


def curve(args: argparse.Namespace) -> int:
    """Train every (strategy, size) point in this process, one after another; one JSON object at the end."""
    from core import curve as curves
    from core import data
    from core.train import fit

    sizes = curves.parse_sizes(args.per_class)
    modality = data.modality_of(args.data)
    backbone = args.backbone or {"image": "efficientnet_lite0", "text": "all_minilm_l6_v2"}[modality]
    shared = {key: value for key, value in dict(
        seed=args.seed, val_fraction=args.val_fraction, text_column=args.text_col, label_column=args.label_col,
        encoding=args.encoding, device=args.device, out_dir=args.out,
        horizontal_flip=False if args.no_flip else None).items() if value is not None}
    report = data.load_dataset(args.data, shared.get("val_fraction", 0.2), shared.get("seed", 0),
                               args.text_col, args.label_col, args.encoding)
    names = [name.strip() for name in args.strategies.split(",") if name.strip()] if args.strategies else None
    for name in names or []:
        if name not in strategies_names():
            raise UserError(f"Unknown strategy {name!r}.", f"Choose among: {', '.join(strategies_names())}.")
    epochs = {name: args.epochs for name in strategies_names()} if args.epochs else None
    configs = curves.plan(args.data, report, backbone, names, sizes, epochs,
                          curves.MIN_STEPS if args.min_steps is None else args.min_steps, **shared)
    should_stop = _stop_on_signals()
    log = sys.stderr
    print(f"curve {configs[0].group}: {len(configs)} runs on {len(report.classes)} classes, "
          f"{len(report.val)} validation examples", file=log, flush=True)
    found = []
    for index, config in enumerate(configs, 1):
        summary = fit(config, should_stop=should_stop)
        size = config.per_class or "all"
        point = {"strategy": config.strategy, "per_class": size, "val_acc": summary.get("best_val_acc"),
                 "seconds": summary.get("seconds"), "train_examples": summary.get("train_images"),
                 "val_images": summary.get("val_images"), "status": summary["status"],
                 "run_dir": summary["run_dir"], "backbone": summary.get("backbone")}
        found.append(point)
        accuracy = "-" if point["val_acc"] is None else f"{point['val_acc']:.1%}"
        print(f"[{index}/{len(configs)}] {config.strategy:<16} {str(size):>4} per class: {accuracy:>6} "
              f"in {point['seconds'] or 0:.1f}s", file=log, flush=True)
        if summary["status"] == "interrupted":
            break
    result = {"group": configs[0].group, "points": found, "reading": curves.reading(found)}
    if not args.json:
        for sentence in result["reading"]:
            print(sentence, file=log)
    print(json.dumps(result))
    return 130 if found and found[-1]["status"] == "interrupted" else 0


def strategies_names() -> list[str]:
    from core import strategies

    return strategies.names()


def list_runs(args: argparse.Namespace) -> int:
    from core import costs, paths, runs

    rows = [runs.describe(run) for run in runs.list_runs(args.out or paths.runs_dir())]
    if args.json:
        print(json.dumps(rows))
        return 0
    for row in rows:
        accuracy = f"{row['best_val_acc']:.3f}" if isinstance(row["best_val_acc"], (int, float)) else "-"
        print(f"{row['id']:<52} {row['status']:<11} {accuracy:>6}  {costs.of(row).words():<36} {row['data']}")
        if row["damage"]:
            print(f"{'':<52} damaged: {'; '.join(row['damage'])}")
    if not rows:
        print("no runs yet")
    return 0


def export(args: argparse.Namespace) -> int:
    from core.export import export_run

    result = export_run(args.run, args.out, check=not args.no_check)
    parity = result["parity"]
    if parity is not None:
        print(f"parity on {parity['examples']} validation examples: labels "
              f"{'agree' if parity['labels_agree'] else 'DISAGREE'}, largest probability difference "
              f"{parity['max_probability_difference']:.1e}", file=sys.stderr)
    print(json.dumps(result))
    return 0 if parity is None or parity["passed"] else 3


def predict(args: argparse.Namespace) -> int:
    from core import images
    from core.inference import load

    predictor = load(args.run)
    if predictor.modality == "image":
        missing = [name for name in args.inputs if not Path(name).is_file()]
        if missing:
            raise UserError(f"No such image file: {missing[0]}.", "Give paths to image files.")
        probabilities = predictor.predict_images([images.load_rgb(name) for name in args.inputs])
    else:
        texts = [Path(item).read_text(errors="replace") if item.endswith(".txt") and Path(item).is_file() else item
                 for item in args.inputs]
        probabilities = predictor.predict_texts(texts)
    for given, row in zip(args.inputs, probabilities):
        print(json.dumps({"input": given, "label": predictor.labels[int(row.argmax())],
                          "probabilities": {label: round(float(p), 6) for label, p in zip(predictor.labels, row)}}))
    return 0


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        from core.device import keep_freed_memory

        keep_freed_memory()  # this process computes: batches reuse freed memory (about 1.5x on a CPU)
        commands = {"backbones": list_backbones, "strategies": list_strategies, "train": train, "curve": curve,
                    "runs": list_runs, "export": export, "predict": predict, "worker": serve_as_worker, "lr-find": find_lr,
                    "audit": audit_run, "doctor": examine_data}
        return commands[args.command](args)
    except UserError as error:
        rank = os.environ.get("RANK", "0") if os.environ.get("WORLD_SIZE", "1") != "1" else "0"
        print(f"error{f' (process {rank})' if rank != '0' else ''}: {error}", file=sys.stderr)  # torchrun's others
        return 1
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `python -m core runs | head`: the reader has all it wanted
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())
