"""Explanations: Grad-CAM finds the informative region; token importance points at the telling words."""

import numpy as np
from PIL import Image

from core.config import TrainConfig
from core.explain import grad_cam, overlay, token_importance
from core.inference import load
from core.train import fit
from tests.helpers import NEGATIVE, POSITIVE, TINY_BERT


def _patch_image(color: tuple[int, int, int], seed: int, size: int = 64) -> Image.Image:
    """Grey noise everywhere; the class is a coloured square in the top-left quarter only."""
    rng = np.random.default_rng(seed)
    pixels = rng.integers(60, 200, (size, size, 3)).astype(np.uint8)
    pixels[4:28, 4:28] = color
    return Image.fromarray(pixels)


def test_grad_cam_highlights_the_region_that_decides_the_class(tmp_path):
    for name, color in (("red", (230, 20, 20)), ("blue", (20, 20, 230))):
        (tmp_path / "patches" / name).mkdir(parents=True)
        for index in range(20):
            _patch_image(color, seed=index + (0 if name == "red" else 1000)).save(tmp_path / "patches" / name / f"{index}.png")
    summary = fit(TrainConfig.for_strategy(str(tmp_path / "patches"), "scratch", backbone="small_cnn", epochs=8,
                                           batch_size=8, lr=3e-3, patience=0, horizontal_flip=False, augment=False))
    assert summary["best_val_acc"] == 1.0
    predictor = load(summary["run_dir"])
    explanation = grad_cam(predictor, _patch_image((230, 20, 20), seed=777))
    size = predictor.preprocess.input_size
    heat = explanation.heatmap
    assert heat.shape == (size, size) and heat.min() >= 0.0 and heat.max() == 1.0
    assert predictor.labels[explanation.class_index] == "red" and explanation.method == "Grad-CAM"
    inside = heat[: size * 28 // 64, : size * 28 // 64].mean()
    outside = heat[size // 2:, size // 2:].mean()
    assert inside > 3 * outside, (inside, outside)
    other = grad_cam(predictor, _patch_image((230, 20, 20), seed=777), class_index=predictor.labels.index("blue"))
    assert other.class_index == predictor.labels.index("blue")
    assert overlay(explanation).size == (size, size)


def test_token_importance_points_at_the_words_that_carry_the_label(reviews_csv):
    summary = fit(TrainConfig.for_strategy(str(reviews_csv), "fine_tune", backbone=TINY_BERT, epochs=8, lr=1e-3,
                                           batch_size=8, patience=0))
    predictor = load(summary["run_dir"])
    explanation = token_importance(predictor, "the movie was superb and excellent")
    words = [word for word, _ in explanation.words]
    assert words == ["the", "movie", "was", "superb", "and", "excellent"]
    assert abs(sum(abs(score) for _, score in explanation.words) - 1.0) < 1e-6
    assert predictor.labels[explanation.class_index] == "positive"
    ranked = sorted(explanation.words, key=lambda item: -item[1])
    assert {ranked[0][0], ranked[1][0]} & (set(POSITIVE) | {"superb", "excellent"})


def test_tfidf_importance_is_each_words_exact_contribution(reviews_csv):
    predictor = load(fit(TrainConfig.for_strategy(str(reviews_csv), "tfidf"))["run_dir"])
    explanation = token_importance(predictor, "The movie was dreadful, really awful.")
    scores = dict(explanation.words)
    assert predictor.labels[explanation.class_index] == "negative"
    assert scores["dreadful,"] > 0 and scores["awful."] > 0 and max(scores, key=scores.get) in ("dreadful,", "awful.")
    assert abs(sum(abs(v) for v in scores.values()) - 1.0) < 1e-6
    assert all(word.strip(",.") in set(NEGATIVE) | {"The", "movie", "was", "really"} for word in scores)


def test_embedding_map_before_and_after_fine_tuning(colors_folder):
    from core.embeddings import embedding_map, separation

    predictor = load(fit(TrainConfig.for_strategy(str(colors_folder), "fine_tune", backbone="tiny_test", epochs=3,
                                                  batch_size=8, lr=0.05, patience=0))["run_dir"])
    result = embedding_map(predictor, "pca")
    assert len(result["before"]) == len(result["after"]) == len(result["labels"]) == len(predictor.run.read_json(
        "data.json")["val"])
    assert result["same"] is False and result["before"] != result["after"]
    assert separation(result["after"], result["labels"]) > 0
    assert (predictor.run.dir / "embedding_map-pca.json").is_file()
    assert embedding_map(predictor, "pca") == result  # kept in the run folder
    assert len(embedding_map(predictor, "tsne")["after"]) == len(result["after"])
