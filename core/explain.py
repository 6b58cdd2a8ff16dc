"""Why did the model say that? Grad-CAM for images, gradient x input for texts, weights for TF-IDF.

- ``grad_cam``: the class score's gradients with respect to the backbone's last spatial feature map
  (the last 4-D activation in the forward pass), averaged per channel into weights; the weighted
  map, rectified and scaled to 0..1, is where the evidence for the class lies. For backbones with
  no spatial map (a transformer), gradient x input on the pixels instead.
- ``token_importance``: gradient x input on the word embeddings, summed over the embedding size,
  per token; words pieces merged back into words; scores scaled so their absolute values sum to 1.
- TF-IDF runs: each word's TF-IDF value times the class's coefficient, exactly its contribution.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from core.i18n import N_
from core.inference import Predictor
from core.backbones.preprocess import pixels


@dataclass
class ImageExplanation:
    class_index: int
    probabilities: np.ndarray     # [classes]
    heatmap: np.ndarray           # [S, S] in 0..1, over ``crop``
    crop: Image.Image             # what the model saw: resized and centre-cropped, before normalising
    method: str                   # "Grad-CAM" | "gradient x input": English, shown as _(method)


def grad_cam(predictor: Predictor, image: Image.Image, class_index: int | None = None) -> ImageExplanation:
    with predictor.lock:  # hooks on a model that several sessions may share
        return _grad_cam(predictor, image, class_index)


def _grad_cam(predictor: Predictor, image: Image.Image, class_index: int | None) -> ImageExplanation:
    model, preprocess = predictor.model, predictor.preprocess
    normalised = preprocess(pixels(image)[None]).detach()
    activations: list[torch.Tensor] = []

    def keep_spatial(_module, _inputs, output) -> None:
        if isinstance(output, torch.Tensor) and output.dim() == 4 and output.requires_grad:
            output.retain_grad()
            activations.append(output)

    hooks = [module.register_forward_hook(keep_spatial) for module in model.backbone.modules()
             if not list(module.children())]
    inputs = normalised.clone().requires_grad_(True)
    try:
        with torch.enable_grad():
            model.zero_grad(set_to_none=True)
            logits = model(inputs)
            probabilities = logits.softmax(1)[0].detach().numpy()
            target = int(probabilities.argmax()) if class_index is None else int(class_index)
            logits[0, target].backward()
    finally:
        for hook in hooks:
            hook.remove()
    size = preprocess.input_size
    spatial = [a for a in activations if a.grad is not None and min(a.shape[-2:]) > 1]
    if spatial:
        feature_map = spatial[-1]
        weights = feature_map.grad.mean(dim=(2, 3), keepdim=True)
        cam = F.relu((weights * feature_map).sum(1, keepdim=True))
        cam = F.interpolate(cam, size=(size, size), mode="bilinear", align_corners=False)[0, 0].detach()
        method = "Grad-CAM"
    else:
        cam = (inputs.grad * inputs).sum(1)[0].abs().detach()
        method = N_("gradient x input")
    cam = cam - cam.min()
    heatmap = (cam / cam.max()).numpy() if float(cam.max()) > 0 else np.zeros((size, size), dtype=np.float32)
    return ImageExplanation(target, probabilities, heatmap.astype(np.float32), _unnormalised(preprocess, normalised),
                            method)


def _unnormalised(preprocess, normalised: torch.Tensor) -> Image.Image:
    values = (normalised * preprocess.std + preprocess.mean)[0].clamp(0, 1).permute(1, 2, 0).numpy()
    return Image.fromarray((values * 255).round().astype(np.uint8))


def overlay(explanation: ImageExplanation, alpha: float = 0.5) -> Image.Image:
    """The heat map (transparent blue to red) over the image the model saw."""
    heat = explanation.heatmap
    colours = np.stack([heat, np.clip(1.5 - np.abs(heat * 3 - 1.5), 0, 1) * 0.8, 1 - heat], axis=-1)
    base = np.asarray(explanation.crop, dtype=np.float32) / 255
    weight = alpha * heat[..., None] ** 0.7
    mixed = base * (1 - weight) + colours * weight
    return Image.fromarray((mixed * 255).round().astype(np.uint8))


@dataclass
class TextExplanation:
    class_index: int
    probabilities: np.ndarray
    words: list[tuple[str, float]]     # (word as written in the text, signed share of the evidence); abs sum 1
    method: str                        # English, shown as _(method)
    separators: list[str] | None = None   # the text before each word (spaces, or "" between Chinese characters);
                                          # None: words are separated by single spaces


def token_importance(predictor: Predictor, text: str, class_index: int | None = None) -> TextExplanation:
    with predictor.lock:
        return _token_importance(predictor, text, class_index)


def _token_importance(predictor: Predictor, text: str, class_index: int | None) -> TextExplanation:
    probabilities = predictor.predict_texts([text])[0]
    target = int(probabilities.argmax()) if class_index is None else int(class_index)
    if predictor.is_tfidf:
        words, separators = _tfidf_words(predictor, text, target)
        return TextExplanation(target, probabilities, words, N_("TF-IDF value x coefficient"), separators)
    from core.backbones.text_backbones import tokenizer_for

    tokenizer = tokenizer_for(predictor.spec)
    encoded = tokenizer([text], truncation=True, max_length=predictor.max_length, return_tensors="pt",
                        return_offsets_mapping=bool(tokenizer.is_fast))
    offsets = encoded.pop("offset_mapping")[0].tolist() if "offset_mapping" in encoded else None
    model = predictor.model
    embeddings_layer = model.backbone.get_input_embeddings() if hasattr(model.backbone, "get_input_embeddings") \
        else _embedding_layer(model.backbone)
    captured: list[torch.Tensor] = []

    def keep(_module, _inputs, output):
        leaf = output.detach().requires_grad_(True)  # a leaf to take gradients at, frozen weights or not
        captured.append(leaf)
        return leaf

    hook = embeddings_layer.register_forward_hook(keep)
    try:
        with torch.enable_grad():
            model.zero_grad(set_to_none=True)
            logits = model(encoded["input_ids"], encoded["attention_mask"])
            logits[0, target].backward()
    finally:
        hook.remove()
    embedded = captured[0]
    scores = (embedded.grad * embedded).sum(-1)[0].detach().numpy()
    if offsets is not None:
        words, separators = _spans(text, offsets, encoded.word_ids(0), scores)
        return TextExplanation(target, probabilities, words, N_("gradient x input"), separators)
    tokens = _tokens(predictor, encoded["input_ids"][0].tolist())
    return TextExplanation(target, probabilities, _merge_pieces(tokens, scores), N_("gradient x input"))


def _spans(text: str, offsets: list[list[int]], word_ids: list[int | None],
           scores: np.ndarray) -> tuple[list[tuple[str, float]], list[str]]:
    """Token scores summed per word, each word exactly as written in the text (case, accents, any
    script: the tokenizer's offsets point into the original). Each Chinese or Japanese character is
    a word of its own, as the tokenizer sees it; text past the max length is kept, unscored."""
    spans: dict[int, list] = {}
    for (start, end), word, score in zip(offsets, word_ids, scores):
        if word is None or end <= start:  # special tokens
            continue
        span = spans.setdefault(word, [start, end, 0.0])
        span[0], span[1], span[2] = min(span[0], start), max(span[1], end), span[2] + float(score)
    ordered = sorted(spans.values())
    total = sum(abs(score) for _, _, score in ordered) or 1.0
    words, separators, position = [], [], 0
    for start, end, score in ordered:
        if start < position:  # overlapping offsets (rare tokenizers): keep the text whole
            continue
        separators.append(text[position:start])
        words.append((text[start:end], score / total))
        position = end
    tail = text[position:]
    if tail.strip():  # cut off at the max length, or characters the tokenizer dropped
        separators.append(tail[:len(tail) - len(tail.lstrip())])
        words.append((tail.strip(), 0.0))
    return words, separators


def _embedding_layer(backbone) -> torch.nn.Module:
    return next(module for module in backbone.modules() if isinstance(module, torch.nn.Embedding))


def _tokens(predictor: Predictor, ids: list[int]) -> list[str]:
    from core.backbones.text_backbones import tokenizer_for

    return tokenizer_for(predictor.spec).convert_ids_to_tokens(ids)


def _merge_pieces(tokens: list[str], scores: np.ndarray) -> list[tuple[str, float]]:
    """Word pieces ("play", "##ing") back into words; special tokens dropped; shares of the total."""
    words: list[list] = []
    for token, score in zip(tokens, scores):
        if token in ("[CLS]", "[SEP]", "[PAD]", "<s>", "</s>", "<pad>"):
            continue
        if token.startswith("##") and words:
            words[-1][0] += token[2:]
            words[-1][1] += float(score)
        else:
            words.append([token.lstrip("Ġ▁"), float(score)])
    total = sum(abs(score) for _, score in words) or 1.0
    return [(word, score / total) for word, score in words]


def _tfidf_words(predictor: Predictor, text: str, target: int) -> tuple[list[tuple[str, float]], list[str] | None]:
    """Each word's (or character's) contribution to the class's score: the TF-IDF value of every term
    it is part of, times the class's coefficient, shared among the words (characters) of the term."""
    tfidf = predictor.tfidf
    vectorizer = tfidf["vectorizer"]
    row = vectorizer.transform([text]).tocoo()
    present = set(row.col.tolist())
    terms = {index: term for term, index in vectorizer.vocabulary_.items() if index in present}
    column = list(tfidf["classes"]).index(target) if target in list(tfidf["classes"]) else None
    coef = tfidf["coef"]
    sign_fix = 1.0
    if coef.shape[0] == 1:  # binary: one row, for the second class
        column, sign_fix = 0, (1.0 if target == int(tfidf["classes"][1]) else -1.0)
    shares = {terms[index]: value * coef[column, index] * sign_fix if column is not None else 0.0
              for index, value in zip(row.col.tolist(), row.data.tolist())}
    if tfidf["settings"]["analyzer"] == "char":
        return _character_contributions(vectorizer, text, shares)
    contribution: dict[str, float] = {}
    for term, share in shares.items():
        parts = term.split(" ")
        for part in parts:  # a word pair's weight is shared by its two words
            contribution[part] = contribution.get(part, 0.0) + share / len(parts)
    analyzer = vectorizer.build_preprocessor()
    words = text.split()
    raw = [(word, contribution.get(_clean(analyzer(word)), 0.0)) for word in words]
    total = sum(abs(score) for _, score in raw) or 1.0
    return [(word, score / total) for word, score in raw], None


def _character_contributions(vectorizer, text: str, shares: dict[str, float]) -> tuple[list, list[str]]:
    """Runs of characters: each run's share split among its characters; the characters of a Latin
    word (or a number) shown together, every other character (Chinese, Japanese, Thai...) alone."""
    import re

    shown = re.sub(r"\s\s+", " ", text)
    counted = vectorizer.build_preprocessor()(shown)
    if len(counted) != len(shown):  # lower-casing changed the length (rare letters): show what was counted
        shown = counted
    low, high = vectorizer.ngram_range
    scores = [0.0] * len(counted)
    for n in range(low, high + 1):
        for start in range(len(counted) - n + 1):
            share = shares.get(counted[start:start + n])
            if share:
                for position in range(start, start + n):
                    scores[position] += share / n
    words, separators, gap = [], [], ""
    for character, score in zip(shown, scores):
        if character.isspace():
            gap += character
        elif words and not gap and character.isascii() and character.isalnum() and words[-1][0][-1:].isascii() \
                and words[-1][0][-1:].isalnum():
            words[-1] = (words[-1][0] + character, words[-1][1] + score)
        else:
            separators.append(gap)
            words.append((character, score))
            gap = ""
    total = sum(abs(score) for _, score in words) or 1.0
    return [(word, score / total) for word, score in words], separators


def _clean(word: str) -> str:
    import re

    found = re.findall(r"(?u)\b\w\w+\b", word)
    return found[0] if found else word
