"""Multi-label scores on a hand-worked example, decision thresholds, the report, the verdict against the trivial
answer, and the one-vs-rest baseline. Project-independent: they run in every project, whatever its task."""

from __future__ import annotations

import numpy as np
import pytest

from {{ cookiecutter.package_name }}.data.labels import LabelSchema
from {{ cookiecutter.package_name }}.evaluation.metrics import (
    classification_report,
    score,
    score_logits,
)
from {{ cookiecutter.package_name }}.evaluation.verdict import verdict
from {{ cookiecutter.package_name }}.metric_registry import (
    ACCURACY,
    HAMMING_LOSS,
    MACRO_F1,
    METRICS,
    MICRO_F1,
    MULTI_LABEL,
    SAMPLES_F1,
    SINGLE_LABEL,
)
from {{ cookiecutter.package_name }}.model.ngram import NgramClassifier, NgramFeatures
from {{ cookiecutter.package_name }}.tasks import task_named
from {{ cookiecutter.package_name }}.tasks.multi_label import decision_matrix as decide

tune_thresholds = task_named(MULTI_LABEL).tune_thresholds

NAMES = ("가", "나", "다")
TRUTH = [(0,), (0, 1), (), (2,)]
PREDICTED = [(0,), (0,), (), (1,)]


def test_the_multi_label_metrics_of_a_hand_worked_example():
    metrics = score(TRUTH, PREDICTED, NAMES)
    # pooled decisions: 2 true positives, 1 false positive (row 4's 나), 2 false negatives (row 2's 나, row 4's 다)
    assert metrics[MICRO_F1] == pytest.approx(2 * 2 / (2 * 2 + 1 + 2))
    assert metrics[ACCURACY] == pytest.approx(0.5)  # subset accuracy: rows 1 and 3 are exactly right
    assert metrics[HAMMING_LOSS] == pytest.approx(3 / 12)
    assert metrics[SAMPLES_F1] == pytest.approx((1 + 2 / 3 + 1 + 0) / 4)  # no label and none predicted: 1
    assert metrics[MACRO_F1] == pytest.approx((1 + 0 + 0) / 3)
    assert metrics["per_class"]["가"] == {"precision": 1.0, "recall": 1.0, "f1": 1.0, "support": 2}
    assert metrics["per_class"]["나"]["support"] == 1 and metrics["per_class"]["나"]["f1"] == 0.0
    assert metrics["per_label_confusion"][1] == [[2, 1], [1, 0]]  # 나: [[tn, fp], [fn, tp]]
    assert metrics["cooccurrence"] == [[2, 1, 0], [1, 1, 0], [0, 0, 1]]
    assert metrics["rows_without_label"] == 1 and metrics["num_examples"] == 4
    assert "confusion_matrix" not in metrics
    report = classification_report(metrics)
    assert "accuracy (subset)" in report and "true pos" in report


def test_single_label_projects_score_only_their_own_metrics():
    single = score([0, 1, 1], [0, 1, 0], ("a", "b"))
    assert MICRO_F1 not in single and SAMPLES_F1 not in single and HAMMING_LOSS not in single
    assert set(single) >= {ACCURACY, MACRO_F1, "confusion_matrix"}
    multi, single_names = task_named(MULTI_LABEL).metric_names, task_named(SINGLE_LABEL).metric_names
    assert MICRO_F1 in multi and MICRO_F1 not in single_names
    assert ACCURACY in multi and MACRO_F1 in multi
    assert METRICS[HAMMING_LOSS].higher_is_better is False


def test_logits_are_scored_through_the_sigmoid_at_each_labels_threshold():
    logits = np.array([[2.0, -1.0, 0.1], [-2.0, 0.5, -3.0]])  # sigmoid: [.88, .27, .52], [.12, .62, .05]
    assert decide(1 / (1 + np.exp(-logits))).tolist() == [[1, 0, 1], [0, 1, 0]]
    at_half = score_logits([(0, 2), (1,)], logits, NAMES)
    assert at_half[ACCURACY] == 1.0
    stricter = score_logits([(0, 2), (1,)], logits, NAMES, thresholds=[0.5, 0.5, 0.6])
    assert stricter[ACCURACY] == 0.5 and stricter["per_class"]["다"]["recall"] == 0.0
    multi_hot = np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]])  # how the Trainer hands labels back
    assert score_logits(multi_hot, logits, NAMES)[ACCURACY] == 1.0


def test_thresholds_are_tuned_per_label_on_a_split():
    truth = [(0,), (0,), (), (), (1,)]
    probabilities = np.array([[0.3, 0.9, 0.1], [0.35, 0.9, 0.1], [0.1, 0.95, 0.1], [0.12, 0.9, 0.2], [0.2, 0.97, 0.1]])
    thresholds = tune_thresholds(truth, probabilities)
    assert 0.2 < thresholds[0] <= 0.3  # separates 0.3 / 0.35 from the rest: F1 1
    assert thresholds[1] == 0.95  # the one row with label 1 scores 0.97: the best F1 is a high threshold
    assert thresholds[2] == 0.5  # no row has label 2: the default


def test_the_trivial_answer_is_the_best_constant_label_set():
    # 가 on 80 rows, 나 on 70, 다 on 10: {가, 나} everywhere (micro F1 0.83) beats {가} (0.62) and {가, 나, 다} (0.70)
    truth = [(0, 1)] * 60 + [(0,)] * 20 + [(1, 2)] * 10 + [()] * 10
    trivial = score(truth, truth, NAMES)["trivial"]
    assert trivial["label_set"] == ["가", "나"] and trivial["exact_share"] == 0.6
    assert abs(trivial["f1"] - 2 * 150 / (160 + 200)) < 1e-12


def test_the_verdict_compares_with_the_best_constant_label_set():
    truth = [(0,)] * 60 + [(0, 1)] * 20 + [()] * 20
    nothing = score(truth, [()] * 100, NAMES)
    assert nothing[MICRO_F1] == 0.0 and nothing["trivial"]["label_set"] == ["가"]
    assert "it has collapsed: it predicts no label" in verdict(nothing, None)[-1]
    constant = score(truth, [(0,)] * 100, NAMES)
    assert "not clearly above always answering the best constant label set (가" in verdict(constant, None)[-1]
    wrong = score(truth, [(1, 2)] * 80 + [(2,)] * 20, NAMES)  # worse than the constant answer, not near it
    assert "it is below always answering the best constant label set (가" in verdict(wrong, None)[-1]
    everything = score(truth, [(0, 1, 2)] * 100, NAMES)  # a model whose tuned thresholds say yes to every label
    assert (
        "it has collapsed: it predicts the same label set (가, 나, 다) for every text" in verdict(everything, None)[-1]
    )
    perfect = score(truth, truth, NAMES)
    assert verdict(perfect, 0.7)[1:] == [
        f"{METRICS[MICRO_F1].title} 1.0000; the baseline scored 0.7000 on the same file (+0.3000)"
    ]
    assert verdict(perfect, 0.7)[0].startswith("100 rows: always answering the best constant label set (가) would")


def test_the_baseline_learns_one_regression_a_label_and_keeps_its_shape_when_saved(tmp_path):
    texts = ["영화 최고", "배우 연기 최고", "영화 별로", "그냥 그래", "배우 별로", "영화 배우 최고"] * 5
    label_sets = [(0,), (1,), (0,), (), (1,), (0, 1)] * 5
    y = np.array([[int(k in labels) for k in range(3)] for labels in label_sets])
    features, x = NgramFeatures.fit(texts)
    classifier = NgramClassifier.fit(features, x, y, 3, 1.0)
    probabilities = classifier.predict_proba(["영화 최고", "배우 별로"])
    assert probabilities.shape == (2, 3) and classifier.multi_label
    assert probabilities[0, 0] > 0.5 > probabilities[0, 1] and probabilities[1, 1] > 0.5
    assert probabilities[:, 2].max() < 0.01  # a label with no rows: a constant, confident no
    classifier.save(tmp_path / "b.npz")
    again = NgramClassifier.load(tmp_path / "b.npz")
    assert again.multi_label and np.allclose(again.predict_proba(["영화 최고"]), probabilities[:1])


def test_a_multi_label_schema_names_its_loss():
    schema = LabelSchema(NAMES, "name", MULTI_LABEL)
    assert schema.multi_label and schema.problem_type == "multi_label_classification"
    assert schema.multi_hot((0, 2)) == [1.0, 0.0, 1.0]
