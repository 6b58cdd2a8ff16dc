"""core/features.py's feature cache: computed once, read back identical, keyed by what changes the features,
never trusting a damaged file, never leaving a partial one."""

from __future__ import annotations

import dataclasses
import errno
import json
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from core import backbones, data, features
from core.data.report import DataReport
from core.errors import UserError
from tests.helpers import COLORS, TINY, make_image

CPU = torch.device("cpu")


@pytest.fixture(autouse=True)
def torch_engine(monkeypatch):
    """Frozen passes in PyTorch: no ONNX export of the tiny backbone (the cache is what is tested here)."""
    monkeypatch.setenv("TRANSFERLAB_ENGINE", "torch")


@pytest.fixture
def counted(monkeypatch):
    """How many times a forward pass over the data ran."""
    calls = []
    original = features.compute_features

    def counting(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(features, "compute_features", counting)
    return calls


def _partials(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if "partial" in p.name]


def _report(folder: Path) -> DataReport:
    return data.load_dataset(str(folder), val_fraction=0.25, seed=0)


def _load(report: DataReport, cache: Path, spec=None, **kwargs) -> features.FeatureSet | None:
    return features.load_or_compute(report, spec or backbones.get(TINY), cache, CPU, batch_size=8, **kwargs)


def test_the_first_call_computes_and_writes_the_second_reads_the_same_tensors(colors_folder, tmp_path, counted):
    report, cache, spec = _report(colors_folder), tmp_path / "cache", backbones.get(TINY)
    assert features.cached(report, spec, cache) is None  # nothing yet, and cached() never computes
    progress = []
    first = _load(report, cache, on_progress=lambda done, total: progress.append((done, total)))
    path = features.cache_path(cache, report, spec)
    assert first.cache_hit is False and counted == [1] and path.is_file()
    assert path.parent == cache / "features" / TINY
    assert first.features.shape == (24, spec.feature_dim) and first.features.dtype == torch.float32
    assert first.paths == [key for key, _ in report.all_items()]  # rows in the report's item order
    assert progress[-1] == (24, 24) and [d for d, _ in progress] == sorted(d for d, _ in progress)

    second = _load(report, cache)
    assert second.cache_hit is True and counted == [1]  # no second pass
    assert torch.equal(second.features, first.features) and second.paths == first.paths
    assert second.compute_seconds == pytest.approx(first.seconds, abs=1e-3)  # the cache remembers what its pass took
    again = features.cached(report, spec, cache)
    assert again.cache_hit is True and torch.equal(again.features, first.features)
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name] and not _partials(cache)


def test_cached_features_are_the_backbones_features_of_each_item(colors_folder, tmp_path):
    report = _report(colors_folder)
    feature_set = _load(report, tmp_path / "cache")
    fresh = features.compute_features(report, backbones.get(TINY), CPU, batch_size=5)
    assert torch.allclose(feature_set.features, fresh, atol=1e-5)
    val_rows = feature_set.rows(report.val)
    index = [feature_set.paths.index(key) for key, _ in report.val]
    assert torch.equal(val_rows, feature_set.features[index])
    # the tiny backbone ends with each image's mean color: red images are redder than blue ones
    red, blue = report.classes.index("red"), report.classes.index("blue")
    labels = dict(report.all_items())
    means = feature_set.features[:, -3:]
    reds = torch.stack([means[i] for i, key in enumerate(feature_set.paths) if labels[key] == red])
    blues = torch.stack([means[i] for i, key in enumerate(feature_set.paths) if labels[key] == blue])
    assert (reds[:, 0] > reds[:, 2]).all() and (blues[:, 2] > blues[:, 0]).all()


# -- the key --------------------------------------------------------------------------------------
def test_the_key_is_stable_for_the_same_data_and_backbone(colors_folder):
    spec = backbones.get(TINY)
    first, second = _report(colors_folder), _report(colors_folder)
    assert features.cache_key(first, spec) == features.cache_key(second, spec)
    # the split is the run's business: the features are the whole data's
    assert features.cache_key(data.load_dataset(str(colors_folder), val_fraction=0.5, seed=3), spec) == \
        features.cache_key(first, spec)


def test_another_backbone_or_preprocessing_gets_its_own_cache(colors_folder, tmp_path, counted):
    report, cache, spec = _report(colors_folder), tmp_path / "cache", backbones.get(TINY)
    original = _load(report, cache)
    other = backbones.register(dataclasses.replace(spec, name="tiny_test_other"))
    try:
        assert features.cache_key(report, other) != features.cache_key(report, spec)
        assert features.cache_path(cache, report, other).parent.name == "tiny_test_other"
        assert _load(report, cache, other).cache_hit is False
    finally:
        backbones.unregister("tiny_test_other")
    for changed in (dataclasses.replace(spec, input_size=24), dataclasses.replace(spec, resize_size=40),
                    dataclasses.replace(spec, mean=(0.4, 0.5, 0.5)), dataclasses.replace(spec, std=(0.25,) * 3),
                    dataclasses.replace(spec, interpolation="nearest" if spec.interpolation != "nearest"
                                        else "bilinear"),
                    dataclasses.replace(spec, weights_id="abc123")):
        assert features.cache_key(report, changed) != features.cache_key(report, spec), changed
    smaller = _load(report, cache, dataclasses.replace(spec, input_size=24))
    assert smaller.cache_hit is False and not torch.equal(smaller.features, original.features)
    assert counted == [1, 1, 1]
    assert _load(report, cache).cache_hit is True  # the first one is still there


def test_adding_or_editing_an_image_changes_the_key_and_is_computed_again(colors_folder, tmp_path, counted):
    cache = tmp_path / "cache"
    before = _report(colors_folder)
    first = _load(before, cache)
    edited = colors_folder / "red" / "000.png"
    time.sleep(0.01)  # a new modification time even on coarse clocks
    make_image(COLORS["blue"], seed=99).save(edited)  # a red image painted blue
    after = _report(colors_folder)
    assert after.fingerprint != before.fingerprint
    assert features.cache_key(after, backbones.get(TINY)) != features.cache_key(before, backbones.get(TINY))
    second = _load(after, cache)
    assert second.cache_hit is False and counted == [1, 1]
    row = lambda feature_set: feature_set.rows([("red/000.png", 0)])[0]  # noqa: E731
    assert not torch.allclose(row(first), row(second))  # the stale features were not used
    assert row(second)[-1] > row(second)[-3]  # its mean color is blue now
    make_image(COLORS["red"], seed=7).save(colors_folder / "red" / "100.png")
    added = _report(colors_folder)
    third = _load(added, cache)
    assert third.cache_hit is False and len(third.paths) == 25 and counted == [1, 1, 1]


def test_the_text_length_is_part_of_a_text_caches_key_not_an_image_caches():
    text = DataReport(root="t.csv", classes=["a", "b"], train=[("r1", 0)], val=[("r2", 1)], layout="",
                      fingerprint="f", modality="text")
    images = dataclasses.replace(text, modality="image")
    spec = backbones.get(TINY)
    assert features.cache_key(text, spec, 128) != features.cache_key(text, spec, 64)
    assert features.cache_key(images, spec, 128) == features.cache_key(images, spec, 64)
    assert features.cache_key(dataclasses.replace(text, fingerprint="g"), spec, 128) != \
        features.cache_key(text, spec, 128)


# -- damaged and partial files --------------------------------------------------------------------
def _encoded(keys: list[str]) -> torch.Tensor:
    """Item keys as a cache file stores them."""
    return torch.frombuffer(bytearray(json.dumps(keys).encode()), dtype=torch.uint8)


def _damage_cases(path: Path, first: features.FeatureSet) -> dict:
    whole = path.read_bytes()
    nan = first.features.clone()
    nan[3, 2] = float("nan")
    return {
        "cut off": lambda: path.write_bytes(whole[: len(whole) // 2]),
        "garbage": lambda: path.write_bytes(b"\x00" * 100),
        "not a number": lambda: save_file({"features": nan, "paths_json": _encoded(first.paths)}, path),
        "rows and items disagree": lambda: save_file({"features": first.features, "paths_json": _encoded(["x.png"])},
                                                     path),
    }


@pytest.mark.parametrize("damage", ["cut off", "garbage", "not a number", "rows and items disagree"])
def test_a_damaged_cache_file_is_recomputed_not_trusted_and_said(colors_folder, tmp_path, counted, damage):
    report, cache, spec = _report(colors_folder), tmp_path / "cache", backbones.get(TINY)
    first = _load(report, cache)
    path = features.cache_path(cache, report, spec)
    _damage_cases(path, first)[damage]()
    with pytest.raises(features.DamagedCache):
        features.read_cache_file(path)
    notices = []
    second = _load(report, cache, on_notice=lambda message: notices.append(str(message)))
    assert second.cache_hit is False and counted == [1, 1]
    assert torch.allclose(second.features, first.features, atol=1e-6) and torch.isfinite(second.features).all()
    assert len(notices) == 1 and "damaged" in notices[0] and "computing them again" in notices[0], notices
    stored, paths = features.read_cache_file(path)  # whole again
    assert torch.equal(stored, second.features) and paths == second.paths
    assert _load(report, cache).cache_hit is True and not _partials(cache)


def test_a_whole_cache_file_of_other_items_is_not_used(colors_folder, tmp_path, counted):
    report, cache, spec = _report(colors_folder), tmp_path / "cache", backbones.get(TINY)
    first = _load(report, cache)
    path = features.cache_path(cache, report, spec)
    keys = list(reversed(first.paths))  # the same items in another order: the rows would be wrong
    save_file({"features": first.features, "paths_json": _encoded(keys)}, path)
    second = _load(report, cache)
    assert second.cache_hit is False and counted == [1, 1] and second.paths == first.paths
    assert torch.allclose(second.features, first.features, atol=1e-6)


def test_a_disk_full_while_writing_leaves_no_partial_file_and_no_cache(colors_folder, tmp_path, monkeypatch):
    report, cache = _report(colors_folder), tmp_path / "cache"

    def half_then_full(tensors, filename, metadata=None):
        Path(filename).write_bytes(b"half a file")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(features, "save_file", half_then_full)
    with pytest.raises(UserError, match="could not write the feature cache in"):
        _load(report, cache)
    monkeypatch.undo()
    monkeypatch.setenv("TRANSFERLAB_ENGINE", "torch")
    assert not _partials(cache) and not list(cache.rglob("*.safetensors"))
    assert _load(report, cache).cache_hit is False  # space again: computed and written
    assert _load(report, cache).cache_hit is True and not _partials(cache)


def test_a_pass_that_is_stopped_writes_nothing(colors_folder, tmp_path):
    report, cache = _report(colors_folder), tmp_path / "cache"
    batches = []
    stopped = _load(report, cache, should_stop=lambda: bool(batches.append(1)) or len(batches) > 2)
    assert stopped is None and len(batches) == 3
    assert not list(cache.rglob("*.safetensors")) and not _partials(cache)
    assert _load(report, cache).cache_hit is False
