"""Names for the classes (0 -> 差评): kept with the data, carried by every run trained on it, shown by Results,
Try it and the export (its labels.json, model card and predict.py)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core import data, inference
from core.data import class_names
from core.config import TrainConfig
from core.errors import UserError
from core.inference.export import export_run
from core.runs import Run
from core.train import fit

ROOT = Path(__file__).resolve().parents[1]


def test_names_are_kept_with_the_data_and_never_change_its_labels(reviews_csv):
    report = data.load_dataset(str(reviews_csv))
    assert report.titles == ["negative", "positive"]
    named = class_names.save(report, {"negative": "  差评 ", "positive": ""})
    assert named.titles == ["差评", "positive"] and named.classes == ["negative", "positive"]
    again = data.load_dataset(str(reviews_csv))  # read again from disk: the names come back
    assert again.titles == ["差评", "positive"] and again.fingerprint == report.fingerprint
    assert [row["title"] for row in again.counts()] == ["差评", "positive"]
    with pytest.raises(UserError, match="差评"):  # two classes may not look the same
        class_names.save(report, {"negative": "差评", "positive": "差评"})
    with pytest.raises(UserError, match="different name"):
        class_names.save(report, {"positive": "negative"})
    with pytest.raises(UserError):
        class_names.save(report, {"positive": "x" * (class_names.MAX_LENGTH + 1)})
    assert class_names.save(again, {}).titles == ["negative", "positive"]  # empty: the labels themselves
    assert data.load_dataset(str(reviews_csv)).class_titles == {}


def test_a_run_keeps_its_names_and_the_export_predicts_them(reviews_csv, tmp_path):
    report = data.load_dataset(str(reviews_csv))
    class_names.save(report, {"negative": "差评", "positive": "好评"})
    summary = fit(TrainConfig.for_strategy(str(reviews_csv), "tfidf"))
    run = Run(Path(summary["run_dir"]))
    assert run.labels() == ["negative", "positive"] and run.class_titles() == ["差评", "好评"]
    class_names.save(report, {})  # renaming the data later leaves the trained run as it was
    assert run.class_titles() == ["差评", "好评"]
    assert inference.load(run.dir).labels == ["差评", "好评"]
    out = tmp_path / "export"
    export_run(run.dir, out)
    assert json.loads((out / "labels.json").read_text()) == ["差评", "好评"]
    assert "好评" in (out / "README.md").read_text(encoding="utf-8")
    printed = subprocess.run([sys.executable, str(out / "predict.py"), "a lovely, superb movie"], cwd=tmp_path,
                             capture_output=True, text=True, encoding="utf-8", timeout=120)
    assert printed.returncode == 0, printed.stderr
    assert json.loads(printed.stdout)["label"] == "好评" and "好评" in printed.stdout  # readable, not \\u escapes


def test_the_data_page_names_the_classes_and_the_chart_shows_them(colors_folder):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.query_params.update(data=str(colors_folder))
    at.run()
    at.switch_page("pages/1_data.py").run()
    assert not at.exception
    at.session_state.report = class_names.save(at.session_state.report, {"red": "红色"})
    at.run()
    charts = [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]
    assert ["blue", "红色"] in [chart["data"][0].get("x") for chart in charts]  # the class counts
    assert any("红色" in m.value for m in at.markdown)  # the examples per class
