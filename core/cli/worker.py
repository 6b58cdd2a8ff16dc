"""``worker``: a warm training process for the app, which core/jobs.py starts and commands on stdin
(core/worker.py); the run it is given trains through this same command line."""

from __future__ import annotations

import argparse

from core.cli.options import Parents, add_command
from core.i18n import _


def worker_command_parser(subparsers, parents: Parents) -> None:
    parser = add_command(subparsers, parents, "worker",
                         _("a warm training process for the app (commands on stdin; core/worker.py)"))
    parser.set_defaults(func=serve_as_worker)


def serve_as_worker(args: argparse.Namespace) -> int:
    from core import worker
    from core.cli import main

    return worker.serve(main)
