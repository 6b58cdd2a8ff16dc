"""Benchmark: does the dataset doctor find label errors and duplicates planted on purpose?

    python bench/doctor.py [--data sample:mnist] [--flip 0.05] [--copies 40] [--seed 0]

Copies the data (an ImageFolder, or a table of texts), flips the labels of a seeded ``--flip`` share of the
items (each to another class, uniformly) and adds ``--copies`` duplicates of other items under new names:
half exact copies, half near copies (images: saved again 1.5x larger as a JPEG, quality 80; texts: the
first sentence dropped, or a word changed when there is one sentence). Then `doctor.examine` on the copy and
prints: recall of the flipped labels among the label issues (and the precision of those issues), recall of
the planted duplicates (exact and near) and how many of them the split put across training and validation,
the pairs flagged that were not planted (the original data's own duplicates, or false alarms), and the time.
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

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core import data, doctor  # noqa: E402
from core.device import keep_freed_memory  # noqa: E402


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
            picture = Image.open(root / key).convert("RGB")  # the same picture saved again: larger, as a JPEG
            picture.resize((picture.width * 3 // 2, picture.height * 3 // 2), Image.BICUBIC).save(root / name, quality=80)
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
    unplanted = [d for d in checkup.duplicates if frozenset(d["items"]) not in planted]
    kinds = {by: sum(d["by"] == by for d in unplanted) for by in ("bytes", "pixels", "text", "features")}
    print(f"pairs flagged that were not planted: {len(unplanted)} ({', '.join(f'{k} {n}' for k, n in kinds.items() if n)}"
          f"{'' if unplanted else 'none'}): the original data's own copies, or false alarms")
    print(f"outliers flagged: {len(checkup.outliers)}; duplicates flagged in all: {len(checkup.duplicates)}")


if __name__ == "__main__":
    main()
