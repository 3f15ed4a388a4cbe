"""`pipeline`: a SageMaker Pipeline for the project, train -> evaluate -> condition -> register.

The definition is written here as the JSON SageMaker Pipelines reads (schema version 2020-12-01), not built with
the SDK's workflow classes: their steps need a live session to serialise. Its pieces are the requests the other
commands send, so they cannot drift apart: Train's Arguments are `launch`'s CreateTrainingJob request, Register's
are `register`'s CreateModelPackage request. Evaluate is a processing job on the inference image that repacks the
training job's model.tar.gz with the project's handler (as `deploy --training-job` does) and writes
evaluation.json from the model's metrics.json; the condition reads the validation value of
train.metric_for_best_model from it and registers the model only when it reaches aws.pipeline_min_metric.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..config import Config
from ..metric_registry import METRICS
from ..model.artifact import METRICS_FILE
from ..training.entry import SAGEMAKER_BASE
from .deploy import container_environment
from .images import INFERENCE, image_uri
from .launch import SOURCE_STAGING_DIR, source_tarball, stage_source, training_job_request
from .package import CODE_DIR
from .package import CODE_FILES as PACKED_CODE_FILES
from .registry import package_group, package_request
from .session import (
    MAX_NAME,
    Step,
    aws_clients,
    boto_session,
    name_base,
    print_plan,
    role_arn,
    run_plan,
    s3_uri,
    split_s3,
    tags,
    unless_missing,
)

SCHEMA_VERSION = "2020-12-01"
PROCESSING = f"{SAGEMAKER_BASE}/processing"
# beside the script in code/: what deploy packs into code/ (the handler, its siblings, its requirements)
CODE_FILES = {Path(name).name: source for name, source in PACKED_CODE_FILES.items()}
REPORT = "EvaluationReport"
# The Evaluate step's script: standard library only (it runs on the inference image, outside this package).
# Arguments: the processing root, the metrics file's name, the code folder's name, the files to put in it.
EVALUATE_SCRIPT = '''"""Pipeline step: repack the training job's model.tar.gz with code/ and report its metrics."""
import json, pathlib, shutil, sys, tarfile

root, metrics_file, code, names = pathlib.Path(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4:]
model = root / "unpacked"
with tarfile.open(next((root / "model").glob("*.tar.gz"))) as tar:
    tar.extractall(model, filter="data")
(model / code).mkdir(exist_ok=True)
for name in names:
    shutil.copy(root / "code" / name, model / code / name)
(root / "packed").mkdir(exist_ok=True)
with tarfile.open(root / "packed" / "model.tar.gz", "w:gz") as tar:
    for path in sorted(model.rglob("*")):
        if path.is_file():
            tar.add(path, arcname=path.relative_to(model).as_posix())
metrics = json.loads((model / metrics_file).read_text(encoding="utf-8"))
(root / "evaluation").mkdir(exist_ok=True)
(root / "evaluation" / "evaluation.json").write_text(json.dumps(metrics), encoding="utf-8")
'''


def pipeline_name(config: Config) -> str:
    """The project's pipeline name (the S3 prefix's letters, digits and '-')."""
    return f"{name_base(config, MAX_NAME - 9) or 'project'}-pipeline"


def per_execution(uri: str, *tail: str) -> dict:
    """``uri``/EXECUTION-ID/``tail`` as a pipeline expression: each execution writes its own objects, so a package
    registered by one execution never points at what a later one wrote."""
    execution = {"Get": "Execution.PipelineExecutionId"}
    join = {"On": "/", "Values": [uri, execution, *tail]}
    return {"Std:Join": join}


def s3_input(name: str, uri, local: str) -> dict:
    """A processing input from S3 (``uri`` may be a pipeline property reference)."""
    source = {"S3Uri": uri, "LocalPath": f"{PROCESSING}/{local}", "S3DataType": "S3Prefix", "S3InputMode": "File"}
    source["S3DataDistributionType"] = "FullyReplicated"
    return {"InputName": name, "AppManaged": False, "S3Input": source}


def s3_output(name: str, uri, local: str) -> dict:
    """A processing output uploaded to S3 when the job ends."""
    target = {"S3Uri": uri, "LocalPath": f"{PROCESSING}/{local}", "S3UploadMode": "EndOfJob"}
    return {"OutputName": name, "AppManaged": False, "S3Output": target}


def evaluate_step(config: Config, *, region: str, model_uri: dict) -> dict:
    """The processing step that repacks the model with code/ and writes evaluation.json (a property file)."""
    instance_type = config.aws.inference_instance_type
    resources = {"InstanceType": instance_type, "InstanceCount": 1, "VolumeSizeInGB": config.aws.volume_size_gb}
    entry = ["python3", f"{PROCESSING}/code/evaluate.py", PROCESSING, METRICS_FILE, CODE_DIR, *CODE_FILES]
    arguments = {
        "ProcessingResources": {"ClusterConfig": resources},
        "AppSpecification": {"ImageUri": image_uri(INFERENCE, region, instance_type), "ContainerEntrypoint": entry},
        "RoleArn": role_arn(config),
        "ProcessingInputs": [
            s3_input("model", model_uri, "model"),
            s3_input("code", s3_uri(config, "pipeline", "code") + "/", "code"),
        ],
        "ProcessingOutputConfig": {
            "Outputs": [
                s3_output("evaluation", per_execution(s3_uri(config, "pipeline", "evaluation")), "evaluation"),
                s3_output("packed", per_execution(s3_uri(config, "pipeline", "packed")), "packed"),
            ]
        },
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
    }
    report = {"PropertyFileName": REPORT, "OutputName": "evaluation", "FilePath": "evaluation.json"}
    return {"Name": "Evaluate", "Type": "Processing", "Arguments": arguments, "PropertyFiles": [report]}


def packed_output() -> dict:
    """The S3 folder of the Evaluate step's repacked model, as a pipeline expression."""
    return {"Get": "Steps.Evaluate.ProcessingOutputConfig.Outputs['packed'].S3Output.S3Uri"}


def register_step(config: Config, region: str) -> dict:
    """RegisterModel: `register`'s CreateModelPackage request with the repacked model and its evaluation."""
    join = {"On": "/", "Values": [packed_output(), "model.tar.gz"]}
    model_data = {"Std:Join": join}
    request = package_request(
        config,
        group=package_group(config),
        model_data="",
        metrics_uri="",
        image=image_uri(INFERENCE, region, config.aws.inference_instance_type),
        environment=container_environment(config, region, batch=False),
        approve=False,
    )
    request["InferenceSpecification"]["Containers"][0]["ModelDataUrl"] = model_data
    statistics = request["ModelMetrics"]["ModelQuality"]["Statistics"]
    statistics["S3Uri"] = per_execution(s3_uri(config, "pipeline", "evaluation"), "evaluation.json")
    request["ModelPackageDescription"] = f"{package_group(config)}: registered by the pipeline"
    request["ModelApprovalStatus"] = {"Get": "Parameters.ModelApprovalStatus"}
    return {"Name": "Register", "Type": "RegisterModel", "Arguments": request}


def pipeline_definition(config: Config, *, region: str, source_uri: str) -> dict:
    """The whole definition: parameters (the threshold, the approval status) and the four steps."""
    train = training_job_request(config, "pipeline-training", region, source_uri)
    for key in ("TrainingJobName", "Tags"):
        train.pop(key)
    train["CheckpointConfig"]["S3Uri"] = per_execution(s3_uri(config, "checkpoints", "pipeline"))
    metric = f"validation.{config.train.metric_for_best_model}"
    report = {"Get": f"Steps.Evaluate.PropertyFiles.{REPORT}"}
    json_get = {"PropertyFile": report, "Path": metric}
    better = METRICS[config.train.metric_for_best_model].higher_is_better
    condition = {  # reaches the threshold in the metric's own direction
        "Type": "GreaterThanOrEqualTo" if better else "LessThanOrEqualTo",
        "LeftValue": {"Std:JsonGet": json_get},
        "RightValue": {"Get": "Parameters.MinMetric"},
    }
    model_uri = {"Get": "Steps.Train.ModelArtifacts.S3ModelArtifacts"}
    check = {"Conditions": [condition], "IfSteps": [register_step(config, region)], "ElseSteps": []}
    return {
        "Version": SCHEMA_VERSION,
        "Metadata": {},
        "Parameters": [
            {"Name": "MinMetric", "Type": "Float", "DefaultValue": config.aws.pipeline_min_metric},
            {"Name": "ModelApprovalStatus", "Type": "String", "DefaultValue": "PendingManualApproval"},
        ],
        "PipelineExperimentConfig": {
            "ExperimentName": {"Get": "Execution.PipelineName"},
            "TrialName": {"Get": "Execution.PipelineExecutionId"},
        },
        "Steps": [
            {"Name": "Train", "Type": "Training", "Arguments": train},
            evaluate_step(config, region=region, model_uri=model_uri),
            {"Name": "CheckMetric", "Type": "Condition", "Arguments": check},
        ],
    }


def upload_steps(config: Config, staged_source: Path) -> list[Step]:
    """PutObject of the training source bundle and of the Evaluate step's script and code files (the handler, its
    siblings and its requirements)."""
    steps = []
    files = {
        "sourcedir.tar.gz": (s3_uri(config, "pipeline", "sourcedir.tar.gz"), source_tarball(staged_source)),
        "evaluate.py": (s3_uri(config, "pipeline", "code", "evaluate.py"), EVALUATE_SCRIPT.encode("utf-8")),
    }
    for name, source in CODE_FILES.items():
        files[name] = (s3_uri(config, "pipeline", "code", name), source.read_bytes())
    for name, (uri, body) in files.items():
        bucket_name, key = split_s3(uri)
        params = {"Bucket": bucket_name, "Key": key, "Body": f"<{name}, {len(body)} bytes>"}
        run = lambda clients, b=bucket_name, k=key, data=body: clients["s3"].put_object(Bucket=b, Key=k, Body=data)  # noqa: E731
        steps.append(Step("s3", "PutObject", params, run=run))
    return steps


def upsert_pipeline(config: Config, *, start: bool = False, dry_run: bool = False, clients: dict | None = None) -> dict:
    """Upload the code, create or update the pipeline, and start an execution with ``start``; ``dry_run`` prints
    the requests (the definition JSON among them). Returns the definition; raises AwsSetupError, botocore's error."""
    boto = boto_session(config.aws.region)
    name = pipeline_name(config)
    source_uri = s3_uri(config, "pipeline", "sourcedir.tar.gz")
    definition = pipeline_definition(config, region=boto.region_name, source_uri=source_uri)
    params = {
        "PipelineName": name,
        "PipelineDefinition": json.dumps(definition, ensure_ascii=False),
        "RoleArn": role_arn(config),
    }
    plan = upload_steps(config, stage_source(config, config.path(SOURCE_STAGING_DIR)))
    plan.append(
        Step(
            "sagemaker",
            "CreatePipeline or UpdatePipeline",
            params,
            run=lambda c: put_pipeline(c, params, tags(config)),
            validates_as="UpdatePipeline",
        )
    )
    if start:
        plan.append(Step("sagemaker", "StartPipelineExecution", {"PipelineName": name}))
    if dry_run:
        print(json.dumps(definition, ensure_ascii=False, indent=2))
        print_plan(plan)
        return definition
    answers = run_plan(plan, aws_clients(boto, clients))
    print(f"pipeline {name} is up to date ({len(definition['Steps'])} top-level steps)")
    if start:
        print(f"started execution {answers[-1]['PipelineExecutionArn']}")
    return definition


def put_pipeline(clients: dict, params: dict, resource_tags: list[dict]) -> dict:
    """UpdatePipeline when the pipeline exists, else CreatePipeline (with the project's tags)."""
    sagemaker = clients["sagemaker"]
    if unless_missing(sagemaker.describe_pipeline, PipelineName=params["PipelineName"]) is None:
        return sagemaker.create_pipeline(**params, Tags=resource_tags)
    return sagemaker.update_pipeline(**params)
