"""Tasks are objects behind one protocol (tasks/, answers.py): each task's rules on their own, and a toy task
registered from this module that goes through prepare, train, evaluate and the handler with no other change."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from {{ cookiecutter.package_name }} import answers
from {{ cookiecutter.package_name }}.config import LABELS_FILE, load_config
from {{ cookiecutter.package_name }}.data.dataset import check_data, data_file
from {{ cookiecutter.package_name }}.data.labels import LabelSchema
from {{ cookiecutter.package_name }}.errors import LabelError
from {{ cookiecutter.package_name }}.evaluation.evaluate import evaluate_model
from {{ cookiecutter.package_name }}.evaluation.metrics import score
from {{ cookiecutter.package_name }}.evaluation.verdict import verdict
from {{ cookiecutter.package_name }}.model.artifact import INT8_RECORD, METRICS_FILE
from {{ cookiecutter.package_name }}.model.ngram import NgramClassifier, NgramFeatures
from {{ cookiecutter.package_name }}.serving import handler
from {{ cookiecutter.package_name }}.tasks import (
    TASKS,
    SingleLabelTask,
    register_task,
    task_named,
)
from {{ cookiecutter.package_name }}.training.run import train as run_training

from conftest import FAST, TASK, copy_project

REGRESSION = task_named("regression")
SCORES = LabelSchema(("유사도",), task="regression")


def test_every_task_is_registered_with_its_serving_half():
    assert set(TASKS) == set(answers.HEADS) >= {"single_label", "multi_label", "regression"}
    for name, task in TASKS.items():
        assert task.head is answers.HEADS[name] and task.default_metric in task.metric_names


@pytest.mark.parametrize(
    ("cell", "expected"),
    [("3.800", 3.8), ("5", 5.0), (" 0.5 ", 0.5), (-1, -1.0), (2.25, 2.25), ("1e-1", 0.1)],
)
def test_a_regression_label_is_a_number(cell, expected):
    assert REGRESSION.read_label({"점수": cell}, SCORES, "점수", "|") == pytest.approx(expected)


@pytest.mark.parametrize(
    ("cell", "message"),
    [("", "label is empty"), ("높음", "is not a number"), ("３", "is not a number"), ("nan", "is not a number")],
)
def test_a_regression_label_that_is_not_a_number_is_named(cell, message):
    with pytest.raises(LabelError, match=message):
        REGRESSION.read_label({"점수": cell}, SCORES, "점수", "|")


def test_a_regression_schema_has_one_name():
    with pytest.raises(LabelError, match="one label name"):
        LabelSchema(("낮음", "높음"), task="regression")


def test_regression_splits_keep_every_range_of_scores_on_both_sides():
    labels = [float(i % 50) / 10 for i in range(500)]
    strata = REGRESSION.strata(labels)
    assert len(set(strata)) == 10 and all(strata.count(s) == 50 for s in set(strata))  # deciles


def test_regression_scores_the_verdict_and_the_trivial_answer():
    truth = np.linspace(0, 5, 200)
    good = score(truth.tolist(), (truth + np.sin(truth)).tolist(), ["유사도"], task=REGRESSION)
    assert good["spearman"] > 0.9 and good["mse"] < good["trivial"]["mse"]
    assert [line for line in verdict(good, None) if line.startswith("warning")] == []
    flat = score(truth.tolist(), [2.5] * 200, ["유사도"], task=REGRESSION)
    assert flat["spearman"] == 0.0 and "collapsed" in verdict(flat, None)[-1]
    noisy = score(
        truth.tolist(), (truth + np.random.default_rng(0).normal(0, 1.5, 200)).tolist(), ["유사도"], task=REGRESSION
    )
    assert noisy["spearman"] < 0.85 and "below the baseline" in verdict(noisy, baseline=0.99)[-1]


def test_regression_int8_check_measures_the_size_of_the_differences():
    truth = np.linspace(0, 5, 100)
    fp32 = (truth + 0.1)[:, None]
    near = REGRESSION.int8_decision(truth.tolist(), fp32, fp32 + 0.01, None, 0.02, None)
    far = REGRESSION.int8_decision(truth.tolist(), fp32, fp32 + 1.0, None, 0.02, None)
    assert near["allowed"] and near["agreement"] == 1.0 and not far["allowed"] and REGRESSION.int8_metric == "mse"


def test_the_ngram_model_fits_a_score_with_a_ridge_and_saves_it(tmp_path):
    texts = ["최고의 영화 강추", "정말 재밌어요", "그냥 그래요", "보통이에요", "최악 시간낭비", "지루하고 별로"] * 5
    scores = [5.0, 4.5, 2.5, 2.0, 0.0, 0.5] * 5
    features, x = NgramFeatures.fit(texts)
    model = NgramClassifier.fit(features, x, scores, 1, 1.0, task="regression")
    predicted = model.predict_proba(texts[:6])
    assert predicted.shape == (6, 1) and predicted[0, 0] > predicted[4, 0]
    model.save(tmp_path / "ngram.npz")
    again = NgramClassifier.load(tmp_path / "ngram.npz")
    assert again.task == "regression" and np.allclose(again.predict_proba(texts[:6]), predicted)


def test_a_score_answers_with_a_number_on_every_path():
    head = answers.HEADS["regression"]
    answer = head.answer([3.25], ["유사도"])
    assert answer == {"score": 3.25} and answers.head_of({"id": 7, **answer}) is head
    assert head.csv_row(answer) == ["", "3.250000"] and head.kept_value({"score": "3.250000"}) == 3.25


# --- a toy task, registered here: the protocol is pluggable -------------------------------------------------------


class YesNoHead(answers.SingleLabelHead):
    """Two classes answered as a yes or no: ``{"yes": bool, "score": the second class's probability}``."""

    name = "yes_no"

    def answer(self, scores, names, thresholds=None):
        return {"yes": scores[1] >= scores[0], "score": scores[1]}

    def answers_with(self, answer):
        return "yes" in answer

    def csv_row(self, answer):
        return ["yes" if answer["yes"] else "no", f"{answer['score']:.6f}"]

    def value(self, answer):
        return "yes" if answer["yes"] else "no"


class YesNoTask(SingleLabelTask):
    """A single-label task of its own name, scored with single-label metrics."""

    head = YesNoHead()

    @property
    def scored_as(self):
        return "single_label"


@pytest.fixture()
def yes_no():
    answers.register_head(YesNoTask.head)
    register_task(YesNoTask())
    yield TASKS["yes_no"]
    TASKS.pop("yes_no")
    answers.HEADS.pop("yes_no")


def yes_no_data(folder, count: int) -> None:
    """A TSV of the template's own reviews with a learnable yes/no label: whether the review is long."""
    rows = [line.split("\t") for line in (folder / "reviews.tsv").read_text(encoding="utf-8").splitlines()]
    lines = ["text\tlabel"] + [f"{text}\t{'yes' if len(text) > 30 else 'no'}" for (text,) in rows[:count]]
    (folder / "data.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.mark.slow  # one training run
def test_a_toy_task_registered_here_runs_through_prepare_train_evaluate_and_the_handler(yes_no, sample, tmp_path):
    config_file = copy_project(tmp_path)
    texts = [record.text.replace("\t", " ") for record in sample["train"] + sample["test"]]
    (tmp_path / "reviews.tsv").write_text("\n".join(t for t in texts if t.strip()) + "\n", encoding="utf-8")
    yes_no_data(tmp_path, 1200)
    LabelSchema(("no", "yes"), "name", "yes_no").save(tmp_path / LABELS_FILE)
    data = {"data_format": "tsv", "text_column": "text", "text_pair_column": "", "label_column": "label"}
    data |= {"id_column": "", "data_dir": str(tmp_path), "train_file": "data.tsv", "test_file": ""}
    config = load_config(config_file, {**FAST, **data, "metric_for_best_model": "macro_f1"})
    assert [report.errors for report in check_data(config, show_progress=False)] == [[]]  # prepare
    metrics = run_training(config, quiet=True)  # train
    artifact = config.path(config.train.output_dir)
    assert json.loads((artifact / LABELS_FILE).read_text(encoding="utf-8"))["task"] == "yes_no"
    assert set(metrics["test"]) >= {"accuracy", "macro_f1", "confusion_matrix"}
    evaluated = evaluate_model(config, artifact, None, tmp_path / "evaluation", precision="fp32")  # evaluate
    assert evaluated["accuracy"] == pytest.approx(metrics["test"]["accuracy"], abs=0.01)
    assert (tmp_path / "evaluation" / "confusion_matrix.png").is_file()
    served = handler.load(artifact, "fp32")  # the handler, as the container runs it
    assert served.head is yes_no.head
    answered = handler.predict_fn(["정말 재밌게 봤어요 배우들 연기도 좋고 음악도 좋고 다시 보고 싶다", "별로"], served)
    assert all(set(item) == {"yes", "score"} for item in answered)
    body = handler.output_fn(answered, "text/csv")
    assert [line.split(",")[0] for line in body.splitlines()] == [yes_no.head.value(item) for item in answered]
    assert data_file(config, "data.tsv").is_file()


# --- artifacts written before tasks were objects ------------------------------------------------------------------


@pytest.mark.skipif(TASK != "single_label", reason="artifacts from before tasks had names were single-label")
def test_an_artifact_written_before_tasks_were_objects_loads_serves_and_evaluates(text_model, project, tmp_path):
    old = tmp_path / "old"
    shutil.copytree(text_model, old)
    labels = json.loads((old / LABELS_FILE).read_text(encoding="utf-8"))
    labels.pop("task")  # labels.json before multi-label existed
    (old / LABELS_FILE).write_text(json.dumps(labels, ensure_ascii=False), encoding="utf-8")
    metrics = json.loads((old / METRICS_FILE).read_text(encoding="utf-8"))
    record = metrics[INT8_RECORD]
    fp32, int8 = record.pop("fp32_score"), record.pop("int8_score")
    record.pop("metric")
    record |= {"fp32_accuracy": fp32, "int8_accuracy": int8}  # the single-label record's keys then
    (old / METRICS_FILE).write_text(json.dumps(metrics), encoding="utf-8")
    answered = handler.predict_fn(["정말 재밌게 봤어요"], handler.load(old, "auto"))
    assert set(answered[0]) == {"label", "score", "scores"}
    test_file = project.path(project.data.data_dir) / project.data.test_file
    assert evaluate_model(project.override({"text_pair_column": ""}), old, test_file, tmp_path / "eval")["accuracy"]


def test_an_ngram_model_saved_before_tasks_had_names_loads_as_its_task(tmp_path):
    texts = ["최고의 영화 강추", "정말 재밌어요", "최악 시간낭비", "지루하고 별로"] * 5
    features, x = NgramFeatures.fit(texts)
    for y, task in (([1, 1, 0, 0] * 5, "single_label"), (np.eye(2)[[1, 1, 0, 0] * 5], "multi_label")):
        NgramClassifier.fit(features, x, y, 2, 1.0).save(tmp_path / "new.npz")
        with np.load(tmp_path / "new.npz") as arrays:  # the same file without the task's name, as it was written
            np.savez_compressed(tmp_path / "old.npz", **{k: arrays[k] for k in arrays.files if k != "task"})
        assert NgramClassifier.load(tmp_path / "old.npz").task == task


def test_balanced_class_weights_are_scikit_learns():
    from sklearn.utils.class_weight import compute_class_weight

    labels = [0] * 50 + [1] * 30 + [2] * 7 + [None]  # an unlabelled row counts for no class
    known = [label for label in labels if label is not None]
    expected = compute_class_weight("balanced", classes=np.array([0, 1, 2]), y=known)
    weights = task_named("single_label").class_weights(labels, 3)
    assert weights.dtype == np.float32 and weights.shape == (3,)
    np.testing.assert_allclose(weights, expected, rtol=1e-6)
    # a class without training rows is never a target: 1.0, the others as scikit-learn weighs the present ones
    np.testing.assert_allclose(task_named("single_label").class_weights([0, 0, 0, 2], 3), [2 / 3, 1.0, 2.0])


def test_the_weighted_loss_is_torchs_cross_entropy_with_weight():
    import torch

    logits, labels = torch.randn(6, 3, generator=torch.Generator().manual_seed(0)), torch.tensor([0, 0, 0, 1, 2, 2])
    weights = torch.tensor([0.5, 2.0, 1.0])
    loss = task_named("single_label").loss(logits, labels, weights)
    assert torch.allclose(loss, torch.nn.functional.cross_entropy(logits, labels, weight=weights))
    rows = -torch.log_softmax(logits, dim=-1)[torch.arange(6), labels]
    assert torch.allclose(loss, (weights[labels] * rows).sum() / weights[labels].sum())  # a weighted mean of rows
    assert torch.allclose(
        task_named("single_label").loss(logits, labels), torch.nn.functional.cross_entropy(logits, labels)
    )


def test_multi_label_class_weights_are_bce_pos_weight_negatives_over_positives():
    import torch

    from {{ cookiecutter.package_name }}.tasks.multi_label import MAX_POS_WEIGHT

    task = task_named("multi_label")
    labels = [(0,), (0, 1), (), (), None]  # label 0: 2 of 4 rows; label 1: 1 of 4; label 2: never
    np.testing.assert_allclose(task.class_weights(labels, 3), [1.0, 3.0, 1.0])
    rare = [(0,)] + [()] * 999
    assert task.class_weights(rare, 1)[0] == MAX_POS_WEIGHT
    logits, targets = torch.randn(4, 3), torch.tensor([[1.0, 0, 0], [1, 1, 0], [0, 0, 0], [0, 0, 0]])
    weights = torch.tensor([1.0, 3.0, 1.0])
    expected = torch.nn.functional.binary_cross_entropy_with_logits(logits, targets, pos_weight=weights)
    assert torch.allclose(task.loss(logits, targets, weights), expected)


@pytest.mark.parametrize(
    ("labels", "used", "reason"),
    [
        ([0] * 40 + [1] * 35 + [2] * 25, "none", "auto: the largest class has 1.6x the rows of the smallest, under"),
        ([0] * 110 + [1] * 30 + [2] * 10, "balanced", "auto: the largest class has 11.0x the rows of the smallest"),
    ],
)
def test_auto_weighs_classes_only_when_the_training_split_is_imbalanced(labels, used, reason):
    from {{ cookiecutter.package_name }}.training.class_weights import choose_class_weights

    chosen = choose_class_weights("auto", task_named("single_label"), labels, ["a", "b", "c"])
    assert chosen.used == used and reason in chosen.reason
    assert chosen.line == f"class weights: {used} ({chosen.reason})"
    record = chosen.record()
    assert record["setting"] == "auto" and record["used"] == used
    assert list(record["weights"]) == (["a", "b", "c"] if used == "balanced" else [])
    forced = choose_class_weights("balanced", task_named("single_label"), labels, ["a", "b", "c"])
    assert forced.used == "balanced" and forced.tensor("cpu").dtype.is_floating_point
    assert choose_class_weights("none", task_named("single_label"), labels, ["a", "b", "c"]).tensor("cpu") is None


def test_auto_leaves_regression_unweighted_and_weighs_multi_label_by_its_rarest_label():
    from {{ cookiecutter.package_name }}.errors import ConfigError
    from {{ cookiecutter.package_name }}.training.class_weights import choose_class_weights

    assert choose_class_weights("auto", REGRESSION, [0.5, 2.0], ["유사도"]).used == "none"
    with pytest.raises(ConfigError, match="train.class_weights: 'balanced' weighs classes, and a regression task"):
        choose_class_weights("balanced", REGRESSION, [0.5, 2.0], ["유사도"])
    multi = task_named("multi_label")
    assert choose_class_weights("auto", multi, [(0,), ()], ["a", "b"]).used == "none"  # "b" is never set: not rare
    assert choose_class_weights("balanced", multi, [(0,), ()], ["a", "b"]).weights == {"a": 1.0, "b": 1.0}
    rare = [(0, 1)] + [(0,)] * 9 + [()] * 10  # label 1: set on 1 row of 20, missing from 19
    chosen = choose_class_weights("auto", multi, rare, ["a", "b"])
    assert chosen.used == "balanced" and chosen.weights == {"a": 1.0, "b": 19.0}
    assert "auto: the rarest label is missing from 19.0x the rows it is set on, at least 10x" in chosen.reason
    assert multi.imbalance(rare[:2] + [()] * 4, 2) == pytest.approx(5.0)  # 1 of 6 rows: under 10x
    assert choose_class_weights("auto", multi, rare[:2] + [()] * 4, ["a", "b"]).used == "none"
