"""Domain shifts built from data on this machine, for bench/domain_shift.py (and the lessons).

Images (the source is always 100 digits per class; targets are other digits, never the same images):
- MNIST -> MNIST-M: the bundled stand-in (digits blended onto photo crops, as in the DANN paper).
- MNIST -> UCI digits: scikit-learn's 1,797 digits from another scanner and other writers (8x8, 16 grey
  levels), scaled to MNIST's 20x20 box in 28x28: the real "other people's digits" shift.
- MNIST -> ink on paper: other MNIST digits as dark ink on light paper (the negative).
- MNIST -> rotated noisy scans: other digits turned 20-45 degrees either way, blurred and grainy.
- UCI digits -> MNIST: the reverse of the second.
Texts (BBC News, even-numbered articles as the source, odd-numbered ones as the target):
- articles -> snippets: the first 20 words (headline and lead), as one-line news alerts.
- articles -> noisy typing: lower case, no punctuation, one word in eight misspelt (a letter dropped,
  doubled or swapped), as in hurried posts.
"""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image, ImageFilter

from core.data import samples

PER_CLASS = 100


def _mnist() -> tuple[np.ndarray, np.ndarray]:
    with gzip.open(samples._mnist_csv(), "rt") as handle:
        table = np.loadtxt(handle, delimiter=",", dtype=np.uint8)
    return table[:, :784].reshape(-1, 28, 28), table[:, 784]


def _uci_digits() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's digits as MNIST-like 28x28 images: white ink on black, the digit in a 20x20 box."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = []
    for small in digits.images:
        grey = Image.fromarray((small * (255 / 16)).astype(np.uint8)).resize((20, 20), Image.BILINEAR)
        canvas = np.zeros((28, 28), np.uint8)
        canvas[4:24, 4:24] = np.asarray(grey)
        images.append(canvas)
    return np.stack(images), digits.target.astype(np.uint8)


def _write(root: Path, images: np.ndarray, labels: np.ndarray, per_class: int, skip: int = 0) -> Path:
    if root.is_dir():
        return root
    for digit in range(10):
        folder = root / str(digit)
        folder.mkdir(parents=True)
        for index in np.flatnonzero(labels == digit)[skip: skip + per_class]:
            Image.fromarray(images[index]).save(folder / f"{index:04d}.png")
    return root


def _rotated_noisy(images: np.ndarray, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    out = []
    for image in images:
        angle = rng.uniform(20, 45) * rng.choice([-1, 1])
        turned = Image.fromarray(image).rotate(angle, resample=Image.BILINEAR).filter(ImageFilter.GaussianBlur(0.8))
        grainy = np.asarray(turned, np.float64) + rng.normal(0, 40, (28, 28))
        out.append(np.clip(grainy, 0, 255).astype(np.uint8))
    return np.stack(out)


def image_shifts(root: Path) -> dict[str, tuple[Path, Path]]:
    pixels, labels = _mnist()
    uci, uci_labels = _uci_digits()
    mnist = samples.ensure_sample("mnist")              # the first 100 per class
    others = slice(None)
    return {
        "MNIST -> MNIST-M": (mnist, samples.ensure_sample("mnist-m")),
        "MNIST -> UCI digits": (mnist, _write(root / "uci", uci, uci_labels, 10_000)),
        "MNIST -> ink on paper": (mnist, _write(root / "ink", 255 - pixels[others], labels, PER_CLASS, PER_CLASS)),
        "MNIST -> rotated noisy scans": (mnist, _write(root / "rotated", _rotated_noisy(pixels), labels, PER_CLASS,
                                                       PER_CLASS)),
        "UCI digits -> MNIST": (_write(root / "uci-source", uci, uci_labels, PER_CLASS),
                                _write(root / "mnist-target", pixels, labels, PER_CLASS, PER_CLASS)),
    }


def _typos(text: str, rng: np.random.Generator) -> str:
    words = re.sub(r"[^\w\s]", " ", text.lower()).split()
    for i, word in enumerate(words):
        if len(word) > 3 and rng.random() < 1 / 8:
            at = int(rng.integers(1, len(word) - 1))
            kind = rng.integers(3)
            words[i] = (word[:at] + word[at + 1:] if kind == 0 else word[:at] + word[at] + word[at:] if kind == 1
                        else word[:at - 1] + word[at] + word[at - 1] + word[at + 1:])
    return " ".join(words)


def text_shifts(root: Path) -> dict[str, tuple[Path, Path]]:
    table = pd.read_csv(samples.ensure_text_sample("bbc"))
    source = table.iloc[::2].reset_index(drop=True)
    target = table.iloc[1::2].reset_index(drop=True)
    root.mkdir(parents=True, exist_ok=True)
    source.to_csv(root / "bbc_articles.csv", index=False)
    snippets = target.assign(text=[" ".join(text.split()[:20]) for text in target["text"]])
    snippets.to_csv(root / "bbc_snippets.csv", index=False)
    rng = np.random.default_rng(0)
    noisy = target.assign(text=[_typos(text, rng) for text in target["text"]])
    noisy.to_csv(root / "bbc_noisy.csv", index=False)
    return {"BBC articles -> snippets": (root / "bbc_articles.csv", root / "bbc_snippets.csv"),
            "BBC articles -> noisy typing": (root / "bbc_articles.csv", root / "bbc_noisy.csv")}
