"""evaluate and baseline: metrics, the report, pictures and the misclassified rows."""

from __future__ import annotations

import csv
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from {{ cookiecutter.package_name }} import logs
from {{ cookiecutter.package_name }}.answers import head_for
from {{ cookiecutter.package_name }}.cli import app
from {{ cookiecutter.package_name }}.config import Config, load_config
from {{ cookiecutter.package_name }}.data.dataset import data_file, load_project_file, load_schema
from {{ cookiecutter.package_name }}.evaluation.baseline import C_GRID
from {{ cookiecutter.package_name }}.model.artifact import NGRAM_WEIGHTS_FILE
from {{ cookiecutter.package_name }}.serving.loading import load_served_model

from conftest import (
    COMPARED,
    FAST,
    MULTI_LABEL,
    REGRESSION,
    RESULTS_PICTURE,
    TASK,
    copy_project,
    rows_figure,
    working_directory,
)

BASELINE_DIR = "artifacts/baseline"


@dataclass(frozen=True)
class FittedBaseline:
    project: Config  # a copy of this project with the sample as its data
    output: str  # what `baseline` printed

    @property
    def folder(self) -> Path:
        return self.project.root / BASELINE_DIR


@pytest.fixture(scope="module")
def fitted_baseline(tmp_path_factory) -> FittedBaseline:
    """`baseline --out artifacts/baseline`, run once for the tests below that only read what it wrote."""
    folder = tmp_path_factory.mktemp("baseline")
    project = load_config(copy_project(folder), FAST)
    with working_directory(project.root):
        result = CliRunner().invoke(app, ["baseline", "--out", BASELINE_DIR])
    assert result.exit_code == 0, result.output
    return FittedBaseline(project, result.output)


def test_quiet_keeps_the_results_and_drops_the_progress(project, trained_model, tmp_path, monkeypatch):
    """--quiet reaches every line the package prints (logs.say / logs.result): evaluate's file summary is progress,
    its metrics and where the results went are what it is run for."""
    monkeypatch.chdir(project.root)
    monkeypatch.setattr(logs, "_current", [None])  # the verbosity --quiet sets goes with this test
    args = ["evaluate", "--model-dir", str(trained_model), "--out", str(tmp_path / "evaluation")]
    normal = CliRunner().invoke(app, args)
    quiet = CliRunner().invoke(app, ["--quiet", *args])
    assert normal.exit_code == quiet.exit_code == 0, quiet.output
    assert "rows, kept" in normal.output and "rows, kept" not in quiet.output
    for output in (normal.output, quiet.output):
        assert f"test_{COMPARED}=" in output and "evaluation written to" in output


def test_evaluate_writes_report_pictures_and_errors(project, trained_model, tmp_path, monkeypatch):
    monkeypatch.chdir(project.root)
    out = tmp_path / "evaluation"
    result = CliRunner().invoke(app, ["evaluate", "--model-dir", str(trained_model), "--out", str(out)])
    assert result.exit_code == 0, result.output
    pictures = (RESULTS_PICTURE, "label_cooccurrence.png") if MULTI_LABEL else (RESULTS_PICTURE,)
    assert {"metrics.json", "report.txt", *pictures, "learning_curves.png", "errors.tsv"} <= {
        p.name for p in out.iterdir()
    }
    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    headings = {"multi_label": "each label's decisions", "regression": "always answering the mean"}
    assert f"test_{COMPARED}=" in result.output and headings.get(TASK, "confusion matrix") in result.output
    with open(out / "errors.tsv", encoding="utf-8", newline="") as handle:
        errors = list(csv.DictReader(handle, delimiter="\t"))
    if REGRESSION:  # the rows missed by more than the true scores' standard deviation
        assert 0 < len(errors) < metrics["num_examples"]
        assert all(float(row["score"]) > metrics["truth"]["std"] for row in errors)
    else:
        wrong = round(metrics["num_examples"] * (1 - metrics["accuracy"]))  # multi-label: subset accuracy
        assert len(errors) == wrong
    assert all(row["true"] != row["predicted"] for row in errors)
    for picture in (*pictures, "learning_curves.png"):
        assert (out / picture).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_baseline_beats_chance_on_the_same_splits(fitted_baseline):
    project, output = fitted_baseline.project, fitted_baseline.output
    metrics = json.loads((fitted_baseline.folder / "metrics.json").read_text(encoding="utf-8"))
    labels = len(metrics["test"]["label_names"])
    if MULTI_LABEL:  # predicting no label scores 0
        assert metrics["test"]["micro_f1"] > 0.5
    elif REGRESSION:  # a constant answer correlates with nothing
        assert metrics["test"]["spearman"] > 0.3 and metrics["test"]["mse"] < metrics["test"]["trivial"]["mse"]
    else:
        assert metrics["test"]["accuracy"] > 1 / labels + 0.1
    assert f"baseline_test_{COMPARED}=" in output
    # C chosen on the validation split, shown as it goes; the final fit on every row of the training file
    chosen_by = project.train.metric_for_best_model  # as training chooses its epoch
    assert "choosing C on the validation split" in output and f"validation {chosen_by}" in output
    assert set(metrics["validation_score_by_c"]) == {str(c) for c in C_GRID} and metrics["c"] in C_GRID
    train = load_project_file(project, load_schema(project), data_file(project, project.data.train_file))
    assert metrics["train_examples"] == len(train.records)


def test_the_baseline_is_an_artifact_evaluate_predict_and_serve_take(fitted_baseline, tmp_path, monkeypatch):
    project = fitted_baseline.project
    monkeypatch.chdir(project.root)
    runner = CliRunner()
    saved = json.loads((fitted_baseline.folder / "metrics.json").read_text(encoding="utf-8"))["test"]
    test_file = data_file(project, project.data.test_file)
    result = runner.invoke(
        app,
        [
            "evaluate",
            "--model-dir",
            BASELINE_DIR,
            "--test-file",
            str(test_file),
            "--out",
            str(tmp_path / "scored"),
        ],
    )
    assert result.exit_code == 0, result.output
    scored = json.loads((tmp_path / "scored" / "metrics.json").read_text(encoding="utf-8"))
    assert scored[COMPARED] == saved[COMPARED]  # the saved artifact answers as the fitted model did
    predict = ["predict", "--model-dir", BASELINE_DIR, "-o", str(tmp_path / "p.jsonl"), str(test_file)]
    result = runner.invoke(app, [*predict, "--set", "min_confidence=0.9"])  # the artifact's cut-off answers, said
    assert result.exit_code == 0, result.output
    why = "train again with it" if head_for(TASK).abstains else f"a {TASK} task never abstains"
    assert "note: model.min_confidence not used here: " in result.output and why in result.output
    rows = [json.loads(line) for line in (tmp_path / "p.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(rows) == saved["num_examples"]
    name, figure = rows_figure(rows)
    assert figure == pytest.approx(saved[name], rel=1e-4)
    assert load_served_model(BASELINE_DIR).network is None  # what serve loads: the n-gram model, no transformer


def test_a_damaged_or_planted_baseline_file_is_refused_without_running_it(fitted_baseline, project, monkeypatch):
    import numpy as np

    monkeypatch.chdir(project.root)
    shutil.copytree(fitted_baseline.folder, project.root / BASELINE_DIR)  # a copy: this test damages it
    weights = project.root / BASELINE_DIR / NGRAM_WEIGHTS_FILE
    np.savez(weights, weights=np.array([object()], dtype=object))  # a pickle inside: must never be loaded
    result = CliRunner().invoke(app, ["evaluate", "--model-dir", BASELINE_DIR])
    assert result.exit_code == 1 and "is not an n-gram model this project saved" in result.output
    weights.write_bytes(b"PK\x03\x04 not really a zip")
    result = CliRunner().invoke(app, ["evaluate", "--model-dir", BASELINE_DIR])
    assert result.exit_code == 1 and "is not an n-gram model this project saved" in result.output
    assert "Traceback" not in result.output


@pytest.mark.slow  # a training run; the verdict itself: evaluation/test_verdict.py
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
    assert "warning: this model is weak: " in result.output and "it is below the baseline" in result.output
    assert "train longer (--epochs)" in result.output and "pretrained model" in result.output
