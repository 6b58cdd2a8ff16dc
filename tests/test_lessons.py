"""Lessons (core/lessons/): each runs headless on tiny data, its conclusion follows its numbers (also when they
contradict the textbook story), a second run reuses what is prepared, and the CLI lists and runs them."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from core import lessons, runs, strategies
from core.runs import Summary
from tests.helpers import TINY, TINY_BERT, make_image_folder, write_text_csv

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def setup(tmp_path):
    images = make_image_folder(tmp_path / "digits", {"red": 12, "green": 12, "blue": 12})
    target = make_image_folder(tmp_path / "photos", {"red": 6, "green": 6, "blue": 6}, size=48)
    texts = write_text_csv(tmp_path / "reviews.csv", per_class=16)
    return lessons.Setup(images=str(images), target=str(target), texts=str(texts), image_backbone=TINY,
                         text_backbone=TINY_BERT, epochs=1, runs_dir=str(tmp_path / "home" / "runs"),
                         shared={"batch_size": 8})


def test_every_lesson_lists_its_steps_and_its_time_to_prepare(setup):
    listed = lessons.all_lessons()
    assert [lesson.id for lesson in listed] == ["pretrained", "extract_or_tune", "how_much_data", "pretrain_transfer",
                                                "domain_shift", "texts", "look_inside", "privacy"]
    for lesson in listed:
        assert lesson.title and lesson.goal and lesson.question
        assert lesson.steps(setup) and lessons.estimate_minutes(lesson, setup) > 0
        assert not lessons.is_prepared(lesson, setup)


@pytest.mark.parametrize("lesson_id", ["pretrained", "extract_or_tune", "how_much_data", "pretrain_transfer",
                                       "domain_shift", "texts", "look_inside", "privacy"])
def test_a_lesson_runs_headless_and_concludes_from_its_numbers(setup, lesson_id):
    found = lessons.run(lesson_id, setup)
    lesson = lessons.get(lesson_id)
    assert found["id"] == lesson_id and [s["id"] for s in found["steps"]] == [s.id for s in lesson.steps(setup)]
    for step in found["steps"]:
        assert step["runs"] and all((Path(d) / runs.SUMMARY).is_file() for d in step["runs"])
        assert step["numbers"]
    numbers = {step["id"]: step["numbers"] for step in found["steps"]}
    assert found["conclusion"] == str(lesson.conclude(numbers)) and len(found["conclusion"]) > 40
    assert lessons.is_prepared(lesson, setup) and lessons.estimate_minutes(lesson, setup) == 0
    assert lessons.kept(lesson_id, setup)["conclusion"] == found["conclusion"]


def test_a_second_run_reuses_the_prepared_runs(setup):
    first = lessons.run("pretrained", setup)
    before = len(runs.list_runs(setup.runs_dir))
    second = lessons.run("pretrained", setup)
    assert len(runs.list_runs(setup.runs_dir)) == before
    assert [s["runs"] for s in second["steps"]] == [s["runs"] for s in first["steps"]]
    assert second["conclusion"] == first["conclusion"]


def test_a_changed_setting_trains_again_instead_of_reusing(setup):
    lessons.run("privacy", setup)
    before = len(runs.list_runs(setup.runs_dir))
    lessons.run("privacy", lessons.Setup(**{**setup.__dict__, "shared": {"batch_size": 4}}))
    assert len(runs.list_runs(setup.runs_dir)) == before + 2


def _scores(accuracy: float, n: int = 1000) -> dict:
    return {"accuracy": accuracy, "val_images": n, "dir": ""}


def test_the_conclusion_follows_numbers_that_contradict_the_usual_story():
    lesson = lessons.get("pretrained")
    usual = str(lesson.conclude({"few": {"transfer": _scores(0.80), "scratch": _scores(0.40)}}))
    contrary = str(lesson.conclude({"few": {"transfer": _scores(0.40), "scratch": _scores(0.80)}}))
    level = str(lesson.conclude({"few": {"transfer": _scores(0.60), "scratch": _scores(0.605)}}))
    assert "carries over" in usual and "80.0%" in usual
    assert "network from scratch wins" in contrary and "Not the textbook story" in contrary
    assert "about the same" in level
    assert len({usual, contrary, level}) == 3


def test_the_curve_lesson_says_where_the_baseline_catches_up_or_that_it_does_not():
    lesson = lessons.get("how_much_data")

    def curve(*pairs):
        found = []
        for size, transfer, scratch in pairs:
            found += [{"strategy": strategies.FEATURE_EXTRACTION, "per_class": size, **_scores(transfer)},
                      {"strategy": "scratch", "per_class": size, **_scores(scratch)}]
        return {"curve": {"points": found}}

    catches = str(lesson.conclude(curve((5, 0.8, 0.4), (20, 0.9, 0.7), (None, 0.95, 0.95))))
    never = str(lesson.conclude(curve((5, 0.8, 0.4), (None, 0.95, 0.7))))
    contrary = str(lesson.conclude(curve((5, 0.5, 0.6), (None, 0.9, 0.95))))
    assert "Only with all the data does the network from scratch catch up" in catches
    midway = str(lesson.conclude(curve((5, 0.8, 0.4), (20, 0.9, 0.9), (None, 0.95, 0.95))))
    assert "With 20 examples per class the network from scratch has caught up" in midway
    assert "never catches up" in never
    assert "Not the textbook story" in contrary


def test_domain_lesson_says_when_auto_kept_no_method_and_when_adaptation_hurt():
    lesson = lessons.get("domain_shift")
    plain = {"accuracy": 0.9, "target_accuracy": 0.5, "adapt": "none"}
    kept_none = str(lesson.conclude({"plain": plain, "adapted": {**plain}}))
    helped = str(lesson.conclude({"plain": plain, "adapted": {**plain, "target_accuracy": 0.6, "adapt": "coral"}}))
    hurt = str(lesson.conclude({"plain": plain, "adapted": {**plain, "target_accuracy": 0.45, "adapt": "coral"}}))
    assert "kept none" in kept_none and "won back" in helped and "did not help" in hurt
    assert "chosen by measurement (CORAL)" in helped
    assert "source" not in helped.split("won back")[1]  # no cost on the source: none said


def test_domain_lesson_says_what_adapting_cost_on_the_source():
    lesson = lessons.get("domain_shift")
    plain = {"accuracy": 0.93, "val_images": 200, "target_accuracy": 0.558, "adapt": "none"}
    clear = str(lesson.conclude({"plain": plain, "adapted": {**plain, "accuracy": 0.80, "target_accuracy": 0.668,
                                                             "adapt": "coral"}}))
    slight = str(lesson.conclude({"plain": plain, "adapted": {**plain, "accuracy": 0.91, "target_accuracy": 0.668,
                                                              "adapt": "coral"}}))
    assert "won back" in clear and "paid for it on the source: 80.0% there instead of 93.0% (13.0 points" in clear
    assert "91.0% instead of 93.0% (2.0 points lower, within what" in slight


def test_the_cli_lists_lessons_and_runs_one_on_given_data(setup, tmp_path):
    environment = {"TRANSFERLAB_HOME": str(tmp_path / "home")}
    import os
    env = {**os.environ, **environment}
    listed = subprocess.run([sys.executable, "-m", "core", "lessons", "--json"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert [row["id"] for row in rows][:2] == ["pretrained", "extract_or_tune"]
    assert all(set(row) == {"id", "title", "minutes", "steps"} for row in rows)
    ran = subprocess.run([sys.executable, "-m", "core", "lessons", "run", "domain_shift", "--json", "--images",
                          setup.images, "--target", setup.target, "--image-backbone", TINY, "--epochs", "1"],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert ran.returncode == 0, ran.stderr
    found = json.loads(ran.stdout)
    assert found["id"] == "domain_shift" and [s["id"] for s in found["steps"]] == ["plain", "adapted"]
    assert found["steps"][0]["numbers"]["target_accuracy"] is not None and found["conclusion"]


def test_an_unknown_lesson_is_a_clear_error(tmp_path):
    done = subprocess.run([sys.executable, "-m", "core", "lessons", "run", "nope"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode != 0 and "Unknown lesson 'nope'" in done.stderr and "python -m core lessons" in done.stderr


def test_pretrain_then_transfer_reuses_the_run_it_pretrained_as_the_backbone(setup):
    found = lessons.run("pretrain_transfer", setup)
    pretrained_dir = found["steps"][0]["runs"][0]
    transfer = runs.Run(Path(found["steps"][1]["runs"][0]))
    assert transfer.config()["backbone"] == "run:" + pretrained_dir
    assert transfer.config()["data"] == setup.target and transfer.config()["per_class"] == 10


def test_look_inside_counts_the_mistakes_and_names_the_most_confused_pair():
    lesson = lessons.get("look_inside")
    numbers = {"mistakes": {"accuracy": 0.9, "val_images": 200, "mistakes": 20, "validated": 200,
                            "confused": [{"true": "4", "predicted": "9", "count": 7}]}}
    said = str(lesson.conclude(numbers))
    assert "20 of 200" in said and "answers 9 for a 4 (7 times)" in said
    none = str(lesson.conclude({"mistakes": {**numbers["mistakes"], "mistakes": 0, "confused": []}}))
    assert "no mistake" in none
    words = {"mistakes": 3, "validated": 40, "shown": [{"true": "sport", "predicted": "politics",
                                                        "strongest": ["election", "vote", "minister", "goal"]}]}
    both = str(lesson.conclude({**numbers, "words": words}))
    assert "3 of 40 wrong" in both and "(sport read as politics)" in both and "election, vote, and minister" in both


def test_look_inside_keeps_the_heat_maps_of_the_mistakes_and_the_words_behind_the_text_ones(setup):
    found = {step["id"]: step["numbers"] for step in lessons.run("look_inside", setup)["steps"]}
    images, texts = found["mistakes"], found["words"]
    assert len(images["shown"]) == min(images["mistakes"], 6)
    for item in images["shown"]:
        from PIL import Image
        assert Image.open(item["picture"]).size[0] > 20 and item["true"] != item["predicted"]
    assert len(texts["shown"]) == min(texts["mistakes"], 3)
    for item in texts["shown"]:
        assert item["words"] and all(any(c.isalnum() for c in word) for word in item["strongest"])


def test_a_preparation_stopped_half_way_keeps_the_steps_it_finished(setup, monkeypatch):
    lesson = lessons.get("domain_shift")
    steps = lesson.steps(setup)

    def broken(setup, group):
        raise KeyboardInterrupt  # the teacher pressed Stop while the second step trained

    monkeypatch.setattr(type(lesson), "steps", lambda self, setup: [steps[0], lessons.Step(
        steps[1].id, steps[1].title, steps[1].notice, broken, steps[1].measure)])
    with pytest.raises(KeyboardInterrupt):
        lessons.run("domain_shift", setup)
    kept = lessons.kept("domain_shift", setup)
    assert kept["partial"] and list(kept["numbers"]) == ["plain"] and not lessons.prepared("domain_shift", setup)
    monkeypatch.undo()
    lessons.run("domain_shift", setup)
    assert lessons.prepared("domain_shift", setup)


def test_a_lesson_whose_plan_changed_is_not_prepared_any_more(setup):
    """Kept results of other settings (an older plan, other epochs) do not make a lesson 'prepared': the page
    and the CLI's time to prepare agree."""
    import dataclasses

    lessons.run("privacy", setup)
    assert lessons.prepared("privacy", setup)
    changed = dataclasses.replace(setup, epochs=2)
    assert lessons.kept("privacy", changed) is not None and not lessons.prepared("privacy", changed)
    assert lessons.estimate_minutes(lessons.get("privacy"), changed) > 0
    step = lessons.get("privacy").steps(changed)[0]
    assert lessons.step_ready(lessons.get("privacy"), step, setup) and \
        not lessons.step_ready(lessons.get("privacy"), step, changed)
