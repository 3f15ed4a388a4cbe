"""evaluate, baseline and the command line as a user meets it."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from {{ cookiecutter.package_name }}.cli import app

COMMANDS = ("prepare", "baseline", "train", "evaluate", "serve", "predict", "launch", "deploy", "destroy")
SRC = Path(__file__).resolve().parent.parent / "src"


def test_help_lists_every_command():
    result = subprocess.run([sys.executable, "-m", "{{ cookiecutter.package_name }}", "--help"], capture_output=True,
                            text=True, encoding="utf-8", env={"PYTHONPATH": str(SRC), "PATH": ""}, timeout=120)
    assert result.returncode == 0, result.stderr
    for command in COMMANDS:
        assert command in result.stdout


def test_evaluate_writes_report_pictures_and_errors(project, trained_model, tmp_path, monkeypatch):
    monkeypatch.chdir(project.root)
    out = tmp_path / "evaluation"
    result = CliRunner().invoke(app, ["evaluate", "--model-dir", str(trained_model), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert {"metrics.json", "report.txt", "confusion_matrix.png", "learning_curves.png", "errors.tsv"} <= {
        p.name for p in out.iterdir()}
    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    assert "test_accuracy=" in result.output and "confusion matrix" in result.output
    with open(out / "errors.tsv", encoding="utf-8", newline="") as handle:
        errors = list(csv.DictReader(handle, delimiter="\t"))
    wrong = metrics["num_examples"] - sum(metrics["confusion_matrix"][i][i] for i in range(len(metrics["label_names"])))
    assert len(errors) == wrong
    assert all(row["true"] != row["predicted"] for row in errors)
    for picture in ("confusion_matrix.png", "learning_curves.png"):
        assert (out / picture).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_baseline_beats_chance_on_the_same_splits(project, monkeypatch):
    monkeypatch.chdir(project.root)
    result = CliRunner().invoke(app, ["baseline", "--out", "artifacts/baseline"])
    assert result.exit_code == 0, result.output
    metrics = json.loads((project.root / "artifacts/baseline/metrics.json").read_text(encoding="utf-8"))
    labels = len(metrics["test"]["label_names"])
    assert metrics["test"]["accuracy"] > 1 / labels + 0.1
    assert "baseline_test_accuracy=" in result.output


def test_user_mistakes_end_in_one_clear_line(project, tmp_path, monkeypatch):
    monkeypatch.chdir(project.root)
    runner = CliRunner()
    cases = [
        (["train", "--set", "train.epoch=1"], "unknown config key 'train.epoch'"),
        (["evaluate", "--model-dir", str(tmp_path / "nothing")], "does not exist; run train first"),
        (["train", "--model", "scratch:huge"], "unknown offline model 'scratch:huge'"),
        (["predict", "x.tsv"], "give exactly one of --model-dir, --url, --endpoint-name"),
        (["deploy"], "give exactly one of --model-dir or --training-job"),
        (["prepare", "--config", str(tmp_path / "missing.yaml")], "does not exist"),
    ]
    for args, message in cases:
        result = runner.invoke(app, args)
        assert result.exit_code == 1, (args, result.output)
        assert message in result.output, (args, result.output)
        assert "Traceback" not in result.output


def test_train_command_end_to_end(project, monkeypatch):
    monkeypatch.chdir(project.root)
    result = CliRunner().invoke(app, ["train", "--model", "scratch:tiny", "--epochs", "1", "--max-rows", "300",
                                      "--loop", "torch", "--set", "tracking.tracking=false"])
    assert result.exit_code == 0, result.output
    assert (project.root / "artifacts" / "model" / "model.safetensors").is_file()
