"""``export`` (a run as files that predict without TransferLab) and ``predict`` (a run's predictions)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from core.cli.common import as_json
from core.cli.options import Parents, add_command
from core.errors import UserError
from core.i18n import _, lazy


def export_command_parser(subparsers, parents: Parents) -> None:
    parser = add_command(subparsers, parents, "export", _("write ONNX + torch.export + predict.py + model card, and "
                                                          "check their predictions against the app's"),
                         parents.run_dir)
    parser.add_argument("--out", required=True, help=_("folder to write (replaced if it exists)"))
    parser.add_argument("--no-check", action="store_true", help=_("skip the parity check on the validation split"))
    parser.set_defaults(func=export)


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


def predict_command_parser(subparsers, parents: Parents) -> None:
    parser = add_command(subparsers, parents, "predict", _("one JSON object per input: label and probabilities"),
                         parents.run_dir)
    parser.add_argument("inputs", metavar="INPUT", nargs="+",
                        help=_("image files for image runs; texts (or .txt files) for text runs"))
    parser.set_defaults(func=predict)


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
