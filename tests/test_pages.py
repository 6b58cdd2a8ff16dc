"""AppTest over app.py and every page: the flows a person clicks through, without a browser."""

import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import dataclasses

from core import compare, data, jobs, paths, runs
from core.data import image_folders
from core.config import TrainConfig
from tests.helpers import TINY, TINY_BERT, make_image_folder, zip_folder

ROOT = Path(__file__).resolve().parents[1]
PAGES = ["pages/0_home.py", "pages/1_data.py", "pages/2_model.py", "pages/3_train.py", "pages/4_results.py",
         "pages/5_compare.py", "pages/6_runs.py", "pages/8_lessons.py"]


def _app() -> AppTest:
    return AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)


def _wait_for_run(at: AppTest, seconds: float = 90) -> None:
    """Fragment timers are not simulated: wait for the queue to empty, then draw the page again."""
    assert jobs.supervisor().wait_idle(seconds), "training did not end in time"
    at.run()


def _number_input(at: AppTest, label_start: str):
    return next(widget for widget in at.number_input if widget.label.startswith(label_start))


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


def test_a_reload_starts_from_the_data_backbone_and_strategy_in_the_address(reviews_csv):
    """A reload is a new session; the address (kept up to date by app.py, checked in the browser
    test) brings back the data, its columns, the backbone and the strategy."""
    at = _app()
    at.query_params.update(data=str(reviews_csv), text_col="review", label_col="sentiment",
                           backbone="all_minilm_l6_v2", strategy="tfidf")
    at.run()
    assert not at.exception
    assert at.session_state.report.classes == ["negative", "positive"]
    assert at.session_state.strategy == "tfidf" and at.session_state.backbone == "all_minilm_l6_v2"
    stale = _app()
    stale.query_params.update(data=str(reviews_csv), backbone="efficientnet_lite0", strategy="magic")
    stale.run()
    assert not stale.exception and stale.session_state.backbone == "all_minilm_l6_v2"
    assert stale.session_state.strategy == "feature_extract"


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
    assert at.session_state.data_name == "colors.zip"
    assert at.subheader[0].value == "What was found in colors.zip: 2 classes, 11 images"


def test_the_dataset_doctor_finds_a_copy_across_the_split_and_excludes_it_in_one_click(tmp_path):
    import shutil

    folder = tmp_path / "doubled"
    make_image_folder(folder / "train", {"red": 10, "blue": 10})
    (folder / "val" / "red").mkdir(parents=True)
    (folder / "val" / "blue").mkdir(parents=True)
    shutil.copyfile(folder / "train" / "red" / "003.png", folder / "val" / "red" / "copy.png")
    shutil.copyfile(folder / "train" / "blue" / "004.png", folder / "val" / "blue" / "copy.png")
    at = _app()
    at.session_state["report"] = data.load_dataset(folder)
    at.session_state["data"] = str(folder)
    at.session_state["backbone"] = TINY
    at.run().switch_page("pages/1_data.py").run()
    at.button(key="doctor_run").click().run()
    assert not at.exception
    at.session_state["doctor"]["process"].wait(120)  # the examination runs in a child process
    at.run()
    assert not at.exception
    assert any("validation examples have a copy" in w.value for w in at.warning)
    at.button(key="doctor_exclude_duplicates_0").click().run()  # the surest: an exact copy across the split
    assert not at.exception
    report = at.session_state.report
    assert len(report.excluded) == 1 and report.excluded[0].startswith("val/")
    assert report.excluded[0] not in {key for key, _ in report.val}
    at.button(key="doctor_include_0").click().run()  # the Excluded list puts it back
    assert not at.exception and at.session_state.report.excluded == []
    # again: the features are cached now, so it runs in a thread of the server (no process to start)
    at.button(key="doctor_run").click().run()
    found = at.session_state["doctor"]
    assert found["process"] is None and found["thread"] is not None
    found["thread"].join(60)
    at.run()
    assert not at.exception and at.session_state["doctor"]["thread"] is None
    assert any("validation examples have a copy" in w.value for w in at.warning)


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
    at.session_state["report"] = image_folders.load_dataset(colors_folder)
    at.session_state["data"] = str(colors_folder)
    at.run().switch_page("pages/2_model.py").run()
    assert not at.exception
    trainable, frozen = (m.value for m in at.metric[:2])
    assert int(trainable.replace(",", "")) == 1280 * 2 + 2 and int(frozen.replace(",", "")) == 3_371_008
    at.radio[0].set_value("fine_tune").run()
    assert [m.value for m in at.metric][1] == "0"
    assert at.button(key="pick_resnet18").disabled  # its weights are not on this machine


def _train_page(folder) -> AppTest:
    """The Train page with ``folder`` loaded and the tiny backbone chosen."""
    at = _app()
    at.session_state["report"] = image_folders.load_dataset(folder)
    at.session_state["data"] = str(folder)
    at.session_state["backbone"] = TINY
    return at.run().switch_page("pages/3_train.py").run()


def test_train_then_results_shows_live_metrics_and_the_confusion_matrix(colors_folder):
    at = _train_page(colors_folder)
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


def test_train_page_offers_augmented_views_for_feature_extraction_and_the_run_uses_them(colors_folder):
    at = _train_page(colors_folder)
    at.number_input[0].set_value(3)
    _number_input(at, "Augmented views per image").set_value(2)
    at.button(key="start_training").click().run()
    assert not at.exception and at.session_state.run_dir
    _wait_for_run(at)
    run = runs.Run(Path(at.session_state.run_dir))
    assert run.config()["augmented_views"] == 2 and run.summary()["status"] == "finished"
    assert [e.get("views") for e in run.events() if e["kind"] == "features" and e.get("domain") == "views"][-1] == 2
    at.session_state["strategy"] = "fine_tune"
    at.run()
    assert not [n for n in at.number_input if n.label.startswith("Augmented views")]  # fine-tuning augments anyway


def test_private_training_from_the_train_page_reports_the_budget_spent(colors_folder):
    at = _train_page(colors_folder)
    assert not [n for n in at.number_input if n.label.startswith("Privacy budget")]
    at.toggle(key="private_toggle").set_value(True).run()
    assert not at.exception and at.session_state.private_training
    assert _number_input(at, "Privacy budget").value == 3.0
    assert _number_input(at, "Learning rate").value == pytest.approx(1e-2)  # the private recipe
    at.number_input[0].set_value(3)
    _number_input(at, "Privacy budget").set_value(2.0)
    at.button(key="start_training").click().run()
    assert not at.exception and at.session_state.run_dir
    _wait_for_run(at)
    run = runs.Run(Path(at.session_state.run_dir))
    assert run.config()["dp_epsilon"] == 2.0 and 0 < run.summary()["epsilon"] <= 2.0 + 1e-6
    assert any(m.label == "Privacy spent (ε)" for m in at.metric)
    at.switch_page("pages/4_results.py").run()
    assert not at.exception
    assert any("trained privately" in s.value and "ε = " in s.value for s in at.success)


def test_a_second_start_queues_and_stop_cancels_or_stops(colors_folder):
    at = _app()
    at.session_state["report"] = image_folders.load_dataset(colors_folder)
    at.session_state["data"] = str(colors_folder)
    at.session_state["backbone"] = "small_cnn"
    at.session_state["strategy"] = "scratch"
    at.run().switch_page("pages/3_train.py").run()
    at.number_input[0].set_value(400)
    _number_input(at, "Early stopping").set_value(0)
    at.button(key="start_training").click().run()
    first = at.session_state.run_dir
    at.button(key="start_training").click().run()  # another while the first trains: it waits in line
    second = at.session_state.run_dir
    assert not at.exception and first != second
    assert any("1 run ahead of it" in i.value for i in at.info)
    at.button(key="stop_training").click().run()  # the waiting one leaves the line at once
    assert any("Stopped" in w.value for w in at.warning)
    assert runs.Run(Path(second)).status == "stopped"

    at.session_state["run_dir"] = first
    deadline = time.time() + 60
    while runs.Run(Path(first)).status != "running" and time.time() < deadline:
        time.sleep(0.2)
    at.run()
    assert at.get("progress")  # the live progress bar of the training run
    at.button(key="stop_training").click().run()
    _wait_for_run(at, 60)
    assert not at.exception
    assert runs.Run(Path(first)).status == "stopped" and any("Stopped" in w.value for w in at.warning)


def test_runs_page_lists_overlays_reruns_and_deletes(colors_folder):
    config = TrainConfig.for_strategy(str(colors_folder), "feature_extract", backbone=TINY, epochs=3, batch_size=8)
    first, second = jobs.submit(config), jobs.submit(dataclasses.replace(config, lr=0.01))
    assert jobs.supervisor().wait_idle(90)
    at = _app().run()
    at.switch_page("pages/6_runs.py").run()
    assert not at.exception
    table = at.dataframe[0].value
    assert list(table["run"]) == [second.id, first.id] and set(table["status"]) == {"finished"}
    at.session_state["runs_table_0"] = {"selection": {"rows": [0, 1], "columns": []}}
    at.run()
    assert len(at.get("plotly_chart")) == 1  # both validation curves on one chart
    # two ticked: the actions stay, on the run picked among them (labelled as everywhere else)
    picker = at.selectbox(key="runs_act_on")
    assert picker.options[0].startswith("Feature extraction · Tiny test backbone · ") and at.button(key="open_run")
    picker.set_value(str(first.dir)).run()
    at.button(key="open_run").click().run()
    assert at.session_state.run_dir == str(first.dir) and not at.exception
    at.switch_page("pages/6_runs.py").run()
    at.session_state["runs_table_0"] = {"selection": {"rows": [0, 1], "columns": []}}
    at.run()
    shown = list(at.dataframe[0].value["best accuracy"])  # in points, so that it reads 98.0% as elsewhere
    assert shown == pytest.approx([runs.describe(run)["best_val_acc"] * 100 for run in (second, first)])
    at.session_state["runs_table_0"] = {"selection": {"rows": [1], "columns": []}}
    at.run()
    assert at.get("download_button")
    at.button(key="rerun_run").click().run()
    assert not at.exception and at.session_state.run_dir not in (first.dir, second.dir)
    again = runs.Run(Path(at.session_state.run_dir))
    assert again.config()["lr"] == first.config()["lr"] and again.config()["seed"] == first.config()["seed"]
    assert jobs.supervisor().wait_idle(90) and again.status == "finished"
    at.switch_page("pages/6_runs.py").run()
    at.session_state["runs_table_0"] = {"selection": {"rows": [2], "columns": []}}
    at.run()
    at.button(key="delete_runs").click().run()
    assert not at.exception and not first.dir.exists() and second.dir.exists()
    assert len(at.dataframe[0].value) == 2


def _compare_page(folder: Path) -> AppTest:
    """The Compare page with ``folder`` loaded and the tiny backbone chosen."""
    at = _app()
    at.session_state["report"] = image_folders.load_dataset(folder)
    at.session_state["data"] = str(folder)
    at.session_state["data_name"] = folder.name
    at.session_state["backbone"] = TINY
    return at.run().switch_page("pages/5_compare.py").run()


def test_compare_page_queues_three_strategies_and_reads_them(colors_folder):
    at = _compare_page(colors_folder)
    for strategy in ("scratch", "feature_extract", "fine_tune"):
        at.number_input(key=f"compare_epochs_{strategy}").set_value(2)
    at.checkbox(key="compare_private").check()  # and feature extraction once more, privately
    at.button(key="start_compare").click().run()
    assert not at.exception
    _wait_for_run(at, 120)
    assert not at.exception
    table = at.dataframe[0].value
    assert list(table["strategy"]) == ["From scratch (baseline)", "Feature extraction",
                                       "Feature extraction, private (ε ≤ 3)", "Fine-tuning"]
    assert list(table["status"]) == ["finished"] * 4 and list(table["backbone"]) == ["Small CNN (from scratch)"] + ["Tiny test backbone"] * 3
    assert table["privacy spent (ε)"][0] == "–" and 0 < float(table["privacy spent (ε)"][2]) <= 3.0
    assert any("Privacy cost" in s.value or "Private feature extraction" in s.value for s in at.success)
    assert at.get("plotly_chart")
    # a handful of validation images: a winner is named only when the difference is beyond their margin
    assert any("Best here:" in s.value or "No clear winner" in s.value for s in at.success)
    assert list(table["time"]) and all(t.endswith(" s") or "when repeated" in t for t in table["time"])
    members = compare.group_runs(paths.runs_dir(), at.session_state.compare_group)
    assert len(members) == 4 and {m.config()["seed"] for m in members} == {0}
    assert {m.config()["val_fraction"] for m in members} == {at.session_state.val_fraction}


def test_compare_draws_the_data_efficiency_curve_and_opens_a_points_results(tmp_path):
    at = _compare_page(make_image_folder(tmp_path / "shapes", {"red": 14, "blue": 14, "green": 14}))
    at.segmented_control(key="compare_mode").set_value("curve").run()
    assert not at.exception
    assert at.multiselect(key="curve_strategies").value == ["scratch", "feature_extract"]  # fine-tuning: opt-in on a CPU
    at.text_input(key="curve_sizes").set_value("2, 5, all").run()
    for strategy in ("scratch", "feature_extract"):
        at.number_input(key=f"curve_epochs_{strategy}").set_value(2)
    at.run()
    estimate = next(c.value for c in at.caption if "in all" in c.value)
    assert estimate.startswith("6 runs (2, 5, all per class") and "About " in estimate
    at.text_input(key="curve_sizes").set_value("2, five").run()
    assert any("'five' is not a number of examples per class" in e.value for e in at.error)
    at.text_input(key="curve_sizes").set_value("2, 5, all").run()
    at.button(key="start_curve").click().run()
    assert not at.exception
    _wait_for_run(at, 180)
    assert not at.exception
    table = at.dataframe[0].value
    assert list(table["per class"]) == ["2", "5", "all"] * 2 and set(table["status"]) == {"finished"}
    assert list(table["strategy"]) == ["Feature extraction"] * 3 + ["From scratch (baseline)"] * 3  # as queued
    assert list(table["training examples"]) == ["6", "15", "33"] * 2  # nested, stratified: 2 and 5 of each of 3 classes
    assert at.get("plotly_chart")
    assert any(s.value.startswith("With 2 per class") for s in at.success)
    group = at.session_state.curve_group
    points = {(p["strategy"], p["per_class"]): p for p in __import__("core.curve").curve.points(paths.runs_dir(), group)}
    assert {runs.Run(Path(p["run_dir"])).summary()["val_images"] for p in points.values()} == {9}  # always the whole split
    small = data.DataReport.from_dict(runs.Run(Path(points["feature_extract", 2]["run_dir"])).data())
    large = data.DataReport.from_dict(runs.Run(Path(points["feature_extract", 5]["run_dir"])).data())
    assert set(small.train) < set(large.train) and small.val == large.val
    assert "time" in table and all(table["time"])
    at.selectbox(key="curve_open_pick").set_value(points["scratch", 5]["run_dir"]).run()
    at.button(key="curve_open").click().run()
    assert at.session_state.run_dir == points["scratch", 5]["run_dir"]


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


def _trained_run(data_path, strategy, backbone, **overrides) -> str:
    from core.train import fit

    return fit(TrainConfig.for_strategy(str(data_path), strategy, backbone=backbone, **overrides))["run_dir"]


def _page_for_run(run_dir: str, page: str) -> AppTest:
    at = _app()
    at.session_state["run_dir"] = run_dir
    at.run().switch_page(page).run()
    assert not at.exception
    return at


def test_predict_page_classifies_an_uploaded_image_and_shows_grad_cam(colors_folder):
    import io

    from tests.helpers import make_image

    at = _page_for_run(_trained_run(colors_folder, "fine_tune", TINY, epochs=3, batch_size=8, lr=0.05),
                       "pages/7_predict.py")
    buffer = io.BytesIO()
    make_image((220, 30, 30), seed=4242, size=70).save(buffer, format="PNG")
    at.get("file_uploader")[0].set_value([("mine.png", buffer.getvalue(), "image/png")]).run()
    assert not at.exception
    assert any(m.value.startswith("**red**") for m in at.markdown)
    assert len(at.get("plotly_chart")) == 1 and len(at.get("image")) == 2  # the photo and its heat map
    broken = [("broken.png", b"not an image", "image/png")]
    at.get("file_uploader")[0].set_value(broken).run()
    assert not at.exception and any("broken.png" in e.value for e in at.error)


def test_predict_page_classifies_typed_text_and_colours_its_words(reviews_csv):
    at = _page_for_run(_trained_run(reviews_csv, "tfidf", "all_minilm_l6_v2"), "pages/7_predict.py")
    at.text_area(key="predict_text").set_value("the movie was awful and dreadful\nsuperb, lovely and nice").run()
    assert not at.exception
    verdicts = [m.value for m in at.markdown if m.value.startswith("**")]
    assert verdicts[0].startswith("**negative**") and verdicts[1].startswith("**positive**")
    assert any("rgba(44, 160, 44" in m.value and "dreadful" in m.value for m in at.markdown)
    assert len(at.get("plotly_chart")) == 2


def test_results_page_explains_exports_and_opens_confusion_cells(colors_folder):
    run_dir = _trained_run(colors_folder, "fine_tune", TINY, epochs=2, batch_size=8, lr=0.05)
    at = _page_for_run(run_dir, "pages/4_results.py")
    assert at.metric[0].delta.startswith("95% CI")
    assert at.selectbox(key="cell_true") and at.selectbox(key="cell_predicted")
    at.selectbox(key="cell_true").set_value(0).run()
    at.selectbox(key="cell_predicted").set_value(0).run()
    assert any("(correct answers)" in m.value for m in at.markdown)  # right below the matrix, not in a tab
    at.button(key="draw_embedding").click().run()
    assert not at.exception and len([c for c in at.get("plotly_chart")]) >= 4  # curves, matrix, two maps
    at.button(key="export_run").click().run()
    assert not at.exception
    assert any(s.value == "The export predicts what the app predicts." for s in at.success)
    assert at.get("download_button") and (Path(run_dir) / "export" / "model.onnx").is_file()
    charts_before = len(at.get("plotly_chart"))
    at.button(key="audit_run").click().run()  # the privacy audit: AUC, words, the two loss distributions
    assert not at.exception
    auc = next(m for m in at.metric if m.label == "Membership attack AUC")
    assert auc.value.endswith("%") and 0 <= float(auc.value[:-1]) <= 100
    assert any("AUC" in box.value for box in list(at.info) + list(at.warning))
    assert len(at.get("plotly_chart")) == charts_before + 1


def test_mistakes_gallery_shows_grad_cam_for_the_predicted_or_the_true_class(tmp_path):
    from tests.helpers import make_image

    for index in range(30):  # labels unrelated to the pictures: plenty of mistakes
        folder = tmp_path / "noise" / ("a" if index % 2 else "b")
        folder.mkdir(parents=True, exist_ok=True)
        make_image((120, 120, 120), seed=index).save(folder / f"{index}.png")
    at = _page_for_run(_trained_run(tmp_path / "noise", "fine_tune", TINY, epochs=2, batch_size=8),
                       "pages/4_results.py")
    thumbnails = len(at.get("image"))
    assert thumbnails > 0
    at.toggle(key="mistakes_gradcam").set_value(True).run()
    assert not at.exception and len(at.get("image")) == thumbnails
    at.radio(key="mistakes_gradcam_class").set_value("true").run()
    assert not at.exception and len(at.get("image")) == thumbnails


def test_a_tfidf_run_exports_from_the_results_page(reviews_csv):
    at = _page_for_run(_trained_run(reviews_csv, "tfidf", "all_minilm_l6_v2"), "pages/4_results.py")
    at.button(key="export_run").click().run()
    assert not at.exception
    assert any(s.value == "The export predicts what the app predicts." for s in at.success)


def test_a_gb18030_upload_reads_as_chinese_the_encoding_can_be_changed_and_minilm_is_warned_about(tmp_path):
    from tests.test_languages import REVIEWS, _csv_text

    encoding, _, rows = REVIEWS["zh"]
    at = _app().run()
    at.switch_page("pages/1_data.py").run()
    at.radio(key="data_source").set_value("upload").run()
    at.get("file_uploader")[0].set_value(("评论.csv", _csv_text(rows).encode(encoding), "text/csv")).run()
    assert not at.exception
    report = at.session_state.report
    assert "这款手机的电池续航非常好，屏幕也很清晰，物流速度快。" in report.texts.values()
    captions = " ".join(c.value for c in at.caption)
    assert "Read as **GB18030 / GBK (Chinese, simplified)**, detected" in captions
    assert "Language: Chinese" in captions and "runs of 1 to 3 characters" in captions
    picker = next(s for s in at.selectbox if s.label == "Encoding of the file")
    picker.set_value("utf_8").run()  # a wrong choice: refused with where it fails, the data stays
    assert any("is not valid UTF-8" in e.value for e in at.error)
    assert at.session_state.report.details["encoding"] == "gb18030"
    next(s for s in at.selectbox if s.label == "Encoding of the file").set_value("cp1251").run()
    assert at.session_state.report.details["encoding_chosen_by"] == "you"  # the person's choice, garbled or not
    assert "这款手机的电池续航非常好，屏幕也很清晰，物流速度快。" not in at.session_state.report.texts.values()
    next(s for s in at.selectbox if s.label == "Encoding of the file").set_value("auto").run()
    assert at.session_state.report.details["encoding_chosen_by"] == "detected"
    assert "这款手机的电池续航非常好，屏幕也很清晰，物流速度快。" in at.session_state.report.texts.values()
    at.session_state["backbone"] = "all_minilm_l6_v2"
    at.switch_page("pages/2_model.py").run()
    assert not at.exception
    assert any("Most of these texts are in Chinese" in w.value and "English" in w.value for w in at.warning)


def test_results_show_the_words_behind_mistakes_for_chinese_texts(tmp_path):
    import random

    from core.train import fit
    from tests.test_languages import _csv_text

    good, bad = ["质量很好", "非常满意", "物流很快", "推荐购买"], ["质量太差", "非常失望", "发货很慢", "不推荐"]
    rng = random.Random(1)
    rows = [("，".join(rng.sample(words, 2)) + "。", label if rng.random() > 0.25 else other)  # some labels wrong
            for label, other, words in (("好评", "差评", good), ("差评", "好评", bad)) for _ in range(15)]
    path = tmp_path / "reviews.csv"
    path.write_bytes(_csv_text(rows).encode("gb18030"))
    summary = fit(TrainConfig.for_strategy(str(path), "tfidf"))
    at = _app()
    at.session_state["run_dir"] = summary["run_dir"]
    at.run()
    at.switch_page("pages/4_results.py").run()
    assert not at.exception
    at.toggle(key="wrong_table_words").set_value(True).run()
    assert not at.exception
    shown = [m.value for m in at.markdown if "<span" in m.value]
    assert shown and any("质</span>" in html or "满</span>" in html or "差</span>" in html for html in shown)
