import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _cli(*args: str, env_home: Path) -> subprocess.CompletedProcess:
    import os
    env = {**os.environ, "TRANSFERLAB_HOME": str(env_home), "TRANSFERLAB_OFFLINE": "1"}
    return subprocess.run([sys.executable, "-m", "core", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)


def test_backbones_json_lists_name_modality_and_availability(isolated_home):
    result = _cli("backbones", "--json", env_home=isolated_home)
    entries = {e["name"]: e for e in json.loads(result.stdout)}
    assert result.returncode == 0
    assert entries["efficientnet_lite0"]["available"] is True and entries["efficientnet_lite0"]["modality"] == "image"
    assert isinstance(entries["vit_b_16"]["available"], bool)


def test_train_prints_progress_then_one_json_line(colors_folder, isolated_home, tmp_path):
    result = _cli("train", "--data", str(colors_folder), "--backbone", "efficientnet_lite0", "--strategy",
                  "feature_extract", "--epochs", "3", "--out", str(tmp_path / "out"), "--seed", "1",
                  "--batch-size", "8", "--lr", "0.01", env_home=isolated_home)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    summary = json.loads(lines[-1])
    assert {"best_val_acc", "final_val_acc", "epochs", "seconds", "device", "run_dir"} <= set(summary)
    assert summary["epochs"] == 3 and summary["best_val_acc"] >= 0.8  # real ImageNet features, red vs blue
    assert Path(summary["run_dir"]).parent == tmp_path / "out"
    assert any(line.startswith("epoch 3/3") for line in lines)


def test_bad_arguments_and_data_exit_non_zero_with_one_line(isolated_home, tmp_path):
    for args in (["train", "--data", str(tmp_path / "nope")],
                 ["train", "--data", str(tmp_path), "--strategy", "magic"],
                 ["train", "--data", "sample:mnist", "--backbone", "no_such_net"],
                 ["train", "--data", "sample:mnist", "--epochs", "0"]):
        result = _cli(*args, env_home=isolated_home)
        assert result.returncode != 0, args
        assert len(result.stderr.strip().splitlines()) == 1 and result.stderr.startswith("error:"), result.stderr
