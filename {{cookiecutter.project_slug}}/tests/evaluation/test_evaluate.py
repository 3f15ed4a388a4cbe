"""evaluate and baseline: metrics, the report, pictures and the misclassified rows."""

from __future__ import annotations

import csv
import json

from typer.testing import CliRunner

from {{ cookiecutter.package_name }}.cli import app


def test_evaluate_writes_report_pictures_and_errors(project, trained_model, tmp_path, monkeypatch):
    monkeypatch.chdir(project.root)
    out = tmp_path / "evaluation"
    result = CliRunner().invoke(app, ["evaluate", "--model-dir", str(trained_model), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert {"metrics.json", "report.txt", "confusion_matrix.png", "learning_curves.png", "errors.tsv"} <= {
        p.name for p in out.iterdir()
    }
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


def test_evaluate_compares_with_the_baseline_and_calls_a_weak_model_weak(project, monkeypatch):
    monkeypatch.chdir(project.root)
    runner = CliRunner()
    assert runner.invoke(app, ["baseline"]).exit_code == 0
    weak = runner.invoke(
        app,
        [
            "train",
            "--model",
            "scratch:tiny",
            "--loop",
            "torch",
            "--epochs",
            "1",
            "--max-rows",
            "200",
            "--learning-rate",
            "1e-9",
            "--mlflow",
            "false",
        ],
    )
    assert weak.exit_code == 0, weak.output
    assert "warning: this model is weak" in weak.output  # the end of train says it too
    result = runner.invoke(app, ["evaluate"])
    assert result.exit_code == 0, result.output
    assert "the baseline scored" in result.output and "on the same file" in result.output
    assert "warning: this model is weak: it is below the baseline" in result.output
    assert "train longer (--epochs)" in result.output and "pretrained model" in result.output
