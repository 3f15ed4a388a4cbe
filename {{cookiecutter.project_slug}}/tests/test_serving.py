"""Serving: the handler's contract, the local server, boto3 sagemaker-runtime, and the retrying client."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import boto3
import pytest
import requests
from botocore.config import Config as BotoConfig

from {{ cookiecutter.package_name }}.aws.client import RuntimeTarget, predict_records, run_predict
from {{ cookiecutter.package_name }}.data import Record
from {{ cookiecutter.package_name }}.evaluate import evaluate_model
from {{ cookiecutter.package_name }}.labels import LabelSchema
from {{ cookiecutter.package_name }}.serving import handler

from conftest import NSMC_DIR, read_nsmc

REVIEWS = ["정말 재밌게 봤어요 강추", "시간 낭비 최악의 영화", "배우들 연기가 좋았다", "그냥 그랬음"]


@pytest.fixture(scope="module")
def loaded(trained_model):
    return handler.model_fn(str(trained_model))


def test_json_single_and_list_inputs_keep_order_and_speak_label_names(loaded, trained_model):
    names = LabelSchema.load(trained_model / "labels.json").names
    single = handler.predict_fn(handler.input_fn(json.dumps({"inputs": REVIEWS[0]}), "application/json"), loaded)
    many = handler.predict_fn(handler.input_fn(json.dumps({"inputs": REVIEWS}), "application/json"), loaded)
    assert len(single) == 1 and len(many) == len(REVIEWS)
    assert many[0]["label"] == single[0]["label"]
    assert many[0]["score"] == pytest.approx(single[0]["score"], abs=1e-5)  # padding changes float rounding only
    for item in many:
        assert item["label"] in names and set(item["scores"]) == set(names)
        assert item["score"] == max(item["scores"].values())
        assert sum(item["scores"].values()) == pytest.approx(1.0, abs=1e-5)
    one_by_one = [handler.predict_fn([text], loaded)[0]["label"] for text in REVIEWS]
    assert [item["label"] for item in many] == one_by_one  # batching and length-sorting keep the order


def test_jsonlines_and_csv_requests_and_every_accept_type(loaded):
    jsonl = "".join(json.dumps({"text": t}, ensure_ascii=False) + "\n" for t in REVIEWS).encode("utf-8")
    csv_body = "\n".join(f'"{t}"' for t in REVIEWS).encode("utf-8")
    assert handler.input_fn(jsonl, "application/jsonlines") == REVIEWS
    assert handler.input_fn(csv_body, "text/csv; charset=utf-8") == REVIEWS
    prediction = handler.predict_fn(REVIEWS, loaded)
    body, media = handler.output_fn(prediction, "application/jsonlines")
    assert media == "application/jsonlines" and [json.loads(x) for x in body.splitlines()] == prediction
    body, media = handler.output_fn(prediction, "text/csv")
    assert media == "text/csv"
    assert [line.split(",")[0] for line in body.splitlines()] == [p["label"] for p in prediction]
    body, media = handler.output_fn(prediction, "*/*")
    assert media == "application/json" and json.loads(body) == prediction


MALFORMED = [
    ("invalid json", b'{"inputs": ', "application/json", None, 400, "invalid JSON"),
    ("wrong shape", b'{"text": "hi"}', "application/json", None, 400, '"inputs"'),
    ("non-string item", b'{"inputs": ["ok", 3]}', "application/json", None, 400, "inputs[1] is a int"),
    ("empty list", b'{"inputs": []}', "application/json", None, 400, "empty list"),
    ("too many items", json.dumps({"inputs": ["a"] * 1025}).encode(), "application/json", None, 413, "limit is 1024"),
    ("text too long", json.dumps({"inputs": ["가" * 10001]}).encode(), "application/json", None, 413, "characters"),
    ("bad jsonlines", b'{"text": 1}\n', "application/jsonlines", None, 400, "line 1"),
    ("content type", b"hello", "text/plain", None, 415, "unsupported content type"),
    ("accept", b'{"inputs": "hi"}', "application/json", "application/xml", 406, "unsupported accept type"),
    ("not utf-8", b'{"inputs": "\xff"}', "application/json", None, 400, "not valid UTF-8"),
]


@pytest.mark.parametrize(("case", "body", "content_type", "accept", "status", "message"), MALFORMED,
                         ids=[m[0] for m in MALFORMED])
def test_malformed_requests_get_4xx_json_and_the_server_keeps_serving(model_server, case, body, content_type,
                                                                      accept, status, message):
    headers = {"Content-Type": content_type, **({"Accept": accept} if accept else {})}
    bad = requests.post(f"{model_server.url}/invocations", data=body, headers=headers, timeout=30)
    assert bad.status_code == status
    assert message in bad.json()["message"]
    good = requests.post(f"{model_server.url}/invocations", json={"inputs": REVIEWS}, timeout=30)
    assert good.status_code == 200 and len(good.json()) == len(REVIEWS)


def test_ping_and_both_routes(model_server):
    assert requests.get(f"{model_server.url}/ping", timeout=10).json() == {"status": "healthy"}
    direct = requests.post(f"{model_server.url}/invocations", json={"inputs": REVIEWS}, timeout=30).json()
    runtime = requests.post(f"{model_server.url}/endpoints/any-name/invocations", json={"inputs": REVIEWS},
                            timeout=30).json()
    assert direct == runtime


def test_boto3_sagemaker_runtime_against_the_local_server(model_server, loaded, nsmc_reviews):
    texts = [text for _, text, _ in nsmc_reviews["test"][:200]]
    client = boto3.client("sagemaker-runtime", endpoint_url=model_server.url, region_name="ap-northeast-2",
                          aws_access_key_id="test", aws_secret_access_key="test",
                          config=BotoConfig(retries={"mode": "standard", "max_attempts": 3}))
    response = client.invoke_endpoint(EndpointName="local", ContentType="application/json",
                                      Accept="application/json", Body=json.dumps({"inputs": texts}).encode("utf-8"))
    served = json.loads(response["Body"].read())
    in_process = handler.predict_fn(texts, loaded)
    assert [p["label"] for p in served] == [p["label"] for p in in_process]
    assert [p["score"] for p in served] == pytest.approx([p["score"] for p in in_process], abs=1e-5)


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


def test_client_survives_503s_and_a_dropped_connection(loaded, nsmc_reviews, tmp_path):
    records = [Record(text, label, n) for n, (_, text, label) in enumerate(nsmc_reviews["test"][:300], start=2)]
    with FlakyServer(loaded) as url:
        target = RuntimeTarget("flaky", url=url, max_attempts=5, concurrency=3)
        output = tmp_path / "out.jsonl"
        summary = predict_records(records, target, output, batch_size=20, concurrency=3, names=None)
    assert summary.failed == 0 and summary.rows == 300
    assert summary.retries >= 3  # 15 chunks: the dropped one and at least two 503s were retried
    rows = [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines()]
    assert [row["line"] for row in rows] == [r.line for r in records]
    assert [row["label"] for row in rows] == [p["label"] for p in handler.predict_fn([r.text for r in records], loaded)]


def test_rows_that_finally_fail_are_reported_not_dropped(nsmc_reviews, tmp_path):
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
        records = [Record(text, None, n) for n, (_, text, _) in enumerate(nsmc_reviews["test"][:10], start=1)]
        target = RuntimeTarget("down", url=f"http://127.0.0.1:{server.server_address[1]}", max_attempts=2)
        summary = predict_records(records, target, tmp_path / "out.tsv", batch_size=5, concurrency=2, names=None)
    finally:
        server.shutdown()
        server.server_close()
    assert summary.failed == 10 and summary.retries == 2
    lines = (tmp_path / "out.tsv").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 11 and all("\tERROR\t" in line for line in lines[1:])


def test_predict_through_the_server_equals_evaluate(project, trained_model, model_server, tmp_path, capsys):
    test_file = project.path(project.data.data_dir) / project.data.test_file
    evaluated = evaluate_model(project, trained_model, test_file, tmp_path / "eval")
    failed = run_predict(project, test_file, tmp_path / "served.jsonl", url=model_server.url, batch_size=64,
                         concurrency=4)
    assert failed == 0
    err = capsys.readouterr().err
    assert f"accuracy={evaluated['accuracy']:.4f};" in err
    rows = [json.loads(line) for line in (tmp_path / "served.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(rows) == evaluated["num_examples"]
    assert sum(r["label"] == r["true_label"] for r in rows) / len(rows) == pytest.approx(evaluated["accuracy"])


def test_predict_reads_stdin_and_the_in_process_target(project, trained_model, monkeypatch, capsys, tmp_path):
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO("\n".join(REVIEWS) + "\n\n"))
    assert run_predict(project, None, None, model_dir=trained_model) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["text"] for r in rows] == REVIEWS and [r["line"] for r in rows] == [1, 2, 3, 4]


def reads_nsmc(config, schema) -> bool:
    return ((config.data.data_format, config.data.text_column, config.data.label_column) == ("tsv", "document", "label")
            and schema.num_labels == 2 and schema.encoding == "index")


@pytest.mark.slow
@pytest.mark.skipif(NSMC_DIR is None, reason="full NSMC files not found (set NSMC_DIR)")
def test_full_nsmc_test_file_through_the_server(project, schema, trained_model, model_server, tmp_path, capsys):
    import time

    if not reads_nsmc(project, schema):
        pytest.skip("this project's schema is not NSMC's")
    test_file = Path(NSMC_DIR) / "ratings_test.txt"
    config = project
    evaluated = evaluate_model(config, trained_model, test_file, tmp_path / "eval")
    started = time.perf_counter()
    failed = run_predict(config, test_file, tmp_path / "served.jsonl", url=model_server.url, batch_size=64,
                         concurrency=4)
    seconds = time.perf_counter() - started
    assert failed == 0
    rows = (tmp_path / "served.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(rows) == len(read_nsmc(test_file))
    assert f"accuracy={evaluated['accuracy']:.4f};" in capsys.readouterr().err
    print(f"{len(rows)} reviews through the server in {seconds:.1f}s ({len(rows) / seconds:.0f}/s)")
