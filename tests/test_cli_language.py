"""The CLI speaks the person's language: LANG / LC_ALL / LANGUAGE, or ``--lang`` before or after the command.

The Chinese asserted here is the CLI's part of the catalogue (core/locales/zh_CN: "错误：", the audit's refusal,
argparse's words, the help texts)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from core import i18n
from core.cli import main
from core.divergence import Divergence
from core.errors import UserError

ROOT = Path(__file__).resolve().parents[1]
CHOSEN_BY = ("TRANSFERLAB_LANG", "LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")


@pytest.fixture
def chinese_locale(monkeypatch):
    """The environment of a person whose system speaks Chinese (the tests' TRANSFERLAB_LANG=en removed)."""
    for variable in CHOSEN_BY:
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")


def test_a_refusal_follows_lang_and_the_lang_option_overrides_it(tmp_path):
    env = {key: value for key, value in os.environ.items() if key not in CHOSEN_BY}
    command = [sys.executable, "-m", "core", "train", "--data", str(tmp_path / "nonexistent")]
    chinese = subprocess.run(command, cwd=ROOT, env={**env, "LANG": "zh_CN.UTF-8"}, capture_output=True, text=True,
                             timeout=300)
    assert chinese.returncode == 1 and chinese.stderr.startswith("错误："), chinese.stderr
    assert len(chinese.stderr.strip().splitlines()) == 1

    english = subprocess.run(command + ["--lang", "en"], cwd=ROOT, env={**env, "LANG": "zh_CN.UTF-8"},
                             capture_output=True, text=True, timeout=300)
    assert english.returncode == 1 and english.stderr.startswith("error: No file or folder"), english.stderr


def test_the_whole_refusal_in_chinese_and_lang_before_or_after_the_command(chinese_locale, tmp_path, capsys):
    assert main(["audit", str(tmp_path), "--per-side", "5"]) == 1
    said = capsys.readouterr().err
    assert said.startswith("错误：--per-side 5 太少了，测不出任何结果。") and "至少要 10（默认 500）。" in said, said

    assert main(["audit", str(tmp_path), "--per-side", "5", "--lang", "en"]) == 1
    assert capsys.readouterr().err.startswith("error: --per-side 5 is too few to measure anything.")
    assert main(["--lang=en", "audit", str(tmp_path), "--per-side", "5"]) == 1
    assert capsys.readouterr().err.startswith("error: --per-side 5 is too few")


def test_argparse_refusals_and_help_speak_the_language_and_unknown_codes_are_refused(capsys):
    with pytest.raises(SystemExit) as exit:  # TRANSFERLAB_LANG=en here: the option wins
        main(["--lang", "zh-CN"])
    assert exit.value.code == 2 and capsys.readouterr().err.startswith("错误：缺少必需的参数：command")

    with pytest.raises(SystemExit) as exit:
        main(["train", "--help", "--lang", "zh"])
    shown = capsys.readouterr().out
    assert exit.value.code == 0 and shown.startswith("用法：python -m core train"), shown
    assert "随机种子" in shown and "--batch-size" in shown  # the flags stay as they are

    with pytest.raises(SystemExit) as exit:
        main(["--lang", "xx", "runs"])
    refused = capsys.readouterr().err
    assert exit.value.code == 2 and "'xx'" in refused and "zh_CN" in refused, refused


def test_a_training_error_is_translated_when_read_not_when_raised():
    with pytest.raises(UserError) as raised:
        Divergence(lr=5.0).check_batch(float("nan"), epoch=1)
    event = raised.value.to_event()
    assert event["message"].startswith("Training diverged in epoch 1: the loss became nan.")  # written in English
    with i18n.language("zh_CN"):
        assert i18n.event_text(event).startswith("训练在第 1 轮发散了：损失变成了 nan。")
        assert "降低到原来的十分之一左右（0.5）" in i18n.event_text(event)
