"""Shared AWS plumbing: sessions that honour the standard environment, clear setup errors, resource names
and tags."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass

from ..config import CONFIG_FILE, Config
from ..errors import AwsSetupError

ROLE_ENV = "SAGEMAKER_ROLE_ARN"
MAX_NAME = 63  # SageMaker resource names


def boto_session(region: str):
    """A boto3 session for ``region`` (AWS_REGION / AWS_DEFAULT_REGION win when set).

    Clients made from it honour AWS_ENDPOINT_URL and the usual credential chain, so the same commands
    run against a moto server on 127.0.0.1.
    """
    import boto3

    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or region
    if not region:
        raise AwsSetupError(f"no AWS region: set aws.region in {CONFIG_FILE} or AWS_REGION")
    return boto3.Session(region_name=region)


def require_credentials(session) -> None:
    """Raise AwsSetupError (how to configure them) when the session has no credentials."""
    if session.get_credentials() is None:
        raise AwsSetupError(
            "no AWS credentials found: run 'aws configure' or set AWS_ACCESS_KEY_ID / "
            "AWS_SECRET_ACCESS_KEY (or AWS_PROFILE)"
        )


def role_arn(config: Config) -> str:
    """The execution role: SAGEMAKER_ROLE_ARN, else aws.role_arn; raises AwsSetupError when neither is set."""
    role = os.environ.get(ROLE_ENV) or config.aws.role_arn
    if not role:
        raise AwsSetupError(f"no SageMaker execution role: set aws.role_arn in {CONFIG_FILE} or {ROLE_ENV}")
    return role


def bucket(config: Config) -> str:
    """The configured S3 bucket; raises AwsSetupError when none is set."""
    if not config.aws.bucket:
        raise AwsSetupError(f"no S3 bucket: pass --bucket or set aws.bucket in {CONFIG_FILE}")
    return config.aws.bucket


def s3_uri(config: Config, *parts: str) -> str:
    """s3://BUCKET/PREFIX/parts...; raises AwsSetupError without a bucket."""
    key = "/".join(p.strip("/") for p in (config.aws.s3_prefix, *parts) if p)
    return f"s3://{bucket(config)}/{key}"


def stamp() -> str:
    """A UTC time stamp for resource names: 20261125-143000."""
    return time.strftime("%Y%m%d-%H%M%S", time.gmtime())


def name_base(config: Config, limit: int) -> str:
    """A SageMaker-safe name from the S3 prefix: letters, digits and '-'."""
    return config.aws.s3_prefix.replace("/", "-").replace("_", "-")[:limit].strip("-")


def tags(config: Config) -> list[dict[str, str]]:
    """aws.tags as SageMaker's Key/Value list."""
    return [{"Key": str(key), "Value": str(value)} for key, value in config.aws.tags.items()]


def print_requests(requests: list[tuple[str, dict]]) -> None:
    """--dry-run output: the exact API calls, as JSON, one object per call. Returns None."""
    for operation, params in requests:
        print(json.dumps({"operation": operation, "params": params}, ensure_ascii=False, indent=2, default=str))


SERVICES = ("s3", "sagemaker", "application-autoscaling", "sagemaker-runtime")


@dataclass
class Step:
    """One named API request of a plan: ``service``'s ``operation`` (the API's own name, e.g. CreateModel) with
    ``params``. ``run`` (given the clients) replaces the plain call where a step does more than one call: an
    upload of a file built on the way, create-or-update. ``validates_as``: the operation whose input shape the
    params follow, when ``operation`` is a description such as "CreateEndpoint or UpdateEndpoint"."""

    service: str
    operation: str
    params: dict
    run: Callable[[dict], object] | None = None
    validates_as: str = ""

    def execute(self, clients: dict):
        """Send the request through ``clients[service]`` (or ``run``); returns the call's answer, raises what
        botocore raises."""
        if self.run is not None:
            return self.run(clients)
        from botocore import xform_name

        return getattr(clients[self.service], xform_name(self.operation))(**self.params)


def print_plan(plan: list[Step]) -> list[Step]:
    """--dry-run output of a plan (print_requests' format); returns the plan."""
    print_requests([(step.operation, step.params) for step in plan])
    return plan


def run_plan(plan: list[Step], clients: dict) -> list:
    """Execute every step in order; returns their answers. The first failure raises (botocore's error)."""
    return [step.execute(clients) for step in plan]


def aws_clients(session, clients: dict | None = None) -> dict:
    """The injected clients (tests; any missing service is made from ``session``), else a client of ``session``
    for each of SERVICES once credentials exist. Returns {service: client}; raises AwsSetupError without
    credentials."""
    if clients is not None:
        for service in SERVICES:
            if service not in clients:
                clients[service] = session.client(service)
        return clients
    require_credentials(session)
    return {service: session.client(service) for service in SERVICES}


def split_s3(uri: str) -> tuple[str, str]:
    """(bucket, key) of an s3:// URI."""
    bucket_name, _, key = uri.removeprefix("s3://").partition("/")
    return bucket_name, key


NOT_FOUND_MARKERS = ("Could not find", "does not exist", "not found")


def unless_missing(call: Callable, **params):
    """``call(**params)``, or None when SageMaker answers that the resource does not exist."""
    from botocore.exceptions import ClientError

    try:
        return call(**params)
    except ClientError as error:
        message = error.response.get("Error", {}).get("Message", "")
        if any(marker in message for marker in NOT_FOUND_MARKERS):
            return None
        raise


def wait_for(
    fetch: Callable[[], dict],
    state_of: Callable[[dict], tuple],
    what: str,
    finished: set[str],
    poll_seconds: float,
    timeout_seconds: float,
) -> dict:
    """Poll ``fetch`` until the first part of its state is in ``finished``, printing each change."""
    seen = None
    deadline = time.monotonic() + timeout_seconds
    while True:
        result = fetch()
        state = state_of(result)
        if state != seen:
            print(f"{time.strftime('%H:%M:%S')} {what}: {' / '.join(str(part) for part in state)}", flush=True)
            seen = state
        if state[0] in finished:
            return result
        if time.monotonic() > deadline:
            raise AwsSetupError(f"gave up waiting for {what} after {timeout_seconds:.0f}s")
        time.sleep(poll_seconds)
