"""Benchmark: how each run of a queue starts (a comparison's members, a data-efficiency curve's points).

    python bench/warm_queue.py [--data sample:mnist] [--runs 4] [--prepare]

A fresh workspace; the features computed once first (so that every run reads them from the cache, as a
comparison's members do after the first); then ``--runs`` feature-extraction runs submitted at once to the
app's supervisor (core/jobs.py), as the Compare page does. Printed per run: whether it started in a warm
process (core/worker.py), the seconds from the supervisor handing it over to its start event
(``launch_seconds``), to its first epoch on the chart, its whole length, and its median epoch (a spare
process importing beside it must not slow it). ``--prepare``: the pages'
preparation on (a warm process waits before the first run too).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default="sample:mnist")
    parser.add_argument("--runs", type=int, default=4)
    parser.add_argument("--prepare", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="warm-queue-") as home:
        os.environ["TRANSFERLAB_HOME"] = home
        from core import jobs
        from core.config import TrainConfig
        from core.train import fit

        def config(seed: int) -> TrainConfig:
            return TrainConfig.for_strategy(args.data, "feature_extract", seed=seed)

        fit(config(100))  # the features, once: every run below reads them from the cache
        supervisor = jobs.supervisor()
        if args.prepare:
            supervisor.prepare(config(0))
            time.sleep(15)
        submitted = time.time()
        queued = [jobs.submit(config(seed)) for seed in range(args.runs)]
        supervisor.wait_idle(900)
        supervisor.close()
        print(f"{'run':<5}{'warm':>6}{'launch -> start':>17}{'launch -> first epoch':>23}{'whole run':>11}"
              f"{'epochs (median s)':>19}")
        for index, run in enumerate(queued):
            events = run.events()
            start = next(e for e in events if e["kind"] == "start")
            epoch = next(e for e in events if e["kind"] == "epoch")
            launched = start["time"] - start["launch_seconds"]
            epochs = sorted(e["seconds"] for e in events if e["kind"] == "epoch")
            print(f"{index + 1:<5}{'yes' if start['warm'] else 'no':>6}{start['launch_seconds']:>16.1f}s"
                  f"{epoch['time'] - launched:>22.1f}s{events[-1]['time'] - launched:>10.1f}s"
                  f"{epochs[len(epochs) // 2]:>18.3f}s")
        print(f"all {args.runs} runs: {queued[-1].events()[-1]['time'] - submitted:.1f} s from submitting")


if __name__ == "__main__":
    main()
