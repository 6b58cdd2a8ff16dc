"""Benchmark: gradual unfreezing (ULMFiT's stages and discriminative rates) against plain fine-tuning.

    python bench/gradual.py [--data sample:mnist-m,sample:bbc] [--per-class 20] [--seed 0] [--epochs N]

For each dataset, both strategies with their recipes on the same seeded subset (``--per-class`` training
examples of each class; validation whole), the default backbone. Prints each one's best validation
accuracy, its epoch, and the time. Small data is where gradual unfreezing is meant to help: the head
learns first, so the backbone is not pushed around by a random head's gradients.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core import backbones, train  # noqa: E402
from core.config import TrainConfig  # noqa: E402
from core.data import modality_of  # noqa: E402
from core.device import keep_freed_memory  # noqa: E402



def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default="sample:mnist-m,sample:bbc")
    parser.add_argument("--per-class", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, help="the same epochs for both (default: each recipe's)")
    args = parser.parse_args()
    keep_freed_memory()
    out = Path(tempfile.mkdtemp(prefix="bench-gradual-"))
    print(f"{'data':<14} {'strategy':<18} {'epochs':>6} {'accuracy':>9} {'best epoch':>10} {'seconds':>8}", flush=True)
    for source in args.data.split(","):
        for strategy in ("fine_tune", "gradual_unfreeze"):
            config = TrainConfig.for_strategy(source, strategy, backbone=backbones.default_for(modality_of(source)), out_dir=str(out),
                                              per_class=args.per_class, seed=args.seed, horizontal_flip=False,
                                              patience=0, epochs=args.epochs)
            began = time.perf_counter()
            summary = train.fit(config)
            print(f"{source:<14} {strategy:<18} {config.epochs:>6} {summary['best_val_acc']:>9.1%} "
                  f"{summary['best_epoch']:>10} {time.perf_counter() - began:>8.1f}", flush=True)


if __name__ == "__main__":
    main()
