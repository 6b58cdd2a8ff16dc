"""core/config.py: TrainConfig's defaults, its dict/JSON round trip, validation and per-strategy recipes.

No data is read: a config only looks at the data's name (its suffix says images or texts)."""

from __future__ import annotations

import dataclasses
import json

import pytest

from core import strategies
from core.config import MAX_LR, TrainConfig
from core.errors import UserError

IMAGES, TEXTS = "some/folder", "reviews.csv"   # modality_of: a folder is images, a .csv texts


def _problem(**values) -> str:
    """The message of the UserError that validating a config with ``values`` raises."""
    with pytest.raises(UserError) as caught:
        TrainConfig(**{"data": IMAGES, **values}).validated()
    return caught.value.message


# -- defaults -------------------------------------------------------------------------------------
def test_defaults_are_the_documented_recipe_and_the_folders_follow_the_workspace(isolated_home, monkeypatch):
    config = TrainConfig(data=IMAGES)
    assert (config.strategy, config.epochs, config.batch_size, config.optimizer) == ("feature_extract", 25, 32, "adamw")
    assert (config.lr, config.scheduler, config.patience, config.seed, config.val_fraction) == (1e-3, "none", 5, 0, 0.2)
    assert config.adapt == "none" and config.target is None and config.dp_epsilon is None and config.device == "auto"
    assert config.out_dir == str(isolated_home.resolve() / "runs")
    assert config.cache_dir == str(isolated_home.resolve() / "cache")
    assert config.validated() is config  # a valid config is returned as it is
    # the folders are read when a config is made, not when the module was imported
    monkeypatch.setenv("TRANSFERLAB_RUNS", str(isolated_home / "elsewhere"))
    assert TrainConfig(data=IMAGES).out_dir == str((isolated_home / "elsewhere").resolve())


# -- round trip -----------------------------------------------------------------------------------
def _unusual() -> TrainConfig:
    return TrainConfig(data=TEXTS, backbone="tiny_bert_test", strategy="fine_tune", epochs=7, batch_size=12,
                       optimizer="sgd", lr=0.02, momentum=0.5, scheduler="linear", warmup_fraction=0.25,
                       text_column="review", label_column="sentiment", encoding="utf-8", max_length=64,
                       micro_batch_size=4, patience=0, per_class=5, seed=42, group="g1", device="cpu",
                       out_dir="/tmp/out", cache_dir="/tmp/cache").validated()


def test_to_dict_and_from_dict_round_trip_every_field():
    config = _unusual()
    values = config.to_dict()
    assert set(values) == {f.name for f in dataclasses.fields(TrainConfig)}
    assert values["lr"] == 0.02 and values["text_column"] == "review" and values["per_class"] == 5
    assert TrainConfig.from_dict(values) == config
    assert TrainConfig.from_dict(json.loads(config.to_json())) == config  # through JSON too


def test_load_reads_the_config_a_run_folder_keeps(tmp_path):
    config = _unusual()
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"config": config.to_dict(), "versions": {"torch": "x"}}))
    assert TrainConfig.load(path) == config


def test_unknown_keys_are_refused_by_name_with_a_hint():
    values = {**TrainConfig(data=IMAGES).to_dict(), "learning_rate": 0.1, "epoch": 3}
    with pytest.raises(UserError) as caught:
        TrainConfig.from_dict(values)
    assert caught.value.message == "Unknown config keys: epoch, learning_rate."
    assert caught.value.hint == "Remove them or check the spelling."


def test_from_dict_validates_the_values_it_reads():
    with pytest.raises(UserError, match="epochs must be a whole number from 1 to 1000"):
        TrainConfig.from_dict({"data": IMAGES, "epochs": 0})


# -- validation -----------------------------------------------------------------------------------
BAD = [
    ({"strategy": "magic"}, "strategy must be one of feature_extract, fine_tune"),
    ({"epochs": 0}, "epochs must be a whole number from 1 to 1000"),
    ({"epochs": 1001}, "epochs must be a whole number from 1 to 1000"),
    ({"epochs": 2.5}, "epochs must be a whole number from 1 to 1000"),
    ({"batch_size": 0}, "batch size must be from 1 to 4096"),
    ({"batch_size": 5000}, "batch size must be from 1 to 4096"),
    ({"optimizer": "adam"}, "optimizer must be adamw or sgd"),
    ({"lr": 0.0}, "learning rate must be above 0"),
    ({"lr": -1e-3}, "learning rate must be above 0"),
    ({"lr": 50.0}, "learning rate 50 is far too high"),
    ({"lr": float("nan")}, "learning rate must be above 0"),
    ({"head_lr_multiplier": 0}, "head learning-rate multiplier must be above 0"),
    ({"momentum": 1.0}, "momentum must be in [0, 1)"),
    ({"weight_decay": -0.1}, "weight decay cannot be negative"),
    ({"scheduler": "cosine"}, "scheduler must be none, step or linear"),
    ({"warmup_fraction": 1.0}, "warmup fraction must be in [0, 1)"),
    ({"head_dropout": 1.0}, "head dropout must be in [0, 1)"),
    ({"max_length": 4}, "max length must be 8 to 8192 tokens"),
    ({"batch_size": 8, "micro_batch_size": 16}, "micro batch size must be 0 (off) up to the batch size"),
    ({"patience": -1}, "early-stopping patience must be 0 (off)"),
    ({"patience": 1.5}, "early-stopping patience must be 0 (off)"),
    ({"step_size": 0}, "scheduler step size must be at least 1 epoch"),
    ({"unfreeze_stages": 1}, "unfreezing stages must be a whole number from 2"),
    ({"unfreeze_every": 0}, "epochs per unfreezing stage must be a whole number from 1 to 100"),
    ({"lr_decay": 0.5}, "the learning-rate decay per part must be from 1"),
    ({"gamma": 0.0}, "scheduler gamma must be in (0, 1]"),
    ({"gamma": 1.5}, "scheduler gamma must be in (0, 1]"),
    ({"val_fraction": 0.0}, "validation fraction must be between 0 and 1"),
    ({"val_fraction": 1.0}, "validation fraction must be between 0 and 1"),
    ({"device": "tpu"}, "device must be auto, cpu, cuda or mps"),
    ({"per_class": 0}, "examples per class must be a whole number from 1 up"),
    ({"encoding": "no-such-codec"}, "encoding 'no-such-codec' is not a text encoding Python knows"),
    ({"augmented_views": 21}, "augmented views per image must be a whole number from 0 (off) to 20"),
    ({"augmented_views": 2, "strategy": "fine_tune"}, "augmented views are for feature extraction on images"),
    ({"augmented_views": 2, "augment": False}, "augmented views need augmentation on"),
    ({"strategy": "tfidf"}, "strategy tfidf does not apply to image data"),
    ({"adapt": "magic"}, "adapt must be auto or one of none, standardize"),
    ({"adapt": "coral"}, "adaptation (coral) needs a target dataset"),
    ({"adapt": "coral", "strategy": "fine_tune", "target": "t"},
     "coral does not work with fine-tuning (with it: none, dann)"),
]


@pytest.mark.parametrize("values, expected", BAD, ids=[next(iter(v)) + "=" + repr(v[next(iter(v))]) for v, _ in BAD])
def test_a_bad_value_is_refused_saying_which_and_why(values, expected):
    message = _problem(**values)
    assert message.startswith("Invalid training settings: ") and message.endswith(".")
    assert expected in message, message


def test_a_text_strategy_on_images_is_refused_and_the_text_strategies_accept_texts():
    assert "strategy tfidf does not apply to image data" in _problem(strategy="tfidf")
    assert TrainConfig(data=TEXTS, strategy="tfidf").validated().strategy == "tfidf"


def test_every_problem_is_said_at_once():
    message = _problem(epochs=0, optimizer="adam", device="tpu")
    assert message == ("Invalid training settings: epochs must be a whole number from 1 to 1000; optimizer must be "
                       "adamw or sgd; device must be auto, cpu, cuda or mps.")


def test_the_highest_learning_rate_allowed_is_accepted_and_just_above_it_is_not():
    assert TrainConfig(data=IMAGES, lr=MAX_LR).validated().lr == MAX_LR
    assert "far too high" in _problem(lr=MAX_LR * 1.01)


@pytest.mark.parametrize("values", [{"lr": "0.001"}, {"batch_size": None}, {"momentum": "x"}])
def test_a_value_of_the_wrong_type_in_a_config_file_is_a_user_error(values):
    with pytest.raises(UserError, match="Invalid training settings"):
        TrainConfig.from_dict({"data": IMAGES, **values})


# -- recipes per strategy -------------------------------------------------------------------------
@pytest.mark.parametrize("strategy", strategies.names())
@pytest.mark.parametrize("data, modality", [(IMAGES, "image"), (TEXTS, "text")])
def test_for_strategy_starts_from_the_strategys_recipe_for_the_modality(strategy, data, modality):
    learner = strategies.get(strategy)
    if modality not in learner.modalities:
        with pytest.raises(UserError, match=f"Unknown strategy '{strategy}' for {modality} data"):
            TrainConfig.for_strategy(data, strategy)
        return
    config = TrainConfig.for_strategy(data, strategy).to_dict()
    recipe = learner.recipe(modality)
    plain = TrainConfig(data=data).to_dict()
    assert {k: config[k] for k in recipe} == recipe
    assert {k: v for k, v in config.items() if k not in recipe and k != "strategy"} == \
           {k: v for k, v in plain.items() if k not in recipe and k != "strategy"}


def test_the_classic_recipes_differ_by_strategy_and_modality():
    images = TrainConfig.for_strategy(IMAGES, "fine_tune")
    texts = TrainConfig.for_strategy(TEXTS, "fine_tune")
    assert (images.optimizer, images.scheduler, images.lr, images.batch_size) == ("sgd", "step", 1e-3, 16)
    assert (texts.optimizer, texts.scheduler, texts.lr, texts.head_dropout) == ("adamw", "linear", 4e-5, 0.1)
    extract = TrainConfig.for_strategy(TEXTS, "feature_extract")
    assert (extract.lr, extract.max_length, extract.epochs) == (3e-3, 256, 25)


def test_overrides_win_over_the_recipe_and_none_means_keep_it():
    config = TrainConfig.for_strategy(IMAGES, "fine_tune", lr=0.05, epochs=3, scheduler=None, batch_size=None)
    assert (config.lr, config.epochs) == (0.05, 3)
    assert (config.scheduler, config.batch_size) == ("step", 16)


def test_for_strategy_refuses_an_unknown_strategy_listing_the_ones_that_fit():
    with pytest.raises(UserError) as caught:
        TrainConfig.for_strategy(IMAGES, "tfidf")
    assert caught.value.message == "Unknown strategy 'tfidf' for image data."
    assert caught.value.hint == "Choose one of: feature_extract, fine_tune, gradual_unfreeze, scratch."
    with pytest.raises(UserError) as caught:
        TrainConfig.for_strategy(TEXTS, "magic")
    assert "tfidf" in caught.value.hint


def test_for_strategy_validates_the_result():
    with pytest.raises(UserError, match="learning rate must be above 0"):
        TrainConfig.for_strategy(IMAGES, "feature_extract", lr=-1)


def test_a_target_chooses_the_adaptation_automatically_where_there_is_a_choice():
    assert TrainConfig.for_strategy(IMAGES, "feature_extract", target="elsewhere").adapt == "auto"
    assert TrainConfig.for_strategy(TEXTS, "tfidf", target="elsewhere.csv").adapt == "none"  # nothing to choose
    assert TrainConfig.for_strategy(IMAGES, "feature_extract").adapt == "none"               # no target
    assert TrainConfig.for_strategy(IMAGES, "feature_extract", target="t", adapt="coral").adapt == "coral"


# -- private training -----------------------------------------------------------------------------
def test_private_training_uses_its_own_recipe_and_keeps_overrides():
    assert TrainConfig.for_strategy(IMAGES, "feature_extract").lr == 1e-3
    private = TrainConfig.for_strategy(IMAGES, "feature_extract", dp_epsilon=3.0)
    assert private.lr == 1e-2 and private.dp_epsilon == 3.0 and private.dp_delta is None
    assert TrainConfig.for_strategy(IMAGES, "feature_extract", dp_epsilon=3.0, lr=0.5).lr == 0.5
    # a target with private training: no adaptation (its maps would see the data outside the budget)
    assert TrainConfig.for_strategy(IMAGES, "feature_extract", dp_epsilon=3.0, target="t").adapt == "none"


PRIVATE_BAD = [
    ({"dp_delta": 1e-5}, "a privacy delta needs a privacy budget epsilon"),
    ({"dp_epsilon": 0.0}, "the privacy budget epsilon must be above 0"),
    ({"dp_epsilon": 3.0, "dp_delta": 1.0}, "the privacy delta must be between 0 and 1"),
    ({"dp_epsilon": 3.0, "dp_max_grad_norm": 0.0}, "the gradient clipping norm must be above 0"),
    ({"dp_epsilon": 3.0, "micro_batch_size": 4}, "private training takes whole batches"),
    ({"dp_epsilon": 3.0, "train_batchnorm": True}, "private training keeps BatchNorm statistics fixed"),
    ({"dp_epsilon": 3.0, "target": "t", "adapt": "coral"}, "private training is not combined with domain adaptation"),
    ({"dp_epsilon": 3.0, "strategy": "gradual_unfreeze"}, "does not train privately yet"),
    ({"dp_epsilon": "3"}, "the privacy budget, delta and clipping norm must be numbers"),
    ({"dp_epsilon": True}, "the privacy budget, delta and clipping norm must be numbers"),
]


@pytest.mark.parametrize("values, expected", PRIVATE_BAD, ids=[e[:30] for _, e in PRIVATE_BAD])
def test_private_settings_that_cannot_be_honoured_are_refused(values, expected):
    assert expected in _problem(**values)


def test_private_training_is_refused_for_tfidf():
    with pytest.raises(UserError, match="TF-IDF \\+ logistic regression has none"):
        TrainConfig(data=TEXTS, strategy="tfidf", dp_epsilon=3.0).validated()
    assert TrainConfig(data=IMAGES, dp_epsilon=3.0, dp_delta=1e-5).validated().dp_delta == 1e-5


# -- names ----------------------------------------------------------------------------------------
def test_model_label_is_a_file_name_safe_name_of_what_trains():
    assert TrainConfig(data=IMAGES, backbone="hf:org/some model").model_label == "org-some-model"
    assert TrainConfig(data=IMAGES, backbone="run:/a/b/20240101-120000-tiny-fine_tune").model_label == \
        "from-20240101-120000-tiny-fine_tune"
    assert TrainConfig(data=TEXTS, strategy="tfidf", backbone="whatever").model_label == "tfidf"
    assert len(TrainConfig(data=IMAGES, backbone="x" * 200).model_label) == 60
