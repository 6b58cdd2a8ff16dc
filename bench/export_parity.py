"""Benchmark: export a trained run, check parity, and time prediction in the app vs the export.

    python bench/export_parity.py [--data sample:mnist|sample:bbc|PATH] [--out bench/out]

Trains feature extraction (EfficientNet-Lite0 for images, MiniLM for texts), exports it, and prints:
export time, parity on the whole validation split (labels agree, largest probability difference),
and milliseconds per input for the in-app PyTorch model and for the exported ONNX model.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.checks import report as checks_report  # noqa: E402
from core.config import TrainConfig  # noqa: E402
from core.data import modality_of  # noqa: E402
from core.inference.export import export_run, validation_inputs  # noqa: E402
from core.inference import load  # noqa: E402
from core.train import fit  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default="sample:mnist")
    parser.add_argument("--out", default="bench/out")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="transferlab-bench-export-"))
    backbone = "efficientnet_lite0" if modality_of(args.data) == "image" else "all_minilm_l6_v2"
    summary = fit(TrainConfig.for_strategy(args.data, "feature_extract", backbone=backbone,
                                           out_dir=str(scratch / "runs"), cache_dir=str(scratch / "cache")))
    print(f"trained: {args.data}, {backbone}, feature extraction, best val acc {summary['best_val_acc']:.3f}, "
          f"{summary['val_images']} validation examples, {summary['seconds']:.1f}s")
    started = time.perf_counter()
    result = export_run(summary["run_dir"], scratch / "export", check=False)
    export_seconds = time.perf_counter() - started
    print(f"export (ONNX + torch.export + files): {export_seconds:.1f}s; model.onnx "
          f"{(scratch / 'export' / 'model.onnx').stat().st_size / 1e6:.1f} MB")

    from core.inference.export import check_parity

    predictor = load(summary["run_dir"])
    inputs = validation_inputs(predictor)
    started = time.perf_counter()
    parity = check_parity(predictor, scratch / "export", inputs)
    parity_seconds = time.perf_counter() - started
    print(f"parity on {parity['examples']} validation examples: labels agree {parity['labels_agree']} "
          f"({parity['disagreements']} differ), largest probability difference "
          f"{parity['max_probability_difference']:.2e} ({parity_seconds:.1f}s for both models)")

    import numpy as np
    import onnxruntime

    session = onnxruntime.InferenceSession(str(scratch / "export" / "model.onnx"), providers=["CPUExecutionProvider"])
    sample = inputs[:50]
    started = time.perf_counter()
    predictor.predict_images(sample) if predictor.modality == "image" else predictor.predict_texts(sample, batch_size=1)
    torch_ms = (time.perf_counter() - started) / len(sample) * 1000
    started = time.perf_counter()
    for item in sample:
        if predictor.modality == "image":
            session.run(None, {"pixels": np.asarray(item, dtype=np.uint8)[None]})
        else:
            encoded = predictor.tokenize([item])
            session.run(None, {"input_ids": encoded["input_ids"].numpy(),
                               "attention_mask": encoded["attention_mask"].numpy()})
    onnx_ms = (time.perf_counter() - started) / len(sample) * 1000
    print(f"one input at a time: in-app PyTorch {torch_ms:.1f} ms, exported ONNX (onnxruntime) {onnx_ms:.1f} ms")
    results = {"data": args.data, "backbone": backbone, "best_val_acc": summary["best_val_acc"],
               "export_seconds": round(export_seconds, 2), "parity": parity, "torch_ms": round(torch_ms, 2),
               "onnx_ms": round(onnx_ms, 2), "files": result["files"]}
    checks = {"labels agree on every validation example": parity["labels_agree"],
              "largest probability difference < 1e-4": parity["max_probability_difference"] < 1e-4}
    checks_report(checks, results, Path(args.out), f"export_parity_{args.data.replace(':', '_').replace('/', '_')}")


if __name__ == "__main__":
    main()
