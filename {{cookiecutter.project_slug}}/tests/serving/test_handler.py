"""The inference handler's contract: content types, label names, order, one rule for the length limit."""

from __future__ import annotations

import dataclasses
import json

import pytest

from {{ cookiecutter.package_name }}.data.labels import LabelSchema
from {{ cookiecutter.package_name }}.model import batching
from {{ cookiecutter.package_name }}.model.artifact import load_for_inference
from {{ cookiecutter.package_name }}.serving import handler

from conftest import MULTI_LABEL, REGRESSION, all_scores, answer, same_answers


def csv_answer(prediction: dict) -> str:
    """A prediction's first CSV column: the label, multi-label the labels joined by |, regression empty (its task's
    head writes it)."""
    return handler.answers.head_of(prediction).csv_row(prediction)[0]


REVIEWS = ["정말 재밌게 봤어요 강추", "시간 낭비 최악의 영화", "배우들 연기가 좋았다", "그냥 그랬음"]


@pytest.fixture(scope="module")
def loaded(text_model):
    return handler.load(text_model, "fp32")  # exact numbers whatever the batch (int8: tests/serving/test_precision.py)


def test_json_single_and_list_inputs_keep_order_and_speak_label_names(loaded, text_model):
    names = LabelSchema.load(text_model / "labels.json").names
    single = handler.predict_fn(handler.input_fn(json.dumps({"inputs": REVIEWS[0]}), "application/json"), loaded)
    many = handler.predict_fn(handler.input_fn(json.dumps({"inputs": REVIEWS}), "application/json"), loaded)
    assert len(single) == 1 and len(many) == len(REVIEWS)
    assert same_answers([answer(many[0])], [answer(single[0])])
    # padding changes float rounding only
    assert all_scores(many[:1]) == pytest.approx(all_scores(single), abs=1e-5)
    for item in many:
        if REGRESSION:  # a score alone: no label names
            assert set(item) == {"score"} and isinstance(item["score"], float)
            continue
        assert set(item["scores"]) == set(names)
        if MULTI_LABEL:  # the names over their thresholds (tests/serving/test_multi_label_serving.py)
            assert set(item["labels"]) <= set(names)
            continue
        assert item["label"] in names
        assert item["score"] == max(item["scores"].values())
        assert sum(item["scores"].values()) == pytest.approx(1.0, abs=1e-5)
    one_by_one = [answer(handler.predict_fn([text], loaded)[0]) for text in REVIEWS]
    assert same_answers([answer(item) for item in many], one_by_one)  # batching and length-sorting keep the order


def test_jsonlines_and_csv_requests_and_every_accept_type(loaded):
    jsonl = "".join(json.dumps({"text": t}, ensure_ascii=False) + "\n" for t in REVIEWS).encode("utf-8")
    csv_body = "\n".join(f'"{t}"' for t in REVIEWS).encode("utf-8")
    assert handler.input_fn(jsonl, "application/jsonlines")["inputs"] == REVIEWS
    assert handler.input_fn(csv_body, "text/csv; charset=utf-8")["inputs"] == REVIEWS
    prediction = handler.predict_fn(REVIEWS, loaded)
    body = handler.output_fn(prediction, "application/jsonlines")  # the body alone: the container sets the type
    assert [json.loads(x) for x in body.splitlines()] == prediction
    body = handler.output_fn(prediction, "text/csv")
    assert [line.split(",")[0] for line in body.splitlines()] == [csv_answer(p) for p in prediction]
    assert json.loads(handler.output_fn(prediction, "*/*")) == prediction
    assert json.loads(handler.output_fn(prediction, "application/json, text/plain, */*")) == prediction


def test_handler_and_artifact_agree_on_names_and_length(loaded, text_model):
    """The handler reads the artifact's names from artifact_files.py (its sibling in the container), as
    model/artifact.py does, and applies the same max_length rule."""
    from {{ cookiecutter.package_name }}.model import artifact

    assert handler.LABELS_FILE == artifact.LABELS_FILE
    assert handler.NO_MODEL_MAX_LENGTH == artifact.NO_MODEL_MAX_LENGTH
    assert loaded.max_length == load_for_inference(text_model).max_length


@pytest.mark.parametrize(
    ("accept", "media"),
    [
        (None, "application/json"),
        ("", "application/json"),
        ("*/*", "application/json"),
        ("application/json, text/plain, */*", "application/json"),
        ("text/csv;q=0.5, application/jsonlines", "application/jsonlines"),
        ("application/xml, text/*;q=0.3", "text/csv"),
        ("text/html;q=1, application/json;q=0.9", "application/json"),
    ],
)
def test_accept_is_a_list_with_q_values(accept, media):
    assert handler.negotiate(accept) == media


def test_an_unsupported_accept_is_refused():
    with pytest.raises(handler.RequestError, match="unsupported accept type") as caught:
        handler.negotiate("application/xml, text/html;q=0.9")
    assert caught.value.status == 406


def test_json_lines_and_csv_keep_one_output_per_input_line(loaded):
    body = '{"id": 1, "text": "좋아요"}\n\n{"text": ""}\n{"id": 2}\nnot json\n"그냥 문자열"\n'
    results = handler.predict_fn(handler.input_fn(body.encode(), "application/jsonlines"), loaded)
    assert len(results) == 6
    assert results[0]["id"] == 1 and handler.answers.head_of(results[0]).name == loaded.head.name
    assert [r.get("error", "").split(" ", 2)[-1] for r in results[1:5]] == [
        "is empty",
        "is empty",
        'is not an object with a "text" string',
        "invalid JSON (Expecting value: line 1 column 1 (char 0))",
    ]
    assert handler.answers.head_of(results[5]).name == loaded.head.name
    rows = handler.predict_fn(handler.input_fn("좋아\n\n싫어\n", "text/csv"), loaded)
    assert [("error" in row) for row in rows] == [False, True, False]
    assert handler.output_fn(rows, "text/csv").splitlines()[1] == ",,row 2 is empty"


def test_the_direct_encoder_gives_the_tokenizer_s_ids(loaded, sample):
    texts = [record.text for record in sample["train"]] + [
        "좋은 영화 " * 500,  # truncated at max_length
        "  앞뒤 공백  ",
        "이모지 😀👍🏻 와 ㅋㅋㅋ 자모",
        "ＦＵＬＬ　ｗｉｄｔｈ　전각",
        "tab\there\nnewline",
    ]
    tokenizer, max_length = loaded.tokenizer, loaded.max_length
    expected = tokenizer(texts, truncation=True, max_length=max_length, return_attention_mask=False)["input_ids"]
    assert loaded.encode(texts) == expected
    assert max(map(len, expected)) == max_length


def test_micro_batches_bound_rows_and_on_a_cpu_padding_and_cover_every_text():
    lengths = sorted([3] * 150 + [10, 11, 12, 20, 40, 41, 95] + list(range(50, 90)))
    cpu, gpu = batching.micro_batches(lengths, batching.CPU_MAX_PADDING), batching.micro_batches(lengths, None)
    for spans in (cpu, gpu):
        assert [index for start, end in spans for index in range(start, end)] == list(range(len(lengths)))
        assert all(end - start <= batching.MICRO_BATCH for start, end in spans)
    for start, end in cpu:
        rows = lengths[start:end]
        assert len(rows) == 1 or len(rows) * max(rows) <= (1 + batching.CPU_MAX_PADDING) * sum(rows)
    assert [end - start for start, end in cpu[:3]] == [batching.MICRO_BATCH, batching.MICRO_BATCH, 22]
    assert (len(lengths) - 1, len(lengths)) in cpu  # 95 tokens pads nothing else up to it
    assert [end - start for start, end in gpu] == [64, 64, 64, 5]  # a GPU takes whole batches
    assert batching.micro_batches([], batching.CPU_MAX_PADDING) == []


@pytest.mark.parametrize("precision", ["fp32", "int8"])  # int8 here: a model that cannot pack
def test_predict_fn_bounds_padding_only_for_fp32_on_a_cpu(loaded, sample_texts, precision):
    shapes, network = [], loaded.network

    def recording(input_ids, attention_mask):
        shapes.append(tuple(input_ids.shape))
        return network(input_ids=input_ids, attention_mask=attention_mask)

    texts = sample_texts[:150]
    lengths = sorted(len(ids) for ids in loaded.encode(texts))
    answers = handler.predict_fn(texts, dataclasses.replace(loaded, network=recording, precision=precision))
    bounded = loaded.device.type == "cpu" and precision == "fp32"
    spans = batching.micro_batches(lengths, batching.CPU_MAX_PADDING if bounded else None)
    assert shapes == [(end - start, lengths[end - 1]) for start, end in spans]
    reference = handler.predict_fn(texts, loaded)
    assert same_answers([answer(item) for item in answers], [answer(item) for item in reference])
    assert all_scores(answers) == pytest.approx(all_scores(reference), abs=1e-5)


def test_padded_rows_keep_every_token_in_place():
    input_ids, attention_mask = batching.padded([[5, 6, 7], [8], [9, 10]], pad_token_id=0)
    assert input_ids.tolist() == [[5, 6, 7], [8, 0, 0], [9, 10, 0]]
    assert attention_mask.tolist() == [[1, 1, 1], [1, 0, 0], [1, 1, 0]]


@pytest.mark.parametrize(
    ("max_length", "widths"), [(128, [64, 128]), (512, [64, 128, 256, 512]), (100, [64, 100]), (32, [32])]
)
def test_pack_widths_double_from_64_up_to_max_length(max_length, widths):
    assert batching.pack_widths(max_length) == widths


def test_pack_fills_rows_within_their_width_and_places_every_text_once():
    lengths = [3] * 40 + [10, 11, 12, 20, 40, 41, 64, 63, 1] + list(range(5, 60, 3))
    rows = batching.pack(lengths, 64)
    assert sorted(index for row in rows for index in row) == list(range(len(lengths)))
    assert all(sum(lengths[i] for i in row) <= 64 for row in rows)
    assert len(rows) <= -(-sum(lengths) // 64) + 1  # best fit leaves at most about one row's worth empty
    assert batching.pack([], 64) == []


def test_packed_inputs_put_texts_side_by_side_with_their_segments_and_starts():
    inputs = batching.packed([[[5, 6], [7]], [[8, 9, 10]]], width=4, pad_token_id=0)
    assert inputs["input_ids"].tolist() == [[5, 6, 7, 0], [8, 9, 10, 0]]
    assert inputs["segment_ids"].tolist() == [[1, 1, 2, 0], [1, 1, 1, 0]]
    assert inputs["first_tokens"].tolist() == [0, 2, 4]
    alone = batching.packed([[[5, 6], [7]]], width=64, pad_token_id=0)  # one row: cut to what it holds
    assert alone["input_ids"].tolist() == [[5, 6, 7]] and alone["first_tokens"].tolist() == [0, 2]


def test_packed_batches_cover_every_text_once_in_rows_of_their_width():
    tokens = [[7] * n for n in [3] * 300 + list(range(1, 129)) + [64, 65]]
    seen = []
    for chunk, inputs in batching.packed_batches(tokens, 128, pad_token_id=0):
        rows, width = inputs["input_ids"].shape
        assert rows * width <= max(batching.PACK_TOKENS, width)
        shortest, longest = min(len(tokens[k]) for k in chunk), max(len(tokens[k]) for k in chunk)
        if rows == 1:  # one row is cut to the tokens it holds
            assert width == sum(len(tokens[k]) for k in chunk)
        else:
            assert width in (64, 128) and (longest <= 64 if width == 64 else shortest > 64)
        assert len(inputs["first_tokens"]) == len(chunk) == int(inputs["segment_ids"].max(dim=1).values.sum())
        seen += chunk
    assert sorted(seen) == list(range(len(tokens)))
