"""Domain adaptation chosen by measurement, without the target's labels (core/adaptation/choose.py)."""

from __future__ import annotations

import numpy as np
import pytest

from core import adaptation
from core.adaptation import choose
from core.adaptation.scoring import SoftmaxHead

METHODS = ["standardize", "coral", "subspace"]


def gained_and_shifted(seed: int, classes: int = 4, dims: int = 200, target: int = 40):
    """Correlated features whose classes differ a little in every feature; the target multiplies each feature
    by its own gain and shifts it (as another camera's sensor would), and has only 40 examples: too few for
    CORAL's 200x200 covariance, plenty for a mean and a spread per feature."""
    rng = np.random.default_rng(seed)
    means = rng.normal(0, 0.15, (classes, dims))
    mix = np.linalg.qr(rng.normal(size=(dims, dims)))[0] * np.linspace(2, 0.3, dims)

    def draw(per: int, gain, offset):
        labels = np.repeat(np.arange(classes), per)
        return (means[labels] + rng.normal(0, 1, (len(labels), dims)) @ mix) * gain + offset, labels

    return draw(40, 1, 0), draw(20, 1, 0), draw(target // classes, np.exp(rng.normal(0, 0.5, dims)),
                                               rng.normal(0, 0.3, dims))


def same_domain(seed: int, classes: int = 3, dims: int = 32):
    """No shift at all: the target is more of the same."""
    rng = np.random.default_rng(seed)
    means = rng.normal(0, 1, (classes, dims))

    def draw(per: int):
        labels = np.repeat(np.arange(classes), per)
        return means[labels] + rng.normal(0, 1, (len(labels), dims)), labels

    return draw(60), draw(30), draw(60)


def target_accuracy(method: str, train, target) -> float:
    """What the target's labels say (the test knows them; the choice never sees them)."""
    source_map, target_map = adaptation.get(method).maps(train[0], target[0])
    head = SoftmaxHead().fit(source_map(train[0]), train[1])
    return float((head.predict(target_map(target[0])) == target[1]).mean())


def test_where_coral_hurts_and_standardisation_helps_auto_picks_standardisation():
    train, val, target = gained_and_shifted(seed=0)
    truth = {method: target_accuracy(method, train, target) for method in ("none", "standardize", "coral")}
    assert truth["coral"] < truth["none"] < truth["standardize"] - 0.05   # the shift is what the test says

    choice = choose.measure(*train, *val, target[0], METHODS)
    assert choice.chosen == "standardize"
    assert choice.expected["standardize"] == "help"
    assert set(choice.scores) == {"none", *METHODS}
    assert all({"circular", "mixval", "source_val"} <= set(scores) for scores in choice.scores.values())
    assert "Per-domain standardisation was chosen by measurement" in str(choice.reason)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_where_nothing_helps_auto_keeps_no_adaptation(seed):
    train, val, target = same_domain(seed)
    choice = choose.measure(*train, *val, target[0], METHODS)
    assert choice.chosen == "none"
    assert str(choice.reason).startswith("No adaptation: no method was clearly better than none")
    assert "standardize" in choice.scores and "help" not in choice.expected.values()


def test_a_target_too_small_to_measure_is_not_adapted_and_says_why():
    train, val, target = gained_and_shifted(seed=0)
    choice = choose.measure(*train, *val, target[0][:8], METHODS)
    assert choice.chosen == "none" and choice.scores == {}
    assert "too few to measure" in str(choice.reason)


def test_the_summary_keeps_every_score_and_the_reason_in_both_languages():
    from core import i18n

    train, val, target = gained_and_shifted(seed=0)
    summary = choose.measure(*train, *val, target[0], METHODS).summary()
    assert summary["adapt_auto"] is True and set(summary["adapt_scores"]) == {"none", *METHODS}
    assert 0 <= summary["adapt_scores"]["none"]["circular"] <= 1
    assert summary["adapt_reason"].startswith("Per-domain standardisation was chosen")
    with i18n.language("zh_CN"):
        assert "标准化" in i18n.render(summary["adapt_reason_text"])


def test_a_choice_is_measured_once_and_remembered_for_the_same_features(tmp_path):
    train, val, target = gained_and_shifted(seed=0)
    first = choose.remembered(tmp_path, *train, *val, target[0], METHODS)
    again = choose.remembered(tmp_path, *train, *val, target[0], METHODS)
    assert not first.remembered and again.remembered
    assert (again.chosen, again.scores, again.expected, str(again.reason)) == \
        (first.chosen, first.scores, first.expected, str(first.reason))
    other = choose.remembered(tmp_path, *train, *val, target[0][::-1].copy(), METHODS)  # other features: measured
    assert not other.remembered
    for damaged in (tmp_path / "adaptation").glob("*.json"):
        damaged.write_text("{")
    assert not choose.remembered(tmp_path, *train, *val, target[0], METHODS).remembered  # measured again
