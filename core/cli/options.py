"""The options several commands share, each defined once as an argparse parent parser (``parents=[...]``,
``add_help=False``): a command's parser lists the parents it takes, then adds its own options after theirs.

The parents are built with the parser (``shared_parents``), so that their help texts are in the language of the
moment. Their defaults are those of every command that takes them (a parent's options are the same objects in
each, so no command may ``set_defaults`` them): a command whose default differs leaves the option out of what it
passes when not given (``common.given``), and the function it calls decides."""

from __future__ import annotations

import argparse
from dataclasses import dataclass

from core.cli.parsing import language_code
from core.i18n import _

DEVICES = ["auto", "cpu", "cuda", "mps"]


@dataclass(frozen=True)
class Parents:
    """One parent parser per family of shared options; beside each, the commands that take it."""
    language: argparse.ArgumentParser  # --lang: the top level and every command
    dataset: argparse.ArgumentParser  # --data (required): curve, doctor
    columns_and_split: argparse.ArgumentParser  # --text-col --label-col --val-fraction --seed: train, curve, lr-find, doctor
    encoding: argparse.ArgumentParser  # --encoding: curve, lr-find, doctor (train's help says more)
    no_flip: argparse.ArgumentParser  # --no-flip: train, curve, lr-find
    device: argparse.ArgumentParser  # --device: train, curve, lr-find, doctor
    cache: argparse.ArgumentParser  # --cache-dir: train, lr-find, doctor
    backbone: argparse.ArgumentParser  # --backbone: train, lr-find (curve's and doctor's say what they do with it)
    recipe: argparse.ArgumentParser  # --strategy --max-length --batch-size --optimizer: train, lr-find
    runs_out: argparse.ArgumentParser  # --out, the folder that receives the runs: train, curve
    json_list: argparse.ArgumentParser  # --json: backbones, strategies, runs
    json_report: argparse.ArgumentParser  # --json, progress on stderr: curve, lr-find, doctor
    run_dir: argparse.ArgumentParser  # RUN_DIR: export, predict, audit


def shared_parents() -> Parents:
    return Parents(
        language=_parent("--lang", metavar="CODE", type=language_code, default=argparse.SUPPRESS,
                         help=_("the language of the messages, e.g. zh or en (default: from TRANSFERLAB_LANG, "
                                "LANGUAGE, LC_ALL or LANG)")),
        dataset=_parent("--data", required=True, help=_("the same data as train --data")),
        columns_and_split=_columns_and_split(),
        encoding=_parent("--encoding", help=_("texts: the table's encoding (default: detected)")),
        no_flip=_parent("--no-flip", action="store_true", help=_("no horizontal flips (digits, text)")),
        device=_parent("--device", choices=DEVICES, help=_("where to compute (default auto)")),
        cache=_parent("--cache-dir", help=_("feature cache folder shared by runs")),
        backbone=_parent("--backbone", help=_("registry name, hf:<model id>, or a local model folder (default: "
                                              "efficientnet_lite0 for images, all_minilm_l6_v2 for texts)")),
        recipe=_recipe(),
        runs_out=_parent("--out", help=_("folder that receives the runs (default: workspace/runs)")),
        json_list=_parent("--json", action="store_true", help=_("print a JSON list")),
        json_report=_parent("--json", action="store_true", help=_("print only the JSON object (progress on stderr)")),
        run_dir=_parent("run", metavar="RUN_DIR", help=_("the run folder")),
    )


def add_command(subparsers, parents: Parents, name: str, help_text: str, *shared: argparse.ArgumentParser):
    """The parser of the command ``name``: ``--lang`` and the ``shared`` parents' options, then its own."""
    return subparsers.add_parser(name, help=help_text, description=help_text, parents=[parents.language, *shared])


def _parent(*flags: str, **keywords) -> argparse.ArgumentParser:
    """A parent parser (no ``--help`` of its own); given ``flags``, holding that one argument."""
    made = argparse.ArgumentParser(add_help=False)
    if flags:
        made.add_argument(*flags, **keywords)
    return made


def _columns_and_split() -> argparse.ArgumentParser:
    """How the data is read (a table's columns) and split (the validation share, the seed)."""
    parser = _parent()
    parser.add_argument("--text-col", help=_("texts: the column holding the text (default: guessed)"))
    parser.add_argument("--label-col", help=_("texts: the column holding the label (default: guessed)"))
    parser.add_argument("--val-fraction", type=float,
                        help=_("share of the data kept apart for validation when it has no validation split "
                               "(default 0.2)"))
    parser.add_argument("--seed", type=int, help=_("the random seed: the same seed, the same run (default 0)"))
    return parser


def _recipe() -> argparse.ArgumentParser:
    """How the model learns, as far as training and the learning-rate range test share it."""
    from core import strategies

    recipe = _parent()
    recipe.add_argument("--strategy", default=strategies.FEATURE_EXTRACTION, choices=strategies.names(),
                        help=_("how the model learns (`python -m core strategies` explains each)"))
    recipe.add_argument("--max-length", type=int, help=_("texts: tokens kept per text"))
    recipe.add_argument("--batch-size", type=int, help=_("examples per training step"))
    recipe.add_argument("--optimizer", choices=["adamw", "sgd"], help=_("how the weights are updated"))
    return recipe
