"""Shared AWS plumbing: sessions that honour the standard environment, clear setup errors."""

from __future__ import annotations

import json
import os

ROLE_ENV = "SAGEMAKER_ROLE_ARN"


class AwsSetupError(RuntimeError):
    """Something the AWS commands need is missing (credentials, role, region, bucket)."""


def boto_session(region: str):
    """A boto3 session for ``region`` (AWS_REGION / AWS_DEFAULT_REGION win when set).

    Clients made from it honour AWS_ENDPOINT_URL and the usual credential chain, so the same commands
    run against a moto server on 127.0.0.1.
    """
    import boto3

    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or region
    if not region:
        raise AwsSetupError("no AWS region: set aws.region in config.yaml or AWS_REGION")
    return boto3.Session(region_name=region)


def require_credentials(session) -> None:
    if session.get_credentials() is None:
        raise AwsSetupError("no AWS credentials found: run 'aws configure' or set AWS_ACCESS_KEY_ID / "
                            "AWS_SECRET_ACCESS_KEY (or AWS_PROFILE)")


def role_arn(config) -> str:
    role = os.environ.get(ROLE_ENV) or config.aws.role_arn
    if not role:
        raise AwsSetupError(f"no SageMaker execution role: set aws.role_arn in config.yaml or {ROLE_ENV}")
    return role


def bucket(config) -> str:
    if not config.aws.bucket:
        raise AwsSetupError("no S3 bucket: pass --bucket or set aws.bucket in config.yaml")
    return config.aws.bucket


def s3_uri(config, *parts: str) -> str:
    key = "/".join(p.strip("/") for p in (config.aws.s3_prefix, *parts) if p)
    return f"s3://{bucket(config)}/{key}"


def print_requests(requests: list[tuple[str, dict]]) -> None:
    """--dry-run output: the exact API calls, as JSON, one object per call."""
    for operation, params in requests:
        print(json.dumps({"operation": operation, "params": params}, ensure_ascii=False, indent=2, default=str))
