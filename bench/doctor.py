"""Benchmark: does the dataset doctor find label errors and duplicates planted on purpose?

    python bench/doctor.py [--data sample:mnist] [--flip 0.05] [--copies 40] [--seed 0]

Copies the data (an ImageFolder, or a table of texts), flips the labels of a seeded ``--flip`` share of the
items (each to another class, uniformly) and adds ``--copies`` duplicates of other items under new names:
half exact copies, half near copies (images: re-saved as JPEG, quality 80, one pixel shifted; texts: the
first sentence dropped, or a word changed when there is one sentence). Then `doctor.examine` on the copy and
prints: recall of the flipped labels among the label issues (and the precision of those issues), recall of
the planted duplicates (exact and near) and how many of them the split put across training and validation,
the similarity of the planted near copies against the highest similarity of two unplanted items (the room
the NEAR threshold has), and the time.
"""

from __future__ import annotations

import argparse
import csv
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core import data, doctor, features, backbones  # noqa: E402
from core.device import keep_freed_memory, pick_device  # noqa: E402


def planted_images(source: str, out: Path, flip: float, copies: int, rng: random.Random):
    from PIL import Image

    report = data.load_dataset(source)
    root = Path(report.root)
    shutil.copytree(root, out / "data")
    root = out / "data"
    items = sorted(report.train + report.val)
    chosen = rng.sample(items, int(len(items) * flip) + copies)
    flipped, originals = chosen[:int(len(items) * flip)], chosen[int(len(items) * flip):]
    moved = {}
    for key, label in flipped:
        other = rng.choice([c for i, c in enumerate(report.classes) if i != label])
        target = f"{other}/flipped-{Path(key).name}"
        (root / key).rename(root / target)
        moved[key] = target
    pairs = []
    for n, (key, label) in enumerate(originals):
        exact = n % 2 == 0
        name = f"{Path(key).parent}/copy-{n:03d}" + (Path(key).suffix if exact else ".jpg")
        if exact:
            shutil.copyfile(root / key, root / name)
        else:
            picture = Image.open(root / key).convert("RGB")
            shifted = Image.new("RGB", picture.size)
            shifted.paste(picture, (1, 0))
            shifted.save(root / name, quality=80)
        pairs.append((key, name, exact))
    return str(root), set(moved.values()), pairs


def planted_texts(source: str, out: Path, flip: float, copies: int, rng: random.Random):
    report = data.load_dataset(source)
    rows = [(key, report.texts[key], report.classes[label]) for key, label in sorted(report.train + report.val)]
    flipped_rows = set(rng.sample(range(len(rows)), int(len(rows) * flip)))
    originals = rng.sample([i for i in range(len(rows)) if i not in flipped_rows], copies)
    table = []
    for i, (_, text, label) in enumerate(rows):
        if i in flipped_rows:
            label = rng.choice([c for c in report.classes if c != label])
        table.append((text, label))
    pairs = []
    for n, i in enumerate(originals):
        text, label = table[i]
        exact = n % 2 == 0
        if not exact:
            sentences = text.split(". ")
            text = ". ".join(sentences[1:]) if len(sentences) > 2 else text.replace(" the ", " a ", 1) + " (copy)"
        pairs.append((i, len(table), exact))
        table.append((text, label))
    path = out / "texts.csv"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label"])
        writer.writerows(table)
    copy = data.load_dataset(str(path))
    keys = sorted(copy.texts)  # row keys in row order
    return str(path), {keys[i] for i in flipped_rows}, [(keys[a], keys[b], exact) for a, b, exact in pairs]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default="sample:mnist")
    parser.add_argument("--flip", type=float, default=0.05)
    parser.add_argument("--copies", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    keep_freed_memory()
    rng = random.Random(args.seed)
    out = Path(tempfile.mkdtemp(prefix="bench-doctor-"))
    plant = planted_texts if data.modality_of(args.data) == "text" else planted_images
    source, flipped, pairs = plant(args.data, out, args.flip, args.copies, rng)
    began = time.perf_counter()
    checkup = doctor.examine(source, cache_dir=str(out / "cache"))
    seconds = time.perf_counter() - began
    suspects = {finding["item"] for finding in checkup.label_issues}
    caught = flipped & suspects
    found_pairs = {frozenset(d["items"]) for d in checkup.duplicates}
    planted = {frozenset((a, b)): exact for a, b, exact in pairs}
    report = data.load_dataset(source)
    split = {key: "train" for key, _ in report.train} | {key: "val" for key, _ in report.val}
    across = sum(split[a] != split[b] for a, b, _ in pairs)
    print(f"data: {args.data} ({checkup.items:,} items after planting), backbone {checkup.backbone}, {seconds:.1f} s "
          "(the feature pass of the copy included)")
    print(f"flipped labels: {len(flipped)}; label issues flagged: {len(suspects)}; recall {len(caught) / len(flipped):.1%}, "
          f"precision {len(caught) / max(len(suspects), 1):.1%} (the other flags include the original data's own "
          "doubtful labels)")
    for exact in (True, False):
        kind = [pair for pair, is_exact in planted.items() if is_exact == exact]
        hit = sum(pair in found_pairs for pair in kind)
        print(f"{'exact' if exact else 'near'} copies: {len(kind)}; found {hit} ({hit / max(len(kind), 1):.1%})")
    print(f"planted pairs across training and validation: {across}; flagged across: "
          f"{sum(1 for d in checkup.duplicates if d['across'] and frozenset(d['items']) in planted)}")
    spec = backbones.get(checkup.backbone)
    feature_set = features.load_or_compute(report, spec, out / "cache", pick_device("auto"))
    items = report.train + report.val
    unit = feature_set.rows(items).double().numpy()
    unit /= np.linalg.norm(unit, axis=1, keepdims=True)
    index = {key: n for n, (key, _) in enumerate(items)}
    near = [float(unit[index[a]] @ unit[index[b]]) for a, b, exact in pairs if not exact]
    similarity = unit @ unit.T
    np.fill_diagonal(similarity, -1)
    for a, b, _ in pairs:
        similarity[index[a], index[b]] = similarity[index[b], index[a]] = -1
    print(f"near copies' similarity: min {min(near):.4f}, median {np.median(near):.4f}; highest of two unplanted "
          f"items: {similarity.max():.4f}; NEAR = {doctor.NEAR}")
    print(f"outliers flagged: {len(checkup.outliers)}; duplicates flagged in all: {len(checkup.duplicates)}")


if __name__ == "__main__":
    main()
