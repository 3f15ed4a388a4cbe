"""The training entry point inside the real SageMaker training toolkit (sagemaker-training, from the index).

The job is the exact CreateTrainingJob request `launch --dry-run` prints: its HyperParameters, channels and
source bundle are laid out as SageMaker lays them out, under a temporary base directory instead of /opt/ml,
and the toolkit's own `train` program runs it.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import tarfile

import pytest

from {{ cookiecutter.package_name }}.aws.launch import (
    launch_training,
    source_tarball,
    stage_source,
)
from {{ cookiecutter.package_name }}.config import parse_mapping
from {{ cookiecutter.package_name }}.model.artifact import REQUIRED_FILES, RESULTS_DIR

from conftest import RESULTS_PICTURE, subprocess_env

pytestmark = pytest.mark.contract
ROLE = "arn:aws:iam::123456789012:role/fixture-sagemaker-role"  # a made-up fixture, never called


def sagemaker_layout(base, request: dict, data_dir, bundle: bytes) -> None:
    """/opt/ml as SageMaker prepares it for a job: config files, channel data, the source bundle."""
    config = base / "input" / "config"
    config.mkdir(parents=True)
    (config / "hyperparameters.json").write_text(json.dumps(request["HyperParameters"]), encoding="utf-8")
    # the toolkit waits until every host name resolves: "algo-1" does only inside SageMaker's network
    host = {"current_host": "localhost", "hosts": ["localhost"], "network_interface_name": "lo"}
    (config / "resourceconfig.json").write_text(json.dumps(host), encoding="utf-8")
    channels = {
        c["ChannelName"]: {
            "TrainingInputMode": "File",
            "S3DistributionType": "FullyReplicated",
            "RecordWrapperType": "None",
        }
        for c in request["InputDataConfig"]
    }
    (config / "inputdataconfig.json").write_text(json.dumps(channels), encoding="utf-8")
    for name, path in data_dir.items():
        channel = base / "input" / "data" / name
        channel.mkdir(parents=True)
        shutil.copy(path, channel / path.name)
    (base / "sourcedir.tar.gz").write_bytes(bundle)


@pytest.mark.slow
def test_the_training_toolkit_runs_the_entry_point_to_a_complete_artifact(project, tmp_path, monkeypatch):
    monkeypatch.setenv("SAGEMAKER_ROLE_ARN", ROLE)
    project.override(
        {"bucket": "fixture-bucket", "max_rows": 300, "epochs": 1, "loop": "torch", "remove_pattern": "-[0-9]"}
    )  # a value starting with '-' must arrive intact
    request = launch_training(project, job_name="contract-job", dry_run=True)
    base = tmp_path / "opt-ml"
    bundle = source_tarball(stage_source(project, tmp_path / "source"))
    data = {
        "train": project.path(project.data.data_dir) / project.data.train_file,
        "test": project.path(project.data.data_dir) / project.data.test_file,
    }
    request["HyperParameters"]["sagemaker_submit_directory"] = json.dumps(str(base / "sourcedir.tar.gz"))
    sagemaker_layout(base, request, data, bundle)
    env = {**subprocess_env(), "SAGEMAKER_BASE_DIR": str(base), "PYTHONPATH": ""}  # only its own bundle, as there
    result = subprocess.run(
        [sys.executable, "-c", "from sagemaker_training.cli.train import main; main()"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=600,
    )
    log = result.stdout[-4000:] + result.stderr[-4000:]
    assert result.returncode == 0, log
    model = base / "model"
    assert set(REQUIRED_FILES) <= {p.name for p in model.iterdir()}, log
    assert {"metrics.json", "report.txt", RESULTS_PICTURE} <= {p.name for p in (base / "output" / "data").iterdir()}
    assert (model / RESULTS_DIR).is_dir() and (base / "output" / "success").exists()
    used = json.loads((model / "training_config.json").read_text(encoding="utf-8"))
    assert used["data"]["remove_pattern"] == "-[0-9]"
    assert used["train"]["checkpoint_dir"] == str(base / "checkpoints")  # under the job's base, not the machine's
    with tarfile.open(fileobj=io.BytesIO(bundle)) as tar:
        assert "train_entry.py" in tar.getnames()


def test_the_toolkit_encoding_of_dict_and_dash_values_reaches_the_config_intact():
    from sagemaker_training import mapping

    words = mapping.to_cmd_args({"tags": {"team": "nlp", "cost": "7"}, "remove_pattern": "-[0-9]"})
    assert words == ["--remove_pattern", "-[0-9]", "--tags", "cost=7,team=nlp"]
    assert parse_mapping(words[3]) == {"cost": "7", "team": "nlp"}
    from {{ cookiecutter.package_name }}.training.entry import (
        build_parser,
        join_values,
        value_options,
    )

    parser = build_parser()
    args = parser.parse_args(join_values(words[:2], value_options(parser)))
    assert args.hp_remove_pattern == "-[0-9]"
    assert os.environ.get("SM_MODEL_DIR") is None  # nothing leaked from the job into this process
