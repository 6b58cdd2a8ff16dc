"""Benchmark: domain adaptation, and ``--adapt auto``'s choice of it, on shifts built from data on this machine.

    python bench/domain_shift.py [--only image|text|features|network] [--home DIR] [--out bench/out]

The shifts are bench/shifts.py's: five of images (MNIST -> MNIST-M, -> UCI digits, -> ink on paper,
-> rotated noisy scans; UCI digits -> MNIST) and two of texts (BBC articles -> snippets, -> noisy typing).
The target's labels are only used to score.

Feature extraction (images: EfficientNet-Lite0; texts: MiniLM), per shift:
1. on the cached features, every skada scorer of ``choose.SCORERS`` (circular, mixval, dev, snd,
   entropy, iwv) and source validation accuracy for none and each feature-level method
   (``choose.measure``); a scorer alone would pick the method it scores highest;
2. a run of ``core.train.fit`` with no adaptation, one per feature-level method and one with ``auto``
   (which measures and chooses by the rule of core/adaptation/choose.py), all reading the cached features;
3. for each scorer, for the rule (auto's choice) and for "always <method>": the method picked, its
   run's target accuracy and the regret (the best fixed method's target accuracy minus the pick's).
Printed: a table per shift, then per picker the mean regret, the worst harm (none's target accuracy
minus the pick's, the worst shift) and how often it picked the best method (ties count), and what
choosing cost (auto's run against none's, both on cached features).

Networks trained end to end (``--only network``): MNIST -> MNIST-M with the small CNN from scratch and
EfficientNet-Lite0 fine-tuned, each without adaptation and with every method that changes the network
and applies (from scratch: AdaBN and DANN; fine-tuned: DANN).

Runs and the feature cache live in one workspace (``--home``, default a temporary folder), so each
dataset's features are computed once per invocation. With a ``--home`` used before, auto reads the choices
remembered there (core/adaptation/choose.py) instead of measuring them: give a fresh one to time choosing.
Writes bench/out/domain_shift.json: the sections this invocation measured ("features", "network") replace
those of an earlier one, the others are kept. Timings are wall-clock seconds on whatever else the machine
is doing.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from shifts import image_shifts, text_shifts  # noqa: E402
from core import adaptation, backbones, data, features, strategies  # noqa: E402
from core.data import domains
from core.adaptation import choose  # noqa: E402
from core.config import TrainConfig  # noqa: E402
from core.device import pick_device  # noqa: E402
from core.errors import UserError  # noqa: E402
from core.train import fit  # noqa: E402

IMAGE_BACKBONE, TEXT_BACKBONE = "efficientnet_lite0", "all_minilm_l6_v2"
TIE = 1e-9  # target accuracies this close count as equal (a tie with the best is a pick of the best)


def scorer_picks(config: TrainConfig, methods: list[str]) -> choose.Choice:
    """Every skada scorer on the run's features (from the cache, computed now if missing), the rows taken
    as ``choose.for_data`` takes them: training and validation split of the source, every target item."""
    report = data.load_dataset(config.data, config.val_fraction, config.seed, config.text_column,
                               config.label_column, config.encoding)
    target = domains.load_target(config.target, report)
    spec, device = backbones.get(config.backbone), pick_device(config.device)
    sets = [features.load_or_compute(part, spec, config.cache_dir, device, max_length=config.max_length)
            for part in (report, target.report)]
    rows = [sets[0].rows(report.train), sets[0].rows(report.val), sets[1].rows(target.items)]
    train_x, val_x, target_x = (part.double().numpy() for part in rows)
    labels = [np.array([label for _key, label in items]) for items in (report.train, report.val)]
    return choose.measure(train_x, labels[0], val_x, labels[1], target_x, methods, config.seed,
                          scorers=choose.SCORERS)


def run_features(name: str, source: Path, target: Path, backbone: str, runs_dir: Path, **settings) -> dict:
    """One shift by feature extraction: the scorers' measurements, a run per method and one with auto."""
    methods = adaptation.measured_here(strategies.get("feature_extract"), backbones.get(backbone))

    def config(method: str) -> TrainConfig:
        return TrainConfig.for_strategy(str(source), "feature_extract", backbone=backbone, target=str(target),
                                        adapt=method, out_dir=str(runs_dir), seed=0, **settings)

    measured = scorer_picks(config("none"), methods)  # first: computes the features the runs then read
    runs = []
    for method in ["none", *methods, adaptation.AUTO]:
        try:
            summary = fit(config(method))
        except UserError as error:
            print(f"{name:<30} {method:<12} failed: {error}", flush=True)
            runs.append({"shift": name, "method": method, "failed": str(error)})
            continue
        row = {"shift": name, "method": method, "val_acc": summary["best_val_acc"],
               "target_acc": summary["target_acc"], "target_acc_without": summary.get("target_acc_without"),
               "domain_gap": summary["domain_gap"], "domain_gap_after": summary.get("domain_gap_after"),
               "seconds": summary["seconds"], "cache_hit": summary.get("cache_hit")}
        if method == adaptation.AUTO:
            row.update(chosen=summary["adapt"], adapt_choice_seconds=summary["adapt_choice_seconds"],
                       adapt_choice_remembered=summary.get("adapt_choice_remembered", False),
                       adapt_scores=summary["adapt_scores"], adapt_reason=summary["adapt_reason"])
        print(f"{name:<30} {method:<12} source val {row['val_acc']:.1%}  target {row['target_acc']:.1%}  "
              f"{row['seconds']:.1f}s" + (f"  chose {row['chosen']}" if method == adaptation.AUTO else ""), flush=True)
        runs.append(row)
    return {"shift": name, "runs": runs, "scores": measured.scores, "rule_here": measured.chosen,
            "picks": picks(runs, measured.scores, ["none", *methods])}


def picks(runs: list[dict], scores: dict[str, dict], methods: list[str]) -> dict[str, dict]:
    """Per picker (each scorer, the rule as auto ran it, always <method>): the method, its run's target
    accuracy, regret against the best fixed method and harm against none (None where that run failed or
    nothing could be scored)."""
    accuracy = {row["method"]: row.get("target_acc") for row in runs if row["method"] in methods}
    best = max(value for value in accuracy.values() if value is not None)
    chosen = {scorer: max((m for m in methods if scorer in scores.get(m, {})), key=lambda m: scores[m][scorer],
                          default=None) for scorer in choose.SCORERS}
    auto = next((row for row in runs if row["method"] == adaptation.AUTO and "chosen" in row), None)
    if auto is not None:
        chosen["rule (auto)"] = auto["chosen"]
    chosen.update({f"always {method}": method for method in methods})
    found = {}
    for picker, method in chosen.items():
        value = accuracy.get(method)
        found[picker] = {"method": method, "target_acc": value,
                         "regret": None if value is None else best - value,
                         "harm": None if value is None or accuracy.get("none") is None else accuracy["none"] - value}
    return found


def print_shift(shift: dict) -> None:
    runs = {row["method"]: row for row in shift["runs"]}
    gap = next((row["domain_gap"] for row in shift["runs"] if "domain_gap" in row), float("nan"))
    print(f"\n{shift['shift']} (domain gap {gap:.2f})")
    print(f"  {'method':<14}{'source val':>11}{'target':>9}{'seconds':>9}"
          + "".join(f"{scorer:>9}" for scorer in choose.SCORERS))
    for method, row in runs.items():
        if "failed" in row:
            print(f"  {method:<14} failed: {row['failed']}")
            continue
        measured = shift["scores"].get(method, {})
        print(f"  {method:<14}{row['val_acc']:>11.1%}{row['target_acc']:>9.1%}{row['seconds']:>9.1f}"
              + "".join(f"{measured[s]:>9.3f}" for s in choose.SCORERS if s in measured))
    auto = shift["picks"].get("rule (auto)")
    if auto:
        print(f"  auto chose {auto['method']}: target {runs['auto']['target_acc']:.1%}, "
              f"regret {auto['regret'] * 100:.1f} points"
              + ("" if shift["rule_here"] == auto["method"] else f" (measured here: {shift['rule_here']})"))
    print("  scorers alone pick: " + ", ".join(f"{p} {shift['picks'][p]['method']}" for p in choose.SCORERS))


def summarise(shifts: list[dict]) -> dict[str, dict]:
    """Per picker over the shifts: mean regret, worst harm (points of target accuracy) and picks of the best."""
    summary = {}
    for picker in shifts[0]["picks"]:
        found = [shift["picks"][picker] for shift in shifts if shift["picks"].get(picker, {}).get("regret") is not None]
        if not found:
            continue
        summary[picker] = {"mean_regret": float(np.mean([p["regret"] for p in found])),
                           "worst_harm": max(p["harm"] for p in found),
                           "picks_best": sum(p["regret"] <= TIE for p in found), "shifts": len(found)}
    return summary


def costs(shifts: list[dict]) -> dict:
    """What choosing costs: per shift auto's run and none's (both on cached features) and the choice alone; the
    mean ratio counts only choices measured by this invocation (not remembered from an earlier one)."""
    per_shift = {}
    for shift in shifts:
        runs = {row["method"]: row for row in shift["runs"] if "failed" not in row}
        if "auto" in runs and "none" in runs:
            per_shift[shift["shift"]] = {"none_seconds": runs["none"]["seconds"],
                                         "auto_seconds": runs["auto"]["seconds"],
                                         "choice_seconds": runs["auto"]["adapt_choice_seconds"],
                                         "cached": bool(runs["none"]["cache_hit"] and runs["auto"]["cache_hit"]),
                                         "remembered": runs["auto"]["adapt_choice_remembered"]}
    ratios = [row["choice_seconds"] / row["none_seconds"] for row in per_shift.values() if not row["remembered"]]
    return {"per_shift": per_shift, "mean_choice_over_none": float(np.mean(ratios)) if ratios else None}


def print_summary(summary: dict[str, dict], cost: dict) -> None:
    print(f"\n{'picker':<22}{'mean regret':>12}{'worst harm':>12}{'picks best':>12}")
    for picker, row in summary.items():
        print(f"{picker:<22}{row['mean_regret'] * 100:>11.1f}p{row['worst_harm'] * 100:>+11.1f}p"
              f"{row['picks_best']:>9}/{row['shifts']}")
    print(f"\n{'cost of choosing':<30}{'none run':>10}{'auto run':>10}{'choice':>10}")
    for name, row in cost["per_shift"].items():
        print(f"{name:<30}{row['none_seconds']:>9.1f}s{row['auto_seconds']:>9.1f}s{row['choice_seconds']:>9.1f}s"
              + ("" if row["cached"] else "  (features not all from the cache)")
              + ("  (choice remembered from an earlier run: its seconds are those of that run)"
                 if row["remembered"] else ""))
    if cost["mean_choice_over_none"] is not None:
        print(f"choice seconds / none run seconds, mean over shifts: {cost['mean_choice_over_none']:.2f}")


def measure_end_to_end(name: str, source: Path, target: Path, strategy: str, backbone: str, runs_dir: Path,
                       **settings) -> list[dict]:
    """A whole network trained on the source, without adaptation and with each method that changes the network
    and applies to this strategy (AdaBN from scratch only, DANN)."""
    methods = [m.name for m in adaptation.for_strategy(strategies.get(strategy), backbones.get(backbone))
               if m.name == "none" or m.level != "features"]
    rows = []
    for method in methods:
        config = TrainConfig.for_strategy(str(source), strategy, backbone=backbone, target=str(target), adapt=method,
                                          out_dir=str(runs_dir), seed=0, **settings)
        summary = fit(config)
        row = {"shift": name, "adapt": method, "val_acc": summary["best_val_acc"], "target_acc": summary["target_acc"],
               "domain_gap_after": summary.get("domain_gap_after"), "seconds": summary["seconds"]}
        print(f"{name:<22} {method:<12} source val {row['val_acc']:.1%}  target {row['target_acc']:.1%}  "
              f"gap of the trained features {row['domain_gap_after']:.2f}  {row['seconds']:.1f}s", flush=True)
        rows.append(row)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=["image", "text", "features", "network"])
    parser.add_argument("--home", help="workspace for the runs and the feature cache (default: a temporary folder)")
    parser.add_argument("--out", default=str(Path(__file__).parent / "out"))
    parser.add_argument("--fine-tune-epochs", type=int, default=2)
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    written = out / "domain_shift.json"
    results = json.loads(written.read_text()) if written.is_file() else {}
    with tempfile.TemporaryDirectory(prefix="transferlab-shift-") as scratch:
        home = Path(args.home or scratch).resolve()
        os.environ["TRANSFERLAB_HOME"] = str(home)  # before any config: its cache_dir defaults to home/cache
        runs_dir = home / "runs"
        if args.only in (None, "network"):
            source, target = image_shifts(home / "shifts")["MNIST -> MNIST-M"]
            network = measure_end_to_end("MNIST -> MNIST-M (CNN)", source, target, "scratch", "small_cnn", runs_dir,
                                         horizontal_flip=False, patience=0)
            network += measure_end_to_end("MNIST -> MNIST-M (fine-tuned)", source, target, "fine_tune",
                                          IMAGE_BACKBONE, runs_dir, horizontal_flip=False, patience=0,
                                          epochs=args.fine_tune_epochs)
            results["network"] = network
        if args.only != "network":
            jobs = []
            if args.only in (None, "image", "features"):
                jobs += [(name, pair, IMAGE_BACKBONE, {"horizontal_flip": False})
                         for name, pair in image_shifts(home / "shifts").items()]
            if args.only in (None, "text", "features"):
                jobs += [(name, pair, TEXT_BACKBONE, {})
                         for name, pair in text_shifts(home / "shifts" / "texts").items()]
            shifts = [run_features(name, source, target, backbone, runs_dir, **settings)
                      for name, (source, target), backbone, settings in jobs]
            for shift in shifts:
                print_shift(shift)
            summary, cost = summarise(shifts), costs(shifts)
            print_summary(summary, cost)
            results["features"] = {"shifts": shifts, "summary": summary, "cost": cost}
    written.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
