"""Benchmark: pretrain, then transfer, with your own run as the backbone.

    python bench/pretrain_transfer.py [--per-class 10] [--out bench/out]

1. Pretrain: the small CNN from scratch on the large bundled digits (sample:mnist-5k, 5,000 MNIST
   digits).
2. Transfer to a small set of differently written digits: scikit-learn's bundled UCI optical digits
   (8x8 scans of other people's handwriting, scaled up to 28x28), N per class to train on, 60 per
   class to validate on.
3. On that small set: the small CNN from scratch (nothing to transfer) against feature extraction
   and fine-tuning from run:<the pretraining run>.
Prints validation accuracy and seconds for each; writes bench/out/pretrain_transfer.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from core import run_backbones  # noqa: E402
from core.config import TrainConfig  # noqa: E402
from core.train import fit  # noqa: E402

VAL_PER_CLASS = 60


def optical_digits(root: Path, per_class: int) -> Path:
    """train/<digit>/ with ``per_class`` images and val/<digit>/ with 60, from sklearn's load_digits."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    rng = np.random.default_rng(0)
    for digit in range(10):
        indices = rng.permutation(np.flatnonzero(digits.target == digit))
        for split, chosen in (("train", indices[:per_class]), ("val", indices[per_class:per_class + VAL_PER_CLASS])):
            folder = root / split / str(digit)
            folder.mkdir(parents=True, exist_ok=True)
            for index in chosen:
                pixels = (digits.images[index] / 16 * 255).astype(np.uint8)
                Image.fromarray(pixels).resize((28, 28), Image.BILINEAR).save(folder / f"{index:04d}.png")
    return root


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--per-class", type=int, default=10)
    parser.add_argument("--out", default=str(Path(__file__).parent / "out"))
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="transferlab-pretrain-") as scratch:
        root = Path(scratch)
        common = dict(out_dir=str(root / "runs"), seed=0, horizontal_flip=False)
        pretrained = fit(TrainConfig.for_strategy("sample:mnist-5k", "scratch", backbone="small_cnn", **common))
        print(f"pretraining: small CNN from scratch on 5,000 MNIST digits: {pretrained['best_val_acc']:.1%} in "
              f"{pretrained['seconds']:.0f}s", flush=True)
        small = optical_digits(root / "optical", args.per_class)
        name = run_backbones.name_for(pretrained["run_dir"])
        for label, strategy, backbone in (("from scratch on the small set", "scratch", "small_cnn"),
                                          ("feature extraction from your run", "feature_extract", name),
                                          ("fine-tuning from your run", "fine_tune", name)):
            summary = fit(TrainConfig.for_strategy(str(small), strategy, backbone=backbone, **common))
            rows.append({"approach": label, "strategy": strategy, "per_class": args.per_class,
                         "val_acc": summary["best_val_acc"], "seconds": summary["seconds"]})
            print(f"{label:<36} {summary['best_val_acc']:.1%}  ({args.per_class} per class to learn from, "
                  f"{summary['seconds']:.1f}s)", flush=True)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "pretrain_transfer.json").write_text(json.dumps({"pretraining_val_acc": pretrained["best_val_acc"],
                                                            "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
