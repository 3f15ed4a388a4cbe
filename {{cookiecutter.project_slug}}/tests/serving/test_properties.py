"""Properties, checked with Hypothesis over generated input, of the handler's parsers, the data readers and the
predict client (issue 26):
- any text and its NFD form give the same tokens and the same answer;
- any text without a visible character is refused exactly like an empty one;
- any body gets one answer per input line or a 4xx, never a 5xx (lone surrogates, control characters, BOMs,
  U+2028, CRLF, broken quotes and JSON included);
- the client places every row once, within the server's limits, and fails only the rows the server refuses.

Each property runs twice: a few examples in the default tier (the whole file in seconds), many under
``pytest -m slow``.
"""

from __future__ import annotations

import csv
import json
import unicodedata

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from {{ cookiecutter.package_name }}.data.labels import LabelSchema
from {{ cookiecutter.package_name }}.data.normalize import Normalizer
from {{ cookiecutter.package_name }}.data.validation import ReadOptions, load_records
from {{ cookiecutter.package_name }}.serving import handler, request_rules
from {{ cookiecutter.package_name }}.serving.client import (
    InProcessTarget,
    RequestLimits,
    body_bytes,
    classify,
    cut_requests,
)

COMMON = {"deadline": None, "database": None, "suppress_health_check": [HealthCheck.too_slow]}
TIERS = [
    pytest.param(settings(max_examples=12, **COMMON), id="default"),
    pytest.param(settings(max_examples=400, **COMMON), id="slow", marks=pytest.mark.slow),
]
JSON, JSONLINES, CSV = "application/json", "application/jsonlines", "text/csv"

HANGUL = st.characters(min_codepoint=0xAC00, max_codepoint=0xD7A3)  # composed syllables: NFD splits them
JAMO = st.characters(min_codepoint=0x3131, max_codepoint=0x318E)  # compatibility jamo (ㅋ, ㅠ): NFC keeps them
ODD = st.sampled_from(["\ufeff", "\u200b", "\u2028", "\u2029", "\r", "\n", "\x00", "\x1f", "\x85", '"', ",", "\t"])
TEXT = st.text(st.one_of(HANGUL, JAMO, ODD, st.characters()), max_size=30)
INVISIBLE = st.text(
    st.one_of(
        st.characters(categories=["Zs", "Zl", "Zp", "Cc", "Cf", "Co"]),
        st.sampled_from(sorted(request_rules.HANGUL_FILLERS)),
    ),
    max_size=20,
)


@pytest.fixture(scope="module")
def loaded(text_model):
    return handler.load(text_model, "fp32")


@pytest.fixture(scope="module")
def in_process(text_model):
    return InProcessTarget(text_model, "fp32")


def answer(body: bytes, content_type: str, model) -> tuple[int, list]:
    """(status, answers) as the server gives them: any RequestError is its 4xx, anything else would be a 5xx."""
    try:
        text, _ = handler.handle(body, content_type, JSON, model)
    except handler.RequestError as error:
        return error.status, []
    return 200, json.loads(text)


@pytest.mark.parametrize("tier", TIERS)
def test_any_text_and_its_nfd_form_give_the_same_tokens_and_answer(loaded, tier):
    @tier
    @given(TEXT)
    def check(text):
        assume(request_rules.text_problem(text) is None)
        decomposed = unicodedata.normalize("NFD", text)
        tokenizer = loaded.tokenizer
        assert tokenizer.tokenize(decomposed) == tokenizer.tokenize(text)  # the tokenizer's own NFC
        for content_type, request in (
            (JSON, lambda text: json.dumps({"inputs": text})),
            (JSONLINES, lambda text: json.dumps({"text": text}) + "\n"),
        ):
            composed = answer(request(text).encode("utf-8"), content_type, loaded)
            assert composed[0] == 200 and answer(request(decomposed).encode("utf-8"), content_type, loaded) == composed

    check()


@pytest.mark.parametrize("tier", TIERS)
def test_any_text_without_a_visible_character_is_refused_like_an_empty_one(loaded, tier):
    empty = answer(json.dumps({"inputs": ""}).encode(), JSON, loaded)
    assert empty == (400, [])

    @tier
    @given(INVISIBLE)
    def check(text):
        assert not request_rules.visible_text(text)
        assert request_rules.text_problem(text) == "is empty"
        assert answer(json.dumps({"inputs": text}).encode(), JSON, loaded) == empty
        status, answers = answer((json.dumps({"text": text}) + "\n").encode(), JSONLINES, loaded)
        assert (status, answers) == (200, [{"error": "line 1 is empty"}])

    check()


def expected_lines(body: bytes) -> int | None:
    """How many input lines a JSON Lines or CSV body holds (split at "\\n"), or None when it is not UTF-8."""
    try:
        text = body.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError:
        return None
    lines = text.split("\n")
    return len(lines) - (lines[-1] == "")


LINE = st.one_of(
    TEXT,
    TEXT.map(lambda text: json.dumps({"text": text})),  # JSON escapes: lone surrogates as \ud800
    TEXT.map(lambda text: json.dumps({"text": text}, ensure_ascii=False)),
    TEXT.map(lambda text: '"' + text),  # an unclosed quote
)
BODY = st.one_of(
    st.binary(max_size=200),
    st.lists(LINE, max_size=8)
    .flatmap(lambda lines: st.sampled_from(["\n", "\r\n", "\u2028"]).map(lambda end: end.join(lines)))
    .map(lambda text: text.encode("utf-8", "surrogatepass")),  # a lone surrogate becomes invalid UTF-8
    st.lists(TEXT, max_size=6).map(lambda texts: json.dumps({"inputs": texts}).encode()),
)


@pytest.mark.parametrize("tier", TIERS)
@pytest.mark.parametrize("content_type", [JSON, JSONLINES, CSV])
def test_any_body_gets_one_answer_per_line_or_a_4xx_never_a_5xx(loaded, tier, content_type):
    @tier
    @given(BODY, st.booleans())
    def check(body, bom):
        body = (b"\xef\xbb\xbf" if bom else b"") + body
        status, answers = answer(body, content_type, loaded)
        assert 200 <= status < 500
        if status == 200 and content_type != JSON:
            assert len(answers) == expected_lines(body)
        if status == 200 and content_type == JSON:
            assert len(answers) == len(json.loads(body.decode("utf-8").removeprefix("\ufeff"))["inputs"])

    check()


@pytest.mark.parametrize("tier", TIERS)
def test_a_data_file_in_nfd_reads_as_the_same_file_in_nfc(tmp_path_factory, tier):
    schema = LabelSchema(("부정", "긍정"), "name")
    options = ReadOptions("csv", "text", "label", "")
    folder = tmp_path_factory.mktemp("nfd")

    def read(rows: list[tuple[str, str]], form: str) -> tuple[list, list]:
        path = folder / f"{form}.csv"
        with open(path, "w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["text", "label"])
            writer.writerows([(unicodedata.normalize(form, t), unicodedata.normalize(form, y)) for t, y in rows])
        report = load_records(path, options, schema, Normalizer())
        return [(r.text, r.label, r.line) for r in report.records], [(p.line, p.reason) for p in report.errors]

    row = st.tuples(st.text(st.one_of(HANGUL, JAMO, st.characters(codec="utf-8"))), st.sampled_from(schema.names))

    @tier
    @given(st.lists(row, max_size=6))
    def check(rows):
        assume(all("\x00" not in text for text, _ in rows))
        assert read(rows, "NFD") == read(rows, "NFC")

    check()


@pytest.mark.parametrize("tier", TIERS)
def test_requests_place_every_row_once_within_the_limits(tier):
    @tier
    @given(st.lists(TEXT, max_size=40), st.integers(1, 16), st.integers(60, 400))
    def check(texts, batch_size, max_body):
        limits = RequestLimits(8, 10_000, max_body)
        requests = cut_requests(list(range(len(texts))), texts, batch_size, limits)
        assert [row for request in requests for row in request] == list(range(len(texts)))
        for request in requests:
            assert 1 <= len(request) <= min(batch_size, limits.max_items)
            size = len(b'{"inputs": []}') + sum(body_bytes(texts[row]) for row in request)
            assert len(request) == 1 or size <= max_body

    check()


@pytest.mark.parametrize("tier", TIERS)
def test_the_client_fails_exactly_the_rows_the_server_refuses(in_process, tier):
    @tier
    @given(st.lists(st.one_of(TEXT, INVISIBLE), max_size=12), st.integers(1, 8))
    def check(texts, batch_size):
        windows = list(classify(texts, in_process, batch_size=batch_size, concurrency=1, show_progress=False))
        errors = [error for window in windows for error in window.errors]
        predictions = [p for window in windows for p in window.predictions]
        assert len(errors) == len(predictions) == len(texts)
        for text, error, prediction in zip(texts, errors, predictions, strict=True):
            refused = request_rules.text_problem(text) is not None
            assert bool(error) == refused and (prediction is None) == refused, (text, error)

    check()
