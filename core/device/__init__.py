"""Where training runs: the fastest device present (CUDA with mixed precision, Apple MPS, else the CPU; this
file) and several processes, GPUs or machines (distributed.py, started by torchrun)."""

from __future__ import annotations

import ctypes
import platform
import sys

import torch

from core.errors import UserError
from core.i18n import _, lazy, ngettext


def pick_device(requested: str = "auto") -> torch.device:
    """Return the device to train on; ``requested`` is auto, cpu, cuda or mps."""
    if requested == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if requested == "cuda" and not torch.cuda.is_available():
        raise UserError(lazy("CUDA was requested but no NVIDIA GPU is usable here."),
                        lazy("Use device 'auto' or 'cpu'."))
    if requested == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise UserError(lazy("MPS was requested but Apple's GPU backend is not available here."),
                        lazy("Use device 'auto' or 'cpu'."))
    if requested not in {"cpu", "cuda", "mps"}:
        raise UserError(lazy("Unknown device '{device}'.", device=requested), lazy("Choose auto, cpu, cuda or mps."))
    return torch.device(requested)


def describe_device(device: torch.device) -> str:
    """A short name, e.g. 'CPU (2 threads)' or 'CUDA: NVIDIA H100', the same in every language: a run's
    config.json and events keep it, and measured speeds are filed under it. For a page, ``device_label``."""
    if device.type == "cuda":
        return f"CUDA: {torch.cuda.get_device_name(device)}"
    if device.type == "mps":
        return "Apple GPU (MPS)"
    return f"CPU ({torch.get_num_threads()} threads)"


def device_label(device: torch.device) -> str:
    """``describe_device`` in the current language, to show: 'CPU（2 个线程）'."""
    if device.type == "cuda":
        return f"CUDA: {torch.cuda.get_device_name(device)}"
    if device.type == "mps":
        return _("Apple GPU (MPS)")
    return ngettext("CPU ({n} thread)", "CPU ({n} threads)", torch.get_num_threads())


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


M_TRIM_THRESHOLD, M_MMAP_THRESHOLD, M_ARENA_MAX = -1, -3, -8  # glibc's mallopt parameters (malloc.h)
LARGEST_HEAP_BLOCK = 32 * 1024 * 1024        # glibc's ceiling for the mmap threshold on 64-bit machines


def keep_freed_memory() -> bool:
    """For a process that trains or computes features: let glibc's malloc keep freed memory for the next
    batch instead of handing it back to the system and faulting it in again. A CNN's activations are
    tens of MB per batch; by default each is a fresh mmap (or a heap trimmed after every batch), and on
    a 2-core CPU that kernel work took half the time: EfficientNet-Lite0's forward pass went from about
    43 to about 68 images/s at batch 16 (bench/first_chart.py). The cost: the process keeps its peak
    memory until it exits. One arena for every thread: a thread's own arena is made of 64 MB heaps that
    these thresholds do not govern (the background feature pass, core/worker.py, runs in a thread: 47
    against 67 images/s). Linux with glibc only (True when applied)."""
    if not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc":
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        return all(libc.mallopt(parameter, value) == 1 for parameter, value in (
            (M_MMAP_THRESHOLD, LARGEST_HEAP_BLOCK), (M_TRIM_THRESHOLD, 1 << 30), (M_ARENA_MAX, 1)))
    except (OSError, AttributeError):
        return False


CPU_IMAGE_FEATURE_BATCH = 16  # 224 px CNN activations of 16 images stay under LARGEST_HEAP_BLOCK


def feature_batch_size(requested: int, modality: str, device: torch.device) -> int:
    """Examples per batch of a feature pass (no gradients: the batch size changes nothing but speed); applied
    by features.compute_features, so every pass (runs, the domain gap, embedding maps) gets it.
    On a CPU, images go 16 at a time so that each activation fits in malloc's reusable heap (see
    keep_freed_memory): 66 against 47 images/s for 32 at a time with EfficientNet-Lite0 on 2 cores."""
    if device.type == "cpu" and modality == "image":
        return max(1, min(requested, CPU_IMAGE_FEATURE_BATCH))
    return requested
