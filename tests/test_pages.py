"""AppTest over app.py and every page: the flows a person clicks through, without a browser."""

import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core import data, data_images, jobs
from tests.helpers import TINY, TINY_BERT, make_image_folder, zip_folder

ROOT = Path(__file__).resolve().parents[1]
PAGES = ["pages/0_home.py", "pages/1_data.py", "pages/2_model.py", "pages/3_train.py", "pages/4_results.py"]


def _app() -> AppTest:
    return AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)


def _wait_for_run(at: AppTest, seconds: float = 60) -> None:
    """Fragment timers are not simulated: poll with reruns until the job is done."""
    deadline = time.time() + seconds
    while (job := jobs.active()) is not None and time.time() < deadline:
        job.wait(0.5)
    at.run()


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_without_data(page):
    at = _app().run()
    at.switch_page(page).run()
    assert not at.exception
    assert at.title


def test_home_sample_button_loads_the_digits(isolated_home):
    at = _app().run()
    at.button(key="start_with_sample").click().run()
    assert not at.exception
    assert at.session_state.data == "sample:mnist"
    assert [m.value for m in at.metric][:2] == ["10", "1,000"]


def test_uploading_a_zip_shows_classes_warnings_and_skips(tmp_path):
    folder = make_image_folder(tmp_path / "src", {"red": 8, "blue": 3})
    (folder / "red" / "readme.txt").write_text("hello")
    at = _app().run()
    at.switch_page("pages/1_data.py").run()
    at.radio(key="data_source").set_value("upload").run()
    at.get("file_uploader")[0].set_value(("colors.zip", zip_folder(folder), "application/zip")).run()
    assert not at.exception
    report = at.session_state.report
    assert report.classes == ["blue", "red"] and report.num_items == 11
    assert any("only 3 example" in w.value for w in at.warning)
    assert [m.value for m in at.metric][3] == "1"  # one skipped file
    assert at.session_state.data_name == "colors.zip" and at.subheader[0].value.endswith("colors.zip")


def test_a_broken_zip_is_explained_not_crashed():
    at = _app().run()
    at.switch_page("pages/1_data.py").run()
    at.radio(key="data_source").set_value("upload").run()
    at.get("file_uploader")[0].set_value(("broken.zip", b"not a zip at all", "application/zip")).run()
    assert not at.exception
    assert any("not a readable .zip" in e.value for e in at.error)
    assert at.session_state.report is None


def test_model_page_shows_cards_strategy_and_trainable_table(colors_folder):
    at = _app()
    at.session_state["report"] = data_images.load_dataset(colors_folder)
    at.session_state["data"] = str(colors_folder)
    at.run().switch_page("pages/2_model.py").run()
    assert not at.exception
    trainable, frozen = (m.value for m in at.metric[:2])
    assert int(trainable.replace(",", "")) == 1280 * 2 + 2 and int(frozen.replace(",", "")) == 3_371_008
    at.radio[0].set_value("fine_tune").run()
    assert [m.value for m in at.metric][1] == "0"
    assert at.button(key="pick_resnet18").disabled  # its weights are not on this machine


def test_train_then_results_shows_live_metrics_and_the_confusion_matrix(colors_folder):
    at = _app()
    at.session_state["report"] = data_images.load_dataset(colors_folder)
    at.session_state["data"] = str(colors_folder)
    at.session_state["backbone"] = TINY
    at.run().switch_page("pages/3_train.py").run()
    at.number_input[0].set_value(4)  # epochs
    at.button(key="start_training").click().run()
    assert not at.exception and at.session_state.run_dir
    _wait_for_run(at)
    assert not at.exception
    assert any(s.value.startswith("Finished") for s in at.success)
    assert [m.value for m in at.metric][0] == "4/4"
    assert at.get("plotly_chart")
    at.switch_page("pages/4_results.py").run()
    assert not at.exception
    assert at.metric[3].value == "4/4"
    assert len(at.get("plotly_chart")) == 2  # curves and confusion matrix


def test_stop_button_stops_a_running_job(colors_folder):
    at = _app()
    at.session_state["report"] = data_images.load_dataset(colors_folder)
    at.session_state["data"] = str(colors_folder)
    at.session_state["backbone"] = "small_cnn"
    at.session_state["strategy"] = "scratch"
    at.run().switch_page("pages/3_train.py").run()
    at.number_input[0].set_value(400)
    at.button(key="start_training").click().run()
    assert at.button(key="start_training").disabled  # one run at a time
    at.button(key="stop_training").click().run()
    _wait_for_run(at, 30)
    assert not at.exception
    assert any("Stopped" in w.value for w in at.warning)


def _text_app(reviews_csv, backbone: str = TINY_BERT, strategy: str = "feature_extract") -> AppTest:
    at = _app()
    at.session_state["report"] = data.load_dataset(reviews_csv)
    at.session_state["data"] = str(reviews_csv)
    at.session_state["data_name"] = reviews_csv.name
    at.session_state["backbone"] = backbone
    at.session_state["strategy"] = strategy
    return at.run()


def test_uploading_a_csv_shows_columns_labels_and_token_lengths(reviews_csv):
    at = _app().run()
    at.switch_page("pages/1_data.py").run()
    at.radio(key="data_source").set_value("upload").run()
    at.get("file_uploader")[0].set_value(("reviews.csv", reviews_csv.read_bytes(), "text/csv")).run()
    assert not at.exception
    report = at.session_state.report
    assert report.modality == "text" and report.classes == ["negative", "positive"]
    assert [s.value for s in at.selectbox][-2:] == ["review", "sentiment"]  # the guessed columns, editable
    assert at.session_state.backbone == "all_minilm_l6_v2"  # switched to a text backbone
    assert len(at.get("plotly_chart")) == 2  # label counts and token lengths


def test_model_page_for_texts_offers_tfidf_and_counts_transformer_layers(reviews_csv):
    at = _text_app(reviews_csv, backbone="all_minilm_l6_v2")
    at.switch_page("pages/2_model.py").run()
    assert not at.exception
    assert "TF-IDF + logistic regression (baseline)" in at.radio[0].options and at.button(key="pick_text_lstm")
    assert int(at.metric[1].value.replace(",", "")) == 22_713_216  # frozen MiniLM
    at.radio[0].set_value("tfidf").run()
    assert any("no layers" in i.value for i in at.info)


def test_text_training_and_results_show_per_class_scores_and_wrong_texts(reviews_csv):
    at = _text_app(reviews_csv, strategy="tfidf")
    at.switch_page("pages/3_train.py").run()
    at.button(key="start_training").click().run()
    _wait_for_run(at)
    assert not at.exception and any(s.value.startswith("Finished") for s in at.success)
    at.switch_page("pages/4_results.py").run()
    assert not at.exception
    assert at.metric[2].value.endswith("%")  # macro-F1
    assert list(at.dataframe[0].value.columns) == ["class", "precision", "recall", "f1", "support"]


def test_text_feature_extraction_from_the_train_page(reviews_csv):
    at = _text_app(reviews_csv)
    at.switch_page("pages/3_train.py").run()
    at.number_input[0].set_value(3)
    at.button(key="start_training").click().run()
    _wait_for_run(at)
    assert not at.exception and [m.value for m in at.metric][0] == "3/3"
