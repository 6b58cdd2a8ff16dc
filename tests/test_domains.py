"""Domain adaptation on tiny synthetic shifts: a target whose colours are all moved by the same
amount, so that a head trained on the source alone calls every target image one class."""

from pathlib import Path

import dataclasses
import json

import numpy as np
import pytest

from core import adaptation, backbones, inference, strategies
from core.data import domains
from core.config import TrainConfig
from core.errors import UserError
from core.train import fit
from tests.helpers import TINY, TINY_BERT, make_image, make_image_folder

SHIFT = np.array([-150, 0, 150])  # red squares turn purple-blue, blue ones stay blue


def _shifted_folder(root: Path, counts: dict[str, int], labelled: bool = True) -> Path:
    base = {"red": (220, 30, 30), "blue": (30, 30, 220)}
    for name, count in counts.items():
        folder = root / name if labelled else root
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(count):
            color = tuple(int(c) for c in np.clip(np.array(base[name]) + SHIFT, 0, 255))
            make_image(color, seed=1000 + i + (0 if name == "red" else 500)).save(folder / f"{name}_{i:03d}.png")
    return root


@pytest.fixture
def source(tmp_path):
    return make_image_folder(tmp_path / "source", {"red": 20, "blue": 20})


@pytest.fixture
def target(tmp_path):
    return _shifted_folder(tmp_path / "target", {"red": 15, "blue": 15})


def _train(source, target, adapt, **overrides):
    config = TrainConfig.for_strategy(str(source), "feature_extract", backbone=TINY, target=str(target), adapt=adapt,
                                      epochs=30, batch_size=8, lr=0.05, patience=0, seed=0, **overrides)
    return fit(config)


def test_alignment_beats_no_adaptation_on_a_shifted_target(source, target):
    plain = _train(source, target, "none")
    assert plain["adapt"] == "none" and plain["best_val_acc"] == 1.0
    assert plain["target_acc"] <= 0.6  # the source's head calls most target squares blue
    assert plain["domain_gap"] > 0.7  # and a classifier tells the domains apart (blue squares look alike in both)
    for method in ("standardize", "coral"):
        adapted = _train(source, target, method)
        assert adapted["adapt"] == method
        assert adapted["target_acc"] >= plain["target_acc"] + 0.3, method
        assert adapted["target_acc_without"] == pytest.approx(plain["target_acc"], abs=0.1)
        assert adapted["domain_gap_after"] < adapted["domain_gap"]
        # the saved model (pretrained backbone + folded head) reads raw target images: what ships is what scored
        assert inference.score_target(adapted["run_dir"], domains.load_target(str(target), _report(source))) == \
            pytest.approx(adapted["target_acc"], abs=1e-6)


def _report(source):
    from core import data

    return data.load_dataset(str(source))


def test_auto_measures_every_method_and_unlabelled_targets_still_adapt(source, tmp_path):
    unlabelled = _shifted_folder(tmp_path / "photos", {"red": 10, "blue": 10}, labelled=False)
    summary = _train(source, unlabelled, "auto")
    assert summary["adapt_auto"] and summary["target_acc"] is None
    assert set(summary["adapt_scores"]) == {"none", "standardize", "coral", "subspace"}
    assert summary["adapt"] in summary["adapt_scores"] and summary["adapt_reason"]
    events = [json.loads(line) for line in (Path(summary["run_dir"]) / "events.jsonl").read_text().splitlines()]
    assert any(e["kind"] == "notice" and e["message"] == summary["adapt_reason"] for e in events)  # said live
    assert summary["target_items"] == 20 and summary["target_labelled"] is False
    predictions = inference.load(summary["run_dir"]).predict_images(
        [__import__("PIL.Image", fromlist=["Image"]).open(p).convert("RGB") for p in sorted(unlabelled.glob("red_*"))])
    assert (predictions.argmax(1) == 1).mean() >= 0.8  # "red" is class 1 (blue, red sorted)


def test_fine_tuning_with_a_target_trains_on_the_source_and_scores_on_the_target(source, target):
    config = TrainConfig.for_strategy(str(source), "fine_tune", backbone=TINY, target=str(target), epochs=2,
                                      batch_size=8)
    assert config.adapt == "auto"
    summary = fit(config)  # auto for a network: DANN and AdaBN would mean training again; not tried, and said so
    assert summary["adapt"] == "none" and summary["adapt_auto"] and 0.0 <= summary["target_acc"] <= 1.0
    assert "dann" in summary["adapt_untried"] and "were not tried" in summary["adapt_reason"]
    forced = fit(dataclasses.replace(config, adapt="dann"))
    assert forced["adapt"] == "dann" and 0.0 <= forced["target_acc"] <= 1.0  # scored on the target all the same


def test_bad_targets_and_methods_are_refused_with_the_reason(source, tmp_path):
    other = make_image_folder(tmp_path / "other", {"green": 5, "red": 5})
    with pytest.raises(UserError, match="class.*the training data does not: 'green'"):
        domains.load_target(str(other), _report(source))
    with pytest.raises(UserError, match="needs a target dataset"):
        TrainConfig.for_strategy(str(source), "feature_extract", backbone=TINY, adapt="coral")
    with pytest.raises(UserError, match="does not work with fine-tuning"):
        TrainConfig.for_strategy(str(source), "fine_tune", backbone=TINY, target=str(tmp_path), adapt="coral")
    with pytest.raises(UserError, match="holds texts but the training data holds images"):
        domains.load_target(str(tmp_path / "x.csv"), _report(source))


def test_fold_puts_the_map_inside_the_head():
    import torch

    from core.backbones.models import Head

    rng = np.random.default_rng(0)
    source, target = rng.normal(size=(50, 6)), rng.normal(size=(40, 6)) * 3 + 2
    for method in (m for m in adaptation.all_methods() if m.level == "features"):
        _, target_map = method.maps(source, target)
        head = Head(target_map.out_dim, 3)
        folded = Head(6, 3)
        folded.load_state_dict(adaptation.fold(head, target_map))
        x = torch.from_numpy(target).float()
        assert torch.allclose(folded(x), head(torch.from_numpy(target_map(target)).float()), atol=1e-4), method.name


def test_the_pages_take_a_target_from_data_to_results(source, target):
    """Data: load a target by path, measure the gap; Model: pick the adaptation; Train; Results: the
    target accuracy beside the same head without adaptation."""
    from streamlit.testing.v1 import AppTest

    from core import jobs
    from core.data import image_folders

    at = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "app.py"), default_timeout=60)
    at.session_state["report"] = image_folders.load_dataset(source)
    at.session_state["data"] = str(source)
    at.session_state["backbone"] = TINY
    at.run().switch_page("pages/1_data.py").run()
    at.radio(key="target_source_kind").set_value("path").run()
    at.text_input(key="target_path").input(str(target)).run()
    at.button(key="load_target_path").click().run()
    assert not at.exception and at.session_state.target.labelled
    shown = {m.label: m.value for m in at.metric}
    assert shown["Target images"] == "30" and shown["Labels"] == "2 of 2 classes"
    at.button(key="measure_gap").click().run()
    assert not at.exception
    assert any(e.value.startswith("Domain gap: the two domains") for e in [*at.info, *at.warning])

    at.switch_page("pages/2_model.py").run()  # the features are cached (the gap): auto's choice is measured at once
    assert not at.exception
    choice = at.session_state.adapt_choice[1]
    assert set(choice.scores) == {"none", "standardize", "coral", "subspace"}
    assert at.radio(key="adapt_radio").options[0].startswith("Chosen by measurement (now: ")
    assert any(str(choice.reason) == e.value for e in [*at.success, *at.info])
    radio = at.radio(key="adapt_radio")
    radio.set_value("coral").run()  # a person can still force any method
    assert at.session_state.adapt == "coral"

    at.switch_page("pages/3_train.py").run()
    assert any("adaptation: **CORAL" in c.value for c in at.caption)
    at.number_input[0].set_value(30)  # epochs
    next(w for w in at.number_input if w.label.startswith("Learning rate")).set_value(0.05)
    next(w for w in at.number_input if w.label.startswith("Batch size")).set_value(8)
    at.button(key="start_training").click().run()
    assert not at.exception
    assert jobs.supervisor().wait_idle(90)
    at.switch_page("pages/4_results.py").run()
    assert not at.exception
    trade_off = next(frame.value for frame in at.dataframe if "target accuracy" in frame.value.columns)
    assert list(trade_off["how it was trained"]) == ["without adaptation", "with CORAL"]
    assert all(value.endswith("%") for value in trade_off["source validation accuracy"])  # with and without
    accuracy = [float(value.rstrip("%")) for value in trade_off["target accuracy"]]
    assert accuracy[1] > accuracy[0]
    assert any(s.value.startswith("Adapting raised target accuracy") for s in at.success)
    charts = len(at.get("plotly_chart"))
    at.button(key="draw_domains").click().run()
    assert not at.exception and len(at.get("plotly_chart")) == charts + 2
    assert any(c.value.startswith("Domain gap (a classifier telling the two apart") for c in at.caption)


def test_coral_matches_skada_and_stays_finite_on_low_rank_features():
    from skada import CORALAdapter

    rng = np.random.default_rng(0)
    source, target = rng.normal(size=(300, 16)), rng.normal(size=(250, 16)) @ rng.normal(size=(16, 16)) + 1
    source_map, target_map = adaptation.get("coral").maps(source, target)
    rows, domains_ = np.concatenate([source, target]), np.r_[np.ones(300, int), -np.ones(250, int)]
    reference = CORALAdapter().fit(rows, sample_domain=domains_).transform(rows, sample_domain=domains_,
                                                                          allow_source=True)
    assert np.allclose(reference[:300], source_map(source)) and np.allclose(reference[300:], target_map(target))
    # unit-length embeddings in a low-rank subspace (as sentence encoders give): eigenvalues at the noise floor
    low_rank = rng.normal(size=(200, 4)) @ rng.normal(size=(4, 32))
    low_rank /= np.linalg.norm(low_rank, axis=1, keepdims=True)
    source_map, _ = adaptation.get("coral").maps(low_rank[:100], low_rank[100:] * 0.5 + 0.1)
    assert np.isfinite(source_map(low_rank[:100])).all()


def _train_network(source, target, adapt, seed=0, **overrides):
    values = dict(backbone="small_cnn", target=str(target), adapt=adapt, epochs=10, batch_size=8, lr=0.001,
                  patience=0, seed=seed, **overrides)
    return fit(TrainConfig.for_strategy(str(source), "scratch", **values))


def test_adabn_reestimates_batchnorm_on_the_target(source, target):
    summary = _train_network(source, target, "adabn")
    assert summary["adapt"] == "adabn" and summary["target_acc_without"] <= 0.6
    assert summary["target_acc"] >= summary["target_acc_without"] + 0.3
    # the run keeps the target's statistics: what ships is what was scored
    assert inference.score_target(summary["run_dir"], domains.load_target(str(target), _report(source))) == \
        pytest.approx(summary["target_acc"], abs=1e-6)
    usable = lambda strategy, backbone: [m.name for m in adaptation.for_strategy(strategies.get(strategy),  # noqa
                                                                               backbones.get(backbone))]
    assert "adabn" in usable("scratch", "small_cnn") and "adabn" not in usable("scratch", TINY_BERT)  # LayerNorm
    assert "adabn" not in usable("fine_tune", "efficientnet_lite0")  # its BatchNorm keeps ImageNet's statistics


def test_dann_trains_checkpoints_its_domain_classifier_and_resumes(source, target):
    from core import runs

    config = TrainConfig.for_strategy(str(source), "scratch", backbone="small_cnn", target=str(target), adapt="dann",
                                      epochs=3, batch_size=8, lr=0.001, patience=0)
    epochs_seen = []
    stopped = fit(config, on_event=lambda e: epochs_seen.append(e["epoch"]) if e["kind"] == "epoch" else None,
                  should_stop=lambda: bool(epochs_seen))
    assert stopped["status"] == "stopped"
    run = runs.Run(Path(stopped["run_dir"]))
    checkpoint = run.load_checkpoint()
    assert set(checkpoint["extras"]) == {"domain_classifier"} and checkpoint["epoch"] == 1
    resumed = fit(config, run=run, resume=True)
    assert resumed["status"] == "finished" and resumed["adapt"] == "dann" and resumed["epochs"] == 3
    assert 0.0 <= resumed["target_acc"] <= 1.0 and 0.0 <= resumed["domain_gap_after"] <= 1.0
    events = [json.loads(line) for line in (run.dir / "events.jsonl").read_text().splitlines()]
    assert all(e["train_loss"] < 5 for e in events if e["kind"] == "epoch")  # the labels' loss is what is shown


def test_gradient_reversal_flips_and_scales_the_gradient():
    import torch

    from core.adaptation.dann import reverse_gradient

    features = torch.ones(3, requires_grad=True)
    (reverse_gradient(features, 0.5) * torch.tensor([1.0, 2.0, 3.0])).sum().backward()
    assert torch.equal(features.grad, torch.tensor([-0.5, -1.0, -1.5]))


def test_text_targets_labelled_under_other_column_names_or_unlabelled(reviews_csv, tmp_path):
    import csv

    from core import data
    from tests.helpers import make_text_rows

    report = data.load_dataset(str(reviews_csv))
    rows = make_text_rows(10, seed=7)
    renamed = tmp_path / "other.csv"
    with open(renamed, "w", newline="", encoding="gb18030") as handle:  # other names, another encoding
        csv.writer(handle).writerows([["opinion", "verdict"], *[(f"{text} 真的", label) for text, label in rows]])
    labelled = domains.load_target(str(renamed), report)
    assert labelled.labelled and len(labelled.items) == 20
    assert sorted({report.classes[label] for _, label in labelled.items}) == ["negative", "positive"]
    assert next(iter(labelled.report.texts.values())).endswith("真的")

    only_texts = tmp_path / "texts.csv"
    with open(only_texts, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([["message"], *[[text] for text, _ in rows]])
    unlabelled = domains.load_target(str(only_texts), report)
    assert not unlabelled.labelled and len(unlabelled.items) == 20
    summary = fit(TrainConfig.for_strategy(str(reviews_csv), "feature_extract", backbone=TINY_BERT,
                                           target=str(only_texts), epochs=3))
    assert summary["adapt_auto"] and summary["adapt"] in summary["adapt_scores"] and summary["target_acc"] is None
    # DANN for texts: token batches of both domains through the encoder, the domain classifier on top
    tuned = fit(TrainConfig.for_strategy(str(reviews_csv), "fine_tune", backbone=TINY_BERT, target=str(renamed),
                                         adapt="dann", epochs=2, batch_size=8))
    assert tuned["status"] == "finished" and tuned["adapt"] == "dann" and 0.0 <= tuned["target_acc"] <= 1.0


def test_an_adapted_run_exports_and_the_card_names_its_target(source, target, tmp_path):
    from core.inference.export import export_run

    summary = _train(source, target, "coral")
    result = export_run(summary["run_dir"], tmp_path / "export")
    assert result["parity"]["passed"] and result["parity"]["labels_agree"]
    card = (tmp_path / "export" / "README.md").read_text()
    assert "Where it will be used (the target)" in card and "Adapted to it with CORAL (match the correlations)" in card
    assert f"Target accuracy {summary['target_acc']:.1%} (without adaptation" in card


def test_compare_scores_every_run_on_the_target_and_adds_the_adapted_twin(source, target):
    from core import compare

    configs = compare.plan(str(source), TINY, target=str(target))
    assert [(c.strategy, c.adapt) for c in configs] == [("scratch", "none"), ("feature_extract", "none"),
                                                        ("feature_extract", "auto"), ("fine_tune", "none")]
    assert all(c.target == str(target) for c in configs) and len({c.group for c in configs}) == 1
    row = {"status": "finished", "best_val_acc": 0.9, "seconds": 1.0, "trainable_params": 10, "target": str(target)}
    rows = [{**row, "strategy": "scratch", "adapt": "none", "target_acc": 0.40},
            {**row, "strategy": "feature_extract", "adapt": "none", "target_acc": 0.50},
            {**row, "strategy": "feature_extract", "adapt": "coral", "target_acc": 0.75},
            {**row, "strategy": "fine_tune", "adapt": "none", "target_acc": 0.55}]
    sentences = compare.reading(rows)
    assert "On the target, without adaptation: the from-scratch baseline 40.0%, feature extraction 50.0%, " \
           "and fine-tuning 55.0%; fine-tuning travels best." in sentences
    assert "Adapting feature extraction to the target (CORAL) raised its target accuracy " \
           "by 25.0 points (50.0% → 75.0%)." in sentences
    # auto measured and kept no adaptation: its run does not stand in for the plain one, and it is said
    rows[2] = {**row, "strategy": "feature_extract", "adapt": "none", "adapt_auto": True, "target_acc": 0.50}
    sentences = compare.reading(rows)
    assert any(s.startswith("On the target, without adaptation: the from-scratch baseline 40.0%, feature extraction "
                            "50.0%") for s in sentences)
    assert "Measured without the target's labels, no adaptation method was clearly better for feature extraction " \
           "on this target, so its adapted run trained without one." in sentences
    # a forced method that lowered target accuracy: by how much
    rows[2] = {**row, "strategy": "feature_extract", "adapt": "coral", "target_acc": 0.30, "val_images": 400}
    assert any(s.startswith("Adapting feature extraction to the target (CORAL) lowered its target accuracy by 20.0 "
                            "points") for s in compare.reading(rows))


def test_a_target_with_one_class_is_scored(source, tmp_path):
    only_red = _shifted_folder(tmp_path / "only_red", {"red": 8})
    target = domains.load_target(str(only_red), _report(source))
    assert target.labelled and {label for _, label in target.items} == {_report(source).classes.index("red")}
    summary = _train(source, only_red, "coral")
    assert summary["target_acc"] is not None and summary["target_items"] == 8


def test_the_methods_auto_did_not_try_are_named_in_the_readers_language():
    from core import i18n
    from core.adaptation.end_to_end import _named
    from core.i18n import Text

    named = Text.from_json(__import__("json").loads(__import__("json").dumps(_named(["adabn", "dann"]).to_json())))
    assert str(named) == "AdaBN and DANN"  # carried through a run's events, then read
    with i18n.language("zh_CN"):
        assert str(named) == "AdaBN 和 DANN"  # Latin names spaced from Chinese, as it is typeset


def test_a_bundled_target_is_named_in_plain_text_that_a_run_can_keep(isolated_home):
    """The sample target is called by its name (not "mnist-m"), as plain text: it goes into a run's events (JSON)
    and onto the page's metrics, where a lazy sentence object was refused."""
    import json

    from core.data import load_dataset
    from core.data.domains import load_target

    report = load_dataset("sample:mnist")
    target = load_target("sample:mnist-m", report)
    assert type(target.name) is str and target.name == "Digits on photos (MNIST-M style)"
    json.dumps({"name": target.name})


def test_both_domains_are_drawn_for_a_run_whose_adaptation_was_chosen_by_measurement(source, target):
    """The Results page's map of both domains applies the method auto chose (the config says "auto")."""
    from core import embeddings
    from core.inference import load

    summary = _train(source, target, "auto")
    assert summary["adapt"] != "auto"
    drawn = embeddings.domain_map(load(summary["run_dir"]))
    assert drawn["adapt"] == summary["adapt"] and len(drawn["after"]) == len(drawn["domains"])
