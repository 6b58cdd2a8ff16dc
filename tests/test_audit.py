"""The privacy audit (core/audit.py): a membership-inference test on a run's saved model."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from core import audit, train
from core.config import TrainConfig
from core.errors import UserError
from tests.helpers import TINY

ROOT = Path(__file__).resolve().parents[1]


def test_the_attack_auc_is_a_coin_for_alike_losses_and_certain_for_separated_ones():
    rng = np.random.default_rng(0)
    alike = audit.auc_and_advantage(rng.exponential(1.0, 2000), rng.exponential(1.0, 2000))
    assert abs(alike[0] - 0.5) < 0.03 and alike[1] < 0.06
    assert audit.auc_and_advantage(np.full(50, 0.01), np.full(50, 2.0)) == (1.0, 1.0)
    assert "coin" in audit.words(0.505, (0.45, 0.56)) and "clear leak" in audit.words(0.9, (0.86, 0.94))


def test_an_auc_that_chance_could_give_is_no_evidence_of_a_leak():
    """Hanley-McNeil: 200 against 200 at 50% spans about +-5.7 points, so 54% is chance; 2,000 against 2,000
    narrow it to about +-1.8, where 54% is a slight leak."""
    from core import metrics

    small, large = metrics.auc_interval(0.5, 200, 200), metrics.auc_interval(0.5, 2000, 2000)
    assert small[0] == pytest.approx(0.443, abs=0.002) and small[1] == pytest.approx(0.557, abs=0.002)
    assert large[1] - large[0] < (small[1] - small[0]) / 3
    assert "no better than a coin" in audit.words(0.54, metrics.auc_interval(0.54, 200, 200))
    assert "slight leak" in audit.words(0.54, metrics.auc_interval(0.54, 2000, 2000))
    rng = np.random.default_rng(0)  # the interval covers what sampling does: alike losses, many draws
    covered = [metrics.auc_interval(auc, 100, 100)[0] <= 0.5 <= metrics.auc_interval(auc, 100, 100)[1]
               for auc, _ in (audit.auc_and_advantage(rng.exponential(1.0, 100), rng.exponential(1.0, 100))
                              for _ in range(200))]
    assert 0.9 <= sum(covered) / len(covered) <= 0.99


def _finished_run(folder, tmp_path) -> str:
    config = TrainConfig.for_strategy(str(folder), "feature_extract", backbone=TINY, epochs=3, batch_size=8,
                                      out_dir=str(tmp_path / "runs"))
    return train.fit(config)["run_dir"]


def test_a_model_sure_of_its_training_examples_only_is_caught(colors_folder, tmp_path, monkeypatch):
    """The attack's direction and its sampling: a stand-in model that is confident on exactly the run's
    training images (and unsure elsewhere) must score an AUC of 100%."""
    run_dir = _finished_run(colors_folder, tmp_path)
    real = audit.inference.load(run_dir)
    members = {key for key, _ in audit.DataReport.from_dict(real.run.read_json("data.json")).train}
    seen = []

    class Remembers:
        modality, labels = "image", real.labels
        model = None  # no head on cached features: every image goes through predict_images

        def predict_images(self, pictures):
            rows = []
            for picture in pictures:
                key = seen.pop(0)
                label = key[1]
                confident = np.full(len(self.labels), 0.01)
                confident[label] = 0.99 if key[0] in members else 0.4
                rows.append(confident)
            return np.array(rows)

    original = audit._losses

    def remembering(predictor, report, items):
        seen.extend(items)
        return original(predictor, report, items)
    monkeypatch.setattr(audit.inference, "load", lambda _: Remembers())
    monkeypatch.setattr(audit, "_losses", remembering)
    found = audit.audit(run_dir)
    assert found.mia_auc == 1.0 and found.advantage == 1.0 and "clear leak" in found.words


def test_a_real_run_is_audited_the_same_way_twice_and_by_the_cli(colors_folder, tmp_path):
    run_dir = _finished_run(colors_folder, tmp_path)
    found = audit.audit(run_dir)
    train_count = len(json.loads((Path(run_dir) / "data.json").read_text())["train"])
    assert found.members == train_count and found.non_members == 24 - train_count
    assert 0.0 <= found.mia_auc <= 1.0 and found.member_loss > 0
    done = subprocess.run([sys.executable, "-m", "core", "audit", run_dir, "--json"], cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[-1])["mia_auc"] == found.mia_auc  # seeded: the same sample


def test_a_head_on_cached_features_is_audited_on_them_with_the_same_losses_as_the_whole_model(colors_folder,
                                                                                             tmp_path):
    run_dir = _finished_run(colors_folder, tmp_path)
    config = TrainConfig.load(Path(run_dir) / "config.json")
    report = audit.DataReport.from_dict(json.loads((Path(run_dir) / "data.json").read_text()))
    predictor = audit.inference.load(run_dir)
    quick = audit._losses_on_cached_features(predictor, report)
    assert quick is not None  # training left the features in the cache
    items = report.train + report.val
    assert np.allclose(quick(items), audit._losses(predictor, report, items), atol=1e-4)
    with_cache = audit.audit(run_dir)
    for cached in (Path(config.cache_dir) / "features").rglob("*.safetensors"):
        cached.unlink()
    assert audit._losses_on_cached_features(predictor, report) is None  # no cache: through the whole model
    assert audit.audit(run_dir).mia_auc == pytest.approx(with_cache.mia_auc, abs=1e-6)


def test_only_finished_runs_are_audited(tmp_path):
    with pytest.raises(UserError, match="not a finished run"):
        audit.audit(tmp_path)


def test_a_run_whose_images_were_moved_is_refused_with_where_to_put_them(tmp_path):
    """The audit (without a feature cache) and the export's check read the images again: moved since the
    run, they are asked for back, not a FileNotFoundError traceback; the export leaves no folder behind."""
    from core.inference import export as exporting
    from tests.helpers import make_image_folder

    data = make_image_folder(tmp_path / "colors", {"red": 10, "blue": 10})
    config = TrainConfig.for_strategy(str(data), "fine_tune", backbone=TINY, epochs=1, batch_size=8,
                                      out_dir=str(tmp_path / "runs"))
    run_dir = train.fit(config)["run_dir"]
    data.rename(tmp_path / "moved")
    with pytest.raises(UserError, match=r"images the audit scores are not where the run found them.*Put the data "
                                        r"back in"):
        audit.audit(run_dir)
    with pytest.raises(UserError, match="images the export is checked on are not where the run found them"):
        exporting.export_run(run_dir, tmp_path / "export")
    assert not (tmp_path / "export").exists()
