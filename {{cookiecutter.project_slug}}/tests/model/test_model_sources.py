"""Offline model building, and the Korean WordPiece pitfall."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from {{ cookiecutter.package_name }}.data.labels import LabelSchema
from {{ cookiecutter.package_name }}.errors import ModelSourceError
from {{ cookiecutter.package_name }}.model.features import tokenizer_fingerprint
from {{ cookiecutter.package_name }}.model.sources import (
    SMALL_FROM_ROWS,
    build_scratch,
    check_source,
    load_model,
    settled_source,
    train_tokenizer,
)

from conftest import PACKAGE, subprocess_env

SENTENCES = ["이 영화 정말 재밌어요 최고", "배우 연기가 너무 별로였다", "스토리는 그냥 그랬음"]


def unk_share(tokenizer, texts):
    tokens = [t for text in texts for t in tokenizer.tokenize(text)]
    return sum(t == tokenizer.unk_token for t in tokens) / len(tokens)


def test_korean_words_are_not_unk_after_save_and_reload(sample_texts, tmp_path):
    tokenizer = train_tokenizer(sample_texts, 4000)
    tokenizer.save_pretrained(tmp_path)
    reloaded = AutoTokenizer.from_pretrained(tmp_path)
    assert unk_share(reloaded, SENTENCES) == 0
    assert reloaded.tokenize("영화") == ["영화"]
    assert reloaded("영화 최고")["input_ids"] == tokenizer("영화 최고")["input_ids"]


def test_the_pitfall_is_real_lowercasing_wrapper_turns_hangul_into_unk(sample_texts, tmp_path):
    """Why train_tokenizer switches lowercasing off: the default wrapper loses every Korean word."""
    from transformers import ElectraTokenizerFast

    backend = train_tokenizer(sample_texts, 4000).backend_tokenizer
    naive = ElectraTokenizerFast(
        tokenizer_object=backend,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
    )
    naive.save_pretrained(tmp_path)
    assert unk_share(AutoTokenizer.from_pretrained(tmp_path), SENTENCES) == 1.0


def test_scratch_model_carries_the_label_names(sample_texts, tmp_path):
    schema = LabelSchema(("부정", "중립", "긍정"))
    tokenizer, model = build_scratch("scratch:tiny", sample_texts, schema, 64)
    assert model.config.id2label == {0: "부정", 1: "중립", 2: "긍정"}
    assert model.config.num_labels == 3
    model.save_pretrained(tmp_path)
    assert AutoModelForSequenceClassification.from_pretrained(tmp_path).config.label2id["긍정"] == 2


def test_unknown_sources_fail_with_a_clear_message(tmp_path):
    schema = LabelSchema(("a", "b"))
    with pytest.raises(ModelSourceError, match="unknown offline model 'scratch:huge'"):
        load_model("scratch:huge", schema, 32, ["text"])
    with pytest.raises(ModelSourceError, match="not a model folder"):
        load_model(str(tmp_path), schema, 32)
    with pytest.raises(ModelSourceError, match="not reachable"):
        load_model("monologg/koelectra-small-v3-discriminator", schema, 32)  # HF_HUB_OFFLINE=1 in tests


def test_scratch_auto_is_tiny_below_small_from_rows_and_small_from_them():
    assert settled_source("scratch:auto", SMALL_FROM_ROWS - 1) == "scratch:tiny"
    assert settled_source("scratch:auto", SMALL_FROM_ROWS) == "scratch:small"
    for source in (
        "scratch:tiny",
        "scratch:small",
        "monologg/koelectra-small-v3-discriminator",
        "artifacts/pretrained",
    ):
        assert settled_source(source, 10 * SMALL_FROM_ROWS) == source  # only scratch:auto is settled
    check_source("scratch:auto")  # accepted before any data is read
    with pytest.raises(ModelSourceError, match="use one of scratch:tiny, scratch:small, scratch:auto"):
        check_source("scratch:huge")


@pytest.mark.slow
def test_the_scratch_tokenizer_is_the_same_in_every_process(sample_texts):
    """Same texts, same vocabulary and token ids, whatever process builds it (every node builds its own)."""
    code = (
        f"import json, sys; from {PACKAGE}.model.sources import train_tokenizer; "
        f"from {PACKAGE}.model.features import tokenizer_fingerprint; "
        "print(tokenizer_fingerprint(train_tokenizer(json.load(sys.stdin), 2000)))"
    )
    fingerprints = {tokenizer_fingerprint(train_tokenizer(sample_texts, 2000))}
    for _ in range(2):
        result = subprocess.run(
            [sys.executable, "-c", code],
            input=json.dumps(sample_texts),
            capture_output=True,
            text=True,
            encoding="utf-8",
            env=subprocess_env(),
            timeout=120,
        )
        assert result.returncode == 0, result.stderr[-2000:]
        fingerprints.add(result.stdout.strip())
    assert len(fingerprints) == 1
