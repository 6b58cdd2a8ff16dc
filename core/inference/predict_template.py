"""Predict with an exported TransferLab model, outside the app: no PyTorch, no TransferLab.

    pip install -r requirements.txt
    python predict.py INPUT [INPUT ...]     images: file paths; texts: the texts themselves
    python predict.py -                     texts: one per line from standard input

Prints one JSON object per input: {"input", "label", "probabilities": {class: probability}}.
(A template: the export writes it with the app's image decoding filled in; TransferLab never imports it.)
"""

import json
import sys
from pathlib import Path

import numpy as np
import onnxruntime

HERE = Path(__file__).resolve().parent
LABELS = json.loads((HERE / "labels.json").read_text())
PREPROCESSING = json.loads((HERE / "preprocessing.json").read_text())


# TO_RGB: export.py puts TransferLab's own core.data.images.to_rgb here, so images decode exactly as in the app


def load_rgb(path):
    """Decode like the app: EXIF orientation, then to_rgb (16-bit and float scaled, transparency over white)."""
    from PIL import Image, ImageOps

    with Image.open(path) as image:
        image.load()
        image = ImageOps.exif_transpose(image) or image
        return np.asarray(to_rgb(image), dtype=np.uint8)


def tfidf_counts(texts):
    """TF-IDF runs: how often each vocabulary term occurs, counted exactly as scikit-learn does:
    lower case, then accents stripped (when the run did), then words of 2+ letters and their pairs,
    or runs of characters (for languages written without spaces) over the text with whitespace
    runs collapsed to one space."""
    import re
    import unicodedata

    vocabulary = json.loads((HERE / PREPROCESSING["vocabulary"]).read_text())
    low, high = PREPROCESSING["ngram_range"]
    by_characters = PREPROCESSING.get("counts") == "char"
    pattern = None if by_characters else re.compile(PREPROCESSING["token_pattern"])
    counts = np.zeros((len(texts), len(vocabulary)), dtype=np.float32)
    for row, text in enumerate(texts):
        if PREPROCESSING.get("lowercase", True):
            text = text.lower()
        if PREPROCESSING.get("strip_accents") == "unicode" and not text.isascii():
            text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
        if by_characters:
            units, joiner = re.sub(r"\s\s+", " ", text), ""
        else:
            units, joiner = pattern.findall(text), " "
        for n in range(low, high + 1):
            for start in range(len(units) - n + 1):
                index = vocabulary.get(joiner.join(units[start:start + n]))
                if index is not None:
                    counts[row, index] += 1
    return counts


def predict(inputs):
    session = onnxruntime.InferenceSession(str(HERE / "model.onnx"), providers=["CPUExecutionProvider"])
    if PREPROCESSING.get("analyzer") == "tfidf":
        for text, probabilities in zip(inputs, session.run(None, {"counts": tfidf_counts(inputs)})[0]):
            yield text, probabilities
        return
    if PREPROCESSING["modality"] == "image":
        for path in inputs:
            yield path, session.run(None, {"pixels": load_rgb(path)[None]})[0][0]
        return
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(HERE / PREPROCESSING["tokenizer"]))
    tokenizer.enable_truncation(max_length=PREPROCESSING["max_length"])
    tokenizer.no_padding()
    for text in inputs:
        encoding = tokenizer.encode(text)
        feed = {"input_ids": np.array([encoding.ids], dtype=np.int64),
                "attention_mask": np.array([encoding.attention_mask], dtype=np.int64)}
        yield text, session.run(None, feed)[0][0]


def main(arguments):
    if not arguments:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    if arguments == ["-"]:
        arguments = [line.rstrip("\n") for line in sys.stdin if line.strip()]
    if hasattr(sys.stdout, "reconfigure"):  # class names in any script, readable; \u escapes where a console can't
        sys.stdout.reconfigure(errors="backslashreplace")
    for given, probabilities in predict(arguments):
        best = int(np.argmax(probabilities))
        print(json.dumps({"input": given, "label": LABELS[best],
                          "probabilities": {label: round(float(p), 6) for label, p in zip(LABELS, probabilities)}},
                         ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
