"""Benchmark: big data stays smooth. Prints each number and PASS/MISS against issue #9's targets.

    python bench/big_data.py [--out bench/out] [--images 50000] [--rows 200000] [--runs 200]

1. Scanning and reporting a folder of 50,000 small images (target: under 30 s on 2 cores).
2. Loading a 200,000-row CSV of texts (target: under 10 s), in UTF-8 and in GB18030 (the encoding
   detector's slow path).
3. The Data, Results and Runs pages with 200 runs in the runs folder (target: each under 2 s, for a
   new visit and a rerun once the server has started; the server's very first visits, which import
   PyTorch once, are printed too).
Each step runs in its own process, so its peak memory (max RSS) is its own: memory must stay
bounded (no image is held in memory by a scan).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

WORDS = ("market shares rose sharply after the company reported strong quarterly profits while rivals "
         "struggled the team won the final match in extra time fans celebrated in the streets new phone "
         "features a faster chip and a brighter screen the minister announced a plan to cut taxes film "
         "festival opens with a comedy about a family holiday gone wrong").split()
CHINESE = "市场股票公司利润季度竞争球队比赛决赛球迷庆祝手机芯片屏幕部长宣布计划减税电影节喜剧家庭假期"


def make_images(folder: Path, count: int) -> None:
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    classes = 10
    for index in range(count):
        target = folder / f"class_{index % classes}"
        target.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 255, (32, 32, 3), dtype=np.uint8)).save(target / f"{index:06d}.png")


def make_csv(path: Path, rows: int, encoding: str) -> None:
    rng = random.Random(0)
    labels = ("business", "sport", "tech", "politics", "entertainment")
    lines = ["text,label"]
    for index in range(rows):
        if encoding == "utf-8":
            text = " ".join(rng.choices(WORDS, k=rng.randint(8, 40)))
        else:
            text = "".join(rng.choices(CHINESE, k=rng.randint(10, 60))) + "。"
        lines.append(f"\"{text}\",{labels[index % 5]}")
    path.write_bytes("\n".join(lines).encode(encoding))


def make_runs(folder: Path, count: int, data: Path) -> None:
    """One real fine-tuning run (small CNN, 20 epochs: every batch is an event), copied ``count`` times."""
    from core.config import TrainConfig
    from core.train import fit

    summary = fit(TrainConfig.for_strategy(str(data), "scratch", backbone="small_cnn", epochs=20, batch_size=8,
                                           patience=0, out_dir=str(folder / ".seed"), augment=False))
    seed = Path(summary["run_dir"])
    for index in range(count):
        shutil.copytree(seed, folder / f"20260101-{index:06d}-small_cnn-scratch")
    shutil.rmtree(folder / ".seed")


def step(name: str, args: argparse.Namespace) -> dict:
    """Run one measurement in this process and return its numbers."""
    started = time.perf_counter()
    result: dict = {}
    if name == "scan":
        from core.data import image_folders

        report = image_folders.scan(args.path)
        result = {"images": report.num_items, "classes": len(report.classes)}
    elif name == "csv":
        from core import data

        report = data.load_dataset(args.path)
        result = {"rows": report.num_items, "encoding": report.details["encoding"],
                  "language": (report.details.get("language") or {}).get("name")}
    elif name == "pages":
        from streamlit.testing.v1 import AppTest

        from core import data

        report = data.load_dataset(args.path)

        def visit(page: str, app: AppTest | None = None) -> tuple[AppTest, float]:
            """A new session (a person opening the page) when ``app`` is None, else a rerun of it (a click)."""
            if app is None:
                app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
                app.session_state["data"], app.session_state["report"] = args.path, report
                app.run()
                app.switch_page(page)
            begin = time.perf_counter()
            app.run()
            if app.exception:
                raise RuntimeError(f"{page}: {app.exception}")
            return app, round(time.perf_counter() - begin, 2)

        pages = ("pages/1_data.py", "pages/4_results.py", "pages/6_runs.py")
        started_server = {}
        for page in pages:  # the server's first visits import PyTorch, Plotly... once
            started_server[page] = visit(page)[1]
        timings = {}
        for page in pages:
            app, timings[f"{page} new visit"] = visit(page)
            timings[f"{page} rerun"] = visit(page, app)[1]
        result = {"page_seconds": timings, "first_visit_after_start": started_server}
    result["seconds"] = round(time.perf_counter() - started, 2)
    result["max_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return result


def in_child(name: str, path: Path, env: dict) -> dict:
    output = subprocess.run([sys.executable, __file__, "--step", name, "--path", str(path)], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=1800)
    if output.returncode:
        raise RuntimeError(output.stderr[-3000:])
    return json.loads(output.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=str(ROOT / "bench" / "out"))
    parser.add_argument("--images", type=int, default=50_000)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--step", help=argparse.SUPPRESS)
    parser.add_argument("--path", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.step:
        print(json.dumps(step(args.step, args)))
        return

    from bench.checks import report

    work = Path(args.out) / "big_data"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    env = {**os.environ, "TRANSFERLAB_HOME": str(work / "home"), "PYTHONPATH": str(ROOT)}
    results: dict = {}

    begin = time.perf_counter()
    make_images(work / "images", args.images)
    print(f"made {args.images:,} images in {time.perf_counter() - begin:.1f}s", flush=True)
    results["scan"] = in_child("scan", work / "images", env)
    print(f"scan + report of {results['scan']['images']:,} images: {results['scan']['seconds']}s, "
          f"peak memory {results['scan']['max_rss_mb']} MB", flush=True)

    for encoding in ("utf-8", "gb18030"):
        path = work / f"texts-{encoding}.csv"
        make_csv(path, args.rows, encoding)
        results[f"csv {encoding}"] = in_child("csv", path, env)
        row = results[f"csv {encoding}"]
        print(f"load {row['rows']:,}-row CSV ({path.stat().st_size / 1e6:.0f} MB, {encoding}): {row['seconds']}s, "
              f"read as {row['encoding']}, language {row['language']}, peak memory {row['max_rss_mb']} MB", flush=True)

    os.environ.update(TRANSFERLAB_HOME=str(work / "home"))
    small = work / "small"
    make_images(small, 60)
    make_runs(work / "home" / "runs", args.runs, small)
    results["pages"] = in_child("pages", small, env)
    for page, seconds in results["pages"]["first_visit_after_start"].items():
        print(f"{page} with {args.runs} runs, first visit after the server starts (imports included): {seconds}s",
              flush=True)
    for page, seconds in results["pages"]["page_seconds"].items():
        print(f"{page} with {args.runs} runs, {seconds}s", flush=True)

    slowest_page = max(results["pages"]["page_seconds"].values())
    checks = {
        f"scan of {args.images:,} images under 30 s ({results['scan']['seconds']}s)": results["scan"]["seconds"] < 30,
        f"{args.rows:,}-row UTF-8 CSV under 10 s ({results['csv utf-8']['seconds']}s)":
            results["csv utf-8"]["seconds"] < 10,
        f"{args.rows:,}-row GB18030 CSV under 10 s ({results['csv gb18030']['seconds']}s)":
            results["csv gb18030"]["seconds"] < 10,
        f"Data, Results and Runs pages under 2 s with {args.runs} runs (slowest {slowest_page}s)": slowest_page < 2,
        f"scan memory bounded (peak {results['scan']['max_rss_mb']} MB, under 1 GB)": results["scan"]["max_rss_mb"] < 1024,
    }
    report(checks, results, Path(args.out), "big_data")


if __name__ == "__main__":
    main()
