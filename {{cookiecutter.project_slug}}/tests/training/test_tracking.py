"""Tracking that opens with the standard tools: plain `mlflow ui` in the project folder lists the runs."""

from __future__ import annotations

import importlib.metadata
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from typer.testing import CliRunner

from {{ cookiecutter.package_name }}.cli import app
from {{ cookiecutter.package_name }}.training.run import train as run_training

from conftest import COMPARED, subprocess_env


def full_mlflow() -> bool:
    """Whether the full mlflow package (with its UI server) is installed, read from its metadata: importing
    mlflow takes seconds, which every plain `pytest` would pay at collection."""
    try:
        importlib.metadata.distribution("mlflow")
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.slow
@pytest.mark.skipif(
    not full_mlflow(), reason="the MLflow UI comes with the full mlflow package: pip install -e '.[dev]'"
)
def test_plain_mlflow_ui_in_the_project_folder_lists_the_run_with_its_metrics(project):
    run_training(project.override({"mlflow": True, "max_rows": 300, "epochs": 1, "loop": "torch"}))
    port = free_port()
    env = {key: value for key, value in subprocess_env().items() if not key.startswith("MLFLOW_")}
    mlflow = Path(sys.executable).parent / "mlflow"
    server = subprocess.Popen(
        [str(mlflow), "ui", "--port", str(port), "--workers", "1"],  # as `make mlflow-ui` starts it
        cwd=project.root,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        api = f"http://127.0.0.1:{port}/api/2.0/mlflow"
        deadline = time.monotonic() + 90
        while True:
            try:
                found = requests.get(f"{api}/experiments/search", params={"max_results": 10}, timeout=5)
                if found.status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            assert server.poll() is None and time.monotonic() < deadline, "mlflow ui did not start"
            time.sleep(0.5)
        experiments = {e["name"]: e["experiment_id"] for e in found.json()["experiments"]}
        assert project.tracking.experiment_name in experiments
        runs = requests.post(
            f"{api}/runs/search", timeout=10, json={"experiment_ids": [experiments[project.tracking.experiment_name]]}
        ).json()["runs"]
        assert len(runs) == 1
        run = runs[0]
        assert run["info"]["status"] == "FINISHED" and run["info"]["run_name"].startswith("scratch:tiny-torch-")
        metrics = {metric["key"] for metric in run["data"]["metrics"]}
        assert {f"eval_{COMPARED}", f"test_{COMPARED}", "loss"} <= metrics
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def test_a_config_mistake_leaves_no_run_behind(project, monkeypatch):
    monkeypatch.chdir(project.root)
    result = CliRunner().invoke(app, ["train", "--loop", "foo", "--set", "tracking.mlflow=true"])
    assert result.exit_code == 1 and "train.loop: 'foo' is not allowed" in result.output
    assert not (project.root / "mlflow.db").exists()
