"""Using a trained run: predictions (this file), and the export that runs outside the app (export.py, which
ships predict_template.py as the exported folder's predict.py).

A finished run's model, loaded back for predictions, explanations and embeddings.

``load(run_dir)`` rebuilds exactly what training kept (best.safetensors over the run's backbone
and preprocessing), in eval mode on the CPU (or the device asked for). Images go in as decoded RGB
images (raw pixels: the preprocessing is part of the predictor, as in the export); texts as
strings, tokenised with the run's tokenizer and max length. TF-IDF runs predict with the saved
vocabulary, IDF weights and coefficients.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn

from core import backbones, runs, strategies
from core.config import TrainConfig
from core.errors import UserError
from core.i18n import lazy
from core.backbones.models import TransferModel
from core.backbones.preprocess import ImagePreprocess, pixels

if TYPE_CHECKING:
    from core.data.domains import Target


class ImageClassifier(nn.Module):
    """Raw pixels in, class probabilities out: preprocessing + backbone + head + softmax (what is exported)."""

    def __init__(self, preprocess: ImagePreprocess, model: TransferModel) -> None:
        super().__init__()
        self.preprocess, self.model = preprocess, model

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        return self.model(self.preprocess(pixels)).softmax(1)


class TfidfClassifier(nn.Module):
    """TF-IDF + logistic regression as tensors: n-gram counts [N, vocabulary] in, probabilities out.

    Sublinear term frequency (1 + log count), times IDF, L2-normalised, then the linear model, as
    scikit-learn computes it. Counting the words stays outside (predict.py does it like scikit-learn)."""

    def __init__(self, tfidf: dict, num_classes: int) -> None:
        super().__init__()
        self.register_buffer("idf", torch.tensor(tfidf["idf"], dtype=torch.float32))
        coef = torch.tensor(tfidf["coef"], dtype=torch.float32)
        intercept = torch.tensor(tfidf["intercept"], dtype=torch.float32)
        if coef.shape[0] == 1:  # binary: one row of log-odds for the second class
            coef, intercept = torch.cat([-coef, coef]) / 2, torch.cat([-intercept, intercept]) / 2
        self.register_buffer("coef", coef)
        self.register_buffer("intercept", intercept)
        place = torch.zeros(len(tfidf["classes"]), num_classes)
        place[torch.arange(len(tfidf["classes"])), torch.as_tensor(tfidf["classes"])] = 1.0
        self.register_buffer("place", place)  # scatter the model's classes into the run's class order

    def forward(self, counts: torch.Tensor) -> torch.Tensor:
        tf = torch.where(counts > 0, 1.0 + torch.log(counts.clamp(min=1.0)), torch.zeros_like(counts))
        weighted = tf * self.idf
        norm = weighted.norm(dim=1, keepdim=True)
        weighted = weighted / torch.where(norm > 0, norm, torch.ones_like(norm))
        return (weighted @ self.coef.T + self.intercept).softmax(1) @ self.place


class TextClassifier(nn.Module):
    """Token ids and attention mask in, class probabilities out."""

    def __init__(self, model: TransferModel) -> None:
        super().__init__()
        self.model = model

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.model(input_ids, attention_mask).softmax(1)


@dataclass
class Predictor:
    run: runs.Run
    config: TrainConfig
    labels: list[str]
    modality: str
    spec: backbones.BackboneSpec | None = None
    model: TransferModel | None = None
    preprocess: ImagePreprocess | None = None
    tfidf: dict | None = field(default=None, repr=False)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)  # explanations hook the model

    @property
    def is_tfidf(self) -> bool:
        return self.tfidf is not None

    def classifier(self) -> nn.Module:
        """The module an export contains."""
        if self.is_tfidf:
            return TfidfClassifier(self.tfidf, len(self.labels)).eval()
        return ImageClassifier(self.preprocess, self.model).eval() if self.modality == "image" \
            else TextClassifier(self.model).eval()

    # -- images -----------------------------------------------------------------------------------
    @torch.inference_mode()
    def predict_images(self, images: list[Image.Image], batch_size: int = 16) -> np.ndarray:
        """[N, classes] probabilities; each image preprocessed on its own (any sizes). A head on a frozen
        backbone (feature extraction) reads its features from the inference engine on a CPU, as training did."""
        self._expect("image")
        if not images:
            return np.zeros((0, len(self.labels)), dtype=np.float32)
        batches = (torch.cat([self.preprocess(pixels(image)[None]) for image in images[start:start + batch_size]])
                   for start in range(0, len(images), batch_size))
        first = next(batches) if self._on_features() else None
        frozen = self._engine(first) if first is not None else None
        if frozen is None:
            model = self.classifier()
            return np.concatenate([model(pixels(image)[None]).numpy() for image in images])
        return np.concatenate([self.model.head(frozen(batch)).softmax(1).numpy() for batch in (first, *batches)])

    def _on_features(self) -> bool:
        """A head trained on cached features, on a CPU: its backbone is the frozen pretrained one."""
        return strategies.get(self.config.strategy).on_features and self.spec is not None \
            and next(self.model.parameters()).device.type == "cpu"

    def _engine(self, example):
        """The inference engine's pass of this run's frozen backbone (a head trained on cached features reads
        the pretrained backbone's features) on a CPU, or None where the PyTorch model answers."""
        from core.backbones import engine

        if not self._on_features():
            return None
        with torch.inference_mode(False):
            return engine.pass_for(self.spec, torch.device("cpu"), self.config.cache_dir, example,
                                   self.max_length if self.modality == "text" else 128)

    # -- texts ------------------------------------------------------------------------------------
    @property
    def max_length(self) -> int:
        from core.loaders import usable_length

        return usable_length(self.spec, self.config.max_length)

    def tokenize(self, texts: list[str]) -> dict[str, torch.Tensor]:
        from core.backbones.text_backbones import tokenizer_for

        return tokenizer_for(self.spec)(list(texts), padding=True, truncation=True, max_length=self.max_length,
                                        return_tensors="pt")

    @torch.inference_mode()
    def predict_texts(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        self._expect("text")
        if not texts:
            return np.zeros((0, len(self.labels)), dtype=np.float32)
        if self.is_tfidf:
            return self._tfidf_probabilities(texts)
        from core.loaders import tokens_kept
        from core.backbones.text_backbones import tokenizer_for

        # longest first, in batches of similar length (little padding); then back in the order given
        lengths = tokens_kept(tokenizer_for(self.spec), list(texts), self.max_length)
        order = sorted(range(len(texts)), key=lambda i: (-lengths[i], i))
        model, chunks, frozen = self.classifier(), [], None
        for start in range(0, len(order), batch_size):
            encoded = self.tokenize([texts[i] for i in order[start:start + batch_size]])
            inputs = (encoded["input_ids"], encoded["attention_mask"])
            if start == 0:
                frozen = self._engine(inputs)
            chunks.append((self.model.head(frozen(inputs)).softmax(1) if frozen is not None
                           else model(*inputs)).numpy())
        probabilities = np.empty((len(texts), len(self.labels)), dtype=np.float32)
        probabilities[order] = np.concatenate(chunks)
        return probabilities

    def _tfidf_probabilities(self, texts: list[str]) -> np.ndarray:
        features = self.tfidf["vectorizer"].transform(texts)
        logits = features @ self.tfidf["coef"].T + self.tfidf["intercept"]
        if logits.shape[1] == 1:  # binary logistic regression: one column of log-odds
            logits = np.concatenate([-logits, logits], axis=1) / 2
        logits = np.asarray(logits)
        shifted = np.exp(logits - logits.max(1, keepdims=True))
        probabilities = shifted / shifted.sum(1, keepdims=True)
        full = np.zeros((len(texts), len(self.labels)), dtype=np.float32)
        full[:, self.tfidf["classes"]] = probabilities
        return full

    def _expect(self, modality: str) -> None:
        if self.modality != modality:
            if modality == "text":
                raise UserError(lazy("This run classifies images, not texts."), lazy("Pick a run trained on texts."))
            raise UserError(lazy("This run classifies texts, not images."), lazy("Pick a run trained on images."))


def load(run_dir: str | Path, device: str = "cpu") -> Predictor:
    """The best model of a finished (or stopped) run, ready to predict."""
    run = runs.Run(Path(run_dir))
    if not run.has_config() or not run.has_weights():
        raise UserError(lazy("{folder} has no trained model.", folder=str(run.dir)),
                        lazy("Pick a run that finished (or was stopped after at least one epoch)."))
    config = TrainConfig.load(run.config_path)
    labels = run.class_titles()  # the names given to the classes, where a person gave some (class_names.py)
    data = run.data()
    strategy = strategies.get(config.strategy)
    if not strategy.uses_backbone:
        return Predictor(run, config, labels, "text", tfidf=_load_tfidf(run))
    spec = backbones.get(config.backbone)
    modality = data.get("modality") or spec.modality
    # a run on cached features keeps its head only: the backbone is the pretrained one, as in training
    head_only = strategy.on_features
    model = strategy.build(spec, len(labels), dropout=config.head_dropout, pretrained=head_only)
    state = run.load_weights()
    missing, unexpected = model.load_state_dict(state, strict=not head_only)
    if unexpected or (head_only and any(k.startswith("head.") for k in missing)):
        raise UserError(lazy("The weights in {path} do not fit {backbone}.", path=str(run.weights_path),
                             backbone=spec.title), lazy("The run folder may be damaged."))
    model.eval().to(device)
    preprocess = ImagePreprocess.for_spec(spec) if spec.modality == "image" else None
    return Predictor(run, config, labels, modality, spec=spec, model=model, preprocess=preprocess)


def _load_tfidf(run: runs.Run) -> dict:
    from core.baselines import WORD_SETTINGS, make_vectorizer

    saved = run.tfidf_vocabulary()
    if saved is None or "vocabulary" not in saved:
        raise runs.DamagedRun(lazy("Run {run}: tfidf_vocabulary.json is missing or damaged.", run=run.id),
                              lazy("Train it again with the same settings (Runs page: Train again)."))
    arrays = run.load_weights()
    settings = {**WORD_SETTINGS, **{k: v for k, v in saved.items() if k in WORD_SETTINGS}}
    vectorizer = make_vectorizer(settings, saved["vocabulary"])
    vectorizer.idf_ = arrays["idf"].double().numpy()
    return {"vectorizer": vectorizer, "idf": vectorizer.idf_, "vocabulary": saved["vocabulary"],
            "settings": settings, "ngram_range": settings["ngram_range"], "coef": arrays["coef"].double().numpy(),
            "intercept": arrays["intercept"].double().numpy(), "classes": arrays["classes"].long().numpy()}


def score_target(run_dir: str | Path, target: "Target", batch_size: int = 32) -> float | None:
    """Accuracy of a run's saved model on the target (None without labels): the same predictor as
    Try it and the export use, so what is scored is what is shipped."""
    if not target.labelled:
        return None
    from core.data import images

    predictor = load(run_dir)
    correct = 0
    for start in range(0, len(target.items), batch_size):
        chunk = target.items[start:start + batch_size]
        if predictor.modality == "image":
            probabilities = predictor.predict_images([images.load_rgb(target.report.absolute(key)) for key, _ in chunk])
        else:
            probabilities = predictor.predict_texts([target.report.texts[key] for key, _ in chunk])
        correct += int((probabilities.argmax(1) == np.array([label for _, label in chunk])).sum())
    return round(correct / len(target.items), 6)
