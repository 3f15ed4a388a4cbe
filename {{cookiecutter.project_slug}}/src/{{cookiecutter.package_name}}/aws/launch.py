"""Launch the project's own training entry point as a SageMaker training job (``train``, or with ``pretrain=True`` the
continued pre-training of training/pretrain.py: the same request, image and channels, another entry script, and an
``unlabeled`` channel holding pretrain.unlabeled_files).

Hosted jobs are created with plain boto3 (``create_training_job``), so the request is exactly what
``--dry-run`` prints and what moto accepts; the Hugging Face training image comes from the SDK's
image-URI lookup (aws/images.py). ``--local`` builds a SageMaker SDK v3 ``ModelTrainer`` in local
container mode, which needs a running Docker daemon.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import tarfile
from pathlib import Path

from ..answers import SINGLE_LABEL
from ..config import CONFIG_FILE, LABELS_FILE, Config
from ..data.labels import LabelSchema
from ..errors import AwsSetupError
from ..evaluation.metrics import metric_regex
from ..tasks import task_named
from ..training.entry import ENTRY_SCRIPT, PACKAGE_DIR, PRETRAIN_ENTRY_SCRIPT, SAGEMAKER_CHECKPOINT_DIR
from .images import TRAINING, has_gpu, image_uri
from .session import (
    aws_clients,
    boto_session,
    name_base,
    print_requests,
    role_arn,
    s3_uri,
    split_s3,
    stamp,
    tags,
    wait_for,
)

SOURCE_STAGING_DIR = ".cache/sagemaker-source"
LOCAL_CONTAINER_ROOT = ".cache/sagemaker-local"
HYPERPARAMETER_SECTIONS = ("data", "model", "train", "pretrain")
SKIPPED_HYPERPARAMETERS = {
    "output_dir",
    "checkpoint_dir",
    "data_dir",
    "cache_dir",
    "labels_file",
    "pretrain_output_dir",
    "pretrain_checkpoint_dir",
}
PRETRAIN_METRICS = [  # what pretrain prints (training/pretrain.py), read back into CloudWatch
    {"Name": "pretrain:mlm_loss", "Regex": r"step=[0-9]+; mlm_loss=([0-9]+\.?[0-9]*);"},
    {"Name": "held_out:mlm_loss_before", "Regex": r"held_out_mlm_loss_before=([0-9]+\.?[0-9]*);"},
    {"Name": "held_out:mlm_loss_after", "Regex": r"held_out_mlm_loss_after=([0-9]+\.?[0-9]*);"},
]


def staged_labels_file(config: Config) -> str:
    """Where the label schema goes in the source dir: its configured relative path, which the staged config
    names (an absolute path is staged as labels.json and passed as a hyperparameter)."""
    configured = Path(config.data.labels_file)
    return LABELS_FILE if configured.is_absolute() else configured.as_posix()


def project_task(config: Config) -> str:
    """The task of the project's label schema (labels.json): single_label or multi_label; single_label without
    the file."""
    path = config.path(config.data.labels_file)
    return LabelSchema.load(path).task if path.is_file() else SINGLE_LABEL


def metric_definitions(task: str = SINGLE_LABEL) -> list[dict]:
    """What train.py prints (evaluation.metrics.metric_line), read back by SageMaker into CloudWatch: the training
    loss, the validation loss, and every registered metric (metric_registry.METRICS) of ``task`` of the per-epoch
    evaluation and of the final validation and test scores. Returns SageMaker's ``MetricDefinitions`` (Name,
    Regex)."""
    scored = task_named(task).metric_names
    names = ["eval_loss"] + [f"{split}_{name}" for split in ("eval", "validation", "test") for name in scored]
    definitions = [{"Name": "train:loss", "Regex": r"step=[0-9]+; loss=([0-9]+\.?[0-9]*);"}]
    for name in names:
        definitions.append({"Name": name.replace("_", ":", 1), "Regex": metric_regex(name)})
    return definitions


def hyperparameters(config: Config) -> dict[str, str]:
    """Config values that differ from the staged config.yaml are not needed: send the training knobs only."""
    values = {}
    for section in HYPERPARAMETER_SECTIONS:
        for key, value in config.to_dict()[section].items():
            if key not in SKIPPED_HYPERPARAMETERS:
                values[key] = value
    if Path(config.data.labels_file).is_absolute():
        values["labels_file"] = LABELS_FILE
    if config.aws.mlflow_tracking_arn:
        values.update(mlflow=True, tracking_uri=config.aws.mlflow_tracking_arn)
    else:
        values["mlflow"] = False
    return {key: str(value).lower() if isinstance(value, bool) else str(value) for key, value in values.items()}


def unlabeled_names(config: Config) -> list[str]:
    """The files pretrain.unlabeled_files names, in order."""
    return [name.strip() for name in config.pretrain.unlabeled_files.split(",") if name.strip()]


def stage_source(config: Config, destination: Path, pretrain: bool = False) -> Path:
    """source dir for the job: the package, the config file in use, the label schema, an entry script (train's, or
    ``pretrain``'s), requirements. The staged config is the one this command loaded (``--config`` included)."""
    if destination.exists():
        shutil.rmtree(destination)
    package_name = PACKAGE_DIR.name
    shutil.copytree(PACKAGE_DIR, destination / package_name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    if config.source is None:
        raise AwsSetupError(f"no {CONFIG_FILE} found: launch stages the config file the job trains with")
    shutil.copy(config.source, destination / CONFIG_FILE)
    shutil.copy(config.path(config.data.labels_file), destination / staged_labels_file(config))
    module, script = ("pretrain", PRETRAIN_ENTRY_SCRIPT) if pretrain else ("entry", ENTRY_SCRIPT)
    (destination / script).write_text(
        f"from {package_name}.training.{module} import main\n\nraise SystemExit(main())\n", encoding="utf-8"
    )
    # train quantizes the model for int8 CPU serving at its end (model/int8.py)
    requirements = ["pyyaml>=6", "koreanize-matplotlib>=0.1.1", "openvino>=2025.1,<2027", "nncf>=2.16"]
    if config.aws.mlflow_tracking_arn:
        requirements += ["mlflow-skinny>=2.16", "sagemaker-mlflow>=0.1"]
    (destination / "requirements.txt").write_text("\n".join(requirements) + "\n", encoding="utf-8")
    return destination


def source_tarball(source_dir: Path) -> bytes:
    """The staged source folder as sourcedir.tar.gz bytes (sorted, relative names)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for path in sorted(source_dir.rglob("*")):
            if path.is_file():
                tar.add(path, arcname=path.relative_to(source_dir).as_posix())
    return buffer.getvalue()


def check_training_instance(instance_type: str) -> None:
    """The pinned Hugging Face training image is GPU-only: refuse a CPU type here, not after the job starts."""
    if not has_gpu(instance_type):
        raise AwsSetupError(
            f"aws.training_instance_type {instance_type!r} has no GPU, and the Hugging Face training image runs on "
            "GPU instances only (ml.g5.xlarge, ml.g6.xlarge, ml.g5.12xlarge, ml.p4d.24xlarge, ...). Pick one, "
            "or train on this machine with `train`"
        )


def training_job_request(config: Config, job_name: str, region: str, source_uri: str, pretrain: bool = False) -> dict:
    """The CreateTrainingJob request for ``job_name`` (``pretrain``: the pretrain entry script, its metrics and the
    unlabeled channel); raises AwsSetupError (a CPU instance type, no role or bucket)."""
    aws = config.aws
    check_training_instance(aws.training_instance_type)
    hyper = {key: json.dumps(value) for key, value in hyperparameters(config).items()}
    hyper.update(
        {
            "sagemaker_program": json.dumps(PRETRAIN_ENTRY_SCRIPT if pretrain else ENTRY_SCRIPT),
            "sagemaker_submit_directory": json.dumps(source_uri),
            "sagemaker_region": json.dumps(region),
            "sagemaker_container_log_level": "20",
        }
    )
    # the container starts torchrun with one process per GPU it finds, on every instance: no GPU table here
    hyper["sagemaker_torch_distributed_enabled"] = "true"
    stopping = {"MaxRuntimeInSeconds": aws.max_run_seconds}
    if aws.use_spot_instances:
        stopping["MaxWaitTimeInSeconds"] = max(aws.max_wait_seconds, aws.max_run_seconds)
    channels = [("train", s3_uri(config, "data", "train") + "/")]
    if config.data.test_file:
        channels.append(("test", s3_uri(config, "data", "test") + "/"))
    if pretrain and unlabeled_names(config):
        channels.append(("unlabeled", s3_uri(config, "data", "unlabeled") + "/"))
    request = {
        "TrainingJobName": job_name,
        "AlgorithmSpecification": {
            "TrainingImage": image_uri(TRAINING, region, aws.training_instance_type),
            "TrainingInputMode": "File",
            "MetricDefinitions": PRETRAIN_METRICS if pretrain else metric_definitions(project_task(config)),
        },
        "RoleArn": role_arn(config),
        "HyperParameters": hyper,
        "InputDataConfig": [s3_channel(name, uri) for name, uri in channels],
        "OutputDataConfig": {"S3OutputPath": s3_uri(config, "output")},
        "ResourceConfig": {
            "InstanceType": aws.training_instance_type,
            "InstanceCount": aws.instance_count,
            "VolumeSizeInGB": aws.volume_size_gb,
        },
        "StoppingCondition": stopping,
        "EnableManagedSpotTraining": aws.use_spot_instances,
        "CheckpointConfig": {"S3Uri": s3_uri(config, "checkpoints", job_name), "LocalPath": SAGEMAKER_CHECKPOINT_DIR},
        "Environment": {"TOKENIZERS_PARALLELISM": "false"},
        "Tags": tags(config),
    }
    return request


def s3_channel(name: str, uri: str) -> dict:
    """An S3 prefix input channel, fully replicated to every instance."""
    source = {"S3DataType": "S3Prefix", "S3Uri": uri, "S3DataDistributionType": "FullyReplicated"}
    data_source = {"S3DataSource": source}
    return {"ChannelName": name, "DataSource": data_source}


def data_uploads(config: Config, pretrain: bool = False) -> list[tuple[Path, str]]:
    """(local file, S3 URI) of each data file ``--upload`` sends: the training and test files, and for ``pretrain``
    pretrain.unlabeled_files. Raises AwsSetupError naming a file that does not exist."""
    files = [("train", config.data.train_file), ("test", config.data.test_file)]
    files += [("unlabeled", name) for name in unlabeled_names(config)] if pretrain else []
    uploads = []
    for channel, name in files:
        path = config.path(config.data.data_dir) / name
        if not path.is_file():
            raise AwsSetupError(f"--upload: {path} does not exist")
        uploads.append((path, s3_uri(config, "data", channel, Path(name).name)))
    return uploads


def default_job_name(config: Config) -> str:
    """A training job name: the S3 prefix's start and a time stamp."""
    return f"{name_base(config, 40) or 'training'}-{stamp()}"


def launch_training(
    config: Config,
    upload: bool = False,
    wait: bool = False,
    job_name: str | None = None,
    local: bool = False,
    dry_run: bool = False,
    clients: dict | None = None,
    poll_seconds: float = 30.0,
    pretrain: bool = False,
) -> dict:
    """Create the training job (or print the requests with dry_run); ``pretrain``: a pretrain job instead of train.
    Returns the request sent. Raises AwsSetupError (a missing file to upload, no role or bucket)."""
    if local:
        return launch_local(config, dry_run=dry_run, pretrain=pretrain)
    session = boto_session(config.aws.region)
    region = session.region_name
    job_name = job_name or default_job_name(config)
    source_uri = s3_uri(config, "code", job_name, "sourcedir.tar.gz")
    request = training_job_request(config, job_name, region, source_uri, pretrain)
    uploads = data_uploads(config, pretrain) if upload else []
    staged = stage_source(config, config.path(SOURCE_STAGING_DIR), pretrain)
    source_bytes = source_tarball(staged)
    planned = [
        ("PutObject", {"Bucket": split_s3(uri)[0], "Key": split_s3(uri)[1], "Body": f"<{path}>"})
        for path, uri in uploads
    ]
    planned.append(
        (
            "PutObject",
            {
                "Bucket": split_s3(source_uri)[0],
                "Key": split_s3(source_uri)[1],
                "Body": f"<sourcedir.tar.gz, {len(source_bytes)} bytes>",
            },
        )
    )
    planned.append(("CreateTrainingJob", request))
    if dry_run:
        print_requests(planned)
        return request
    clients = aws_clients(session, clients)
    for path, uri in uploads:
        bucket_name, key = split_s3(uri)
        clients["s3"].upload_file(str(path), bucket_name, key)
        print(f"uploaded {path} -> {uri}")
    bucket_name, key = split_s3(source_uri)
    clients["s3"].put_object(Bucket=bucket_name, Key=key, Body=source_bytes)
    clients["sagemaker"].create_training_job(**request)
    print(f"training job {job_name} created in {region}; image {request['AlgorithmSpecification']['TrainingImage']}")
    if wait:
        wait_for_training_job(clients["sagemaker"], job_name, poll_seconds)
    return request


def wait_for_training_job(client, job_name: str, poll_seconds: float = 30.0, timeout_seconds: float = 7 * 86400) -> str:
    """Print each status change until the job ends; returns the final status."""
    job = wait_for(
        lambda: client.describe_training_job(TrainingJobName=job_name),
        lambda job: (job["TrainingJobStatus"], job.get("SecondaryStatus")),
        job_name,
        {"Completed", "Failed", "Stopped"},
        poll_seconds,
        timeout_seconds,
    )
    for metric in job.get("FinalMetricDataList", []):
        print(f"  {metric['MetricName']}={metric['Value']}")
    if job["TrainingJobStatus"] == "Failed":
        raise AwsSetupError(f"training job {job_name} failed: {job.get('FailureReason', 'no reason given')}")
    return job["TrainingJobStatus"]


def docker_available() -> bool:
    """Whether a docker command and its daemon socket exist (local mode needs both)."""
    socket_path = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock").removeprefix("unix://")
    return shutil.which("docker") is not None and Path(socket_path).exists()


def build_local_trainer(config: Config, source_dir: Path, pretrain: bool = False):
    """A SageMaker SDK v3 ModelTrainer in local container mode, running the same entry point (``pretrain``'s)."""
    from sagemaker.train import ModelTrainer
    from sagemaker.train.configs import Compute, InputData, SourceCode, StoppingCondition
    from sagemaker.train.model_trainer import Mode

    instance_type = "local_gpu" if has_gpu(config.aws.training_instance_type) else "local"
    data_dir = config.path(config.data.data_dir)
    return ModelTrainer(
        training_mode=Mode.LOCAL_CONTAINER,
        role=role_arn(config),
        training_image=image_uri(TRAINING, config.aws.region, instance_type),
        source_code=SourceCode(
            source_dir=str(source_dir),
            entry_script=PRETRAIN_ENTRY_SCRIPT if pretrain else ENTRY_SCRIPT,
            requirements="requirements.txt",
        ),
        compute=Compute(instance_type=instance_type, instance_count=1),
        stopping_condition=StoppingCondition(max_runtime_in_seconds=config.aws.max_run_seconds),
        hyperparameters=hyperparameters(config),
        input_data_config=[
            InputData(channel_name="train", data_source=str(data_dir)),
            InputData(channel_name="test", data_source=str(data_dir)),
            *([InputData(channel_name="unlabeled", data_source=str(data_dir))] if pretrain else []),
        ],
        local_container_root=str(config.path(LOCAL_CONTAINER_ROOT)),
    )


def launch_local(config: Config, dry_run: bool = False, pretrain: bool = False):
    """Run (or with ``dry_run`` describe) the job (``pretrain``'s) in SageMaker local container mode; returns the
    ModelTrainer. Raises AwsSetupError when no Docker daemon is reachable."""
    staged = stage_source(config, config.path(SOURCE_STAGING_DIR), pretrain)
    if not dry_run and not docker_available():
        raise AwsSetupError(
            "--local runs the training container with Docker, and no Docker daemon is reachable "
            "(start Docker, or train without --local: `train` runs the same code directly)"
        )
    trainer = build_local_trainer(config, staged, pretrain)
    if dry_run:
        print(
            json.dumps(
                {
                    "mode": "LOCAL_CONTAINER",
                    "image": trainer.training_image,
                    "instance_type": trainer.compute.instance_type,
                    "entry_script": trainer.source_code.entry_script,
                    "source_dir": str(staged),
                    "hyperparameters": trainer.hyperparameters,
                },
                indent=2,
            )
        )
        return trainer
    trainer.train(wait=True)
    return trainer
