"""Pretrain, then transfer: a finished run's trained network as the backbone of new runs."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from streamlit.testing.v1 import AppTest

from core import backbones, features, run_backbones
from core.data import image_folders
from core.config import TrainConfig
from core.errors import UserError
from core.train import fit
from tests.helpers import TINY, make_image_folder

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def pretrained_run(colors_folder, isolated_home):
    """A small network trained from scratch: the "large task" of the story."""
    return fit(TrainConfig.for_strategy(str(colors_folder), "scratch", backbone=TINY, epochs=3, batch_size=8,
                                        lr=0.01))


def test_a_finished_run_is_a_backbone_with_its_own_weights(pretrained_run, colors_folder, tmp_path):
    name = run_backbones.name_for(pretrained_run["run_dir"])
    spec = backbones.get(name)
    assert spec.pretrained and spec.modality == "image" and spec.weights_id and spec.source == "run"
    trained = {k[len("backbone."):]: v for k, v in __import__("safetensors.torch", fromlist=["load_file"]).load_file(
        Path(pretrained_run["run_dir"]) / "best.safetensors").items() if k.startswith("backbone.")}
    network = backbones.create_backbone(spec)
    assert all(torch.equal(network.state_dict()[k], trained[k]) for k in trained)
    assert not all(torch.equal(backbones.create_backbone(backbones.get(TINY)).state_dict()[k], trained[k])
                   for k in trained)  # the run's weights, not the registry's

    small = make_image_folder(tmp_path / "small", {"red": 6, "blue": 6})
    extracted = fit(TrainConfig.for_strategy(str(small), "feature_extract", backbone=name, epochs=5, batch_size=4))
    tuned = fit(TrainConfig.for_strategy(str(small), "fine_tune", backbone=name, epochs=2, batch_size=4))
    assert extracted["status"] == tuned["status"] == "finished"
    assert extracted["frozen_params"] == spec.num_params and tuned["frozen_params"] == 0
    assert "from-" in Path(extracted["run_dir"]).name

    # the cache keys on the weights: another run's network computes other features, in another file
    again = fit(TrainConfig.for_strategy(str(small), "feature_extract", backbone=name, epochs=2, batch_size=4))
    assert again["cache_hit"] is True
    other = fit(TrainConfig.for_strategy(str(colors_folder), "scratch", backbone=TINY, epochs=2, batch_size=8,
                                         seed=5, lr=0.05))
    other_spec = backbones.get(run_backbones.name_for(other["run_dir"]))
    report = image_folders.load_dataset(small)
    assert features.cache_key(report, other_spec) != features.cache_key(report, spec)


def test_only_runs_that_trained_their_network_qualify(colors_folder, pretrained_run):
    extracted = fit(TrainConfig.for_strategy(str(colors_folder), "feature_extract", backbone=TINY, epochs=2,
                                             batch_size=8))
    with pytest.raises(UserError, match="feature extraction leaves the backbone as it was"):
        backbones.get(run_backbones.name_for(extracted["run_dir"]))
    with pytest.raises(UserError, match="is not a run folder"):
        backbones.get("run:" + str(colors_folder))
    listed = run_backbones.describe_runs(Path(pretrained_run["run_dir"]).parent, "image")
    assert [row["name"] for row in listed] == [run_backbones.name_for(pretrained_run["run_dir"])]
    assert run_backbones.describe_runs(Path(pretrained_run["run_dir"]).parent, "text") == []


def test_the_cli_and_the_model_page_offer_your_models(pretrained_run, colors_folder, isolated_home, tmp_path):
    name = run_backbones.name_for(pretrained_run["run_dir"])
    env = {**os.environ, "TRANSFERLAB_HOME": str(isolated_home)}
    result = subprocess.run([sys.executable, "-m", "core", "train", "--data", str(colors_folder), "--backbone", name,
                             "--strategy", "feature_extract", "--epochs", "2", "--quiet", "--out",
                             str(tmp_path / "out")], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1])["backbone"] == name

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.session_state["report"] = image_folders.load_dataset(colors_folder)
    at.session_state["data"] = str(colors_folder)
    at.run().switch_page("pages/2_model.py").run()
    assert not at.exception
    assert any("Your models" in m.value for m in at.markdown)
    run_id = Path(pretrained_run["run_dir"]).name
    at.button(key=f"pick_run_{run_id}").click().run()
    assert at.session_state.backbone == name and not at.exception
    assert [r for r in at.radio[0].options] == ["Feature extraction", "Fine-tuning", "Gradual unfreezing",
                                                "From scratch (baseline)"]
