"""SageMaker launch, deploy, batch transform and teardown against moto (no real account anywhere)."""

from __future__ import annotations

import io
import json
import re
import tarfile
from pathlib import Path

import boto3
import pytest
from moto import mock_aws
from typer.testing import CliRunner

from {{ cookiecutter.package_name }}.artifact_files import CALIBRATION_FILE, THRESHOLDS_FILE
from {{ cookiecutter.package_name }}.aws import session as session_module
from {{ cookiecutter.package_name }}.aws.deploy import (
    EndpointSpec,
    ModelSource,
    deploy_model,
    destroy_endpoint,
)
from {{ cookiecutter.package_name }}.aws.images import INFERENCE, TRAINING, image_uri
from {{ cookiecutter.package_name }}.aws.launch import (
    build_local_trainer,
    launch_training,
    metric_definitions,
)
from {{ cookiecutter.package_name }}.aws.package import HANDLER
from {{ cookiecutter.package_name }}.aws.session import SERVICES
from {{ cookiecutter.package_name }}.cli import app
from {{ cookiecutter.package_name }}.data.dataset import load_schema
from {{ cookiecutter.package_name }}.errors import ArtifactError, AwsSetupError, ConfigError
from {{ cookiecutter.package_name }}.model.artifact import INT8_MODEL_FILE, NGRAM_WEIGHTS_FILE
from {{ cookiecutter.package_name }}.serving import handler, request_rules
from {{ cookiecutter.package_name }}.training.run import train as run_training

from conftest import COMPARED, SRC, TASK, artifact_with_int8_record

# Test fixtures only: moto's default account and made-up names.
FIXTURE_ROLE = "arn:aws:iam::123456789012:role/fixture-sagemaker-role"
FIXTURE_BUCKET = "fixture-bucket"
REGION = "ap-northeast-2"


@pytest.fixture()
def aws_env(monkeypatch):
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "SAGEMAKER_ROLE_ARN": FIXTURE_ROLE,
        "SAGEMAKER_VALIDATE_ROLE": "false",
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)


@pytest.fixture()
def aws(aws_env, project):
    with mock_aws():
        clients = {name: boto3.client(name, region_name=REGION) for name in SERVICES}
        clients["s3"].create_bucket(Bucket=FIXTURE_BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        # moto's instance-type list predates ml.g5, which real SageMaker accepts for endpoints
        project.override({"bucket": FIXTURE_BUCKET, "inference_instance_type": "ml.m5.xlarge"})
        yield clients


@pytest.fixture()
def moto_server(aws_env, project, monkeypatch):
    """A moto server on 127.0.0.1 that every client reaches through AWS_ENDPOINT_URL, holding the fixture bucket;
    the test runs in its project copy. Yields the server's URL; stopped after the test."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    try:
        host, port = server.get_host_and_port()
        monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://{host}:{port}")
        boto3.client("s3", region_name=REGION).create_bucket(
            Bucket=FIXTURE_BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION}
        )
        monkeypatch.chdir(project.root)
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def capture(client, operation: str, reply: dict | None = None) -> list[dict]:
    """Record the parameters of every ``operation`` call; with ``reply``, answer instead of sending it."""
    from botocore.awsrequest import AWSResponse

    sent: list[dict] = []
    client.meta.events.register(
        f"before-parameter-build.sagemaker.{operation}",
        lambda params, **kwargs: sent.append(json.loads(json.dumps(params, default=str))),
    )
    if reply is not None:
        answer = (AWSResponse("https://fixture", 200, {}, None), reply)
        client.meta.events.register(f"before-call.sagemaker.{operation}", lambda **kwargs: answer)
    return sent


# --- launch --------------------------------------------------------------------------------------


def test_launch_creates_the_training_job_with_pinned_image_data_and_spot(project, aws):
    project.override({"use_spot_instances": True, "epochs": 2, "instance_count": 2})
    sent = capture(aws["sagemaker"], "CreateTrainingJob")
    request = launch_training(project, upload=True, job_name="fixture-job", clients=aws)
    job = aws["sagemaker"].describe_training_job(TrainingJobName="fixture-job")
    assert job["AlgorithmSpecification"]["TrainingImage"] == image_uri(TRAINING, REGION, "ml.g5.xlarge")
    assert "huggingface-pytorch-training" in job["AlgorithmSpecification"]["TrainingImage"]
    assert "transformers5.3.0" in job["AlgorithmSpecification"]["TrainingImage"]
    hyper = job["HyperParameters"]
    assert json.loads(hyper["epochs"]) == "2.0" and json.loads(hyper["sagemaker_program"]) == "train_entry.py"
    assert json.loads(hyper["base_model"]) == project.model.base_model
    assert hyper["sagemaker_torch_distributed_enabled"] == "true"
    channels = {c["ChannelName"]: c["DataSource"]["S3DataSource"]["S3Uri"] for c in job["InputDataConfig"]}
    assert channels == {
        "train": f"s3://{FIXTURE_BUCKET}/{project.aws.s3_prefix}/data/train/",
        "test": f"s3://{FIXTURE_BUCKET}/{project.aws.s3_prefix}/data/test/",
    }
    assert job["EnableManagedSpotTraining"] is True
    assert job["StoppingCondition"]["MaxWaitTimeInSeconds"] >= job["StoppingCondition"]["MaxRuntimeInSeconds"]
    assert job["CheckpointConfig"] == {
        "S3Uri": f"s3://{FIXTURE_BUCKET}/{project.aws.s3_prefix}/checkpoints/fixture-job",
        "LocalPath": "/opt/ml/checkpoints",
    }
    assert job["ResourceConfig"]["InstanceCount"] == 2
    keys = {o["Key"] for o in aws["s3"].list_objects_v2(Bucket=FIXTURE_BUCKET)["Contents"]}
    prefix = project.aws.s3_prefix
    assert {
        f"{prefix}/data/train/{project.data.train_file}",
        f"{prefix}/data/test/{project.data.test_file}",
        f"{prefix}/code/fixture-job/sourcedir.tar.gz",
    } <= keys
    # moto answers describe with canned metric definitions, so check what was sent
    sent_definitions = sent[0]["AlgorithmSpecification"]["MetricDefinitions"]
    expected = metric_definitions(load_schema(project).task)
    assert sent_definitions == request["AlgorithmSpecification"]["MetricDefinitions"] == expected


def test_source_bundle_runs_the_projects_own_entry_point(project, aws):
    launch_training(project, job_name="bundle-job", clients=aws)
    key = f"{project.aws.s3_prefix}/code/bundle-job/sourcedir.tar.gz"
    body = aws["s3"].get_object(Bucket=FIXTURE_BUCKET, Key=key)["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(body), mode="r:gz") as tar:
        names = set(tar.getnames())
        entry = tar.extractfile("train_entry.py").read().decode("utf-8")
    package = "{{ cookiecutter.package_name }}"
    assert {
        "train_entry.py",
        "config.yaml",
        "labels.json",
        "requirements.txt",
        f"{package}/training/entry.py",
        f"{package}/serving/handler.py",
    } <= names
    assert f"from {package}.training.entry import main" in entry
    assert not any("__pycache__" in n for n in names)


def test_launch_pretrain_runs_the_pretrain_entry_point_with_the_unlabeled_files_as_a_channel(project, aws):
    (project.path(project.data.data_dir) / "extra.txt").write_text("처음 보는 문장\n", encoding="utf-8")
    project.override({"unlabeled_files": "extra.txt", "pretrain_epochs": 2})
    launch_training(project, upload=True, job_name="pretrain-job", clients=aws, pretrain=True)
    job = aws["sagemaker"].describe_training_job(TrainingJobName="pretrain-job")
    hyper = job["HyperParameters"]
    assert json.loads(hyper["sagemaker_program"]) == "pretrain_entry.py"
    assert json.loads(hyper["pretrain_epochs"]) == "2.0" and json.loads(hyper["unlabeled_files"]) == "extra.txt"
    channels = {c["ChannelName"]: c["DataSource"]["S3DataSource"]["S3Uri"] for c in job["InputDataConfig"]}
    prefix = project.aws.s3_prefix
    assert channels["unlabeled"] == f"s3://{FIXTURE_BUCKET}/{prefix}/data/unlabeled/"
    keys = {o["Key"] for o in aws["s3"].list_objects_v2(Bucket=FIXTURE_BUCKET)["Contents"]}
    assert f"{prefix}/data/unlabeled/extra.txt" in keys
    body = aws["s3"].get_object(Bucket=FIXTURE_BUCKET, Key=f"{prefix}/code/pretrain-job/sourcedir.tar.gz")["Body"]
    with tarfile.open(fileobj=io.BytesIO(body.read()), mode="r:gz") as tar:
        entry = tar.extractfile("pretrain_entry.py").read().decode("utf-8")
    assert "from {{ cookiecutter.package_name }}.training.pretrain import main" in entry


def test_mlflow_tracking_arn_reaches_the_job(project, aws):
    arn = "arn:aws:sagemaker:ap-northeast-2:123456789012:mlflow-tracking-server/fixture"
    project.override({"mlflow_tracking_arn": arn})
    launch_training(project, job_name="tracked", clients=aws)
    hyper = aws["sagemaker"].describe_training_job(TrainingJobName="tracked")["HyperParameters"]
    assert json.loads(hyper["tracking_uri"]) == arn and json.loads(hyper["mlflow"]) == "true"


def test_no_spot_means_no_max_wait(project, aws):
    project.override({"use_spot_instances": False})
    launch_training(project, job_name="on-demand", clients=aws)
    job = aws["sagemaker"].describe_training_job(TrainingJobName="on-demand")
    assert job["EnableManagedSpotTraining"] is False and "MaxWaitTimeInSeconds" not in job["StoppingCondition"]


def test_metric_regexes_read_real_training_log_lines(training_log):
    assert_metric_regexes_read(training_log)  # the torch loop's log; the Trainer's: the slow test below


@pytest.mark.slow
def test_metric_regexes_read_the_trainer_loops_log_lines(project, capsys):
    run_training(project.override({"max_rows": 300, "epochs": 1, "logging_steps": 2}))
    assert_metric_regexes_read(capsys.readouterr().out)


def assert_metric_regexes_read(log: str) -> None:
    found = {}
    for definition in metric_definitions(TASK):
        values = re.findall(definition["Regex"], log)
        assert values, f"{definition['Name']} not found in the training log"
        found[definition["Name"]] = float(values[-1])
    assert -1 <= found[f"test:{COMPARED}"] <= 1 and found["train:loss"] > 0


def test_launch_waits_and_reports_the_final_status(project, aws, capsys):
    launch_training(project, job_name="waited-job", wait=True, clients=aws, poll_seconds=0)
    assert "waited-job: Completed" in capsys.readouterr().out


def test_local_mode_is_configured_and_needs_docker(project, aws_env, monkeypatch, tmp_path):
    from {{ cookiecutter.package_name }}.aws import launch as launch_module

    source = launch_module.stage_source(project, tmp_path / "source")
    trainer = build_local_trainer(project, source)
    assert trainer.training_mode.name == "LOCAL_CONTAINER"
    assert trainer.compute.instance_type == "local_gpu"  # ml.g5 in config -> a GPU container locally
    assert trainer.source_code.entry_script == "train_entry.py"
    assert trainer.training_image == image_uri(TRAINING, REGION, "local_gpu")
    assert trainer.hyperparameters["base_model"] == project.model.base_model
    monkeypatch.setattr(launch_module, "docker_available", lambda: False)
    with pytest.raises(AwsSetupError, match="no Docker daemon"):
        launch_training(project, local=True)


def test_launch_dry_run_prints_the_requests_and_needs_no_credentials(project, aws_env, monkeypatch, capsys):
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    project.override({"bucket": FIXTURE_BUCKET})
    launch_training(project, upload=True, job_name="dry", dry_run=True)
    out = capsys.readouterr().out
    operations = [json.loads(chunk)["operation"] for chunk in split_json_objects(out)]
    assert operations == ["PutObject", "PutObject", "PutObject", "CreateTrainingJob"]


def split_json_objects(text: str) -> list[str]:
    decoder, chunks, index = json.JSONDecoder(), [], 0
    while index < len(text):
        if text[index].isspace():
            index += 1
            continue
        if text[index] != "{":
            index = text.index("\n", index) + 1 if "\n" in text[index:] else len(text)
            continue
        _, end = decoder.raw_decode(text, index)
        chunks.append(text[index:end])
        index = end
    return chunks


def test_missing_credentials_role_or_bucket_are_one_clear_line(project, aws_env, monkeypatch, tmp_path):
    runner = CliRunner()
    monkeypatch.chdir(project.root)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    no_bucket = runner.invoke(app, ["launch"])
    assert no_bucket.exit_code == 1 and "no S3 bucket" in no_bucket.output
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    no_credentials = runner.invoke(app, ["launch", "--bucket", FIXTURE_BUCKET])
    assert no_credentials.exit_code == 1
    assert no_credentials.output.strip().splitlines()[-1].startswith("error: no AWS credentials found")
    assert "Traceback" not in no_credentials.output
    monkeypatch.delenv("SAGEMAKER_ROLE_ARN")
    no_role = runner.invoke(app, ["launch", "--bucket", FIXTURE_BUCKET, "--dry-run"])
    assert no_role.exit_code == 1 and "no SageMaker execution role" in no_role.output


# --- deploy, batch transform, destroy ---------------------------------------------------------------


def tar_members(s3, uri: str) -> set[str]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    with tarfile.open(fileobj=io.BytesIO(s3.get_object(Bucket=bucket, Key=key)["Body"].read()), mode="r:gz") as tar:
        return set(tar.getnames())


def test_deploy_uploads_the_model_and_creates_model_config_endpoint(project, aws, trained_model):
    requests = deploy_model(
        project,
        ModelSource(model_dir=trained_model),
        EndpointSpec(endpoint_name="fixture-endpoint", poll_seconds=0),
        clients=aws,
    )
    sagemaker = aws["sagemaker"]
    endpoint = sagemaker.describe_endpoint(EndpointName="fixture-endpoint")
    assert endpoint["EndpointStatus"] == "InService"
    config = sagemaker.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
    variant = config["ProductionVariants"][0]
    assert variant["InstanceType"] == project.aws.inference_instance_type
    model = sagemaker.describe_model(ModelName=variant["ModelName"])
    container = model["PrimaryContainer"]
    assert container["Image"] == image_uri(INFERENCE, REGION, project.aws.inference_instance_type)
    assert container["Environment"]["SAGEMAKER_PROGRAM"] == "inference.py"
    # one worker using every core, answering within SageMaker's 60 s (the handler bounds a request's tokens)
    assert container["Environment"]["SAGEMAKER_MODEL_SERVER_WORKERS"] == "1"
    assert container["Environment"]["SAGEMAKER_MODEL_SERVER_TIMEOUT"] == "60"
    members = tar_members(aws["s3"], container["ModelDataUrl"])
    assert members == {
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "tokenizer_config.json",
        "labels.json",
        "metrics.json",
        "training_config.json",
        "history.json",
        "README.md",
        INT8_MODEL_FILE,
        str(Path(INT8_MODEL_FILE).with_suffix(".bin")),
        "code/inference.py",
        "code/batching.py",
        "code/ngram_scorer.py",
        "code/artifact_files.py",
        "code/answers.py",
        "code/request_rules.py",
        "code/requirements.txt",
    } | ({THRESHOLDS_FILE} if load_schema(project).multi_label else set()) | (  # each label's threshold
        {CALIBRATION_FILE} if TASK != "regression" else set()  # the temperatures scores are calibrated with
    )
    assert requests["model"]["ModelName"] == variant["ModelName"]


def test_packed_handler_is_the_file_the_local_server_uses(project, aws, trained_model):
    from {{ cookiecutter.package_name }}.serving import server

    requests = deploy_model(
        project, ModelSource(model_dir=trained_model), EndpointSpec(endpoint_name="same-handler"), clients=aws
    )
    uri = requests["model"]["PrimaryContainer"]["ModelDataUrl"]
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    body = aws["s3"].get_object(Bucket=bucket, Key=key)["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(body), mode="r:gz") as tar:
        packed = tar.extractfile("code/inference.py").read()
    assert packed == Path(server.handler.__file__).read_bytes() == HANDLER.read_bytes()


def test_redeploy_updates_the_endpoint_to_a_new_config(project, aws, trained_model, monkeypatch):
    deploy_model(
        project, ModelSource(model_dir=trained_model), EndpointSpec(endpoint_name="fixture-endpoint"), clients=aws
    )
    monkeypatch.setattr(session_module, "stamp", lambda: "second")
    # moto does not implement UpdateEndpoint: check the request that is sent
    sent = capture(aws["sagemaker"], "UpdateEndpoint", reply={"EndpointArn": "arn:fixture"})
    deploy_model(
        project,
        ModelSource(model_dir=trained_model),
        EndpointSpec(endpoint_name="fixture-endpoint", wait=False),
        clients=aws,
    )
    assert sent == [{"EndpointName": "fixture-endpoint", "EndpointConfigName": "fixture-endpoint-cfg-second"}]
    assert aws["sagemaker"].describe_endpoint_config(EndpointConfigName="fixture-endpoint-cfg-second")


def test_serverless_deploy_sends_memory_and_concurrency(project, aws, trained_model):
    requests = deploy_model(
        project,
        ModelSource(model_dir=trained_model),
        EndpointSpec(endpoint_name="serverless", serverless=True),
        clients=aws,
    )
    variant = requests["endpoint_config"]["ProductionVariants"][0]
    assert variant["ServerlessConfig"] == {"MemorySizeInMB": 4096, "MaxConcurrency": 5}
    assert "InstanceType" not in variant


@pytest.mark.parametrize(
    ("instance_type", "requested", "allowed", "served"),
    [
        ("ml.m5.xlarge", "auto", True, "int8"),
        ("serverless", "auto", True, "int8"),
        ("ml.g5.xlarge", "auto", True, "fp32"),
        ("ml.c6i.xlarge", "fp32", True, "fp32"),
        ("ml.m5.xlarge", "auto", False, "fp32"),
    ],
)
def test_deploy_serves_int8_on_cpu_instances_where_the_check_allowed_it(
    project, aws_env, trained_model, tmp_path, instance_type, requested, allowed, served
):
    model_dir = artifact_with_int8_record(trained_model, tmp_path, allowed)
    project.override({"bucket": FIXTURE_BUCKET, "inference_instance_type": instance_type})
    requests = deploy_model(
        project,
        ModelSource(model_dir=model_dir),
        EndpointSpec(endpoint_name="precision", serverless=instance_type == "serverless", precision=requested),
        dry_run=True,
    )
    assert requests["model"]["PrimaryContainer"]["Environment"][handler.PRECISION_ENV] == served


def test_deploy_refuses_int8_on_a_gpu_and_an_incomplete_ngram_model(project, aws_env, trained_model, tmp_path):
    project.override({"bucket": FIXTURE_BUCKET, "inference_instance_type": "ml.g5.xlarge"})
    with pytest.raises(ConfigError, match="int8 runs on the CPU only"):
        deploy_model(project, ModelSource(model_dir=trained_model), EndpointSpec(precision="int8"), dry_run=True)
    with pytest.raises(ConfigError, match="int8 runs on CPU instances only"):
        deploy_model(project, ModelSource(training_job="finished-job"), EndpointSpec(precision="int8"), dry_run=True)
    baseline = tmp_path / "baseline"
    baseline.mkdir()
    (baseline / NGRAM_WEIGHTS_FILE).write_bytes(b"")
    with pytest.raises(ArtifactError, match="is missing labels.json"):  # an n-gram model is served, a whole one
        deploy_model(project, ModelSource(model_dir=baseline), dry_run=True)


def test_deploy_from_a_training_job_repacks_its_model_with_code(project, aws, trained_model, tmp_path):
    launch_training(project, job_name="finished-job", clients=aws)
    artifact = aws["sagemaker"].describe_training_job(TrainingJobName="finished-job")["ModelArtifacts"]
    bucket, _, key = artifact["S3ModelArtifacts"].removeprefix("s3://").partition("/")
    with tarfile.open(tmp_path / "job.tar.gz", "w:gz") as tar:
        for path in trained_model.iterdir():
            tar.add(path, arcname=path.name)
    aws["s3"].upload_file(str(tmp_path / "job.tar.gz"), bucket, key)
    requests = deploy_model(
        project, ModelSource(training_job="finished-job"), EndpointSpec(endpoint_name="from-job"), clients=aws
    )
    members = tar_members(aws["s3"], requests["model"]["PrimaryContainer"]["ModelDataUrl"])
    assert {"model.safetensors", "labels.json", "code/inference.py"} <= members


def upload_tar(aws, tmp_path, files: dict[str, Path], key: str = "models/outside/model.tar.gz") -> str:
    """An archive of ``files`` (name in the archive -> file here) at s3://FIXTURE_BUCKET/``key``."""
    with tarfile.open(tmp_path / "upload.tar.gz", "w:gz") as tar:
        for name, path in files.items():
            tar.add(path, arcname=name)
    aws["s3"].upload_file(str(tmp_path / "upload.tar.gz"), FIXTURE_BUCKET, key)
    return f"s3://{FIXTURE_BUCKET}/{key}"


def test_a_training_job_archive_under_one_folder_is_repacked_at_the_root(project, aws, trained_model, tmp_path):
    """Issue 26: files under model/ were deployed as they were, and the container could not load the tokenizer."""
    launch_training(project, job_name="foldered-job", clients=aws)
    artifact = aws["sagemaker"].describe_training_job(TrainingJobName="foldered-job")["ModelArtifacts"]
    key = artifact["S3ModelArtifacts"].removeprefix(f"s3://{FIXTURE_BUCKET}/")
    upload_tar(aws, tmp_path, {f"model/{path.name}": path for path in trained_model.iterdir()}, key)
    requests = deploy_model(
        project,
        ModelSource(training_job="foldered-job"),
        EndpointSpec(endpoint_name="foldered", wait=False),
        clients=aws,
    )
    members = tar_members(aws["s3"], requests["model"]["PrimaryContainer"]["ModelDataUrl"])
    assert {"config.json", "tokenizer.json", "labels.json", "code/inference.py"} <= members
    assert not any(name.startswith("model/") for name in members)


@pytest.mark.parametrize(
    ("layout", "message"),
    [
        ("two-folders", "missing at the archive's root; the model's files are under a/, b/"),
        ("no-labels", "labels.json missing at the archive's root"),
        ("not-a-tar", "is not a readable tar archive"),
    ],
)
def test_an_archive_the_container_cannot_load_is_refused_before_anything_is_created(
    project, aws, trained_model, tmp_path, layout, message
):
    files = {path.name: path for path in trained_model.iterdir() if path.is_file()}
    if layout == "two-folders":
        uri = upload_tar(aws, tmp_path, {f"{top}/{name}": path for top in "ab" for name, path in files.items()})
    elif layout == "no-labels":
        uri = upload_tar(aws, tmp_path, {name: path for name, path in files.items() if name != "labels.json"})
    else:
        aws["s3"].put_object(Bucket=FIXTURE_BUCKET, Key="models/outside/model.tar.gz", Body=b"not a tar")
        uri = f"s3://{FIXTURE_BUCKET}/models/outside/model.tar.gz"
    keys_before = {o["Key"] for o in aws["s3"].list_objects_v2(Bucket=FIXTURE_BUCKET).get("Contents", [])}
    with pytest.raises(ArtifactError, match=re.escape(message)):
        deploy_model(
            project, ModelSource(model_data=uri), EndpointSpec(endpoint_name="refused", wait=False), clients=aws
        )
    assert aws["sagemaker"].list_models()["Models"] == []
    assert {o["Key"] for o in aws["s3"].list_objects_v2(Bucket=FIXTURE_BUCKET)["Contents"]} == keys_before


def test_a_model_folder_without_a_tokenizer_is_refused_before_anything_is_created(
    project, aws, trained_model, tmp_path
):
    import shutil

    broken = shutil.copytree(trained_model, tmp_path / "model")
    (broken / "tokenizer.json").unlink()
    with pytest.raises(ArtifactError, match="tokenizer.json missing at the archive's root"):
        deploy_model(
            project, ModelSource(model_dir=broken), EndpointSpec(endpoint_name="no-tokenizer", wait=False), clients=aws
        )
    assert aws["sagemaker"].list_models()["Models"] == []
    assert "Contents" not in aws["s3"].list_objects_v2(Bucket=FIXTURE_BUCKET)


def test_deploy_takes_an_s3_model_tar_gz(project, aws, trained_model, tmp_path):
    uri = upload_tar(aws, tmp_path, {path.name: path for path in trained_model.iterdir()})
    requests = deploy_model(
        project, ModelSource(model_data=uri), EndpointSpec(endpoint_name="from-s3", wait=False), clients=aws
    )
    assert "code/inference.py" in tar_members(aws["s3"], requests["model"]["PrimaryContainer"]["ModelDataUrl"])


def test_batch_transform_uses_the_same_model(project, aws, trained_model):
    result = deploy_model(
        project,
        ModelSource(model_dir=trained_model),
        EndpointSpec(endpoint_name="batch", batch_input=f"s3://{FIXTURE_BUCKET}/input/"),
        clients=aws,
    )
    job = aws["sagemaker"].describe_transform_job(TransformJobName=result["transform"]["TransformJobName"])
    assert job["ModelName"] == result["model"]["ModelName"]
    assert job["TransformInput"]["ContentType"] == "application/jsonlines"


def test_batch_transform_scales_lines_up_and_keeps_them_aligned(project, aws, trained_model):
    project.override({"transform_instance_count": 3, "max_concurrent_transforms": 2, "max_payload_mb": 4})
    sent = capture(aws["sagemaker"], "CreateTransformJob")
    result = deploy_model(
        project,
        ModelSource(model_dir=trained_model),
        EndpointSpec(endpoint_name="big-batch", batch_input=f"s3://{FIXTURE_BUCKET}/input/"),
        clients=aws,
    )
    request = sent[0]
    assert request["TransformResources"]["InstanceCount"] == 3
    assert request["MaxConcurrentTransforms"] == 2 and request["MaxPayloadInMB"] == 4
    assert request["BatchStrategy"] == "MultiRecord" and request["TransformInput"]["SplitType"] == "Line"
    assert request["TransformOutput"]["AssembleWith"] == "Line"
    model = aws["sagemaker"].describe_model(ModelName=result["model"]["ModelName"])
    environment = model["PrimaryContainer"]["Environment"]
    assert environment["MAX_ITEMS_PER_REQUEST"] == "0"  # a mini-batch holds as many lines as fit
    assert environment[request_rules.TOKENS_LIMIT_ENV] == "0" and "SAGEMAKER_MODEL_SERVER_WORKERS" not in environment
    assert environment["SAGEMAKER_MAX_PAYLOAD_IN_MB"] == "4"


@pytest.mark.parametrize("instance_type", ["ml.m5.xlarge", "ml.c6i.2xlarge", "ml.trn1.2xlarge", "local"])
def test_launch_refuses_an_instance_type_without_a_gpu(project, aws_env, instance_type):
    project.override({"bucket": FIXTURE_BUCKET, "training_instance_type": instance_type})
    with pytest.raises(AwsSetupError, match=f"{instance_type!r} has no GPU"):
        launch_training(project, job_name="cpu", dry_run=True)


@pytest.mark.parametrize("instance_type", ["ml.g5.xlarge", "ml.g6e.12xlarge", "ml.p4de.24xlarge", "ml.p5.48xlarge"])
def test_torchrun_is_on_for_every_gpu_type_without_a_gpu_table(project, aws_env, instance_type, capsys):
    project.override({"bucket": FIXTURE_BUCKET, "training_instance_type": instance_type})
    request = launch_training(project, job_name="gpu", dry_run=True)
    assert request["HyperParameters"]["sagemaker_torch_distributed_enabled"] == "true"


def test_destroy_deletes_recorded_names_and_is_safe_twice(project, aws, trained_model, monkeypatch, capsys):
    deploy_model(project, ModelSource(model_dir=trained_model), EndpointSpec(endpoint_name="to-delete"), clients=aws)
    monkeypatch.setattr(session_module, "stamp", lambda: "v2")
    capture(aws["sagemaker"], "UpdateEndpoint", reply={"EndpointArn": "arn:fixture"})
    deploy_model(
        project, ModelSource(model_dir=trained_model), EndpointSpec(endpoint_name="to-delete", wait=False), clients=aws
    )
    sagemaker = aws["sagemaker"]
    assert len(sagemaker.list_models()["Models"]) == 2
    deleted = destroy_endpoint(project, "to-delete", clients=aws)
    assert [op for op, _ in deleted].count("delete_model") == 2
    assert sagemaker.list_endpoints()["Endpoints"] == []
    assert sagemaker.list_endpoint_configs()["EndpointConfigs"] == []
    assert sagemaker.list_models()["Models"] == []
    capsys.readouterr()
    assert destroy_endpoint(project, "to-delete", clients=aws) == []
    assert "nothing to delete" in capsys.readouterr().out


def test_destroy_uses_the_names_the_endpoint_really_has(project, aws):
    """Names unlike the endpoint's, created outside this project: found through describe, not guessed."""
    sagemaker = aws["sagemaker"]
    sagemaker.create_model(
        ModelName="someone-elses-model",
        ExecutionRoleArn=FIXTURE_ROLE,
        PrimaryContainer={"Image": "fixture-image", "ModelDataUrl": f"s3://{FIXTURE_BUCKET}/m"},
    )
    sagemaker.create_endpoint_config(
        EndpointConfigName="odd-config-name",
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": "someone-elses-model",
                "InstanceType": "ml.m5.large",
                "InitialInstanceCount": 1,
            }
        ],
    )
    sagemaker.create_endpoint(EndpointName="adopted", EndpointConfigName="odd-config-name")
    destroy_endpoint(project, "adopted", clients=aws)
    assert sagemaker.list_models()["Models"] == [] and sagemaker.list_endpoint_configs()["EndpointConfigs"] == []


def test_deploy_and_destroy_dry_runs_call_nothing(project, aws_env, trained_model, monkeypatch, capsys):
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    project.override({"bucket": FIXTURE_BUCKET})
    deploy_model(project, ModelSource(model_dir=trained_model), EndpointSpec(endpoint_name="dry"), dry_run=True)
    destroy_endpoint(project, "dry", dry_run=True)
    operations = [json.loads(c)["operation"] for c in split_json_objects(capsys.readouterr().out)]
    assert operations == [
        "PutObject",
        "CreateModel",
        "CreateEndpointConfig",
        "CreateEndpoint or UpdateEndpoint",
        "DeleteEndpoint",
    ]


def test_commands_run_against_a_moto_server_through_aws_endpoint_url(project, trained_model, moto_server):
    runner = CliRunner()
    instance = ["--set", "aws.inference_instance_type=ml.m5.xlarge"]  # moto's list predates ml.g5
    launched = runner.invoke(app, ["launch", "--bucket", FIXTURE_BUCKET, "--upload", "--job-name", "via-server"])
    assert launched.exit_code == 0, launched.output
    deployed = runner.invoke(
        app,
        [
            "deploy",
            "--model-dir",
            str(trained_model),
            "--bucket",
            FIXTURE_BUCKET,
            "--endpoint-name",
            "via-server",
            "--no-wait",
            *instance,
        ],
    )
    assert deployed.exit_code == 0, deployed.output
    destroyed = runner.invoke(app, ["destroy", "--endpoint-name", "via-server"])
    assert destroyed.exit_code == 0 and "delete endpoint: via-server" in destroyed.output


def test_no_account_ids_roles_or_buckets_in_the_project_sources():
    project_root = SRC.parent
    pattern = re.compile(r"\b\d{12}\b|arn:aws:iam::|s3://[a-z0-9]")
    files = [*SRC.rglob("*.py"), project_root / "config.yaml", project_root / "pyproject.toml"]
    offenders = [
        f"{path}:{n}"
        for path in files
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if pattern.search(line)
    ]
    assert offenders == []
