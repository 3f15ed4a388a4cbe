"""train.distillation_alpha: the n-gram model's cross-fitted scores as soft targets (training/distillation.py)."""

import json

import numpy as np
import pytest
import torch
from transformers.modeling_outputs import SequenceClassifierOutput

from {{ cookiecutter.package_name }}.data.dataset import checked_schema, data_file, load_splits
from {{ cookiecutter.package_name }}.data.splits import group_key
from {{ cookiecutter.package_name }}.evaluation.baseline import DEFAULT_C
from {{ cookiecutter.package_name }}.model.artifact import METRICS_FILE
from {{ cookiecutter.package_name }}.model.features import ROW_ID_KEY, record_pairs
from {{ cookiecutter.package_name }}.model.ngram import NgramClassifier, NgramFeatures
from {{ cookiecutter.package_name }}.tasks import task_named
from {{ cookiecutter.package_name }}.training.distillation import (
    AUTO,
    AUTO_ALPHA,
    FOLDS,
    SoftTargets,
    build_teacher,
    fold_indices,
    plain,
    settled_alpha,
)


def test_auto_distils_a_scratch_model_and_leaves_others_alone():
    assert settled_alpha(AUTO, "scratch:tiny")[0] == AUTO_ALPHA
    assert settled_alpha(AUTO, "scratch:small")[0] == AUTO_ALPHA
    alpha, reason = settled_alpha(AUTO, "monologg/koelectra-small-v3-discriminator")
    assert alpha == 0 and "train.distillation_alpha=0.2 turns it on" in reason
    assert settled_alpha(0.5, "monologg/koelectra-small-v3-discriminator") == (0.5, "train.distillation_alpha=0.5")
    assert settled_alpha(0.0, "scratch:tiny")[0] == 0
    assert settled_alpha(0.00001, "scratch:tiny")[1] == "train.distillation_alpha=0.00001"


def test_weights_print_as_plain_decimals():
    assert [plain(1 - 0.99999), plain(1 - 0.2), plain(0.0), plain(0.5)] == ["0.00001", "0.8", "0", "0.5"]


def test_the_folds_keep_rows_sharing_a_text_on_one_side():
    groups = ["a", "a", "b", "c", "d", "e", "e", "e", "f", "g"]
    folds = fold_indices(groups, FOLDS)
    assert len(folds) == FOLDS
    held_out = np.concatenate([held for _, held in folds])
    assert sorted(held_out) == list(range(len(groups)))  # every row scored exactly once
    for fitted, held in folds:
        assert not {groups[i] for i in fitted} & {groups[i] for i in held}


def test_each_training_row_is_scored_by_a_model_that_never_saw_its_text(project):
    schema = checked_schema(project)
    splits = load_splits(project, schema, data_file(project, project.data.train_file), None)
    lines = []
    teacher = build_teacher(project, splits, schema, lines.append)  # the project's scratch:tiny, auto
    task = task_named(schema.task)
    rows = splits.train
    assert teacher.alpha == AUTO_ALPHA and teacher.folds == FOLDS
    assert teacher.targets.dtype == np.float32 and len(teacher.targets) == len(rows)
    metric = project.train.metric_for_best_model
    assert list(teacher.record()["teacher"]) == [metric if metric in task.metric_names else task.compared_metric]
    assert any(line.startswith("distillation: loss = 0.8 x gold + 0.2 x") for line in lines), lines
    # the first fold again, by hand: its held-out rows' targets are that fold's model's scores
    fitted, held = fold_indices([group_key(record) for record in rows], FOLDS)[0]
    features, x = NgramFeatures.fit([record.text for record in rows], record_pairs(rows))
    y = np.asarray([task.target(schema, record.label) for record in rows])
    model = NgramClassifier.fit(features, x[fitted], y[fitted], len(schema.names), DEFAULT_C, schema.task)
    expected = task.teacher_targets(model.predict_proba_features(x[held]))
    np.testing.assert_allclose(teacher.targets[held], expected, rtol=1e-5, atol=1e-6)


def test_too_few_texts_for_the_folds_turn_the_teacher_off(project):
    schema = checked_schema(project)
    splits = load_splits(project, schema, data_file(project, project.data.train_file), None)
    splits.train = splits.train[:3]
    lines = []
    teacher = build_teacher(project, splits, schema, lines.append)
    assert teacher.alpha == 0 and teacher.targets is None and teacher.on("cpu") is None
    assert lines == [f"distillation: off, the training split has 3 distinct text(s), fewer than the {FOLDS} folds"]
    lines.clear()
    assert build_teacher(project.override({"distillation_alpha": 0}), splits, schema, lines.append).record() == {
        "alpha": 0.0,
        "reason": "train.distillation_alpha=0",
    }
    assert lines == ["distillation: off (train.distillation_alpha=0)"]


def test_weighted_probability_targets_are_scaled_as_class_ids_are():
    """One-hot probabilities and the class ids they stand for give the same weighted loss, so the printed mix of gold
    and teacher is the mix trained on (PyTorch's own weighted loss of probabilities divides by the batch size)."""
    task = task_named("single_label")
    logits, labels = torch.randn(6, 3), torch.tensor([0, 1, 1, 2, 2, 2])
    weights = torch.tensor([5.0, 1.0, 0.25])
    one_hot = torch.nn.functional.one_hot(labels, 3).float()
    assert torch.allclose(task.loss(logits, one_hot, weights), task.loss(logits, labels, weights))
    assert torch.allclose(task.loss(logits, one_hot), task.loss(logits, labels))


class Logits(torch.nn.Module):
    """A stand-in model (in training mode): the batch's ``logits`` as its outputs' (labels must not reach it)."""

    def forward(self, logits, **kwargs):
        assert "labels" not in kwargs
        return SequenceClassifierOutput(logits=logits)


SHAPES = {  # task: (logits, gold labels, the teacher's targets of 6 training rows)
    "single_label": (torch.randn(3, 4), torch.tensor([0, 3, 1]), torch.softmax(torch.randn(6, 4), -1)),
    "multi_label": (torch.randn(3, 4), torch.tensor([[1.0, 0, 0, 1], [0, 0, 0, 0], [0, 1, 1, 0]]), torch.rand(6, 4)),
    "regression": (torch.randn(3, 1), torch.tensor([0.5, 4.0, 2.5]), torch.rand(6) * 5),
}


@pytest.mark.parametrize("task_name", list(SHAPES))
def test_both_loops_mix_the_teachers_targets_into_the_tasks_loss(task_name):
    """(1 - alpha) x the task's loss at the gold labels + alpha x at the teacher's targets of the batch's rows, in the
    Trainer's compute_loss and the torch loop's batch_loss alike."""
    from {{ cookiecutter.package_name }}.training.hf_trainer import GroupedTrainer
    from {{ cookiecutter.package_name }}.training.torch_loop import TorchLoop

    task = task_named(task_name)
    logits, labels, targets = SHAPES[task_name]
    rows = torch.tensor([4, 1, 0])
    teacher = SoftTargets(0.25, targets)
    expected = 0.75 * task.loss(logits, labels) + 0.25 * task.loss(logits, targets[rows])
    assert not torch.allclose(expected, task.loss(logits, labels))
    trainer, loop = object.__new__(GroupedTrainer), object.__new__(TorchLoop)
    for owner in (trainer, loop):
        owner.task, owner.class_weights, owner.teacher = task, None, teacher
    loop.model = Logits()
    batch = {"logits": logits, "labels": labels, ROW_ID_KEY: rows}
    assert torch.allclose(trainer.compute_loss(Logits(), dict(batch)), expected)
    assert torch.allclose(loop.batch_loss({"logits": logits, "labels": labels}, rows), expected)


def test_a_trained_scratch_model_records_its_teacher(trained_model, training_log):
    record = json.loads((trained_model / METRICS_FILE).read_text(encoding="utf-8"))["distillation"]
    assert record["alpha"] == AUTO_ALPHA and record["folds"] == FOLDS and record["reason"].startswith("auto")
    assert "distillation: loss = 0.8 x gold + 0.2 x the teacher's scores" in training_log
