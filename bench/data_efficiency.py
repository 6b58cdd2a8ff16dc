"""Benchmark: how much data does each strategy need? The data-efficiency curve on real data.

    python bench/data_efficiency.py [--only images|texts] [--fine-tune] [--out bench/out]

Images: the bundled MNIST digits (sample:mnist), the small CNN from scratch against feature extraction
on EfficientNet-Lite0 (and fine-tuning with --fine-tune: slow on a CPU). Texts: BBC News (sample:bbc),
TF-IDF against feature extraction on all-MiniLM-L6-v2. Each through `python -m core curve --json`, in a
fresh workspace (so the first feature pass is paid and shows), seed 0. Prints one table per dataset
and the plain-words reading; writes the JSON to OUT/data_efficiency.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CASES = {
    "images": {"data": "sample:mnist", "backbone": "efficientnet_lite0", "strategies": "scratch,feature_extract",
               "per_class": "5,10,20,50,all", "extra": ["--no-flip"]},
    "texts": {"data": "sample:bbc", "backbone": "all_minilm_l6_v2", "strategies": "tfidf,feature_extract",
              "per_class": "5,10,20,50,all", "extra": []},
}


def run_case(name: str, case: dict, fine_tune: bool, home: Path) -> dict:
    chosen = case["strategies"] + (",fine_tune" if fine_tune else "")
    command = [sys.executable, "-m", "core", "curve", "--data", case["data"], "--backbone", case["backbone"],
               "--strategies", chosen, "--per-class", case["per_class"], "--json", *case["extra"]]
    started = time.perf_counter()
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True,
                            env={**os.environ, "TRANSFERLAB_HOME": str(home / name)})
    if result.returncode != 0:
        raise SystemExit(f"{name}: {result.stderr[-2000:]}")
    output = json.loads(result.stdout)
    output["wall_seconds"] = round(time.perf_counter() - started, 1)
    return output


def print_table(name: str, output: dict) -> None:
    points = output["points"]
    sizes = list(dict.fromkeys(str(p["per_class"]) for p in points))
    names = list(dict.fromkeys(p["strategy"] for p in points))
    print(f"\n{name}: validation accuracy by training examples per class ({output['wall_seconds']} s in all)")
    print(f"{'strategy':<18}" + "".join(f"{size:>9}" for size in sizes) + f"{'seconds':>10}")
    for strategy in names:
        row = {str(p["per_class"]): p for p in points if p["strategy"] == strategy}
        cells = "".join(f"{row[s]['val_acc']:>9.1%}" if s in row and row[s]["val_acc"] is not None else f"{'-':>9}"
                        for s in sizes)
        seconds = sum(p["seconds"] or 0 for p in row.values())
        print(f"{strategy:<18}{cells}{seconds:>10.0f}")
    for sentence in output["reading"]:
        print("  " + sentence)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=list(CASES))
    parser.add_argument("--fine-tune", action="store_true", help="add fine-tuning to every curve (slow on a CPU)")
    parser.add_argument("--out", default=str(ROOT / "bench" / "out"))
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory(prefix="transferlab-curve-") as home:
        for name, case in CASES.items():
            if args.only and name != args.only:
                continue
            results[name] = run_case(name, case, args.fine_tune, Path(home))
            print_table(name, results[name])
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "data_efficiency.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
