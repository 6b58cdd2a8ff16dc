"""Training in child processes: the queue, stopping, crashes, a dying server, resuming (real processes)."""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from core import jobs, runs
from core.config import TrainConfig
from tests.helpers import TINY, wait_for

ROOT = Path(__file__).resolve().parents[1]


def _config(data, epochs=3, **overrides) -> TrainConfig:
    values = {"backbone": TINY, "epochs": epochs, "batch_size": 8, "lr": 0.01, **overrides}
    return TrainConfig.for_strategy(str(data), "fine_tune", **values)


def _long(data) -> TrainConfig:
    return _config(data, epochs=1000, patience=0)


def _training(run: runs.Run) -> bool:
    return run.recorded_status == "running" and any(e["kind"] == "batch" for e in run.events())


def _kinds(run: runs.Run) -> list[str]:
    return [e["kind"] for e in run.events()]


def test_runs_queue_and_train_one_at_a_time_in_child_processes(colors_folder):
    supervisor = jobs.supervisor()
    first, second = jobs.submit(_config(colors_folder)), jobs.submit(_config(colors_folder, seed=1))
    assert first.recorded_status == second.recorded_status == "queued"
    assert supervisor.position(first) == 0 and supervisor.position(second) == 1
    assert supervisor.wait_idle(120)
    assert first.status == second.status == "finished"
    assert first.events()[-1]["time"] <= second.events()[0]["time"]  # never at the same time
    for run in (first, second):
        assert (run.dir / "log.txt").is_file() and run.summary()["epochs"] == 3
        assert run.read_json("config.json")["versions"]["torch"]  # written by the child's fit()
    assert supervisor.position(first) is None and supervisor.queue() == []


def test_stop_a_queued_run_a_training_run_and_survive_a_killed_child(colors_folder):
    supervisor = jobs.supervisor()
    running, waiting = jobs.submit(_long(colors_folder)), jobs.submit(_long(colors_folder))
    # its first epoch, not just a batch: stopped before one, a run has no weights to keep
    wait_for(lambda: _training(running) and running.history(), what="the first run's first epoch")
    supervisor.stop(waiting)  # out of the line at once
    assert waiting.status == "stopped" and supervisor.position(waiting) is None
    supervisor.stop(running)  # after its current batch, keeping the best weights
    assert supervisor.wait_idle(60)
    assert running.status == "stopped" and running.summary()["status"] == "stopped"
    assert (running.dir / "best.safetensors").is_file() and running.can_resume()

    doomed = jobs.submit(_long(colors_folder))
    wait_for(lambda: _training(doomed), what="the run to train")
    os.kill(int((doomed.dir / ".lock").read_text()), signal.SIGKILL)  # what the kernel's OOM killer does
    assert supervisor.wait_idle(30)
    assert doomed.status == "failed"
    assert "ran out of memory" in doomed.events()[-1]["message"]
    after = jobs.submit(_config(colors_folder, epochs=1))  # the queue goes on
    assert supervisor.wait_idle(60) and after.status == "finished"


def test_a_run_left_by_a_dead_server_is_interrupted_then_resumes_to_the_end(colors_folder, isolated_home):
    """A stand-in server process queues a run and dies mid-training; its child notices and ends as
    interrupted; a new supervisor resumes it from the last checkpoint."""
    config = _config(colors_folder, epochs=40, patience=0)
    server = subprocess.Popen([sys.executable, "-c", f"""
import sys, time
sys.path.insert(0, {str(ROOT)!r})
from core import jobs
from core.config import TrainConfig
run = jobs.submit(TrainConfig.from_dict({config.to_dict()!r}))
print(run.dir, flush=True)
while not (run.dir / "checkpoint.pt").exists():
    time.sleep(0.05)
"""], cwd=ROOT, stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    run = runs.Run(Path(server.stdout.readline().strip()))
    assert server.wait(90) == 0  # the "server" is gone, its child still trains for a moment
    wait_for(lambda: run.recorded_status != "running" and not run.is_alive(), 60, "the orphan to notice")
    assert run.status == "interrupted" and run.can_resume() and _kinds(run)[-1] == "interrupted"
    done = run.load_checkpoint()["epoch"]
    assert 1 <= done < 40

    jobs.supervisor().resume(run)
    assert jobs.supervisor().wait_idle(90)
    assert run.status == "finished" and [e["epoch"] for e in run.history()] == list(range(1, 41))
    starts = [e for e in run.events() if e["kind"] == "start"]
    assert len(starts) == 2 and starts[1]["resumed_from_epoch"] >= done


def test_cli_ctrl_c_interrupts_and_train_run_resumes(colors_folder, isolated_home, tmp_path):
    env = {**os.environ, "TRANSFERLAB_HOME": str(isolated_home), "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "core", "train", "--data", str(colors_folder), "--backbone", TINY,
               "--strategy", "fine_tune", "--epochs", "30", "--patience", "0", "--batch-size", "8",
               "--out", str(tmp_path / "out")]
    child = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for(lambda: list((tmp_path / "out").glob("*/checkpoint.pt")), 90, "the first checkpoint")
    child.send_signal(signal.SIGINT)
    out, err = child.communicate(timeout=60)
    assert child.returncode == 130, err
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["status"] == "interrupted" and "resume with `python -m core train --run" in out

    again = subprocess.run([sys.executable, "-m", "core", "train", "--run", summary["run_dir"], "--quiet"],
                           cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    final = json.loads(again.stdout.strip().splitlines()[-1])
    assert final["status"] == "finished" and final["epochs"] == 30

    listed = subprocess.run([sys.executable, "-m", "core", "runs", "--json", "--out", str(tmp_path / "out")],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    rows = json.loads(listed.stdout)
    assert len(rows) == 1 and rows[0]["status"] == "finished" and rows[0]["epochs"] == 30


def test_a_file_gone_bad_mid_run_fails_the_run_with_its_name_and_the_queue_goes_on(tmp_path):
    from tests.helpers import make_image_folder

    data = make_image_folder(tmp_path / "colors", {"red": 12, "blue": 12})
    doomed, after = jobs.submit(_long(data)), jobs.submit(_config(data, epochs=1))
    # the first epoch's checkpoint, not just a batch: what it learned must exist before the file goes
    wait_for(lambda: doomed.history() and (doomed.dir / "checkpoint.pt").is_file(), what="the first epoch")
    victim = sorted((data / "red").iterdir())[0]
    victim.unlink()
    assert jobs.supervisor().wait_idle(90)
    assert doomed.status == "failed" and after.status == "finished"
    message = [e for e in doomed.events() if e["kind"] == "error"][-1]["message"]
    assert message.startswith(f"{victim} is not there any more") and "Put it back" in message
    assert doomed.history() and (doomed.dir / "checkpoint.pt").is_file()  # what it learned is kept


def test_a_report_about_settings_asked_for_before_is_not_taken_for_the_new_ones():
    """The warm process may still report on the previous settings after new ones were asked for (the sidebar
    once said "ready" for them while the page said "computing"): such a report is dropped, and until the
    process reports on the new settings, what it does reads "starting"."""
    import io
    import threading as threads
    from collections import deque

    from core.jobs import Preparation, _Worker

    worker = _Worker.__new__(_Worker)
    worker.state, worker.asked, worker._said, worker.last_words = Preparation("idle"), 0, threads.Lock(), deque()
    sent = []
    worker.send = lambda *words: sent.append(words) or True
    worker.ask(TrainConfig(data="sample:mnist"))
    worker.ask(TrainConfig(data="sample:mnist", backbone="mobilenet_v3_small"))
    assert worker.state.state == "starting" and sent[0][0] == "prepare" and len(sent) == 2

    class Talking:  # a process still alive that said these lines
        stdout = io.StringIO('{"state": "ready", "title": "EfficientNet-Lite0", "asked": 1}\n'
                             '{"state": "computing", "title": "MobileNetV3", "done": 3, "total": 9, "asked": 2}\n')

        def poll(self):
            return None

    worker.process = Talking()
    worker._listen()
    assert (worker.state.state, worker.state.title, worker.state.done) == ("computing", "MobileNetV3", 3)
    worker.process.stdout = io.StringIO('{"state": "ready", "title": "EfficientNet-Lite0", "asked": 1}\n')
    worker._listen()
    assert worker.state.title == "MobileNetV3"
