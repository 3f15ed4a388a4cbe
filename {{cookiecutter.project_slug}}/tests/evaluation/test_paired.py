"""Decisions on measured numbers: in counts, with a stated rule when the rows cannot resolve the threshold."""

from __future__ import annotations

import pytest

from {{ cookiecutter.package_name }}.evaluation.metrics import score
from {{ cookiecutter.package_name }}.evaluation.paired import paired_drop_decision
from {{ cookiecutter.package_name }}.evaluation.verdict import verdict


def answers(rows: int, lost: int, won: int = 0) -> tuple[list[int], list[int], list[int]]:
    """Labels, reference and candidate answers: the reference right everywhere but ``won`` rows, the candidate
    wrong on ``lost`` of the rows the reference gets right."""
    labels = [0] * rows
    reference = [1] * won + [0] * (rows - won)
    candidate = [0] * won + [1] * lost + [0] * (rows - won - lost)
    return labels, reference, candidate


def test_one_flipped_answer_in_200_rows_is_exactly_half_a_point_and_allowed():
    """Issue 26: 0.0050000000000000044 > 0.005 refused int8 on every default bake."""
    decision = paired_drop_decision(*answers(200, 1), max_drop=0.005)
    assert (decision["lost"], decision["won"], decision["allowed_rows"]) == (1, 0, 1)
    assert decision["drop"] == 0.005 and decision["allowed"]
    assert not decision["resolved"] and "200 rows cannot resolve max_drop" in decision["rule"]


@pytest.mark.parametrize(
    ("rows", "lost", "won", "resolved", "allowed"),
    [
        (200, 0, 0, True, True),  # the same answers: the drop is 0 for sure
        (200, 3, 0, False, False),  # 3 net rows past the 1 allowed, and 200 rows cannot say more
        (200, 3, 2, False, True),  # flips both ways: 1 net row
        (200, 20, 0, True, False),  # 10 points: past half a point at 95%
        (20_000, 10, 0, True, True),  # 0.05 points, bounded well under half a point
        (2_000, 10, 0, False, True),  # exactly at the limit: 10 of 10 rows
    ],
)
def test_the_decision_rule(rows, lost, won, resolved, allowed):
    decision = paired_drop_decision(*answers(rows, lost, won), max_drop=0.005)
    assert (decision["resolved"], decision["allowed"]) == (resolved, allowed), decision["rule"]
    assert decision["lower_bound"] <= decision["drop"] <= decision["upper_bound"]


def test_the_baseline_comparison_has_a_tolerance_for_float_rounding():
    correct = score([0] * 100 + [1] * 100, [0] * 100 + [1] * 53 + [0] * 47, ["0", "1"])  # 153 / 200 = 0.765
    assert not any("weak" in line for line in verdict(correct, 0.1 * 7 + 0.065))  # 0.7650000000000001: equal
    assert not any("below" in line for line in verdict(correct, 0.77))  # one row: within the margin
    assert any("below the baseline" in line for line in verdict(correct, 0.85))  # 17 rows: 2 SE are 10.1
