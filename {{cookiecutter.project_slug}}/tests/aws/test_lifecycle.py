"""The production lifecycle against moto: autoscaling, async inference, data capture, the Model Registry, tuning,
pipelines, teardown. Every planned request is also checked with botocore's own parameter validation."""

from __future__ import annotations

import json

import botocore.session
import pytest
import test_sagemaker as base
from botocore.validate import ParamValidator

from {{ cookiecutter.package_name }}.aws.deploy import deploy_model, destroy_endpoint, scaling_resource
from {{ cookiecutter.package_name }}.aws.session import Step
from {{ cookiecutter.package_name }}.errors import ConfigError

FIXTURE_BUCKET = base.FIXTURE_BUCKET
REGION = base.REGION
aws_env = base.aws_env  # the fixtures of test_sagemaker.py, shared
aws = base.aws
AWS_MODULES = ("deploy",)  # the modules that build plans


def validation_problems(step: Step) -> str:
    """botocore's report on ``step``'s parameters against the service's input shape ("" when valid)."""
    model = botocore.session.get_session().get_service_model(step.service)
    shape = model.operation_model(step.validates_as or step.operation).input_shape
    return ParamValidator().validate(step.params, shape).generate_report()


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
        model_dir=trained_model,
        endpoint_name="scaled",
        autoscale="1:3",
        data_capture=20,
        clients=aws,
        poll_seconds=0,
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
    deploy_model(project, model_dir=trained_model, endpoint_name="queued", asynchronous=True, clients=aws)
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
    source = {} if "model_package" in options else {"model_dir": trained_model}
    deploy_model(project, endpoint_name="checked", dry_run=True, **source, **options)
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
        deploy_model(project, model_dir=trained_model, dry_run=True, **options)


def test_destroy_dry_run_names_the_scalable_target(project, aws, trained_model, capsys):
    deploy_model(project, model_dir=trained_model, endpoint_name="dry-scaled", autoscale="1:2", clients=aws)
    capsys.readouterr()
    destroy_endpoint(project, "dry-scaled", dry_run=True)
    operations = [json.loads(c)["operation"] for c in base.split_json_objects(capsys.readouterr().out)]
    assert operations[:2] == ["DeregisterScalableTarget", "DeleteEndpoint"]
