"""Benchmark: domain adaptation on stand-in shifts built from data on this machine.

    python bench/domain_shift.py [--only image|text] [--out bench/out]

Image shift (MNIST -> "MNIST-M", as in Ganin & Lempitsky's DANN paper): the source is 100 real
MNIST digits per class; the target is 100 *other* digits per class blended onto random crops of
the two colour photos scikit-learn ships (china.jpg, flower.jpg), the way MNIST-M blends digits
onto BSDS500 photo patches.
Text shift (long articles -> short snippets): BBC News, even-numbered articles as the source (the
full text), odd-numbered ones as the target, cut to their first 20 words (headline and lead), the
way a model trained on reports meets one-line news alerts.

For each shift: feature extraction with every feature-level method (none, standardize, coral,
subspace), the target's labels used only to score; for the image shift also a network trained
end to end (the small CNN from scratch; EfficientNet-Lite0 fine-tuned) with none, AdaBN and DANN. Prints source validation accuracy, target
accuracy, the domain gap before and after, and seconds; writes bench/out/domain_shift.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pandas as pd  # noqa: E402

from core import adaptation, samples  # noqa: E402
from core.config import TrainConfig  # noqa: E402
from core.train import fit  # noqa: E402

def image_shift(root: Path) -> tuple[Path, Path]:
    """Source: the MNIST sample (the first 100 digits per class); target: sample:mnist-m (the next 100
    per class, on photo crops)."""
    return samples.ensure_sample("mnist"), samples.ensure_sample("mnist-m")


def text_shift(root: Path) -> tuple[Path, Path]:
    table = pd.read_csv(samples.ensure_text_sample("bbc"))
    source = table.iloc[::2].reset_index(drop=True)
    target = table.iloc[1::2].reset_index(drop=True)
    target["text"] = [" ".join(text.split()[:20]) for text in target["text"]]
    root.mkdir(parents=True, exist_ok=True)
    source.to_csv(root / "bbc_articles.csv", index=False)
    target.to_csv(root / "bbc_snippets.csv", index=False)
    return root / "bbc_articles.csv", root / "bbc_snippets.csv"


def measure(name: str, source: Path, target: Path, backbone: str, runs_dir: Path, **settings) -> list[dict]:
    rows = []
    for method in ["none"] + [m.name for m in adaptation.all_methods() if m.level == "features" and m.name != "none"]:
        config = TrainConfig.for_strategy(str(source), "feature_extract", backbone=backbone, target=str(target),
                                          adapt=method, out_dir=str(runs_dir), seed=0, **settings)
        summary = fit(config)
        row = {"shift": name, "adapt": method, "val_acc": summary["best_val_acc"], "target_acc": summary["target_acc"],
               "domain_gap": summary["domain_gap"], "domain_gap_after": summary.get("domain_gap_after"),
               "seconds": summary["seconds"]}
        print(f"{name:<22} {method:<12} source val {row['val_acc']:.1%}  target {row['target_acc']:.1%}  "
              f"gap {row['domain_gap']:.2f} -> {row['domain_gap_after']:.2f}  {row['seconds']:.1f}s", flush=True)
        rows.append(row)
    return rows


def measure_end_to_end(name: str, source: Path, target: Path, strategy: str, backbone: str, runs_dir: Path,
                       methods: list[str], **settings) -> list[dict]:
    """A whole network trained on the source, with the adaptation methods that change it (AdaBN, DANN)."""
    rows = []
    for method in methods:
        config = TrainConfig.for_strategy(str(source), strategy, backbone=backbone, target=str(target), adapt=method,
                                          out_dir=str(runs_dir), seed=0, **settings)
        summary = fit(config)
        row = {"shift": name, "adapt": method, "val_acc": summary["best_val_acc"], "target_acc": summary["target_acc"],
               "domain_gap_after": summary.get("domain_gap_after"), "seconds": summary["seconds"]}
        print(f"{name:<22} {method:<12} source val {row['val_acc']:.1%}  target {row['target_acc']:.1%}  "
              f"gap of the trained features {row['domain_gap_after']:.2f}  {row['seconds']:.1f}s", flush=True)
        rows.append(row)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=["image", "text", "network"])
    parser.add_argument("--out", default=str(Path(__file__).parent / "out"))
    parser.add_argument("--fine-tune-epochs", type=int, default=2)
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    with tempfile.TemporaryDirectory(prefix="transferlab-shift-") as scratch:
        root = Path(scratch)
        if args.only in (None, "network"):
            source, target = image_shift(root / "images")
            rows += measure_end_to_end("MNIST -> MNIST-M (CNN)", source, target, "scratch", "small_cnn", root / "runs",
                                       ["none", "adabn", "dann"], horizontal_flip=False, patience=0)
            rows += measure_end_to_end("MNIST -> MNIST-M (fine-tuned)", source, target, "fine_tune",
                                       "efficientnet_lite0", root / "runs", ["none", "adabn", "dann"],
                                       horizontal_flip=False, patience=0, epochs=args.fine_tune_epochs)
        if args.only in (None, "image"):
            source, target = image_shift(root / "images")
            rows += measure("MNIST -> MNIST-M", source, target, "efficientnet_lite0", root / "runs",
                            horizontal_flip=False)
        if args.only in (None, "text"):
            source, target = text_shift(root / "texts")
            rows += measure("BBC articles -> snippets", source, target, "all_minilm_l6_v2", root / "runs")
    for shift in sorted({row["shift"] for row in rows}):
        plain = next(r for r in rows if r["shift"] == shift and r["adapt"] == "none")
        best = max((r for r in rows if r["shift"] == shift), key=lambda r: r["target_acc"])
        print(f"{shift}: best {best['adapt']} {best['target_acc']:.1%} vs no adaptation {plain['target_acc']:.1%} "
              f"({(best['target_acc'] - plain['target_acc']) * 100:+.1f} points)")
    (out / "domain_shift.json").write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
