"""How fast is a backbone on *this* machine? Measured once, remembered in the cache folder."""

from __future__ import annotations

import json
import time
from pathlib import Path

import torch

from core import storage
from core.backbones import BackboneSpec, create_backbone
from core.device import describe_device
from core.errors import UserError
from core.i18n import lazy


def _store(cache_dir: str | Path) -> Path:
    return Path(cache_dir) / "speed.json"


def _key(spec: BackboneSpec, device: torch.device) -> str:
    # describe_device is the same in every language: a speed measured under one is found under another
    return f"{spec.name}|{describe_device(device)}"


def known_speed(spec: BackboneSpec, device: torch.device, cache_dir: str | Path) -> float | None:
    """Milliseconds per image measured earlier on this device, or None."""
    path = _store(cache_dir)
    return json.loads(path.read_text()).get(_key(spec, device)) if path.is_file() else None


@torch.inference_mode()
def measure_speed(spec: BackboneSpec, device: torch.device, cache_dir: str | Path, batch_size: int = 8) -> float:
    """Inference milliseconds per image or 128-token text (random weights: the speed is the same)."""
    model = create_backbone(spec, pretrained=False).eval().to(device)
    if spec.modality == "text":  # 128-token texts
        ids = torch.randint(1000, 2000, (batch_size, 128), device=device)
        inputs = (ids, torch.ones_like(ids))
    else:
        images = torch.randn(batch_size, 3, spec.input_size, spec.input_size, device=device)
        if device.type == "cpu":
            model, images = model.to(memory_format=torch.channels_last), images.contiguous(memory_format=torch.channels_last)
        inputs = (images,)
    model(*inputs)  # warm-up: first calls pick kernels
    started, repeats = time.perf_counter(), 0
    while repeats < 2 or time.perf_counter() - started < 1.0:
        model(*inputs)
        repeats += 1
    if device.type == "cuda":
        torch.cuda.synchronize()
    milliseconds = (time.perf_counter() - started) / (repeats * batch_size) * 1000
    path = _store(cache_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    known = json.loads(path.read_text()) if path.is_file() else {}
    before = known.get(_key(spec, device))  # the fastest seen: a slower one measured the machine's load (a
    milliseconds = min(milliseconds, before) if isinstance(before, (int, float)) else milliseconds  # run beside)
    known[_key(spec, device)] = round(milliseconds, 2)
    try:
        storage.write_atomically(path, json.dumps(known, indent=2), lazy("the measured speeds"))
    except UserError:
        pass  # a full disk: the speed is shown now and measured again next time
    return milliseconds
