"""Deploy a model artifact to a SageMaker endpoint, run batch transforms, and tear it all down.

Plain boto3 throughout, so ``--dry-run`` prints exactly what is sent. Every model and endpoint config
created for an endpoint is recorded in ``.deployments/<endpoint>.json``; ``destroy`` deletes by those
recorded names (plus whatever the live endpoint points at), never by guessing from the endpoint name.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..config import Config
from ..errors import AwsSetupError, ConfigError
from ..model.artifact import check_artifact
from ..model.inference import choose_precision
from ..serving import handler, request_rules
from ..training.entry import SAGEMAKER_BASE
from . import session
from .images import INFERENCE, has_gpu, image_uri
from .package import CODE_FILES, PACKED_HANDLER, build_model_tar, model_tar_members, repack_with_code
from .session import (
    MAX_NAME,
    Step,
    aws_clients,
    boto_session,
    name_base,
    print_plan,
    print_requests,
    role_arn,
    run_plan,
    s3_uri,
    split_s3,
    tags,
    unless_missing,
    wait_for,
)

RECORD_DIR = ".deployments"


def default_endpoint_name(config: Config) -> str:
    """The endpoint name when none is given: the S3 prefix's letters, digits and '-'."""
    return name_base(config, 50) or "endpoint"


def record_path(config: Config, endpoint_name: str) -> Path:
    """Where the names deploy created for ``endpoint_name`` are recorded."""
    return config.path(RECORD_DIR) / f"{endpoint_name}.json"


def load_record(config: Config, endpoint_name: str) -> dict:
    """The recorded models and endpoint configs of ``endpoint_name`` (empty lists when none)."""
    path = record_path(config, endpoint_name)
    if path.is_file():
        return json.loads(path.read_text(encoding="utf-8"))
    return {"endpoint_name": endpoint_name, "models": [], "endpoint_configs": []}


def save_record(config: Config, record: dict) -> None:
    """Write the record (after each create, so a failure half way still leaves it for destroy)."""
    path = record_path(config, record["endpoint_name"])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


BATCH_TIMEOUT_SECONDS = 3600  # a mini-batch of tens of thousands of lines can take minutes on a CPU instance
# Real-time: SageMaker gives an invocation 60 s. One model-server worker per instance, using every core (torch's
# threads): requests queue instead of splitting the cores, so each runs at full speed; the handler bounds a
# request's tokens (request_rules.py's MAX_TOKENS), and the README gives the time that bound means per instance.
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
    """The model container's Environment: handler, precision, region, and the real-time or batch
    limits (workers, timeouts, payload)."""
    environment = {
        request_rules.PRECISION_ENV: precision,
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
                request_rules.ITEMS_LIMIT_ENV: "0",
                request_rules.TOKENS_LIMIT_ENV: "0",
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
    """The CreateModel request for a model.tar.gz on the pinned inference image; raises AwsSetupError
    without a role or with an image lookup that fails."""
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
    """The CreateEndpointConfig request: one variant on instances, or serverless."""
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


VARIANT = "AllTraffic"
SCALABLE_DIMENSION = "sagemaker:variant:DesiredInstanceCount"
INVOCATIONS_METRIC = "SageMakerVariantInvocationsPerInstance"
CAPTURE_TYPES = {"JsonContentTypes": [handler.JSON, handler.JSONLINES_TYPES[0]], "CsvContentTypes": [handler.CSV]}


def scaling_resource(endpoint_name: str) -> str:
    """The Application Auto Scaling resource id of the endpoint's one variant."""
    return f"endpoint/{endpoint_name}/variant/{VARIANT}"


def parse_autoscale(text: str) -> tuple[int, int]:
    """``MIN:MAX`` -> (min, max) instances; raises ConfigError for anything else."""
    low, _, high = text.partition(":")
    if not (low.isdigit() and high.isdigit()) or not 1 <= int(low) <= int(high):
        raise ConfigError(f"--autoscale takes MIN:MAX instances with 1 <= MIN <= MAX (e.g. 1:3), got {text!r}")
    return int(low), int(high)


def autoscale_requests(config: Config, endpoint_name: str, bounds: tuple[int, int]) -> list[dict]:
    """RegisterScalableTarget and PutScalingPolicy (target tracking on invocations per instance, with the
    configured target and cooldowns) for the endpoint's variant."""
    aws = config.aws
    target = {
        "ServiceNamespace": "sagemaker",
        "ResourceId": scaling_resource(endpoint_name),
        "ScalableDimension": SCALABLE_DIMENSION,
    }
    policy = {
        **target,
        "PolicyName": f"{endpoint_name}-invocations"[:MAX_NAME],
        "PolicyType": "TargetTrackingScaling",
        "TargetTrackingScalingPolicyConfiguration": {
            "TargetValue": aws.autoscale_target_invocations,
            "PredefinedMetricSpecification": {"PredefinedMetricType": INVOCATIONS_METRIC},
            "ScaleInCooldown": aws.autoscale_scale_in_cooldown,
            "ScaleOutCooldown": aws.autoscale_scale_out_cooldown,
        },
    }
    return [{**target, "MinCapacity": bounds[0], "MaxCapacity": bounds[1]}, policy]


def endpoint_options(
    config: Config, endpoint_name: str, *, asynchronous: bool = False, data_capture: int | None = None
) -> dict:
    """The endpoint config's AsyncInferenceConfig and DataCaptureConfig (S3 paths under the project's prefix);
    raises ConfigError for a capture percentage outside 1..100."""
    options: dict = {}
    if asynchronous:
        options["AsyncInferenceConfig"] = {
            "OutputConfig": {
                "S3OutputPath": s3_uri(config, "async-output", endpoint_name),
                "S3FailurePath": s3_uri(config, "async-failures", endpoint_name),
            },
            "ClientConfig": {"MaxConcurrentInvocationsPerInstance": config.aws.async_max_concurrency},
        }
    if data_capture is not None:
        if not 1 <= data_capture <= 100:
            raise ConfigError(f"--data-capture takes a percentage from 1 to 100, got {data_capture}")
        options["DataCaptureConfig"] = {
            "EnableCapture": True,
            "InitialSamplingPercentage": data_capture,
            "DestinationS3Uri": s3_uri(config, "data-capture", endpoint_name),
            "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
            "CaptureContentTypeHeader": CAPTURE_TYPES,
        }
    return options


@dataclass
class ModelSource:
    """Where the model comes from: exactly one of a local artifact, a training job (its model.tar.gz), an s3://
    model.tar.gz (checked by aws/package.py's container_layout before anything is created) or, for deploy, a
    registered model package (its ARN)."""

    model_dir: Path | None = None
    training_job: str | None = None
    model_data: str | None = None
    model_package: str | None = None

    def describe(self) -> str:
        """The source in words (dry-run output)."""
        if self.model_package:
            return f"package {self.model_package}"
        return str(self.model_dir) if self.model_dir else self.model_data or f"training job {self.training_job}"


@dataclass
class EndpointSpec:
    """What deploy is asked to create, as the deploy command's options give it: the endpoint's name (None: the
    project's default), serverless or instances, a batch transform of the ``batch_input`` S3 prefix instead of an
    endpoint, the precision the handler runs (None: the config's), ``autoscale`` bounds (``MIN:MAX`` instances),
    an ``asynchronous`` endpoint, the percentage of requests ``data_capture`` records (None: none), and whether
    (``wait``) and how often (``poll_seconds``) to poll until the endpoint is in service."""

    endpoint_name: str | None = None
    serverless: bool = False
    batch_input: str | None = None
    precision: str | None = None
    autoscale: str | None = None
    asynchronous: bool = False
    data_capture: int | None = None
    wait: bool = True
    poll_seconds: float = 20.0


def deploy_model(
    config: Config,
    source: ModelSource,
    spec: EndpointSpec | None = None,
    *,
    dry_run: bool = False,
    clients: dict | None = None,
) -> dict:
    """Package, upload, create model + endpoint config, then create or update the endpoint (or a batch transform)
    that ``spec`` describes (default: an endpoint on instances, named after the project), serving the model of
    ``source``. The requests are built once, as a plan of named API requests (deploy_plan), then printed
    (``dry_run``) or sent in order. Returns the requests by name ("model", "endpoint_config", "transform",
    "autoscale"). Raises AwsSetupError, ConfigError, ArtifactError."""
    spec = spec or EndpointSpec()
    if source.model_data is not None and not source.model_data.startswith("s3://"):
        raise AwsSetupError(f"--model-data needs an s3:// model.tar.gz, got {source.model_data!r}")
    if spec.serverless and (spec.autoscale or spec.asynchronous):
        raise ConfigError("--autoscale and --async need instances: leave out --serverless")
    endpoint_name = spec.endpoint_name or default_endpoint_name(config)
    boto = boto_session(config.aws.region)
    instance_type = "serverless" if spec.serverless else config.aws.inference_instance_type
    if source.model_dir is not None:
        source = replace(source, model_dir=check_artifact(source.model_dir))
    options = endpoint_options(config, endpoint_name, asynchronous=spec.asynchronous, data_capture=spec.data_capture)
    target = DeployTarget(
        endpoint_name=endpoint_name,
        serverless=spec.serverless,
        batch_input=spec.batch_input,
        autoscale=parse_autoscale(spec.autoscale) if spec.autoscale else None,
        options=options,
        wait=spec.wait,
        poll_seconds=spec.poll_seconds,
    )
    precision = serving_precision(config, source.model_dir, instance_type, spec.precision)
    with tempfile.TemporaryDirectory() as scratch:
        plan, requests = deploy_plan(
            config, source=source, target=target, region=boto.region_name, precision=precision, scratch=Path(scratch)
        )
        if dry_run:
            print_plan(plan)
            return requests
        run_plan(plan, aws_clients(boto, clients))
    return requests


@dataclass
class DeployTarget:
    """What deploy creates, an EndpointSpec resolved against the config: an endpoint (instances or serverless;
    async, data capture and autoscaling options) or a batch transform job."""

    endpoint_name: str
    serverless: bool = False
    batch_input: str | None = None
    autoscale: tuple[int, int] | None = None
    options: dict = field(default_factory=dict)
    wait: bool = True
    poll_seconds: float = 20.0


def upload_step(config: Config, source: ModelSource, tar_uri: str, scratch: Path) -> Step:
    """PutObject of model.tar.gz: built from the artifact, or the source archive repacked with code/."""
    tar_path = scratch / "model.tar.gz"
    if source.model_dir is not None:
        members = model_tar_members(source.model_dir)  # checks the layout before any call; writes nothing
    else:
        members = [f"<the files of {source.describe()}>", *CODE_FILES]
    bucket_name, key = split_s3(tar_uri)

    def run(clients: dict) -> list[str]:
        if source.model_dir is not None:
            names = build_model_tar(source.model_dir, tar_path)
        else:
            names = repack_source(clients, source, tar_path)
        clients["s3"].upload_file(str(tar_path), bucket_name, key)
        print(f"uploaded model.tar.gz ({len(names)} files) -> {tar_uri}")
        return names

    body = f"<model.tar.gz from {source.describe()}: {', '.join(members)}>"
    return Step("s3", "PutObject", {"Bucket": bucket_name, "Key": key, "Body": body}, run=run)


def repack_source(clients: dict, source: ModelSource, tar_path: Path) -> list[str]:
    """Read a training job's (or an s3://) model.tar.gz and repack it with code/ at ``tar_path``; returns the
    member names. Raises AwsSetupError (an unfinished job, an unreadable object), ArtifactError (its layout)."""
    from botocore.exceptions import ClientError

    source_uri = source.model_data
    if source.training_job is not None:
        job = clients["sagemaker"].describe_training_job(TrainingJobName=source.training_job)
        if job["TrainingJobStatus"] != "Completed":
            raise AwsSetupError(f"training job {source.training_job} is {job['TrainingJobStatus']}, not Completed")
        source_uri = job["ModelArtifacts"]["S3ModelArtifacts"]
    bucket_name, key = split_s3(source_uri)
    try:
        original = clients["s3"].get_object(Bucket=bucket_name, Key=key)["Body"].read()
    except ClientError as error:
        raise AwsSetupError(f"cannot read {source_uri}: {error.response['Error'].get('Message', error)}") from None
    return repack_with_code(original, tar_path, source_uri)


def deploy_plan(
    config: Config,
    *,
    source: ModelSource,
    target: DeployTarget,
    region: str,
    precision: str,
    scratch: Path,
) -> tuple[list[Step], dict]:
    """The API requests deploy sends, in order, and the same requests by name. Nothing is called; a local
    artifact's model.tar.gz is built in ``scratch`` (raises ArtifactError when the container cannot load it)."""
    stamp = session.stamp()
    model_name = f"{target.endpoint_name}-{stamp}"[:MAX_NAME]
    config_name = f"{target.endpoint_name}-cfg-{stamp}"[:MAX_NAME]
    record = load_record(config, target.endpoint_name)
    instance_type = "serverless" if target.serverless else config.aws.inference_instance_type
    if source.model_package:
        model = package_model_request(config, model_name, source.model_package)
        plan = []
    else:
        tar_uri = s3_uri(config, "models", model_name, "model.tar.gz")
        batch = bool(target.batch_input)
        model = model_request(config, model_name, tar_uri, region, instance_type, batch=batch, precision=precision)
        plan = [upload_step(config, source, tar_uri, scratch)]
    serves = source.describe() if source.model_package else precision
    note = f"created model {model_name} (serves {serves} on {instance_type})"
    plan.append(recorded_step("CreateModel", model, config, record, ("models", model_name, note)))
    requests = {"model": model}
    if target.batch_input:
        requests["transform"] = transform_request(config, model_name, target.batch_input)
        plan.append(transform_step(requests["transform"]))
        return plan, requests
    endpoint_config = endpoint_config_request(config, config_name, model_name, target.serverless)
    endpoint_config.update(target.options)
    requests["endpoint_config"] = endpoint_config
    plan.append(
        recorded_step("CreateEndpointConfig", endpoint_config, config, record, ("endpoint_configs", config_name, ""))
    )
    plan.append(endpoint_step(target, config_name, model["Tags"]))
    if target.autoscale:
        requests["autoscale"] = autoscale_requests(config, target.endpoint_name, target.autoscale)
        for operation, params in zip(
            ("RegisterScalableTarget", "PutScalingPolicy"), requests["autoscale"], strict=True
        ):
            plan.append(Step("application-autoscaling", operation, params))
        record.setdefault("scalable_targets", []).append(scaling_resource(target.endpoint_name))
    return plan, requests


def package_model_request(config: Config, model_name: str, model_package: str) -> dict:
    """CreateModel for a registered model package (its container, image and model data come from the package)."""
    return {
        "ModelName": model_name,
        "PrimaryContainer": {"ModelPackageName": model_package},
        "ExecutionRoleArn": role_arn(config),
        "Tags": tags(config),
    }


def recorded_step(operation: str, params: dict, config: Config, record: dict, entry: tuple[str, str, str]) -> Step:
    """A SageMaker create call whose resource name is recorded in .deployments/ (for destroy) once created."""
    kind, name, note = entry

    def run(clients: dict):
        answer = Step("sagemaker", operation, params).execute(clients)
        record[kind].append(name)
        save_record(config, record)
        if note:
            print(note)
        return answer

    return Step("sagemaker", operation, params, run=run)


def transform_step(request: dict) -> Step:
    """CreateTransformJob, saying where its output goes."""

    def run(clients: dict):
        answer = clients["sagemaker"].create_transform_job(**request)
        output = request["TransformOutput"]["S3OutputPath"]
        print(f"batch transform job {request['TransformJobName']} started; output in {output}")
        return answer

    return Step("sagemaker", "CreateTransformJob", request, run=run)


def endpoint_step(target: DeployTarget, config_name: str, endpoint_tags: list[dict]) -> Step:
    """CreateEndpoint, or UpdateEndpoint when it exists; then waits for InService when asked (always before
    autoscaling: a scalable target needs an endpoint in service)."""
    params = {"EndpointName": target.endpoint_name, "EndpointConfigName": config_name}

    def run(clients: dict):
        sagemaker = clients["sagemaker"]
        if unless_missing(sagemaker.describe_endpoint, EndpointName=target.endpoint_name) is not None:
            sagemaker.update_endpoint(**params)
            print(f"updating endpoint {target.endpoint_name} to config {config_name}")
        else:
            sagemaker.create_endpoint(**params, Tags=endpoint_tags)
            print(f"creating endpoint {target.endpoint_name} with config {config_name}")
        if target.wait or target.autoscale:
            return wait_for_endpoint(sagemaker, target.endpoint_name, target.poll_seconds)
        return None

    return Step("sagemaker", "CreateEndpoint or UpdateEndpoint", params, run=run, validates_as="CreateEndpoint")


def transform_request(config: Config, model_name: str, input_uri: str) -> dict:
    """The CreateTransformJob request (JSON Lines, split and assembled by line); raises AwsSetupError
    for an input that is not s3://."""
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
    """Poll until the endpoint is InService (returned) or Failed (AwsSetupError with its reason)."""
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
    """Delete the endpoint's scaling policies and scalable target, the endpoint, then every recorded (and live)
    endpoint config and model. Safe to run twice. Returns the (operation, name) pairs deleted (the planned
    requests with ``dry_run``); raises botocore's error for anything but "not found"."""
    record = load_record(config, endpoint_name)
    resource = scaling_resource(endpoint_name)
    if dry_run:
        plan = [("DeregisterScalableTarget", scaling_target(resource))] if record.get("scalable_targets") else []
        plan += [("DeleteEndpoint", {"EndpointName": endpoint_name})]
        plan += [("DeleteEndpointConfig", {"EndpointConfigName": n}) for n in record["endpoint_configs"]]
        plan += [("DeleteModel", {"ModelName": n}) for n in record["models"]]
        print_requests(plan)
        if not record["models"]:
            print(
                f"(no local record in {record_path(config, endpoint_name)}; configs and models the live endpoint "
                "points at are looked up when run for real)"
            )
        return plan
    clients = aws_clients(boto_session(config.aws.region), clients)
    sagemaker = clients["sagemaker"]
    deleted = remove_scaling(clients["application-autoscaling"], resource)
    live_configs, live_models = live_names(sagemaker, endpoint_name)
    configs = list(dict.fromkeys(record["endpoint_configs"] + live_configs))
    models = list(dict.fromkeys(record["models"] + live_models))
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


def scaling_target(resource: str) -> dict:
    """The parameters that name a variant's scalable target."""
    return {"ServiceNamespace": "sagemaker", "ResourceId": resource, "ScalableDimension": SCALABLE_DIMENSION}


def remove_scaling(autoscaling, resource: str) -> list[tuple[str, str]]:
    """Delete the variant's scaling policies, then deregister its scalable target (found by describing, so an
    autoscaling set up outside this project goes too). Returns what was deleted; nothing when there is none."""
    target = scaling_target(resource)
    found = autoscaling.describe_scalable_targets(ServiceNamespace="sagemaker", ResourceIds=[resource])
    if not found.get("ScalableTargets"):
        return []
    deleted = []
    policies = autoscaling.describe_scaling_policies(ServiceNamespace="sagemaker", ResourceId=resource)
    for policy in policies.get("ScalingPolicies", []):
        autoscaling.delete_scaling_policy(PolicyName=policy["PolicyName"], **target)
        deleted.append(("delete_scaling_policy", policy["PolicyName"]))
        print(f"delete scaling policy: {policy['PolicyName']}")
    autoscaling.deregister_scalable_target(**target)
    deleted.append(("deregister_scalable_target", resource))
    print(f"deregister scalable target: {resource}")
    return deleted
