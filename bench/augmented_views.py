"""Benchmark: feature extraction with augmented views per image (K = 0, 2, 5): accuracy and time.

    python bench/augmented_views.py [--views 0,2,5] [--per-class 20,all] [--data sample:mnist-m,sample:mnist]

Each K is `python -m core train --strategy feature_extract --augmented-views K` on EfficientNet-Lite0, seed 0,
in one fresh workspace per dataset (so K = 0 pays the plain feature pass and the others reuse it and pay
their views; the time printed is each run's first-time cost). Default data: the digits blended onto photo
crops (sample:mnist-m: the closest thing to photos that installs offline) and the plain MNIST sample,
both without mirroring (a mirrored digit is another symbol). Prints a table of validation accuracy and
first-time seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def train(data: str, views: int, per_class: str, home: Path, epochs: int) -> dict:
    command = [sys.executable, "-m", "core", "train", "--data", data, "--strategy", "feature_extract",
               "--backbone", "efficientnet_lite0", "--augmented-views", str(views), "--no-flip", "--epochs",
               str(epochs), "--quiet"] + ([] if per_class == "all" else ["--per-class", per_class])
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "TRANSFERLAB_HOME": str(home)})
    if done.returncode != 0:
        raise SystemExit(done.stderr[-2000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--views", default="0,2,5")
    parser.add_argument("--per-class", default="20,all")
    parser.add_argument("--data", default="sample:mnist-m,sample:mnist")
    parser.add_argument("--epochs", type=int, default=25)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        for data in args.data.split(","):
            home = Path(scratch) / data.replace(":", "-")
            for per_class in args.per_class.split(","):
                for views in map(int, args.views.split(",")):
                    summary = train(data, views, per_class, home, args.epochs)
                    rows.append((data, per_class, views, summary["best_val_acc"], summary["first_time_seconds"],
                                 summary["train_images"]))
                    print(f"{data} {per_class}/class K={views}: {summary['best_val_acc']:.1%} "
                          f"({summary['first_time_seconds']:.0f} s the first time)", flush=True)
    print("\n| data | per class | training images | K | validation accuracy | first-time seconds |")
    print("|---|---|---|---|---|---|")
    for data, per_class, views, acc, seconds, count in rows:
        print(f"| {data} | {per_class} | {count} | {views} | {acc:.1%} | {seconds:.0f} |")


if __name__ == "__main__":
    main()
