"""Frozen passes on an inference engine (core/backbones/engine.py): the same features as PyTorch's pass, on real
images and real texts in two languages, with either engine; PyTorch where the engine cannot run it, said once."""

import pytest
import torch

from core import backbones, data, features
from core.backbones import engine
from core.data.report import DataReport

CPU = torch.device("cpu")


def _subset(report: DataReport, per_class: int) -> DataReport:
    subset = report.at_most_per_class(per_class, 0)
    subset.val, subset.set_aside = [], []
    return subset


def _both(report: DataReport, spec, monkeypatch, engine_name: str, **settings) -> tuple[torch.Tensor, torch.Tensor]:
    monkeypatch.setenv("TRANSFERLAB_ENGINE", "torch")
    expected = features.compute_features(report, spec, CPU, **settings)
    monkeypatch.setenv("TRANSFERLAB_ENGINE", engine_name)
    return features.compute_features(report, spec, CPU, **settings), expected


@pytest.mark.parametrize("engine_name", ["openvino", "onnxruntime"])
def test_real_digits_and_photos_give_pytorchs_features(monkeypatch, engine_name):
    spec = backbones.get("efficientnet_lite0")
    if not spec.availability().available:
        pytest.skip("EfficientNet-Lite0's weights are not installed")
    for sample in ("sample:mnist", "sample:mnist-m"):
        report = _subset(data.load_dataset(sample, 0.2, 0), 2)  # 20 images: a batch of 16 and one of 4
        found, expected = _both(report, spec, monkeypatch, engine_name)
        assert found.shape == expected.shape == (20, spec.feature_dim)
        assert float((found - expected).abs().max()) <= engine.TOLERANCE
    assert engine.chosen() == engine_name


@pytest.mark.parametrize("engine_name", ["openvino", "onnxruntime"])
def test_real_texts_in_two_languages_give_pytorchs_features(monkeypatch, tmp_path, engine_name):
    spec = backbones.get("all_minilm_l6_v2")
    if not spec.availability().available:
        pytest.skip("all-MiniLM-L6-v2 is not installed")
    report = _subset(data.load_dataset("sample:bbc", 0.2, 0), 3)
    chinese = ["这家酒店的房间很干净，服务也很好，下次还会再来。", "太吵了，晚上根本睡不着，空调也坏了，非常失望。",
               "位置不错", "早餐种类很少，但是价格便宜，性价比还可以，总的来说值得推荐给朋友们。"]
    report.texts.update({f"zh{i}": text for i, text in enumerate(chinese)})
    report.train += [(f"zh{i}", 0) for i in range(len(chinese))]
    # batches of different lengths than the one traced: the export's sequence axis is dynamic
    found, expected = _both(report, spec, monkeypatch, engine_name, batch_size=4, max_length=64)
    assert found.shape == expected.shape == (19, spec.feature_dim)
    assert float((found - expected).abs().max()) <= engine.TOLERANCE


def test_the_export_is_kept_beside_the_feature_cache_and_read_back(monkeypatch, tmp_path, tiny_backbone,
                                                                    colors_folder):
    monkeypatch.delenv("TRANSFERLAB_ENGINES")
    monkeypatch.setenv("TRANSFERLAB_ENGINE", "onnxruntime")
    report = data.load_dataset(str(colors_folder), 0.25, 0)
    cache = tmp_path / "cache"
    found = features.load_or_compute(report, tiny_backbone, cache, CPU)
    path = engine.engine_path(cache, tiny_backbone, 128)
    assert path.is_file() and path.parent.parent == cache / "engines"
    assert not list(path.parent.glob("*.partial"))
    engine._compiled.clear()  # a new process: compiled again from the file, not exported
    example = next(iter(features.make_loader(report, report.all_items(), tiny_backbone, 8, train=False, seed=0,
                                             device=CPU)))[0]
    again = engine.pass_for(tiny_backbone, CPU, cache, example)
    assert again is not None and not again.exported and again.name == "onnxruntime"
    monkeypatch.setenv("TRANSFERLAB_ENGINE", "torch")
    assert torch.allclose(features.compute_features(report, tiny_backbone, CPU), found.features, atol=engine.TOLERANCE)


def test_pytorch_runs_the_pass_where_no_engine_should(monkeypatch, tiny_backbone, colors_folder, tmp_path):
    report = data.load_dataset(str(colors_folder), 0.25, 0)
    example = next(iter(features.make_loader(report, report.all_items(), tiny_backbone, 8, train=False, seed=0,
                                             device=CPU)))[0]
    assert engine.pass_for(tiny_backbone, torch.device("cuda"), tmp_path, example) is None  # GPUs keep PyTorch
    monkeypatch.setenv("TRANSFERLAB_ENGINE", "torch")
    assert engine.chosen() == "torch" and engine.pass_for(tiny_backbone, CPU, tmp_path, example) is None
    monkeypatch.setenv("TRANSFERLAB_ENGINE", "onnxruntime")
    assert engine.pass_for(tiny_backbone, CPU, tmp_path, example) is not None


def test_a_backbone_that_does_not_export_falls_back_to_pytorch_and_says_so_once(monkeypatch, tiny_backbone,
                                                                               colors_folder, tmp_path):
    monkeypatch.setenv("TRANSFERLAB_ENGINES", str(tmp_path / "engines"))
    monkeypatch.setenv("TRANSFERLAB_ENGINE", "onnxruntime")
    monkeypatch.setattr(engine, "_said", set())

    tried = []

    def refuse(*_args, **_kwargs):
        tried.append(1)
        raise RuntimeError("an operator ONNX does not have")

    monkeypatch.setattr(torch.onnx, "export", refuse)
    report = data.load_dataset(str(colors_folder), 0.25, 0)
    notices = []
    first = features.compute_features(report, tiny_backbone, CPU, on_notice=notices.append)
    second = features.compute_features(report, tiny_backbone, CPU, on_notice=notices.append)
    assert len(notices) == 1 and len(tried) == 1  # not tried again in this process
    assert "runs on PyTorch here" in str(notices[0]) and "an operator ONNX does not have" in str(notices[0])
    assert not list((tmp_path / "engines").rglob("*.onnx")) and not list((tmp_path / "engines").rglob("*.partial"))
    monkeypatch.setenv("TRANSFERLAB_ENGINE", "torch")
    assert torch.equal(first, second) and torch.equal(first, features.compute_features(report, tiny_backbone, CPU))


def test_an_export_that_disagrees_with_pytorch_is_not_kept(monkeypatch, tiny_backbone, colors_folder, tmp_path):
    monkeypatch.setenv("TRANSFERLAB_ENGINES", str(tmp_path / "engines"))
    monkeypatch.setenv("TRANSFERLAB_ENGINE", "onnxruntime")
    monkeypatch.setattr(engine, "_said", set())
    monkeypatch.setattr(engine, "TOLERANCE", -1.0)  # nothing agrees closely enough
    report = data.load_dataset(str(colors_folder), 0.25, 0)
    notices = []
    features.compute_features(report, tiny_backbone, CPU, on_notice=notices.append)
    assert len(notices) == 1 and "differ from PyTorch" in str(notices[0])
    assert not list((tmp_path / "engines").rglob("*.onnx"))


def test_predictions_of_a_head_on_frozen_features_come_from_the_engine_with_the_same_probabilities(
        monkeypatch, tiny_backbone, colors_folder, tmp_path):
    from PIL import Image

    from core import inference
    from core.config import TrainConfig
    from core.train import fit

    monkeypatch.setenv("TRANSFERLAB_ENGINE", "onnxruntime")
    summary = fit(TrainConfig.for_strategy(str(colors_folder), "feature_extract", backbone=tiny_backbone.name,
                                           epochs=2, out_dir=str(tmp_path / "runs")))
    images = [Image.open(path).convert("RGB") for path in sorted(colors_folder.rglob("*.png"))[:5]]
    images.append(images[0].resize((50, 20)))  # any size: each image is preprocessed on its own
    predictor = inference.load(summary["run_dir"])
    calls = []
    original = engine.Engine.__call__
    monkeypatch.setattr(engine.Engine, "__call__", lambda self, inputs: calls.append(1) or original(self, inputs))
    on_engine = predictor.predict_images(images)
    assert calls  # the engine answered
    monkeypatch.setenv("TRANSFERLAB_ENGINE", "torch")
    on_torch = predictor.predict_images(images)
    assert on_engine.shape == (6, 2) and abs(on_engine - on_torch).max() <= engine.TOLERANCE


def test_text_predictions_of_a_head_on_frozen_features_match_pytorch(monkeypatch, reviews_csv, tmp_path):
    from core import inference
    from core.config import TrainConfig
    from core.train import fit
    from tests.helpers import TINY_BERT

    monkeypatch.setenv("TRANSFERLAB_ENGINE", "onnxruntime")
    summary = fit(TrainConfig.for_strategy(str(reviews_csv), "feature_extract", backbone=TINY_BERT, epochs=2,
                                           out_dir=str(tmp_path / "runs")))
    predictor = inference.load(summary["run_dir"])
    texts = ["the movie was good", "awful, really bad and sad, a dreadful film from start to end", "这部电影很好看"]
    on_engine = predictor.predict_texts(texts, batch_size=2)
    monkeypatch.setenv("TRANSFERLAB_ENGINE", "torch")
    on_torch = predictor.predict_texts(texts, batch_size=2)
    assert on_engine.shape == (3, 2) and abs(on_engine - on_torch).max() <= engine.TOLERANCE
