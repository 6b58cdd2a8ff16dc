"""The dataset doctor (core/doctor.py) and exclusions (core/data/exclusions.py), on tiny data with planted faults."""

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core import data, doctor
from core.data import exclusions
from core.config import TrainConfig
from core.train import fit
from tests.helpers import COLORS, TINY, TINY_BERT, make_image, make_image_folder, make_text_rows

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def planted(tmp_path) -> Path:
    """train/ and val/ of red and blue squares, with: two red squares filed under blue (flipped labels), an
    exact copy of a training image in validation, a second exact copy inside training, and a green square
    among the reds (unlike everything else)."""
    root = tmp_path / "planted"
    make_image_folder(root / "train", {"red": 14, "blue": 14})
    for name in ("red", "blue"):  # make_image_folder would draw val's squares exactly as train's
        (root / "val" / name).mkdir(parents=True)
        for n in range(5):
            make_image(COLORS[name], seed=500 + n + (50 if name == "blue" else 0)).save(root / "val" / name / f"{n:03d}.png")
    for n in (0, 1):
        make_image(COLORS["red"], seed=900 + n).save(root / "train" / "blue" / f"flipped-{n}.png")
    shutil.copyfile(root / "train" / "red" / "003.png", root / "val" / "red" / "copy-of-003.png")
    shutil.copyfile(root / "train" / "blue" / "004.png", root / "train" / "blue" / "copy-of-004.png")
    make_image(COLORS["green"], seed=7).save(root / "train" / "red" / "odd-one.png")
    return root


def test_planted_label_errors_duplicates_and_an_outlier_are_found(planted):
    checkup = doctor.examine(str(planted), backbone=TINY)
    suspects = [finding["item"] for finding in checkup.label_issues]
    assert {"train/blue/flipped-0.png", "train/blue/flipped-1.png"} <= set(suspects)
    flipped = next(f for f in checkup.label_issues if f["item"] == "train/blue/flipped-0.png")
    assert flipped["label"] == "blue" and flipped["suggested"] == "red" and flipped["split"] == "train"
    confidences = [f["confidence"] for f in checkup.label_issues]
    assert confidences == sorted(confidences, reverse=True)  # surest first
    exact = {frozenset(d["items"]): d for d in checkup.duplicates if d["exact"]}
    across = exact[frozenset({"train/red/003.png", "val/red/copy-of-003.png"})]
    assert across["across"] and across["splits"] == ["train", "val"] and across["similarity"] == 1.0
    inside = exact[frozenset({"train/blue/004.png", "train/blue/copy-of-004.png"})]
    assert not inside["across"]
    assert checkup.outliers and checkup.outliers[0]["item"] == "train/red/odd-one.png"
    words = " ".join(checkup.words())
    assert "have a copy (or a near-copy) in the training data" in words and "may be mislabelled" in words
    assert "unlike all the others" in words
    assert doctor.Checkup.from_dict(checkup.to_dict()).words() == checkup.words()  # said again where it is read
    # once the flipped examples are excluded, the summary counts what is left (not what was found)
    gone = {"train/blue/flipped-0.png", "train/blue/flipped-1.png"}
    after = checkup.without(gone)
    assert not gone & {f["item"] for f in after.label_issues}
    assert after.counts["label_issues"] == checkup.counts["label_issues"] - len(gone & set(suspects))
    left = after.counts["label_issues"]
    assert (f"{left} example" in " ".join(after.words())) if left else "mislabelled" not in " ".join(after.words())
    assert not any(gone & set(d["items"]) for d in after.duplicates)
    assert after.counts["duplicates"] == checkup.counts["duplicates"] - (len(checkup.duplicates) - len(after.duplicates))


def test_near_copies_count_from_the_threshold_exact_ones_always(planted):
    picture = Image.open(planted / "train" / "red" / "005.png").convert("RGB")
    pixels = np.array(picture)
    pixels[0, 0] = 255 - pixels[0, 0]  # one pixel changed: not the same bytes, the same picture
    Image.fromarray(pixels).save(planted / "train" / "red" / "retouched-005.png")
    pair = frozenset({"train/red/005.png", "train/red/retouched-005.png"})
    loose = {frozenset(d["items"]): d for d in doctor.examine(str(planted), backbone=TINY, near=1.01).duplicates}
    assert pair in loose and not loose[pair]["exact"] and loose[pair]["by"] == "pixels"  # the thumbnails agree
    assert loose[pair]["similarity"] >= doctor.NEAR_PIXELS
    assert not [d for d in loose.values() if d["by"] == "pixels" and frozenset(d["items"]) != pair]  # noise differs
    strict = doctor.examine(str(planted), backbone=TINY, near=1.01, near_pixels=1.01).duplicates  # nothing so alike ...
    assert pair not in {frozenset(d["items"]) for d in strict}
    assert all(d["exact"] for d in strict) and len(strict) == 2  # ... but the two exact copies still are


def test_an_exclusion_leaves_every_split_and_can_be_undone(planted):
    before = data.load_dataset(str(planted))
    exclusions.exclude(before, {"val/red/copy-of-003.png": "a copy", "train/red/odd-one.png": "outlier"})
    after = data.load_dataset(str(planted))
    keys = {key for key, _ in after.train + after.val}
    assert "val/red/copy-of-003.png" not in keys and "train/red/odd-one.png" not in keys
    assert after.excluded == ["train/red/odd-one.png", "val/red/copy-of-003.png"]
    assert set(after.train) == set(before.train) - {("train/red/odd-one.png", 1)}  # the others stay where they were
    assert sorted(after.all_items()) == sorted(before.all_items())  # still featurised: the cache is shared
    assert any("excluded" in warning for warning in after.warnings)
    summary = fit(TrainConfig.for_strategy(str(planted), "feature_extract", backbone=TINY, epochs=2))
    assert summary["train_images"] == len(before.train) - 1 and summary["val_images"] == len(before.val) - 1
    assert doctor.examine(str(planted), backbone=TINY).excluded == after.excluded
    exclusions.include(after, ["train/red/odd-one.png"])
    assert data.load_dataset(str(planted)).excluded == ["val/red/copy-of-003.png"]
    assert exclusions.path_for(after).parent.parent == Path(os.environ["TRANSFERLAB_HOME"]) / "data"


def test_a_damaged_exclusions_file_excludes_nothing_instead_of_refusing_the_data(planted):
    report = data.load_dataset(str(planted))
    exclusions.exclude(report, {"train/red/odd-one.png": "outlier"})
    exclusions.path_for(report).write_text("{not json")
    assert data.load_dataset(str(planted)).excluded == []


def test_text_duplicates_are_found_through_case_and_spacing(tmp_path):
    rows = make_text_rows(12)
    rows.append(("  THE MOVIE WAS good   and great, really fine lovely ", "positive"))
    rows.append((rows[-1][0].strip().lower(), "negative"))  # the same text, another label
    path = tmp_path / "texts.csv"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([("review", "sentiment"), *rows])
    checkup = doctor.examine(str(path), backbone=TINY_BERT)
    exact = [d for d in checkup.duplicates if d["exact"]]
    keys = sorted(data.load_dataset(str(path)).texts)
    assert any(set(d["items"]) == {keys[-2], keys[-1]} and sorted(d["labels"]) == ["negative", "positive"]
               for d in exact)
    assert "different labels" in " ".join(checkup.words())


def test_the_cli_prints_findings_as_json_and_can_exclude_them(planted):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "core", "doctor", "--data", str(planted), "--backbone", TINY, "--json",
               "--near", "1.01"]  # not on features: the tiny backbone sees all squares of a colour as near-copies
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout.splitlines()[-1])
    assert {"label_issues", "duplicates", "outliers", "words"} <= set(found)
    for kind in ("label_issues", "duplicates"):
        assert [f["confidence"] for f in found[kind]] == sorted((f["confidence"] for f in found[kind]), reverse=True)
    assert "features " in done.stderr  # progress on stderr, the JSON alone on stdout
    done = subprocess.run(command + ["--exclude", "duplicates"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=180)
    assert done.returncode == 0, done.stderr
    excluded = data.load_dataset(str(planted)).excluded
    assert "val/red/copy-of-003.png" in excluded  # of a train/val pair, the validation copy
    assert "train/red/003.png" not in excluded
    missing = subprocess.run([sys.executable, "-m", "core", "doctor", "--data", str(planted / "nowhere")], cwd=ROOT,
                             env=env, capture_output=True, text=True, timeout=60)
    assert missing.returncode == 1 and missing.stderr.startswith("error: ")


def test_a_text_with_a_sentence_dropped_is_a_near_copy_in_any_script(tmp_path):
    article = ("今天上午，市政府召开新闻发布会，介绍了今年的城市交通规划。新的地铁线路将在明年年底前开通，"
               "连接城市东部和西部的主要商业区。专家表示，这将大大缓解高峰时段的交通压力。")
    shorter = article.split("。", 1)[1]  # the first sentence dropped
    rows = [(f"第{n}条新闻：天气晴朗，气温{n}度，适合出行。", "天气") for n in range(12)] + \
           [(f"第{n}场比赛：主队以{n}比{n + 1}输给客队。", "体育") for n in range(12)] + \
           [(article, "城市"), (shorter, "城市")] + [(f"城市新闻{n}：公园新增{n}棵树。", "城市") for n in range(10)]
    path = tmp_path / "news.csv"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([("text", "label"), *rows])
    keys = sorted(data.load_dataset(str(path)).texts)
    pair = frozenset({keys[24], keys[25]})
    found = {frozenset(d["items"]): d for d in doctor.examine(str(path), backbone=TINY_BERT, near=1.01).duplicates}
    assert pair in found and found[pair]["by"] == "text" and found[pair]["similarity"] >= doctor.NEAR_TEXT
    assert all(d["by"] in ("text", "bytes") for d in found.values())
