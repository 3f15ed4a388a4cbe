"""The local server: the container routes, 4xx for every malformed request, boto3's sagemaker-runtime client."""

from __future__ import annotations

import json

import boto3
import pytest
import requests
from botocore.config import Config as BotoConfig

from {{ cookiecutter.package_name }}.serving import handler

REVIEWS = ["정말 재밌게 봤어요 강추", "시간 낭비 최악의 영화", "배우들 연기가 좋았다", "그냥 그랬음"]


@pytest.fixture(scope="module")
def loaded(trained_model):
    return handler.model_fn(str(trained_model))


MALFORMED = [
    ("invalid json", b'{"inputs": ', "application/json", None, 400, "invalid JSON"),
    ("wrong shape", b'{"text": "hi"}', "application/json", None, 400, '"inputs"'),
    ("non-string item", b'{"inputs": ["ok", 3]}', "application/json", None, 400, "inputs[1] is a int"),
    ("empty list", b'{"inputs": []}', "application/json", None, 400, "empty list"),
    ("too many items", json.dumps({"inputs": ["a"] * 1025}).encode(), "application/json", None, 413, "limit is 1024"),
    ("text too long", json.dumps({"inputs": ["가" * 10001]}).encode(), "application/json", None, 413, "characters"),
    ("too many lines", b'{"text": "a"}\n' * 1025, "application/jsonlines", None, 413, "limit is 1024"),
    ("content type", b"hello", "text/plain", None, 415, "unsupported content type"),
    ("accept", b'{"inputs": "hi"}', "application/json", "application/xml", 406, "unsupported accept type"),
    ("not utf-8", b'{"inputs": "\xff"}', "application/json", None, 400, "not valid UTF-8"),
]


@pytest.mark.parametrize(
    ("case", "body", "content_type", "accept", "status", "message"), MALFORMED, ids=[m[0] for m in MALFORMED]
)
def test_malformed_requests_get_4xx_json_and_the_server_keeps_serving(
    model_server, case, body, content_type, accept, status, message
):
    headers = {"Content-Type": content_type, **({"Accept": accept} if accept else {})}
    bad = requests.post(f"{model_server.url}/invocations", data=body, headers=headers, timeout=30)
    assert bad.status_code == status
    assert message in bad.json()["message"]
    good = requests.post(f"{model_server.url}/invocations", json={"inputs": REVIEWS}, timeout=30)
    assert good.status_code == 200 and len(good.json()) == len(REVIEWS)


def test_ping_and_both_routes(model_server):
    assert requests.get(f"{model_server.url}/ping", timeout=10).json() == {"status": "Healthy"}
    direct = requests.post(f"{model_server.url}/invocations", json={"inputs": REVIEWS}, timeout=30).json()
    runtime = requests.post(
        f"{model_server.url}/endpoints/any-name/invocations", json={"inputs": REVIEWS}, timeout=30
    ).json()
    assert direct == runtime


def test_boto3_sagemaker_runtime_against_the_local_server(model_server, loaded, sample):
    texts = [record.text for record in sample["test"][:200]]
    client = boto3.client(
        "sagemaker-runtime",
        endpoint_url=model_server.url,
        region_name="ap-northeast-2",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=BotoConfig(retries={"mode": "standard", "max_attempts": 3}),
    )
    response = client.invoke_endpoint(
        EndpointName="local",
        ContentType="application/json",
        Accept="application/json",
        Body=json.dumps({"inputs": texts}).encode("utf-8"),
    )
    served = json.loads(response["Body"].read())
    in_process = handler.predict_fn(texts, loaded)
    assert [p["label"] for p in served] == [p["label"] for p in in_process]
    assert [p["score"] for p in served] == pytest.approx([p["score"] for p in in_process], abs=1e-5)
