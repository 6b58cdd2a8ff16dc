"""``doctor``: the dataset doctor, on the backbone's cached features (core/doctor.py)."""

from __future__ import annotations

import argparse
import sys

from core.cli.common import as_json, given
from core.cli.options import Parents, add_command
from core.i18n import _, ngettext

EXCLUDABLE = ["label_issues", "duplicates", "outliers"]


def doctor_command_parser(subparsers, parents: Parents) -> None:
    parser = add_command(subparsers, parents, "doctor", _("the dataset doctor: suspected label errors, duplicates "
                                                          "(also between training and validation) and outliers, on "
                                                          "the backbone's cached features"),
                         parents.dataset, parents.columns_and_split, parents.encoding, parents.device, parents.cache,
                         parents.json_report)
    parser.add_argument("--backbone", help=_("the pretrained backbone whose features are examined (default: "
                                             "efficientnet_lite0 for images, all_minilm_l6_v2 for texts)"))
    parser.add_argument("--max-length", type=int, default=128, help=_("texts: tokens kept per text (default 128)"))
    parser.add_argument("--near", type=float, help=_("cosine similarity of the features from which two items are "
                                                     "near-duplicates (default 0.99)"))
    parser.add_argument("--near-pixels", type=float,
                        help=_("images: correlation of two 32x32 grey thumbnails from which they are "
                               "near-duplicates (default 0.993; above 1: off)"))
    parser.add_argument("--exclude", choices=[*EXCLUDABLE, "all"],
                        help=_("also exclude what was found from every later split (duplicates: the validation "
                               "copy, else the second of the pair); the Data page can include them again"))
    parser.set_defaults(func=examine_data)


def examine_data(args: argparse.Namespace) -> int:
    from core import doctor

    def progress(done: int, total: int) -> None:
        print(_("features {done}/{total}", done=done, total=total), file=sys.stderr, flush=True)

    # the split and device not given: doctor's defaults (the same as training's)
    read_as = given(val_fraction=args.val_fraction, seed=args.seed, text_column=args.text_col,
                    label_column=args.label_col, encoding=args.encoding)
    checkup = doctor.examine(args.data, args.backbone, max_length=args.max_length, cache_dir=args.cache_dir,
                             on_progress=progress, near=args.near or doctor.NEAR,
                             near_pixels=args.near_pixels or doctor.NEAR_PIXELS, **given(device=args.device),
                             **read_as)
    if args.exclude:
        kinds = EXCLUDABLE if args.exclude == "all" else [args.exclude]
        excluded = doctor.exclude_found(checkup, args.data, kinds=kinds, **read_as)
        print(ngettext("excluded {n} item from every later split of this data",
                       "excluded {n} items from every later split of this data", len(excluded)), file=sys.stderr)
    if not args.json:
        for sentence in checkup.words():
            print(sentence, file=sys.stderr)
        print(_("examined {items:,} examples on {backbone} features in {seconds:.1f}s", items=checkup.items,
                backbone=checkup.backbone, seconds=checkup.seconds), file=sys.stderr)
    print(as_json(checkup.to_dict()))
    return 0
