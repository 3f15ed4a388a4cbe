"""Training: both loops on real reviews, accumulation and early stopping, the artifact they write."""

from __future__ import annotations

import json
import re
import time

import numpy as np
import pytest
import torch
from transformers import AutoConfig, AutoModelForSequenceClassification, AutoTokenizer
from transformers.modeling_outputs import SequenceClassifierOutput
from typer.testing import CliRunner

from {{ cookiecutter.package_name }}.aws.launch import metric_definitions
from {{ cookiecutter.package_name }}.cli import app
from {{ cookiecutter.package_name }}.config import TrainConfig
from {{ cookiecutter.package_name }}.data.labels import LabelSchema
from {{ cookiecutter.package_name }}.metric_registry import METRICS, register, unregister
from {{ cookiecutter.package_name }}.model.sources import SCRATCH_SIZES
from {{ cookiecutter.package_name }}.tasks import task_named
from {{ cookiecutter.package_name }}.training.run import train as run_training
from {{ cookiecutter.package_name }}.training.runtime import resolve_epochs

from conftest import COMPARED, MULTI_LABEL, REGRESSION, RESULTS_PICTURE, TASK

ARTIFACT_FILES = {
    "config.json",
    "model.safetensors",
    "tokenizer.json",
    "tokenizer_config.json",
    "labels.json",
    "metrics.json",
    "training_config.json",
    "history.json",
    "README.md",
}
RESULTS_FILES = {"metrics.json", "report.txt", RESULTS_PICTURE, "learning_curves.png"}


@pytest.mark.slow
@pytest.mark.container
@pytest.mark.parametrize("loop", ["trainer", "torch"])
def test_loop_trains_on_real_reviews_and_beats_chance(project, loop):
    # the Trainer's run ships what scores best on the validation split (training/ensemble.py), the torch loop's the
    # transformer alone, whose figures the asserts below are about
    shipping = "auto" if loop == "trainer" else "transformer"
    config = project.override({"loop": loop, "epochs": 8 if MULTI_LABEL else 3, "ship": shipping})
    started = time.perf_counter()
    metrics = run_training(config)
    assert time.perf_counter() - started < 120
    schema = LabelSchema.load(config.path("labels.json"))
    chance = 1 / schema.num_labels
    assert metrics["test"]["num_examples"] >= 900
    if MULTI_LABEL:  # above predicting no label (0) and the best constant label set
        assert metrics["test"]["micro_f1"] > max(0.3, metrics["test"]["trivial"]["f1"]), metrics["test"]
    elif REGRESSION:  # below always answering the mean score, and ranks the rows
        assert metrics["test"]["mse"] < metrics["test"]["trivial"]["mse"] and metrics["test"]["spearman"] > 0.3
    else:
        assert metrics["test"]["accuracy"] > chance + 0.1, metrics["test"]
    artifact = config.path(config.train.output_dir)
    assert ARTIFACT_FILES <= {p.name for p in artifact.iterdir()}
    assert RESULTS_FILES <= {p.name for p in (artifact / "evaluation").iterdir()}
    history = json.loads((artifact / "history.json").read_text(encoding="utf-8"))
    losses = [h["loss"] for h in history if "loss" in h and "step" in h]
    assert len(losses) >= 6
    assert sum(losses[-3:]) < sum(losses[:3])  # the last logged windows beat the first ones
    assert any(f"eval_{COMPARED}" in h for h in history)
    if loop == "trainer":
        assert_ships_the_best_on_validation(metrics, artifact, config.source)


def assert_ships_the_best_on_validation(metrics: dict, artifact, config_file) -> None:
    """What train shipped scores best on the validation split among the weights it tried, or is the n-gram model
    alone when the best was not surely better than it (the paired decision it records), and evaluate's Predictor
    scores the test split as train did (the same mix, the same thresholds)."""
    chosen = metrics["ensemble"]
    best = (max if METRICS[chosen["metric"]].higher_is_better else min)(chosen["validation_by_weight"].values())
    decision = chosen.get("validation_gain_over_ngram")
    if chosen["transformer_weight"] == 0 and decision is not None and not decision["better"]:
        assert chosen["validation"]["shipped"] == chosen["validation_by_weight"]["0.0"]
    else:
        assert chosen["validation"]["shipped"] == best
    assert metrics["test"][chosen["metric"]] == pytest.approx(chosen["test"]["shipped"])
    scoring = [
        "evaluate",
        "--config",
        str(config_file),
        "--model-dir",
        str(artifact),
        "--out",
        str(artifact / "scored"),
    ]
    scoring += ["--precision", "fp32"]  # the project's own test file (not the working folder's), as train scored it
    result = CliRunner().invoke(app, scoring)
    assert result.exit_code == 0, result.output
    scored = json.loads((artifact / "scored" / "metrics.json").read_text(encoding="utf-8"))
    assert scored[COMPARED] == pytest.approx(metrics["test"][COMPARED], abs=1e-3)


@pytest.mark.slow
def test_accumulation_and_early_stopping(project, capsys):
    config = project.override(
        {
            "loop": "torch",
            "epochs": 6,
            "max_rows": 300,
            "gradient_accumulation_steps": 2,
            "early_stopping_patience": 1,
            "learning_rate": 1e-9,
        }
    )
    metrics = run_training(config)
    out = capsys.readouterr().out
    assert "early stopping: no improvement in 1 epoch(s)" in out
    assert out.count("epoch=") == 2  # stopped after the second epoch, not the sixth
    assert metrics["validation"]["num_examples"] == 30


def test_artifact_loads_with_auto_classes_and_speaks_label_names(trained_model):
    schema = LabelSchema.load(trained_model / "labels.json")
    tokenizer = AutoTokenizer.from_pretrained(trained_model)
    model = AutoModelForSequenceClassification.from_pretrained(trained_model).eval()
    assert model.config.id2label == schema.id2label
    encoded = tokenizer(["정말 최고의 영화", "시간 아까운 쓰레기"], padding=True, return_tensors="pt")
    with torch.inference_mode():
        predicted = model(**encoded).logits.argmax(dim=-1).tolist()
    assert all(model.config.id2label[p] in schema.names for p in predicted)
    card = (trained_model / "README.md").read_text(encoding="utf-8")
    assert card.startswith("---\n") and "\n---\n\n# Model card" in card  # the Hub's metadata header first
    used = json.loads((trained_model / "training_config.json").read_text(encoding="utf-8"))
    assert used["model"]["base_model"] == "scratch:tiny" and used["train"]["loop"] == "torch"


def test_scratch_auto_trains_the_size_the_training_rows_call_for_and_says_so(trained_model, training_log):
    """TRAIN_COMMAND asks for scratch:auto: the sample's few rows make it scratch:tiny (sources.settled_source)."""
    assert re.search(r"model: scratch:auto for [\d,]+ training texts: scratch:tiny", training_log)
    config = AutoConfig.from_pretrained(trained_model)
    tiny = SCRATCH_SIZES["tiny"]
    assert (config.hidden_size, config.num_hidden_layers) == (tiny["hidden_size"], tiny["num_hidden_layers"])


@pytest.mark.slow
def test_both_loops_write_the_same_artifact_layout(project, trained_model, capsys):
    weighing = "auto" if REGRESSION else "balanced"  # regression refuses balanced: it has no classes
    config = project.override({"loop": "trainer", "max_steps": 3, "max_rows": 200, "class_weights": weighing})
    metrics = run_training(config)
    used = "none" if REGRESSION else "balanced"
    assert f"class weights: {used} (" in capsys.readouterr().out
    assert metrics["class_weights"]["used"] == used and bool(metrics["class_weights"]["weights"]) == (used != "none")
    trainer_files = {p.name for p in config.path(config.train.output_dir).iterdir() if p.is_file()}
    torch_files = {p.name for p in trained_model.iterdir() if p.is_file()}
    assert trainer_files == torch_files


@pytest.mark.parametrize(
    ("rows", "settings", "task", "epochs"),
    [
        (540, {}, "single_label", 24.0),  # 17 steps an epoch: 24 epochs reach min_steps=400 (600 rows less validation)
        (5400, {}, "single_label", 3.0),  # 169 steps an epoch: three epochs are already past min_steps
        (5400, {}, "multi_label", 6.0),  # rare labels learn slowly: six
        (540, {"epochs": 2.0}, "multi_label", 2.0),  # an explicit number is exact
        (540, {"min_steps": 0}, "single_label", 3.0),
        (540, {"batch_size": 8, "gradient_accumulation_steps": 2}, "single_label", 12.0),  # 34 steps an epoch
    ],
)
def test_auto_epochs_give_small_data_at_least_min_steps(rows, settings, task, epochs):
    assert resolve_epochs(rows, TrainConfig(**settings), world_size=1, task=task_named(task)) == epochs
    assert resolve_epochs(rows * 2, TrainConfig(**settings), world_size=2, task=task_named(task)) == epochs


@pytest.fixture()
def own_metric():
    """A metric of our own, registered for one test, for this project's task: the multi-class Brier score (lower is
    better; it reads the probabilities, which ``score()`` used to be unable to pass), regression the largest error.
    Yields (name, title)."""
    if REGRESSION:

        @register("max_error", title="largest error", higher_is_better=False, tasks=(TASK,))
        def max_error(labels, predictions, probabilities):
            return float(np.abs(np.asarray(labels) - np.asarray(predictions)).max())

        yield "max_error", "largest error"
        unregister("max_error")
        return

    @register("brier", title="Brier score", higher_is_better=False, uses_probabilities=True)
    def brier(labels, predictions, probabilities):
        truth = labels if labels.ndim == 2 else np.eye(probabilities.shape[1])[labels]  # multi-label: 0/1 already
        return float(((probabilities - truth) ** 2).sum(axis=1).mean())

    yield "brier", "Brier score"
    unregister("brier")


def test_a_registered_metric_reaches_the_sagemaker_definitions_and_evaluate(
    project, trained_model, own_metric, tmp_path, monkeypatch
):
    """The default tier's half of the test below, without a training run: a metric registered after training is
    scored by evaluate (metrics.json, report) and read by SageMaker from the lines it prints."""
    from typer.testing import CliRunner

    from {{ cookiecutter.package_name }}.cli import app

    monkeypatch.chdir(project.root)  # the sample as data, whatever is in data/raw/
    out = tmp_path / "evaluation"
    result = CliRunner().invoke(app, ["evaluate", "--model-dir", str(trained_model), "--out", str(out)])
    assert result.exit_code == 0, result.output
    name, title = own_metric
    definitions = {d["Name"]: d["Regex"] for d in metric_definitions(TASK)}
    assert re.search(definitions[f"test:{name}"], result.output)
    assert name in json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    assert title in (out / "report.txt").read_text(encoding="utf-8")


@pytest.mark.slow  # two training runs; the default tier checks the rest of the path above
@pytest.mark.parametrize("loop", ["torch", "trainer"])
def test_a_registered_metric_reaches_history_log_sagemaker_and_report(project, loop, own_metric, capsys):
    """Adding a metric is one function in metric_registry.py: both loops' histories, the lines SageMaker reads,
    its metric definitions, the evaluation report and the model card pick it up."""
    config = project.override({"loop": loop, "epochs": 1, "max_rows": 200, "logging_steps": 5})
    run_training(config)
    log = capsys.readouterr().out
    artifact = config.path(config.train.output_dir)
    history = json.loads((artifact / "history.json").read_text(encoding="utf-8"))
    name, title = own_metric
    assert any(0 <= h.get(f"eval_{name}", -1) for h in history), history
    definitions = {d["Name"]: d["Regex"] for d in metric_definitions(TASK)}
    for split in ("eval", "validation", "test"):
        assert re.search(definitions[f"{split}:{name}"], log), split
    results = artifact / "evaluation"
    assert name in json.loads((results / "metrics.json").read_text(encoding="utf-8"))
    assert title in (results / "report.txt").read_text(encoding="utf-8")
    assert title in (artifact / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("bars", [False, True])
def test_the_trainer_prints_no_log_dict_of_its_own(tmp_path, capsys, bars):
    """One line per log event: MetricLines prints it; the Trainer's printer (no bar) or its bar's print is gone."""
    from transformers import Trainer, TrainingArguments
    from transformers.trainer_callback import TrainerControl, TrainerState

    from {{ cookiecutter.package_name }}.training.hf_trainer import one_line_per_log

    args = TrainingArguments(output_dir=str(tmp_path), report_to=[], use_cpu=True, disable_tqdm=not bars)
    trainer = Trainer(model=torch.nn.Linear(2, 2), args=args)
    one_line_per_log(trainer)
    state = TrainerState()
    trainer.callback_handler.on_train_begin(args, state, TrainerControl())
    trainer.callback_handler.on_log(args, state, TrainerControl(), {"loss": 0.6109, "grad_norm": 1.5})
    trainer.callback_handler.on_train_end(args, state, TrainerControl())
    out = capsys.readouterr()
    assert "grad_norm" not in out.out + out.err


class Logits(torch.nn.Module):
    """A stand-in model (in training mode): the batch's ``logits`` as its outputs' (labels must not reach it)."""

    def forward(self, logits, **kwargs):
        assert "labels" not in kwargs
        return SequenceClassifierOutput(logits=logits)


def test_both_loops_train_on_the_tasks_class_weighted_loss():
    """The Trainer's compute_loss and the torch loop's batch_loss: the same weighted loss, the task's."""
    from {{ cookiecutter.package_name }}.training.hf_trainer import GroupedTrainer
    from {{ cookiecutter.package_name }}.training.torch_loop import TorchLoop

    logits, labels = torch.randn(5, 3), torch.tensor([0, 1, 2, 2, 2])
    weights = torch.tensor([3.0, 1.0, 0.5])
    expected = torch.nn.functional.cross_entropy(logits, labels, weight=weights)
    trainer, loop = object.__new__(GroupedTrainer), object.__new__(TorchLoop)
    for owner in (trainer, loop):
        owner.task, owner.class_weights, owner.teacher = task_named("single_label"), weights, None
    loop.model = Logits()
    assert torch.allclose(trainer.compute_loss(Logits(), {"logits": logits, "labels": labels}), expected)
    assert torch.allclose(loop.batch_loss({"logits": logits, "labels": labels}), expected)
