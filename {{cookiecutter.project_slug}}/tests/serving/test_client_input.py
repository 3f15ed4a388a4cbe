"""The predict client and its input: one normal form from files and stdin, requests bound by bytes as well as
count, a text over the length limit checked locally, and a text the server refuses failing alone (issue 26)."""

from __future__ import annotations

import io
import json
import shutil
import unicodedata

import pytest

from {{ cookiecutter.package_name }}.data.normalize import Normalizer
from {{ cookiecutter.package_name }}.data.report import Record
from {{ cookiecutter.package_name }}.serving import request_rules
from {{ cookiecutter.package_name }}.serving.client import (
    SERVER_LIMITS,
    FinalError,
    InProcessTarget,
    PredictRequest,
    RequestLimits,
    RetryPolicy,
    RuntimeTarget,
    body_bytes,
    classify,
    cut_requests,
    predict_records,
    refusal_message,
    run_predict,
    stdin_records,
)

from conftest import SAMPLE_DIR, all_scores, answer

WORD = "좋아요"
FAST = RetryPolicy(max_attempts=1, base_delay=0.01)


def records(texts: list[str]) -> list[Record]:
    return [Record(text, None, line) for line, text in enumerate(texts, start=1)]


def test_the_client_keeps_to_the_handler_s_limits():
    limits = SERVER_LIMITS
    assert limits.max_items == request_rules.MAX_ITEMS and limits.max_text_chars == request_rules.MAX_TEXT_CHARS
    assert limits.max_body_bytes < request_rules.MAX_BODY_BYTES  # with a margin


def test_stdin_in_nfd_is_classified_as_nfc(project, text_model, monkeypatch, capsys):
    nfd = unicodedata.normalize("NFD", WORD)
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(f"{nfd}\n{WORD}\n".encode()), encoding="utf-8"))
    assert run_predict(project, PredictRequest(model_dir=text_model)).failed == []
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [row["text"] for row in rows] == [WORD, WORD]
    assert answer(rows[0]) == answer(rows[1]) and all_scores(rows[:1]) == all_scores(rows[1:])


class Recorder:
    """A target that records each request's body size and answers every text."""

    who = "the server"

    def __init__(self):
        self.bodies: list[int] = []

    def send(self, texts: list[str]) -> list[dict]:
        self.bodies.append(len(json.dumps({"inputs": texts}, ensure_ascii=False).encode("utf-8")))
        return [{"label": "x", "score": 1.0} for _ in texts]


def test_requests_are_bound_by_encoded_bytes_not_only_count():
    """Issue 26: 2,000 wide rows at --batch-size 1000 went out as 7.5 MB bodies, and both were refused (413)."""
    limits = SERVER_LIMITS
    texts = ["가나다라" * 650] * 2000  # 7.8 KB a row in UTF-8
    target = Recorder()
    windows = list(classify(texts, target, batch_size=1000, concurrency=2, show_progress=False))
    assert sum(p is not None for w in windows for p in w.predictions) == 2000
    assert max(target.bodies) <= limits.max_body_bytes < request_rules.MAX_BODY_BYTES
    rows = list(range(10))
    assert cut_requests(rows, ["a"] * 10, 4, limits) == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    small = RequestLimits(1024, 10_000, 14 + 3 * body_bytes("a"))
    assert cut_requests(rows, ["a"] * 10, 64, small) == [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]


def test_wide_rows_at_batch_size_1000_all_pass_the_local_server(model_server, tmp_path):
    texts = [f"{n} " + "정말 재밌는 영화 " * 400 for n in range(1000)]  # 7.7 KB a row: 7.7 MB by count
    target = RuntimeTarget("local", url=model_server.url, policy=FAST)
    summary = predict_records(
        records(texts), target, PredictRequest(output=tmp_path / "out.jsonl", batch_size=1000), show_progress=False
    )
    assert summary.failed == [] and summary.requests > 2


def test_an_over_long_row_fails_alone_without_being_sent(text_model, tmp_path):
    limit = SERVER_LIMITS.max_text_chars
    target = Recorder()
    summary = predict_records(records([WORD, "가" * (limit + 1)]), target, PredictRequest(), show_progress=False)
    assert [line for line, _ in summary.failed] == [2] and "10001 characters" in summary.failed[0][1]
    assert len(target.bodies) == 1
    texts = [f"{WORD} {n}" for n in range(200)]
    texts[57] = "가" * (limit + 1)
    summary = predict_records(records(texts), InProcessTarget(text_model), PredictRequest(), show_progress=False)
    assert [line for line, _ in summary.failed] == [58]


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        ("\u200b", "refused by the server (HTTP 400): the text is empty"),
        ("\ufeff\u3164", "refused by the server (HTTP 400): the text is empty"),
        ("\ud800", "not sent: the text holds an unpaired surrogate at character 0"),
    ],
)
def test_a_row_the_server_refuses_fails_alone_and_the_rest_succeed(model_server, bad, reason):
    texts = [WORD, "별로", bad, "그냥", "최고"] * 3
    target = RuntimeTarget("local", url=model_server.url, policy=FAST)
    windows = list(classify(texts, target, batch_size=64, concurrency=1, show_progress=False))
    errors = [error for window in windows for error in window.errors]
    assert [i for i, error in enumerate(errors) if error] == [2, 7, 12]
    assert {error for error in errors if error} == {reason}
    assert sum(p is not None for w in windows for p in w.predictions) == 12


def test_a_refused_row_in_process_fails_alone_too(text_model):
    windows = list(classify([WORD, "\u200b", "별로"], InProcessTarget(text_model), show_progress=False))
    assert windows[0].errors == ["", "refused by the model: the text is empty", ""]  # no server: none is blamed


def test_a_request_over_the_token_bound_is_split_until_it_fits(text_model, monkeypatch):
    monkeypatch.setattr(request_rules, "MAX_TOKENS", 40)
    texts = [f"정말 재밌게 봤어요 {n}" for n in range(16)]
    windows = list(classify(texts, InProcessTarget(text_model), batch_size=16, show_progress=False))
    assert windows[0].errors == [""] * 16 and windows[0].requests > 1


class RefusesWithoutSaying:
    """A server that refuses any request holding "BAD" (400) without naming the text."""

    who = "the server"

    def __init__(self):
        self.requests = 0

    def send(self, texts: list[str]) -> list[dict]:
        self.requests += 1
        if "BAD" in texts:
            raise FinalError("HTTP 400: bad request", 400)
        return [{"label": "x", "score": 1.0} for _ in texts]


def test_a_refusal_naming_no_row_is_split_until_the_bad_row_stands_alone():
    texts = [f"t{n}" for n in range(32)]
    texts[9] = "BAD"
    target = RefusesWithoutSaying()
    windows = list(classify(texts, target, batch_size=32, concurrency=1, show_progress=False))
    errors = windows[0].errors
    assert [i for i, error in enumerate(errors) if error] == [9] and errors[9] == "HTTP 400: bad request"
    assert target.requests <= 2 * 6  # about two requests per halving


def test_stdin_takes_json_lines_and_skips_a_header_line(project, capsys):
    first, second = project.data.text_column, project.data.text_pair_column
    header = "\t".join((first, second)) if second else first
    keys = (first, second) if second else (first,)
    values = ("정말 재밌어요", "최고") if second else ("정말 재밌어요",)
    lines = [header, json.dumps(dict(zip(keys, values, strict=True)), ensure_ascii=False), "", "그냥 그래요"]
    records = stdin_records(lines, project, Normalizer.from_config(project.data))
    assert [record.line for record in records] == [2, 4]
    assert records[0].text == "정말 재밌어요" and records[0].text_pair == (values[1] if second else None)
    assert records[1].text == "그냥 그래요"
    assert "standard input: 1 blank line(s) skipped" in capsys.readouterr().err
    stdin_records(["하나", "둘", ""], project, Normalizer.from_config(project.data))  # input ending in a newline
    assert "blank" not in capsys.readouterr().err


def test_a_refusal_inside_an_endpoint_s_wrapped_json_is_read_whole():
    body = json.dumps({"code": 400, "type": "InvalidInput", "message": 'inputs[1] has no second text ({"text": ...})'})
    wrapped = f'HTTP 400: Received client error (400) from primary with message "{body}"'
    assert refusal_message(wrapped) == 'inputs[1] has no second text ({"text": ...})'
    assert refusal_message("HTTP 400: inputs[0] is empty") == "HTTP 400: inputs[0] is empty"


def test_predict_says_which_rows_it_was_trained_on(project, sample, capsys):
    """Rows of the training file (normalised text, and pair) are named as trained on: their accuracy is no test."""
    import dataclasses

    from {{ cookiecutter.package_name }}.serving.seen import warn_training_rows

    train = sample["train"][:50]
    new = dataclasses.replace(train[0], text="학습 파일에 없는 문장 7f3a", text_pair=train[0].text_pair, line=99)
    assert warn_training_rows(project, [*train, new]) == 50
    err = capsys.readouterr().err
    assert "warning: 50 of 51 input rows are rows the model was trained on" in err and "not a test figure" in err
    assert warn_training_rows(project, train) == 50 and "warning: all input rows" in capsys.readouterr().err
    assert warn_training_rows(project, [new]) == 0 and capsys.readouterr().err == ""
    shutil.copytree(SAMPLE_DIR, project.path("data/sample"))  # as in a fresh bake: data/raw/ holds the sample
    warn_training_rows(project, [new], project.path(project.data.data_dir) / project.data.train_file)
    assert "is the sample shipped with this project" in capsys.readouterr().err
    project.data.test_file = ""  # a one-file dataset: part of the training file is held out as the test split
    rows = sample["train"]
    seen = warn_training_rows(project, rows)
    err = capsys.readouterr().err
    assert 0.8 * len(rows) < seen < len(rows) and f"{len(rows) - seen:,} input rows are the test rows held out" in err
    project.data.train_file = "missing.tsv"
    assert warn_training_rows(project, train) == 0 and capsys.readouterr().err == ""
