"""``runs``: the runs in the runs folder, one line each (or JSON)."""

from __future__ import annotations

import argparse

from core.cli.common import as_json
from core.cli.options import Parents, add_command
from core.i18n import N_, _
from core.runs import Summary

STATUS_LABELS = {"queued": N_("queued"), "running": N_("running"), "finished": N_("finished"),
                 "stopped": N_("stopped"), "failed": N_("failed"), "interrupted": N_("interrupted"),
                 "damaged": N_("damaged")}


def runs_command_parser(subparsers, parents: Parents) -> None:
    parser = add_command(subparsers, parents, "runs", _("list the runs in the runs folder"), parents.json_list)
    parser.add_argument("--out", help=_("runs folder (default: workspace/runs)"))
    parser.set_defaults(func=list_runs)


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
