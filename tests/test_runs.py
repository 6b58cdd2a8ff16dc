"""core/runs.py: the run folder, its files, its status and lock, and the row the run history shows."""

from __future__ import annotations

import errno
import json
import os
import re
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
import torch

from core import runs
from core.errors import UserError
from core.runs import Summary
from tests.helpers import TINY, wait_for

ROOT = Path(__file__).resolve().parents[1]


def _partials(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if "partial" in p.name]


def _run(tmp_path, status: str = "running", config: dict | None = None) -> runs.Run:
    return runs.create_run(tmp_path / "out", "tiny", "feature_extract", status=status,
                           config={"config": {"data": "d", "backbone": "tiny", "strategy": "feature_extract",
                                              "epochs": 3}} if config is None else config)


def _finished(tmp_path, best: float = 0.75) -> runs.Run:
    """A run folder as training leaves it when it finishes: config, labels, events, summary, weights."""
    run = _run(tmp_path)
    run.write_labels(["blue", "red"])
    run.append_event({"kind": "start", "time": 1000.0})
    for epoch, acc in enumerate([0.5, best, 0.6], start=1):
        run.append_event({"kind": "epoch", "time": 1000.0 + epoch, "epoch": epoch, "val_acc": acc,
                          "train_acc": 0.9, "val_loss": 1.0 / epoch})
    run.append_event({"kind": "end", "time": 1004.0})
    run.write_summary({"status": "finished", Summary.BEST_VAL_ACC: best, Summary.BEST_EPOCH: 2,
                       Summary.FINAL_VAL_ACC: 0.6, Summary.VAL_IMAGES: 10, Summary.TRAINABLE_PARAMS: 22,
                       Summary.BEST_VAL_MACRO_F1: 0.7, "seconds": 4.5, "epochs": 3})
    run.save_weights({"head.linear.weight": torch.ones(2, 3)})
    run.set_status("finished")
    return run


# -- creating and listing -------------------------------------------------------------------------
def test_create_run_makes_a_readable_unique_folder_with_config_before_status(tmp_path):
    run = _run(tmp_path, status="queued")
    assert run.dir.parent == tmp_path / "out" and run.id == run.dir.name
    assert re.fullmatch(r"\d{8}-\d{6}-tiny-feature_extract", run.id), run.id
    assert run.has_config() and run.config()["backbone"] == "tiny"
    assert run.recorded_status == "queued" == run.status
    assert (run.dir / runs.STATUS).read_text() == "queued\n"
    assert not _partials(run.dir)


def test_two_runs_created_in_the_same_second_get_different_folders(tmp_path, monkeypatch):
    class Frozen(datetime):
        @classmethod
        def now(cls, tz=None):
            return datetime(2024, 5, 6, 7, 8, 9)

    monkeypatch.setattr(runs, "datetime", Frozen)
    first, second, third = (runs.create_run(tmp_path, "b", "s") for _ in range(3))
    assert [r.id for r in (first, second, third)] == ["20240506-070809-b-s", "20240506-070809-b-s-2",
                                                      "20240506-070809-b-s-3"]
    assert not first.has_config()  # no config given: none written
    assert all(r.recorded_status == "running" for r in (first, second, third))


def test_list_runs_is_newest_first_and_skips_folders_that_are_not_runs(tmp_path):
    out = tmp_path / "out"
    for name in ("20240101-000000-a-s", "20240301-000000-a-s", "20240201-000000-a-s"):
        runs.Run(out / name).dir.mkdir(parents=True)
        runs.Run(out / name).set_status("finished")
    (out / "20250101-000000-not-a-run").mkdir()  # no status file
    assert [r.id for r in runs.list_runs(out)] == ["20240301-000000-a-s", "20240201-000000-a-s",
                                                   "20240101-000000-a-s"]
    assert runs.list_runs(tmp_path / "missing") == []


# -- the small files ------------------------------------------------------------------------------
def test_config_labels_data_predictions_are_written_and_read_back(tmp_path):
    run = _run(tmp_path)
    run.write_config({"config": {"lr": 0.5}, "versions": {"torch": "x"}})
    run.write_labels(["cat", "dog"])
    run.write_data({"root": "/data", "class_titles": {"cat": "Cats"}})
    run.write_predictions([{"item": "a.png", "label": 1}])
    assert run.config() == {"lr": 0.5}
    assert run.labels() == ["cat", "dog"] and run.class_titles() == ["Cats", "dog"]
    assert run.data()["root"] == "/data" and run.predictions() == [{"item": "a.png", "label": 1}]
    assert json.loads(run.config_path.read_text())["versions"] == {"torch": "x"}  # plain JSON a person can read
    assert run.damage() == [] and not _partials(run.dir)


def test_missing_files_read_as_empty_values(tmp_path):
    run = runs.Run(tmp_path / "bare")
    run.dir.mkdir()
    assert (run.config(), run.labels(), run.data(), run.predictions()) == ({}, [], {}, [])
    assert run.summary() is None and not run.summary_damaged()
    assert run.events() == [] and run.history() == [] and run.load_checkpoint() is None
    assert run.recorded_status == "unknown" and not run.has_weights() and not run.has_checkpoint()
    assert "its status file is missing or unreadable" in run.damage()
    assert "config.json is missing" in run.damage()


def test_a_damaged_summary_reads_as_none_and_is_said(tmp_path):
    run = _finished(tmp_path)
    assert run.summary()[Summary.BEST_VAL_ACC] == 0.75 and not run.summary_damaged()
    (run.dir / runs.SUMMARY).write_text('{"best_val_acc": 0.9, "epo')  # cut off
    assert run.summary() is None and run.summary_damaged()
    assert any(p.startswith("summary.json is not valid JSON") for p in run.damage()), run.damage()
    with pytest.raises(runs.DamagedRun, match="summary.json is damaged"):
        run._read_json(runs.SUMMARY)
    (run.dir / runs.SUMMARY).write_text("[1, 2]")  # valid JSON, but not a summary
    assert run.summary() is None and run.summary_damaged()
    (run.dir / runs.SUMMARY).unlink()
    assert run.summary() is None and not run.summary_damaged()
    assert "it finished but summary.json is missing" in run.damage()


def test_damaged_config_or_labels_read_as_empty_and_are_said(tmp_path):
    run = _finished(tmp_path)
    (run.dir / runs.CONFIG).write_bytes(b"\xff\xfe{not json")
    (run.dir / runs.LABELS).write_text('{"a": 1}')  # JSON, but not a list
    assert run.config() == {} and run.labels() == []
    assert any(p.startswith("config.json is not valid JSON") for p in run.damage()), run.damage()


def test_a_status_file_with_something_else_in_it_is_damage(tmp_path):
    run = _finished(tmp_path)
    (run.dir / runs.STATUS).write_text("exploded\n")
    assert run.recorded_status == "exploded"
    assert "its status file says 'exploded'" in run.damage()


# -- events ---------------------------------------------------------------------------------------
def test_events_are_appended_in_order_and_read_back(tmp_path):
    run = _run(tmp_path)
    for index in range(3):
        run.append_event({"kind": "batch", "batch": index})
    assert [e["batch"] for e in run.events()] == [0, 1, 2]
    assert len((run.dir / runs.EVENTS).read_text().splitlines()) == 3  # one JSON object per line


def test_a_cut_off_last_event_is_skipped_and_said(tmp_path):
    run = _finished(tmp_path)
    before = run.events()
    with open(run.dir / runs.EVENTS, "a") as handle:
        handle.write('{"kind": "epoch", "epoch": 4, "val_a')
    assert run.events() == before
    assert run.damage() == ["the last line of events.jsonl was cut off (ignored)"]


def test_unreadable_lines_in_the_middle_are_skipped_and_counted(tmp_path):
    run = _run(tmp_path)
    (run.dir / runs.EVENTS).write_text('{"kind": "start"}\nnot json\n{"no_kind": 1}\n{"kind": "end"}\n')
    assert [e["kind"] for e in run.events()] == ["start", "end"]
    assert run.damage() == ["2 lines of events.jsonl are not readable events (ignored; first: line 2)"]


def test_a_resumed_runs_history_counts_each_epoch_once_and_its_last_attempt_starts_at_the_last_start(tmp_path):
    run = _run(tmp_path)
    for event in ({"kind": "start", "attempt": 1}, {"kind": "epoch", "epoch": 1, "val_acc": 0.1},
                  {"kind": "epoch", "epoch": 2, "val_acc": 0.2}, {"kind": "interrupted"},
                  {"kind": "start", "attempt": 2}, {"kind": "epoch", "epoch": 2, "val_acc": 0.25},
                  {"kind": "epoch", "epoch": 3, "val_acc": 0.3}):
        run.append_event(event)
    assert [(e["epoch"], e["val_acc"]) for e in run.history()] == [(1, 0.1), (2, 0.25), (3, 0.3)]
    attempt = runs.last_attempt(run.events())
    assert attempt[0] == {"kind": "start", "attempt": 2} and len(attempt) == 3
    assert runs.epoch_history([{"kind": "epoch", "epoch": "x"}, {"kind": "batch", "epoch": 1}]) == []


# -- status, lock, stop ---------------------------------------------------------------------------
def test_status_goes_queued_running_finished_and_a_running_run_without_its_process_reads_interrupted(tmp_path):
    run = _run(tmp_path, status="queued")
    assert run.status == "queued" and not run.is_alive()
    with run.training_lock():
        run.set_status("running")
        assert run.is_alive() and run.status == "running" and not run.can_resume()
        assert (run.dir / runs.LOCK).read_text() == str(os.getpid())
    assert not run.is_alive()
    assert run.recorded_status == "running" and run.status == "interrupted"  # the process is gone
    run.set_status("finished")
    assert run.status == "finished"


def test_a_second_lock_on_a_run_is_refused_while_the_first_is_held(tmp_path):
    run = _run(tmp_path)
    with run.training_lock():
        with pytest.raises(UserError) as caught:
            with runs.Run(run.dir).training_lock():
                pass
        assert caught.value.message == f"Run {run.id} is being trained by another process."
        assert caught.value.hint == "Wait for it to end, or stop it first."
    with run.training_lock():  # released: it can be taken again
        pass


def test_a_lock_held_by_another_process_makes_the_run_alive_until_that_process_dies(tmp_path):
    run = _run(tmp_path)
    script = ("import sys; from pathlib import Path; from core.runs import Run\n"
              f"with Run(Path({str(run.dir)!r})).training_lock():\n"
              "    print('held', flush=True); sys.stdin.read()\n")
    child = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        assert child.stdout.readline().strip() == "held"
        assert run.is_alive() and run.status == "running"
        with pytest.raises(UserError, match="is being trained by another process"):
            with run.training_lock():
                pass
        with pytest.raises(UserError, match="is training"):
            run.delete()
    finally:
        child.kill()
        child.wait(timeout=30)
    wait_for(lambda: not run.is_alive(), 10, "the lock to be released")
    assert run.status == "interrupted" and run.can_resume()


def test_stop_requests_are_a_file_any_process_can_set_and_clear(tmp_path):
    run = _run(tmp_path)
    assert not run.stop_requested()
    run.request_stop()
    assert run.stop_requested() and runs.Run(run.dir).stop_requested() and (run.dir / runs.STOP).exists()
    run.clear_stop()
    assert not run.stop_requested()
    run.clear_stop()  # nothing to clear: fine


def test_a_follower_reads_the_folder_and_never_writes_it(tmp_path):
    run = _finished(tmp_path)
    run.request_stop()
    files = {p.name: p.read_bytes() for p in run.dir.iterdir()}
    follower = runs.FollowerRun(run.dir)
    follower.write_summary({"status": "failed"})
    follower.append_event({"kind": "epoch", "epoch": 9})
    follower.set_status("failed")
    follower.save_weights({"w": torch.zeros(1)})
    follower.save_checkpoint({"epoch": 9})
    follower.clear_stop()
    assert {p.name: p.read_bytes() for p in run.dir.iterdir()} == files
    assert not follower.stop_requested()  # rank 0 reads the stop file
    assert follower.summary()[Summary.BEST_VAL_ACC] == 0.75


# -- resuming, checkpoint, weights ---------------------------------------------------------------
@pytest.mark.parametrize("status, checkpoint, config, expected", [
    ("interrupted", False, True, True),    # starts over if no epoch ended
    ("interrupted", False, False, False),  # nothing to start from
    ("stopped", True, True, True),
    ("stopped", False, True, False),
    ("failed", True, True, True),
    ("failed", False, True, False),
    ("finished", True, True, False),
    ("queued", True, True, False),
])
def test_can_resume(tmp_path, status, checkpoint, config, expected):
    run = runs.create_run(tmp_path, "b", "s", status="running" if status == "interrupted" else status,
                          config={"config": {}} if config else None)
    if checkpoint:
        run.save_checkpoint({"epoch": 1})
    assert run.status == status
    assert run.can_resume() is expected


def test_a_checkpoint_round_trips_and_a_damaged_one_is_said(tmp_path):
    run = _run(tmp_path)
    state = {"epoch": 3, "model": {"w": torch.arange(6.0).reshape(2, 3)}, "history": [{"epoch": 1, "val_acc": 0.5}],
             "best": {"acc": 0.5, "loss": float("inf"), "epoch": None}}
    run.save_checkpoint(state)
    loaded = run.load_checkpoint()
    assert loaded["epoch"] == 3 and torch.equal(loaded["model"]["w"], state["model"]["w"])
    assert loaded["history"] == state["history"] and loaded["best"]["epoch"] is None
    assert run.has_checkpoint() and not _partials(run.dir)
    (run.dir / runs.CHECKPOINT).write_bytes((run.dir / runs.CHECKPOINT).read_bytes()[:40])  # cut off by a crash
    with pytest.raises(runs.DamagedRun) as caught:
        run.load_checkpoint()
    assert "its checkpoint is damaged" in caught.value.message and "Train again" in caught.value.hint
    run.drop_checkpoint()
    assert not run.has_checkpoint() and run.load_checkpoint() is None
    run.drop_checkpoint()  # already gone: fine


def test_weights_round_trip_and_missing_or_damaged_weights_are_said(tmp_path):
    run = _run(tmp_path)
    with pytest.raises(runs.DamagedRun, match="has no weights"):
        run.load_weights()
    transposed = torch.arange(6.0).reshape(2, 3).t()  # not contiguous: saved all the same
    run.save_weights({"head.w": transposed, "head.b": torch.zeros(2, requires_grad=True)})
    loaded = run.load_weights()
    assert run.has_weights() and torch.equal(loaded["head.w"], transposed) and set(loaded) == {"head.w", "head.b"}
    assert not _partials(run.dir)
    run.weights_path.write_bytes(b"\x01\x02")
    with pytest.raises(runs.DamagedRun, match="weights file best.safetensors is damaged"):
        run.load_weights()


def test_a_write_that_finds_the_disk_full_keeps_the_old_file_and_leaves_no_partial(tmp_path, monkeypatch):
    from core import storage

    run = _finished(tmp_path)
    before = (run.dir / runs.SUMMARY).read_bytes()

    def full(source, target):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(storage.os, "replace", full)
    with pytest.raises(UserError) as caught:
        run.write_summary({"status": "finished", Summary.BEST_VAL_ACC: 0.1})
    assert caught.value.message.startswith(f"The disk is full: could not write summary.json of run {run.id}")
    monkeypatch.setattr(runs.os, "replace", full)
    with pytest.raises(UserError, match="could not write the checkpoint of run"):
        run.save_checkpoint({"epoch": 1, "w": torch.zeros(3)})
    with pytest.raises(UserError, match="could not write the weights of run"):
        run.save_weights({"w": torch.zeros(3)})
    monkeypatch.undo()
    assert (run.dir / runs.SUMMARY).read_bytes() == before and run.summary()[Summary.BEST_VAL_ACC] == 0.75
    assert not run.has_checkpoint() and torch.equal(run.load_weights()["head.linear.weight"], torch.ones(2, 3))
    assert not _partials(run.dir)


def test_delete_refuses_a_queued_or_training_run_and_removes_an_ended_one(tmp_path):
    queued = _run(tmp_path, status="queued")
    with pytest.raises(UserError, match="is waiting in the queue"):
        queued.delete()
    training = _run(tmp_path)
    with training.training_lock():
        with pytest.raises(UserError, match="is training"):
            training.delete()
    training.delete()  # its process is gone: interrupted, can go
    assert not training.dir.exists() and queued.dir.exists()


# -- rows of the run history ----------------------------------------------------------------------
def test_a_finished_runs_row_says_what_its_summary_says(tmp_path):
    run = _finished(tmp_path, best=0.75)
    row = runs.describe(run)
    assert row["id"] == run.id and row["status"] == "finished" and row["damage"] == []
    assert row[Summary.BEST_VAL_ACC] == 0.75 and row[Summary.BEST_VAL_MACRO_F1] == 0.7
    assert row["epochs"] == 3 and row[Summary.EPOCHS_PLANNED] == 3 and row["final_train_acc"] == 0.9
    assert row["seconds"] == 4.5 and row[Summary.VAL_IMAGES] == 10 and row[Summary.TRAINABLE_PARAMS] == 22
    assert (row["backbone"], row["strategy"], row["data"]) == ("tiny", "feature_extract", "d")
    assert row["started"] == datetime.fromtimestamp(1000.0).isoformat(timespec="seconds")
    assert row["can_resume"] is False and row["adapt"] == "none"


def test_a_row_follows_its_files_when_they_change(tmp_path):
    run = _finished(tmp_path, best=0.75)
    assert runs.describe(run)[Summary.BEST_VAL_ACC] == 0.75
    run.write_summary({**run.summary(), Summary.BEST_VAL_ACC: 0.8125, "seconds": 12.25})
    row = runs.describe(run)
    assert row[Summary.BEST_VAL_ACC] == 0.8125 and row["seconds"] == 12.25
    row["status"] = "edited by a caller"
    assert runs.describe(run)["status"] == "finished"  # each call gets its own copy


def test_a_running_runs_row_reads_its_events(tmp_path):
    run = _run(tmp_path)
    run.append_event({"kind": "start", "time": 2000.0})
    run.append_event({"kind": "epoch", "time": 2002.0, "epoch": 1, "val_acc": 0.4, "train_acc": 0.3})
    run.append_event({"kind": "epoch", "time": 2004.5, "epoch": 2, "val_acc": 0.6, "train_acc": 0.5})
    with run.training_lock():
        row = runs.describe(run)
        assert row["status"] == "running" and row["damage"] == []
        assert row[Summary.BEST_VAL_ACC] == 0.6 and row["epochs"] == 2 and row["final_train_acc"] == 0.5
        assert row["seconds"] == 4.5 and row["can_resume"] is False
        run.append_event({"kind": "epoch", "time": 2006.0, "epoch": 3, "val_acc": 0.7})
        assert runs.describe(run)["epochs"] == 3  # a live run's row is never kept
    row = runs.describe(run)
    assert row["status"] == "interrupted" and row["can_resume"] is True


def test_a_damaged_runs_row_says_damaged_and_why(tmp_path):
    broken_summary = _finished(tmp_path)
    (broken_summary.dir / runs.SUMMARY).write_text("{")
    no_config = _finished(tmp_path)
    (no_config.dir / runs.CONFIG).unlink()
    row = runs.describe(broken_summary)
    assert row["status"] == "damaged" and row["damage"][0].startswith("summary.json is not valid JSON")
    assert row["can_resume"] is False
    assert row[Summary.BEST_VAL_ACC] == 0.75  # read off the epochs when the summary cannot be
    row = runs.describe(no_config)
    assert row["status"] == "damaged" and row["damage"] == ["config.json is missing"]
    assert runs.status_words("damaged") == "damaged" and runs.status_words("odd") == "odd"


def test_a_queued_runs_row_has_no_results_yet(tmp_path):
    row = runs.describe(_run(tmp_path, status="queued"))
    assert row["status"] == "queued" and row["epochs"] == 0 and row[Summary.BEST_VAL_ACC] is None
    assert row["seconds"] is None and row["final_train_acc"] is None and row["damage"] == []


# -- what training writes -------------------------------------------------------------------------
def test_the_summary_keys_are_what_training_writes_and_what_the_row_reads(colors_folder, tmp_path):
    from core.config import TrainConfig
    from core.train import fit

    config = TrainConfig.for_strategy(str(colors_folder), "feature_extract", backbone=TINY, epochs=2, batch_size=8,
                                      out_dir=str(tmp_path / "out"))
    summary = fit(config)
    run = runs.Run(Path(summary["run_dir"]))
    written = run.summary()
    for key in (Summary.BEST_VAL_ACC, Summary.BEST_VAL_MACRO_F1, Summary.FINAL_VAL_ACC, Summary.BEST_EPOCH,
                Summary.VAL_IMAGES, Summary.TRAIN_IMAGES, Summary.TRAINABLE_PARAMS, Summary.EPOCHS_PLANNED):
        assert key in written, key
    assert written[Summary.EPOCHS_PLANNED] == 2 and written[Summary.VAL_IMAGES] + written[Summary.TRAIN_IMAGES] == 24
    assert written[Summary.BEST_EPOCH] in (1, 2)
    row = runs.describe(run)
    for key in (Summary.BEST_VAL_ACC, Summary.BEST_VAL_MACRO_F1, Summary.VAL_IMAGES, Summary.TRAINABLE_PARAMS,
                Summary.EPOCHS_PLANNED):
        assert row[key] == written[key], key
    epochs = [e for e in run.events() if e["kind"] == "epoch"]
    assert epochs[-1][Summary.BEST_VAL_ACC] == written[Summary.BEST_VAL_ACC]
    assert row["status"] == "finished" and row["damage"] == [] and not run.has_checkpoint()
    assert run.labels() == ["blue", "red"] and run.config()["epochs"] == 2 and not _partials(run.dir)


def test_pages_open_on_the_persons_latest_run_before_a_lessons(tmp_path):
    """Results and Try it open on the run that finished last, but a lesson prepared after it (before class) does
    not take its place; with only lessons' runs, the latest of those."""
    from ui.run_view import latest_finished

    mine = _finished(tmp_path)
    lesson = _finished(tmp_path)
    stored = lesson.read_json(runs.CONFIG, {})
    lesson.write_config({**stored, "config": {**stored["config"], "group": "lesson-pretrained-few"}})
    os.utime(lesson.dir / runs.SUMMARY, (2e9, 2e9))  # the lesson's finished last
    assert latest_finished([mine, lesson]) == mine and latest_finished([lesson, mine]) == mine
    assert latest_finished([lesson]) == lesson
