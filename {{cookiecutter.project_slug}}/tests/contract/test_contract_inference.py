"""The handler inside the real Hugging Face inference toolkit, loaded from the model.tar.gz that deploy uploads."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest
import requests

from {{ cookiecutter.package_name }}.artifact_files import (
    LABELS_FILE,
    NGRAM_WEIGHTS_FILE,
    TRAINING_CONFIG_FILE,
)
from {{ cookiecutter.package_name }}.aws.deploy import container_environment
from {{ cookiecutter.package_name }}.aws.images import INFERENCE
from {{ cookiecutter.package_name }}.aws.package import build_model_tar
from {{ cookiecutter.package_name }}.config import CONFIG_FILE, load_config
from {{ cookiecutter.package_name }}.serving import handler, request_rules

from conftest import (
    CONTAINER_TRANSFORMERS,
    MULTI_LABEL,
    PAIRS,
    PROJECT_ROOT,
    REGRESSION,
    all_scores,
    answer,
    same_answers,
)
from sagemaker_toolkits import (
    SIBLING_MODULES,
    MmsServer,
    inference_toolkit_missing,
    invoke,
    java_available,
    load_service,
    unpack,
)

pytestmark = [pytest.mark.contract, pytest.mark.container]
if inference_toolkit_missing():
    pytest.skip(inference_toolkit_missing(), allow_module_level=True)
REGION = "ap-northeast-2"
# The MMS server and batch transform run in the inference container only: under another pin (make contract's
# training container) they are left to the inference pin's run.
inference_container_only = pytest.mark.skipif(
    CONTAINER_TRANSFORMERS not in (None, INFERENCE.transformers_version),
    reason="the MMS server and batch transform run in the inference container: its pin's run covers them",
)
REVIEWS = ["정말 재밌게 봤어요 강추", "시간 낭비 최악의 영화", "배우들 연기가 좋았다", "그냥 그랬음"]
JSON, JSONLINES, CSV = "application/json", "application/jsonlines", "text/csv"
PAIR_ITEMS = [
    {"text": "정말 재밌게 봤어요 강추", "text_pair": "배우들 연기가 좋았다"},
    {"text": "정말 재밌게 봤어요 강추", "text_pair": "시간 낭비 최악의 영화"},
    {"text": "그냥 그랬음, 별로", "text_pair": "그냥 그랬음"},
]


def environment(batch: bool = False, precision: str = "auto") -> dict[str, str]:
    """The container Environment deploy sends for a real-time endpoint, or for a batch transform model."""
    return container_environment(load_config(PROJECT_ROOT / CONFIG_FILE), REGION, batch, precision)


@pytest.fixture(scope="module")
def container_model(text_model, tmp_path_factory):
    folder = tmp_path_factory.mktemp("container")
    build_model_tar(text_model, folder / "model.tar.gz")  # exactly what deploy uploads
    return unpack(folder / "model.tar.gz", folder / "model")


@pytest.fixture(scope="module")
def service(container_model):
    return load_service(container_model, environment())


@pytest.fixture(scope="module")
def in_process(text_model):
    return handler.model_fn(str(text_model))


@pytest.fixture(scope="module")
def pair_container_model(trained_model, tmp_path_factory):
    """The sentence-pair model (a pair project's trained_model) as deploy uploads it, unpacked."""
    if not PAIRS:
        pytest.skip("this project classifies one text a row")
    folder = tmp_path_factory.mktemp("pair-container")
    build_model_tar(trained_model, folder / "model.tar.gz")
    return unpack(folder / "model.tar.gz", folder / "model")


@pytest.mark.parametrize("precision", ["int8", "fp32"])
def test_the_toolkit_serves_sentence_pairs_in_every_body(pair_container_model, trained_model, precision):
    """Pairs through the real toolkit: a JSON list of {"text", "text_pair"}, JSON Lines of them (batch transform's
    body) and two-column CSV answer what the handler answers in this process; a text without its pair is a 400."""
    service = load_service(pair_container_model, environment(precision=precision))
    expected = handler.predict_fn(PAIR_ITEMS, handler.load(trained_model, precision))
    status, _, body = invoke(service, json.dumps({"inputs": PAIR_ITEMS}).encode("utf-8"), JSON, JSON)
    assert status == 200, body
    rows = json.loads(body)
    assert same_answers([answer(row) for row in rows], [answer(row) for row in expected])
    assert all_scores(rows) == pytest.approx(all_scores(expected), abs=1e-5)
    lines = "".join(json.dumps(item, ensure_ascii=False) + "\n" for item in PAIR_ITEMS).encode("utf-8")
    status, _, body = invoke(service, lines, JSONLINES, JSONLINES)
    assert status == 200 and [answer(json.loads(line)) for line in body.decode("utf-8").splitlines()] == [
        answer(row) for row in expected
    ]
    table = "".join(f'"{item["text"]}","{item["text_pair"]}"\n' for item in PAIR_ITEMS).encode("utf-8")
    status, _, body = invoke(service, table, CSV, CSV)
    assert status == 200 and len(body.decode("utf-8").splitlines()) == len(PAIR_ITEMS), body
    status, _, body = invoke(service, json.dumps({"inputs": REVIEWS}).encode("utf-8"), JSON, JSON)
    assert status == 400 and b"no second text" in body


@pytest.mark.parametrize("kind", ["ensemble", "ngram"])
def test_the_toolkit_serves_the_ensemble_and_the_ngram_model_alone(kind, ensemble_model, tmp_path):
    """train's mix of transformer and n-gram model, and an n-gram model alone (the baseline's artifact: no
    transformer), from the model.tar.gz deploy uploads: what the handler answers in this process, in JSON and CSV."""
    source = ensemble_model
    if kind == "ngram":
        source = tmp_path / "ngram"
        source.mkdir()
        for name in (NGRAM_WEIGHTS_FILE, LABELS_FILE, TRAINING_CONFIG_FILE):
            shutil.copy(ensemble_model / name, source / name)
    build_model_tar(source, tmp_path / "model.tar.gz")
    service = load_service(unpack(tmp_path / "model.tar.gz", tmp_path / "model"), environment())
    expected = handler.predict_fn(REVIEWS, handler.load(source))
    status, _, body = invoke(service, json.dumps({"inputs": REVIEWS}).encode("utf-8"), JSON, JSON)
    assert status == 200, body
    assert all_scores(json.loads(body)) == pytest.approx(all_scores(expected), abs=1e-5)
    status, _, body = invoke(service, "\n".join(REVIEWS).encode("utf-8"), CSV, CSV)
    assert status == 200 and len(body.decode("utf-8").splitlines()) == len(REVIEWS), body


def test_the_handler_imports_its_siblings_from_code(service, container_model):
    """code/inference.py finds its siblings (model/batching.py, model/ngram_scorer.py, artifact_files.py, answers.py,
    serving/request_rules.py) in code/: the toolkit puts code/ on sys.path."""
    code = (container_model / "code").resolve()
    assert Path(sys.modules["inference"].__file__).resolve().parent == code
    for name in SIBLING_MODULES:
        assert Path(sys.modules[name].__file__).resolve() == code / f"{name}.py"


def test_json_string_and_list_come_back_as_a_list_of_predictions(service, in_process):
    status, _, body = invoke(service, json.dumps({"inputs": REVIEWS}).encode("utf-8"), JSON, JSON)
    assert status == 200, body
    rows = json.loads(body)
    assert isinstance(rows, list) and len(rows) == len(REVIEWS)
    keys = {"labels", "scores"} if MULTI_LABEL else {"score"} if REGRESSION else {"label", "score", "scores"}
    assert all(set(row) == keys for row in rows)
    assert same_answers([answer(row) for row in rows], [answer(p) for p in handler.predict_fn(REVIEWS, in_process)])
    status, _, body = invoke(service, json.dumps({"inputs": REVIEWS[0]}).encode("utf-8"), JSON, None)
    assert status == 200 and same_answers([answer(json.loads(body)[0])], [answer(rows[0])])


@pytest.mark.parametrize("precision", ["int8", "fp32"])
def test_the_toolkit_serves_the_precision_deploy_sets(container_model, text_model, precision):
    service = load_service(container_model, environment(precision=precision))
    status, _, body = invoke(service, json.dumps({"inputs": REVIEWS}).encode("utf-8"), JSON, JSON)
    assert status == 200, body
    expected = handler.predict_fn(REVIEWS, handler.load(text_model, precision))
    rows = json.loads(body)
    assert same_answers([answer(row) for row in rows], [answer(row) for row in expected])
    assert all_scores(rows) == pytest.approx(all_scores(expected), abs=1e-5)


def test_json_lines_give_one_line_per_input_line_with_ids(service):
    lines = [
        json.dumps({"id": "a", "text": REVIEWS[0]}, ensure_ascii=False),
        "",
        '{"text": 3}',
        "{broken",
        json.dumps({"text": REVIEWS[1]}, ensure_ascii=False),
    ]
    status, _, body = invoke(service, ("\n".join(lines) + "\n").encode("utf-8"), JSONLINES, JSONLINES)
    assert status == 200, body
    rows = [json.loads(line) for line in body.decode("utf-8").splitlines()]
    assert len(rows) == len(lines)
    assert rows[0]["id"] == "a" and "error" not in rows[0] and len(rows[0]) > 1
    assert [("error" in row) for row in rows] == [False, True, True, True, False]
    assert rows[1]["error"] == "line 2 is empty"


def test_csv_gives_label_score_rows(service, in_process):
    body = "\n".join(f'"{text}"' for text in REVIEWS).encode("utf-8")
    status, _, answer = invoke(service, body, CSV, CSV)
    assert status == 200, answer
    rows = [line.split(",") for line in answer.decode("utf-8").splitlines()]
    expected = handler.predict_fn(REVIEWS, in_process)
    if MULTI_LABEL:  # the labels joined, no single score
        assert [row[0] for row in rows] == ["|".join(p["labels"]) for p in expected]
        return
    if REGRESSION:  # no label, the score
        assert [row[0] for row in rows] == [""] * len(expected)
        assert [float(row[1]) for row in rows] == pytest.approx([p["score"] for p in expected], abs=1e-5)
        return
    assert [row[0] for row in rows] == [p["label"] for p in expected]
    assert all(0 <= float(row[1]) <= 1 for row in rows)


def test_accept_lists_and_a_utf8_bom_work_in_the_container(service):
    status, _, body = invoke(service, b'{"inputs": "good"}', JSON, "application/json, text/plain, */*")
    assert status == 200 and isinstance(json.loads(body), list)
    status, _, body = invoke(service, '\ufeff{"inputs": "좋아요"}'.encode(), JSON, JSON)
    assert status == 200, body


def test_decomposed_hangul_classifies_as_composed_in_the_container(service):
    """Issue 26: NFD text (macOS, some web forms) once tokenised to [UNK] in the container."""
    import unicodedata

    answers = []
    for text in ("좋아요", unicodedata.normalize("NFD", "좋아요")):
        status, _, body = invoke(service, json.dumps({"inputs": text}).encode("utf-8"), JSON, JSON)
        assert status == 200, body
        answers.append(json.loads(body))
    assert answers[0] == answers[1]
    status, _, body = invoke(service, unicodedata.normalize("NFD", "좋아요\n").encode("utf-8"), CSV, JSON)
    assert status == 200 and json.loads(body) == answers[0]


def test_a_zero_width_space_is_refused_like_an_empty_text_in_the_container(service):
    for text in ("\u200b", "", "\ufeff \u3164"):
        status, _, body = invoke(service, json.dumps({"inputs": text}).encode("utf-8"), JSON, JSON)
        assert status == 400 and "inputs[0] is empty" in body.decode("utf-8"), (text, body)


def test_a_csv_body_keeps_one_row_per_line_and_a_header_in_the_container(service):
    status, _, body = invoke(service, b'a\n"b\nc\n', CSV, CSV)
    rows = body.decode("utf-8").splitlines()
    assert status == 200 and len(rows) == 3 and rows[1].startswith(",,row 2 is not valid CSV"), body
    column = load_config(PROJECT_ROOT / CONFIG_FILE).data.text_column
    status, _, body = invoke(service, f"{column}\n".encode(), CSV, JSON)
    assert status == 200 and json.loads(body) == [{"header": column}]


ERRORS = [
    (b'{"inputs": ', JSON, JSON, "invalid JSON"),
    (b"hello", "text/plain", JSON, "unsupported content type"),
    (b'{"inputs": "good"}', JSON, "application/xml", "unsupported accept type"),
    (json.dumps({"inputs": ["a"] * 1025}).encode(), JSON, JSON, "1025 inputs in one request; the limit is 1024"),
    (b'{"inputs": "\\ud800"}', JSON, JSON, "unpaired surrogate"),
    (b'{"inputs": [' * 100_000, JSON, JSON, "invalid JSON"),
]


@pytest.mark.parametrize(("body", "content_type", "accept", "message"), ERRORS, ids=[e[3][:20] for e in ERRORS])
def test_client_errors_are_400_with_the_message(service, body, content_type, accept, message):
    status, _, answer = invoke(service, body, content_type, accept)
    assert status == 400 and message in answer.decode("utf-8")


def test_a_bad_accept_is_refused_before_any_prediction(service):
    toolkit = service._entry_point.__self__
    calls = []
    original = toolkit.predict
    toolkit.predict = lambda *args: calls.append(1) or original(*args)
    try:
        status, _, _ = invoke(service, b'{"inputs": "good"}', JSON, "application/xml")
    finally:
        toolkit.predict = original
    assert status == 400 and calls == []


def test_the_local_server_answers_what_the_container_answers(service, model_server):
    for body, content_type in (
        (json.dumps({"inputs": REVIEWS}, ensure_ascii=False).encode(), JSON),
        (("\n".join(json.dumps({"text": t}, ensure_ascii=False) for t in REVIEWS) + "\n").encode(), JSONLINES),
        ("\n".join(REVIEWS).encode(), CSV),
    ):
        _, _, container = invoke(service, body, content_type, content_type)
        local = requests.post(
            f"{model_server.url}/invocations",
            data=body,
            timeout=30,
            headers={"Content-Type": content_type, "Accept": content_type},
        )
        assert local.status_code == 200 and local.content == container
    _, _, container = invoke(service, b'{"inputs": ', JSON, JSON)
    local = requests.post(
        f"{model_server.url}/invocations", data=b'{"inputs": ', timeout=30, headers={"Content-Type": JSON}
    )
    assert local.status_code == 400 and local.json()["message"] == container.decode("utf-8")
    assert set(local.json()) == {"code", "type", "message"}  # the container's error body


def batch_transform_chunks(lines: list[str], max_payload_mb: int) -> list[list[str]]:
    """How batch transform cuts a file with SplitType=Line and BatchStrategy=MultiRecord: whole lines, as many
    as fit in MaxPayloadInMB."""
    limit, chunks, current, size = max_payload_mb * 1024 * 1024, [], [], 0
    for line in lines:
        length = len(line.encode("utf-8")) + 1
        if current and size + length > limit:
            chunks.append(current)
            current, size = [], 0
        current.append(line)
        size += length
    return [*chunks, current] if current else chunks


@inference_container_only
@pytest.mark.slow
def test_batch_transform_50000_lines_in_6_mb_mini_batches_stay_aligned(container_model, sample):
    config = load_config(PROJECT_ROOT / CONFIG_FILE)
    batch = load_service(container_model, environment(batch=True))
    texts = [record.text for record in sample["train"]]
    lines = []
    for number in range(50_000):
        text = texts[number % len(texts)] * (1 + number % 3)  # some long lines: fewer per mini-batch
        if number % 997 == 0:
            lines.append("")  # blank line
        elif number % 1999 == 0:
            lines.append('{"id": ' + str(number) + ', "text": ')  # cut-off JSON
        else:
            lines.append(json.dumps({"id": number, "text": text}, ensure_ascii=False))
    chunks = batch_transform_chunks(lines, config.aws.max_payload_mb)
    assert (
        len(chunks) >= 2 and max(len(chunk) for chunk in chunks) > request_rules.MAX_ITEMS
    )  # far past the real-time cap
    output = []
    for chunk in chunks:
        status, _, body = invoke(batch, ("\n".join(chunk) + "\n").encode("utf-8"), JSONLINES, JSONLINES)
        assert status == 200, body[:300]
        answer = body.decode("utf-8").splitlines()
        assert len(answer) == len(chunk)
        output += answer
    assert len(output) == len(lines) == 50_000
    for number, (line, result) in enumerate(zip(lines, output, strict=True)):
        row = json.loads(result)
        if line.startswith('{"id": ' + str(number) + ', "text": "'):
            assert row["id"] == number and "error" not in row and len(row) > 1, (number, row)
        else:
            assert "error" in row and "id" not in row, (number, row)


@pytest.mark.skipif(
    not java_available(),
    reason="no Java runtime: the real MMS server needs one "
    "(apt-get install default-jre-headless); the in-process toolkit tests above still ran",
)
@inference_container_only
@pytest.mark.slow
def test_the_real_mms_server_over_http(container_model, tmp_path):
    """Two servers at once, as two suites running side by side start them: each keeps its own pid file."""
    with (
        MmsServer(container_model, tmp_path / "mms", environment()) as server,
        MmsServer(container_model, tmp_path / "other", environment()) as other,
    ):
        assert (server.temp_dir / ".model_server.pid").is_file() and (other.temp_dir / ".model_server.pid").is_file()
        assert requests.get(f"{other.url}/ping", timeout=10).json() == {"status": "Healthy"}
        assert requests.get(f"{server.url}/ping", timeout=10).json() == {"status": "Healthy"}
        good = requests.post(f"{server.url}/invocations", json={"inputs": REVIEWS}, timeout=60)
        assert good.status_code == 200 and len(good.json()) == len(REVIEWS)
        bad = requests.post(
            f"{server.url}/invocations", data=b'{"inputs": ', timeout=60, headers={"Content-Type": JSON}
        )
        assert bad.status_code == 400
        assert bad.json()["code"] == 400 and "invalid JSON" in bad.json()["message"]
