"""Text as it arrives, on the handler and the local server: one normal form (NFC), nothing invisible classified,
one CSV answer row per body line (issue 26's smallest inputs: decomposed Hangul, a zero-width space, an unclosed
quote, a header-only body)."""

from __future__ import annotations

import csv
import io
import json
import unicodedata

import pytest
import requests

from {{ cookiecutter.package_name }}.serving import handler, request_rules

JSON, JSONLINES, CSV = "application/json", "application/jsonlines", "text/csv"
WORD = "좋아요"
NFD_WORD = unicodedata.normalize("NFD", WORD)
INVISIBLE = ["\u200b", "\ufeff", "\u200b \u200d", "\u3164", "\u2028", "\x00\x1f", " \t\r"]


@pytest.fixture(scope="module")
def loaded(text_model):
    return handler.load(text_model, "fp32")


def request(body: str, content_type: str, model, accept: str = JSON) -> tuple[int, object]:
    """(status, answer) through the handler as the container runs it (a RequestError is a 4xx)."""
    try:
        text, _ = handler.handle(body.encode("utf-8"), content_type, accept, model)
    except handler.RequestError as error:
        return error.status, error.message
    return 200, json.loads(text) if accept == JSON else text


def post(server, body: str, content_type: str, accept: str = JSON) -> tuple[int, object]:
    response = requests.post(
        f"{server.url}/invocations",
        data=body.encode("utf-8"),
        headers={"Content-Type": content_type, "Accept": accept},
        timeout=60,
    )
    answer = response.json() if accept == JSON else response.text
    return response.status_code, answer["message"] if response.status_code != 200 else answer


def test_decomposed_hangul_tokenises_and_classifies_as_composed(loaded):
    assert NFD_WORD != WORD
    tokenizer = loaded.tokenizer
    # the scratch tokenizer's own normaliser (NFC): even a caller that skips the handler gets the same tokens
    assert tokenizer.tokenize(NFD_WORD) == tokenizer.tokenize(WORD)
    assert "[UNK]" not in tokenizer.tokenize(WORD)
    assert loaded.encode([NFD_WORD]) == loaded.encode([WORD])
    expected = handler.predict_fn([WORD], loaded)
    for body, content_type in (
        (json.dumps({"inputs": NFD_WORD}), JSON),
        (json.dumps({"text": NFD_WORD}) + "\n", JSONLINES),
        (NFD_WORD + "\n", CSV),
    ):
        status, answer = request(body, content_type, loaded)
        assert status == 200 and answer == expected, content_type
    assert handler.predict_fn([NFD_WORD], loaded) == expected  # a plain list (predict --model-dir) too


def test_decomposed_hangul_on_the_local_server(model_server):
    status, composed = post(model_server, json.dumps({"inputs": WORD}), JSON)
    assert status == 200
    assert post(model_server, json.dumps({"inputs": NFD_WORD}), JSON) == (200, composed)
    assert post(model_server, NFD_WORD + "\n", CSV) == (200, composed)


def test_label_names_in_answers_are_nfc(text_model, tmp_path):
    import shutil

    copy = shutil.copytree(text_model, tmp_path / "model")
    labels = json.loads((copy / "labels.json").read_text(encoding="utf-8"))
    names = [f"긍정{i}" for i in range(len(labels["label_names"]))]  # as many as the model's outputs
    labels["label_names"] = [unicodedata.normalize("NFD", name) for name in names]
    (copy / "labels.json").write_text(json.dumps(labels, ensure_ascii=False), encoding="utf-8")
    assert handler.load(copy, "fp32").labels == names


@pytest.mark.parametrize("text", INVISIBLE)
def test_a_text_with_nothing_visible_is_refused_like_an_empty_one(loaded, text):
    assert not request_rules.visible_text(text)
    assert request(json.dumps({"inputs": text}), JSON, loaded) == request(json.dumps({"inputs": ""}), JSON, loaded)
    assert request(json.dumps({"inputs": text}), JSON, loaded) == (400, "inputs[0] is empty")
    status, answer = request(json.dumps({"text": text}) + "\n", JSONLINES, loaded)
    assert (status, answer) == (200, [{"error": "line 1 is empty"}])


@pytest.mark.parametrize("text", ["a", "ㅋ", "\u200b좋아", "・", "1", "\u0301"])
def test_one_visible_character_is_enough(text):
    assert request_rules.visible_text(text)


def test_a_zero_width_space_on_the_local_server(model_server):
    assert post(model_server, json.dumps({"inputs": "\u200b"}), JSON) == (400, "inputs[0] is empty")
    assert post(model_server, json.dumps({"inputs": ""}), JSON) == (400, "inputs[0] is empty")


def csv_rows(answer: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(answer)))


def test_an_unclosed_quote_fails_its_own_row_and_never_merges(loaded):
    status, answer = request('a\n"b\nc\n', CSV, loaded, accept=CSV)
    rows = csv_rows(answer)
    assert status == 200 and len(rows) == 3
    assert len(rows[0]) == len(rows[2]) == 2  # a and c answered: no error field
    assert rows[1][:2] == ["", ""] and rows[1][2].startswith("row 2 is not valid CSV")
    status, answer = request('a\n"b\nc\nd\ne\n', CSV, loaded)
    assert status == 200 and ["error" in row for row in answer] == [False, True, False, False, False]


@pytest.mark.parametrize(
    ("body", "lines"),
    [("a\r\nb\r\n", 2), ("a\n\nb", 3), ('"a,b",c\n"x""y"\n', 2), ('"a\n"\n', 2), ("a\u2028b\n", 1)],
)
def test_a_csv_body_gets_one_row_per_line(loaded, body, lines):
    status, answer = request(body, CSV, loaded)
    assert status == 200 and len(answer) == lines


def test_a_first_row_naming_the_text_column_is_a_header(loaded):
    assert loaded.text_column == "{{ cookiecutter.text_column }}"
    status, answer = request("{{ cookiecutter.text_column }}\n", CSV, loaded)
    assert (status, answer) == (200, [{"header": "{{ cookiecutter.text_column }}"}])
    status, answer = request("{{ cookiecutter.text_column }}\n좋아요\n", CSV, loaded, accept=CSV)
    rows = csv_rows(answer)
    assert rows[0] == list(handler.CSV_HEADER) and len(rows) == 2 and len(rows[1]) == 2  # an answer: no error field
    status, answer = request("좋아요\n{{ cookiecutter.text_column }}\n", CSV, loaded)  # only the first row
    assert ["error" not in row and "header" not in row for row in answer] == [True, True]


def test_csv_bodies_on_the_local_server(model_server):
    status, answer = post(model_server, 'a\n"b\nc\n', CSV, accept=CSV)
    assert status == 200 and len(csv_rows(answer)) == 3 and "row 2 is not valid CSV" in answer
    status, answer = post(model_server, '"' + "a" * 200_000 + '"\n', CSV)  # a field past the csv module's limit
    assert status == 200 and len(answer) == 1
    assert answer[0]["error"].startswith("row 1 is not valid CSV (field larger than field limit")
    status, answer = post(model_server, "{{ cookiecutter.text_column }}\n", CSV)
    assert (status, answer) == (200, [{"header": "{{ cookiecutter.text_column }}"}])


def test_a_request_s_tokens_are_bounded(loaded, monkeypatch):
    """Issue 26: a request's time is its texts times their tokens; the handler bounds the product."""
    assert request_rules.DEFAULT_MAX_TOKENS == request_rules.DEFAULT_MAX_ITEMS * 128
    monkeypatch.setattr(request_rules, "MAX_TOKENS", 12)
    assert request(json.dumps({"inputs": ["좋아요"] * 3}), JSON, loaded)[0] == 200
    status, message = request(json.dumps({"inputs": ["정말 재밌게 봤어요 강추 최고의 영화"] * 3}), JSON, loaded)
    assert status == 413 and "tokens in one request; the limit is 12" in message


@pytest.mark.parametrize("content_type", [CSV, JSONLINES])
def test_an_empty_body_is_refused(loaded, content_type):
    assert request("", content_type, loaded) == (400, "request body is empty")
