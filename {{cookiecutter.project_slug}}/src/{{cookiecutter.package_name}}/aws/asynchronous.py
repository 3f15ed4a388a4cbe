"""`predict --endpoint-name NAME --async`: an asynchronous endpoint as one more target of the client.

Each request's body goes to S3, InvokeEndpointAsync queues it, and the answer (or the failure) is read back from
the S3 locations the call returns. Everything else is serving/client.py's: windows, order, retries within the
budget (each attempt uploads a new input, so a retry is a new invocation), isolation of a refused text, --resume.
"""

from __future__ import annotations

import json
import re
import time
import uuid

from ..config import Config
from ..errors import ConfigError
from ..serving.client import FinalError, RetryableError, RetryPolicy, classify_client_error, parse_predictions
from .session import boto_session, require_credentials, s3_uri, split_s3

CLIENT_ERROR = re.compile(r"client error \((4\d\d)\)", re.IGNORECASE)  # how SageMaker words a container's 4xx
FINAL_STATUSES = {400, 413, 415, 422}


class AsyncTarget:
    """Sends a request through an async endpoint: upload, invoke, then poll the output and failure locations
    every ``poll_seconds`` until one exists (or the policy's attempt timeout passes)."""

    def __init__(
        self,
        config: Config,
        endpoint_name: str,
        *,
        policy: RetryPolicy | None = None,
        clients=None,
        poll_seconds: float = 1.0,
    ):
        from botocore.config import Config as BotoConfig

        self.endpoint_name = endpoint_name
        self.policy = policy or RetryPolicy()
        self.poll_seconds = poll_seconds
        self.input_prefix = s3_uri(config, "async-input", endpoint_name)
        if clients is None:
            session = boto_session(config.aws.region)
            require_credentials(session)
            settings = BotoConfig(retries={"mode": "standard", "total_max_attempts": 1})
            clients = {name: session.client(name, config=settings) for name in ("s3", "sagemaker-runtime")}
        self.s3, self.runtime = clients["s3"], clients["sagemaker-runtime"]

    def send(self, texts: list[str]) -> list[dict]:
        """One attempt: returns a prediction per text; raises RetryableError or FinalError (serving/client.py)."""
        from botocore.exceptions import BotoCoreError, ClientError

        bucket_name, key = split_s3(f"{self.input_prefix}/{uuid.uuid4().hex}.json")
        body = json.dumps({"inputs": texts}, ensure_ascii=False).encode("utf-8")
        try:
            self.s3.put_object(Bucket=bucket_name, Key=key, Body=body, ContentType="application/json")
            answer = self.runtime.invoke_endpoint_async(
                EndpointName=self.endpoint_name,
                InputLocation=f"s3://{bucket_name}/{key}",
                ContentType="application/json",
                Accept="application/json",
            )
        except ClientError as error:
            raise classify_client_error(error) from None
        except BotoCoreError as error:
            raise RetryableError(f"{error.__class__.__name__}: {error}") from None
        raw = self.collect(answer["OutputLocation"], answer.get("FailureLocation"))
        return parse_predictions(raw, texts, "the async output")

    def collect(self, output: str, failure: str | None) -> bytes:
        """The output object's bytes once it exists; raises FinalError or RetryableError for a failure object
        (by the container's status), RetryableError when neither appears within the attempt timeout."""
        deadline = time.monotonic() + self.policy.attempt_timeout
        while True:
            body = self.read(output)
            if body is not None:
                return body
            failed = self.read(failure) if failure else None
            if failed is not None:
                message = failed.decode("utf-8", errors="replace").strip()[:500]
                status = CLIENT_ERROR.search(message)
                if status and int(status.group(1)) in FINAL_STATUSES:
                    raise FinalError(f"async inference failed: {message}", int(status.group(1)))
                raise RetryableError(f"async inference failed: {message}")
            if time.monotonic() > deadline:
                raise RetryableError(f"no async answer at {output} after {self.policy.attempt_timeout:.0f} s")
            time.sleep(self.poll_seconds)

    def read(self, uri: str) -> bytes | None:
        """The object's bytes, or None while it does not exist."""
        from botocore.exceptions import ClientError

        bucket_name, key = split_s3(uri)
        try:
            return self.s3.get_object(Bucket=bucket_name, Key=key)["Body"].read()
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NoSuchBucket"):
                return None
            raise classify_client_error(error) from None


def async_target(config: Config, endpoint_name: str | None, policy: RetryPolicy) -> AsyncTarget:
    """The target `predict --async` sends through; raises ConfigError without an endpoint name."""
    if not endpoint_name:
        raise ConfigError("--async needs --endpoint-name")
    return AsyncTarget(config, endpoint_name, policy=policy)
