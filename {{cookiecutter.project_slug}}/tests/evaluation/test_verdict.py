"""The verdict compares with the majority class in counts, and names a collapsed model as such."""

from __future__ import annotations

import pytest

from {{ cookiecutter.package_name }}.evaluation.metrics import score
from {{ cookiecutter.package_name }}.evaluation.verdict import verdict
from {{ cookiecutter.package_name }}.tasks.single_label import (
    clearly_above_majority,
    clearly_below,
)

NAMES = ["배송", "환불", "상품문의", "기타"]
TRUTH = [0] * 92 + [1] * 80 + [2] * 68 + [3] * 60  # 300 rows, the majority share 0.3067 (the shop set)


def test_a_model_that_predicts_one_class_is_called_collapsed():
    lines = verdict(score(TRUTH, [0] * len(TRUTH), NAMES), baseline=None)
    assert len(lines) == 2 and lines[1].startswith("warning: this model is weak: it has collapsed")
    assert "'배송' for every text" in lines[1] and "train longer (--epochs)" in lines[1]


def test_a_model_at_the_majority_share_is_weak_even_far_above_one_over_classes():
    predicted = [0] * 92 + [0] * 70 + [1] * 10 + [0] * 68 + [0] * 60  # 102/300 = 0.34, chance 0.25
    lines = verdict(score(TRUTH, predicted, NAMES), baseline=None)
    assert "not clearly above always answering the most frequent class '배송'" in lines[-1]
    assert "never predicts '상품문의', '기타' (recall 0)" in lines[-1]
    worse = [1] * 92 + [0] * 80 + [0] * 68 + [0] * 60  # 80 of 300 right, under the 92 of the majority answer
    assert (
        "it is below always answering the most frequent class '배송'" in verdict(score(TRUTH, worse, NAMES), None)[-1]
    )


def test_a_model_that_learnt_gets_no_warning_and_the_baseline_line():
    predicted = [t if i % 5 else (t + 1) % 4 for i, t in enumerate(TRUTH)]  # 80% right, every class found
    lines = verdict(score(TRUTH, predicted, NAMES), baseline=0.75)
    assert lines == [
        "300 rows: always answering the most frequent class '배송' would score accuracy 0.3067; this model 0.8000",
        "accuracy 0.8000; the baseline scored 0.7500 on the same file (+0.0500)",
    ]


@pytest.mark.parametrize(("correct", "expected"), [(92, False), (107, False), (108, True)])
def test_the_majority_margin_is_two_standard_errors_in_counts(correct, expected):
    # 300 rows, majority 92: two standard errors of its count are 2 * sqrt(300 * 0.3067 * 0.6933) = 15.98
    assert clearly_above_majority(correct, 92, 300) is expected


def test_an_empty_evaluation_says_nothing():
    assert verdict(score([], [], NAMES), baseline=None) == []


@pytest.mark.parametrize(("correct", "expected"), [(213, False), (201, False), (200, True)])
def test_below_the_baseline_takes_the_same_margin(correct, expected):
    # 300 rows, baseline 0.72 (216 right): two standard errors are 2 * sqrt(300 * 0.72 * 0.28) = 15.55
    assert clearly_below(correct, 0.72, 300) is expected
