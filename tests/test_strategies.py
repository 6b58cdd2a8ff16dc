"""The strategy registry: what the pages and the CLI derive from it, and a plugin strategy that
appears in both with no other file changed."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from streamlit.testing.v1 import AppTest

from core import backbones, compare, plugins, strategies
from core.data import image_folders
from core.config import TrainConfig
from core.errors import UserError
from tests.helpers import TINY
from tests.plugin_strategy import NAME

ROOT = Path(__file__).resolve().parents[1]
PLUGIN = "tests.plugin_strategy:register_plugin"


@pytest.fixture
def plugin_loaded(monkeypatch):
    monkeypatch.setenv("TRANSFERLAB_PLUGINS", os.environ["TRANSFERLAB_PLUGINS"] + "," + PLUGIN)
    yield
    strategies.unregister(NAME)
    plugins._loaded.discard(PLUGIN)


def test_the_built_in_strategies_declare_what_the_pages_show():
    assert strategies.names("image") == ["feature_extract", "fine_tune", "gradual_unfreeze", "scratch"]
    assert strategies.names("text") == ["feature_extract", "fine_tune", "gradual_unfreeze", "scratch", "tfidf"]
    assert [s.name for s in strategies.compared("image")] == ["scratch", "feature_extract", "fine_tune"]
    assert [s.name for s in strategies.compared("text")] == ["tfidf", "feature_extract", "fine_tune"]
    assert strategies.get("tfidf").layers(backbones.get(TINY), 2) == []
    rows = strategies.get("feature_extract").layers(backbones.get(TINY), 2)
    assert [r["trainable"] for r in rows] == [False] * (len(rows) - 1) + [True]
    assert all(r["trainable"] for r in strategies.get("fine_tune").layers(backbones.get(TINY), 2))
    gradual = strategies.get("gradual_unfreeze").layers(backbones.get(TINY), 2)  # when each block joins, how fast
    assert [r["when"] for r in gradual] == ["stage 3 on, at lr / 2.6", "stage 2 on, at lr",
                                            "stage 1 on, at lr x head multiplier"]
    with pytest.raises(UserError, match="Did you mean fine_tune"):
        strategies.get("fine_tun")
    assert strategies.title("gone_plugin") == "gone_plugin"  # a run of a removed plugin still shows


def test_the_layer_table_opens_a_wrapper_around_a_stack_and_counts_loose_parameters():
    """A ViT's shape: the transformer layers sit in a Sequential inside an encoder that also holds a final norm
    and a position embedding, and a class token hangs on the network itself. Each layer is its own row (so
    gradual unfreezing has blocks to unfreeze one by one), and the loose parameters have a row too."""
    from torch import nn

    from core.backbones.models import TransferModel, describe, layer_groups

    class Encoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.position = nn.Parameter(torch.zeros(5, 4))
            self.layers = nn.Sequential(*[nn.Linear(4, 4) for _ in range(3)])
            self.norm = nn.LayerNorm(4)

    class Vit(nn.Module):
        def __init__(self):
            super().__init__()
            self.class_token = nn.Parameter(torch.zeros(4))
            self.patches = nn.Conv2d(3, 4, 2)
            self.encoder = Encoder()

    model = TransferModel(Vit(), 4, 2)
    assert [name for name, _ in layer_groups("backbone", model.backbone)] == [
        "backbone.patches", "backbone.encoder.layers.0", "backbone.encoder.layers.1", "backbone.encoder.layers.2",
        "backbone.encoder.norm"]
    rows = describe(model)
    assert rows[-2] == {"layer": "backbone.class_token, backbone.encoder.position", "parameters": 24,
                        "trainable": True}
    assert sum(r["parameters"] for r in rows) == sum(p.numel() for p in model.parameters())


def test_recipes_come_from_the_strategy(colors_folder):
    config = TrainConfig.for_strategy(str(colors_folder), "fine_tune")
    assert (config.optimizer, config.scheduler, config.epochs) == ("sgd", "step", 10)
    with pytest.raises(UserError, match="Unknown strategy 'tfidf' for image data"):
        TrainConfig.for_strategy(str(colors_folder), "tfidf")


def _cli(*args, home):
    env = {**os.environ, "TRANSFERLAB_HOME": str(home)}
    return subprocess.run([sys.executable, "-m", "core", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)


def test_a_plugin_strategy_appears_in_the_cli_trains_and_shows_on_the_model_page(plugin_loaded, colors_folder,
                                                                                isolated_home, tmp_path):
    listed = _cli("strategies", "--json", home=isolated_home)
    assert listed.returncode == 0, listed.stderr
    entry = next(e for e in json.loads(listed.stdout) if e["name"] == NAME)
    assert entry["title"] == "Fine-tune the top block" and entry["modalities"] == ["image", "text"]
    assert entry["needs_target"] is False

    trained = _cli("train", "--data", str(colors_folder), "--backbone", TINY, "--strategy", NAME, "--epochs", "2",
                   "--batch-size", "8", "--out", str(tmp_path / "runs"), "--quiet", home=isolated_home)
    assert trained.returncode == 0, trained.stderr
    summary = json.loads(trained.stdout.strip().splitlines()[-1])
    assert summary["status"] == "finished" and summary["strategy"] == NAME
    model = strategies.get(NAME).build(backbones.get(TINY), 2)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    assert summary["trainable_params"] == trainable and summary["frozen_params"] > 0
    weights = load_file(Path(summary["run_dir"]) / "best.safetensors")
    pretrained = model.state_dict()
    frozen = [k for k, p in model.named_parameters() if not p.requires_grad]
    assert frozen and all(torch.equal(weights[k], pretrained[k]) for k in frozen)

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.session_state["report"] = image_folders.load_dataset(colors_folder)
    at.session_state["data"] = str(colors_folder)
    at.run().switch_page("pages/2_model.py").run()
    assert not at.exception
    radio = at.radio[0]
    assert radio.options == ["Feature extraction", "Fine-tuning", "Fine-tune the top block", "Gradual unfreezing",
                             "From scratch (baseline)"]
    radio.set_value(NAME).run()
    assert not at.exception
    trains = [row for row in at.dataframe[-1].value.to_dict("records")]
    assert [r["trains"] for r in trains].count("learns") == 2  # the top block and the head
    assert all(config.strategy != NAME for config in compare.plan(str(colors_folder), TINY))


def test_a_strategy_that_needs_a_target_waits_for_one(colors_folder, tmp_path):
    from core.data import domains
    from core.strategies.feature_extract import FeatureExtraction

    class SelfTraining(FeatureExtraction):
        name, title, needs_target, compared_for = "self_training_test", "Self-training (test)", True, ()

    strategies.register(SelfTraining)
    try:
        with pytest.raises(UserError, match="needs a target dataset"):
            TrainConfig.for_strategy(str(colors_folder), "self_training_test", backbone=TINY)
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
        report = image_folders.load_dataset(colors_folder)
        at.session_state["report"], at.session_state["data"] = report, str(colors_folder)
        at.run().switch_page("pages/2_model.py").run()
        assert "Self-training (test)" not in at.radio[0].options
        assert any(c.value.startswith("Self-training (test): needs a target dataset") for c in at.caption)
        at.session_state["target"] = domains.load_target(str(colors_folder), report)
        at.session_state["target_source"] = str(colors_folder)
        at.run()
        assert "Self-training (test)" in at.radio[0].options and not at.exception
    finally:
        strategies.unregister("self_training_test")
