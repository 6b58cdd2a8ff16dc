"""The plain-words reading of a strategy comparison."""

from core import costs
from core.compare import plan, reading, versus


def _row(strategy, acc, seconds, params=None, status="finished", train_acc=None, epochs=10, val_images=1000, **more):
    return {"strategy": strategy, "status": status, "best_val_acc": acc, "seconds": seconds,
            "trainable_params": params, "final_train_acc": train_acc, "epochs": epochs, "val_images": val_images,
            **more}


def test_reading_states_gains_and_costs_in_points_and_times():
    sentences = reading([_row("scratch", 0.60, 30, 1_200_000), _row("feature_extract", 0.90, 10, 2_570),
                         _row("fine_tune", 0.93, 200, 4_000_000)])
    assert sentences[0].startswith("Feature extraction beat the from-scratch baseline by 30.0 points (90.0% vs 60.0%)")
    assert "training 2,570 parameters instead of 1,200,000" in sentences[0]
    assert sentences[1] == ("Fine-tuning gained 3.0 points over feature extraction. Time: fine-tuning took 20x as "
                            "long as feature extraction (3 min 20 s; feature extraction: 10 s).")
    assert sentences[2] == "Best here: fine-tuning with 93.0% validation accuracy."


def test_reading_when_fine_tuning_loses_or_a_run_did_not_finish():
    sentences = reading([_row("tfidf", 0.97, 3), _row("feature_extract", 0.965, 60),
                         _row("fine_tune", None, None, status="stopped")])
    assert sentences[0] == "Fine-tuning did not finish (stopped), so it is left out."
    assert "are about the same" in sentences[1] and "TF-IDF baseline" in sentences[1]
    assert "within what 1,000 validation examples can tell apart" in sentences[1]
    assert sentences[-1].startswith("No clear winner: the TF-IDF baseline and feature extraction are about the same "
                                    "(97.0% and 96.5%)")
    assert sentences[-1].endswith("the TF-IDF baseline costs the least (3.0 s).")
    overfit = reading([_row("feature_extract", 0.95, 10), _row("fine_tune", 0.90, 100, train_acc=1.0)])
    assert overfit[0].startswith("Fine-tuning lost 5.0 points against feature extraction: it fits "
                                 "its training data (100%) far better") and "overfits" in overfit[0]
    assert overfit[0].endswith(" Time: fine-tuning took 10x as long as feature extraction (1 min 40 s; feature "
                               "extraction: 10 s).")
    early = reading([_row("feature_extract", 0.92, 30), _row("fine_tune", 0.60, 95, train_acc=0.55, epochs=1)])
    assert ("after 1 epoch it is still learning (training accuracy 55%); give it more epochs "
            "to see whether it catches up.") in early[0]
    suited = reading([_row("feature_extract", 0.95, 10), _row("fine_tune", 0.90, 100, train_acc=0.97)])
    assert ("the pretrained features suit this data as they are; feature extraction is the "
            "better deal here.") in suited[0]
    assert reading([_row("feature_extract", 0.9, 1, status="running")]) == []


def test_plan_shares_split_and_seed_and_picks_each_baseline(colors_folder, reviews_csv):
    images = plan(str(colors_folder), "tiny_test", {"scratch": 3, "fine_tune": 2}, val_fraction=0.3)
    assert [(c.strategy, c.backbone, c.epochs) for c in images] == [
        ("scratch", "small_cnn", 3), ("feature_extract", "tiny_test", 25), ("fine_tune", "tiny_test", 2)]
    assert {c.val_fraction for c in images} == {0.3} and {c.seed for c in images} == {0}
    assert len({c.group for c in images}) == 1 and images[0].group.startswith("compare-")
    texts = plan(str(reviews_csv), "all_minilm_l6_v2")
    assert [c.strategy for c in texts] == ["tfidf", "feature_extract", "fine_tune"]


def test_a_cached_feature_pass_is_not_counted_as_free():
    """The tour's case: feature extraction read its features from the cache (1.2 s) but took 37 s the first time."""
    cached = _row("feature_extract", 0.93, 1.2, cache_hit=True, feature_pass_seconds=0.1,
                  feature_pass_first_seconds=36.0, first_time_seconds=37.1, repeat_seconds=1.2)
    sentences = reading([_row("scratch", 0.80, 60), cached, _row("fine_tune", 0.98, 685)])
    tuned = next(s for s in sentences if s.startswith("Fine-tuning gained"))
    assert ("took 18x as long as feature extraction (11 min 25 s; feature extraction: 37 s the first time, 1.2 s when "
            "repeated)") in tuned
    assert "571x" not in " ".join(sentences)
    assert costs.of(cached).words(short=True) == "37 s (1.2 s repeated)"  # a table cell
    assert costs.of(_row("fine_tune", 0.98, 685)).words() == "11 min 25 s"  # no feature pass: one time
    old = _row("feature_extract", 0.93, 1.2, cache_hit=True, feature_seconds=0.1)  # before the ledger
    assert costs.of(old).words() == "1.2 s (features from the cache; their first pass was not recorded)"


def test_a_tie_within_the_validation_sets_margin_is_about_the_same():
    sentences = reading([_row("scratch", 0.98, 300, val_images=200), _row("feature_extract", 0.98, 40, val_images=200),
                         _row("fine_tune", 0.975, 900, val_images=200)])
    assert not any(s.startswith("Best here") for s in sentences)
    assert sentences[-1].startswith("No clear winner: the from-scratch baseline, feature extraction, and fine-tuning "
                                    "are about the same (98.0%, 98.0%, and 97.5%)")
    assert sentences[-1].endswith("feature extraction costs the least (40 s).")
    # the same gap on 20,000 examples is a real one
    assert reading([_row("feature_extract", 0.95, 40, val_images=20_000),
                    _row("fine_tune", 0.96, 90, val_images=20_000)])[0].startswith("Fine-tuning gained 1.0 points")


def test_paired_comparison_reads_the_runs_predictions(tmp_path):
    """Same split: the examples where exactly one run is right decide; identical answers are a tie."""
    import json

    def run_dir(name, right):
        folder = tmp_path / name
        folder.mkdir()
        (folder / "predictions.json").write_text(json.dumps(
            [{"item": f"x{i}", "label": 0, "predicted": 0 if ok else 1} for i, ok in enumerate(right)]))
        return str(folder)

    answers = [True] * 180 + [False] * 20
    same = [_row("feature_extract", 0.9, 10, val_images=200, dir=run_dir("a", answers)),
            _row("fine_tune", 0.9, 90, val_images=200, dir=run_dir("b", answers))]
    difference, low, high = versus(same[1], same[0])
    assert difference == 0 and -1.5 < low < 0 < high < 1.5  # identical answers: a tie, and a narrow interval
    better = [True] * 195 + [False] * 5  # right on 15 more, wrong on none it had right
    difference, low, high = versus(_row("fine_tune", 0.975, 90, val_images=200, dir=run_dir("c", better)), same[0])
    assert difference == 7.5 and low > 0  # paired: significant, where two unpaired 200-example intervals overlap less
