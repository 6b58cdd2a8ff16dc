"""Headless TransferLab: ``python -m core backbones | strategies | train | curve | runs | export | predict |
lr-find | audit | doctor`` (and ``worker``, the app's warm training process).

The last stdout line of ``train`` is one JSON object (the run summary); progress goes before it.
Bad arguments or data exit non-zero with a one-line reason on stderr. The app trains through this
same command (``train --run DIR``) in a child process, so there is one way in to training.

The human lines speak the person's language (core/i18n.py): ``--lang CODE`` (before or after the command),
else ``TRANSFERLAB_LANG``, else ``LANGUAGE`` / ``LC_ALL`` / ``LC_MESSAGES`` / ``LANG``. JSON output, flags and
option values stay as they are, in every language.

Each command's module builds its parser beside its handler (``<command>_command_parser(subparsers, parents)``,
which sets ``func``); the options several commands share are defined once, as parent parsers (core/cli/options.py).
"""

from __future__ import annotations

import argparse
import os
import sys

from core import i18n
from core.cli import audit, curve, doctor, export, lessons, lr_find, registries, runs, train, worker
from core.cli.options import shared_parents
from core.cli.parsing import Parser, argparse_in_language, language_asked
from core.errors import UserError
from core.i18n import _

# in the order `python -m core --help` lists them
COMMAND_PARSERS = (registries.backbones_command_parser, registries.strategies_command_parser,
                   train.train_command_parser, curve.curve_command_parser, runs.runs_command_parser,
                   export.export_command_parser, export.predict_command_parser, lr_find.lr_find_command_parser,
                   audit.audit_command_parser, doctor.doctor_command_parser, lessons.lessons_command_parser,
                   worker.worker_command_parser)


def build_parser() -> argparse.ArgumentParser:
    parents = shared_parents()
    parser = Parser(prog="python -m core", description=_("TransferLab, headless."), parents=[parents.language])
    subparsers = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    for command_parser in COMMAND_PARSERS:
        command_parser(subparsers, parents)
    return parser


def main(argv: list[str] | None = None) -> int:
    """The command ``argv`` asks for, in the language ``--lang`` names (else the environment's)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    for stream in (sys.stdout, sys.stderr):  # Chinese on a console that cannot show it: escapes, not a crash
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    with i18n.language(language_asked(argv)):
        return _main(argv)


def _main(argv: list[str]) -> int:
    try:
        with argparse_in_language():
            args = build_parser().parse_args(argv)
        from core.device import keep_freed_memory

        keep_freed_memory()  # this process computes: batches reuse freed memory (about 1.5x on a CPU)
        return args.func(args)
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
