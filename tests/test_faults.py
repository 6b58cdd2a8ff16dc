"""The fault catalogue: everything that goes wrong outside the user's control ends in a clear message
and loses nothing. Each fault, and the test that proves it:

| fault                                        | test                                                                 |
|----------------------------------------------|----------------------------------------------------------------------|
| training process killed (kill -9, OOM killer)| test_jobs::test_stop_a_queued_run_a_training_run_and_survive_a_killed_child |
| SIGTERM / Ctrl+C to the training command     | test_two_trainings_on_one_runs_folder_* (SIGTERM), test_jobs (Ctrl+C) |
| the server dies mid-run                      | test_jobs::test_a_run_left_by_a_dead_server_is_interrupted_then_resumes_to_the_end |
| data deleted mid-run                         | test_jobs::test_a_file_gone_bad_mid_run_fails_the_run_with_its_name_and_the_queue_goes_on |
| two trainings on one runs folder             | test_two_trainings_on_one_runs_folder_both_run_and_one_run_is_trained_once |
| damaged feature cache                        | test_a_damaged_feature_cache_is_recomputed_and_said              |
| disk full (patched writes, a tiny filesystem)| test_disk_full_*                                                     |
| damaged run folders                          | test_damaged_run_folders_are_listed_with_the_reason (+ CLI, pages, browser) |
| divergence (too high a learning rate)        | test_divergence_*, test_a_far_too_high_learning_rate_is_refused_as_too_high |
| an unexpected error on a page                | test_an_unexpected_error_on_a_page_is_short_with_details_folded  |

Waits are for the event a test needs (a checkpoint, an epoch), never for a guessed time.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from core import features, runs, storage
from core.config import TrainConfig
from core.errors import UserError
from core.divergence import Divergence
from core.train import fit
from tests.helpers import TINY, make_image_folder, wait_for

ROOT = Path(__file__).resolve().parents[1]


def _config(data, strategy="feature_extract", **overrides) -> TrainConfig:
    values = {"backbone": TINY, "epochs": 3, "batch_size": 8, "patience": 0, **overrides}
    return TrainConfig.for_strategy(str(data), strategy, **values)


def _env(home: Path) -> dict:
    return {**os.environ, "TRANSFERLAB_HOME": str(home), "PYTHONPATH": str(ROOT)}


def _partials(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if "partial" in p.name]


# -- damaged feature cache ------------------------------------------------------------------------
def test_a_damaged_feature_cache_is_recomputed_and_said(colors_folder, isolated_home):
    first = fit(_config(colors_folder))
    assert first["cache_hit"] is False
    [cached] = (isolated_home / "cache" / "features" / TINY).glob("*.safetensors")
    cached.write_bytes(cached.read_bytes()[:50])  # cut off, as by a crash or a full disk
    events = []
    second = fit(_config(colors_folder), on_event=events.append)
    assert second["status"] == "finished" and second["cache_hit"] is False
    notices = [e["message"] for e in events if e["kind"] == "notice"]
    assert any("damaged" in n and "computing them again" in n for n in notices), notices
    features.read_cache_file(cached)  # whole again
    assert fit(_config(colors_folder))["cache_hit"] is True


def test_a_cache_file_of_garbage_or_wrong_rows_is_damaged(tmp_path):
    garbage = tmp_path / "x.safetensors"
    garbage.write_bytes(b"\x00" * 100)
    with pytest.raises(features.DamagedCache):
        features.read_cache_file(garbage)


# -- disk full ------------------------------------------------------------------------------------
def _full(*_args, **_kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


def _half_then_full(path_argument: int):
    """A write that leaves half a file, then finds the disk full (what a real full disk does)."""
    def write(*args, **_kwargs):
        Path(args[path_argument]).write_bytes(b"half a file")
        raise OSError(errno.ENOSPC, "No space left on device")
    return write


def test_disk_full_while_checkpointing_fails_the_run_with_the_folder_and_leaves_no_partial_file(
        colors_folder, isolated_home, monkeypatch, tmp_path):
    monkeypatch.setattr(runs.torch, "save", _half_then_full(1))
    events = []
    with pytest.raises(UserError) as caught:
        fit(_config(colors_folder, "fine_tune", out_dir=str(tmp_path / "out")), on_event=events.append)
    message = str(caught.value)
    assert message.startswith("The disk is full: could not write the checkpoint of run")
    assert str(tmp_path / "out") in message and "needs about" in message and "TRANSFERLAB_HOME" in message
    [run_dir] = (tmp_path / "out").iterdir()
    assert runs.Run(run_dir).status == "failed" and not _partials(run_dir)
    assert events[-1]["kind"] == "error" and "disk is full" in events[-1]["message"]
    monkeypatch.undo()  # space again: the app goes on
    assert fit(_config(colors_folder, "fine_tune", epochs=1, out_dir=str(tmp_path / "out")))["status"] == "finished"


def test_disk_full_writing_the_feature_cache(colors_folder, isolated_home, monkeypatch):
    monkeypatch.setattr(features, "save_file", _half_then_full(1))
    with pytest.raises(UserError, match="could not write the feature cache in"):
        fit(_config(colors_folder))
    assert not _partials(isolated_home / "cache")


def test_disk_full_writing_weights(colors_folder, monkeypatch, tmp_path):
    monkeypatch.setattr(runs, "save_file", _half_then_full(1))
    with pytest.raises(UserError, match="could not write the weights of run"):
        fit(_config(colors_folder, out_dir=str(tmp_path / "out")))
    assert not _partials(tmp_path / "out")


def test_disk_full_unpacking_an_upload(tmp_path, monkeypatch):
    from core.data import archive
    from tests.helpers import zip_folder

    content = zip_folder(make_image_folder(tmp_path / "src", {"red": 3, "blue": 3}))
    monkeypatch.setattr(archive, "_copy_capped", _full)
    with pytest.raises(UserError, match="could not write the unpacked upload") as caught:
        archive.import_zip(content, tmp_path / "uploads")
    assert "needs about" in str(caught.value)
    assert not list((tmp_path / "uploads").iterdir())  # nothing half-unpacked


def test_disk_full_storing_an_uploaded_table(monkeypatch, isolated_home):
    from core import data

    real_open = open

    def full_open(file, mode="r", *args, **kwargs):
        if "w" in mode and "partial" in str(file):
            handle = real_open(file, mode, *args, **kwargs)
            handle.close()
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_open(file, mode, *args, **kwargs)

    monkeypatch.setattr("builtins.open", full_open)
    with pytest.raises(UserError, match="could not write the uploaded file"):
        data.store_upload("reviews.csv", b"text,label\nhello,a\n")
    monkeypatch.undo()
    assert not _partials(isolated_home)


def test_disk_full_exporting(colors_folder, monkeypatch, tmp_path):
    from core.inference import export

    summary = fit(_config(colors_folder, epochs=2))
    monkeypatch.setattr(export, "_write_side_files", _full)
    with pytest.raises(UserError, match="could not write the export"):
        export.export_run(summary["run_dir"], tmp_path / "export", check=False)
    assert not (tmp_path / "export").exists() and not _partials(tmp_path)


@pytest.fixture
def tiny_filesystem(tmp_path):
    """A real, nearly full 1 MB filesystem (tmpfs), where the machine allows mounting one."""
    folder = tmp_path / "small"
    folder.mkdir()
    if shutil.which("mount") is None or subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(folder)], capture_output=True).returncode:
        pytest.skip("cannot mount a small filesystem here (needs root); the patched writes above cover it")
    filler = folder / "filler"
    free = shutil.disk_usage(folder).free
    filler.write_bytes(b"\0" * (free - 24 * 1024))  # leave 24 kB: the run's first files fit, not all of them
    yield folder
    subprocess.run(["umount", str(folder)], capture_output=True)


def test_disk_full_on_a_real_small_filesystem(colors_folder, tiny_filesystem):
    """torch.save on a full disk says only 'unexpected pos 576 vs 534': still a clear message."""
    with pytest.raises(UserError) as caught:
        fit(_config(colors_folder, "fine_tune", epochs=2, out_dir=str(tiny_filesystem / "runs")))
    assert "The disk is full" in str(caught.value) and str(tiny_filesystem) in str(caught.value)
    assert not _partials(tiny_filesystem)
    assert caught.value.hint.startswith("Free some space on that disk")


# -- damaged run folders --------------------------------------------------------------------------
def damage_runs(folder: Path, colors: Path) -> dict[str, Path]:
    """Three finished runs, each damaged a different way, plus one healthy one (also used by the browser test)."""
    damaged = {}
    for name in ("summary", "events", "config", "healthy"):
        summary = fit(_config(colors, epochs=3, lr=0.05, out_dir=str(folder)))
        damaged[name] = Path(summary["run_dir"])
    (damaged["summary"] / "summary.json").write_text('{"best_val_acc": 0.9, "epo')
    with open(damaged["events"] / "events.jsonl", "a") as handle:
        handle.write('{"kind": "epoch", "epoch": 2, "val_a')
    (damaged["config"] / "config.json").unlink()
    return damaged


def test_damaged_run_folders_are_listed_with_the_reason(colors_folder, isolated_home, tmp_path):
    damaged = damage_runs(tmp_path / "runs", colors_folder)
    rows = {Path(row["dir"]).name: row for row in map(runs.describe, runs.list_runs(tmp_path / "runs"))}
    assert len(rows) == 4
    summary_row, events_row = rows[damaged["summary"].name], rows[damaged["events"].name]
    config_row, healthy = rows[damaged["config"].name], rows[damaged["healthy"].name]
    assert summary_row["status"] == "damaged" and "summary.json is not valid JSON" in summary_row["damage"][0]
    assert config_row["status"] == "damaged" and "config.json is missing" in config_row["damage"]
    assert events_row["status"] == "finished" and events_row["epochs"] == 3
    assert events_row["damage"] == ["the last line of events.jsonl was cut off (ignored)"]
    assert healthy["damage"] == [] and healthy["status"] == "finished"

    result = subprocess.run([sys.executable, "-m", "core", "runs", "--json", "--out", str(tmp_path / "runs")],
                            cwd=ROOT, env=_env(isolated_home), capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    listed = {Path(row["dir"]).name: row for row in json.loads(result.stdout)}
    assert listed[damaged["summary"].name]["status"] == "damaged"
    text = subprocess.run([sys.executable, "-m", "core", "runs", "--out", str(tmp_path / "runs")], cwd=ROOT,
                          env=_env(isolated_home), capture_output=True, text=True, timeout=120)
    assert text.returncode == 0 and "damaged: config.json is missing" in text.stdout


def test_a_damaged_weights_file_or_checkpoint_says_so(colors_folder):
    from core import inference

    run = runs.Run(Path(fit(_config(colors_folder, epochs=1))["run_dir"]))
    (run.dir / "best.safetensors").write_bytes(b"\x01\x02")
    with pytest.raises(UserError, match="weights file best.safetensors is damaged"):
        inference.load(run.dir)
    (run.dir / "checkpoint.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(UserError, match="checkpoint is damaged"):
        run.load_checkpoint()


# -- divergence -----------------------------------------------------------------------------------
def test_divergence_detects_a_loss_that_explodes_or_stays_high():
    exploding = Divergence(lr=5.0)
    exploding.check_batch(2.3, epoch=1)
    with pytest.raises(UserError, match="rose from 2.3 at the start to 6.67e") as caught:
        exploding.check_epoch(666836.4, epoch=1)  # measured: small CNN, lr 5, on the digits
    assert "to 0.5" in caught.value.hint
    creeping = Divergence(lr=1.0)
    creeping.check_batch(2.0, epoch=1)
    creeping.check_epoch(3.5, epoch=1)
    creeping.check_epoch(3.6, epoch=2)
    with pytest.raises(UserError, match="3 epochs in a row"):
        creeping.check_epoch(3.4, epoch=3)
    learning = Divergence(lr=1e-3)
    learning.check_batch(2.3, epoch=1)
    for epoch, loss in enumerate([2.9, 2.0, 1.2, 0.5], start=1):  # a bumpy first epoch is fine
        learning.check_epoch(loss, epoch)
    with pytest.raises(UserError, match="the loss became nan"):
        Divergence(lr=1.0).check_batch(float("nan"), epoch=1)


def test_divergence_stops_a_real_run_with_what_to_change(colors_folder):
    events = []
    with pytest.raises(UserError, match="Training diverged in epoch") as caught:
        fit(_config(colors_folder, "scratch", backbone="small_cnn", lr=9.0, optimizer="sgd", momentum=0.9,
                    epochs=6), on_event=events.append)
    assert "Lower the learning rate about 10x (to 0.9)" in caught.value.hint
    assert events[-1]["kind"] == "error" and "diverged" in events[-1]["message"]
    assert runs.Run(Path(events[0]["run_dir"])).status == "failed"


def test_a_far_too_high_learning_rate_is_refused_as_too_high(colors_folder):
    with pytest.raises(UserError, match="learning rate 50 is far too high"):
        _config(colors_folder, lr=50.0)
    with pytest.raises(UserError, match="learning rate must be above 0"):
        _config(colors_folder, lr=0.0)


# -- processes ------------------------------------------------------------------------------------
def test_two_trainings_on_one_runs_folder_both_run_and_one_run_is_trained_once(colors_folder, isolated_home, tmp_path):
    out = tmp_path / "out"
    command = [sys.executable, "-m", "core", "train", "--data", str(colors_folder), "--backbone", TINY,
               "--strategy", "fine_tune", "--batch-size", "8", "--patience", "0", "--out", str(out), "--quiet"]

    def start(epochs: int) -> subprocess.Popen:
        return subprocess.Popen(command + ["--epochs", str(epochs)], cwd=ROOT, env=_env(isolated_home),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    long, short = start(500), start(2)  # the same second, the same folder name wanted
    out_short, err_short = short.communicate(timeout=180)
    assert short.returncode == 0, err_short
    finished = Path(json.loads(out_short.strip().splitlines()[-1])["run_dir"])
    wait_for(lambda: any(runs.Run(d).is_alive() for d in out.iterdir()), 90, "the long run to train")
    busy = next(d for d in out.iterdir() if runs.Run(d).is_alive())
    assert busy != finished and runs.Run(finished).status == "finished" and runs.Run(finished).damage() == []
    again = subprocess.run([sys.executable, "-m", "core", "train", "--run", str(busy)], cwd=ROOT,
                           env=_env(isolated_home), capture_output=True, text=True, timeout=120)
    assert again.returncode == 1 and "is being trained by another process" in again.stderr
    long.send_signal(signal.SIGTERM)
    long.communicate(timeout=60)
    assert long.returncode == 130  # SIGTERM: the batch ends, the run is interrupted and resumable, nothing damaged
    assert runs.Run(busy).status == "interrupted" and runs.Run(busy).can_resume() and runs.Run(busy).damage() == []


# -- pages ----------------------------------------------------------------------------------------
def test_an_unexpected_error_on_a_page_is_short_with_details_folded():
    from streamlit.testing.v1 import AppTest

    def page():
        import streamlit as st

        from ui.widgets import unexpected_errors

        with unexpected_errors():
            st.write("before")
            {}["missing"]  # a bug
        st.write("the rest of the app")

    at = AppTest.from_function(page).run()
    assert "did not expect" in at.error[0].value and "KeyError" in at.error[0].value
    assert at.expander[0].label == "Details, for a bug report"
    assert "Traceback" in at.expander[0].code[0].value
    assert at.exception  # under AppTest the error is raised again, so page tests still see bugs


def test_storage_size_text_and_free_space(tmp_path):
    assert storage.size_text(1_500_000) == "1.5 MB" and storage.size_text(None) == "an unknown amount"
    assert storage.free_bytes(tmp_path / "not" / "yet") > 0


def test_a_training_process_that_cannot_start_fails_its_run_and_the_queue_goes_on(colors_folder, monkeypatch):
    from core import jobs

    real, calls = jobs.subprocess.Popen, []

    def first_one_fails(*args, **kwargs):
        if not calls:
            calls.append(1)
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(*args, **kwargs)

    monkeypatch.setattr(jobs.subprocess, "Popen", first_one_fails)
    config = _config(colors_folder, "fine_tune", epochs=1)
    first, second = jobs.submit(config), jobs.submit(config)
    assert jobs.supervisor().wait_idle(90)
    assert first.status == "failed" and first.events()[-1]["message"].startswith("The disk is full")
    assert second.status == "finished"


def test_an_error_that_slips_past_the_pages_shows_no_traceback_either():
    import tomllib

    settings = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert settings["client"]["showErrorDetails"] == "type"  # the type only, no message, no traceback
