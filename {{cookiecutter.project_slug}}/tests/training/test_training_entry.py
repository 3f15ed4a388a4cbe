"""The training entry point: torchrun, the SageMaker contract, bad data, MLflow."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from {{ cookiecutter.package_name }}.training.entry import main
from {{ cookiecutter.package_name }}.training.run import train as run_training

from conftest import COMPARED, PACKAGE, RESULTS_PICTURE, break_file, entry_arguments, subprocess_env


@pytest.mark.slow
@pytest.mark.parametrize("loop", ["torch", "trainer"])
def test_torchrun_two_processes_on_cpu(project, loop):
    torchrun = shutil.which("torchrun") or str(Path(sys.executable).parent / "torchrun")
    command = [
        torchrun,
        "--standalone",
        "--nproc_per_node",
        "2",
        *entry_arguments(project.root / "config.yaml"),
        "--loop",
        loop,
        "--max_steps",
        "6",
        "--max_rows",
        "300",
        "--batch_size",
        "8",
    ]
    result = subprocess.run(
        command, cwd=project.root, env=subprocess_env(), capture_output=True, text=True, encoding="utf-8", timeout=300
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert (project.root / "artifacts" / "model" / "model.safetensors").is_file()
    assert result.stdout.count("model artifact written") == 1  # only rank 0 writes


@pytest.mark.slow  # a second training run; the default tier's model comes from `train` (conftest)
@pytest.mark.container
def test_sagemaker_training_contract(project, tmp_path, monkeypatch):
    channels = {name: tmp_path / "channels" / name for name in ("train", "test")}
    for name, folder in channels.items():
        folder.mkdir(parents=True)
        source = getattr(project.data, f"{name}_file")
        shutil.copy(project.path(project.data.data_dir) / source, folder / source)
    env = {
        "SM_MODEL_DIR": tmp_path / "model",
        "SM_OUTPUT_DATA_DIR": tmp_path / "output",
        "SM_CHANNEL_TRAIN": channels["train"],
        "SM_CHANNEL_TEST": channels["test"],
        "SM_NUM_GPUS": "0",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, str(value))
    code = main(
        [
            "--config",
            str(project.root / "config.yaml"),
            "--model",
            "scratch:tiny",
            "--epochs",
            "1",
            "--mlflow",
            "false",
            "--use_cpu",
            "true",
            "--group_by_length",
            "false",
            "--checkpoint_dir",
            str(tmp_path / "checkpoints"),
            "--max_rows",
            "300",
        ]
    )
    assert code == 0
    assert (tmp_path / "model" / "model.safetensors").is_file()
    assert {RESULTS_PICTURE, "learning_curves.png", "metrics.json", "report.txt"} <= {
        p.name for p in (tmp_path / "output").iterdir()
    }
    used = json.loads((tmp_path / "model" / "training_config.json").read_text(encoding="utf-8"))
    assert used["train"]["group_by_length"] is False  # "--group_by_length false" really is False


@pytest.mark.slow
def test_training_entry_point_never_imports_the_sagemaker_sdk():
    probe = (
        f"import sys, {PACKAGE}.training.entry, {PACKAGE}.training.run, {PACKAGE}.training.torch_loop, "
        f"{PACKAGE}.training.hf_trainer, {PACKAGE}.serving.handler; "
        "bad = sorted(m for m in sys.modules if m == 'sagemaker' or m.startswith('sagemaker.')); "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", probe], env=subprocess_env(), capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_bad_data_stops_training_with_file_and_line(project, capsys):
    train_file = project.path(project.data.data_dir) / project.data.train_file
    break_file(train_file)
    code = main(["--config", str(project.root / "config.yaml"), "--model", "scratch:tiny", "--mlflow", "false"])
    assert code == 1
    assert f"{train_file}:" in capsys.readouterr().err


@pytest.mark.slow
def test_mlflow_tracking_records_params_and_metrics(project, tmp_path):
    mlflow = pytest.importorskip("mlflow")
    uri = f"sqlite:///{tmp_path / 'tracking.db'}"
    config = project.override(
        {"mlflow": True, "tracking_uri": uri, "experiment_name": "tests", "max_rows": 300, "epochs": 1, "loop": "torch"}
    )
    run_training(config)
    client = mlflow.tracking.MlflowClient(tracking_uri=uri)
    experiment = client.get_experiment_by_name("tests")
    runs = client.search_runs([experiment.experiment_id])
    assert len(runs) == 1 and runs[0].info.status == "FINISHED"
    assert runs[0].data.params["loop"] == "torch"
    assert runs[0].info.run_name.startswith("scratch:tiny-torch-")  # says what ran
    assert {f"eval_{COMPARED}", f"test_{COMPARED}", "loss"} <= set(runs[0].data.metrics)


@pytest.mark.slow
def test_two_simulated_nodes_train_scratch_tiny_to_a_complete_artifact(project, tmp_path):
    """torchrun --nnodes 2 on 127.0.0.1, each node with its own base directory (its own disk), as on SageMaker."""
    torchrun = shutil.which("torchrun") or str(Path(sys.executable).parent / "torchrun")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    nodes = []
    for rank in (0, 1):
        base = tmp_path / f"node{rank}"
        env = {**subprocess_env(), "SM_MODEL_DIR": str(base / "model"), "SAGEMAKER_BASE_DIR": str(base)}
        command = [
            torchrun,
            "--nnodes",
            "2",
            "--node_rank",
            str(rank),
            "--nproc_per_node",
            "1",
            "--master_addr",
            "127.0.0.1",
            "--master_port",
            str(port),
            "-m",
            f"{PACKAGE}.training.entry",
            "--config",
            str(project.root / "config.yaml"),
            "--model",
            "scratch:tiny",
            "--mlflow",
            "false",
            "--use_cpu",
            "true",
            "--loop",
            "torch",
            "--max_steps",
            "6",
            "--max_rows",
            "300",
            "--batch_size",
            "8",
        ]
        nodes.append(
            subprocess.Popen(
                command,
                cwd=project.root,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                encoding="utf-8",
            )
        )
    outputs = [node.communicate(timeout=300)[0] for node in nodes]
    assert [node.returncode for node in nodes] == [0, 0], outputs[0][-3000:] + outputs[1][-3000:]
    artifact = tmp_path / "node0" / "model"
    assert (artifact / "model.safetensors").is_file() and (artifact / "tokenizer.json").is_file()
    own_tokenizer = tmp_path / "node1" / "checkpoints" / "scratch-tokenizer" / "tokenizer.json"
    vocab = [
        json.loads(path.read_text(encoding="utf-8"))["model"]["vocab"]
        for path in (artifact / "tokenizer.json", own_tokenizer)
    ]
    assert vocab[0] == vocab[1]  # node 1 built the same tokenizer on its own disk


def test_a_small_data_set_logs_several_loss_points_an_epoch(project):
    from {{ cookiecutter.package_name }}.training.runtime import (
        LOSS_POINTS_PER_EPOCH,
        logging_interval,
    )

    train = project.train
    train.batch_size, train.gradient_accumulation_steps, train.logging_steps = 32, 1, 50
    assert logging_interval(540, train, 1) == 17 // LOSS_POINTS_PER_EPOCH  # 17 steps an epoch: 4 points, not 0
    assert logging_interval(150_000, train, 1) == 50  # a large one logs every logging_steps
    assert logging_interval(10, train, 1) == 1


def test_progress_bars_only_on_a_terminal(monkeypatch):
    import io

    from {{ cookiecutter.package_name }} import logs

    monkeypatch.setattr(sys, "stderr", io.StringIO())  # a log file or a pipe
    logs.configure(logs.NORMAL)
    assert not logs.bars() and not logs.bars(show=True)
    logs.configure(logs.VERBOSE)
    assert logs.bars()
    logs.configure(logs.NORMAL)
