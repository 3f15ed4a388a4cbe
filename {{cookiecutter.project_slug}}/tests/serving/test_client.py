"""The predict client: order kept, retries, failed rows reported, predict == evaluate."""

from __future__ import annotations

import csv
import dataclasses
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from {{ cookiecutter.package_name }}.data.report import Record
from {{ cookiecutter.package_name }}.errors import PredictError
from {{ cookiecutter.package_name }}.evaluation.evaluate import evaluate_model
from {{ cookiecutter.package_name }}.serving import handler
from {{ cookiecutter.package_name }}.serving.client import (
    InProcessTarget,
    PredictRequest,
    RetryPolicy,
    RuntimeTarget,
    classify,
    predict_records,
    run_predict,
)
from {{ cookiecutter.package_name }}.serving.output import TABLE_HEADER

from conftest import NSMC_DIR, answer, true_answer

REVIEWS = ["정말 재밌게 봤어요 강추", "시간 낭비 최악의 영화", "배우들 연기가 좋았다", "그냥 그랬음"]


@pytest.fixture(scope="module")
def loaded(text_model):
    return handler.model_fn(str(text_model))


class FlakyServer:
    """Wraps the real handler; answers 503 to every 5th request and drops the 3rd connection."""

    def __init__(self, model):
        self.count = 0
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with outer.lock:
                    outer.count += 1
                    number = outer.count
                if number == 3:
                    self.close_connection = True
                    self.connection.shutdown(2)  # no response at all
                    return
                if number % 5 == 0:
                    payload, status, media = b'{"message": "try again"}', 503, "application/json"
                else:
                    with outer.lock:
                        text, media = handler.handle(body, self.headers["Content-Type"], self.headers["Accept"], model)
                    payload, status = text.encode("utf-8"), 200
                self.send_response(status)
                self.send_header("Content-Type", media)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def test_client_survives_503s_and_a_dropped_connection(loaded, text_model, sample, tmp_path):
    records = [dataclasses.replace(record, text_pair=None) for record in sample["test"][:300]]  # text_model: one text
    with FlakyServer(loaded) as url:
        target = RuntimeTarget("flaky", url=url, policy=RetryPolicy(base_delay=0.05), concurrency=3)
        output = tmp_path / "out.jsonl"
        summary = predict_records(
            records,
            target,
            PredictRequest(output=output, batch_size=20, concurrency=3, policy=RetryPolicy(base_delay=0.05)),
        )
    assert summary.failed == [] and summary.rows == 300
    assert summary.retries >= 3  # 15 chunks: the dropped one and at least two 503s were retried
    rows = [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines()]
    assert [row["line"] for row in rows] == [r.line for r in records]
    # the same requests in this process, without faults (int8 scales activations per batch: same batches)
    windows = classify([r.text for r in records], InProcessTarget(text_model), 20, concurrency=3, show_progress=False)
    assert [answer(row) for row in rows] == [answer(p) for window in windows for p in window.predictions]


def test_rows_that_finally_fail_are_reported_not_dropped(sample, tmp_path):
    class AlwaysDown(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(503)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), AlwaysDown)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        records = [Record(r.text, None, n) for n, r in enumerate(sample["test"][:10], start=1)]
        policy = RetryPolicy(max_attempts=2, base_delay=0.01)
        target = RuntimeTarget("down", url=f"http://127.0.0.1:{server.server_address[1]}", policy=policy)
        summary = predict_records(
            records, target, PredictRequest(output=tmp_path / "out.tsv", batch_size=5, concurrency=2, policy=policy)
        )
    finally:
        server.shutdown()
        server.server_close()
    assert len(summary.failed) == 10 and summary.retries == 2  # two requests, each sent twice
    lines = (tmp_path / "out.tsv").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 11 and all("\tERROR\t" in line for line in lines[1:])


def test_predict_through_the_server_equals_evaluate(project, text_model, fp32_server, tmp_path, capsys):
    project = project.override(
        {"text_pair_column": ""}
    )  # text_model reads one text (pairs: tests/serving/test_pairs.py)
    test_file = project.path(project.data.data_dir) / project.data.test_file
    evaluated = evaluate_model(project, text_model, test_file, tmp_path / "eval", precision="fp32")
    summary = run_predict(
        project,
        PredictRequest(
            input_file=test_file, output=tmp_path / "served.jsonl", url=fp32_server.url, batch_size=64, concurrency=4
        ),
    )
    assert summary.failed == []
    err = capsys.readouterr().err
    assert f"accuracy={evaluated['accuracy']:.4f};" in err
    rows = [json.loads(line) for line in (tmp_path / "served.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(rows) == evaluated["num_examples"]
    assert sum(answer(r) == true_answer(r) for r in rows) / len(rows) == pytest.approx(evaluated["accuracy"])


def test_predict_reads_stdin_and_the_in_process_target(project, text_model, monkeypatch, capsys, tmp_path):
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO("\n".join(REVIEWS) + "\n\n"))
    assert run_predict(project, PredictRequest(model_dir=text_model)).failed == []
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["text"] for r in rows] == REVIEWS and [r["line"] for r in rows] == [1, 2, 3, 4]


def reads_nsmc(config, schema) -> bool:
    return (
        (config.data.data_format, config.data.text_column, config.data.label_column) == ("tsv", "document", "label")
        and schema.num_labels == 2
        and schema.encoding == "index"
    )


@pytest.mark.slow
@pytest.mark.skipif(NSMC_DIR is None, reason="full NSMC files not found (set NSMC_DIR)")
def test_full_nsmc_test_file_through_the_server(project, schema, text_model, fp32_server, tmp_path, capsys):
    import time

    if not reads_nsmc(project, schema):
        pytest.skip("this project's schema is not NSMC's")
    test_file = Path(NSMC_DIR) / "ratings_test.txt"
    config = project
    evaluated = evaluate_model(config, text_model, test_file, tmp_path / "eval", precision="fp32")
    started = time.perf_counter()
    summary = run_predict(
        config,
        PredictRequest(
            input_file=test_file, output=tmp_path / "served.jsonl", url=fp32_server.url, batch_size=64, concurrency=4
        ),
    )
    seconds = time.perf_counter() - started
    assert summary.failed == []
    rows = (tmp_path / "served.jsonl").read_text(encoding="utf-8").splitlines()
    lines = test_file.read_text(encoding="utf-8").split("\n")[1:]
    assert len(rows) == sum(1 for line in lines if line and line.split("\t")[1].strip())  # every non-empty review
    assert f"accuracy={evaluated['accuracy']:.4f};" in capsys.readouterr().err
    print(f"{len(rows)} reviews through the server in {seconds:.1f}s ({len(rows) / seconds:.0f}/s)")


def test_tsv_output_keeps_tabs_and_newlines_inside_fields(text_model, tmp_path):
    records = [Record("첫 줄\n둘째 줄\t탭", None, 1, row_id="a\tb"), Record("보통 리뷰", None, 2, row_id="c")]
    output = tmp_path / "out.tsv"
    predict_records(records, InProcessTarget(text_model), PredictRequest(output=output), show_progress=False)
    with open(output, encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle, delimiter="\t"))
    assert rows[0] == list(TABLE_HEADER) and len(rows) == 3
    assert rows[1][1] == "a\tb" and rows[1][4] == "첫 줄\n둘째 줄\t탭"


def test_a_csv_output_opens_in_a_spreadsheet_with_korean_intact(text_model, tmp_path):
    """UTF-8 with a byte-order mark: Korean Excel reads it as UTF-8 (without one it guesses cp949)."""
    records = [Record("배송이 늦어요, 정말", None, 1, row_id="100077"), Record('"최고" 상품', None, 2, row_id="100078")]
    output = tmp_path / "predictions.csv"
    predict_records(records, InProcessTarget(text_model), PredictRequest(output=output), show_progress=False)
    raw = output.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and raw.count(b"\xef\xbb\xbf") == 1
    with open(output, encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == list(TABLE_HEADER) and [row[4] for row in rows[1:]] == ["배송이 늦어요, 정말", '"최고" 상품']
    assert [row[1] for row in rows[1:]] == ["100077", "100078"]
    resumed = predict_records(
        records, InProcessTarget(text_model), PredictRequest(output=output, resume=True), show_progress=False
    )
    assert resumed.skipped == 2 and output.read_bytes() == raw  # resuming keeps one BOM and every row


def test_a_table_output_in_the_input_encoding_on_request(text_model, tmp_path):
    records = [Record("환불 문의합니다", None, 1)]
    output = tmp_path / "predictions.tsv"
    predict_records(
        records,
        InProcessTarget(text_model),
        PredictRequest(output=output, encoding="input"),
        show_progress=False,
        input_encoding="cp949",
    )
    assert output.read_bytes().decode("cp949").splitlines()[1].endswith("\t환불 문의합니다")


@pytest.mark.parametrize("name", ["predictions.xlsx", "predictions.json", "predictions"])
def test_an_output_extension_it_does_not_know_is_refused_before_any_work(text_model, tmp_path, name):
    with pytest.raises(PredictError, match="unknown extension"):
        predict_records(
            [Record("좋아요", None, 1)], InProcessTarget(text_model), PredictRequest(output=tmp_path / name)
        )
    assert not (tmp_path / name).exists()


def test_an_existing_output_is_never_overwritten_silently(text_model, tmp_path):
    output = tmp_path / "out.jsonl"
    output.write_text('{"line": 1, "label": "kept"}\n', encoding="utf-8")
    records = [Record("좋아요", None, 1), Record("별로", None, 2)]
    with pytest.raises(PredictError, match="pass --resume to finish it, or --overwrite to replace it"):
        predict_records(records, InProcessTarget(text_model), PredictRequest(output=output), show_progress=False)
    assert output.read_text(encoding="utf-8") == '{"line": 1, "label": "kept"}\n'
    summary = predict_records(
        records, InProcessTarget(text_model), PredictRequest(output=output, resume=True), show_progress=False
    )
    assert summary.skipped == 1 and len(output.read_text(encoding="utf-8").splitlines()) == 2
    predict_records(
        records, InProcessTarget(text_model), PredictRequest(output=output, overwrite=True), show_progress=False
    )
    assert [json.loads(line)["line"] for line in output.read_text(encoding="utf-8").splitlines()] == [1, 2]


def test_resume_repairs_a_cut_last_line_and_redoes_failed_rows(text_model, tmp_path):
    output = tmp_path / "out.jsonl"
    output.write_text('{"line": 1, "label": "x"}\n{"line": 2, "error": "HTTP 503"}\n{"line": 3, "lab', encoding="utf-8")
    records = [Record(text, None, n) for n, text in enumerate(["좋아요", "별로", "그냥", "최고"], start=1)]
    summary = predict_records(
        records, InProcessTarget(text_model), PredictRequest(output=output, resume=True), show_progress=False
    )
    rows = [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines()]
    assert [row["line"] for row in rows] == [1, 2, 3, 4] and summary.skipped == 1
    assert all("error" not in row for row in rows)
