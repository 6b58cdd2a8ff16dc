"""Reading one image file the same way everywhere: decode, orient, convert to 8-bit RGB."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from core.i18n import Text, lazy

IMAGE_EXTENSIONS = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff"}


def to_rgb(image: Image.Image) -> Image.Image:
    """Any Pillow mode to 8-bit RGB: 16-bit and float scaled (not clipped), transparency over white."""
    if image.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        values = np.asarray(image, dtype=np.float64)
        if image.mode == "F":
            low, high = float(values.min()), float(values.max())
            values = (values - low) / (high - low or 1.0) * 255.0
        elif values.max() > 255:  # 16-bit data: 0..65535 -> 0..255
            values = values / 257.0
        image = Image.fromarray(np.clip(values, 0, 255).astype(np.uint8), mode="L")
    if image.mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    if image.mode in ("RGBA", "LA", "PA", "La", "RGBa"):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, rgba)
    return image.convert("RGB") if image.mode != "RGB" else image


def load_rgb(path: str | Path, max_side: int | None = None) -> Image.Image:
    """Decode an image file to RGB, respecting EXIF orientation.

    ``max_side`` lets JPEG decoding skip detail it would throw away (for thumbnails).
    """
    with Image.open(path) as image:
        if max_side:
            image.draft("RGB", (max_side, max_side))
        image.load()
        oriented = ImageOps.exif_transpose(image)
        return to_rgb(oriented if oriented is not None else image)


def thumbnail(path: str | Path, size: int = 96) -> Image.Image:
    image = load_rgb(path, max_side=size * 2)
    image.thumbnail((size, size))
    return image


UNREADABLE = "not a readable image ({error})"   # probe's reason for a file Pillow cannot open


def probe(path: str | Path) -> Text | None:
    """None if the file opens as an image, else a short reason why not, as a lazy Text (read the header only)."""
    try:
        with Image.open(path) as image:
            width, height = image.size
            if width < 1 or height < 1:
                return lazy("the image has no pixels")
            image.verify()  # checks structure and checksums where the format has them (PNG), cheaply
    except Image.DecompressionBombError:
        return lazy("the image is too large to decode safely")
    except Exception as error:  # Pillow raises many types for broken files
        return lazy("not a readable image ({error})", error=type(error).__name__)
    return None
