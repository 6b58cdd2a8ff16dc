"""Benchmark: does the range test's suggested learning rate train as well as the recipe's?

    python bench/lr_find.py [--data sample:mnist,sample:mnist-m] [--strategy feature_extract] [--epochs N]

For each dataset: `lr_find.range_test` on the recipe's settings (seed 0), then two trainings that differ
only in the learning rate (the recipe's, the suggestion), scored on the same validation split. Prints
the suggestion, the test's time, and both best validation accuracies. The feature cache is shared, so
feature extraction pays its pass once (in the range test).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core import lr_find, train  # noqa: E402
from core.config import TrainConfig  # noqa: E402
from core.device import keep_freed_memory  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default="sample:mnist,sample:mnist-m")
    parser.add_argument("--strategy", default="feature_extract")
    parser.add_argument("--backbone", default="efficientnet_lite0")
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--steps", type=int)
    args = parser.parse_args()
    keep_freed_memory()
    out = Path(tempfile.mkdtemp(prefix="bench-lr-find-"))
    print(f"{'data':<16} {'recipe lr':>10} {'suggested':>10} {'test s':>7} {'acc (recipe)':>13} {'acc (suggested)':>16}")
    for source in args.data.split(","):
        config = TrainConfig.for_strategy(source, args.strategy, backbone=args.backbone, out_dir=str(out),
                                          horizontal_flip=False, epochs=args.epochs)
        steps = args.steps or (100 if config.strategy == "feature_extract" else 40)
        began = time.perf_counter()
        test = lr_find.range_test(config, steps)
        seconds = time.perf_counter() - began
        accuracy = {}
        for name, rate in (("recipe", config.lr), ("suggested", test.suggested_lr)):
            if rate is None:
                accuracy[name] = "-"
                continue
            summary = train.fit(TrainConfig.from_dict({**config.to_dict(), "lr": rate}))
            accuracy[name] = f"{summary['best_val_acc']:.1%}"
        suggested = f"{test.suggested_lr:.1e}" if test.suggested_lr else "none"
        print(f"{source:<16} {config.lr:>10.1e} {suggested:>10} {seconds:>7.1f} {accuracy['recipe']:>13} "
              f"{accuracy['suggested']:>16}", flush=True)


if __name__ == "__main__":
    main()
