"""Getting the next run ready: the background feature pass (core/features.py), the warm training process
(core/worker.py) and the supervisor's preparation (core/jobs.py). Real processes, tiny data."""

import inspect
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import torch

from core import backbones, data, features, jobs
from core.config import TrainConfig
from tests.helpers import TINY, make_image_folder, wait_for

ROOT = Path(__file__).resolve().parents[1]
CPU = torch.device("cpu")


def _feature_extraction(folder, **overrides) -> TrainConfig:
    return TrainConfig.for_strategy(str(folder), "feature_extract", **{"backbone": TINY, "epochs": 3,
                                                                       "batch_size": 8, **overrides})


def _slowed(monkeypatch, seconds: float) -> list[int]:
    """Every feature batch takes ``seconds`` longer (so a pass is still running when the test looks);
    returns the progress counts seen, to tell what was computed."""
    computed, original = [], features.compute_features
    signature = inspect.signature(original)

    def slow(*args, **kwargs):
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        given = bound.arguments["on_progress"]

        def progress(done, total):
            computed.append(done)
            time.sleep(seconds)
            if given:
                given(done, total)
        bound.arguments["on_progress"] = progress
        return original(*bound.args, **bound.kwargs)
    monkeypatch.setattr(features, "compute_features", slow)
    return computed


def test_a_pass_needing_the_background_features_joins_it_and_computes_nothing_twice(colors_folder, tmp_path,
                                                                                    monkeypatch):
    report, spec = data.load_dataset(str(colors_folder), 0.2, 0), backbones.get(TINY)
    cache = tmp_path / "cache"
    computed = _slowed(monkeypatch, 0.1)
    background = features.start_background(report, spec, cache, CPU, 4)
    time.sleep(0.2)  # the person still choosing settings
    seen = []
    joined = features.load_or_compute(report, spec, cache, CPU, 4, on_progress=lambda done, total: seen.append(done))
    assert background.finished and features.pending_pass() is None
    assert computed == [4, 8, 12, 16, 20, 24]  # one pass of the 24 images, not two
    assert not joined.cache_hit and joined.ahead_seconds >= 0.2 and joined.compute_seconds >= joined.seconds
    assert seen and seen[-1] == 24  # the run reported the background pass's progress as its own
    plain = features.compute_features(report, spec, CPU, 4)
    assert torch.allclose(joined.features, plain, atol=1e-6)
    again = features.load_or_compute(report, spec, cache, CPU, 4)  # written to the cache like any pass
    assert again.cache_hit and torch.equal(again.features, joined.features)


def test_a_pass_for_other_features_cancels_the_background_one_first(colors_folder, tmp_path, monkeypatch):
    report, spec = data.load_dataset(str(colors_folder), 0.2, 0), backbones.get(TINY)
    _slowed(monkeypatch, 0.5)  # 3 s for the pass: the other pass asks long before it could end
    background = features.start_background(report, spec, tmp_path / "one", CPU, 4)
    wait_for(lambda: background.done > 0, what="the background pass to begin")
    other = features.load_or_compute(report, spec, tmp_path / "other", CPU, 8)
    assert background.cancelled and background.finished and background.result is None
    assert other is not None and not other.cache_hit and other.ahead_seconds == 0
    assert not features.cache_path(tmp_path / "one", report, spec).exists()  # a cancelled pass writes nothing


def _worker() -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "core", "worker"], cwd=ROOT, env=env, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True, bufsize=1)


def _until(process: subprocess.Popen, *states: str) -> dict:
    for line in process.stdout:
        said = json.loads(line)
        if said["state"] in states:
            return said
    raise AssertionError(f"the worker ended before saying {states}")


def test_the_worker_prepares_skips_what_needs_no_features_and_ends_with_its_server(colors_folder):
    worker = _worker()
    try:
        assert _until(worker, "idle", "failed")["state"] == "idle"
        worker.stdin.write("prepare " + json.dumps(_feature_extraction(colors_folder).to_dict()) + "\n")
        worker.stdin.flush()
        ready = _until(worker, "ready", "failed")
        assert ready == {**ready, "state": "ready", "done": 24, "total": 24, "title": "Tiny test backbone",
                         "cached": False}
        fine_tune = TrainConfig.for_strategy(str(colors_folder), "fine_tune", backbone=TINY)
        worker.stdin.write("prepare " + json.dumps(fine_tune.to_dict()) + "\n")
        worker.stdin.flush()
        assert "computes no features ahead" in _until(worker, "skipped", "failed")["message"]
        worker.stdin.close()  # the server went away
        assert worker.wait(30) == 0
    finally:
        if worker.poll() is None:
            worker.kill()


def test_the_supervisor_trains_a_prepared_run_in_its_warm_process_and_stays_warm(colors_folder):
    supervisor = jobs.supervisor()
    config = _feature_extraction(colors_folder)
    try:
        supervisor.prepare(config)
        wait_for(lambda: getattr(supervisor.preparation(), "state", None) == "ready", what="the prepared features")
        assert supervisor.preparation().done == 24 and not supervisor.preparation().cached
        supervisor.prepare(_feature_extraction(colors_folder))  # the same settings again: nothing new
        assert supervisor.preparation().state == "ready"
        run = jobs.submit(config)
        assert supervisor.wait_idle(120) and run.status == "finished", (run.dir / "log.txt").read_text()
        passes = [e for e in run.events() if e["kind"] == "features" and "cache_hit" in e]
        assert passes[0]["ahead_seconds"] > 0 and not passes[0]["cache_hit"]  # computed before Start, in the run's process
        assert next(e for e in run.events() if e["kind"] == "features")["joined"]  # paced from where it joined
        assert any("computed in the background" in e.get("message", "") for e in run.events())
        assert run.summary()["feature_pass_first_seconds"] >= run.summary()["feature_pass_seconds"]
        assert "error" not in (run.dir / "log.txt").read_text().lower()
        # after the run, a new warm process: it finds the features in the cache
        wait_for(lambda: getattr(supervisor.preparation(), "cached", False), what="a warm process again")
        fine_tune = jobs.submit(TrainConfig.for_strategy(str(colors_folder), "fine_tune", backbone=TINY, epochs=2,
                                                         batch_size=8))
        assert supervisor.wait_idle(120) and fine_tune.status == "finished"  # any run trains in the warm process
    finally:
        supervisor.close()
    assert supervisor.preparation() is None


def test_cancelling_the_preparation_frees_the_cpu_and_the_run_computes_its_own(tmp_path):
    folder = make_image_folder(tmp_path / "many", {"red": 100, "blue": 100})
    supervisor = jobs.supervisor()
    config = _feature_extraction(folder, backbone="efficientnet_lite0")  # a real pass: seconds long
    try:
        supervisor.prepare(config)
        wait_for(lambda: getattr(supervisor.preparation(), "state", None) in ("computing", "ready"),
                 what="the background pass")
        supervisor.cancel_preparation()
        wait_for(lambda: supervisor.preparation().state != "computing", what="the cancellation")
        cancelled = supervisor.preparation()
        supervisor.prepare(_feature_extraction(folder, backbone="efficientnet_lite0"))  # the same: not again
        time.sleep(1.0)
        assert supervisor.preparation().state == cancelled.state
        assert cancelled.state == "cancelled" and cancelled.done < cancelled.total  # 200 images take seconds
        assert not features.cache_path(config.cache_dir, data.load_dataset(str(folder), 0.2, 0),
                                       backbones.get("efficientnet_lite0")).exists()
        run = jobs.submit(config)
        assert supervisor.wait_idle(120) and run.status == "finished"
        passes = [e for e in run.events() if e["kind"] == "features" and "cache_hit" in e]
        assert passes[0]["ahead_seconds"] == 0 and not passes[0]["cache_hit"]  # computed by the run itself
    finally:
        supervisor.close()


def test_every_run_of_a_queue_after_the_first_starts_in_a_warm_process(colors_folder):
    """A comparison's members, a curve's points: while one run trains, a spare process imports, so the next
    one starts warm (the first of a queue nobody prepared for starts the ordinary way)."""
    supervisor = jobs.supervisor()
    try:
        queued = [jobs.submit(_feature_extraction(colors_folder, epochs=1, seed=seed)) for seed in range(3)]
        assert supervisor.wait_idle(180)
        starts = [next(e for e in run.events() if e["kind"] == "start") for run in queued]
        assert [run.status for run in queued] == ["finished"] * 3, (queued[0].dir / "log.txt").read_text()
        assert [start["warm"] for start in starts] == [False, True, True]
        assert all(start["launch_seconds"] >= 0 for start in starts)
    finally:
        supervisor.close()


def test_the_first_page_starts_the_warm_process_before_the_data_is_known(colors_folder):
    """app.py asks for warmth before it loads the data; the preparation that follows goes to that process."""
    supervisor = jobs.supervisor()
    try:
        supervisor.warm()
        worker = supervisor._worker
        assert worker is not None and worker.alive()
        supervisor.warm()  # already warm: nothing new
        assert supervisor._worker is worker
        supervisor.prepare(_feature_extraction(colors_folder))
        wait_for(lambda: getattr(supervisor.preparation(), "state", None) == "ready", what="the prepared features")
        assert supervisor._worker is worker  # the same process prepared the run
    finally:
        supervisor.close()
