"""Sentence pairs served: the request forms, segment ids in fp32 and int8, the client on pair files, and an answer
that depends on both texts. The pair model's tests run where the project classifies pairs (PAIRS); a one-text
model refusing a pair is checked in every project."""

from __future__ import annotations

import csv
import io
import json

import pytest

from {{ cookiecutter.package_name }}.evaluation.evaluate import evaluate_model
from {{ cookiecutter.package_name }}.serving import handler
from {{ cookiecutter.package_name }}.serving.client import PredictRequest, run_predict

from conftest import COMPARED, PAIRS, REGRESSION, all_scores
from conftest import answer as answer_of

PAIR = {"text": "정말 재밌게 봤어요 강추", "text_pair": "배우들 연기가 좋았다"}
OTHER_PAIR = {"text": "정말 재밌게 봤어요 강추", "text_pair": "시간 낭비 최악의 영화 돈 아깝다"}
JSON, JSONLINES, CSV = "application/json", "application/jsonlines", "text/csv"
needs_pairs = pytest.mark.skipif(not PAIRS, reason="this project classifies one text a row")


def csv_answer(prediction: dict) -> str:
    """What a CSV answer's first field holds for ``prediction``: its label, multi-label its labels joined by |,
    regression nothing (its task's head writes it)."""
    return handler.answers.head_of(prediction).csv_row(prediction)[0]


def answer(body: str, content_type: str, model, accept: str = JSON):
    """The handler's answer to ``body``, parsed (JSON) or as text (other types)."""
    out, _ = handler.handle(body.encode("utf-8"), content_type, accept, model)
    return json.loads(out) if accept == JSON else out


def test_a_one_text_model_refuses_a_pair_with_one_message(text_model):
    model = handler.load(text_model, "fp32")
    with pytest.raises(handler.RequestError) as refused:
        answer(json.dumps({"inputs": [PAIR["text"], PAIR]}), JSON, model)
    assert refused.value.status == 400
    assert refused.value.message == "inputs[1] has a text_pair: this model classifies one text (send the text alone)"


@pytest.fixture(scope="module", params=["fp32", "int8"])
def pair_model(request, trained_model):
    if not PAIRS:
        pytest.skip("this project classifies one text a row")
    return handler.load(trained_model, request.param)


@needs_pairs
def test_every_request_form_takes_pairs_and_keeps_one_answer_per_line(pair_model):
    single = answer(json.dumps({"inputs": PAIR}), JSON, pair_model)
    listed = answer(json.dumps({"inputs": [PAIR, OTHER_PAIR]}), JSON, pair_model)
    assert len(single) == 1 and len(listed) == 2 and answer_of(listed[0]) == answer_of(single[0])
    lines = [json.dumps(PAIR, ensure_ascii=False), "", json.dumps({"id": 7, **OTHER_PAIR}, ensure_ascii=False)]
    jsonl = answer("\n".join(lines) + "\n", JSONLINES, pair_model, JSONLINES).splitlines()
    assert len(jsonl) == 3 and json.loads(jsonl[1]) == {"error": "line 2 is empty"}
    assert json.loads(jsonl[2])["id"] == 7 and answer_of(json.loads(jsonl[2])) == answer_of(listed[1])
    body = f"{pair_model.text_column},{pair_model.pair_column}\n{PAIR['text']},{PAIR['text_pair']}\n혼자인 글\n"
    rows = list(csv.reader(answer(body, CSV, pair_model, CSV).splitlines()))
    assert rows[0] == list(handler.CSV_HEADER) and rows[1][0] == csv_answer(single[0])
    assert rows[2][:2] == ["", ""] and rows[2][2].startswith("row 3 has no second text")


@needs_pairs
def test_a_text_without_its_pair_is_one_clear_400(pair_model):
    with pytest.raises(handler.RequestError) as refused:
        answer(json.dumps({"inputs": ["정말 재밌게 봤어요"]}), JSON, pair_model)
    assert refused.value.status == 400
    assert refused.value.message.startswith("inputs[0] has no second text: this model classifies sentence pairs")
    with pytest.raises(handler.RequestError, match="^the request has no second text"):
        answer("좋아요\n별로예요\n", CSV, pair_model, CSV)


@needs_pairs
def test_the_answer_depends_on_both_texts(pair_model):
    """Only text_pair changes: the scores move (the sample's second text carries evidence of the label)."""
    first, second = answer(json.dumps({"inputs": [PAIR, OTHER_PAIR]}), JSON, pair_model)
    assert max(abs(a - b) for a, b in zip(all_scores([first]), all_scores([second]), strict=True)) > 0.01


@needs_pairs
def test_int8_carries_the_segment_ids_and_agrees_with_fp32(trained_model, sample):
    int8, fp32 = handler.load(trained_model, "int8"), handler.load(trained_model, "fp32")
    assert int8.network.pairs and int8.network.packed  # exported with token_type_ids, texts packed into rows
    items = [{"text": r.text, "text_pair": r.text_pair} for r in sample["test"][:200]]
    fast = handler.predict_fn(items, int8)
    exact = handler.predict_fn(items, fp32)
    if REGRESSION:  # scores, not names: int8 moves each a little (model.int8_max_drop bounds its MSE)
        spread = max(all_scores(exact)) - min(all_scores(exact))
        assert max(abs(a - b) for a, b in zip(all_scores(fast), all_scores(exact), strict=True)) < 0.1 * spread
    else:
        agreement = sum(answer_of(a) == answer_of(b) for a, b in zip(fast, exact, strict=True)) / len(items)
        assert agreement >= 0.97
        assert max(abs(a - b) for a, b in zip(all_scores(fast), all_scores(exact), strict=True)) < 0.1
    metrics = json.loads((trained_model / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["int8"]["packed"] is True


@needs_pairs
@pytest.mark.parametrize("suffix", [".jsonl", ".tsv"])
def test_predict_on_a_pair_file_writes_both_texts_and_equals_evaluate(project, trained_model, tmp_path, capsys, suffix):
    test_file = project.path(project.data.data_dir) / project.data.test_file
    evaluated = evaluate_model(project, trained_model, test_file, tmp_path / "eval", precision="fp32")
    with open(tmp_path / "eval" / "errors.tsv", encoding="utf-8", newline="") as handle:
        assert next(csv.reader(handle, delimiter="\t"))[-2:] == ["text", "text_pair"]
    output = tmp_path / f"out{suffix}"
    summary = run_predict(
        project, PredictRequest(input_file=test_file, output=output, model_dir=trained_model, precision="fp32")
    )
    assert summary.failed == []
    assert f"{COMPARED}={evaluated[COMPARED]:.4f};" in capsys.readouterr().err
    if suffix == ".jsonl":
        rows = [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines()]
        assert all(row["text"] and row["text_pair"] for row in rows)
    else:
        with open(output, encoding="utf-8-sig", newline="") as handle:
            rows = list(csv.DictReader(handle, delimiter="\t"))
        assert list(rows[0])[-2:] == ["text", "text_pair"] and all(row["text_pair"] for row in rows)
    assert len(rows) == evaluated["num_examples"]


@needs_pairs
@pytest.mark.parametrize("form", ["tsv", "jsonl", "handler-keys"])
def test_predict_reads_pairs_from_stdin_with_a_header(project, trained_model, tmp_path, monkeypatch, capsys, form):
    """Issue 32: a tab-separated line and a JSON line were both refused; a header line was classified as a text."""
    first, second = project.data.text_column, project.data.text_pair_column
    pairs = [("정말 재밌게 봤어요", "최고의 영화"), ("시간 아까운 영화", "지루하다")]
    if form == "tsv":
        lines = [f"{first}\t{second}", *(f"{a}\t{b}" for a, b in pairs)]
    else:
        keys = (first, second) if form == "jsonl" else ("text", "text_pair")
        lines = [json.dumps(dict(zip(keys, pair, strict=True)), ensure_ascii=False) for pair in pairs]
    monkeypatch.setattr("sys.stdin", io.StringIO("\n".join(lines) + "\n"))
    summary = run_predict(project, PredictRequest(model_dir=trained_model, precision="fp32"))
    captured = capsys.readouterr()
    assert summary.failed == [], captured.err
    rows = [json.loads(line) for line in captured.out.splitlines()]
    assert [(row["text"], row["text_pair"]) for row in rows] == pairs
    assert ("read as a header" in captured.err) == (form == "tsv")


@needs_pairs
def test_a_stdin_line_without_its_pair_is_refused_whole_and_by_the_model(project, trained_model, monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", io.StringIO("정말 재밌게 봤어요\t최고의 영화\n두 번째 텍스트가 없는 줄\n"))
    summary = run_predict(project, PredictRequest(model_dir=trained_model, precision="fp32"))
    assert [line for line, _ in summary.failed] == [2]
    reason = summary.failed[0][1]
    assert reason.startswith("refused by the model: the text has no second text") and "server" not in reason
    assert '{"text": ..., "text_pair": ...}' in reason  # the whole message, not cut at the braces


@needs_pairs
def test_a_stdin_line_with_an_empty_second_text_is_refused_naming_the_second_text(project, trained_model, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("정말 재밌게 봤어요\t최고의 영화\n두 번째 텍스트가 빈 줄\t\u200b\n"))
    summary = run_predict(project, PredictRequest(model_dir=trained_model, precision="fp32"))
    assert summary.failed == [(2, "refused by the model: the second text (text_pair) is empty")]
