"""Pick the fastest device present: CUDA (with mixed precision), Apple MPS, else the CPU."""

from __future__ import annotations

import torch

from core.errors import UserError


def pick_device(requested: str = "auto") -> torch.device:
    """Return the device to train on; ``requested`` is auto, cpu, cuda or mps."""
    if requested == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if requested == "cuda" and not torch.cuda.is_available():
        raise UserError("CUDA was requested but no NVIDIA GPU is usable here.", "Use device 'auto' or 'cpu'.")
    if requested == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise UserError("MPS was requested but Apple's GPU backend is not available here.", "Use device 'auto' or 'cpu'.")
    if requested not in {"cpu", "cuda", "mps"}:
        raise UserError(f"Unknown device {requested!r}.", "Choose auto, cpu, cuda or mps.")
    return torch.device(requested)


def describe_device(device: torch.device) -> str:
    """A short human name, e.g. 'CPU (2 threads)' or 'CUDA: NVIDIA H100'."""
    if device.type == "cuda":
        return f"CUDA: {torch.cuda.get_device_name(device)}"
    if device.type == "mps":
        return "Apple GPU (MPS)"
    return f"CPU ({torch.get_num_threads()} threads)"


def mixed_precision(device: torch.device) -> torch.dtype | None:
    """The autocast dtype on ``device``: bfloat16 on GPUs that have it (float32's range, so no loss
    scaling), float16 on older CUDA GPUs (with a GradScaler), None (plain float32) on CPU and MPS."""
    if device.type != "cuda":
        return None
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


def autocast(device: torch.device):
    """``with autocast(device):`` runs the forward pass in the device's mixed precision (or not at all)."""
    dtype = mixed_precision(device)
    return torch.autocast(device.type, dtype=dtype or torch.float32, enabled=dtype is not None)


def needs_loss_scaling(device: torch.device) -> bool:
    return mixed_precision(device) == torch.float16
