"""`register`: a model package in the project's Model Registry group, built as `deploy` builds its model.

The package holds the inference image and model.tar.gz exactly as deploy makes them (aws/deploy.py), the content
types the handler accepts and answers, and the evaluation metrics (the artifact's metrics.json) uploaded to S3 as
ModelMetrics. It waits for approval (PendingManualApproval) unless approved at once; `deploy --model-package ARN`
deploys it.
"""

from __future__ import annotations

import io
import json
import tarfile
import tempfile
from pathlib import Path

from ..config import Config
from ..errors import ArtifactError
from ..metric_registry import METRICS
from ..model.artifact import METRICS_FILE, check_artifact
from ..serving import handler
from ..tasks import task_named
from .deploy import ModelSource, container_environment, serving_precision, upload_step
from .images import INFERENCE, image_uri
from .session import (
    MAX_NAME,
    Step,
    aws_clients,
    boto_session,
    name_base,
    print_plan,
    run_plan,
    s3_uri,
    split_s3,
    stamp,
    tags,
    unless_missing,
)

CONTENT_TYPES = list(handler.SUPPORTED)


def package_group(config: Config) -> str:
    """The Model Registry group: aws.model_package_group, else named after the S3 prefix."""
    return config.aws.model_package_group or name_base(config, MAX_NAME) or "models"


def quality_statistics(metrics: dict) -> dict:
    """ModelQuality statistics: the artifact's metrics.json, with every registered metric
    (metric_registry.METRICS) of the final split in the layout SageMaker's model registry shows for its task
    (Task.registry_layout: multiclass_classification_metrics for classes)."""
    final = metrics.get("test") or metrics.get("validation") or {}
    headline = {name: {"value": final[name], "standard_deviation": "NaN"} for name in METRICS if name in final}
    return {task_named(final.get("task")).registry_layout: headline, "metrics": metrics}


def package_request(
    config: Config, *, group: str, model_data: str, metrics_uri: str, image: str, environment: dict, approve: bool
) -> dict:
    """CreateModelPackage for the group: one container, the handler's content types, the metrics."""
    aws = config.aws
    statistics = {"ContentType": "application/json", "S3Uri": metrics_uri}
    quality = {"Statistics": statistics}
    return {
        "ModelPackageGroupName": group,
        "ModelPackageDescription": f"{group}: model.tar.gz {model_data}",
        "InferenceSpecification": {
            "Containers": [{"Image": image, "ModelDataUrl": model_data, "Environment": environment}],
            "SupportedContentTypes": CONTENT_TYPES,
            "SupportedResponseMIMETypes": CONTENT_TYPES,
            "SupportedRealtimeInferenceInstanceTypes": [aws.inference_instance_type],
            "SupportedTransformInstanceTypes": [aws.inference_instance_type],
        },
        "ModelMetrics": {"ModelQuality": quality},
        "ModelApprovalStatus": "Approved" if approve else "PendingManualApproval",
    }


def group_step(config: Config, group: str) -> Step:
    """CreateModelPackageGroup unless the group exists already."""
    params = {
        "ModelPackageGroupName": group,
        "ModelPackageGroupDescription": f"models of {group}",
        "Tags": tags(config),
    }

    def run(clients: dict):
        sagemaker = clients["sagemaker"]
        if unless_missing(sagemaker.describe_model_package_group, ModelPackageGroupName=group) is None:
            sagemaker.create_model_package_group(**params)
            print(f"created model package group {group}")

    return Step(
        "sagemaker", "CreateModelPackageGroup (when missing)", params, run=run, validates_as="CreateModelPackageGroup"
    )


def metrics_step(model_dir: Path | None, tar_path: Path, metrics_uri: str) -> Step:
    """PutObject of the ModelMetrics statistics, read from the artifact (or the packed model.tar.gz)."""
    bucket_name, key = split_s3(metrics_uri)

    def run(clients: dict):
        if model_dir is not None:
            metrics = json.loads((model_dir / METRICS_FILE).read_text(encoding="utf-8"))
        else:
            metrics = archive_metrics(tar_path)
        body = json.dumps(quality_statistics(metrics), ensure_ascii=False, indent=2).encode("utf-8")
        return clients["s3"].put_object(Bucket=bucket_name, Key=key, Body=body, ContentType="application/json")

    body = f"<the evaluation metrics of the model ({METRICS_FILE})>"
    return Step("s3", "PutObject", {"Bucket": bucket_name, "Key": key, "Body": body}, run=run)


def archive_metrics(tar_path: Path) -> dict:
    """metrics.json out of a packed model.tar.gz; raises ArtifactError when it has none."""
    with tarfile.open(tar_path, "r:gz") as tar:
        try:
            return json.load(io.TextIOWrapper(tar.extractfile(METRICS_FILE), encoding="utf-8"))
        except KeyError:
            raise ArtifactError(
                f"{tar_path.name} has no {METRICS_FILE}: register needs the evaluation metrics"
            ) from None


def register_model(
    config: Config, *, source: ModelSource, approve: bool = False, dry_run: bool = False, clients: dict | None = None
) -> dict:
    """Create the group when missing, upload model.tar.gz and the metrics, create the model package (or print the
    plan with ``dry_run``). Returns the CreateModelPackage request; raises ArtifactError, AwsSetupError,
    botocore's error."""
    boto = boto_session(config.aws.region)
    region, group, when = boto.region_name, package_group(config), stamp()
    if source.model_dir is not None:
        source.model_dir = check_artifact(source.model_dir)
    instance_type = config.aws.inference_instance_type
    precision = serving_precision(config, source.model_dir, instance_type, None)
    tar_uri = s3_uri(config, "registry", group, when, "model.tar.gz")
    metrics_uri = s3_uri(config, "registry", group, when, METRICS_FILE)
    request = package_request(
        config,
        group=group,
        model_data=tar_uri,
        metrics_uri=metrics_uri,
        image=image_uri(INFERENCE, region, instance_type),
        environment=container_environment(config, region, batch=False, precision=precision),
        approve=approve,
    )
    with tempfile.TemporaryDirectory() as scratch:
        plan = [
            group_step(config, group),
            upload_step(config, source, tar_uri, Path(scratch)),
            metrics_step(source.model_dir, Path(scratch) / "model.tar.gz", metrics_uri),
            Step("sagemaker", "CreateModelPackage", request),
        ]
        if dry_run:
            print_plan(plan)
            return request
        answers = run_plan(plan, aws_clients(boto, clients))
    arn = answers[-1]["ModelPackageArn"]
    print(f"registered {arn} ({request['ModelApprovalStatus']}); deploy it with: deploy --model-package {arn}")
    return request
