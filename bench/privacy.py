"""Benchmark: what private training (DP-SGD) costs in accuracy, and what it buys against a membership attack.

    python bench/privacy.py [--data sample:mnist-m,sample:bbc] [--epsilons none,1,3,8] [--lrs recipe,private]

For each dataset, feature extraction (the head on the cached features; the pass is paid once and shared)
trained normally and at each privacy budget epsilon, at the plain recipe's learning rate and at the private
recipe's (core/strategies/feature_extract.py: private_defaults). Prints the best validation accuracy, the
epsilon spent, the training time, and the loss-threshold membership attack's AUC on the saved model
(core/audit.py; 50% = nothing leaks). Photos: no real photo set installs offline, so sample:mnist-m (digits
blended onto photo crops) stands in, as in the other benchmarks.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core import audit, backbones, strategies, train  # noqa: E402
from core.config import TrainConfig  # noqa: E402
from core.data import modality_of  # noqa: E402
from core.device import keep_freed_memory  # noqa: E402




def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default="sample:mnist-m,sample:bbc")
    parser.add_argument("--epsilons", default="none,1,3,8")
    parser.add_argument("--lrs", default="recipe,private", help="recipe: the plain recipe's rate; private: the "
                                                                "private recipe's; or numbers")
    parser.add_argument("--epochs", type=int)
    args = parser.parse_args()
    keep_freed_memory()
    out = Path(tempfile.mkdtemp(prefix="bench-privacy-"))
    learner = strategies.get("feature_extract")
    print(f"{'data':<14} {'epsilon':>8} {'lr':>8} {'accuracy':>9} {'spent':>7} {'noise':>6} {'train s':>8} "
          f"{'attack AUC (95% interval)':>11}", flush=True)
    for source in args.data.split(","):
        modality = modality_of(source)
        rates = {"recipe": learner.recipe(modality)["lr"], "private": learner.recipe(modality, private=True)["lr"]}
        for epsilon in args.epsilons.split(","):
            budget = None if epsilon == "none" else float(epsilon)
            for name in (["recipe"] if budget is None else args.lrs.split(",")):
                lr = rates.get(name) or float(name)
                config = TrainConfig.for_strategy(source, "feature_extract", out_dir=str(out), epochs=args.epochs,
                                                  backbone=backbones.default_for(modality),
                                                  horizontal_flip=False, dp_epsilon=budget, lr=lr)
                began = time.perf_counter()
                summary = train.fit(config)
                seconds = time.perf_counter() - began
                attack = audit.audit(summary["run_dir"])
                spent = f"{summary['epsilon']:.2f}" if "epsilon" in summary else "-"
                noise = f"{summary['dp']['noise_multiplier']:.2f}" if "dp" in summary else "-"
                print(f"{source:<14} {epsilon:>8} {lr:>8.0e} {summary['best_val_acc']:>9.1%} {spent:>7} {noise:>6} "
                      f"{seconds:>8.1f} {attack.mia_auc:>11.1%} ({attack.mia_auc_interval[0]:.1%}-"
                      f"{attack.mia_auc_interval[1]:.1%})", flush=True)


if __name__ == "__main__":
    main()
