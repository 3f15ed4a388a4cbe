"""Decisions on measured numbers: in counts, with a stated rule when the rows cannot resolve the threshold."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from {{ cookiecutter.package_name }}.evaluation.metrics import score
from {{ cookiecutter.package_name }}.evaluation.paired import (
    paired_drop_decision,
    paired_gain_decision,
)
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


def errors(labels: list[int], answers: list[int]) -> list[float]:
    """Each row's 0/1 error."""
    return [float(a != y) for a, y in zip(answers, labels, strict=True)]


@given(
    st.integers(1, 3000)
    .flatmap(lambda rows: st.tuples(st.just(rows), st.integers(0, rows)))
    .flatmap(lambda t: st.tuples(st.just(t[0]), st.just(t[1]), st.integers(0, t[0] - t[1])))
)
def test_a_sure_gain_is_the_drop_of_going_back_bounded_the_same_way(case):
    """For 0/1 errors the candidate's gain is what going back to the reference would drop, with the same bound."""
    rows, lost, won = case
    labels, reference, candidate = answers(rows, lost, won)
    gain = paired_gain_decision(errors(labels, reference), errors(labels, candidate))
    back = paired_drop_decision(labels, candidate, reference, max_drop=0.0)
    assert (gain["won"], gain["lost"]) == (won, lost)
    assert gain["gain"] == pytest.approx(back["drop"], abs=1e-12)
    assert gain["lower_bound"] == pytest.approx(back["lower_bound"], abs=1e-12)
    assert gain["better"] == (gain["lower_bound"] > 0)


@pytest.mark.parametrize(
    ("rows", "lost", "won", "better"),
    [
        (200, 0, 0, False),  # the same answers: no gain
        (200, 0, 2, False),  # 2 rows in 200 could be luck
        (200, 0, 20, True),  # 20 rows one way, none back
        (471, 36, 38, False),  # issue 34's hate-speech test file's flips: 2 net rows either way could be luck
        (20_000, 400, 500, True),  # 100 net rows of 900 flips in a large file
    ],
)
def test_the_gain_rule(rows, lost, won, better):
    labels, reference, candidate = answers(rows, lost, won)
    decision = paired_gain_decision(errors(labels, reference), errors(labels, candidate))
    assert decision["better"] == better, decision["rule"]


def test_a_score_gains_by_its_squared_errors():
    """Regression: the paired differences of squared errors, not a count of flips."""
    truth = [float(i % 5) for i in range(400)]
    close, far = [t + 0.1 for t in truth], [t + 1.0 for t in truth]

    def squared(answers: list[float]) -> list[float]:
        return [(a - t) ** 2 for a, t in zip(answers, truth, strict=True)]

    assert paired_gain_decision(squared(far), squared(close))["better"]
    assert not paired_gain_decision(squared(close), squared(far))["better"]
    assert not paired_gain_decision(squared(close), squared(close))["better"]
