"""Benchmark: image transfer learning on a CPU, printing the numbers issue #2 asks for.

    python bench/image_transfer.py [--data PATH] [--out bench/out]

PATH: a two-class photo ImageFolder with train/ and val/ folders (e.g. the classic ~400-image
hymenoptera ants/bees set). Without --data, a stand-in with the same shape is built from the bundled
MNIST digits (3 vs 8, 200 each, train/val folders) and the output says so.

Measures: (1) one plain forward pass of EfficientNet-Lite0 over every image (decode included), the
reference; (2) feature extraction, 25 epochs, cold cache; (3) the same again, warm cache, new lr and
output folder; (4) fine-tuning, 2 epochs.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from bench.checks import report as checks_report  # noqa: E402

from core import backbones  # noqa: E402
from core.data import samples  # noqa: E402
from core.data import image_folders
from core.config import TrainConfig  # noqa: E402
from core.device import pick_device  # noqa: E402
from core.loaders import eval_transform, image_loader  # noqa: E402
from core.train import fit  # noqa: E402


def stand_in_dataset(root: Path) -> Path:
    """3 vs 8 from the MNIST sample: 150 train + 50 val images per class, in train/val folders."""
    source = samples.ensure_sample("mnist-5k")
    for digit in ("3", "8"):
        files = sorted((source / digit).glob("*.png"))[:200]
        for split, chunk in (("train", files[:150]), ("val", files[150:])):
            (root / split / digit).mkdir(parents=True, exist_ok=True)
            for path in chunk:
                shutil.copy(path, root / split / digit / path.name)
    return root


@torch.inference_mode()
def plain_forward_seconds(data: str) -> float:
    spec = backbones.get("efficientnet_lite0")
    report = image_folders.load_dataset(data)
    device = pick_device()
    model = backbones.create_backbone(spec).eval().to(device).to(memory_format=torch.channels_last)
    started = time.perf_counter()
    for images, _ in image_loader(report.root, report.all_items(), eval_transform(spec), 32, False, 0, device):
        model(images.to(device).contiguous(memory_format=torch.channels_last))
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data")
    parser.add_argument("--out", default="bench/out")
    args = parser.parse_args()
    out = Path(args.out)
    scratch = Path(tempfile.mkdtemp(prefix="transferlab-bench-"))
    data = args.data or str(stand_in_dataset(scratch / "digits-3-vs-8"))
    cache = scratch / "cache"  # cold on purpose
    report = image_folders.load_dataset(data)
    print(f"data: {data} ({'given' if args.data else 'stand-in: MNIST 3 vs 8, not photos'}); "
          f"{len(report.train)} train / {len(report.val)} val images, classes {report.classes}")
    print(f"device: {pick_device()}, torch threads: {torch.get_num_threads()}")
    results = {"data": data, "images": report.num_items, "threads": torch.get_num_threads()}

    results["plain_forward_s"] = plain_forward_seconds(data)
    print(f"reference, one forward pass over all images: {results['plain_forward_s']:.1f}s")

    def run(strategy: str, **overrides) -> dict:
        config = TrainConfig.for_strategy(data, strategy, backbone="efficientnet_lite0", cache_dir=str(cache),
                                          **overrides)
        return fit(config)

    cold = run("feature_extract", epochs=25, out_dir=str(out / "a"))
    print(f"feature extraction, 25 epochs, cold cache: best val acc {cold['best_val_acc']:.3f}, "
          f"{cold['seconds']:.1f}s (features {cold['feature_seconds']:.1f}s) -> "
          f"{cold['seconds'] - results['plain_forward_s']:+.1f}s vs the plain forward pass")
    warm = run("feature_extract", epochs=25, lr=3e-3, out_dir=str(out / "b"))
    print(f"feature extraction again (new lr, new output folder): cache hit {warm['cache_hit']}, "
          f"best val acc {warm['best_val_acc']:.3f}, {warm['seconds']:.1f}s")
    tuned = run("fine_tune", epochs=2, out_dir=str(out / "c"))
    print(f"fine-tuning, 2 epochs: best val acc {tuned['best_val_acc']:.3f}, {tuned['seconds']:.1f}s")
    results.update(feature_extract_cold=cold, feature_extract_warm=warm, fine_tune=tuned)
    checks = {"FE best val acc >= 0.95": cold["best_val_acc"] >= 0.95,
              "FE cold <= forward pass + 5s": cold["seconds"] <= results["plain_forward_s"] + 5,
              "FE warm is a cache hit, < 5s": warm["cache_hit"] and warm["seconds"] < 5,
              "fine-tune 2 epochs >= 0.80": tuned["best_val_acc"] >= 0.80}
    checks_report(checks, results, out, "image_transfer")
    shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
