"""Tiny synthetic data and a tiny registered backbone, so tests run in seconds on a CPU."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn

from core import backbones

COLORS = {"red": (220, 30, 30), "blue": (30, 30, 220), "green": (30, 200, 30)}
TINY = "tiny_test"


def make_image(color: tuple[int, int, int], seed: int, size: int = 40) -> Image.Image:
    """A colored square with noise: easy to learn, not trivially identical."""
    rng = np.random.default_rng(seed)
    pixels = np.clip(np.array(color) + rng.normal(0, 25, (size, size, 3)), 0, 255).astype(np.uint8)
    return Image.fromarray(pixels)


def make_image_folder(root: Path, counts: dict[str, int], size: int = 40, fmt: str = "png") -> Path:
    """root/<class>/<i>.<fmt>, classes named after COLORS."""
    for name, count in counts.items():
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(count):
            make_image(COLORS[name], seed=hash((name, i)) % 10_000, size=size).save(root / name / f"{i:03d}.{fmt}")
    return root


def zip_folder(folder: Path, prefix: str = "", extra: dict[str, bytes] | None = None) -> bytes:
    """Zip every file under ``folder`` (names prefixed), plus ``extra`` raw entries."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, prefix + path.relative_to(folder).as_posix())
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
    return buffer.getvalue()


class TinyBackbone(nn.Module):
    """Mean color + a few conv features: enough to separate colored squares."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU())
        self.pool = nn.AdaptiveAvgPool2d(1)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.pool(self.conv(images)).flatten(1), images.mean((2, 3))], 1)


def _build_tiny(pretrained: bool) -> nn.Module:
    generator_state = torch.random.get_rng_state()
    torch.manual_seed(1234 if pretrained else 0)  # "pretrained" = the same fixed weights every time
    model = TinyBackbone()
    torch.random.set_rng_state(generator_state)
    return model


def register_tiny() -> backbones.BackboneSpec:
    return backbones.register(backbones.BackboneSpec(
        name=TINY, title="Tiny test backbone", modality="image", family="test", input_size=32, resize_size=36,
        mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5), feature_dim=11, num_params=248, gflops=0.0, source="builtin",
        summary="For tests.", build=_build_tiny,
        check_weights=lambda: backbones.Availability("local", "test weights")))
