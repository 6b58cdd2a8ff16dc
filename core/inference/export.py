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

from core import adaptation, i18n, metrics, storage, strategies
from core.data import images, samples
from core.errors import UserError
from core.i18n import Text, _, lazy, ngettext
from core.inference import Predictor, load
from core.backbones.preprocess import pixels
from core.data.report import DataReport
from core.runs import Summary

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
        with storage.guard(lazy("the export"), out.parent, needed, [partial]):
            partial.mkdir(parents=True)
            _write_model(predictor, partial)
            _write_side_files(predictor, partial)
            parity = check_parity(predictor, partial) if check else None
            if parity is not None:
                (partial / "parity.json").write_text(json.dumps(parity, indent=2))
            (partial / "README.md").write_text(model_card(predictor, parity), encoding="utf-8")
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
        from core.backbones.text_backbones import tokenizer_for

        tokenizer_for(predictor.spec).save_pretrained(str(folder))
        if not (folder / "tokenizer.json").is_file():
            raise UserError(lazy("This text backbone has no fast tokenizer (tokenizer.json) to export."),
                            lazy("Use a backbone with a fast tokenizer, such as the BERT family."))
        preprocessing = {"modality": "text", "tokenizer": "tokenizer.json", "max_length": predictor.max_length,
                         "inputs": ["input_ids", "attention_mask"], "pooling": "mean over real tokens (in the graph)"}
        requirements = ["onnxruntime>=1.16", "numpy", "tokenizers"]
    (folder / "preprocessing.json").write_text(json.dumps(preprocessing, indent=2))
    (folder / "requirements.txt").write_text("\n".join(requirements) + "\n")
    (folder / "predict.py").write_text(predict_script())


def predict_script() -> str:
    """predict.py: the template with the app's own image decoding (core.data.images.to_rgb) pasted in at
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
        report.require_files([key for key, _ in report.val], lazy("the export is checked on"))
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
    """The model card (README.md), written in the current language: the one the export was asked in."""
    summary = predictor.run.summary() or {}
    n_val = summary.get(Summary.VAL_IMAGES) or len(predictor.run.data().get("val", []))
    lines = (_card_made(predictor, summary, n_val) + _card_quality(predictor, summary, n_val)
             + _card_target(predictor, summary) + _card_use(predictor) + _card_limits(predictor, n_val)
             + _card_parity(predictor, parity))
    return "\n".join(lines) + "\n"


def _characters(predictor: Predictor) -> bool:
    """A TF-IDF run over runs of characters (Chinese and other unspaced texts) rather than words."""
    return predictor.is_tfidf and predictor.tfidf["settings"]["analyzer"] == "char"


def _card_made(predictor: Predictor, summary: dict, n_val: int) -> list[str]:
    """The title, what the model does, and how it was made."""
    run, config, labels = predictor.run, predictor.config, predictor.labels
    shown = i18n.series(labels[:6]) + ("…" if len(labels) > 6 else "")
    if predictor.modality == "image":
        what = ngettext("Classifies images into {n} class: {classes}.", "Classifies images into {n} classes: "
                        "{classes}.", len(labels), classes=i18n.series(labels))
        data_line = _("Data: {name} (`{data}`): {train} training and {val} validation images.", data=config.data,
                      name=samples.name_of(config.data), train=_count(summary.get(Summary.TRAIN_IMAGES)),
                      val=_count(n_val))
    else:
        what = ngettext("Classifies texts into {n} class: {classes}.", "Classifies texts into {n} classes: "
                        "{classes}.", len(labels), classes=i18n.series(labels))
        data_line = _("Data: {name} (`{data}`): {train} training and {val} validation texts.", data=config.data,
                      name=samples.name_of(config.data), train=_count(summary.get(Summary.TRAIN_IMAGES)),
                      val=_count(n_val))
    if predictor.spec:
        model_line = _("Backbone: {title} (`{name}`, {source} weights).", title=predictor.spec.title,
                       name=config.backbone, source=predictor.spec.source)
    elif _characters(predictor):
        model_line = _("Model: TF-IDF of runs of 1-3 characters ({count:,} of them) + logistic regression.",
                       count=len(predictor.tfidf["vocabulary"]))
    else:
        model_line = _("Model: TF-IDF of words and word pairs ({count:,} of them) + logistic regression.",
                       count=len(predictor.tfidf["vocabulary"]))
    return ["# " + _("{classes}: a TransferLab classifier", classes=shown), "", what, "",
            "## " + _("How it was made"), "- " + data_line, "- " + model_line,
            "- " + _("Strategy: {strategy}; {epochs} epochs (best: epoch {best}); seed {seed}.",
                     strategy=_shown(strategies.title(config.strategy)), epochs=summary.get("epochs", "?"),
                     best=summary.get(Summary.BEST_EPOCH, "?"), seed=config.seed),
            *(["- " + _private_line(config, summary)] if config.dp_epsilon else []),
            "- " + _("Run: `{run}`; the full training config is in config.json.", run=run.id)]


def _count(value) -> str:
    return i18n.number(value) if isinstance(value, (int, float)) else "?"


def _private_line(config, summary: dict) -> str:
    """What a private run guarantees, in the card's words: its budget, what it spent, and what that means."""
    dp = summary.get("dp") or {}
    spent = summary.get("epsilon")
    said = dict(budget=i18n.number(config.dp_epsilon), delta=f"{dp['delta']:.1e}" if dp.get("delta") else "?",
                spent=i18n.number(spent, 2) if spent is not None else "?")
    return _("Trained privately (differential privacy, DP-SGD): ε ≤ {budget} (spent: {spent}), δ = {delta}. No single "
             "training example can change the model much, so it gives little away about any one of them.", **said)


def _card_quality(predictor: Predictor, summary: dict, n_val: int) -> list[str]:
    """The validation scores, with the accuracy's interval and a table per class."""
    lines = ["", "## " + _("How good (validation split)")]
    accuracy = summary.get(Summary.BEST_VAL_ACC)
    if accuracy is not None and n_val:
        low, high = metrics.accuracy_interval(accuracy, n_val)
        lines.append("- " + _("Accuracy {accuracy:.1%} (95% confidence interval {low:.1%} to {high:.1%}, Wilson).",
                              accuracy=accuracy, low=low, high=high))
    if summary.get(Summary.BEST_VAL_MACRO_F1) is not None:
        lines.append("- " + _("Macro-F1 {f1}.", f1=i18n.percent(summary[Summary.BEST_VAL_MACRO_F1])))
    if summary.get("per_class"):
        lines += ["", _("| class | precision | recall | F1 | support |"), "|---|---|---|---|---|"]
        shown = dict(zip(predictor.run.labels(), predictor.labels))  # the names given to the classes, where given
        lines += [f"| {shown.get(row['class'], row['class'])} | {row['precision']:.1%} | {row['recall']:.1%} | "
                  f"{row['f1']:.1%} | {row['support']} |" for row in summary["per_class"]]
    return lines


def _card_target(predictor: Predictor, summary: dict) -> list[str]:
    """Where the model will be used, when the run had a target: adapted or not, and its scores there."""
    if not summary.get("target"):
        return []
    image, lines = predictor.modality == "image", []
    method = summary.get("adapt", "none")
    target, count = samples.name_of(summary["target"]), _count(summary.get(Summary.TARGET_ITEMS))
    if method != "none":
        method = adaptation.title(method) if method in adaptation.names() else method
        line = _("Target: {target} ({count} images; its labels only scored). Adapted to it with {method}.",
                 target=target, count=count, method=method) if image else \
            _("Target: {target} ({count} texts; its labels only scored). Adapted to it with {method}.",
              target=target, count=count, method=method)
    else:
        line = _("Target: {target} ({count} images; its labels only scored). Not adapted to it.",
                 target=target, count=count) if image else \
            _("Target: {target} ({count} texts; its labels only scored). Not adapted to it.",
              target=target, count=count)
    lines += ["", "## " + _("Where it will be used (the target)"), "- " + line]
    if summary.get(Summary.TARGET_ACC) is not None:
        without = summary.get(Summary.TARGET_ACC_WITHOUT)
        lines.append("- " + (_("Target accuracy {accuracy:.1%} (without adaptation {without:.1%}).",
                               accuracy=summary[Summary.TARGET_ACC], without=without) if without is not None else
                             _("Target accuracy {accuracy:.1%}.", accuracy=summary[Summary.TARGET_ACC])))
    if method != "none":
        lines.append("- " + _("The model is adapted for the target: on data like the training data it may do a "
                              "little worse than the validation numbers above."))
    return lines


def _card_use(predictor: Predictor) -> list[str]:
    """How to run the exported model, and what it takes."""
    image, characters = predictor.modality == "image", _characters(predictor)
    if image:
        takes = _("`model.onnx` takes raw 8-bit RGB pixels [N, H, W, 3] of any size: resizing, cropping and "
                  "normalising are inside the model (preprocessing.json says how).")
    elif predictor.is_tfidf and characters:
        takes = _("`model.onnx` takes runs of 1-3 characters counted over vocabulary.json (predict.py counts them "
                  "as scikit-learn does); weighting and the classifier are inside the model.")
    elif predictor.is_tfidf:
        takes = _("`model.onnx` takes words and word pairs counted over vocabulary.json (predict.py counts them as "
                  "scikit-learn does); weighting and the classifier are inside the model.")
    else:
        takes = _("`model.onnx` takes token ids and attention masks from tokenizer.json, cut at {max_length} tokens.",
                  max_length=predictor.max_length)
    example = "photo.jpg other.png" if image else _('"some text to classify" "another one"')
    return ["", "## " + _("Use"), "```bash", "pip install -r requirements.txt", "python predict.py " + example, "```",
            _("Prints one JSON object per input: `label` and `probabilities` (class name -> probability)."), takes,
            _("`model.pt2` is the same program for PyTorch: `torch.export.load('model.pt2').module()`.")]


def _card_limits(predictor: Predictor, n_val: int) -> list[str]:
    """What the model is for, and what it is not."""
    image, labels, lines = predictor.modality == "image", predictor.labels, ["", "## " + _("Intended use and limits")]
    if image:
        lines += ["- " + _("For prototyping and teaching: sorting images into the {n} classes above, like the ones "
                           "it was trained on.", n=len(labels)),
                  "- " + _("It only knows these classes: any input gets one of them, even one that belongs to none. "
                           "Check the confidence."),
                  "- " + _("Measured on {n} validation images from the same source as the training data; new images "
                           "from elsewhere (other cameras, lighting, writers, topics) may do worse. Test on your own "
                           "before relying on it.", n=n_val)]
    else:
        lines += ["- " + _("For prototyping and teaching: sorting texts into the {n} classes above, like the ones "
                           "it was trained on.", n=len(labels)),
                  "- " + _("It only knows these classes: any input gets one of them, even one that belongs to none. "
                           "Check the confidence."),
                  "- " + _("Measured on {n} validation texts from the same source as the training data; new texts "
                           "from elsewhere (other cameras, lighting, writers, topics) may do worse. Test on your own "
                           "before relying on it.", n=n_val)]
    lines.append("- " + _("Not for decisions about people, health, money or safety."))
    return lines


def _card_parity(predictor: Predictor, parity: dict | None) -> list[str]:
    """Whether the export predicts as the app does, on the validation examples."""
    if parity is None:
        return []
    image = predictor.modality == "image"
    numbers = dict(n=parity["examples"], different=parity["disagreements"],
                   difference=parity["max_probability_difference"], tolerance=parity["tolerance"])
    if parity["labels_agree"]:
        said = _("On all {n} validation images, this export's predictions agree with the app's ({different} "
                 "different labels); largest probability difference {difference:.1e} (tolerance "
                 "{tolerance:.0e}).", **numbers) if image else \
            _("On all {n} validation texts, this export's predictions agree with the app's ({different} "
              "different labels); largest probability difference {difference:.1e} (tolerance "
              "{tolerance:.0e}).", **numbers)
    else:
        said = _("On all {n} validation images, this export's predictions DISAGREE with the app's ({different} "
                 "different labels); largest probability difference {difference:.1e} (tolerance "
                 "{tolerance:.0e}).", **numbers) if image else \
            _("On all {n} validation texts, this export's predictions DISAGREE with the app's ({different} "
              "different labels); largest probability difference {difference:.1e} (tolerance "
              "{tolerance:.0e}).", **numbers)
    return ["", "## " + _("Parity with the app"), said]


def _shown(text) -> str:
    """A registry title in the current language: a lazy Text, or English marked where it is defined (``_("")``
    would be the catalogue's header)."""
    if isinstance(text, Text):
        return str(text)
    return _(text) if text else text


def zip_folder(folder: str | Path) -> bytes:
    """The export folder as zip bytes (for a download button)."""
    folder = Path(folder)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, f"{folder.name}/{path.relative_to(folder).as_posix()}")
    return buffer.getvalue()
