"""Benchmark: TransferLab's training loop and feature pass against a bare PyTorch loop, examples/s.

    python bench/throughput.py [--device auto|cpu|cuda] [--batches 20] [--repeats 2]
                               [--modality image,text] [--parts fine_tune,features] [--compile]

Same model (the strategy's own build: EfficientNet-Lite0 for images, all-MiniLM-L6-v2 for texts), same
data (the bundled MNIST sample at the backbone's 224 px; the real SMS Spam Collection, or BBC News
without bench/requirements.txt), same batch size, same optimizer and learning rates, same BatchNorm
handling (the fine-tuning recipe keeps the pretrained statistics), same mixed precision (bfloat16 on
GPUs that have it, none on CPU).
- fine-tuning: `train.fit` (run folder, events, stop checks, checkpoints and all) against a loop of
  zero_grad / forward / loss / backward / step over a shuffled DataLoader. Timed from the start of the
  second batch to the start of batch N+2 (the first batch warms up allocators and kernels), the device
  synchronised at both ends only.
- features: `features.compute_features` (on a CPU through core/backbones/engine.py's inference engine, exported in an
  untimed warm-up) against a plain `model.eval()` pass under inference_mode; on a CPU also ours on PyTorch
  (TRANSFERLAB_ENGINE=torch) and a bare onnxruntime loop over the same export (what a plain script would do).
Runs alternate (ours, bare, ours, bare...) and the median of each is printed, with the ratio
(target: ours at least 0.9x the bare loop). Texts: the bare loop pads each batch to its longest text
in random order; ours groups texts of similar length (core/loaders.py), so ours may beat it.
--compile also times the bare loop through torch.compile (compiled during the untimed warm-up batch).
On a GPU this is the GPU benchmark: `python bench/throughput.py --device cuda --batches 100 --compile`.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402
from torch import nn  # noqa: E402
from torch.utils.data import DataLoader  # noqa: E402

from core import backbones, data, features, loaders, strategies, train  # noqa: E402
from core.backbones import engine
from core.config import TrainConfig  # noqa: E402
from core.device import autocast, describe_device, pick_device  # noqa: E402


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


class Clock:
    """Called at the top of every batch: starts at batch 2, stops (returns True) at batch N+2."""

    def __init__(self, device: torch.device, batches: int, batch_size: int) -> None:
        self.device, self.batches, self.batch_size, self.calls = device, batches, batch_size, 0
        self.started = self.ended = None

    def __call__(self) -> bool:
        self.calls += 1
        if self.calls == 2:
            synchronize(self.device)
            self.started = time.perf_counter()
        if self.calls == self.batches + 2:
            synchronize(self.device)
            self.ended = time.perf_counter()
            return True
        return False

    @property
    def rate(self) -> float:
        if self.ended is None:
            raise SystemExit(f"the data gave fewer than {self.batches + 2} batches; use --batches lower")
        return self.batches * self.batch_size / (self.ended - self.started)


def config_for(modality: str, path: str, device: torch.device, workspace: Path) -> TrainConfig:
    backbone = "efficientnet_lite0" if modality == "image" else "all_minilm_l6_v2"
    return TrainConfig.for_strategy(path, "fine_tune", backbone=backbone, epochs=1, patience=0,
                                    device=device.type, out_dir=str(workspace / "runs"),
                                    cache_dir=str(workspace / "cache"))


def ours_fine_tune(config: TrainConfig, device: torch.device, batches: int) -> float:
    clock = Clock(device, batches, config.batch_size)
    train.fit(config, should_stop=clock)
    return clock.rate


def bare_fine_tune(config: TrainConfig, report, device: torch.device, batches: int,
                   layout: bool = False, compiled: bool = False) -> float:
    """``layout``: model and images in channels-last memory layout, as ours (else as a plain script);
    ``compiled``: the model through torch.compile (its compilation happens in the warm-up batch, untimed)."""
    strategy, spec = strategies.get(config.strategy), backbones.get(config.backbone)
    torch.manual_seed(config.seed)
    model = strategy.build(spec, len(report.classes), dropout=config.head_dropout).to(device)
    if layout:
        model = model.to(memory_format=torch.channels_last)
    groups = strategy.parameter_groups(model, config)
    if compiled:
        model = torch.compile(model)
    optimizer = (torch.optim.SGD(groups, lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay)
                 if config.optimizer == "sgd" else torch.optim.AdamW(groups, lr=config.lr,
                                                                     weight_decay=config.weight_decay))
    loader = bare_loader(report, report.train, spec, config, train=True)
    model.train()
    strategy.train_mode(model, config)  # the recipe's frozen BatchNorm statistics, as ours
    clock = Clock(device, batches, config.batch_size)
    for inputs, labels in loader:
        if clock():
            break
        inputs, labels = on_device(inputs, device, layout), labels.to(device)
        with autocast(device):
            logits = model(*inputs) if isinstance(inputs, tuple) else model(inputs)
        loss = nn.functional.cross_entropy(logits.float(), labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return clock.rate


def on_device(inputs, device: torch.device, layout: bool = False):
    if isinstance(inputs, (tuple, list)):
        return tuple(x.to(device) for x in inputs)
    return inputs.to(device, memory_format=torch.channels_last) if layout else inputs.to(device)


def bare_loader(report, items, spec, config: TrainConfig, train: bool) -> DataLoader:
    """What a plain script uses: the same transform or tokenizer, a DataLoader, nothing else."""
    if report.modality == "text":
        from core.backbones.text_backbones import tokenizer_for

        collate = loaders.Tokenize(tokenizer_for(spec), loaders.usable_length(spec, config.max_length))
        return DataLoader(loaders.TextListDataset(report.texts, items), batch_size=config.batch_size, shuffle=train,
                          collate_fn=collate, generator=torch.Generator().manual_seed(config.seed))
    transform = loaders.train_transform(spec, config.augment, config.horizontal_flip) if train \
        else loaders.eval_transform(spec)
    return DataLoader(loaders.ImageListDataset(report.root, items, transform), batch_size=config.batch_size,
                      shuffle=train, num_workers=loaders.worker_count(len(items)),
                      generator=torch.Generator().manual_seed(config.seed))


def ours_features(config: TrainConfig, report, device: torch.device, engine_name: str = "") -> float:
    """``features.compute_features`` as a run calls it: on a CPU through core/backbones/engine.py's engine (exported once
    into the workspace's cache before the timing: the untimed warm-up), or ``engine_name`` ("torch": PyTorch)."""
    import os

    spec = backbones.get(config.backbone)
    previous = os.environ.get("TRANSFERLAB_ENGINE")
    if engine_name:
        os.environ["TRANSFERLAB_ENGINE"] = engine_name
    try:
        warm_up = report.at_most_per_class(1, 0)
        warm_up.val, warm_up.set_aside = [], []
        features.compute_features(warm_up, spec, device, 32, max_length=config.max_length, cache_dir=config.cache_dir)
        synchronize(device)
        started = time.perf_counter()
        features.compute_features(report, spec, device, 32, max_length=config.max_length, cache_dir=config.cache_dir)
        synchronize(device)
        return len(report.all_items()) / (time.perf_counter() - started)
    finally:
        if previous is None:
            os.environ.pop("TRANSFERLAB_ENGINE", None)
        else:
            os.environ["TRANSFERLAB_ENGINE"] = previous


def bare_onnxruntime(config: TrainConfig, report, workspace: Path) -> float:
    """What a plain script does with an inference engine: the backbone exported to ONNX (untimed), then
    onnxruntime over a DataLoader of the same transform or tokenizer, batch 32."""
    import numpy as np
    import onnxruntime

    spec = backbones.get(config.backbone)
    model = backbones.create_backbone(spec, pretrained=True).eval()
    loader = bare_loader(report, report.all_items(), spec, TrainConfig(**{**config.to_dict(), "batch_size": 32}),
                         train=False)
    example = next(iter(loader))[0]
    inputs = tuple(example) if isinstance(example, (tuple, list)) else (example,)
    names = ["pixels"] if len(inputs) == 1 else ["input_ids", "attention_mask"]
    path = workspace / f"bare-{spec.name}.onnx"
    with torch.no_grad():
        torch.onnx.export(model, inputs, str(path), dynamo=False, input_names=names, output_names=["features"],
                          dynamic_axes={name: {0: "batch", 1: "tokens"} if len(inputs) > 1 else {0: "batch"}
                                        for name in names}, opset_version=17)
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = torch.get_num_threads()
    session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    started = time.perf_counter()
    for batch, _ in loader:
        arrays = tuple(batch) if isinstance(batch, (tuple, list)) else (batch,)
        session.run(None, {name: np.ascontiguousarray(x.numpy()) for name, x in zip(names, arrays)})
    return len(report.all_items()) / (time.perf_counter() - started)


@torch.inference_mode()
def bare_features(config: TrainConfig, report, device: torch.device) -> float:
    spec = backbones.get(config.backbone)
    model = backbones.create_backbone(spec, pretrained=True).eval().to(device)
    loader = bare_loader(report, report.all_items(), spec, TrainConfig(**{**config.to_dict(), "batch_size": 32}),
                         train=False)
    synchronize(device)
    started = time.perf_counter()
    for inputs, _ in loader:
        inputs = on_device(inputs, device)
        with autocast(device):
            (model(*inputs) if isinstance(inputs, tuple) else model(inputs)).float().cpu()
    synchronize(device)
    return len(report.all_items()) / (time.perf_counter() - started)


def text_data(scratch: Path) -> tuple[str, str]:
    from bench.text_transfer import default_data

    return default_data(scratch)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--batches", type=int, default=20, help="timed fine-tuning batches per run")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--modality", default="image,text")
    parser.add_argument("--parts", default="fine_tune,features")
    parser.add_argument("--compile", action="store_true",
                        help="also time the bare loop with torch.compile (does compiling pay here?)")
    parser.add_argument("--feature-items", type=int, default=640, help="examples in the timed feature pass")
    args = parser.parse_args()
    from core.device import keep_freed_memory

    keep_freed_memory()  # as every python -m core process does (both loops benefit alike)
    device = pick_device(args.device)
    print(f"device: {describe_device(device)}; torch {torch.__version__}")
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        workspace = Path(scratch)
        for modality in args.modality.split(","):
            path, what = ("sample:mnist", "the bundled MNIST sample (1,000 digits) at 224 px") \
                if modality == "image" else text_data(workspace)
            config = config_for(modality, path, device, workspace)
            report = data.load_dataset(config.data, config.val_fraction, config.seed)
            print(f"\n{modality}: {what}; {config.backbone}, batch {config.batch_size}, {config.optimizer}")
            if "fine_tune" in args.parts:
                mine, bare, laid, compiled = [], [], [], []
                for _ in range(args.repeats):
                    mine.append(ours_fine_tune(config, device, args.batches))
                    bare.append(bare_fine_tune(config, report, device, args.batches))
                    line = f"  fine-tuning: ours {mine[-1]:.1f}/s, bare loop {bare[-1]:.1f}/s"
                    if modality == "image":
                        laid.append(bare_fine_tune(config, report, device, args.batches, layout=True))
                        line += f", bare loop in channels-last {laid[-1]:.1f}/s"
                    if args.compile:
                        compiled.append(bare_fine_tune(config, report, device, args.batches, layout=True,
                                                       compiled=True))
                        line += f", bare loop compiled {compiled[-1]:.1f}/s"
                    print(line, flush=True)
                rows.append((modality, "fine-tuning", statistics.median(mine), statistics.median(bare)))
                if compiled:
                    rows.append((modality, "fine-tuning vs a compiled bare loop", statistics.median(mine),
                                 statistics.median(compiled)))
                if laid:
                    rows.append((modality, "fine-tuning vs a channels-last bare loop", statistics.median(mine),
                                 statistics.median(laid)))
            if "features" in args.parts:
                subset = report.at_most_per_class(max(1, args.feature_items // len(report.classes)), config.seed)
                subset.val, subset.set_aside = [], []
                mine, bare, plain, engine_bare = [], [], [], []
                on_cpu = device.type == "cpu"
                for _ in range(args.repeats):
                    mine.append(ours_features(config, subset, device))
                    bare.append(bare_features(config, subset, device))
                    line = f"  feature pass ({len(subset.all_items())}): ours {mine[-1]:.1f}/s, bare {bare[-1]:.1f}/s"
                    if on_cpu:
                        plain.append(ours_features(config, subset, device, "torch"))
                        engine_bare.append(bare_onnxruntime(config, subset, workspace))
                        line += f", ours on PyTorch {plain[-1]:.1f}/s, bare onnxruntime {engine_bare[-1]:.1f}/s"
                    print(line, flush=True)
                what = f"feature pass ({engine.chosen()})" if on_cpu else "feature pass"
                rows.append((modality, what, statistics.median(mine), statistics.median(bare)))
                if on_cpu:
                    rows.append((modality, f"feature pass ({engine.chosen()}) vs a bare onnxruntime loop",
                                 statistics.median(mine), statistics.median(engine_bare)))
                    rows.append((modality, "feature pass on PyTorch (TRANSFERLAB_ENGINE=torch)",
                                 statistics.median(plain), statistics.median(bare)))
    print("\n| data | what | ours (examples/s) | bare loop | ours / bare |\n|---|---|---|---|---|")
    for modality, what, mine, bare in rows:
        print(f"| {modality} | {what} | {mine:.1f} | {bare:.1f} | {mine / bare:.2f}x |")


if __name__ == "__main__":
    main()
