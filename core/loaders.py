"""Pixels in, tensors out: transforms derived from the backbone's registry entry, and loaders."""

from __future__ import annotations

import os
import zlib
from pathlib import Path

import torch
from torch.utils.data import DataLoader, Dataset, DistributedSampler, Sampler
from torchvision import transforms as T

from core.backbones import BackboneSpec
from core.errors import UserError
from core.i18n import lazy
from core.data.images import load_rgb


def _interpolation(spec: BackboneSpec) -> T.InterpolationMode:
    return T.InterpolationMode.BICUBIC if spec.interpolation == "bicubic" else T.InterpolationMode.BILINEAR


def eval_transform(spec: BackboneSpec):
    """Resize the shorter side, centre-crop, normalise: exactly what the backbone was trained with,
    and exactly what an exported model does inside its graph (core.backbones.preprocess)."""
    from core.backbones.preprocess import EvalTransform

    return EvalTransform(spec)


def train_transform(spec: BackboneSpec, augment: bool = True, horizontal_flip: bool = True):
    """Train-time augmentation: a random crop of at least half the image, resized; optional mirror."""
    if not augment:
        return eval_transform(spec)
    steps = [T.RandomResizedCrop(spec.input_size, scale=(0.5, 1.0), interpolation=_interpolation(spec))]
    if horizontal_flip:
        steps.append(T.RandomHorizontalFlip())
    return T.Compose(steps + [T.ToTensor(), T.Normalize(spec.mean, spec.std)])


class ImageListDataset(Dataset):
    """(image tensor, label) for a list of (path relative to root, label)."""

    def __init__(self, root: str | Path, items: list[tuple[str, int]], transform) -> None:
        self.root, self.items, self.transform = Path(root), items, transform

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        relative, label = self.items[index]
        return self.transform(self.image(relative)), label

    def image(self, relative: str):
        try:
            return load_rgb(self.root / relative)
        except FileNotFoundError as error:
            raise UserError(lazy("{path} is not there any more (moved or deleted since the data was read).",
                                 path=str(self.root / relative)),
                            lazy("Put it back, or load the data again where it is now, so that the split leaves it "
                                 "out.")) from error
        except Exception as error:  # a file that passed the header check but cannot be decoded
            raise UserError(lazy("Could not decode {file}: {error}.", file=relative, error=str(error)),
                            lazy("Remove or replace that file, then start again.")) from error


def view_key(view: int, key: str) -> str:
    """The feature-cache row of augmented view ``view`` (1, 2...) of item ``key``."""
    return f"view{view}:{key}"


class ViewListDataset(ImageListDataset):
    """(augmented view, label) for items keyed ``view_key(k, path)``: view k of an image is always the same
    crop and flip (its random numbers are seeded by seed, k and path), however the items are batched or
    split between processes, so cached views are reproducible."""

    def __init__(self, root: str | Path, items: list[tuple[str, int]], transform, seed: int) -> None:
        super().__init__(root, items, transform)
        self.seed = seed

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        key, label = self.items[index]
        view, relative = key.split(":", 1)
        image = self.image(relative)
        with torch.random.fork_rng(devices=[]):  # its own random numbers; the training's are left as they were
            torch.manual_seed(zlib.crc32(f"{self.seed}:{view}:{relative}".encode()))
            return self.transform(image), label


def views_loader(report, items: list[tuple[str, int]], spec: BackboneSpec, batch_size: int, seed: int,
                 horizontal_flip: bool, device: torch.device) -> DataLoader:
    """The augmented views ``items`` (keys from ``view_key``) in order, through the training augmentation."""
    workers = worker_count(len(items))
    dataset = ViewListDataset(report.root, items, train_transform(spec, True, horizontal_flip), seed)
    return DataLoader(dataset, batch_size=batch_size, num_workers=workers, pin_memory=device.type == "cuda",
                      multiprocessing_context="fork" if workers else None)


def worker_count(num_items: int) -> int:
    """Decoding processes only where spare cores exist: on a 2-core laptop a worker steals the
    cores the forward pass needs (measured: 29 ms/image with one worker, 25 without)."""
    cpus = os.cpu_count() or 1
    if num_items < 64 or cpus <= 2 or os.environ.get("TRANSFERLAB_NO_WORKERS"):
        return 0
    return min(4, cpus - 2)


class TextListDataset(Dataset):
    """(text, label) for a list of (row key, label); tokenised a batch at a time by the collate."""

    def __init__(self, texts: dict[str, str], items: list[tuple[str, int]]) -> None:
        self.texts, self.items = texts, items

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> tuple[str, int]:
        key, label = self.items[index]
        return self.texts[key], label


class Tokenize:
    """Collate: pad a batch to its longest text (at most max_length tokens)."""

    def __init__(self, tokenizer, max_length: int) -> None:
        self.tokenizer, self.max_length = tokenizer, max_length

    def __call__(self, batch: list[tuple[str, int]]):
        texts, labels = zip(*batch)
        encoded = self.tokenizer(list(texts), padding=True, truncation=True, max_length=self.max_length,
                                 return_tensors="pt")
        return (encoded["input_ids"], encoded["attention_mask"]), torch.tensor(labels)


def tokens_kept(tokenizer, texts: list[str], max_length: int) -> list[int]:
    """Tokens per text as the model will see them (cut at ``max_length``): one fast batch call."""
    if not texts:
        return []
    return [len(ids) for ids in tokenizer(list(texts), truncation=True, max_length=max_length)["input_ids"]]


class LengthBatches(Sampler):
    """Batches of dataset indices grouped by token length, so a batch pads to little more than its texts.

    In order (validation, the feature pass, prediction): every index sorted by length, longest first,
    cut into batches; ``order`` lists the indices as they come, and ``in_item_order`` puts outputs back.
    Shuffled (fine-tuning): each epoch, a shuffle drawn from ``generator``, pools of ``pool`` batches each
    sorted by length and cut, then the batches themselves shuffled: texts of similar length share a
    batch, and the batches still come in a random order (the epoch's seed decides both)."""

    def __init__(self, lengths: list[int], batch_size: int, shuffle: bool = False,
                 generator: torch.Generator | None = None, pool: int = 50, rank: int = 0, ranks: int = 1) -> None:
        self.lengths, self.batch_size, self.shuffle = list(lengths), max(1, batch_size), shuffle
        self.generator, self.pool, self.rank, self.ranks = generator, pool, rank, ranks
        self.order = None if shuffle else sorted(range(len(self.lengths)), key=lambda i: (-self.lengths[i], i))

    def __len__(self) -> int:
        batches = (len(self.lengths) + self.batch_size - 1) // self.batch_size
        return batches if self.ranks == 1 else -(-batches // self.ranks)

    def __iter__(self):
        if not self.shuffle:
            for start in range(0, len(self.order), self.batch_size):
                yield self.order[start:start + self.batch_size]
            return
        drawn = torch.randperm(len(self.lengths), generator=self.generator).tolist()
        span = self.batch_size * self.pool
        batches = []
        for start in range(0, len(drawn), span):
            pooled = sorted(drawn[start:start + span], key=lambda i: -self.lengths[i])
            batches += [pooled[k:k + self.batch_size] for k in range(0, len(pooled), self.batch_size)]
        batches = [batches[index] for index in torch.randperm(len(batches), generator=self.generator).tolist()]
        if self.ranks > 1:  # distributed: every rank draws the same batches and takes every N-th, as many each
            batches += batches[:len(self) * self.ranks - len(batches)]
            batches = batches[self.rank::self.ranks]
        yield from batches


def in_item_order(values: torch.Tensor, loader: DataLoader) -> torch.Tensor:
    """Rows of ``values`` (one per example, in the order ``loader`` yielded them) back in the items' order."""
    order = getattr(loader.batch_sampler, "order", None)
    if order is None:
        return values
    restored = torch.empty_like(values)
    restored[torch.tensor(order, dtype=torch.long)] = values
    return restored


def make_loader(report, items: list[tuple[str, int]], spec: BackboneSpec, batch_size: int, train: bool,
                seed: int, device: torch.device, augment: bool = True, horizontal_flip: bool = True,
                max_length: int = 128, world=None) -> DataLoader:
    """The right loader for the report's modality: images through the spec's transforms, texts
    through its tokenizer. ``world`` (core/device/distributed.py; training loaders): this rank's share of each
    epoch's shuffle."""
    rank, ranks = (world.rank, world.size) if world is not None and world.active and train else (0, 1)
    if report.modality == "text":
        from core.backbones.text_backbones import tokenizer_for

        generator = torch.Generator().manual_seed(seed)
        tokenizer, length = tokenizer_for(spec), usable_length(spec, max_length)
        lengths = tokens_kept(tokenizer, [report.texts[key] for key, _ in items], length)
        # texts of similar length batched together: no time spent on padding (in_item_order restores order)
        return DataLoader(TextListDataset(report.texts, items), generator=generator,
                          batch_sampler=LengthBatches(lengths, batch_size, shuffle=train, generator=generator,
                                                      rank=rank, ranks=ranks),
                          collate_fn=Tokenize(tokenizer, length))
    transform = train_transform(spec, augment, horizontal_flip) if train else eval_transform(spec)
    return image_loader(report.root, items, transform, batch_size, shuffle=train, seed=seed, device=device,
                        rank=rank, ranks=ranks)


def image_loader(root: str | Path, items: list[tuple[str, int]], transform, batch_size: int,
                 shuffle: bool, seed: int, device: torch.device, rank: int = 0, ranks: int = 1) -> DataLoader:
    """Distributed (``ranks`` > 1): a DistributedSampler gives this rank its share of each epoch's shuffle
    (``set_epoch`` picks the epoch), every rank as many examples."""
    workers = worker_count(len(items))
    generator = torch.Generator().manual_seed(seed)
    dataset = ImageListDataset(root, items, transform)
    sampler = DistributedSampler(dataset, ranks, rank, shuffle=shuffle, seed=seed) if ranks > 1 else None
    return DataLoader(dataset, batch_size=batch_size, shuffle=shuffle and sampler is None, sampler=sampler,
                      num_workers=workers, generator=generator, pin_memory=device.type == "cuda",
                      persistent_workers=False, multiprocessing_context="fork" if workers else None)


def usable_length(spec: BackboneSpec, max_length: int) -> int:
    """Tokens kept per text: the setting, but never more than the encoder has positions for."""
    return min(max_length, spec.max_positions) if spec.max_positions else max_length


def channels_last(device: torch.device) -> bool:
    """Images in channels-last layout on this device? On CPU, measured: a fine-tuning step of
    EfficientNet-Lite0 (16 images, 224 px, 2 cores) 1.25 s against 1.95 s; on CUDA the layout its
    convolution kernels (tensor cores) prefer. MPS: left as it is."""
    return device.type in ("cpu", "cuda")


def to_device(inputs, device: torch.device):
    """A batch's inputs (a tensor, or a tuple of tensors for texts) on ``device``; a batch of images
    in the device's preferred memory layout (``channels_last``; the model is converted to match)."""
    if isinstance(inputs, (tuple, list)):
        return tuple(x.to(device, non_blocking=True) for x in inputs)
    inputs = inputs.to(device, non_blocking=True)
    if inputs.dim() == 4 and channels_last(device):
        inputs = inputs.contiguous(memory_format=torch.channels_last)
    return inputs


def image_layout(model: torch.nn.Module, device: torch.device) -> torch.nn.Module:
    """``model`` in the memory layout ``to_device`` gives images on ``device``."""
    return model.to(memory_format=torch.channels_last) if channels_last(device) else model
