"""Feature extraction with augmented views per image: K augmented copies of every training image,
featurised once and cached; epochs draw among them and the plain features."""

from __future__ import annotations

import pytest
import torch

from pathlib import Path

from core import data, features, loop, progress, runs
from core.backbones import get
from core.config import TrainConfig
from core.errors import UserError
from core.loaders import view_key
from core.train import fit
from tests.helpers import TINY


@pytest.fixture
def halves(tmp_path):
    """Two classes of pictures with a layout (a red and a blue half, which side is the class): a crop
    changes what the backbone sees, unlike a uniform square's."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    for name, red_left in (("red-left", True), ("red-right", False)):
        (tmp_path / "halves" / name).mkdir(parents=True)
        for i in range(16):
            pixels = np.zeros((40, 40, 3), np.uint8)
            split = int(rng.integers(8, 32))
            pixels[:, :split] = (220, 30, 30) if red_left else (30, 30, 220)
            pixels[:, split:] = (30, 30, 220) if red_left else (220, 30, 30)
            Image.fromarray(pixels).save(tmp_path / "halves" / name / f"{i}.png")
    return tmp_path / "halves"


def _config(folder, **overrides) -> TrainConfig:
    return TrainConfig.for_strategy(str(folder), "feature_extract", **{"backbone": TINY, "epochs": 6, "batch_size": 8,
                                                                        **overrides})


def test_views_are_reproducible_differ_from_the_plain_features_and_cover_the_training_items(halves, tmp_path):
    report = data.load_dataset(str(halves))
    spec = get(TINY)
    one = features.load_or_compute_views(report, spec, tmp_path / "a", torch.device("cpu"), 3, True, seed=0)
    again = features.load_or_compute_views(report, spec, tmp_path / "b", torch.device("cpu"), 3, True, seed=0,
                                           batch_size=5)  # other batches: each view is seeded by itself
    assert one.features.shape[0] == 3 * len(report.train) and not one.cache_hit
    assert torch.equal(one.features, again.features)
    plain = features.load_or_compute(report, spec, tmp_path / "a", torch.device("cpu"))
    item = report.train[0]
    versions = [plain.rows([item])] + [one.rows([(view_key(k, item[0]), item[1])]) for k in (1, 2, 3)]
    assert all((a - b).abs().max() > 1e-3 for i, a in enumerate(versions) for b in versions[i + 1:])
    other_seed = features.load_or_compute_views(report, spec, tmp_path / "a", torch.device("cpu"), 3, True, seed=1)
    assert not other_seed.cache_hit and not torch.equal(other_seed.features, one.features)
    assert features.load_or_compute_views(report, spec, tmp_path / "a", torch.device("cpu"), 3, True, seed=0).cache_hit


def test_a_run_with_views_draws_among_them_caches_them_and_counts_their_cost(halves, tmp_path):
    events = []
    first = fit(_config(halves, augmented_views=2, out_dir=str(tmp_path / "a")), on_event=events.append)
    plain = fit(_config(halves, out_dir=str(tmp_path / "b")))
    again = fit(_config(halves, augmented_views=2, out_dir=str(tmp_path / "c")))
    assert first["status"] == "finished" and first["cache_hit"] is False
    history = lambda summary: [e["train_loss"] for e in runs.Run(Path(summary["run_dir"])).history()]  # noqa: E731
    assert max(abs(a - b) for a, b in zip(history(first), history(plain))) > 1e-3  # other training examples
    assert again["cache_hit"] is True and history(again) == pytest.approx(history(first), abs=1e-6)
    passes = [e for e in events if e["kind"] == "features" and "cache_hit" in e]
    assert [e.get("domain") for e in passes] == ["source", "views"]
    assert first["feature_pass_first_seconds"] == pytest.approx(sum(e["seconds"] for e in passes), abs=0.01)
    views_files = list((tmp_path / "home" / "cache" / "features" / TINY).glob("*-views.safetensors"))
    assert len(views_files) == 1


def test_each_epoch_draws_one_version_of_every_example_from_its_seed():
    versions = torch.arange(3 * 5, dtype=torch.float32).reshape(3, 5, 1)  # version v of item i: 5v + i
    rows = loop.DrawnViews(versions, torch.zeros(5, dtype=torch.long))

    def epoch(seed):
        torch.manual_seed(seed)
        return [int(rows[i][0]) for i in range(5)]

    def batched(seed):
        torch.manual_seed(seed)
        values, labels = rows.__getitems__([4, 0, 2])
        assert values.shape == (3, 1) and labels.shape == (3,)
        return [int(v) for v in values]

    for draw, count in ((epoch, 5), (batched, 3)):
        assert draw(1) == draw(1) and draw(1) != draw(2)
        drawn = [value for seed in range(20) for value in draw(seed)]
        assert len({value % 5 for value in drawn}) == count and {value // 5 for value in drawn} == {0, 1, 2}


def test_views_are_refused_where_they_mean_nothing(colors_folder, reviews_csv):
    with pytest.raises(UserError, match="feature extraction on images"):
        TrainConfig.for_strategy(str(colors_folder), "fine_tune", backbone=TINY, augmented_views=2)
    with pytest.raises(UserError, match="feature extraction on images"):
        TrainConfig.for_strategy(str(reviews_csv), "feature_extract", augmented_views=2)
    with pytest.raises(UserError, match="from 0"):
        _config(colors_folder, augmented_views=-1)
    with pytest.raises(UserError, match="not used with a target"):
        _config(colors_folder, augmented_views=2, target=str(colors_folder), adapt="coral")


def test_the_live_view_says_the_views_are_being_computed():
    now = 1000.0
    events = [{"kind": "start", "time": now - 5, "epochs": 5, "modality": "image", "device": "CPU",
               "strategy": "feature_extract"},
              {"kind": "features", "time": now - 4, "done": 10, "total": 10, "cache_hit": False, "seconds": 1.0,
               "domain": "source"},
              {"kind": "features", "time": now - 3, "done": 0, "total": 40, "domain": "views", "views": 4},
              {"kind": "features", "time": now - 1, "done": 20, "total": 40, "domain": "views", "views": 4}]
    state = progress.follow(events, "running", now=now)
    assert state.phase == "features" and "4 augmented views of every training image" in state.message
