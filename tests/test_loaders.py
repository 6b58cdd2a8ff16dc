"""Texts batched by length: the same answers in the same order, far less padding."""

import torch

from core import data, features
from core.inference import load
from core.loaders import LengthBatches, in_item_order, make_loader
from core.train import fit
from core.config import TrainConfig
from tests.helpers import TINY_BERT


def test_in_order_batches_are_sorted_by_length_and_put_back_in_order():
    lengths = [3, 9, 1, 7, 7, 2, 9, 4]
    sampler = LengthBatches(lengths, batch_size=3)
    batches = list(sampler)
    assert [len(b) for b in batches] == [3, 3, 2] and len(sampler) == 3
    assert [lengths[i] for batch in batches for i in batch] == sorted(lengths, reverse=True)
    assert sorted(i for batch in batches for i in batch) == list(range(len(lengths)))

    class Loader:  # what in_item_order reads: the loader's batch sampler
        batch_sampler = sampler

    yielded = torch.tensor([float(i) for batch in batches for i in batch])  # each row says which item it is
    assert in_item_order(yielded, Loader()).tolist() == [float(i) for i in range(len(lengths))]


def test_shuffled_batches_group_similar_lengths_in_a_seeded_random_order():
    lengths = list(range(1, 401))
    generator = torch.Generator()
    sampler = LengthBatches(lengths, batch_size=8, shuffle=True, generator=generator, pool=10)
    generator.manual_seed(1)
    first = list(sampler)
    generator.manual_seed(1)
    assert list(sampler) == first  # the epoch's seed decides
    generator.manual_seed(2)
    assert list(sampler) != first
    assert sorted(i for batch in first for i in batch) == list(range(400))  # every text once
    spread = sum(max(lengths[i] for i in b) - min(lengths[i] for i in b) for b in first) / len(first)
    assert spread < 40  # random batches of 8 from 1..400 spread over about 300 tokens
    starts = [max(lengths[i] for i in batch) for batch in first]
    assert starts != sorted(starts) and starts != sorted(starts, reverse=True)  # not longest-first order


def test_text_loaders_pad_less_and_the_feature_pass_keeps_item_order(reviews_csv):
    report = data.load_dataset(reviews_csv)
    from core import backbones

    spec = backbones.get(TINY_BERT)
    loader = make_loader(report, report.val, spec, 4, train=False, seed=0, device=torch.device("cpu"))
    seen = [labels for _, labels in loader]
    assert in_item_order(torch.cat(seen), loader).tolist() == [label for _, label in report.val]
    sorted_set = features.compute_features(report, spec, torch.device("cpu"), 4)
    one_by_one = features.compute_features(report, spec, torch.device("cpu"), 1)  # no padding at all
    assert torch.allclose(sorted_set, one_by_one, atol=1e-5)


def test_predictions_come_back_in_the_order_the_texts_were_given(reviews_csv):
    config = TrainConfig.for_strategy(str(reviews_csv), "feature_extract", backbone=TINY_BERT, epochs=2)
    predictor = load(fit(config)["run_dir"])
    texts = ["ok", "a very long and rambling review of a film that goes on and on about nothing at all", "fine"]
    together = predictor.predict_texts(texts, batch_size=2)
    alone = [predictor.predict_texts([text])[0] for text in texts]
    assert all(abs(together[i] - alone[i]).max() < 1e-5 for i in range(3))
