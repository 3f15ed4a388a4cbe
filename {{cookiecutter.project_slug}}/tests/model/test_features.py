"""Tokenised datasets: dynamic padding, length grouping, truncation and the tokenisation cache."""

from __future__ import annotations

from collections import Counter

import torch

from {{ cookiecutter.package_name }}.data.report import Record
from {{ cookiecutter.package_name }}.model.features import (
    DynamicPaddingCollator,
    LengthGroupedSampler,
    TokenizedDataset,
    build_dataset,
)
from {{ cookiecutter.package_name }}.model.sources import train_tokenizer


def korean_tokenizer(sample_texts):
    return train_tokenizer(sample_texts, 2000)


def test_batch_is_padded_to_its_longest_item_not_max_length(sample_texts):
    tokenizer = korean_tokenizer(sample_texts)
    records = [Record(text, n % 2, n) for n, text in enumerate(sample_texts[:8])]
    dataset = build_dataset(tokenizer, records, max_length=128)
    batch = DynamicPaddingCollator(tokenizer.pad_token_id)([dataset[i] for i in range(8)])
    longest = max(len(dataset.input_ids[i]) for i in range(8))
    assert batch["input_ids"].shape == (8, longest) and longest < 128
    assert batch["attention_mask"].sum(dim=1).tolist() == [len(dataset.input_ids[i]) for i in range(8)]
    assert batch["labels"].tolist() == [r.label for r in records]
    assert (batch["input_ids"][batch["attention_mask"] == 0] == tokenizer.pad_token_id).all()


def test_texts_are_truncated_at_max_length(sample_texts):
    tokenizer = korean_tokenizer(sample_texts)
    long_text = " ".join(sample_texts[:50])
    dataset = build_dataset(tokenizer, [Record(long_text, 0, 1)], max_length=16)
    assert len(dataset.input_ids[0]) == 16
    assert dataset.input_ids[0][-1] == tokenizer.sep_token_id


def test_tokenisation_is_cached_per_tokenizer_content_and_length(sample_texts, tmp_path, monkeypatch):
    from {{ cookiecutter.package_name }}.model import features

    tokenizer = korean_tokenizer(sample_texts)
    records = [Record(text, n % 2, n) for n, text in enumerate(sample_texts[:100])]
    first = build_dataset(tokenizer, records, 64, tmp_path)
    assert len(list((tmp_path / "tokenized").glob("*.pt"))) == 1
    calls = Counter()
    original = features.tokenize_texts
    monkeypatch.setattr(features, "tokenize_texts", lambda *a, **k: calls.update(["call"]) or original(*a, **k))
    again = build_dataset(tokenizer, records, 64, tmp_path)
    assert again.input_ids == first.input_ids and calls["call"] == 0
    build_dataset(tokenizer, records, 32, tmp_path)
    build_dataset(tokenizer, records[:50], 64, tmp_path)
    assert calls["call"] == 2 and len(list((tmp_path / "tokenized").glob("*.pt"))) == 3


def test_length_grouped_batches_pad_far_less_than_random_batches():
    lengths = [(i * 37) % 120 + 3 for i in range(2000)]
    dataset = TokenizedDataset([[1] * n for n in lengths], [0] * len(lengths))
    sampler = LengthGroupedSampler(dataset.lengths, batch_size=32, seed=1)
    order = list(sampler)
    assert sorted(order) == list(range(2000))

    def padded_tokens(indices):
        batches = [indices[i : i + 32] for i in range(0, len(indices), 32)]
        return sum(max(lengths[j] for j in b) * len(b) for b in batches)

    shuffled = torch.randperm(2000, generator=torch.Generator().manual_seed(1)).tolist()
    assert padded_tokens(order) < 0.6 * padded_tokens(shuffled)
    sampler.set_epoch(1)
    assert list(sampler) != order  # a new order every epoch, the same for the same (seed, epoch)
    sampler.set_epoch(0)
    assert list(sampler) == order


def test_length_grouped_sampler_shards_across_ranks():
    lengths = list(range(101))
    shards = [list(LengthGroupedSampler(lengths, 4, seed=3, num_replicas=2, rank=r)) for r in (0, 1)]
    assert len(shards[0]) == len(shards[1]) == 51
    assert set(shards[0]) | set(shards[1]) == set(range(101))
