"""Image preprocessing as one torch module: raw 8-bit RGB pixels in, the backbone's input out.

The same module serves validation, the feature cache, the Predict page, and the exported model
(where it is part of the graph), so an exported model sees exactly what the app saw:

    uint8 [N, H, W, 3]  ->  shorter side resized to spec.resize_size (antialiased, spec's
    interpolation), centre crop spec.input_size, scaled to 0..1, normalised with spec.mean/std
    ->  float [N, 3, input_size, input_size]

Training augmentation (random crops, flips) stays in loaders.py; it is never exported.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from core.backbones import BackboneSpec


class ImagePreprocess(nn.Module):
    def __init__(self, resize_size: int, input_size: int, mean, std, interpolation: str = "bilinear") -> None:
        super().__init__()
        self.resize_size, self.input_size = int(resize_size), int(input_size)
        self.mode = "bicubic" if interpolation == "bicubic" else "bilinear"
        self.register_buffer("mean", torch.tensor(list(mean), dtype=torch.float32).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(list(std), dtype=torch.float32).view(1, 3, 1, 1))

    @classmethod
    def for_spec(cls, spec: BackboneSpec) -> "ImagePreprocess":
        return cls(spec.resize_size, spec.input_size, spec.mean, spec.std, spec.interpolation)

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        x = pixels.permute(0, 3, 1, 2).to(torch.float32) / 255.0
        height, width = x.shape[-2], x.shape[-1]
        shorter = torch.sym_min(height, width)
        new_height = self.resize_size * height // shorter
        new_width = self.resize_size * width // shorter
        x = F.interpolate(x, size=(new_height, new_width), mode=self.mode, align_corners=False, antialias=True)
        top, left = (new_height - self.input_size) // 2, (new_width - self.input_size) // 2
        # index_select, not slicing: the crop's size stays a known constant when the graph is exported
        # with a dynamic H and W (a slice with a computed start has a size the exporter cannot prove)
        offsets = torch.arange(self.input_size, device=x.device)
        x = x.index_select(2, offsets + top).index_select(3, offsets + left)
        if self.mode == "bicubic":
            x = x.clamp(0.0, 1.0)  # bicubic overshoots; pixels stay pixels
        return (x - self.mean) / self.std

    def describe(self) -> dict:
        return {"input": "uint8 RGB [N, H, W, 3], any H and W", "resize_shorter_side": self.resize_size,
                "interpolation": self.mode, "antialias": True, "center_crop": self.input_size,
                "scale": "1/255", "mean": self.mean.flatten().tolist(), "std": self.std.flatten().tolist()}


def pixels(image: Image.Image) -> torch.Tensor:
    """A decoded RGB image as uint8 [H, W, 3]."""
    return torch.from_numpy(np.asarray(image.convert("RGB"), dtype=np.uint8).copy())


class EvalTransform:
    """PIL image -> normalised [3, S, S] through ImagePreprocess (a Dataset transform)."""

    def __init__(self, spec: BackboneSpec) -> None:
        self.module = ImagePreprocess.for_spec(spec)

    @torch.no_grad()
    def __call__(self, image: Image.Image) -> torch.Tensor:
        return self.module(pixels(image)[None])[0]
