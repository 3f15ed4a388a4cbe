"""The production lifecycle against moto: autoscaling, async inference, data capture, the Model Registry, tuning,
pipelines, teardown. Every planned request is also checked with botocore's own parameter validation."""

from __future__ import annotations

import json

import botocore.session
import pytest
import test_sagemaker as base
from botocore.validate import ParamValidator
from typer.testing import CliRunner

from {{ cookiecutter.package_name }} import DATASET_NAME
from {{ cookiecutter.package_name }}.aws.asynchronous import AsyncTarget
from {{ cookiecutter.package_name }}.aws.deploy import (
    EndpointSpec,
    ModelSource,
    deploy_model,
    destroy_endpoint,
    scaling_resource,
)
from {{ cookiecutter.package_name }}.aws.pipeline import (
    pipeline_definition,
    pipeline_name,
    upsert_pipeline,
)
from {{ cookiecutter.package_name }}.aws.registry import package_group, register_model
from {{ cookiecutter.package_name }}.aws.session import Step
from {{ cookiecutter.package_name }}.aws.tuning import start_tuning, tuning_status
from {{ cookiecutter.package_name }}.cli import app
from {{ cookiecutter.package_name }}.errors import ArtifactError, ConfigError
from {{ cookiecutter.package_name }}.hub import push_model
from {{ cookiecutter.package_name }}.metric_registry import METRICS
from {{ cookiecutter.package_name }}.serving.client import (
    PredictRequest,
    RetryPolicy,
    predict_records,
)
from {{ cookiecutter.package_name }}.training.search_space import parse_range

FIXTURE_BUCKET = base.FIXTURE_BUCKET
REGION = base.REGION
aws_env = base.aws_env  # the fixtures of test_sagemaker.py, shared
aws = base.aws
moto_server = base.moto_server
AWS_MODULES = ("deploy", "tuning", "registry", "pipeline")  # the modules that build plans


def validation_problems(step: Step) -> str:
    """botocore's report on ``step``'s parameters against the service's input shape ("" when valid)."""
    model = botocore.session.get_session().get_service_model(step.service)
    shape = model.operation_model(step.validates_as or step.operation).input_shape
    params = dict(step.params)
    for name, member in shape.members.items():  # botocore fills idempotency tokens in before validating
        if member.metadata.get("idempotencyToken") and name not in params:
            params[name] = "0" * 32
    return ParamValidator().validate(params, shape).generate_report()


def assert_valid(plan: list[Step]) -> None:
    problems = {step.operation: validation_problems(step) for step in plan}
    assert {operation: report for operation, report in problems.items() if report} == {}


def planned(monkeypatch) -> list[Step]:
    """The plans the aws modules print during the test (what --dry-run prints)."""
    import importlib

    plans: list[Step] = []
    for name in AWS_MODULES:
        module = importlib.import_module(f"{{ cookiecutter.package_name }}.aws.{name}")
        original = module.print_plan
        monkeypatch.setattr(module, "print_plan", lambda plan, original=original: plans.extend(plan) or original(plan))
    return plans


def autoscaling(aws) -> object:
    return aws["application-autoscaling"]


def test_autoscaled_endpoint_with_data_capture_and_its_teardown(project, aws, trained_model):
    project.override({"autoscale_target_invocations": 70.0, "autoscale_scale_in_cooldown": 600})
    requests = deploy_model(
        project,
        ModelSource(model_dir=trained_model),
        EndpointSpec(endpoint_name="scaled", autoscale="1:3", data_capture=20, poll_seconds=0),
        clients=aws,
    )
    sagemaker = aws["sagemaker"]
    endpoint = sagemaker.describe_endpoint(EndpointName="scaled")
    capture = sagemaker.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
    assert capture["DataCaptureConfig"]["InitialSamplingPercentage"] == 20
    assert capture["DataCaptureConfig"]["DestinationS3Uri"].endswith("/data-capture/scaled")
    assert {o["CaptureMode"] for o in capture["DataCaptureConfig"]["CaptureOptions"]} == {"Input", "Output"}
    targets = autoscaling(aws).describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"]
    assert [(t["ResourceId"], t["MinCapacity"], t["MaxCapacity"]) for t in targets] == [
        (scaling_resource("scaled"), 1, 3)
    ]
    policy = autoscaling(aws).describe_scaling_policies(ServiceNamespace="sagemaker")["ScalingPolicies"][0]
    tracking = policy["TargetTrackingScalingPolicyConfiguration"]
    assert tracking["TargetValue"] == 70.0 and tracking["ScaleInCooldown"] == 600
    assert tracking["PredefinedMetricSpecification"]["PredefinedMetricType"] == "SageMakerVariantInvocationsPerInstance"
    assert requests["autoscale"][0]["MaxCapacity"] == 3
    deleted = destroy_endpoint(project, "scaled", clients=aws)
    assert ("deregister_scalable_target", scaling_resource("scaled")) in deleted
    assert_nothing_left(aws)
    assert destroy_endpoint(project, "scaled", clients=aws) == []


def assert_nothing_left(aws) -> None:
    sagemaker = aws["sagemaker"]
    assert sagemaker.list_endpoints()["Endpoints"] == []
    assert sagemaker.list_endpoint_configs()["EndpointConfigs"] == []
    assert sagemaker.list_models()["Models"] == []
    assert autoscaling(aws).describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"] == []
    assert autoscaling(aws).describe_scaling_policies(ServiceNamespace="sagemaker")["ScalingPolicies"] == []


def test_async_endpoint_writes_answers_and_failures_under_the_project_prefix(project, aws, trained_model):
    project.override({"async_max_concurrency": 2})
    deploy_model(
        project,
        ModelSource(model_dir=trained_model),
        EndpointSpec(endpoint_name="queued", asynchronous=True),
        clients=aws,
    )
    sagemaker = aws["sagemaker"]
    config_name = sagemaker.describe_endpoint(EndpointName="queued")["EndpointConfigName"]
    settings = sagemaker.describe_endpoint_config(EndpointConfigName=config_name)["AsyncInferenceConfig"]
    prefix = f"s3://{FIXTURE_BUCKET}/{project.aws.s3_prefix}"
    assert settings["OutputConfig"] == {
        "S3OutputPath": f"{prefix}/async-output/queued",
        "S3FailurePath": f"{prefix}/async-failures/queued",
    }
    assert settings["ClientConfig"] == {"MaxConcurrentInvocationsPerInstance": 2}
    destroy_endpoint(project, "queued", clients=aws)
    assert_nothing_left(aws)


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"autoscale": "2:5", "data_capture": 100},
        {"asynchronous": True},
        {"serverless": True},
        {"model_package": "arn:aws:sagemaker:ap-northeast-2:000000000000:model-package/fixture/1"},
        {"batch_input": "s3://fixture-bucket/input/"},
    ],
)
def test_every_deploy_request_passes_botocores_validation(project, aws_env, trained_model, monkeypatch, options):
    project.override({"bucket": FIXTURE_BUCKET, "inference_instance_type": "ml.m5.xlarge"})
    plans = planned(monkeypatch)
    spec = {key: value for key, value in options.items() if key != "model_package"}
    source = ModelSource(model_package=options["model_package"]) if "model_package" in options else None
    source = source or ModelSource(model_dir=trained_model)
    deploy_model(project, source, EndpointSpec(endpoint_name="checked", **spec), dry_run=True)
    assert plans and all(step.service for step in plans)
    assert_valid(plans)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"autoscale": "3:1"}, "--autoscale takes MIN:MAX"),
        ({"autoscale": "many"}, "--autoscale takes MIN:MAX"),
        ({"autoscale": "1:2", "serverless": True}, "leave out --serverless"),
        ({"data_capture": 0}, "--data-capture takes a percentage"),
    ],
)
def test_deploy_option_mistakes_are_one_line(project, aws_env, trained_model, options, message):
    project.override({"bucket": FIXTURE_BUCKET})
    with pytest.raises(ConfigError, match=message):
        deploy_model(project, ModelSource(model_dir=trained_model), EndpointSpec(**options), dry_run=True)


def test_destroy_dry_run_names_the_scalable_target(project, aws, trained_model, capsys):
    deploy_model(
        project,
        ModelSource(model_dir=trained_model),
        EndpointSpec(endpoint_name="dry-scaled", autoscale="1:2"),
        clients=aws,
    )
    capsys.readouterr()
    destroy_endpoint(project, "dry-scaled", dry_run=True)
    operations = [json.loads(c)["operation"] for c in base.split_json_objects(capsys.readouterr().out)]
    assert operations[:2] == ["DeregisterScalableTarget", "DeleteEndpoint"]


# --- tune ------------------------------------------------------------------------------------------


def test_tune_creates_a_bayesian_tuning_job_of_launchs_training_job(project, aws, capsys):
    project.override({"tuning_max_jobs": 6, "tuning_max_parallel_jobs": 3, "use_spot_instances": True})
    request = start_tuning(project, tuning_name="fixture-tuning", clients=aws)
    job = aws["sagemaker"].describe_hyper_parameter_tuning_job(HyperParameterTuningJobName="fixture-tuning")
    settings = job["HyperParameterTuningJobConfig"]
    assert settings["Strategy"] == "Bayesian" and settings["TrainingJobEarlyStoppingType"] == "Auto"
    objective = f"validation:{project.train.metric_for_best_model}"  # macro F1; micro F1 multi-label
    assert settings["HyperParameterTuningJobObjective"] == {"Type": "Maximize", "MetricName": objective}
    assert settings["ResourceLimits"] == {"MaxNumberOfTrainingJobs": 6, "MaxParallelTrainingJobs": 3}
    ranges = settings["ParameterRanges"]
    learning_rate = ranges["ContinuousParameterRanges"][0]
    assert learning_rate["Name"] == "learning_rate" and learning_rate["ScalingType"] == "Logarithmic"
    assert ranges["IntegerParameterRanges"][0]["Name"] == "epochs"
    assert ranges["CategoricalParameterRanges"][0] == {"Name": "batch_size", "Values": ["16", "32", "64"]}
    definition = request["TrainingJobDefinition"]
    assert "learning_rate" not in definition["StaticHyperParameters"]
    assert json.loads(definition["StaticHyperParameters"]["base_model"]) == project.model.base_model
    assert definition["EnableManagedSpotTraining"] is True
    assert "huggingface-pytorch-training" in definition["AlgorithmSpecification"]["TrainingImage"]
    names = {d["Name"] for d in definition["AlgorithmSpecification"]["MetricDefinitions"]}
    assert objective in names
    assert "tune --status fixture-tuning" in capsys.readouterr().out
    trials = [
        {
            "TrainingJobName": f"fixture-tuning-00{n}",
            "TrainingJobArn": f"arn:aws:sagemaker:{REGION}:123456789012:training-job/fixture-tuning-00{n}",
            "CreationTime": "2026-01-01T00:00:00Z",
            "TrainingJobStatus": "Completed",
            "TunedHyperParameters": {"learning_rate": str(rate)},
            "FinalHyperParameterTuningJobObjectiveMetric": {"MetricName": objective, "Value": score},
        }
        for n, rate, score in ((2, 0.001, 0.81), (1, 0.0001, 0.74))
    ]
    # moto does not implement ListTrainingJobsForHyperParameterTuningJob: answer it as SageMaker does
    base.capture(aws["sagemaker"], "ListTrainingJobsForHyperParameterTuningJob", reply={"TrainingJobSummaries": trials})
    ranked = tuning_status(project, "fixture-tuning", clients=aws)
    out = capsys.readouterr().out
    assert [t["TrainingJobName"] for t in ranked] == ["fixture-tuning-002", "fixture-tuning-001"]
    assert out.index("fixture-tuning-002") < out.index("fixture-tuning-001") and "0.8100" in out


def test_tune_objective_follows_the_selection_metric(project, aws_env, monkeypatch):
    project.override({"bucket": FIXTURE_BUCKET, "metric_for_best_model": "macro_recall"})
    plans = planned(monkeypatch)
    request = start_tuning(project, tuning_name="recall", dry_run=True)
    objective = request["HyperParameterTuningJobConfig"]["HyperParameterTuningJobObjective"]
    assert objective["MetricName"] == "validation:macro_recall"
    regexes = {
        d["Name"]: d["Regex"] for d in request["TrainingJobDefinition"]["AlgorithmSpecification"]["MetricDefinitions"]
    }
    assert "validation_macro_recall=" in regexes["validation:macro_recall"]
    assert [step.operation for step in plans] == ["PutObject", "CreateHyperParameterTuningJob"]
    assert_valid(plans)


@pytest.mark.parametrize(
    ("name", "spec", "message"),
    [
        ("learning_rat", "1e-5:1e-3", "'learning_rat' is not a train key"),
        ("learning_rate", "0:1e-3:log", "MIN > 0"),
        ("epochs", "5:1", "MIN <= MAX"),
        ("warmup_ratio", "a:b", "is not MIN:MAX"),
    ],
)
def test_a_wrong_search_range_names_its_key(name, spec, message):
    with pytest.raises(ConfigError, match=f"aws.tuning_ranges.{name}: .*{message}"):
        parse_range(name, spec)


# --- register, deploy --model-package ------------------------------------------------------------------


def test_register_creates_the_group_and_a_package_with_its_metrics(project, aws, trained_model, capsys):
    register_model(project, source=ModelSource(model_dir=trained_model), clients=aws)
    register_model(project, source=ModelSource(model_dir=trained_model), approve=True, clients=aws)
    sagemaker = aws["sagemaker"]
    group = package_group(project)
    assert sagemaker.describe_model_package_group(ModelPackageGroupName=group)["ModelPackageGroupName"] == group
    packages = sagemaker.list_model_packages(ModelPackageGroupName=group)["ModelPackageSummaryList"]
    assert sorted(p["ModelApprovalStatus"] for p in packages) == ["Approved", "PendingManualApproval"]
    package = sagemaker.describe_model_package(ModelPackageName=packages[0]["ModelPackageArn"])
    container = package["InferenceSpecification"]["Containers"][0]
    assert "huggingface-pytorch-inference" in container["Image"]
    assert "code/inference.py" in base.tar_members(aws["s3"], container["ModelDataUrl"])
    assert "text/csv" in package["InferenceSpecification"]["SupportedContentTypes"]
    statistics = package["ModelMetrics"]["ModelQuality"]["Statistics"]["S3Uri"]
    bucket, _, key = statistics.removeprefix("s3://").partition("/")
    uploaded = json.loads(aws["s3"].get_object(Bucket=bucket, Key=key)["Body"].read())
    expected = json.loads((trained_model / "metrics.json").read_text(encoding="utf-8"))
    assert uploaded["metrics"] == expected
    assert uploaded["multiclass_classification_metrics"]["accuracy"]["value"] == expected["test"]["accuracy"]
    assert "deploy --model-package arn:" in capsys.readouterr().out


def test_a_training_jobs_model_is_registered_with_its_metrics_and_deployed_from_the_registry(
    project, aws, trained_model, tmp_path
):
    from {{ cookiecutter.package_name }}.aws.launch import launch_training

    launch_training(project, job_name="registered-job", clients=aws)
    artifact = aws["sagemaker"].describe_training_job(TrainingJobName="registered-job")["ModelArtifacts"]
    key = artifact["S3ModelArtifacts"].removeprefix(f"s3://{FIXTURE_BUCKET}/")
    base.upload_tar(aws, tmp_path, {path.name: path for path in trained_model.iterdir()}, key)
    request = register_model(project, source=ModelSource(training_job="registered-job"), approve=True, clients=aws)
    statistics = request["ModelMetrics"]["ModelQuality"]["Statistics"]["S3Uri"]
    bucket, _, metrics_key = statistics.removeprefix("s3://").partition("/")
    uploaded = json.loads(aws["s3"].get_object(Bucket=bucket, Key=metrics_key)["Body"].read())
    assert uploaded["metrics"] == json.loads((trained_model / "metrics.json").read_text(encoding="utf-8"))
    group = package_group(project)
    arn = aws["sagemaker"].list_model_packages(ModelPackageGroupName=group)["ModelPackageSummaryList"][0]
    requests = deploy_model(
        project,
        ModelSource(model_package=arn["ModelPackageArn"]),
        EndpointSpec(endpoint_name="registered"),
        clients=aws,
    )
    model = aws["sagemaker"].describe_model(ModelName=requests["model"]["ModelName"])
    assert model["PrimaryContainer"]["ModelPackageName"] == arn["ModelPackageArn"]
    assert aws["sagemaker"].describe_endpoint(EndpointName="registered")["EndpointStatus"] == "InService"


def test_register_dry_run_is_valid_and_deploy_takes_the_package(project, aws_env, trained_model, monkeypatch):
    project.override({"bucket": FIXTURE_BUCKET})
    plans = planned(monkeypatch)
    request = register_model(project, source=ModelSource(model_dir=trained_model), dry_run=True)
    assert request["ModelApprovalStatus"] == "PendingManualApproval"
    assert [step.operation for step in plans] == [
        "CreateModelPackageGroup (when missing)",
        "PutObject",
        "PutObject",
        "CreateModelPackage",
    ]
    assert_valid(plans)
    arn = "arn:aws:sagemaker:ap-northeast-2:000000000000:model-package/fixture/1"
    requests = deploy_model(
        project, ModelSource(model_package=arn), EndpointSpec(endpoint_name="from-registry"), dry_run=True
    )
    assert requests["model"]["PrimaryContainer"] == {"ModelPackageName": arn}


# --- pipeline ----------------------------------------------------------------------------------------


def test_pipeline_is_upserted_and_started(project, aws, capsys):
    definition = upsert_pipeline(project, clients=aws)
    sagemaker = aws["sagemaker"]
    stored = sagemaker.describe_pipeline(PipelineName=pipeline_name(project))
    assert json.loads(stored["PipelineDefinition"]) == definition
    assert [step["Name"] for step in definition["Steps"]] == ["Train", "Evaluate", "CheckMetric"]
    upsert_pipeline(project, start=True, clients=aws)  # the second one updates
    executions = sagemaker.list_pipeline_executions(PipelineName=pipeline_name(project))
    assert len(executions["PipelineExecutionSummaries"]) == 1
    keys = {o["Key"] for o in aws["s3"].list_objects_v2(Bucket=FIXTURE_BUCKET)["Contents"]}
    prefix = f"{project.aws.s3_prefix}/pipeline"
    assert {f"{prefix}/sourcedir.tar.gz", f"{prefix}/code/evaluate.py", f"{prefix}/code/inference.py"} <= keys


def test_pipeline_definition_agrees_with_the_sdks_own_workflow_expressions(project, aws_env):
    """The definition is written as JSON; the SDK's workflow classes give the same expressions offline."""
    from sagemaker.core.workflow.conditions import ConditionGreaterThanOrEqualTo
    from sagemaker.core.workflow.execution_variables import ExecutionVariables
    from sagemaker.core.workflow.functions import JsonGet
    from sagemaker.core.workflow.parameters import ParameterFloat, ParameterString
    from sagemaker.core.workflow.properties import Properties, PropertyFile

    project.override({"bucket": FIXTURE_BUCKET, "pipeline_min_metric": 0.75, "metric_for_best_model": "accuracy"})
    definition = pipeline_definition(project, region=REGION, source_uri=f"s3://{FIXTURE_BUCKET}/code.tar.gz")
    train, evaluate, check = definition["Steps"]
    report = PropertyFile(name="EvaluationReport", output_name="evaluation", path="evaluation.json")
    minimum = ParameterFloat(name="MinMetric", default_value=0.75)
    approval = ParameterString(name="ModelApprovalStatus", default_value="PendingManualApproval")
    assert definition["Parameters"] == [minimum.to_request(), approval.to_request()]
    assert evaluate["PropertyFiles"] == [report.expr]
    condition = ConditionGreaterThanOrEqualTo(
        left=JsonGet(step_name="Evaluate", property_file=report, json_path="validation.accuracy"), right=minimum
    )
    assert check["Arguments"]["Conditions"] == [
        json.loads(json.dumps(condition.to_request(), default=lambda o: o.expr))
    ]
    trained = Properties(step_name="Train", shape_name="DescribeTrainingJobResponse")
    assert (
        evaluate["Arguments"]["ProcessingInputs"][0]["S3Input"]["S3Uri"] == trained.ModelArtifacts.S3ModelArtifacts.expr
    )
    register = check["Arguments"]["IfSteps"][0]
    evaluated = Properties(step_name="Evaluate", shape_name="DescribeProcessingJobResponse")
    packed = evaluated.ProcessingOutputConfig.Outputs["packed"].S3Output.S3Uri.expr
    model_data = register["Arguments"]["InferenceSpecification"]["Containers"][0]["ModelDataUrl"]
    assert model_data["Std:Join"]["Values"][0] == packed
    assert register["Type"] == "RegisterModel" and train["Type"] == "Training"
    execution = ExecutionVariables.PIPELINE_EXECUTION_ID.expr  # every execution writes under its own id
    metrics_uri = register["Arguments"]["ModelMetrics"]["ModelQuality"]["Statistics"]["S3Uri"]
    for joined in (metrics_uri, train["Arguments"]["CheckpointConfig"]["S3Uri"]):
        assert joined["Std:Join"]["Values"][1] == execution
    assert "TrainingJobName" not in train["Arguments"]


def test_the_evaluate_steps_script_repacks_the_model_and_reports_its_metrics(trained_model, tmp_path):
    """What the pipeline's processing job runs, run here on the layout the job gives it."""
    import shutil
    import subprocess
    import sys
    import tarfile

    from {{ cookiecutter.package_name }}.aws import pipeline
    from {{ cookiecutter.package_name }}.aws.package import (
        CODE_DIR,
        CODE_FILES,
        container_layout,
    )

    root = tmp_path / "processing"
    for folder in ("model", "code"):
        (root / folder).mkdir(parents=True)
    with tarfile.open(root / "model" / "model.tar.gz", "w:gz") as tar:
        for path in trained_model.iterdir():
            tar.add(path, arcname=path.name)
    for name, source in pipeline.CODE_FILES.items():
        shutil.copy(source, root / "code" / name)
    script = root / "code" / "evaluate.py"
    script.write_text(pipeline.EVALUATE_SCRIPT, encoding="utf-8")
    arguments = [str(root), "metrics.json", CODE_DIR, *pipeline.CODE_FILES]
    subprocess.run([sys.executable, str(script), *arguments], check=True, timeout=120)
    with tarfile.open(root / "packed" / "model.tar.gz") as tar:
        names = tar.getnames()
    assert container_layout(names, "packed") == "" and set(CODE_FILES) <= set(names)  # the handler and its siblings
    report = json.loads((root / "evaluation" / "evaluation.json").read_text(encoding="utf-8"))
    assert report == json.loads((trained_model / "metrics.json").read_text(encoding="utf-8"))


def test_pipeline_dry_run_prints_the_definition_and_valid_requests(project, aws_env, monkeypatch, capsys):
    project.override({"bucket": FIXTURE_BUCKET})
    plans = planned(monkeypatch)
    upsert_pipeline(project, start=True, dry_run=True)
    chunks = [json.loads(c) for c in base.split_json_objects(capsys.readouterr().out)]
    assert chunks[0]["Version"] == "2020-12-01"
    assert [c["operation"] for c in chunks[1:]][-2:] == ["CreatePipeline or UpdatePipeline", "StartPipelineExecution"]
    assert_valid(plans)


# --- push, model card ----------------------------------------------------------------------------------


def test_model_card_carries_the_hub_header_that_huggingface_hub_parses(trained_model):
    from huggingface_hub import ModelCard

    card = ModelCard.load(trained_model / "README.md")
    assert card.data.language == ["ko"] and card.data.pipeline_tag == "text-classification"
    assert card.data.license in ("apache-2.0", "mit", "bsd-3-clause", "other")
    assert card.data.datasets == [DATASET_NAME]
    metrics = json.loads((trained_model / "metrics.json").read_text(encoding="utf-8"))
    values = {result.metric_type: result.metric_value for result in card.data.eval_results}
    assert values == {name: round(metrics["test"][name], 4) for name in METRICS if name in metrics["test"]}
    assert "# Model card" in card.text


def test_push_uploads_the_artifact_through_huggingface_hub(trained_model, capsys):
    class FakeApi:
        calls: list = []

        def create_repo(self, **kwargs):
            self.calls.append(("create_repo", kwargs))

        def upload_folder(self, **kwargs):
            self.calls.append(("upload_folder", kwargs))
            return "fixture-commit"

    api = FakeApi()
    push_model(trained_model, repo_id="fixture-org/fixture-model", api=api)
    (create, created), (upload, uploaded) = api.calls
    assert create == "create_repo" and created["private"] is True and created["exist_ok"] is True
    assert upload == "upload_folder" and uploaded["folder_path"] == str(trained_model)
    assert "evaluation/errors.tsv" in uploaded["ignore_patterns"]
    assert "huggingface.co/fixture-org/fixture-model" in capsys.readouterr().out
    with pytest.raises(ArtifactError, match="ORG/NAME"):
        push_model(trained_model, repo_id="no-org", dry_run=True)


# --- the async client path ---------------------------------------------------------------------------------


def queue_async_results(results: list[tuple[bool, object]], base_url: str = "http://motoapi.amazonaws.com") -> None:
    """moto's answers for the next InvokeEndpointAsync calls, in order: (failed, body); moto writes each to S3."""
    import requests

    entries = [
        {"is_failure": failed, "data": body if isinstance(body, str) else json.dumps(body)} for failed, body in results
    ]
    answer = requests.post(
        f"{base_url}/moto-api/static/sagemaker/async-endpoint-results",
        json={"region": REGION, "results": entries},
        timeout=10,
    )
    assert answer.status_code == 201, answer.text


def predictions(count: int, label: str = "positive") -> list[dict]:
    return [{"label": label, "score": 0.9}] * count


def async_records(count: int):
    from {{ cookiecutter.package_name }}.data.report import Record

    return [Record(line=n + 2, text=f"리뷰 {n}", label=None) for n in range(count)]


def test_async_predict_retries_a_failed_output_keeps_order_and_resumes(project, aws, tmp_path):
    policy = RetryPolicy(budget_seconds=30, attempt_timeout=5, max_attempts=3)
    target = AsyncTarget(project, "queued", policy=policy, clients=aws, poll_seconds=0.01)
    # one text per request, windows of 4 (batch_size * concurrency * 4): the first request fails once (a retry is
    # a new input, so a new invocation), then answers; the other three answer
    failure = (True, "Received server error (500) from primary")
    queue_async_results([failure, *[(False, predictions(1))] * 4])
    output = tmp_path / "async.jsonl"
    records = async_records(4)
    summary = predict_records(
        records, target, PredictRequest(output=output, batch_size=1, concurrency=1, policy=policy), show_progress=False
    )
    assert summary.failed == [] and summary.retries == 1 and summary.requests == 4
    rows = [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines()]
    assert [row["line"] for row in rows] == [r.line for r in records]
    inputs = aws["s3"].list_objects_v2(Bucket=FIXTURE_BUCKET, Prefix=f"{project.aws.s3_prefix}/async-input/queued/")
    assert inputs["KeyCount"] == 5  # every attempt uploads its own input
    # the same input grown by two rows: the finished window is kept, only the new window's 2 requests are sent
    queue_async_results([(False, predictions(1, "negative"))] * 2)
    resumed = predict_records(
        async_records(6),
        target,
        PredictRequest(output=output, batch_size=1, concurrency=1, policy=policy, resume=True),
        show_progress=False,
    )
    assert resumed.skipped == 4 and resumed.requests == 2 and resumed.failed == []
    lines = [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines()]
    assert [row["line"] for row in lines] == list(range(2, 8)) and lines[-1]["label"] == "negative"


def test_a_client_error_output_fails_its_texts_alone(project, aws, tmp_path):
    policy = RetryPolicy(budget_seconds=5, attempt_timeout=5, max_attempts=1)
    target = AsyncTarget(project, "refusing", policy=policy, clients=aws, poll_seconds=0.01)
    refused = 'Received client error (400) from primary with message "text too long"'
    queue_async_results([(True, refused), (True, refused), (True, refused)])
    summary = predict_records(
        async_records(2),
        target,
        PredictRequest(output=tmp_path / "out.jsonl", batch_size=2, concurrency=1, policy=policy),
        show_progress=False,
    )
    assert [line for line, _ in summary.failed] == [2, 3] and "text too long" in summary.failed[0][1]
    assert summary.retries == 0  # a 400 is final: no second attempt of the same text


# --- the whole path through the command line, against a moto server on 127.0.0.1 ------------------------------------


@pytest.mark.slow  # each command is in the default tier above (in-process moto); the server path: test_sagemaker.py
def test_the_lifecycle_commands_against_a_moto_server(project, trained_model, moto_server):
    import boto3

    clients = {name: boto3.client(name, region_name=REGION) for name in base.SERVICES}
    common = ["--bucket", FIXTURE_BUCKET, "--set", "aws.inference_instance_type=ml.m5.xlarge"]
    model = ["--model-dir", str(trained_model)]
    for args in (
        ["tune", "--tuning-job", "srv-tuning", "--max-jobs", "4"],
        ["register", *model],
        ["deploy", *model, "--endpoint-name", "scaled", "--autoscale", "1:3", "--data-capture", "20"],
        ["deploy", *model, "--endpoint-name", "queued", "--async", "--no-wait"],
        ["pipeline", "--start"],
    ):
        result = CliRunner().invoke(app, [*args, *common])
        assert result.exit_code == 0, (args, result.output)
    sagemaker = clients["sagemaker"]
    tuning = sagemaker.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName="srv-tuning")
    assert tuning["HyperParameterTuningJobConfig"]["ResourceLimits"]["MaxNumberOfTrainingJobs"] == 4
    group = package_group(project)
    assert len(sagemaker.list_model_packages(ModelPackageGroupName=group)["ModelPackageSummaryList"]) == 1
    assert sagemaker.describe_pipeline(PipelineName=pipeline_name(project))["PipelineName"]
    configs = {c["EndpointConfigName"] for c in sagemaker.list_endpoint_configs()["EndpointConfigs"]}
    described = [sagemaker.describe_endpoint_config(EndpointConfigName=name) for name in configs]
    kinds = [
        (c.get("DataCaptureConfig", {}).get("EnableCapture", False), "AsyncInferenceConfig" in c) for c in described
    ]
    assert sorted(kinds) == [
        (False, True),
        (True, False),
    ]
    targets = clients["application-autoscaling"].describe_scalable_targets(ServiceNamespace="sagemaker")
    assert [t["ResourceId"] for t in targets["ScalableTargets"]] == [scaling_resource("scaled")]
    for endpoint in ("scaled", "queued"):
        result = CliRunner().invoke(app, ["destroy", "--endpoint-name", endpoint])
        assert result.exit_code == 0, result.output
    assert_nothing_left(clients)


# --- tune --local ----------------------------------------------------------------------------------------

optuna = pytest.importorskip("optuna", reason="tune --local needs Optuna: pip install -e '.[dev]' (or '.[tune]')")


def test_local_search_ranks_its_trials_and_saves_the_best(project, monkeypatch, capsys):
    """The search's own wiring, with train stood in for (the real runs: the slow test below)."""
    from {{ cookiecutter.package_name }}.training import local_search

    tried = []

    def fake_train(config, quiet=False):
        tried.append((config.train.learning_rate, config.train.epochs, config.train.output_dir))
        validation = {config.train.metric_for_best_model: 1 - abs(config.train.learning_rate - 1e-3)}
        return {"validation": validation}

    monkeypatch.setattr("{{ cookiecutter.package_name }}.training.run.train", fake_train)
    ranked = local_search.run_local_search(project, trials=3)
    assert len(tried) == 3 and len({folder for _, _, folder in tried}) == 3
    assert all(1e-5 <= rate <= 5e-3 and 1 <= epochs <= 5 for rate, epochs, _ in tried)
    assert [t.score for t in ranked] == sorted((t.score for t in ranked), reverse=True)
    best = json.loads((project.path(local_search.LOCAL_TUNING_DIR) / local_search.BEST_FILE).read_text("utf-8"))
    assert best["values"] == ranked[0].values and best["train"].startswith("train --learning-rate ")
    out = capsys.readouterr().out
    assert "trial 3/3" in out and "rank" in out and "train with them: train --learning-rate" in out
    assert project.train.output_dir == "artifacts/model"  # each trial trained a copy of the config


@pytest.mark.slow
def test_tune_local_runs_four_trials_on_the_sample_tracked_in_mlflow(project, monkeypatch):
    import mlflow

    monkeypatch.chdir(project.root)
    result = CliRunner().invoke(
        app,
        [
            "tune",
            "--local",
            "--trials",
            "4",
            *("--set", "base_model=scratch:tiny", "--set", "max_rows=1000", "--set", "use_cpu=true"),
            *("--set", "tracking.mlflow=true", "--set", "loop=torch"),
            # a scratch model on 1,000 rows answers one class after a few epochs' steps (DESIGN: the first hour):
            # search the learning rate and enough steps for the trials to differ
            *("--set", "aws.tuning_ranges=learning_rate=1e-3:5e-3:log,max_steps=150:250"),
        ],
    )
    assert result.exit_code == 0, result.output[-3000:]
    assert "rank" in result.output and "best trial" in result.output
    best = json.loads((project.root / "artifacts" / "tuning" / "best.json").read_text(encoding="utf-8"))
    assert set(best["values"]) == {"learning_rate", "max_steps"}
    assert best[f"validation_{project.train.metric_for_best_model}"] > 0.5
    mlflow.set_tracking_uri(f"sqlite:///{project.root / 'mlflow.db'}")
    runs = mlflow.search_runs(experiment_names=[project.tracking.experiment_name], output_format="list")
    parents = [run for run in runs if "mlflow.parentRunId" not in run.data.tags]
    children = [run for run in runs if run.data.tags.get("mlflow.parentRunId") == parents[0].info.run_id]
    assert len(parents) == 1 and len(children) == 4
    assert f"best_validation_{project.train.metric_for_best_model}" in parents[0].data.metrics


def test_lifecycle_command_mistakes_are_one_line(project, aws_env, monkeypatch):
    monkeypatch.chdir(project.root)
    cases = [
        (["predict", "x.tsv", "--url", "http://127.0.0.1:9", "--async"], "--async needs --endpoint-name"),
        (["register", "--bucket", FIXTURE_BUCKET], "give exactly one of --model-dir, --training-job or --model-data"),
        (["deploy", "--model-dir", "m", "--model-package", "arn"], "give exactly one of --model-dir"),
        (["tune", "--set", "aws.tuning_ranges=epoch=1:3", "--bucket", FIXTURE_BUCKET], "'epoch' is not a train key"),
        (["push", "--repo-id", "no-org", "--model-dir", "missing"], "does not exist"),
    ]
    for args, message in cases:
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 1 and message in result.output, (args, result.output)
        assert "Traceback" not in result.output


def test_launch_and_destroy_requests_pass_botocores_validation(project, aws_env, monkeypatch, capsys):
    from {{ cookiecutter.package_name }}.aws.launch import launch_training

    project.override({"bucket": FIXTURE_BUCKET})
    request = launch_training(project, job_name="checked", dry_run=True)
    planned = [("DeregisterScalableTarget", base_target()), *destroy_endpoint(project, "checked", dry_run=True)]
    services = {"DeregisterScalableTarget": "application-autoscaling"}
    steps = [Step("sagemaker", "CreateTrainingJob", request)]
    steps += [Step(services.get(operation, "sagemaker"), operation, params) for operation, params in planned]
    assert_valid(steps)


def base_target() -> dict:
    from {{ cookiecutter.package_name }}.aws.deploy import scaling_target

    return scaling_target(scaling_resource("checked"))


def test_tune_local_dry_run_prints_the_search_space(project, monkeypatch):
    monkeypatch.chdir(project.root)
    result = CliRunner().invoke(app, ["tune", "--local", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "learning_rate: continuous" in result.output and "batch_size: categorical" in result.output
