"""What both benchmarks do at the end: print each target as PASS or MISS, keep the numbers as JSON."""

from __future__ import annotations

import json
from pathlib import Path


def report(checks: dict[str, bool], results: dict, out: Path, name: str) -> None:
    for check, ok in checks.items():
        print(f"{'PASS' if ok else 'MISS'}  {check}")
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.json").write_text(json.dumps({**results, "checks": checks}, indent=2, default=str))
