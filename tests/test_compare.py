"""The plain-words reading of a strategy comparison."""

from core.compare import plan, reading


def _row(strategy, acc, seconds, params=None, status="finished", train_acc=None, epochs=10):
    return {"strategy": strategy, "status": status, "best_val_acc": acc, "seconds": seconds,
            "trainable_params": params, "final_train_acc": train_acc, "epochs": epochs}


def test_reading_states_gains_and_costs_in_points_and_times():
    sentences = reading([_row("scratch", 0.60, 30, 1_200_000), _row("feature_extract", 0.90, 10, 2_570),
                         _row("fine_tune", 0.93, 200, 4_000_000)])
    assert sentences[0].startswith("Feature extraction beat the from-scratch baseline by 30.0 points (90.0% vs 60.0%)")
    assert "training 2,570 parameters instead of 1,200,000" in sentences[0]
    assert sentences[1] == "Fine-tuning gained 3.0 points over feature extraction at 20x the time."
    assert sentences[2] == "Best here: fine-tuning with 93.0% validation accuracy."


def test_reading_when_fine_tuning_loses_or_a_run_did_not_finish():
    sentences = reading([_row("tfidf", 0.97, 3), _row("feature_extract", 0.965, 60),
                         _row("fine_tune", None, None, status="stopped")])
    assert sentences[0] == "Fine-tuning did not finish (stopped), so it is left out."
    assert "are level" in sentences[1] and "TF-IDF baseline" in sentences[1]
    assert sentences[-1] == "Best here: the TF-IDF baseline with 97.0% validation accuracy."
    overfit = reading([_row("feature_extract", 0.95, 10), _row("fine_tune", 0.90, 100, train_acc=1.0)])
    assert overfit[0].startswith("Fine-tuning lost 5.0 points against feature extraction at 10x the time: it fits "
                                 "its training data (100%) far better") and "overfits" in overfit[0]
    early = reading([_row("feature_extract", 0.92, 30), _row("fine_tune", 0.60, 95, train_acc=0.55, epochs=1)])
    assert early[0].endswith("after 1 epoch it is still learning (training accuracy 55%); give it more epochs "
                             "to see whether it catches up.")
    suited = reading([_row("feature_extract", 0.95, 10), _row("fine_tune", 0.93, 100, train_acc=0.97)])
    assert suited[0].endswith("the pretrained features suit this data as they are; feature extraction is the "
                              "better deal here.")
    assert reading([_row("feature_extract", 0.9, 1, status="running")]) == []


def test_plan_shares_split_and_seed_and_picks_each_baseline(colors_folder, reviews_csv):
    images = plan(str(colors_folder), "tiny_test", {"scratch": 3, "fine_tune": 2}, val_fraction=0.3)
    assert [(c.strategy, c.backbone, c.epochs) for c in images] == [
        ("scratch", "small_cnn", 3), ("feature_extract", "tiny_test", 25), ("fine_tune", "tiny_test", 2)]
    assert {c.val_fraction for c in images} == {0.3} and {c.seed for c in images} == {0}
    assert len({c.group for c in images}) == 1 and images[0].group.startswith("compare-")
    texts = plan(str(reviews_csv), "all_minilm_l6_v2")
    assert [c.strategy for c in texts] == ["tfidf", "feature_extract", "fine_tune"]
