"""The feature cache: a frozen backbone's features for a dataset, computed once and reused.

Keyed by (data fingerprint, backbone, its weights, its preprocessing), stored under
``<cache_dir>/features/<backbone>/<key>.safetensors``, shared by every run whatever its head,
learning rate or output folder. Only this module knows that layout.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from core import storage
from core.device import distributed
from core.backbones import BackboneSpec, create_backbone
from core.device import autocast, feature_batch_size
from core.i18n import lazy
from core.data.report import DataReport
from core.loaders import image_layout, in_item_order, make_loader, to_device

FORMAT_VERSION = 2  # 2: validation preprocessing is core.backbones.preprocess (torch, antialiased)


@dataclass
class FeatureSet:
    features: torch.Tensor        # [N, feature_dim], float32, rows in report.all_items() order
    paths: list[str]
    cache_hit: bool
    seconds: float                          # what getting them took now: reading the cache, or the pass
    compute_seconds: float | None = None    # what the pass took when it ran (None: a cache older than that)
    ahead_seconds: float = 0.0              # how long the pass had run in the background before it was needed

    def rows(self, items: list[tuple[str, int]]) -> torch.Tensor:
        index = {path: row for row, path in enumerate(self.paths)}
        return self.features[[index[path] for path, _ in items]]


def cache_key(report: DataReport, spec: BackboneSpec, max_length: int = 0) -> str:
    identity = {"data": report.fingerprint, "backbone": spec.name, "source": spec.source,
                "preprocessing": spec.preprocessing(), "format": FORMAT_VERSION}
    if report.modality == "text":
        identity["max_length"] = max_length
    if spec.weights_id:  # a run used as a backbone: its weights, not its name, say what it computes
        identity["weights"] = spec.weights_id
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:24]


def cache_path(cache_dir: str | Path, report: DataReport, spec: BackboneSpec, max_length: int = 0) -> Path:
    folder = ("run-" + Path(spec.name[4:]).name) if spec.name.startswith("run:") else \
        spec.name.replace("/", "--").replace(":", "-")
    return Path(cache_dir) / "features" / folder / f"{cache_key(report, spec, max_length)}.safetensors"


def load_or_compute(report: DataReport, spec: BackboneSpec, cache_dir: str | Path, device: torch.device,
                    batch_size: int = 32, on_progress: Callable[[int, int], None] | None = None,
                    should_stop: Callable[[], bool] = lambda: False, max_length: int = 128,
                    on_notice: Callable[[str], None] | None = None,
                    world: distributed.World = distributed.SINGLE) -> FeatureSet | None:
    """Cached features if present, else one forward pass over every item (None if stopped).

    A cache file that cannot be read (cut off by a crash or a full disk) is removed and computed
    again; ``on_notice`` hears why. Distributed (``world``): rank 0 reads the cache and hands it to the
    others; a pass is shared, each rank computing every N-th item, and rank 0 writes the file."""
    return _cached_or_computed(
        cache_path(cache_dir, report, spec, max_length), report.all_items(), spec, device, on_progress, on_notice,
        world, lambda mine, progress: compute_features(report, spec, device, batch_size, progress, should_stop,
                                                       max_length, items=mine, cache_dir=cache_dir,
                                                       on_notice=on_notice), should_stop)


def cached(report: DataReport, spec: BackboneSpec, cache_dir: str | Path, max_length: int = 128) -> FeatureSet | None:
    """The cached features of every example of ``report``, if a pass has written them; never computes."""
    started = time.perf_counter()
    path = cache_path(cache_dir, report, spec, max_length)
    found = _read_cached(path, report.all_items(), spec, None)
    return None if found is None else FeatureSet(found[0], found[1], True, time.perf_counter() - started,
                                                 pass_seconds(path))


def views_path(cache_dir: str | Path, report: DataReport, spec: BackboneSpec, views: int, horizontal_flip: bool,
               seed: int) -> Path:
    """Where the augmented views of the training items are cached: beside the plain features, keyed by
    those too and by the augmentation (its crop and flip settings, the number of views, their seed)."""
    from core.loaders import train_transform

    identity = {"features": cache_key(report, spec), "views": views, "seed": seed,
                "augmentation": repr(train_transform(spec, True, horizontal_flip)),
                "items": hashlib.sha256(json.dumps(view_items(report, 1)).encode()).hexdigest()}
    key = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:24]
    return cache_path(cache_dir, report, spec).with_name(f"{key}-views.safetensors")


def view_items(report: DataReport, views: int) -> list[tuple[str, int]]:
    """Rows of the views cache: view 1 of every training item of this run, view 2... (unlike the plain
    features, not of those set aside: a run on 5 examples per class pays for the views of those alone)."""
    from core.loaders import view_key

    training = sorted(report.train)
    return [(view_key(view, key), label) for view in range(1, views + 1) for key, label in training]


def load_or_compute_views(report: DataReport, spec: BackboneSpec, cache_dir: str | Path, device: torch.device,
                          views: int, horizontal_flip: bool, seed: int, batch_size: int = 32,
                          on_progress: Callable[[int, int], None] | None = None,
                          should_stop: Callable[[], bool] = lambda: False,
                          on_notice: Callable[[str], None] | None = None,
                          world: distributed.World = distributed.SINGLE) -> FeatureSet | None:
    """``views`` augmented copies (random crop, flip as the recipe says) of every training image through the
    frozen backbone, once, cached; rows keyed ``loaders.view_key(k, item)``. None if stopped."""
    from core.loaders import views_loader

    return _cached_or_computed(
        views_path(cache_dir, report, spec, views, horizontal_flip, seed), view_items(report, views), spec, device,
        on_progress, on_notice, world,
        lambda mine, progress: compute_features(
            report, spec, device, batch_size, progress, should_stop, items=mine, cache_dir=cache_dir,
            on_notice=on_notice, loader=views_loader(report, mine, spec, feature_batch_size(batch_size, "image", device),
                                                     seed, horizontal_flip, device)), should_stop)


def _cached_or_computed(path: Path, items: list[tuple[str, int]], spec: BackboneSpec, device: torch.device,
                        on_progress: Callable[[int, int], None] | None, on_notice: Callable[[str], None] | None,
                        world: distributed.World, compute: Callable,
                        should_stop: Callable[[], bool] = lambda: False) -> FeatureSet | None:
    """The cache file at ``path`` if it holds ``items``, else ``compute(items, progress)`` saved there
    (distributed: rank 0 reads and broadcasts; each rank computes its shard, gathered; rank 0 writes;
    progress counts every rank's share as this rank's times the number of ranks). A background pass of
    this process (``start_background``) for the same file is joined instead; one for another file is
    cancelled first, so that it never slows this one."""
    pending = pending_pass()
    if pending is not None and (world.active or pending.path != path or pending.items != items):
        pending.cancel()
    elif pending is not None:
        joined = pending.join(on_progress, should_stop)
        if joined is not _FAILED:
            return joined
    return _read_or_compute(path, items, spec, device, on_progress, on_notice, world, compute)


def _read_or_compute(path: Path, items: list[tuple[str, int]], spec: BackboneSpec, device: torch.device,
                     on_progress: Callable[[int, int], None] | None, on_notice: Callable[[str], None] | None,
                     world: distributed.World, compute: Callable) -> FeatureSet | None:
    started = time.perf_counter()
    found = world.broadcast(_read_cached(path, items, spec, on_notice) if world.main else None)
    if found is not None:
        return FeatureSet(found[0], found[1], True, time.perf_counter() - started, pass_seconds(path)
                          if world.main else None)
    scaled = on_progress and (lambda done, _: on_progress(min(done * world.size, len(items)), len(items)))
    features = compute(world.shard(items), scaled)
    if features is None:  # stopped (distributed: the ranks agree on a stop, so all of them end here together)
        return None
    features = world.gather(features, len(items))
    seconds = time.perf_counter() - started
    if world.main:
        _save_atomically(path, features, [p for p, _ in items], {"seconds": f"{seconds:.3f}", "device": device.type,
                                                                 "processes": str(world.size)})
    return FeatureSet(features, [p for p, _ in items], False, seconds, seconds)


class BackgroundPass:
    """A feature pass started ahead of the run that will need it (core/worker.py: while the person still
    looks at the data and the settings), in a thread of the process that will train that run. The run's
    own pass joins it (load_or_compute) and reports its progress as its own; nothing is computed twice."""

    def __init__(self, report: DataReport, spec: BackboneSpec, cache_dir: str | Path, device: torch.device,
                 batch_size: int, max_length: int, on_progress: Callable[[int, int], None] | None = None) -> None:
        self.path, self.items = cache_path(cache_dir, report, spec, max_length), report.all_items()
        self.done, self.total, self.seconds = 0, len(self.items), 0.0
        self.result: FeatureSet | None = None
        self.error: BaseException | None = None
        self._cancelled, self._finished = threading.Event(), threading.Event()
        self._listener = on_progress
        self._started = time.perf_counter()

        def work() -> None:
            try:
                self.result = _read_or_compute(
                    self.path, self.items, spec, device, self._progress, None, distributed.SINGLE,
                    lambda mine, progress: compute_features(report, spec, device, batch_size, progress,
                                                            self._cancelled.is_set, max_length, items=mine,
                                                            cache_dir=cache_dir))
            except BaseException as error:  # the run that joins computes again and reports it in its own words
                self.error = error
            finally:
                self.seconds = time.perf_counter() - self._started
                self._finished.set()
                if self._listener:
                    self._listener(self.done, self.total)

        self._thread = threading.Thread(target=work, name="background-feature-pass", daemon=True)
        self._thread.start()

    def _progress(self, done: int, total: int) -> None:
        self.done = done
        if self._listener:
            self._listener(done, total)

    @property
    def finished(self) -> bool:
        return self._finished.is_set()

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    def cancel(self) -> None:
        """Stop after the current batch and wait for it (the CPU is free when this returns)."""
        self._cancelled.set()
        self._thread.join()
        _forget(self)

    def join(self, on_progress: Callable[[int, int], None] | None, should_stop: Callable[[], bool]):
        """Wait for the pass, reporting its progress; its FeatureSet, None when a stop was asked for
        meanwhile, or _FAILED when it did not finish (compute again)."""
        joined = time.perf_counter()
        ahead = joined - self._started
        while not self._finished.wait(0.25):
            if should_stop():
                return None
            if on_progress:
                on_progress(self.done, self.total)
        _forget(self)
        if self.result is None:
            return _FAILED
        if on_progress:
            on_progress(self.total, self.total)
        waited = min(time.perf_counter() - joined, self.result.compute_seconds or self.seconds)
        return dataclasses.replace(self.result, seconds=waited, ahead_seconds=0.0 if self.result.cache_hit else ahead)


_FAILED = object()
_pending: list[BackgroundPass] = []
_pending_lock = threading.Lock()


def start_background(report: DataReport, spec: BackboneSpec, cache_dir: str | Path, device: torch.device,
                     batch_size: int, max_length: int = 128,
                     on_progress: Callable[[int, int], None] | None = None) -> BackgroundPass:
    """Begin the feature pass a run on ``report`` with ``spec`` will need (one at a time: an earlier one is
    cancelled). ``on_progress(done, total)`` hears every batch, and once more when it has ended."""
    cancel_background()
    background = BackgroundPass(report, spec, cache_dir, device, batch_size, max_length, on_progress)
    with _pending_lock:
        _pending.append(background)
    return background


def done_in_background(report: DataReport, spec: BackboneSpec, cache_dir: str | Path, max_length: int = 128) -> int:
    """How many of these features a background pass of this process has computed already (0: none runs)."""
    pending = pending_pass()
    if pending is None or pending.cancelled or pending.path != cache_path(cache_dir, report, spec, max_length):
        return 0
    return pending.done


def cancel_background() -> None:
    pending = pending_pass()
    if pending is not None:
        pending.cancel()


def pending_pass() -> BackgroundPass | None:
    with _pending_lock:
        return _pending[-1] if _pending else None


def _forget(background: BackgroundPass) -> None:
    with _pending_lock:
        if background in _pending:
            _pending.remove(background)


def _read_cached(path: Path, items: list[tuple[str, int]], spec: BackboneSpec,
                 on_notice: Callable[[str], None] | None) -> tuple[torch.Tensor, list[str]] | None:
    """The cache file's (features, item keys) when it holds these items; a damaged one is removed."""
    if not path.is_file():
        return None
    try:
        stored = read_cache_file(path, len(items))
    except DamagedCache as error:
        path.unlink(missing_ok=True)
        if on_notice:
            on_notice(lazy("The cached features of {backbone} for this data were damaged ({problem}); computing them "
                           "again.", backbone=spec.title, problem=error.args[0] if error.args else ""))
        return None
    return stored if stored[1] == [p for p, _ in items] else None


def pass_seconds(path: Path) -> float | None:
    """How long the feature pass that wrote this cache file took (None: not recorded, or unreadable)."""
    try:
        with safe_open(path, "pt") as handle:
            return float((handle.metadata() or {})["seconds"])
    except Exception:  # an older cache file without the record, or one damaged since
        return None


class DamagedCache(Exception):
    pass


def read_cache_file(path: Path, expected_rows: int | None = None) -> tuple[torch.Tensor, list[str]]:
    """(features, item keys) of a cache file; DamagedCache if it is not a whole, consistent file."""
    try:
        stored = load_file(path)
        paths = json.loads(stored["paths_json"].numpy().tobytes().decode())
        features = stored["features"]
    except Exception as error:  # SafetensorError (truncated, garbage), KeyError, bad JSON
        raise DamagedCache(f"{type(error).__name__}: {str(error)[:100]}") from error
    if features.dim() != 2 or features.shape[0] != len(paths) or not torch.isfinite(features).all():
        raise DamagedCache(lazy("{rows} rows for {items} items, or values that are not numbers",
                                rows=features.shape[0], items=len(paths)))
    return features, paths


@torch.inference_mode()
def compute_features(report: DataReport, spec: BackboneSpec, device: torch.device, batch_size: int = 32,
                     on_progress: Callable[[int, int], None] | None = None,
                     should_stop: Callable[[], bool] = lambda: False, max_length: int = 128,
                     backbone: torch.nn.Module | None = None, items: list[tuple[str, int]] | None = None,
                     loader=None, cache_dir: str | Path | None = None,
                     on_notice: Callable[[str], None] | None = None) -> torch.Tensor | None:
    """Features of ``items`` (default: all) through ``backbone`` (default: the pretrained one, on a CPU through
    the inference engine of core/backbones/engine.py, exported into ``cache_dir`` the first time); ``loader``: the items'
    inputs when they are not the plain validation transform's (augmented views)."""
    from core.backbones import engine

    batch_size = feature_batch_size(batch_size, report.modality, device)  # no gradients: only speed depends on it
    items = report.all_items() if items is None else items
    loader = loader or make_loader(report, items, spec, batch_size, train=False, seed=0, device=device,
                                   max_length=max_length)
    chunks, done, run = [], 0, None
    for inputs, labels in loader:
        if should_stop():
            return None
        if run is None:  # the first batch decides: it is what an export is traced with
            with torch.inference_mode(False):
                run = engine.pass_for(spec, device, cache_dir, inputs, max_length, on_notice) \
                    if backbone is None else None
            run = run or _torch_pass(backbone or create_backbone(spec, pretrained=True), report.modality, device)
        chunks.append(run(inputs))
        done += len(labels)
        if on_progress:
            on_progress(done, len(items))
    return in_item_order(torch.cat(chunks), loader)  # text batches come by length


def _torch_pass(backbone: torch.nn.Module, modality: str, device: torch.device) -> Callable:
    backbone = backbone.eval().to(device)
    if modality == "image":
        backbone = image_layout(backbone, device)

    def run(inputs) -> torch.Tensor:
        inputs = to_device(inputs, device)
        with autocast(device):
            return (backbone(*inputs) if isinstance(inputs, tuple) else backbone(inputs)).float().cpu()
    return run


def _save_atomically(path: Path, features: torch.Tensor, paths: list[str], metadata: dict[str, str]) -> None:
    with storage.guard(lazy("the feature cache"), path.parent, 4096):
        path.parent.mkdir(parents=True, exist_ok=True)
    encoded = torch.frombuffer(bytearray(json.dumps(paths).encode()), dtype=torch.uint8)
    partial = path.with_name(f"{path.name}.{os.getpid()}.partial")
    needed = features.numel() * features.element_size() + encoded.numel()
    with storage.guard(lazy("the feature cache"), path.parent, needed, [partial]):
        save_file({"features": features.contiguous(), "paths_json": encoded}, partial, metadata=metadata)
        os.replace(partial, path)
