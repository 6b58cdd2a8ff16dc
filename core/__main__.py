"""Headless TransferLab: ``python -m core backbones | strategies | train | curve | runs | export | predict |
lr-find | audit`` (and ``worker``, the app's warm training process).

The last stdout line of ``train`` is one JSON object (the run summary); progress goes before it.
Bad arguments or data exit non-zero with a one-line reason on stderr. The app trains through this
same command (``train --run DIR``) in a child process, so there is one way in to training.

The human lines speak the person's language (core/i18n.py): ``--lang CODE`` (before or after the command),
else ``TRANSFERLAB_LANG``, else ``LANGUAGE`` / ``LC_ALL`` / ``LC_MESSAGES`` / ``LANG``. JSON output, flags and
option values stay as they are, in every language.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from core import i18n
from core.errors import UserError
from core.i18n import N_, _, lazy, ngettext
from core.runs import Summary

# argparse's own words (Python 3.11's), through the catalogue while the CLI parses its arguments
ARGPARSE_WORDS = (
    N_("usage: "), N_("positional arguments"), N_("options"), N_("show this help message and exit"),
    N_("the following arguments are required: %s"), N_("argument %(argument_name)s: %(message)s"),
    N_("invalid choice: %(value)r (choose from %(choices)s)"), N_("invalid %(type)s value: %(value)r"),
    N_("expected one argument"), N_("expected at least one argument"), N_("unrecognized arguments: %s"),
    N_("not allowed with argument %s"), N_("one of the arguments %s is required"),
    N_("ambiguous option: %(option)s could match %(matches)s"),
)
STATUS_LABELS = {"queued": N_("queued"), "running": N_("running"), "finished": N_("finished"),
                 "stopped": N_("stopped"), "failed": N_("failed"), "interrupted": N_("interrupted"),
                 "damaged": N_("damaged")}
def as_json(value) -> str:
    """One JSON value for the output: names and texts in any script as they are, not \\u escapes."""
    return json.dumps(value, ensure_ascii=False)


AVAILABILITY_LABELS = {"local": N_("on this machine"), "download": N_("downloads on first use")}
NOT_AVAILABLE = N_("NOT AVAILABLE here")


@contextmanager
def _argparse_in_language() -> Iterator[None]:
    """argparse's headings and refusals ("usage:", "the following arguments are required") in the current
    language while the arguments are parsed (argparse reads them through its module's ``_``)."""
    saved = argparse._
    argparse._ = lambda message: _(message)
    try:
        yield
    finally:
        argparse._ = saved


def _language_asked(argv: list[str]) -> str | None:
    """The ``--lang`` given anywhere among the options (the last one), before the parser exists: its help texts
    are already in that language."""
    asked = None
    for index, word in enumerate(argv):
        if word == "--":
            break
        if word == "--lang" and index + 1 < len(argv):
            asked = argv[index + 1]
        elif word.startswith("--lang="):
            asked = word.split("=", 1)[1]
    return asked


def _language_code(code: str) -> str:
    chosen = i18n.normalise(code)
    if chosen is None:
        raise argparse.ArgumentTypeError(_("there are no messages in {code!r}; choose among: {codes}", code=code,
                                           codes=", ".join(i18n.available())))
    return chosen


class _Formatter(argparse.HelpFormatter):
    def _get_help_string(self, action: argparse.Action) -> str | None:
        help_text = super()._get_help_string(action)  # a plain sentence: a "%" in it is a percent sign
        return help_text.replace("%", "%%") if help_text else help_text

    def _split_lines(self, text: str, width: int) -> list[str]:
        """Wrapped to the terminal's width: Chinese has no spaces to break at, and each of its characters
        takes two columns."""
        if not any(_wide(character) for character in text):
            return super()._split_lines(text, width)
        return _wrap_wide(" ".join(text.split()), width)

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        return "\n".join(indent + line for line in self._split_lines(text, width - len(indent)))


def _wide(character: str) -> bool:
    import unicodedata

    return unicodedata.east_asian_width(character) in ("W", "F")


def _wrap_wide(text: str, width: int) -> list[str]:
    """Lines of about ``width`` columns, broken between Chinese characters or at spaces (never inside a Latin
    word, before closing punctuation or after an opening bracket)."""
    import re

    pieces = re.findall(r"[^\s\u1100-\uffff]+|\s+|.", text)
    lines, line, used = [], "", 0
    for piece in pieces:
        size = sum(2 if _wide(character) else 1 for character in piece)
        closing = piece in "，。；：、）！？”’」』"
        if line and used + size > width and not piece.isspace() and not closing:
            carried = line[-1] if line[-1] in "（“‘「『" else ""  # an opening bracket goes with what it opens
            lines.append(line[:len(line) - len(carried)].rstrip())
            line, used = carried, 2 if carried else 0
        if line or not piece.isspace():
            line, used = line + piece, used + size
    return lines + [line.rstrip()] if line else lines


class _Parser(argparse.ArgumentParser):
    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("formatter_class", _Formatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> None:  # one line, exit 2, like every other refusal here
        print(_("error: {message} (see `{command} --help`)", message=message, command=self.prog), file=sys.stderr)
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    from core import adaptation, strategies

    speaking = argparse.ArgumentParser(add_help=False)
    speaking.add_argument("--lang", metavar="CODE", type=_language_code, default=argparse.SUPPRESS,
                          help=_("the language of the messages, e.g. zh or en (default: from TRANSFERLAB_LANG, "
                                 "LANGUAGE, LC_ALL or LANG)"))
    parser = _Parser(prog="python -m core", description=_("TransferLab, headless."), parents=[speaking])
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        return commands.add_parser(name, help=help_text, description=help_text, parents=[speaking])

    listing = command("backbones", _("list the backbone registry"))
    listing.add_argument("--json", action="store_true", help=_("print a JSON list"))
    listing.add_argument("--modality", choices=["image", "text"], help=_("only the backbones for images, or texts"))
    listing_strategies = command("strategies", _("list the strategy registry"))
    listing_strategies.add_argument("--json", action="store_true", help=_("print a JSON list"))
    listing_strategies.add_argument("--modality", choices=["image", "text"],
                                    help=_("only the strategies for images, or texts"))
    train = command("train", _("train one model and print its summary as JSON"))
    source = train.add_mutually_exclusive_group(required=True)
    source.add_argument("--data",
                        help=_("ImageFolder folder or .zip; a .csv/.tsv/.xlsx of texts; sample:mnist or sample:bbc"))
    source.add_argument("--run", metavar="RUN_DIR",
                        help=_("train the run prepared in RUN_DIR (its config.json), or resume it from its last "
                               "checkpoint if it was interrupted or stopped; other options are ignored"))
    train.add_argument("--stop-with-parent", action="store_true",
                       help=_("end as 'interrupted' (resumable) when the process that started this one exits"))
    train.add_argument("--backbone", help=_("registry name, hf:<model id>, or a local model folder "
                                            "(default: efficientnet_lite0 for images, all_minilm_l6_v2 for texts)"))
    train.add_argument("--strategy", default="feature_extract", choices=strategies.names(),
                       help=_("how the model learns (`python -m core strategies` explains each)"))
    train.add_argument("--target", metavar="TARGET",
                       help=_("where the model will be used: a second dataset in the same formats; its labels (if "
                              "any) only score, never train"))
    train.add_argument("--adapt", default="auto", choices=["auto", *adaptation.names()],
                       help=_("domain adaptation with --target (default auto: every method that fits the strategy "
                              "is measured without the target's labels and one is chosen only when clearly better; "
                              "none: train on the source alone, still score on the target)"))
    train.add_argument("--text-col", help=_("texts: the column holding the text (default: guessed)"))
    train.add_argument("--label-col", help=_("texts: the column holding the label (default: guessed)"))
    train.add_argument("--encoding", help=_("texts: the table's encoding, e.g. gb18030, big5, cp932, cp1251, "
                                            "utf-16 (default: detected, and printed)"))
    train.add_argument("--max-length", type=int, help=_("texts: tokens kept per text"))
    train.add_argument("--micro-batch-size", type=int, help=_("accumulate gradients over batches of this size"))
    train.add_argument("--epochs", type=int, help=_("passes over the training data (default: the strategy's recipe)"))
    train.add_argument("--patience", type=int,
                       help=_("early stopping: epochs without a lower validation loss (default 5; 0 = off)"))
    train.add_argument("--out", help=_("folder that receives the run folder (default: workspace/runs)"))
    train.add_argument("--seed", type=int, help=_("the random seed: the same seed, the same run (default 0)"))
    train.add_argument("--batch-size", type=int, help=_("examples per training step"))
    train.add_argument("--lr", type=float, help=_("the learning rate (default: the strategy's recipe)"))
    train.add_argument("--optimizer", choices=["adamw", "sgd"], help=_("how the weights are updated"))
    train.add_argument("--val-fraction", type=float,
                       help=_("share of the data kept apart for validation when it has no validation split "
                              "(default 0.2)"))
    train.add_argument("--no-augment", action="store_true", help=_("no random crops or flips"))
    train.add_argument("--no-flip", action="store_true", help=_("no horizontal flips (digits, text)"))
    train.add_argument("--augmented-views", type=int, metavar="K",
                       help=_("feature extraction on images: K augmented copies of every training image "
                              "featurised once (cached); epochs draw among them (default 0)"))
    train.add_argument("--device", choices=["auto", "cpu", "cuda", "mps"], help=_("where to compute (default auto)"))
    train.add_argument("--cache-dir", help=_("feature cache folder shared by runs"))
    train.add_argument("--per-class", type=int, metavar="N",
                       help=_("train on at most N examples of each class (a seeded, stratified subset; validation "
                              "stays whole)"))
    train.add_argument("--unfreeze-stages", type=int, metavar="N",
                       help=_("gradual unfreezing: the head alone, then the backbone in N-1 parts, top first "
                              "(default 4)"))
    train.add_argument("--unfreeze-every", type=int, metavar="EPOCHS",
                       help=_("gradual unfreezing: epochs per stage"))
    train.add_argument("--lr-decay", type=float, help=_("gradual unfreezing: each part down learns this many times "
                                                        "slower than the one above (default 2.6, ULMFiT's)"))
    train.add_argument("--dp-epsilon", type=float, metavar="EPS",
                       help=_("private training (DP-SGD): the privacy budget epsilon, e.g. 1 (strong) to 8 "
                              "(common); the final JSON's epsilon is what was spent"))
    train.add_argument("--dp-delta", type=float, help=_("private training: the chance the guarantee fails "
                                                        "(default 1 / the training examples)"))
    train.add_argument("--dp-clip", type=float, metavar="NORM",
                       help=_("private training: each example's gradient clipped to this norm (default 1)"))
    train.add_argument("--quiet", action="store_true", help=_("print only the final JSON line"))
    curve = command("curve", _("the data-efficiency curve: each strategy trained on 5, 10, 20... examples per "
                               "class, scored on the same validation split"))
    curve.add_argument("--data", required=True, help=_("the same data as train --data"))
    curve.add_argument("--backbone", help=_("the pretrained backbone (default: efficientnet_lite0 for images, "
                                            "all_minilm_l6_v2 for texts); baselines use their own"))
    curve.add_argument("--strategies", help=_("comma-separated (default: the compared ones, e.g. "
                                              "scratch,feature_extract,fine_tune for images)"))
    curve.add_argument("--per-class", default="5,10,20,50,all",
                       help=_("examples per class, comma-separated; 'all' for every example "
                              "(default 5,10,20,50,all)"))
    curve.add_argument("--epochs", type=int, help=_("epochs for every strategy (default: each one's recipe); "
                                                    "smaller subsets train longer, up to 4x, to get at least "
                                                    "--min-steps updates"))
    curve.add_argument("--min-steps", type=int, default=None,
                       help=_("updates every point gets at least (default 100; 0: exactly --epochs)"))
    curve.add_argument("--seed", type=int, help=_("the random seed: the same seed, the same run (default 0)"))
    curve.add_argument("--val-fraction", type=float,
                       help=_("share of the data kept apart for validation when it has no validation split "
                              "(default 0.2)"))
    curve.add_argument("--text-col", help=_("texts: the column holding the text (default: guessed)"))
    curve.add_argument("--label-col", help=_("texts: the column holding the label (default: guessed)"))
    curve.add_argument("--encoding", help=_("texts: the table's encoding (default: detected)"))
    curve.add_argument("--target", metavar="TARGET",
                       help=_("where the model will be used: every point is also scored on it (without adaptation)"))
    curve.add_argument("--no-flip", action="store_true", help=_("no horizontal flips (digits, text)"))
    curve.add_argument("--device", choices=["auto", "cpu", "cuda", "mps"], help=_("where to compute (default auto)"))
    curve.add_argument("--out", help=_("folder that receives the runs (default: workspace/runs)"))
    curve.add_argument("--json", action="store_true", help=_("print only the JSON object (progress on stderr)"))
    listing_runs = command("runs", _("list the runs in the runs folder"))
    listing_runs.add_argument("--out", help=_("runs folder (default: workspace/runs)"))
    listing_runs.add_argument("--json", action="store_true", help=_("print a JSON list"))
    exporting = command("export", _("write ONNX + torch.export + predict.py + model card, and check their "
                                    "predictions against the app's"))
    exporting.add_argument("run", metavar="RUN_DIR", help=_("the run folder"))
    exporting.add_argument("--out", required=True, help=_("folder to write (replaced if it exists)"))
    exporting.add_argument("--no-check", action="store_true",
                           help=_("skip the parity check on the validation split"))
    predicting = command("predict", _("one JSON object per input: label and probabilities"))
    predicting.add_argument("run", metavar="RUN_DIR", help=_("the run folder"))
    predicting.add_argument("inputs", metavar="INPUT", nargs="+",
                            help=_("image files for image runs; texts (or .txt files) for text runs"))
    finding = command("lr-find", _("the learning-rate range test: a copy of the model trained while the rate "
                                   "grows; the loss against the rate, and a suggestion"))
    finding_source = finding.add_mutually_exclusive_group(required=True)
    finding_source.add_argument("--data", help=_("the same data as train --data"))
    finding_source.add_argument("--config", metavar="CONFIG_JSON",
                                help=_("a run's settings (its config.json, or TrainConfig as JSON); other options "
                                       "ignored"))
    finding.add_argument("--backbone", help=_("default: efficientnet_lite0 for images, all_minilm_l6_v2 for texts"))
    finding.add_argument("--strategy", default="feature_extract", choices=strategies.names(),
                         help=_("how the model learns (`python -m core strategies` explains each)"))
    finding.add_argument("--steps", type=int, default=100, help=_("training steps, one rate each (default 100)"))
    finding.add_argument("--start-lr", type=float, default=1e-7, help=_("the first learning rate (default 1e-7)"))
    finding.add_argument("--end-lr", type=float, default=10.0, help=_("the last learning rate (default 10)"))
    finding.add_argument("--batch-size", type=int, help=_("examples per training step"))
    finding.add_argument("--seed", type=int, help=_("the random seed: the same seed, the same run (default 0)"))
    finding.add_argument("--max-length", type=int, help=_("texts: tokens kept per text"))
    finding.add_argument("--optimizer", choices=["adamw", "sgd"], help=_("how the weights are updated"))
    finding.add_argument("--val-fraction", type=float,
                         help=_("share of the data kept apart for validation when it has no validation split "
                                "(default 0.2)"))
    finding.add_argument("--text-col", help=_("texts: the column holding the text (default: guessed)"))
    finding.add_argument("--label-col", help=_("texts: the column holding the label (default: guessed)"))
    finding.add_argument("--encoding", help=_("texts: the table's encoding (default: detected)"))
    finding.add_argument("--no-flip", action="store_true", help=_("no horizontal flips (digits, text)"))
    finding.add_argument("--device", choices=["auto", "cpu", "cuda", "mps"], help=_("where to compute (default auto)"))
    finding.add_argument("--cache-dir", help=_("feature cache folder shared by runs"))
    finding.add_argument("--json", action="store_true", help=_("print only the JSON object (progress on stderr)"))
    auditing = command("audit", _("privacy audit of a finished run: a membership-inference test (loss threshold), "
                                  "as ROC AUC (50% = nothing leaks)"))
    auditing.add_argument("run", metavar="RUN_DIR", help=_("the run folder"))
    auditing.add_argument("--per-side", type=int, default=500,
                          help=_("training and validation examples scored, each (a seeded sample; default 500)"))
    auditing.add_argument("--json", action="store_true", help=_("print only the JSON object"))
    examining = command("doctor", _("the dataset doctor: suspected label errors, duplicates (also between training "
                                    "and validation) and outliers, on the backbone's cached features"))
    examining.add_argument("--data", required=True, help=_("the same data as train --data"))
    examining.add_argument("--backbone", help=_("the pretrained backbone whose features are examined (default: "
                                                "efficientnet_lite0 for images, all_minilm_l6_v2 for texts)"))
    examining.add_argument("--val-fraction", type=float, default=0.2,
                           help=_("share of the data kept apart for validation when it has no validation split "
                                  "(default 0.2)"))
    examining.add_argument("--seed", type=int, default=0,
                           help=_("the random seed: the same seed, the same run (default 0)"))
    examining.add_argument("--text-col", help=_("texts: the column holding the text (default: guessed)"))
    examining.add_argument("--label-col", help=_("texts: the column holding the label (default: guessed)"))
    examining.add_argument("--encoding", help=_("texts: the table's encoding (default: detected)"))
    examining.add_argument("--max-length", type=int, default=128,
                           help=_("texts: tokens kept per text (default 128)"))
    examining.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda", "mps"],
                           help=_("where to compute (default auto)"))
    examining.add_argument("--cache-dir", help=_("feature cache folder shared by runs"))
    examining.add_argument("--near", type=float, help=_("cosine similarity of the features from which two items are "
                                                        "near-duplicates (default 0.99)"))
    examining.add_argument("--near-pixels", type=float,
                           help=_("images: correlation of two 32x32 grey thumbnails from which they are "
                                  "near-duplicates (default 0.993; above 1: off)"))
    examining.add_argument("--exclude", choices=["label_issues", "duplicates", "outliers", "all"],
                           help=_("also exclude what was found from every later split (duplicates: the validation "
                                  "copy, else the second of the pair); the Data page can include them again"))
    examining.add_argument("--json", action="store_true", help=_("print only the JSON object (progress on stderr)"))
    command("worker", _("a warm training process for the app (commands on stdin; core/worker.py)"))
    return parser


def examine_data(args: argparse.Namespace) -> int:
    from core import doctor

    def progress(done: int, total: int) -> None:
        print(_("features {done}/{total}", done=done, total=total), file=sys.stderr, flush=True)

    checkup = doctor.examine(args.data, args.backbone, args.val_fraction, args.seed, args.text_col, args.label_col,
                             args.encoding, args.max_length, args.cache_dir, args.device, on_progress=progress,
                             near=args.near or doctor.NEAR, near_pixels=args.near_pixels or doctor.NEAR_PIXELS)
    if args.exclude:
        excluded = doctor.exclude_found(checkup, args.data, args.val_fraction, args.seed, args.text_col,
                                        args.label_col, args.encoding,
                                        ["label_issues", "duplicates", "outliers"] if args.exclude == "all"
                                        else [args.exclude])
        print(ngettext("excluded {n} item from every later split of this data",
                       "excluded {n} items from every later split of this data", len(excluded)), file=sys.stderr)
    if not args.json:
        for sentence in checkup.words():
            print(sentence, file=sys.stderr)
        print(_("examined {items:,} examples on {backbone} features in {seconds:.1f}s", items=checkup.items,
                backbone=checkup.backbone, seconds=checkup.seconds), file=sys.stderr)
    print(as_json(checkup.to_dict()))
    return 0


def find_lr(args: argparse.Namespace) -> int:
    from core import lr_find
    from core.config import TrainConfig

    if args.config:
        try:
            given = json.loads(Path(args.config).read_text(encoding="utf-8"))
            config = TrainConfig.from_dict(given.get("config", given))
        except (OSError, ValueError, TypeError, AttributeError) as error:
            raise UserError(lazy("{file} holds no training settings ({error}).", file=args.config,
                                 error=type(error).__name__ + ": " + str(error)),
                            lazy("Give a run's config.json, or a TrainConfig written as JSON.")) from error
    else:
        config = _lr_find_config(args)
    should_stop = _stop_on_signals()
    _found_lr(args, lr_find.range_test(config, args.steps, args.start_lr, args.end_lr, _step_printer(),
                                       lambda: bool(should_stop())))
    return 0


def _lr_find_config(args: argparse.Namespace):
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


def _found_lr(args: argparse.Namespace, test) -> None:
    result = test.to_dict()
    if not args.json:
        for rate, loss in zip(test.rates[::max(1, len(test.rates) // 20)], test.losses[::max(1, len(test.rates) // 20)]):
            print(_("lr {rate:9.2e}  loss {loss:.4f}", rate=rate, loss=loss), file=sys.stderr)
        print(_("suggested learning rate: {lr:.2e}", lr=test.suggested_lr) if test.suggested_lr else
              _("no suggestion: the loss never fell (try more steps or another range)"), file=sys.stderr)
    print(as_json(result))


def audit_run(args: argparse.Namespace) -> int:
    from core import audit

    if args.per_side < 10:
        raise UserError(lazy("--per-side {count} is too few to measure anything.", count=args.per_side),
                        lazy("Use at least 10 (default 500)."))
    found = audit.audit(args.run, args.per_side)
    if not args.json:
        print(found.words, file=sys.stderr)
        print(_("AUC {auc:.1%} (95% interval {low:.1%} to {high:.1%}); members {members} (mean loss "
                "{member_loss:.4f}), non-members {non_members} (mean loss {non_member_loss:.4f}), best threshold's "
                "advantage {advantage:.1%}", auc=found.mia_auc, low=found.mia_auc_interval[0],
                high=found.mia_auc_interval[1], members=found.members, member_loss=found.member_loss,
                non_members=found.non_members, non_member_loss=found.non_member_loss, advantage=found.advantage),
              file=sys.stderr)
    print(as_json(found.to_dict()))
    return 0


def serve_as_worker(args: argparse.Namespace) -> int:
    from core import worker

    return worker.serve(main)


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
    target = event.get("target")
    if target:
        from core import adaptation

        said = dict(name=target["name"], items=target["items"], adapt=adaptation.title(target["adapt"]))
        if texts and target["labelled"]:
            lines.append(_("target {name}: {items} texts, labelled (scored only); adaptation: {adapt}", **said))
        elif texts:
            lines.append(_("target {name}: {items} texts, unlabelled; adaptation: {adapt}", **said))
        elif target["labelled"]:
            lines.append(_("target {name}: {items} images, labelled (scored only); adaptation: {adapt}", **said))
        else:
            lines.append(_("target {name}: {items} images, unlabelled; adaptation: {adapt}", **said))
    language = event.get("language")
    if language:
        lines.append(_("language: {language} ({share:.0%} of the texts looked at)", language=_(language["name"]),
                       share=language["share"]))
    return lines


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


def _progress_printer(quiet: bool, guessed_given: bool):
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


def _config_from_args(args: argparse.Namespace):
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

        cost = costs.of(summary).words()
        print(_("time: {time} on {n} processes", time=cost, n=world.size) if world.active else
              _("time: {time}", time=cost), flush=True)
    print(as_json(summary))
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
    backbone = args.backbone or backbones.default_for(modality)
    shared = {key: value for key, value in dict(
        seed=args.seed, val_fraction=args.val_fraction, text_column=args.text_col, label_column=args.label_col,
        encoding=args.encoding, device=args.device, out_dir=args.out,
        horizontal_flip=False if args.no_flip else None).items() if value is not None}
    report = data.load_dataset(args.data, shared.get("val_fraction", 0.2), shared.get("seed", 0),
                               args.text_col, args.label_col, args.encoding)
    names = [name.strip() for name in args.strategies.split(",") if name.strip()] if args.strategies else None
    for name in names or []:
        if name not in strategies_names():
            raise UserError(lazy("Unknown strategy {name}.", name=repr(name)),
                            lazy("Choose among: {names}.", names=", ".join(strategies_names())))
    epochs = {name: args.epochs for name in strategies_names()} if args.epochs else None
    configs = curves.plan(args.data, report, backbone, names, sizes, epochs,
                          curves.MIN_STEPS if args.min_steps is None else args.min_steps, target=args.target, **shared)
    should_stop = _stop_on_signals()
    log = sys.stderr
    print(ngettext("curve {group}: {runs} runs on {n} class, {val} validation examples",
                   "curve {group}: {runs} runs on {n} classes, {val} validation examples", len(report.classes),
                   group=configs[0].group, runs=len(configs), val=len(report.val)), file=log, flush=True)
    found = []
    for index, config in enumerate(configs, 1):
        summary = fit(config, should_stop=should_stop)
        size = config.per_class or "all"
        point = {"strategy": config.strategy, "per_class": size, "val_acc": summary.get(Summary.BEST_VAL_ACC),
                 "seconds": summary.get("seconds"), "train_examples": summary.get(Summary.TRAIN_IMAGES),
                 Summary.VAL_IMAGES: summary.get(Summary.VAL_IMAGES), "status": summary["status"],
                 "run_dir": summary["run_dir"], "backbone": summary.get("backbone"),
                 Summary.TARGET_ACC: summary.get(Summary.TARGET_ACC), "target": config.target}
        found.append(point)
        accuracy = "-" if point["val_acc"] is None else f"{point['val_acc']:.1%}"
        said = dict(index=index, total=len(configs), strategy=config.strategy, accuracy=accuracy,
                    seconds=point["seconds"] or 0)
        print(_("[{index}/{total}] {strategy:<16}  all per class: {accuracy:>6} in {seconds:.1f}s", **said)
              if size == "all" else
              _("[{index}/{total}] {strategy:<16} {size:>4} per class: {accuracy:>6} in {seconds:.1f}s", size=size,
                **said), file=log, flush=True)
        if summary["status"] == "interrupted":
            break
    result = {"group": configs[0].group, "points": found, "reading": curves.reading(found)}
    if not args.json:
        for sentence in result["reading"]:
            print(sentence, file=log)
    print(as_json(result))
    return 130 if found and found[-1]["status"] == "interrupted" else 0


def strategies_names() -> list[str]:
    from core import strategies

    return strategies.names()


def list_runs(args: argparse.Namespace) -> int:
    from core import costs, paths, runs

    rows = [runs.describe(run) for run in runs.list_runs(args.out or paths.runs_dir())]
    if args.json:
        print(as_json(rows))
        return 0
    for row in rows:
        accuracy = f"{row[Summary.BEST_VAL_ACC]:.3f}" if isinstance(row[Summary.BEST_VAL_ACC], (int, float)) else "-"
        status = _(STATUS_LABELS[row["status"]]) if row["status"] in STATUS_LABELS else row["status"]
        print(f"{row['id']:<52} {status:<11} {accuracy:>6}  {costs.of(row).words():<36} {row['data']}")
        if row["damage"]:
            print(f"{'':<52} " + _("damaged: {problems}", problems="; ".join(str(part) for part in row["damage"])))
    if not rows:
        print(_("no runs yet"))
    return 0


def export(args: argparse.Namespace) -> int:
    from core.inference.export import export_run

    result = export_run(args.run, args.out, check=not args.no_check)
    parity = result["parity"]
    if parity is not None:
        numbers = dict(examples=parity["examples"], difference=parity["max_probability_difference"])
        print(_("parity on {examples} validation examples: labels agree, largest probability difference "
                "{difference:.1e}", **numbers) if parity["labels_agree"] else
              _("parity on {examples} validation examples: labels DISAGREE, largest probability difference "
                "{difference:.1e}", **numbers), file=sys.stderr)
    print(as_json(result))
    return 0 if parity is None or parity["passed"] else 3


def predict(args: argparse.Namespace) -> int:
    from core.data import images
    from core.inference import load

    predictor = load(args.run)
    if predictor.modality == "image":
        missing = [name for name in args.inputs if not Path(name).is_file()]
        if missing:
            raise UserError(lazy("No such image file: {file}.", file=missing[0]), lazy("Give paths to image files."))
        probabilities = predictor.predict_images([images.load_rgb(name) for name in args.inputs])
    else:
        texts = [Path(item).read_text(errors="replace") if item.endswith(".txt") and Path(item).is_file() else item
                 for item in args.inputs]
        probabilities = predictor.predict_texts(texts)
    for given, row in zip(args.inputs, probabilities):
        print(as_json({"input": given, "label": predictor.labels[int(row.argmax())],
                          "probabilities": {label: round(float(p), 6) for label, p in zip(predictor.labels, row)}}))
    return 0


COMMANDS = {"backbones": list_backbones, "strategies": list_strategies, "train": train, "curve": curve,
            "runs": list_runs, "export": export, "predict": predict, "worker": serve_as_worker, "lr-find": find_lr,
            "audit": audit_run, "doctor": examine_data}


def main(argv: list[str] | None = None) -> int:
    """The command ``argv`` asks for, in the language ``--lang`` names (else the environment's)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    for stream in (sys.stdout, sys.stderr):  # Chinese on a console that cannot show it: escapes, not a crash
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    with i18n.language(_language_asked(argv)):
        return _main(argv)


def _main(argv: list[str]) -> int:
    try:
        with _argparse_in_language():
            args = build_parser().parse_args(argv)
        from core.device import keep_freed_memory

        keep_freed_memory()  # this process computes: batches reuse freed memory (about 1.5x on a CPU)
        return COMMANDS[args.command](args)
    except UserError as error:
        rank = os.environ.get("RANK", "0") if os.environ.get("WORLD_SIZE", "1") != "1" else "0"
        if rank != "0":  # torchrun's other processes say which one they are
            print(_("error (process {rank}): {message}", rank=rank, message=error), file=sys.stderr)
        else:
            print(_("error: {message}", message=error), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(_("error: interrupted"), file=sys.stderr)
        return 130
    except BrokenPipeError:  # `python -m core runs | head`: the reader has all it wanted
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())
