import json
import subprocess
import sys
from pathlib import Path

import pytest
from safetensors.torch import load_file

from core import backbones, features, runs
from core.config import TrainConfig
from core.errors import UserError
from core.train import fit
from tests.helpers import TINY_BERT

ROOT = Path(__file__).resolve().parents[1]


def _config(data, strategy="feature_extract", **overrides) -> TrainConfig:
    return TrainConfig.for_strategy(str(data), strategy, **{"backbone": TINY_BERT, "epochs": 6, "batch_size": 8,
                                                           "max_length": 32, **overrides})


def test_feature_extraction_on_texts_learns_and_caches_per_max_length(reviews_csv, monkeypatch):
    calls = []
    original = features.compute_features
    monkeypatch.setattr(features, "compute_features", lambda *a, **k: calls.append(1) or original(*a, **k))
    first = fit(_config(reviews_csv, lr=0.05, epochs=15))
    again = fit(_config(reviews_csv, lr=0.01, epochs=2))
    longer = fit(_config(reviews_csv, epochs=1, max_length=64))
    assert first["modality"] == "text" and first["best_val_acc"] >= 0.85
    assert (first["cache_hit"], again["cache_hit"], longer["cache_hit"]) == (False, True, False) and len(calls) == 2
    assert first["best_val_macro_f1"] is not None and len(first["per_class"]) == 2


def test_fine_tuning_with_warmup_decay_and_gradient_accumulation(reviews_csv):
    events = []
    summary = fit(_config(reviews_csv, "fine_tune", epochs=2, batch_size=8, micro_batch_size=4, lr=1e-3),
                  on_event=events.append)
    epochs = [e for e in events if e["kind"] == "epoch"]
    batches = [e for e in events if e["kind"] == "batch"]
    assert summary["status"] == "finished" and summary["frozen_params"] == 0
    assert batches[0]["examples"] == 4  # micro batches of 4 make optimizer steps of 8
    assert epochs[-1]["backbone_lr"] < 1e-3 * 0.6 and epochs[-1]["lr"] < epochs[0]["lr"] * 10  # decaying
    weights = load_file(Path(summary["run_dir"]) / "best.safetensors")
    assert any(k.startswith("backbone.model.encoder") for k in weights)


def test_tfidf_baseline_reports_macro_f1_and_saves_no_pickle(reviews_csv):
    summary = fit(TrainConfig.for_strategy(str(reviews_csv), "tfidf"))
    run = runs.Run(Path(summary["run_dir"]))
    assert summary["backbone"] == "tfidf" and summary["best_val_acc"] >= 0.9 and summary["best_val_macro_f1"] >= 0.9
    assert set(load_file(run.dir / "best.safetensors")) == {"idf", "coef", "intercept", "classes"}
    assert "movie" in run.read_json("tfidf_vocabulary.json")["vocabulary"]
    assert not list(run.dir.glob("*.pkl")) and not list(run.dir.glob("*.pickle"))
    predictions = run.read_json("predictions.json")
    assert {"item", "label", "predicted", "confidence", "true_probability"} <= set(predictions[0])


def test_lstm_from_scratch_baseline(reviews_csv):
    summary = fit(_config(reviews_csv, "scratch", backbone="text_lstm", epochs=2))
    assert summary["status"] == "finished" and summary["trainable_params"] > 3_000_000


def test_text_and_image_mismatch_is_explained(reviews_csv, colors_folder):
    with pytest.raises(UserError, match="image backbone but the data holds texts"):
        fit(_config(reviews_csv, backbone="efficientnet_lite0"))
    with pytest.raises(UserError, match="Unknown strategy 'tfidf' for image data"):
        TrainConfig.for_strategy(str(colors_folder), "tfidf")


def test_minilm_loads_offline_and_embeds(reviews_csv):
    spec = backbones.get("all_minilm_l6_v2")
    assert spec.availability().status == "local"
    summary = fit(TrainConfig.for_strategy(str(reviews_csv), "feature_extract", backbone=spec.name, epochs=10,
                                           max_length=32))
    assert summary["best_val_acc"] >= 0.9 and summary["frozen_params"] == 22_713_216


def test_models_needing_remote_code_are_refused(tmp_path):
    folder = tmp_path / "custom-model"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"model_type": "bert", "hidden_size": 32,
                                                    "auto_map": {"AutoModel": "modeling_evil.EvilModel"}}))
    with pytest.raises(UserError, match="trust_remote_code"):
        backbones.get(str(folder))
    (folder / "config.json").write_text(json.dumps({"model_type": "evilnet", "hidden_size": 32}))
    with pytest.raises(UserError, match="never runs code"):
        backbones.get(str(folder))


def test_a_local_model_folder_can_be_used(tmp_path, reviews_csv):
    from transformers import BertConfig, BertModel

    from core.backbones.text_backbones import load_tokenizer, minilm_dir

    folder = tmp_path / "my-bert"
    BertModel(BertConfig(vocab_size=30522, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                         intermediate_size=64)).save_pretrained(folder)
    load_tokenizer(str(minilm_dir())).save_pretrained(folder)
    spec = backbones.get(str(folder))
    assert spec.modality == "text" and spec.feature_dim == 32 and spec.availability().available
    summary = fit(_config(reviews_csv, backbone=str(folder), epochs=2))
    assert summary["status"] == "finished"
    backbones.unregister(str(folder))


def test_cli_trains_on_a_csv_and_prints_the_guessed_columns(reviews_csv, isolated_home, tmp_path):
    import os
    env = {**os.environ, "TRANSFERLAB_HOME": str(isolated_home), "TRANSFERLAB_OFFLINE": "1"}
    result = subprocess.run([sys.executable, "-m", "core", "train", "--data", str(reviews_csv), "--strategy", "tfidf",
                             "--out", str(tmp_path / "out")], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    assert "columns: text='review' label='sentiment' (guessed" in result.stdout
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert {"best_val_acc", "best_val_macro_f1", "final_val_acc", "epochs", "seconds", "device", "run_dir"} <= set(summary)
