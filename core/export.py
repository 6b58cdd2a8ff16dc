"""Export a run as files that predict outside the app, and prove they predict the same.

    <out>/
        model.onnx          raw input -> class probabilities. Images: uint8 RGB [N, H, W, 3] of any
                            size (resize, crop and normalise are inside the graph); texts: int64
                            input_ids and attention_mask [N, T]
        model.pt2           the same program for PyTorch (torch.export; load with torch.export.load)
        tokenizer.json ...  texts: the tokenizer, for the `tokenizers` package
        labels.json         class names in output order
        preprocessing.json  what happens to an input before the network (for people, and predict.py)
        config.json         the run's training config
        predict.py          `python predict.py INPUT...`: one JSON object per input (onnxruntime,
                            numpy, Pillow, and `tokenizers` for texts; no PyTorch)
        requirements.txt    what predict.py needs
        README.md           the model card: data, backbone, strategy, metrics, intended use, limits
        parity.json         exported vs in-app predictions on the whole validation split

``check_parity`` runs the exported ONNX model with onnxruntime (and for texts the exported
tokenizer through the `tokenizers` package, as predict.py does) against the in-app model on every
validation example.
"""

from __future__ import annotations

import io
import json
import shutil
import time
import zipfile
from pathlib import Path

import numpy as np
import torch

from core import images, metrics, storage, strategies
from core.errors import UserError
from core.inference import Predictor, load
from core.preprocess import pixels
from core.report import DataReport

PARITY_TOLERANCE = 1e-4
PREDICT_SCRIPT = Path(__file__).with_name("predict_template.py")


def export_run(run_dir: str | Path, out_dir: str | Path, check: bool = True) -> dict:
    """Write the export folder (atomically: a partial folder is renamed at the end); return parity."""
    predictor = load(run_dir)
    out = Path(out_dir).expanduser().resolve()
    partial = out.with_name(f".{out.name}.partial")
    shutil.rmtree(partial, ignore_errors=True)
    started = time.perf_counter()
    weights = predictor.run.weights_path
    needed = 3 * weights.stat().st_size if weights.is_file() else None  # ONNX + .pt2 + room to spare
    try:
        with storage.guard("the export", out.parent, needed, [partial]):
            partial.mkdir(parents=True)
            _write_model(predictor, partial)
            _write_side_files(predictor, partial)
            parity = check_parity(predictor, partial) if check else None
            if parity is not None:
                (partial / "parity.json").write_text(json.dumps(parity, indent=2))
            (partial / "README.md").write_text(model_card(predictor, parity))
            if out.exists():
                shutil.rmtree(out)
            partial.rename(out)
    finally:
        shutil.rmtree(partial, ignore_errors=True)  # never a half-written export left behind
    return {"out": str(out), "seconds": round(time.perf_counter() - started, 2), "parity": parity,
            "files": sorted(p.name for p in out.iterdir())}


def _write_model(predictor: Predictor, folder: Path) -> None:
    classifier = predictor.classifier()
    batch = torch.export.Dim("batch", min=1, max=4096)
    if predictor.is_tfidf:
        example = (torch.rand(2, len(predictor.tfidf["vocabulary"])),)
        shapes, names = ({0: batch},), ["counts"]
    elif predictor.modality == "image":
        example = (torch.randint(0, 256, (2, 300, 400, 3), dtype=torch.uint8),)
        height, width = torch.export.Dim("height", min=8, max=16384), torch.export.Dim("width", min=8, max=16384)
        shapes, names = ({0: batch, 1: height, 2: width},), ["pixels"]
    else:
        encoded = predictor.tokenize(["an example text to trace the model with", "and a second"])
        example = (encoded["input_ids"], encoded["attention_mask"])
        tokens = torch.export.Dim("tokens", min=2, max=max(predictor.max_length, 8))
        shapes, names = ({0: batch, 1: tokens}, {0: batch, 1: tokens}), ["input_ids", "attention_mask"]
    with torch.no_grad():
        program = torch.onnx.export(classifier, example, dynamo=True, dynamic_shapes=shapes, input_names=names,
                                    output_names=["probabilities"], verbose=False)
    program.save(str(folder / "model.onnx"), external_data=False)
    torch.export.save(program.exported_program, str(folder / "model.pt2"))


def _write_side_files(predictor: Predictor, folder: Path) -> None:
    run = predictor.run
    (folder / "labels.json").write_text(json.dumps(predictor.labels, indent=2))
    shutil.copy(run.dir / "config.json", folder / "config.json")
    if predictor.is_tfidf:
        (folder / "vocabulary.json").write_text(json.dumps(predictor.tfidf["vocabulary"]))
        settings = predictor.tfidf["settings"]
        unit = "word or word pair" if settings["analyzer"] == "word" else "run of characters"
        preprocessing = {"modality": "text", "analyzer": "tfidf", "vocabulary": "vocabulary.json",
                         "counts": settings["analyzer"], "ngram_range": settings["ngram_range"],
                         "lowercase": settings["lowercase"], "strip_accents": settings["strip_accents"],
                         "token_pattern": settings["token_pattern"],
                         "inputs": [f"counts: float32 [N, vocabulary size], how often each {unit} occurs"],
                         "in_the_graph": "1 + log(count), x IDF, L2 normalisation, logistic regression, softmax"}
        requirements = ["onnxruntime>=1.16", "numpy"]
    elif predictor.modality == "image":
        preprocessing = {"modality": "image", **predictor.preprocess.describe()}
        requirements = ["onnxruntime>=1.16", "numpy", "pillow"]
    else:
        from core.text_backbones import tokenizer_for

        tokenizer_for(predictor.spec).save_pretrained(str(folder))
        if not (folder / "tokenizer.json").is_file():
            raise UserError("This text backbone has no fast tokenizer (tokenizer.json) to export.",
                            "Use a backbone with a fast tokenizer, such as the BERT family.")
        preprocessing = {"modality": "text", "tokenizer": "tokenizer.json", "max_length": predictor.max_length,
                         "inputs": ["input_ids", "attention_mask"], "pooling": "mean over real tokens (in the graph)"}
        requirements = ["onnxruntime>=1.16", "numpy", "tokenizers"]
    (folder / "preprocessing.json").write_text(json.dumps(preprocessing, indent=2))
    (folder / "requirements.txt").write_text("\n".join(requirements) + "\n")
    (folder / "predict.py").write_text(predict_script())


def predict_script() -> str:
    """predict.py: the template with the app's own image decoding (core.images.to_rgb) pasted in at
    its ``# TO_RGB`` line, so an exported model sees the pixels the app sees."""
    import inspect
    import re

    source = "from PIL import Image\n\n\n" + inspect.getsource(images.to_rgb)
    script, count = re.subn(r"^# TO_RGB.*$", lambda _: source, PREDICT_SCRIPT.read_text(), count=1, flags=re.M)
    if count != 1:
        raise RuntimeError("predict_template.py lost its # TO_RGB line")
    return script


def validation_inputs(predictor: Predictor) -> list:
    """The run's validation split as raw inputs: decoded RGB images, or texts."""
    report = DataReport.from_dict(predictor.run.data())
    if predictor.modality == "image":
        report.require_files([key for key, _ in report.val], "the export is checked on")
        return [images.load_rgb(report.absolute(key)) for key, _ in report.val]
    return [report.texts[key] for key, _ in report.val]


def check_parity(predictor: Predictor, folder: Path, inputs: list | None = None) -> dict:
    """Exported (onnxruntime) vs in-app (PyTorch) probabilities on every validation example."""
    import onnxruntime

    inputs = validation_inputs(predictor) if inputs is None else inputs
    session = onnxruntime.InferenceSession(str(folder / "model.onnx"), providers=["CPUExecutionProvider"])
    if predictor.is_tfidf:  # count the words with the exported predict.py itself
        counter = _load_script(folder / "predict.py")
        in_app = predictor.predict_texts(inputs)
        exported = session.run(None, {"counts": counter.tfidf_counts(inputs)})[0] if inputs else np.zeros_like(in_app)
    elif predictor.modality == "image":
        in_app = predictor.predict_images(inputs)
        exported = np.concatenate([session.run(None, {"pixels": pixels(image)[None].numpy()})[0] for image in inputs]) \
            if inputs else np.zeros_like(in_app)
    else:
        from tokenizers import Tokenizer

        in_app = predictor.predict_texts(inputs)
        tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        tokenizer.enable_truncation(max_length=predictor.max_length)
        tokenizer.no_padding()
        rows = []
        for text in inputs:
            encoding = tokenizer.encode(text)
            feed = {"input_ids": np.array([encoding.ids], dtype=np.int64),
                    "attention_mask": np.array([encoding.attention_mask], dtype=np.int64)}
            rows.append(session.run(None, feed)[0])
        exported = np.concatenate(rows) if rows else np.zeros_like(in_app)
    differences = np.abs(in_app - exported)
    disagreements = int((in_app.argmax(1) != exported.argmax(1)).sum()) if len(inputs) else 0
    largest = float(differences.max()) if differences.size else 0.0
    return {"examples": len(inputs), "labels_agree": disagreements == 0, "disagreements": disagreements,
            "max_probability_difference": largest, "tolerance": PARITY_TOLERANCE,
            "passed": disagreements == 0 and largest < PARITY_TOLERANCE}


def _load_script(path: Path):
    import importlib.util

    spec = importlib.util.spec_from_file_location("exported_predict", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def model_card(predictor: Predictor, parity: dict | None) -> str:
    run, config = predictor.run, predictor.config
    summary = run.summary() or {}
    data = run.data()
    n_val = summary.get("val_images") or len(data.get("val", []))
    accuracy = summary.get("best_val_acc")
    low, high = metrics.accuracy_interval(accuracy, n_val) if accuracy is not None and n_val else (None, None)
    noun = "images" if predictor.modality == "image" else "texts"
    counted = ("runs of 1-3 characters" if predictor.tfidf["settings"]["analyzer"] == "char"
               else "words and word pairs") if predictor.is_tfidf else ""
    lines = [
        f"# {', '.join(predictor.labels[:6])}{'...' if len(predictor.labels) > 6 else ''}: a TransferLab classifier",
        "",
        f"Classifies {noun} into {len(predictor.labels)} classes: {', '.join(predictor.labels)}.",
        "",
        "## How it was made",
        f"- Data: `{config.data}`: {summary.get('train_images', '?')} training and {n_val} validation {noun}.",
        (f"- Backbone: {predictor.spec.title} (`{config.backbone}`, {predictor.spec.source} weights)." if predictor.spec
         else f"- Model: TF-IDF of {counted} ({len(predictor.tfidf['vocabulary']):,} of them) + "
              "logistic regression."),
        f"- Strategy: {strategies.title(config.strategy)}; {summary.get('epochs', '?')} epochs "
        f"(best: epoch {summary.get('best_epoch', '?')}); seed {config.seed}.",
        f"- Run: `{run.id}`; the full training config is in config.json.",
        "",
        "## How good (validation split)",
    ]
    if accuracy is not None:
        lines.append(f"- Accuracy {accuracy:.1%} (95% confidence interval {low:.1%} to {high:.1%}, Wilson).")
    if summary.get("best_val_macro_f1") is not None:
        lines.append(f"- Macro-F1 {summary['best_val_macro_f1']:.3f}.")
    if summary.get("target"):
        method = summary.get("adapt", "none")
        lines += ["", "## Where it will be used (the target)",
                  f"- Target: `{summary['target']}` ({summary.get('target_items', '?')} {noun}; its labels only scored)."
                  + (f" Adapted to it with {method}." if method != "none" else " Not adapted to it.")]
        if summary.get("target_acc") is not None:
            without = summary.get("target_acc_without")
            lines.append(f"- Target accuracy {summary['target_acc']:.1%}"
                         + (f" (without adaptation {without:.1%})." if without is not None else "."))
        if method != "none":
            lines.append("- The model is adapted for the target: on data like the training data it may do a little "
                         "worse than the validation numbers above.")
    if summary.get("per_class"):
        lines += ["", "| class | precision | recall | F1 | support |", "|---|---|---|---|---|"]
        lines += [f"| {row['class']} | {row['precision']:.3f} | {row['recall']:.3f} | {row['f1']:.3f} | "
                  f"{row['support']} |" for row in summary["per_class"]]
    lines += ["", "## Use", "```bash", "pip install -r requirements.txt",
              "python predict.py " + ("photo.jpg other.png" if predictor.modality == "image"
                                      else "\"some text to classify\" \"another one\""),
              "```",
              "Prints one JSON object per input: `label` and `probabilities` (class name -> probability).",
              "`model.onnx` takes " + ("raw 8-bit RGB pixels [N, H, W, 3] of any size: resizing, cropping and "
                                       "normalising are inside the model (preprocessing.json says how)."
                                       if predictor.modality == "image" else
                                       f"{counted} counted over vocabulary.json (predict.py counts them as "
                                       "scikit-learn does); weighting and the classifier are inside the model."
                                       if predictor.is_tfidf else
                                       f"token ids and attention masks from tokenizer.json, cut at "
                                       f"{predictor.max_length} tokens."),
              "`model.pt2` is the same program for PyTorch: `torch.export.load('model.pt2').module()`.",
              "", "## Intended use and limits",
              f"- For prototyping and teaching: sorting {noun} into the {len(predictor.labels)} classes above, "
              "like the ones it was trained on.",
              "- It only knows these classes: any input gets one of them, even one that belongs to none. "
              "Check the confidence.",
              f"- Measured on {n_val} validation {noun} from the same source as the training data; new {noun} "
              "from elsewhere (other cameras, lighting, writers, topics) may do worse. Test on your own before "
              "relying on it.",
              "- Not for decisions about people, health, money or safety."]
    if parity is not None:
        lines += ["", "## Parity with the app",
                  f"On all {parity['examples']} validation {noun}, this export's predictions "
                  f"{'agree' if parity['labels_agree'] else 'DISAGREE'} with the app's "
                  f"({parity['disagreements']} different labels); largest probability difference "
                  f"{parity['max_probability_difference']:.1e} (tolerance {parity['tolerance']:.0e})."]
    return "\n".join(lines) + "\n"


def zip_folder(folder: str | Path) -> bytes:
    """The export folder as zip bytes (for a download button)."""
    folder = Path(folder)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, f"{folder.name}/{path.relative_to(folder).as_posix()}")
    return buffer.getvalue()
