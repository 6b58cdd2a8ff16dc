"""Export, reload in a fresh process, predict the same; the CLI's export and predict; metrics."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
from core import metrics
from core.data import images
from core.config import TrainConfig
from core.inference.export import export_run, zip_folder
from core.inference import load
from core.train import fit
from tests.helpers import TINY, TINY_BERT

ROOT = Path(__file__).resolve().parents[1]


def _run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=cwd, capture_output=True, text=True, timeout=300)


def _lines(result: subprocess.CompletedProcess) -> list[dict]:
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.strip().splitlines()]


def test_the_loaded_model_reproduces_the_validation_predictions_of_training(colors_folder):
    summary = fit(TrainConfig.for_strategy(str(colors_folder), "fine_tune", backbone=TINY, epochs=2, batch_size=8))
    predictor = load(summary["run_dir"])
    stored = json.loads((Path(summary["run_dir"]) / "predictions.json").read_text())
    again = predictor.predict_images([images.load_rgb(colors_folder / row["item"]) for row in stored])
    assert np.abs(again - np.array([row["probabilities"] for row in stored])).max() < 1e-4


def test_an_exported_image_model_predicts_the_same_in_a_fresh_process(colors_folder, tmp_path):
    summary = fit(TrainConfig.for_strategy(str(colors_folder), "feature_extract", backbone=TINY, epochs=5, lr=0.05))
    out = tmp_path / "export"
    result = export_run(summary["run_dir"], out)
    parity = result["parity"]
    assert parity["passed"] and parity["examples"] == summary["val_images"] and parity["labels_agree"]
    assert parity["max_probability_difference"] < 1e-4
    assert {"model.onnx", "model.pt2", "labels.json", "config.json", "README.md", "predict.py",
            "preprocessing.json", "requirements.txt", "parity.json"} <= set(result["files"])
    # new images of other sizes than the training ones: resizing happens inside the exported graph
    from tests.helpers import make_image

    inputs = []
    for index, (color, size) in enumerate([((220, 30, 30), 57), ((30, 30, 220), 23), ((200, 40, 40), 120)]):
        path = tmp_path / f"new{index}.png"
        make_image(color, seed=100 + index, size=size).save(path)
        inputs.append(str(path))
    exported = _lines(_run(str(out / "predict.py"), *inputs, cwd=tmp_path))  # no TransferLab, no torch needed
    in_app = _lines(_run("-m", "core", "predict", summary["run_dir"], *inputs))
    assert [row["label"] for row in exported] == [row["label"] for row in in_app] == ["red", "blue", "red"]
    for a, b in zip(exported, in_app):
        assert max(abs(a["probabilities"][k] - b["probabilities"][k]) for k in a["probabilities"]) < 1e-4
    card = (out / "README.md").read_text()
    assert "Intended use and limits" in card and "95% confidence interval" in card and "agree" in card
    names = zip_folder(out)
    assert b"export/model.onnx" in names and b"export/predict.py" in names


def test_an_exported_text_model_with_its_tokenizer_predicts_the_same(reviews_csv, tmp_path):
    summary = fit(TrainConfig.for_strategy(str(reviews_csv), "feature_extract", backbone=TINY_BERT, epochs=10,
                                           lr=0.05))
    out = tmp_path / "export"
    result = export_run(summary["run_dir"], out)
    assert result["parity"]["passed"] and (out / "tokenizer.json").is_file()
    texts = ["the movie was lovely and superb", "dreadful, awful, nasty", "words " * 300]  # the last one is cut
    exported = _lines(_run(str(out / "predict.py"), *texts, cwd=tmp_path))
    in_app = load(summary["run_dir"]).predict_texts(texts)
    assert [row["label"] for row in exported] == [load(summary["run_dir"]).labels[i] for i in in_app.argmax(1)]
    probabilities = np.array([[row["probabilities"][label] for label in ("negative", "positive")] for row in exported])
    assert np.abs(probabilities - in_app).max() < 1e-4


def test_cli_export_writes_the_folder_and_reports_parity(colors_folder, tmp_path):
    summary = fit(TrainConfig.for_strategy(str(colors_folder), "feature_extract", backbone=TINY, epochs=2))
    result = _run("-m", "core", "export", summary["run_dir"], "--out", str(tmp_path / "cli-export"))
    report = _lines(result)[-1]
    assert report["parity"]["passed"] and (tmp_path / "cli-export" / "model.onnx").is_file()
    assert "labels agree" in result.stderr
    bad = _run("-m", "core", "predict", summary["run_dir"], str(tmp_path / "missing.png"))
    assert bad.returncode == 1 and bad.stderr.startswith("error: No such image file")


def test_tfidf_runs_predict_and_export_with_words_counted_like_scikit_learn(reviews_csv, tmp_path):
    summary = fit(TrainConfig.for_strategy(str(reviews_csv), "tfidf"))
    predictor = load(summary["run_dir"])
    stored = json.loads((Path(summary["run_dir"]) / "predictions.json").read_text())
    texts = json.loads((Path(summary["run_dir"]) / "data.json").read_text())["texts"]
    again = predictor.predict_texts([texts[row["item"]] for row in stored])
    assert np.abs(again - np.array([row["probabilities"] for row in stored])).max() < 1e-4
    result = export_run(summary["run_dir"], tmp_path / "export")
    assert result["parity"]["passed"] and "vocabulary.json" in result["files"]
    tricky = ["The movie was DREADFUL... really awful!", "Superb, lovely; très nice", "x"]  # case, accents, no words
    exported = _lines(_run(str(tmp_path / "export" / "predict.py"), *tricky, cwd=tmp_path))
    in_app = predictor.predict_texts(tricky)
    probabilities = np.array([[row["probabilities"][label] for label in predictor.labels] for row in exported])
    assert np.abs(probabilities - in_app).max() < 1e-4
    assert [row["label"] for row in exported[:2]] == ["negative", "positive"]


def test_accuracy_interval_is_wilsons():
    low, high = metrics.accuracy_interval(0.9, 100)
    assert round(low, 4) == 0.8256 and round(high, 4) == 0.9448
    low, high = metrics.accuracy_interval(1.0, 10)  # 10/10 is not proof of perfection
    assert high == 1.0 and round(low, 3) == 0.722
