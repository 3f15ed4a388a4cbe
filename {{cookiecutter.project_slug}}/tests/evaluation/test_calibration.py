"""Calibration: temperatures fitted by the task's loss, the expected calibration error by hand, the pictures, and
the temperatures applied on every serving path (an artifact without calibration.json served exactly as before).

The serving tests build small untrained artifacts of their own; the last test reads the shared trained model."""

from __future__ import annotations

import json
import shutil
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from {{ cookiecutter.package_name }} import answers
from {{ cookiecutter.package_name }}.artifact_files import CALIBRATION_FILE, CALIBRATION_RECORD
from {{ cookiecutter.package_name }}.data.dataset import checked_schema
from {{ cookiecutter.package_name }}.data.labels import LabelSchema
from {{ cookiecutter.package_name }}.errors import ArtifactError, ConfigError
from {{ cookiecutter.package_name }}.evaluation import calibration
from {{ cookiecutter.package_name }}.evaluation.plots import plot_coverage, plot_reliability
from {{ cookiecutter.package_name }}.model.artifact import read_temperatures, save_artifact
from {{ cookiecutter.package_name }}.model.inference import load_predictor
from {{ cookiecutter.package_name }}.model.sources import build_scratch
from {{ cookiecutter.package_name }}.serving import handler
from {{ cookiecutter.package_name }}.serving.loading import load_served_model
from {{ cookiecutter.package_name }}.tasks import task_named
from {{ cookiecutter.package_name }}.training.run import answered_line, choose_min_confidence

from conftest import MULTI_LABEL, REGRESSION

SINGLE, MULTI = task_named("single_label"), task_named("multi_label")
TEXTS = ["정말 재밌게 봤어요 강추", "시간 낭비 최악의 영화", "배우들 연기가 좋았다", "그냥 그랬음"] * 3


def calibrated_classes(rows: int, classes: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Logits (rows, classes) and class ids drawn from their own softmax: calibrated by construction."""
    generator = np.random.default_rng(seed)
    logits = generator.normal(0.0, 2.0, size=(rows, classes))
    probabilities = SINGLE.scores(logits)
    labels = (probabilities.cumsum(axis=1) < generator.random((rows, 1))).sum(axis=1)
    return logits, np.minimum(labels, classes - 1)


def test_a_temperature_fitted_on_over_confident_logits_lowers_the_loss_and_the_ece():
    logits, labels = calibrated_classes(4000, 3)
    confident = 3.0 * logits  # the same ranking, three times too sure
    (temperature,) = calibration.fit_temperatures(SINGLE, labels, confident)
    assert temperature == pytest.approx(3.0, rel=0.1)
    figures = calibration.split_record(SINGLE, labels, confident, [temperature])
    assert figures["loss_after"] < figures["loss_before"]
    assert figures["ece_after"] < figures["ece_before"] / 3 and figures["ece_after"] < 0.03
    after = SINGLE.scores(confident / temperature)
    assert (after.argmax(axis=1) == confident.argmax(axis=1)).all()  # the answers never move


def test_calibrated_logits_keep_a_temperature_of_one():
    logits, labels = calibrated_classes(6000, 4, seed=1)
    (temperature,) = calibration.fit_temperatures(SINGLE, labels, logits)
    assert temperature == pytest.approx(1.0, abs=0.08)


def test_multi_label_fits_one_temperature_a_label():
    generator = np.random.default_rng(2)
    logits = generator.normal(0.0, 2.0, size=(6000, 3))
    truth = generator.random(logits.shape) < MULTI.scores(logits)
    truth[:, 2] = False  # a label the split never carries: nothing to fit
    labels = [tuple(np.flatnonzero(row)) for row in truth]
    temperatures = calibration.fit_temperatures(MULTI, labels, logits * np.array([0.5, 3.0, 1.0]))
    assert temperatures[0] == pytest.approx(0.5, rel=0.1) and temperatures[1] == pytest.approx(3.0, rel=0.1)
    assert temperatures[2] == 1.0
    assert answers.head_for("multi_label").temperature_count(3) == len(temperatures)


def test_a_temperature_is_kept_only_where_it_lowers_its_own_ece():
    generator = np.random.default_rng(3)
    logits = generator.normal(0.0, 2.0, size=(6000, 2))
    truth = generator.random(logits.shape) < MULTI.scores(logits)  # both labels calibrated as they are
    labels = [tuple(np.flatnonzero(row)) for row in truth]
    sure = logits * np.array([3.0, 1.0])  # label 0 three times too sure: its temperature 3 helps; label 1's hurts
    assert calibration.kept_if_ece_falls(MULTI, labels, sure, [3.0, 3.0]) == [3.0, 1.0]
    single, classes = calibrated_classes(4000, 3, seed=4)
    assert calibration.kept_if_ece_falls(SINGLE, classes, 3.0 * single, [3.0]) == [3.0]
    assert calibration.kept_if_ece_falls(SINGLE, classes, single, [3.0]) == [1.0]


def test_the_ece_of_a_small_example_by_hand():
    confidences, outcomes = np.array([0.1, 0.3, 0.5, 0.9]), np.array([0.0, 1.0, 1.0, 1.0])
    # two bins, (0, 0.5] and (0.5, 1] (0.5 falls in the first): 3 rows at mean 0.3, 2 of them true; 1 at 0.9, true
    assert calibration.binary_ece(confidences, outcomes, bins=2) == pytest.approx((2 / 3 - 0.3) * 0.75 + 0.1 * 0.25)
    bins = calibration.reliability_bins(confidences, outcomes, bins=2)
    assert bins["count"].tolist() == [3, 1] and bins["observed"].tolist() == pytest.approx([2 / 3, 1.0])
    assert calibration.binary_ece(np.array([0.0, 1.0]), np.array([0.0, 1.0])) == 0.0  # 0 lands in the first bin
    # single-label: top-label confidence; multi-label: the mean of the labels' binary ECEs
    scores = np.array([[0.8, 0.2], [0.4, 0.6]])
    assert calibration.expected_calibration_error(SINGLE, [0, 0], scores, bins=10) == pytest.approx(
        (0.2 * 1 + 0.6 * 1) / 2
    )
    truth = np.array([[1.0, 0.0], [0.0, 0.0]])
    by_label = [calibration.binary_ece(scores[:, j], truth[:, j], bins=10) for j in range(2)]
    assert calibration.expected_calibration_error(MULTI, [(0,), ()], scores, bins=10) == pytest.approx(
        np.mean(by_label)
    )
    with pytest.raises(ValueError):
        calibration.reliability_bins(confidences, outcomes[:2])


def test_regression_is_not_calibrated():
    task = task_named("regression")
    assert calibration.fit_temperatures(task, [0.5, 1.0], np.array([[0.4], [1.2]])) is None
    assert calibration.expected_calibration_error(task, [0.5, 1.0], np.array([[0.4], [1.2]])) is None
    assert answers.head_for("regression").temperature_count(1) == 0


def test_coverage_and_the_confidence_for_a_target_accuracy(tmp_path):
    confidences, outcomes = np.array([0.9, 0.8, 0.8, 0.6, 0.55]), np.array([1.0, 1.0, 0.0, 1.0, 0.0])
    curve = calibration.coverage_curve(confidences, outcomes)
    assert curve["coverage"].tolist() == pytest.approx([0.2, 0.4, 0.6, 0.8, 1.0])
    assert curve["answered_right"].tolist() == pytest.approx([1.0, 1.0, 2 / 3, 0.75, 0.6])
    assert calibration.confidence_for_accuracy(confidences, outcomes, 0.7) == 0.6
    assert calibration.confidence_for_accuracy(confidences, outcomes, 0.9) == 0.9  # the tied 0.8s answer together
    assert calibration.confidence_for_accuracy(confidences, outcomes[::-1] * 0, 0.5) is None
    assert calibration.coverage_at(confidences, outcomes, 0.6) == {"coverage": 0.8, "answered_right": 0.75}
    assert calibration.coverage_at(confidences, outcomes, 0.95) == {"coverage": 0.0, "answered_right": 0.0}
    bins = calibration.reliability_bins(confidences, outcomes, 5)
    for path in (
        plot_reliability([("before", bins, 0.1), ("after", bins, None)], tmp_path / "reliability.png"),
        plot_coverage(curve, tmp_path / "coverage.png", chosen=0.6),
    ):
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_single_label_answer_below_the_min_confidence_is_unsure():
    head, names = answers.head_for("single_label"), ["부정", "긍정"]
    answer = head.answer([0.45, 0.55], names)
    assert head.abstain(answer, 0.6) == {**answer, "label": answers.UNSURE} and head.abstain(answer, 0.55) == answer
    assert head.abstains and not answers.head_for("multi_label").abstains
    labels = answers.head_for("multi_label").answer([0.2, 0.9], names)
    assert answers.head_for("multi_label").abstain(labels, 0.99) == labels  # multi-label never abstains


def test_abstaining_refuses_a_label_named_like_its_answer(project):
    """A label named "unsure" and abstention would answer alike: refused before any data is read."""
    path = project.path(project.data.labels_file)
    schema = LabelSchema.load(path)
    LabelSchema(("unsure", *schema.names[1:]), schema.encoding, schema.task).save(path)
    assert checked_schema(project).names[0] == "unsure"  # without abstention the name is a label like any
    with pytest.raises(ConfigError, match="a label is named 'unsure'"):
        checked_schema(project.override({"min_confidence": 0.5}))


def test_train_chooses_the_min_confidence_for_a_target_accuracy_on_the_validation_split():
    logits = np.array([[0.0, 3.0], [2.0, 0.0], [0.0, 1.0], [0.2, 0.0]])  # top probabilities .95, .88, .73, .55
    scores = SINGLE.scores(logits)
    labels = [1, 0, 0, 0]
    said = []

    class Say:
        """training's Printer: a line (progress) or always (a warning)."""

        def __call__(self, line: str) -> None:
            """Progress: not kept."""

        always = staticmethod(said.append)

    say = Say()

    def run(min_confidence: float, target_accuracy: float):
        settings = SimpleNamespace(min_confidence=min_confidence, target_accuracy=target_accuracy)
        split = SimpleNamespace(labels=labels)
        schema = SimpleNamespace(task="single_label")
        return SimpleNamespace(
            schema=schema, config=SimpleNamespace(model=settings), val_ds=split, test_ds=split, say=say
        )

    def record() -> dict:
        return {CALIBRATION_RECORD: dict(validation={}, test={})}

    metrics = record()
    chosen = choose_min_confidence(run(0.0, 0.75), {"validation": scores, "test": scores}, metrics)
    assert chosen == pytest.approx(SINGLE.scores(logits)[3].max())  # .55: 3 of 4 right answers everything
    metrics = record()
    chosen = choose_min_confidence(run(0.0, 1.0), {"validation": scores, "test": scores}, metrics)
    assert chosen == pytest.approx(SINGLE.scores(logits)[1].max())  # only the two surest are all right
    assert metrics[CALIBRATION_RECORD]["min_confidence"] == chosen
    assert metrics[CALIBRATION_RECORD]["test"] == {"coverage": 0.5, "answered_right": 1.0}
    assert choose_min_confidence(run(0.6, 0.0), {"validation": scores}, record()) == 0.6  # as configured
    assert choose_min_confidence(run(0.0, 0.0), {"validation": scores}, record()) == 0.0  # off
    wrong = [0, 1, 1, 1]
    unreachable = run(0.0, 0.9)
    unreachable.val_ds = SimpleNamespace(labels=wrong)
    assert choose_min_confidence(unreachable, {"validation": scores}, record()) == 0.0
    assert said and "no confidence cut-off reaches" in said[0]


@pytest.fixture(scope="module", params=["single_label", "multi_label"])
def artifact(request, tmp_path_factory):
    """An untrained scratch:tiny classifier of the task saved as train saved one before calibration (no
    calibration.json)."""
    torch.manual_seed(0)
    schema = LabelSchema(("부정", "중립", "긍정"), "name", request.param)
    tokenizer, model = build_scratch("scratch:tiny", TEXTS * 5, schema, 32)
    folder = tmp_path_factory.mktemp(request.param) / "model"
    thresholds = [0.5, 0.5, 0.5] if schema.multi_label else None
    data_settings = {"text_column": "text"}
    save_artifact(folder, model, tokenizer, schema, {}, {"data": data_settings}, [], thresholds)
    return folder, schema


def served_scores(folder, schema) -> tuple[np.ndarray, np.ndarray]:
    """The handler's scores of TEXTS (rows, labels) and the Predictor's (evaluate's and predict's path)."""
    served = handler.predict_fn(TEXTS, handler.load(folder, "fp32"))
    predicted = load_predictor(folder, "fp32", torch.device("cpu")).probabilities(TEXTS)
    return np.array([[answer["scores"][name] for name in schema.names] for answer in served]), predicted


def test_every_serving_path_scores_with_the_temperatures_and_serves_old_artifacts_as_before(artifact, tmp_path):
    folder, schema = artifact
    assert not (folder / CALIBRATION_FILE).exists() and read_temperatures(folder, schema) is None
    before, predicted_before = served_scores(folder, schema)
    assert np.allclose(predicted_before, before, atol=1e-5)
    # logits back from the scores: a sigmoid's exactly, a softmax's up to a constant a row (which it ignores)
    logits = np.log(before / (1 - before)) if schema.multi_label else np.log(before)
    head = answers.head_for(schema.task)
    copy = tmp_path / "model"
    shutil.copytree(folder, copy)
    temperatures = [0.25] if not schema.multi_label else [0.25, 1.0, 4.0]
    content = answers.calibration_content(temperatures)
    (copy / CALIBRATION_FILE).write_text(json.dumps(content), encoding="utf-8")
    assert read_temperatures(copy, schema) == temperatures
    after, predicted_after = served_scores(copy, schema)
    assert np.allclose(after, head.scores(logits / np.array(temperatures)), atol=1e-5)
    assert np.allclose(predicted_after, after, atol=1e-5) and not np.allclose(after, before, atol=1e-3)
    assert all(
        answer.get("label") != answers.UNSURE for answer in handler.predict_fn(TEXTS, handler.load(copy, "fp32"))
    )
    content = answers.calibration_content(temperatures, min_confidence=1.0)
    (copy / CALIBRATION_FILE).write_text(json.dumps(content), encoding="utf-8")
    unsure = handler.predict_fn(TEXTS, handler.load(copy, "fp32"))  # a single-label answer below 1.0 is unsure
    assert all((answer.get("label") == answers.UNSURE) != schema.multi_label for answer in unsure)
    (copy / CALIBRATION_FILE).write_text(json.dumps({"temperatures": [0.0] * 3}), encoding="utf-8")
    with pytest.raises(ArtifactError, match="calibration"):
        read_temperatures(copy, schema)
    (copy / CALIBRATION_FILE).write_text(json.dumps({"temperatures": temperatures, "min_confidence": 1.5}), "utf-8")
    with pytest.raises(ArtifactError, match="min_confidence 1.5 is not a probability"):  # serve, predict: one line
        load_served_model(copy, "fp32")


def test_training_records_the_calibration_and_draws_the_reliability_diagram(trained_model):
    metrics = json.loads((trained_model / "metrics.json").read_text(encoding="utf-8"))
    if REGRESSION:
        assert CALIBRATION_RECORD not in metrics and not (trained_model / CALIBRATION_FILE).exists()
        return
    record = metrics[CALIBRATION_RECORD]
    assert (
        record["temperatures"]
        == json.loads((trained_model / CALIBRATION_FILE).read_text(encoding="utf-8"))["temperatures"]
    )
    for split in ("validation", "test"):
        assert {"ece_before", "ece_after", "loss_before", "loss_after"} <= set(record[split])
        assert 0 <= record[split]["ece_after"] <= 1 and metrics[split]["ece"] == record[split]["ece_after"]
    assert record["validation"]["loss_after"] <= record["validation"]["loss_before"] + 1e-9  # fitted to lower it
    assert (trained_model / "evaluation" / "reliability.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (trained_model / "evaluation" / "coverage.png").is_file() != MULTI_LABEL  # abstention: single-label
    assert "min_confidence" not in record  # off by default (model.min_confidence 0)


def test_a_cut_off_says_how_many_texts_it_answers_in_counts():
    """A rounded share read "0% answered, 1.0000 of them right" for 1 text of 200."""
    assert answered_line({"coverage": 0.0, "answered_right": 0.0}, 200) == "none of 200 texts answered"
    assert (
        answered_line({"coverage": 0.005, "answered_right": 1.0}, 200)
        == "1 of 200 texts answered, 1.0000 of them right"
    )


def test_a_temperature_at_the_search_bound_is_remarked_on():
    """A near-chance transformer's temperature runs to the upper bound: said, not left in metrics.json unexplained."""
    low, high = calibration.TEMPERATURE_BOUNDS
    assert f"bound {high:g}" in calibration.bound_note([1.2, high])
    assert f"bound {low:g}" in calibration.bound_note([low])
    assert calibration.bound_note([0.8, 1.0, 2.5]) is None
    assert f"bound {low:g} and {high:g}:" in calibration.bound_note([high, 1.0, low])  # both named, not the first
    flat = calibration.fit_temperature(lambda t: -t)  # the loss falls with the temperature: the search runs to the end
    assert "far from calibrated" in calibration.bound_note([flat])
