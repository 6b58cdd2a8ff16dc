"""Tiny synthetic data and a tiny registered backbone, so tests run in seconds on a CPU."""

from __future__ import annotations

import io
import time
import zipfile
import zlib
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn

from core import backbones

COLORS = {"red": (220, 30, 30), "blue": (30, 30, 220), "green": (30, 200, 30)}
TINY = "tiny_test"


def wait_for(condition, seconds: float = 90.0, what: str = "condition") -> None:
    """Poll ``condition`` until it holds: tests wait for the event they need, never a guessed time."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


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
            # crc32, not hash(): Python salts str hashes per process, which made every run's images differ
            make_image(COLORS[name], seed=zlib.crc32(f"{name}:{i}".encode()) % 10_000, size=size).save(
                root / name / f"{i:03d}.{fmt}")
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


TINY_BERT = "tiny_bert_test"
POSITIVE = ["good", "great", "fine", "lovely", "happy", "superb", "nice", "excellent"]
NEGATIVE = ["bad", "awful", "poor", "sad", "terrible", "horrible", "nasty", "dreadful"]


def make_text_rows(per_class: int = 20, seed: int = 0) -> list[tuple[str, str]]:
    """(text, label) pairs that a tiny model can learn: the label is in the choice of words."""
    rng = np.random.default_rng(seed)
    rows = []
    for label, words in (("positive", POSITIVE), ("negative", NEGATIVE)):
        for _ in range(per_class):
            picked = rng.choice(words, size=4)
            rows.append((f"the movie was {picked[0]} and {picked[1]}, really {picked[2]} {picked[3]}", label))
    return rows


def write_text_csv(path: Path, per_class: int = 20) -> Path:
    import csv
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["review", "sentiment"])
        writer.writerows(make_text_rows(per_class))
    return path


def _build_tiny_bert(pretrained: bool) -> nn.Module:
    from transformers import BertConfig, BertModel

    from core.backbones.text_backbones import TextEncoder

    state = torch.random.get_rng_state()
    torch.manual_seed(4321 if pretrained else 0)
    config = BertConfig(vocab_size=30522, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=128)
    model = TextEncoder(BertModel(config, add_pooling_layer=False))
    torch.random.set_rng_state(state)
    return model


def register_tiny_bert() -> backbones.BackboneSpec:
    """A 2-layer, 32-wide BERT built from a config in the test (no download), with MiniLM's tokenizer."""
    from core.backbones.text_backbones import minilm_dir

    return backbones.register(backbones.BackboneSpec(
        name=TINY_BERT, title="Tiny BERT (test)", modality="text", family="test", feature_dim=32,
        num_params=0, source="builtin", summary="For tests.", build=_build_tiny_bert, max_positions=128,
        location=lambda: str(minilm_dir()),
        check_weights=lambda: backbones.Availability("local", "test weights")))


def register_test_backbones() -> None:
    """The TRANSFERLAB_PLUGINS entry point: training child processes know the test backbones too."""
    register_tiny()
    register_tiny_bert()
