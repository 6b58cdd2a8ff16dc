"""``audit``: how much a finished run's model gives away about its training examples."""

from __future__ import annotations

import argparse
import sys

from core.cli.common import as_json
from core.cli.options import Parents, add_command
from core.errors import UserError
from core.i18n import _, lazy


def audit_command_parser(subparsers, parents: Parents) -> None:
    parser = add_command(subparsers, parents, "audit", _("privacy audit of a finished run: a membership-inference "
                                                         "test (loss threshold), as ROC AUC (50% = nothing leaks)"),
                         parents.run_dir)
    parser.add_argument("--per-side", type=int, default=500,
                        help=_("training and validation examples scored, each (a seeded sample; default 500)"))
    parser.add_argument("--json", action="store_true", help=_("print only the JSON object"))
    parser.set_defaults(func=audit_run)


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
