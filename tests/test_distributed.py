"""Training on several processes (core/device/distributed.py): the sharding arithmetic, the ranks' agreement,
and real torchrun runs with gloo on this CPU against one process."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.multiprocessing as mp
from safetensors.torch import load_file

from core.device import distributed
from core.loaders import LengthBatches
from tests.helpers import make_image_folder, write_text_csv

ROOT = Path(__file__).resolve().parents[1]
TORCHRUN = shutil.which("torchrun") or str(Path(sys.executable).with_name("torchrun"))


@pytest.mark.parametrize("count,size", [(10, 2), (7, 3), (1, 2), (12, 4)])
def test_shards_cover_every_item_once_and_gather_puts_them_back_in_order(count, size):
    items = list(range(count))
    shards = [distributed.World(rank, size).shard(items) for rank in range(size)]
    assert len({len(shard) for shard in shards}) == 1  # as many batches on every rank
    rows = [torch.tensor([[float(i), -float(i)] for i in shard]) for shard in shards]
    assert distributed.interleave(rows, count).tolist() == [[float(i), -float(i)] for i in items]


def test_length_batches_split_among_ranks_as_many_each_every_text_drawn():
    lengths = [5, 80, 12, 33, 7, 64, 21, 9, 50, 3, 44]
    draws = [list(LengthBatches(lengths, 2, shuffle=True, generator=torch.Generator().manual_seed(3),
                                rank=rank, ranks=2)) for rank in range(2)]
    assert len(draws[0]) == len(draws[1]) == len(LengthBatches(lengths, 2, shuffle=True, ranks=2))
    drawn = [index for batches in draws for batch in batches for index in batch]
    assert sorted(set(drawn)) == list(range(len(lengths)))  # every text; a padded batch may repeat some
    assert not set(map(tuple, draws[0])) & set(map(tuple, draws[1])) or len(drawn) > len(lengths)


def _agree_worker(rank: int, size: int, port: int, results) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(size))
    world = distributed.start("cpu")
    try:
        reasons = [None, "stopped", "interrupted"]
        results[rank] = {"none": world.agree(None), "one_stops": world.agree("stopped" if rank == 1 else None),
                         "mixed": world.agree(reasons[rank + 1]), "broadcast": world.broadcast(f"from {rank}"),
                         "gathered": world.gather(torch.tensor([rank * 10.0, rank * 10.0 + 1]), 3).tolist()}
    finally:
        world.finish()


def test_ranks_agree_on_a_stop_asked_of_any_of_them():
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    results = mp.Manager().dict()
    mp.spawn(_agree_worker, args=(2, port, results), nprocs=2, join=True)
    for rank in range(2):
        assert results[rank] == {"none": None, "one_stops": "stopped", "mixed": "interrupted",
                                 "broadcast": "from 0", "gathered": [0.0, 10.0, 1.0]}


def _train(home: Path, data: Path, *args: str, processes: int = 1) -> tuple[dict, str]:
    env = {**os.environ, "TRANSFERLAB_HOME": str(home)}
    command = [sys.executable, "-m", "core", "train", "--data", str(data), "--device", "cpu", "--quiet", *args]
    if processes > 1:
        command = [TORCHRUN, "--standalone", f"--nproc-per-node={processes}", "-m", *command[2:]]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    assert len(lines) == 1, done.stdout  # one final JSON line: rank 0's
    return json.loads(lines[0]), done.stderr


def _features(home: Path) -> torch.Tensor:
    [path] = list((home / "cache" / "features").rglob("*.safetensors"))
    return load_file(path)["features"]


def test_two_gloo_processes_train_as_one_process_does(tmp_path):
    data = make_image_folder(tmp_path / "colors", {"red": 24, "blue": 24, "green": 24})
    one, two = tmp_path / "one", tmp_path / "two"
    # feature extraction: the pass is shared between the ranks and gathered, the same features exactly
    single, _ = _train(one, data, "--backbone", "tiny_test", "--strategy", "feature_extract", "--epochs", "6")
    shared, _ = _train(two, data, "--backbone", "tiny_test", "--strategy", "feature_extract", "--epochs", "6",
                       processes=2)
    assert torch.allclose(_features(one), _features(two), atol=1e-6)
    assert (single["world_size"], shared["world_size"]) == (1, 2)
    assert shared["best_val_acc"] == single["best_val_acc"]
    assert shared["best_val_loss"] == pytest.approx(single["best_val_loss"], abs=1e-5)
    # fine-tuning: each rank half of every batch, gradients averaged: the same learning within a small margin
    single, _ = _train(one, data, "--backbone", "tiny_test", "--strategy", "fine_tune", "--epochs", "8")
    shared, _ = _train(two, data, "--backbone", "tiny_test", "--strategy", "fine_tune", "--epochs", "8",
                       processes=2)
    assert shared["world_size"] == 2 and shared["status"] == "finished"
    assert abs(shared["best_val_acc"] - single["best_val_acc"]) <= 0.1
    assert shared["best_val_loss"] == pytest.approx(single["best_val_loss"], abs=0.05)
    # one run folder per training, written by rank 0 alone: one start event, every epoch once
    run = Path(shared["run_dir"])
    events = [json.loads(line) for line in (run / "events.jsonl").read_text().splitlines()]
    assert [e["kind"] for e in events].count("start") == 1
    assert [e["epoch"] for e in events if e["kind"] == "epoch"] == list(range(1, 9))
    assert len(json.loads((run / "predictions.json").read_text())) == shared["val_images"]
    assert (run / "best.safetensors").is_file() and (run / "status").read_text().strip() == "finished"
    assert len(list((two / "runs").iterdir())) == 2


def test_two_gloo_processes_fine_tune_a_text_encoder(tmp_path):
    data = write_text_csv(tmp_path / "reviews.csv", per_class=30)
    common = ("--backbone", "tiny_bert_test", "--strategy", "fine_tune", "--epochs", "4", "--lr", "1e-3")
    single, _ = _train(tmp_path / "one", data, *common)
    shared, _ = _train(tmp_path / "two", data, *common, processes=2)
    assert shared["world_size"] == 2
    assert abs(shared["best_val_acc"] - single["best_val_acc"]) <= 0.1
    assert shared["best_val_loss"] == pytest.approx(single["best_val_loss"], abs=0.05)


def test_dann_is_refused_on_several_processes_with_a_reason(tmp_path):
    data = make_image_folder(tmp_path / "colors", {"red": 8, "blue": 8})
    target = make_image_folder(tmp_path / "target", {"red": 4, "blue": 4})
    env = {**os.environ, "TRANSFERLAB_HOME": str(tmp_path / "home")}
    done = subprocess.run([TORCHRUN, "--standalone", "--nproc-per-node=2", "-m", "core", "train", "--data", str(data),
                           "--target", str(target), "--adapt", "dann", "--backbone", "tiny_test", "--strategy",
                           "fine_tune", "--device", "cpu", "--epochs", "1"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode != 0
    assert "DANN does not train on several processes yet" in done.stderr
