"""Sentence pairs in any project: the second text is read and checked like the text, encoded as the second segment,
and the n-gram baseline sees how the two texts relate. The files are written here, in every format."""

from __future__ import annotations

import json
import unicodedata

import pytest

from {{ cookiecutter.package_name }}.data.labels import LabelSchema
from {{ cookiecutter.package_name }}.data.normalize import Normalizer
from {{ cookiecutter.package_name }}.data.report import Record
from {{ cookiecutter.package_name }}.data.validation import ReadOptions, load_records
from {{ cookiecutter.package_name }}.model.features import (
    DynamicPaddingCollator,
    build_dataset,
    tokenize_texts,
)
from {{ cookiecutter.package_name }}.model.ngram import CROSS_FEATURES, NgramFeatures
from {{ cookiecutter.package_name }}.model.sources import train_tokenizer

SCHEMA = LabelSchema(("부정", "긍정"), "name")
ROWS = [("배송이 빨라서 좋았어요", "배송이 빠르다", "긍정"), ("포장이 엉망이에요", "포장이 좋다", "부정")]


def write_pairs(path, data_format: str, rows) -> None:
    """``rows`` of (text, second text, label) as a file with the columns 리뷰, 주장, 판정."""
    if data_format == "jsonl":
        lines = [json.dumps({"리뷰": a, "주장": b, "판정": c}, ensure_ascii=False) for a, b, c in rows]
    else:
        separator = "\t" if data_format == "tsv" else ","
        lines = [separator.join(("리뷰", "주장", "판정"))] + [separator.join(row) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def options(data_format: str, **changes) -> ReadOptions:
    """Options reading 리뷰 and 주장 as a pair, labelled by 판정."""
    return ReadOptions(data_format, "리뷰", "판정", text_pair_column="주장", **changes)


@pytest.mark.parametrize("data_format", ["tsv", "csv", "jsonl"])
def test_both_texts_are_read_and_normalised(tmp_path, data_format):
    path = tmp_path / f"pairs.{data_format}"
    decomposed = unicodedata.normalize("NFD", "배송이 빠르다")
    write_pairs(path, data_format, [ROWS[0][:1] + (decomposed,) + ROWS[0][2:], ROWS[1]])
    report = load_records(path, options(data_format), SCHEMA, Normalizer("nfc", True))
    assert not report.errors, report.problem_lines()
    assert [(r.text, r.text_pair, r.label) for r in report.records] == [
        ("배송이 빨라서 좋았어요", "배송이 빠르다", 1),
        ("포장이 엉망이에요", "포장이 좋다", 0),
    ]
    assert "second text length (chars): p50=" in report.summary()  # prepare shows both texts' lengths


def test_a_missing_second_column_names_the_setting(tmp_path):
    path = tmp_path / "pairs.csv"
    path.write_text("리뷰,판정\n좋아요,긍정\n", encoding="utf-8")
    report = load_records(path, options("csv"), SCHEMA)
    assert [p.reason for p in report.errors] == ["missing_column"]
    assert "'주장' (data.text_pair_column)" in str(report.errors[0]) and str(report.errors[0]).startswith(f"{path}:1")


def test_bad_second_texts_get_one_line_each(tmp_path):
    path = tmp_path / "pairs.jsonl"
    rows = [
        {"리뷰": "좋아요", "판정": "긍정"},
        {"리뷰": "좋아요", "주장": 42, "판정": "긍정"},
        {"리뷰": "좋아요", "주장": "널\u0000문자", "판정": "긍정"},
        {"리뷰": "좋아요", "주장": "   ", "판정": "긍정"},
        {"리뷰": "좋아요", "주장": "좋다", "판정": "긍정"},
    ]
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    report = load_records(path, options("jsonl"), SCHEMA, Normalizer("nfc", True))
    lines = [str(problem) for problem in report.problems]
    assert f"{path}:1: error: row has no '주장' field (data.text_pair_column)" in lines
    assert f"{path}:2: error: second text is a int, not a string: '42'" in lines
    assert f"{path}:3: error: second text contains a NUL character (a binary or corrupted line)" in lines
    assert [p.reason for p in report.problems if p.line == 4] == ["empty_text"]  # data.empty_text: drop, as a text
    assert report.problems[-1].kind == "dropped" and [r.line for r in report.records] == [5]
    strict = load_records(path, options("jsonl", empty_text="error"), SCHEMA, Normalizer("nfc", True))
    assert [p.kind for p in strict.problems if p.line == 4] == ["error"]


def test_one_text_projects_never_read_a_second_text(tmp_path):
    path = tmp_path / "pairs.tsv"
    write_pairs(path, "tsv", ROWS)
    report = load_records(path, ReadOptions("tsv", "리뷰", "판정"), SCHEMA)
    assert not report.errors and all(record.text_pair is None for record in report.records)


@pytest.fixture(scope="module")
def tokenizer():
    return train_tokenizer([text for row in ROWS for text in row[:2]] * 3, 200)


def test_pairs_are_encoded_as_pairs_with_segment_ids(tokenizer, tmp_path):
    records = [Record(text, 0, n, text_pair=pair) for n, (text, pair, _) in enumerate(ROWS, 1)]
    dataset = build_dataset(tokenizer, records, 64, cache_dir=tmp_path, show_progress=False)
    ids, types = dataset[0]["input_ids"], dataset[0]["token_type_ids"]
    first_sep = ids.index(tokenizer.sep_token_id)
    assert ids[0] == tokenizer.cls_token_id and ids[-1] == tokenizer.sep_token_id
    assert set(types[: first_sep + 1]) == {0} and set(types[first_sep + 1 :]) == {1}  # the second text: segment 1
    assert tokenizer.decode(ids[first_sep + 1 : -1]).replace(" ", "") == ROWS[0][1].replace(" ", "")
    cached = build_dataset(tokenizer, records, 64, cache_dir=tmp_path, show_progress=False)
    assert cached.token_type_ids == dataset.token_type_ids  # the cache keeps them (its key holds the pairs)
    other = [Record(r.text, 0, r.line, text_pair="다른 주장") for r in records]
    assert build_dataset(tokenizer, other, 64, cache_dir=tmp_path, show_progress=False).input_ids != dataset.input_ids
    batch = DynamicPaddingCollator(tokenizer.pad_token_id)([dataset[0], dataset[1]])
    assert batch["token_type_ids"].shape == batch["input_ids"].shape
    assert (batch["token_type_ids"][batch["attention_mask"] == 0] == 0).all()  # padding: segment 0
    one_text = build_dataset(tokenizer, [Record(r.text, 0, r.line) for r in records], 64, show_progress=False)
    assert one_text.token_type_ids is None and "token_type_ids" not in one_text[0]


def test_truncation_keeps_both_texts_longest_first(tokenizer):
    long_text, claim = " ".join(["배송이 빨라서 좋았어요"] * 40), "배송이 빠르다"
    (ids,), (types,) = tokenize_texts(tokenizer, [long_text], 16, show_progress=False, text_pairs=[claim])
    assert len(ids) == 16
    claim_ids = tokenizer(claim, add_special_tokens=False)["input_ids"]
    assert ids[-len(claim_ids) - 1 : -1] == claim_ids and sum(types) == len(claim_ids) + 1  # the claim kept whole


def test_the_baseline_features_see_which_text_holds_what_and_their_overlap():
    texts = ["배송이 빨라서 좋았어요", "포장이 엉망이에요", "배송이 늦어요", "포장이 튼튼해요"] * 3
    pairs = ["배송이 빨라서", "배송이 빨라서", "포장이 튼튼해요", "포장이 튼튼해요"] * 3
    features, x = NgramFeatures.fit(texts, pairs)
    assert features.pairs and x.shape == (len(texts), features.size)
    crossed = x[:, -CROSS_FEATURES:]
    assert crossed[0].nnz == 3 * 2  # 배송이 빨라서 좋았어요 x 배송이 빨라서: every word with every word
    overlap = x[:, -CROSS_FEATURES - 2 : -CROSS_FEATURES].toarray()  # the second text's n-grams the first holds
    assert overlap[0].tolist() == [1.0, 1.0] and overlap[1][0] < 1.0
    swapped = features.transform(pairs, texts)
    assert (swapped != x).nnz > 0  # which text holds an n-gram matters, unlike a bag of the joined texts
    with pytest.raises(ValueError, match="sentence pairs"):
        features.transform(texts)
