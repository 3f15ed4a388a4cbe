"""The command line as a user meets it: help, mistakes, and train end to end."""

from __future__ import annotations

import subprocess
import sys

from typer.testing import CliRunner

from {{ cookiecutter.package_name }}.cli import app

from conftest import SRC

COMMANDS = ("prepare", "baseline", "train", "evaluate", "serve", "predict", "launch", "deploy", "destroy", "config")


def test_help_lists_every_command():
    result = subprocess.run(
        [sys.executable, "-m", "{{ cookiecutter.package_name }}", "--help"],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env={"PYTHONPATH": str(SRC), "PATH": ""},
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    for command in COMMANDS:
        assert command in result.stdout


def test_user_mistakes_end_in_one_clear_line(project, tmp_path, monkeypatch):
    monkeypatch.chdir(project.root)
    runner = CliRunner()
    cases = [
        (["train", "--set", "train.epoch=1"], "unknown config key 'train.epoch'"),
        (["evaluate", "--model-dir", str(tmp_path / "nothing")], "does not exist; run train first"),
        (["train", "--model", "scratch:huge"], "unknown offline model 'scratch:huge'"),
        (["predict", "x.tsv"], "give exactly one of --model-dir, --url, --endpoint-name"),
        (["deploy"], "give exactly one of --model-dir, --training-job or --model-data"),
        (["prepare", "--config", str(tmp_path / "missing.yaml")], "does not exist"),
    ]
    for args, message in cases:
        result = runner.invoke(app, args)
        assert result.exit_code == 1, (args, result.output)
        assert message in result.output, (args, result.output)
        assert "Traceback" not in result.output


def test_train_command_end_to_end(project, monkeypatch):
    monkeypatch.chdir(project.root)
    result = CliRunner().invoke(
        app,
        [
            "train",
            "--model",
            "scratch:tiny",
            "--epochs",
            "1",
            "--max-rows",
            "300",
            "--loop",
            "torch",
            "--set",
            "tracking.mlflow=false",
        ],
    )
    assert result.exit_code == 0, result.output
    assert (project.root / "artifacts" / "model" / "model.safetensors").is_file()
