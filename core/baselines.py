"""TF-IDF + logistic regression: the text baseline everyone should beat before reaching for BERT.

Saved without pickle (nothing loaded from a file may run code): the vocabulary and IDF weights
as JSON and safetensors, the classifier's coefficients as safetensors.
"""

from __future__ import annotations

import time

import numpy as np
import torch
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss

from core.i18n import _
from core.data.report import DataReport
from core.runs import Summary


def fit_tfidf(report: DataReport, emit, run) -> dict:
    """Fit on the training texts; one 'epoch' event; the same outcome shape as the neural loop."""
    started = time.perf_counter()
    train_texts = [report.texts[key] for key, _ in report.train]
    val_texts = [report.texts[key] for key, _ in report.val]
    train_y = np.array([label for _, label in report.train])
    val_y = np.array([label for _, label in report.val])
    settings = tfidf_settings(report.details.get("language"))
    vectorizer = make_vectorizer(settings)
    train_x = vectorizer.fit_transform(train_texts)
    classifier = LogisticRegression(C=10.0, max_iter=2000).fit(train_x, train_y)
    labels = list(range(len(report.classes)))
    # classes absent from training get probability 0: expand to every class in order
    train_p = _all_classes(classifier, classifier.predict_proba(train_x), len(labels))
    val_p = _all_classes(classifier, classifier.predict_proba(vectorizer.transform(val_texts)), len(labels))
    record = {"epoch": 1, "epochs": 1, "train_loss": float(log_loss(train_y, train_p, labels=labels)),
              "train_acc": float((train_p.argmax(1) == train_y).mean()),
              "val_loss": float(log_loss(val_y, val_p, labels=labels)), "val_acc": float((val_p.argmax(1) == val_y).mean()),
              "lr": None, "backbone_lr": None, "seconds": round(time.perf_counter() - started, 3)}
    emit("epoch", **record, best_val_acc=record["val_acc"])
    vocabulary = {term: int(index) for term, index in vectorizer.vocabulary_.items()}
    run.write_tfidf_vocabulary({"vocabulary": vocabulary, **settings})
    run.save_weights({"idf": torch.tensor(vectorizer.idf_, dtype=torch.float32),
                      "coef": torch.tensor(classifier.coef_, dtype=torch.float32),
                      "intercept": torch.tensor(classifier.intercept_, dtype=torch.float32),
                      "classes": torch.tensor(classifier.classes_)})
    return {"status": "finished", Summary.BEST_VAL_ACC: record["val_acc"], Summary.BEST_EPOCH: 1, Summary.FINAL_VAL_ACC: record["val_acc"],
            "epochs": 1, "best_val_loss": record["val_loss"], "best_state": None,
            "best_predictions": {"probabilities": torch.tensor(val_p, dtype=torch.float32),
                                 "labels": torch.tensor(val_y)},
            Summary.TRAINABLE_PARAMS: int(classifier.coef_.size + classifier.intercept_.size), "frozen_params": 0,
            "cache_hit": None, "vocabulary_size": len(vocabulary), "tfidf_analyzer": settings["analyzer"],
            "tfidf_reason": settings["reason"]}


# Older runs saved only the vocabulary and these two: they counted words with accents stripped.
WORD_SETTINGS = {"analyzer": "word", "ngram_range": [1, 2], "sublinear_tf": True, "strip_accents": "unicode",
                 "lowercase": True, "token_pattern": r"(?u)\b\w\w+\b"}
CHAR_SETTINGS = {"analyzer": "char", "ngram_range": [1, 3], "sublinear_tf": True, "strip_accents": None,
                 "lowercase": True, "token_pattern": None}


def tfidf_settings(language: dict | None) -> dict:
    """Words and word pairs where words are separated by spaces; runs of 1 to 3 characters where they
    are not (Chinese, Japanese, Thai...: measured on Chinese reviews, 0.32 with words, 0.88 with
    characters). Accents are not stripped where that would break letters apart (Korean syllables
    decompose into jamo, Japanese kana lose their voicing marks). ``reason``: why, in the current language
    (plain text: the settings are saved with a run's vocabulary)."""
    from core.data.languages import language_name

    if language and language.get("unspaced"):
        name = language_name(language["code"])
        return {**CHAR_SETTINGS, "reason": _("{language} is written without spaces between words, so TF-IDF counts "
                                             "runs of 1 to 3 characters instead of words.", language=name)}
    keep_accents = bool(language and language.get("code") in ("ko", "ja", "vi"))
    return {**WORD_SETTINGS, "strip_accents": None if keep_accents else "unicode",
            "reason": _("TF-IDF counts words and word pairs (words are separated by spaces in these texts).")}


def make_vectorizer(settings: dict, vocabulary: dict | None = None) -> TfidfVectorizer:
    settings = {**WORD_SETTINGS, **settings}
    options = dict(analyzer=settings["analyzer"], ngram_range=tuple(settings["ngram_range"]),
                   sublinear_tf=settings["sublinear_tf"], strip_accents=settings["strip_accents"],
                   lowercase=settings["lowercase"], vocabulary=vocabulary)
    if settings["analyzer"] == "word":
        options["token_pattern"] = settings["token_pattern"]
    if vocabulary is None:
        options.update(min_df=1, max_features=200_000)
    return TfidfVectorizer(**options)


def _all_classes(classifier: LogisticRegression, probabilities: np.ndarray, num_classes: int) -> np.ndarray:
    full = np.zeros((probabilities.shape[0], num_classes))
    full[:, classifier.classes_] = probabilities
    return full
