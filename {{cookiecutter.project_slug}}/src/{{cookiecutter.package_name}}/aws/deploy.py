"""Deploy a model artifact to a SageMaker endpoint, run batch transforms, and tear it all down.

Plain boto3 throughout, so ``--dry-run`` prints exactly what is sent. Every model and endpoint config
created for an endpoint is recorded in ``.deployments/<endpoint>.json``; ``destroy`` deletes by those
recorded names (plus whatever the live endpoint points at), never by guessing from the endpoint name.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from ..config import Config
from ..errors import AwsSetupError, ConfigError
from ..model.artifact import check_artifact
from ..model.inference import choose_precision
from ..serving import handler
from ..training.entry import SAGEMAKER_BASE
from . import session
from .images import INFERENCE, has_gpu, image_uri
from .package import CODE_FILES, PACKED_HANDLER, build_model_tar, repack_with_code
from .session import (
    MAX_NAME,
    aws_clients,
    boto_session,
    name_base,
    print_requests,
    role_arn,
    s3_uri,
    split_s3,
    tags,
    unless_missing,
    wait_for,
)

RECORD_DIR = ".deployments"


def default_endpoint_name(config: Config) -> str:
    return name_base(config, 50) or "endpoint"


def record_path(config: Config, endpoint_name: str) -> Path:
    return config.path(RECORD_DIR) / f"{endpoint_name}.json"


def load_record(config: Config, endpoint_name: str) -> dict:
    path = record_path(config, endpoint_name)
    if path.is_file():
        return json.loads(path.read_text(encoding="utf-8"))
    return {"endpoint_name": endpoint_name, "models": [], "endpoint_configs": []}


def save_record(config: Config, record: dict) -> None:
    path = record_path(config, record["endpoint_name"])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


BATCH_TIMEOUT_SECONDS = 3600  # a mini-batch of tens of thousands of lines can take minutes on a CPU instance
# Real-time: SageMaker gives an invocation 60 s. One model-server worker per instance, using every core (torch's
# threads): requests queue instead of splitting the cores, so each runs at full speed; the handler bounds a
# request's tokens (handler.MAX_TOKENS), and the README gives the time that bound means per instance.
REALTIME_TIMEOUT_SECONDS = 60
REALTIME_WORKERS = 1


def serving_precision(config: Config, model_dir: Path | None, instance_type: str, requested: str | None) -> str:
    """What the endpoint's handler runs: fp32 on a GPU instance; on a CPU one (serverless included) int8 when
    the artifact's own check allows it. A training job's model is checked by the handler itself ("auto")."""
    requested = requested or config.model.inference_precision
    on_gpu = has_gpu(instance_type)
    if model_dir is None:
        if requested == "int8" and on_gpu:
            raise ConfigError(f"--precision int8 runs on CPU instances only; {instance_type} has a GPU: use fp32")
        return requested
    precision, note = choose_precision(model_dir, requested, on_gpu)
    if note:
        print(note, flush=True)
    return precision


def container_environment(config: Config, region: str, batch: bool, precision: str = "auto") -> dict[str, str]:
    environment = {
        handler.PRECISION_ENV: precision,
        "SAGEMAKER_PROGRAM": Path(PACKED_HANDLER).name,
        "SAGEMAKER_SUBMIT_DIRECTORY": f"{SAGEMAKER_BASE}/model/{Path(PACKED_HANDLER).parent}",
        "SAGEMAKER_REGION": region,
        "SAGEMAKER_CONTAINER_LOG_LEVEL": "20",
    }
    if not batch:
        environment.update(
            {
                "SAGEMAKER_MODEL_SERVER_WORKERS": str(REALTIME_WORKERS),
                "SAGEMAKER_MODEL_SERVER_TIMEOUT": str(REALTIME_TIMEOUT_SECONDS),
            }
        )
    else:  # a batch mini-batch holds as many lines as fit in the payload: no per-request item or token cap
        environment.update(
            {
                handler.ITEMS_LIMIT_ENV: "0",
                handler.TOKENS_LIMIT_ENV: "0",
                "SAGEMAKER_MODEL_SERVER_TIMEOUT": str(BATCH_TIMEOUT_SECONDS),
                "SAGEMAKER_MAX_PAYLOAD_IN_MB": str(config.aws.max_payload_mb),
            }
        )
    return environment


def model_request(
    config: Config,
    model_name: str,
    model_data_url: str,
    region: str,
    instance_type: str,
    batch: bool = False,
    precision: str = "auto",
) -> dict:
    return {
        "ModelName": model_name,
        "PrimaryContainer": {
            "Image": image_uri(INFERENCE, region, instance_type),
            "ModelDataUrl": model_data_url,
            "Environment": container_environment(config, region, batch, precision),
        },
        "ExecutionRoleArn": role_arn(config),
        "Tags": tags(config),
    }


def endpoint_config_request(config: Config, config_name: str, model_name: str, serverless: bool) -> dict:
    variant = {"VariantName": "AllTraffic", "ModelName": model_name}
    if serverless:
        variant["ServerlessConfig"] = {
            "MemorySizeInMB": config.aws.serverless_memory_mb,
            "MaxConcurrency": config.aws.serverless_max_concurrency,
        }
    else:
        variant.update(
            InstanceType=config.aws.inference_instance_type,
            InitialInstanceCount=config.aws.inference_instance_count,
            InitialVariantWeight=1.0,
        )
    return {"EndpointConfigName": config_name, "ProductionVariants": [variant]}


def deploy_model(
    config: Config,
    model_dir: Path | None = None,
    training_job: str | None = None,
    endpoint_name: str | None = None,
    serverless: bool = False,
    batch_input: str | None = None,
    wait: bool = True,
    dry_run: bool = False,
    clients: dict | None = None,
    poll_seconds: float = 20.0,
    precision: str | None = None,
    model_data: str | None = None,
) -> dict:
    """Package, upload, create model + endpoint config, then create or update the endpoint.

    The model comes from ``model_dir`` (a local artifact), ``training_job`` (its model.tar.gz) or ``model_data``
    (any s3:// model.tar.gz). Every archive is checked for the container's layout before anything is uploaded or
    created (aws/package.py's container_layout: one ArtifactError naming what is wrong)."""
    if model_data is not None and not model_data.startswith("s3://"):
        raise AwsSetupError(f"--model-data needs an s3:// model.tar.gz, got {model_data!r}")
    endpoint_name = endpoint_name or default_endpoint_name(config)
    stamp = session.stamp()
    model_name = f"{endpoint_name}-{stamp}"[:MAX_NAME]
    config_name = f"{endpoint_name}-cfg-{stamp}"[:MAX_NAME]
    tar_uri = s3_uri(config, "models", model_name, "model.tar.gz")
    boto = boto_session(config.aws.region)
    region = boto.region_name
    instance_type = "serverless" if serverless else config.aws.inference_instance_type
    if model_dir is not None:
        model_dir = check_artifact(model_dir, transformer_only=True)
    precision = serving_precision(config, model_dir, instance_type, precision)
    requests = {
        "model": model_request(
            config, model_name, tar_uri, region, instance_type, batch=bool(batch_input), precision=precision
        ),
        "endpoint_config": endpoint_config_request(config, config_name, model_name, serverless),
    }
    with tempfile.TemporaryDirectory() as scratch:
        tar_path = Path(scratch) / "model.tar.gz"
        if dry_run:
            source = str(model_dir) if model_dir else model_data or f"training job {training_job}"
            members = build_model_tar(model_dir, tar_path) if model_dir else [f"<the files of {source}>", *CODE_FILES]
            plan = [
                (
                    "PutObject",
                    {
                        "Bucket": split_s3(tar_uri)[0],
                        "Key": split_s3(tar_uri)[1],
                        "Body": f"<model.tar.gz from {source}: {', '.join(members)}>",
                    },
                ),
                ("CreateModel", requests["model"]),
            ]
            if batch_input:
                plan.append(("CreateTransformJob", transform_request(config, model_name, batch_input)))
            else:
                plan += [
                    ("CreateEndpointConfig", requests["endpoint_config"]),
                    (
                        "CreateEndpoint or UpdateEndpoint",
                        {"EndpointName": endpoint_name, "EndpointConfigName": config_name},
                    ),
                ]
            print_requests(plan)
            return requests
        clients = aws_clients(boto, clients)
        if model_dir is not None:
            members = build_model_tar(model_dir, tar_path)
        else:
            from botocore.exceptions import ClientError

            source_uri = model_data
            if training_job is not None:
                job = clients["sagemaker"].describe_training_job(TrainingJobName=training_job)
                if job["TrainingJobStatus"] != "Completed":
                    raise AwsSetupError(f"training job {training_job} is {job['TrainingJobStatus']}, not Completed")
                source_uri = job["ModelArtifacts"]["S3ModelArtifacts"]
            bucket_name, key = split_s3(source_uri)
            try:
                original = clients["s3"].get_object(Bucket=bucket_name, Key=key)["Body"].read()
            except ClientError as error:
                raise AwsSetupError(f"cannot read {source_uri}: {error.response['Error'].get('Message', error)}") from None
            members = repack_with_code(original, tar_path, source_uri)
        bucket_name, key = split_s3(tar_uri)
        clients["s3"].upload_file(str(tar_path), bucket_name, key)
    print(f"uploaded model.tar.gz ({len(members)} files) -> {tar_uri}")
    sagemaker = clients["sagemaker"]
    record = load_record(config, endpoint_name)
    sagemaker.create_model(**requests["model"])
    record["models"].append(model_name)
    save_record(config, record)
    print(f"created model {model_name} (serves {precision} on {instance_type})")
    if batch_input:
        request = transform_request(config, model_name, batch_input)
        sagemaker.create_transform_job(**request)
        print(
            f"batch transform job {request['TransformJobName']} started; output in "
            f"{request['TransformOutput']['S3OutputPath']}"
        )
        return {**requests, "transform": request}
    sagemaker.create_endpoint_config(**requests["endpoint_config"])
    record["endpoint_configs"].append(config_name)
    save_record(config, record)
    if unless_missing(sagemaker.describe_endpoint, EndpointName=endpoint_name) is not None:
        sagemaker.update_endpoint(EndpointName=endpoint_name, EndpointConfigName=config_name)
        print(f"updating endpoint {endpoint_name} to config {config_name}")
    else:
        sagemaker.create_endpoint(
            EndpointName=endpoint_name, EndpointConfigName=config_name, Tags=requests["model"]["Tags"]
        )
        print(f"creating endpoint {endpoint_name} with config {config_name}")
    if wait:
        wait_for_endpoint(sagemaker, endpoint_name, poll_seconds)
    return requests


def transform_request(config: Config, model_name: str, input_uri: str) -> dict:
    if not input_uri.startswith("s3://"):
        raise AwsSetupError(f"--batch-transform needs an s3:// input, got {input_uri!r}")
    job_name = f"{model_name[:40]}-bt-{session.stamp()}"[:MAX_NAME]
    s3_source = {"S3DataType": "S3Prefix", "S3Uri": input_uri}
    source = {"S3DataSource": s3_source}
    aws = config.aws
    # JSON Lines in, JSON Lines out, split and assembled by line: the handler answers exactly one line per input
    # line (an error line for a blank or bad one), and echoes each line's "id", so output line N is input line N.
    return {
        "TransformJobName": job_name,
        "ModelName": model_name,
        "TransformInput": {"DataSource": source, "ContentType": handler.JSONLINES_TYPES[0], "SplitType": "Line"},
        "TransformOutput": {
            "S3OutputPath": s3_uri(config, "batch-output", job_name),
            "Accept": handler.JSONLINES_TYPES[0],
            "AssembleWith": "Line",
        },
        "TransformResources": {
            "InstanceType": aws.inference_instance_type,
            "InstanceCount": aws.transform_instance_count,
        },
        "MaxPayloadInMB": aws.max_payload_mb,
        "MaxConcurrentTransforms": aws.max_concurrent_transforms,
        "BatchStrategy": "MultiRecord",
        "ModelClientConfig": {"InvocationsTimeoutInSeconds": BATCH_TIMEOUT_SECONDS, "InvocationsMaxRetries": 1},
        "Tags": tags(config),
    }


def wait_for_endpoint(sagemaker, endpoint_name: str, poll_seconds: float = 20.0, timeout_seconds: float = 3600) -> str:
    status = wait_for(
        lambda: sagemaker.describe_endpoint(EndpointName=endpoint_name),
        lambda status: (status["EndpointStatus"],),
        f"endpoint {endpoint_name}",
        {"InService", "Failed"},
        poll_seconds,
        timeout_seconds,
    )
    if status["EndpointStatus"] == "Failed":
        raise AwsSetupError(f"endpoint {endpoint_name} failed: {status.get('FailureReason', 'no reason given')}")
    return status["EndpointStatus"]


def live_names(sagemaker, endpoint_name: str) -> tuple[list[str], list[str]]:
    """(endpoint configs, models) the live endpoint points at; empty when it does not exist."""
    endpoint = unless_missing(sagemaker.describe_endpoint, EndpointName=endpoint_name)
    if endpoint is None:
        return [], []
    config_name = endpoint["EndpointConfigName"]
    endpoint_config = unless_missing(sagemaker.describe_endpoint_config, EndpointConfigName=config_name)
    if endpoint_config is None:
        return [config_name], []
    return [config_name], [v["ModelName"] for v in endpoint_config["ProductionVariants"]]


def destroy_endpoint(config: Config, endpoint_name: str, dry_run: bool = False, clients: dict | None = None) -> list:
    """Delete the endpoint, then every recorded (and live) endpoint config and model. Safe to run twice."""
    record = load_record(config, endpoint_name)
    if dry_run:
        plan = [("DeleteEndpoint", {"EndpointName": endpoint_name})]
        plan += [("DeleteEndpointConfig", {"EndpointConfigName": n}) for n in record["endpoint_configs"]]
        plan += [("DeleteModel", {"ModelName": n}) for n in record["models"]]
        print_requests(plan)
        if not record["models"]:
            print(
                f"(no local record in {record_path(config, endpoint_name)}; configs and models the live endpoint "
                "points at are looked up when run for real)"
            )
        return plan
    sagemaker = aws_clients(boto_session(config.aws.region), clients)["sagemaker"]
    live_configs, live_models = live_names(sagemaker, endpoint_name)
    configs = list(dict.fromkeys(record["endpoint_configs"] + live_configs))
    models = list(dict.fromkeys(record["models"] + live_models))
    deleted = []
    for operation, key, names in (
        ("delete_endpoint", "EndpointName", [endpoint_name]),
        ("delete_endpoint_config", "EndpointConfigName", configs),
        ("delete_model", "ModelName", models),
    ):
        for name in names:
            if unless_missing(getattr(sagemaker, operation), **{key: name}) is None:
                continue
            deleted.append((operation, name))
            print(f"{operation.replace('_', ' ')}: {name}")
    if not deleted:
        print(f"nothing to delete for endpoint {endpoint_name}")
    record_path(config, endpoint_name).unlink(missing_ok=True)
    return deleted
