"""Frozen passes on an inference engine: a pretrained backbone's forward pass on a CPU, without PyTorch.

Most of what TransferLab does on a laptop is a frozen network's forward pass (the features of the data and
of a target, the domain gap, the doctor, embedding maps). PyTorch runs it as eagerly as it trains; an
inference engine compiles the graph for this CPU first. Measured on 2 cores (bench/README.md, "Feature
pass"): EfficientNet-Lite0 55 images/s in PyTorch, 134 in onnxruntime, 160 in OpenVINO; all-MiniLM-L6-v2
40, 48 and 58 texts/s; the same features to 1e-5.

- the backbone is exported once to ONNX (``torch.onnx``), kept under ``<cache_dir>/engines/`` beside the
  feature cache (or ``TRANSFERLAB_ENGINES``) and keyed like it (backbone, source, its weights, its preprocessing) and by torch's
  version; the export is checked against PyTorch on the example batch it was traced with (largest
  difference at most ``TOLERANCE``) before it is kept;
- it runs on OpenVINO when that is installed, else onnxruntime (both CPU, 32-bit floats: OpenVINO would
  otherwise choose bfloat16 on CPUs that have it, 0.1 away); ``TRANSFERLAB_ENGINE`` (``openvino``,
  ``onnxruntime``, ``torch``) forces one;
- used by every frozen pass of a pretrained backbone: ``features.compute_features`` (the feature cache, the
  views, a target, the domain gap, the doctor, embedding maps) and a feature-extraction run's predictions
  (``inference.Predictor``: Try it, ``python -m core predict``);
- PyTorch stays for training, for gradients (Grad-CAM, token importance), for a backbone given as a
  module (a fine-tuned one), and on GPUs. A backbone that does not export, or whose export disagrees,
  falls back to PyTorch, and ``pass_for`` says why once per backbone and process.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from core.i18n import Text, lazy

ENGINES = ("openvino", "onnxruntime")   # preferred first
FORMAT = 1                              # the export's layout: a change exports again
TOLERANCE = 1e-4                        # largest difference from PyTorch on the traced batch


@dataclass
class Engine:
    """One backbone's compiled pass: ``run(inputs)`` takes the loader's batch as numpy arrays (images
    [N, 3, H, W] float32; texts input_ids and attention_mask, int64) and gives features [N, D] float32."""

    name: str                                   # openvino | onnxruntime
    path: Path
    run: Callable[[tuple[np.ndarray, ...]], np.ndarray]
    exported: bool                              # exported now (not read from the engines folder)

    def __call__(self, inputs) -> torch.Tensor:
        arrays = tuple(np.ascontiguousarray(x.numpy()) for x in (inputs if isinstance(inputs, (tuple, list))
                                                                  else (inputs,)))
        return torch.from_numpy(np.asarray(self.run(arrays), np.float32))


_compiled: dict[tuple[str, str], Engine | None] = {}   # None: it failed here; PyTorch runs it in this process
_lock = threading.Lock()
_said: set[str] = set()


def chosen() -> str:
    """The engine this process uses for frozen passes on a CPU: ``TRANSFERLAB_ENGINE``, else the first of
    ``ENGINES`` that imports; "torch" when none does."""
    forced = os.environ.get("TRANSFERLAB_ENGINE", "").strip().lower()
    if forced in ("torch", "pytorch"):
        return "torch"
    for name in ([forced] if forced in ENGINES else list(ENGINES)):
        try:
            __import__(name)
            return name
        except ImportError:
            continue
    return "torch"


def engine_path(cache_dir: str | Path, spec, max_length: int) -> Path:
    """Where ``spec``'s export lives: keyed by what decides what it computes, as the feature cache is."""
    identity = {"backbone": spec.name, "source": spec.source, "preprocessing": spec.preprocessing(),
                "weights": spec.weights_id, "torch": torch.__version__, "format": FORMAT}
    if spec.modality == "text":
        identity["max_length"] = max_length
    key = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:24]
    folder = spec.name.replace("/", "--").replace(":", "-")
    root = Path(os.environ["TRANSFERLAB_ENGINES"]) if os.environ.get("TRANSFERLAB_ENGINES") \
        else Path(cache_dir) / "engines"
    return root / folder / f"{key}.onnx"


def pass_for(spec, device: torch.device, cache_dir: str | Path | None, example, max_length: int = 128,
             on_notice: Callable[[Text], None] | None = None) -> Engine | None:
    """The engine for a frozen pass of ``spec``'s pretrained backbone on ``device``, exported now from
    ``example`` (the pass's first batch, as the loader gives it) if it is not in ``cache_dir`` yet; None
    where PyTorch runs the pass (a GPU, ``TRANSFERLAB_ENGINE=torch``, no engine installed, or an export
    that failed or disagreed: ``on_notice`` hears that once per backbone and process)."""
    name = chosen()
    if device.type != "cpu" or name == "torch" or not spec.pretrained:
        return None
    from core import paths

    path = engine_path(cache_dir or paths.cache_dir(), spec, max_length)
    key = (name, str(path))
    with _lock:
        if key in _compiled:  # compiled before, or failed before (not tried again in this process)
            return _compiled[key]
        try:
            model = None if path.is_file() else _export(spec, path, example)
            engine = Engine(name, path, _compile(name, path), model is not None)
            if model is not None:
                _check(model, engine, example)
        except Exception as error:  # the export or the engine failed: PyTorch runs it, said once
            path.unlink(missing_ok=True)
            _compiled[key] = engine = None
            if on_notice and spec.name not in _said:
                _said.add(spec.name)
                on_notice(lazy("{backbone} runs on PyTorch here ({engine} could not run it: {problem}); the features "
                               "are the same, only slower.", backbone=spec.title_text, engine=name,
                               problem=f"{type(error).__name__}: {str(error)[:160]}"))
        else:
            _compiled[key] = engine
        return engine


def _inputs(example) -> tuple[torch.Tensor, ...]:
    return tuple(example) if isinstance(example, (tuple, list)) else (example,)


def _export(spec, path: Path, example) -> torch.nn.Module:
    """Export the pretrained backbone to ``path`` (written beside it, then renamed: never half a file); the
    backbone it exported."""
    import warnings

    from core import storage
    from core.backbones import create_backbone

    inputs = tuple(x.contiguous() for x in _inputs(example))
    names = ["pixels"] if len(inputs) == 1 else ["input_ids", "attention_mask"]
    axes = {names[0]: {0: "batch"}} if len(inputs) == 1 else {n: {0: "batch", 1: "tokens"} for n in names}
    model = create_backbone(spec, pretrained=True).eval()
    with storage.guard(lazy("the inference engine's copy of the backbone"), path.parent, 64 << 20):
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.partial")
        try:
            with torch.no_grad(), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                torch.onnx.export(model, inputs, str(partial), dynamo=False, input_names=names,
                                  output_names=["features"], dynamic_axes={**axes, "features": {0: "batch"}},
                                  opset_version=17)
            os.replace(partial, path)
        finally:
            partial.unlink(missing_ok=True)
    return model


def _compile(name: str, path: Path) -> Callable[[tuple[np.ndarray, ...]], np.ndarray]:
    threads = max(1, torch.get_num_threads())
    if name == "openvino":
        import openvino

        core = openvino.Core()
        compiled = core.compile_model(core.read_model(str(path)), "CPU",
                                      {"INFERENCE_NUM_THREADS": threads, "INFERENCE_PRECISION_HINT": "f32"})
        local = threading.local()  # an infer request per thread (a background pass and a run's own)

        def run(arrays: tuple[np.ndarray, ...]) -> np.ndarray:
            if not hasattr(local, "request"):
                local.request = compiled.create_infer_request()
            return local.request.infer(dict(enumerate(arrays)))[0].copy()
        return run
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.log_severity_level = 3
    session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    names = [node.name for node in session.get_inputs()]
    return lambda arrays: session.run(None, dict(zip(names, arrays)))[0]


def _check(model: torch.nn.Module, engine: Engine, example, rows: int = 4) -> None:
    """The export against PyTorch on the first ``rows`` examples of the batch it was traced with (a few: the
    PyTorch pass costs as much as a batch of the engine's); raises beyond ``TOLERANCE`` (pass_for then removes
    the file)."""
    few = tuple(x[:rows] for x in _inputs(example))
    with torch.inference_mode():
        expected = model(*few).float()
    difference = float((engine(few if len(few) > 1 else few[0]) - expected).abs().max())
    if not difference <= TOLERANCE:
        raise ValueError(f"its features differ from PyTorch's by {difference:.2g}")
