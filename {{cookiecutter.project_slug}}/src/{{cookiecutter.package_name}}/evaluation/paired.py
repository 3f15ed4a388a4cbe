"""May a cheaper model replace a reference on the same rows? A decision in counts, with a stated rule.

The two models answer the same rows, so the comparison is paired: only the rows where exactly one of them is
right matter (McNemar's flipped answers). ``lost`` rows the reference gets right and the candidate wrong,
``won`` the other way round; the drop in accuracy is ``(lost - won) / rows``. Compared in counts, a drop of
exactly the allowed share is allowed (no float rounding: 1 of 200 rows is half a point, not 0.0050000000000000044).

The rule, recorded with the decision (paired_gain_decision asks the other question, "surely better?", by the
same bound):
1. resolved: a one-sided CONFIDENCE bound on the drop (normal approximation of the paired differences) lies on
   one side of ``max_drop``: allowed when the upper bound is within it, refused when the lower bound is past it;
2. otherwise too few rows (or flips) to resolve ``max_drop``: decided by the measured drop in counts, allowed
   when ``lost - won <= floor(max_drop * rows)``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

CONFIDENCE = 0.95
Z_ONE_SIDED = 1.6448536269514722  # the standard normal's 95% quantile
COUNT_TOLERANCE = 1e-9  # max_drop * rows: 0.005 * 200 must count as 1 row, whatever the float rounding


def paired_spread(total: float, squares: float, rows: int) -> float:
    """The standard error of the mean paired difference (normal approximation) from their sum ``total`` and sum of
    squares ``squares`` over ``rows``; infinite without rows."""
    return math.sqrt(max(0.0, squares - total**2 / rows)) / rows if rows else math.inf


def paired_drop_decision(
    labels: Sequence[int], reference: Sequence[int], candidate: Sequence[int], max_drop: float
) -> dict:
    """The decision and its numbers (for metrics.json): rows, lost, won, allowed_rows, drop, lower_bound,
    upper_bound, confidence, resolved, rule, allowed. ``reference`` and ``candidate`` are predicted class ids."""
    rows = len(labels)
    lost = sum(r == y != c for y, r, c in zip(labels, reference, candidate, strict=True))
    won = sum(c == y != r for y, r, c in zip(labels, reference, candidate, strict=True))
    allowed_rows = math.floor(max_drop * rows + COUNT_TOLERANCE)
    drop = (lost - won) / rows if rows else 0.0
    spread = paired_spread(lost - won, lost + won, rows)  # each row's difference is -1, 0 or 1
    lower, upper = drop - Z_ONE_SIDED * spread, drop + Z_ONE_SIDED * spread
    if upper <= max_drop + COUNT_TOLERANCE / max(rows, 1):
        resolved, allowed = True, True
        rule = f"the {CONFIDENCE * 100:.0f}% upper bound on the drop ({upper:.4f}) is within max_drop"
    elif lower > max_drop:
        resolved, allowed = True, False
        rule = f"the {CONFIDENCE * 100:.0f}% lower bound on the drop ({lower:.4f}) is past max_drop"
    else:
        resolved, allowed = False, lost - won <= allowed_rows
        rule = (
            f"{rows} rows cannot resolve max_drop at {CONFIDENCE * 100:.0f}% (bounds {lower:.4f} to {upper:.4f}): "
            f"decided in counts, {lost - won} net rows lost against {allowed_rows} allowed"
        )
    return {
        "rows": rows,
        "lost": lost,
        "won": won,
        "allowed_rows": allowed_rows,
        "drop": drop,
        "lower_bound": lower,
        "upper_bound": upper,
        "confidence": CONFIDENCE,
        "resolved": resolved,
        "rule": rule,
        "allowed": allowed,
    }


def paired_gain_decision(reference_errors: Sequence[float], candidate_errors: Sequence[float]) -> dict:
    """Is the candidate surely better than the reference on the same decisions? Each decision's error of both
    (Task.decision_errors: 0/1 for a class, the squared error for a score). The gain is the mean of reference minus
    candidate errors; the candidate is ``better`` when the one-sided CONFIDENCE lower bound on it (normal
    approximation of the paired differences) is above 0. For 0/1 errors the differences are McNemar's flipped
    answers and the bound is paired_drop_decision's. Returns rows, won, lost (decisions where one errs less), gain,
    lower_bound, confidence, better, rule."""
    differences = [r - c for r, c in zip(reference_errors, candidate_errors, strict=True)]
    rows = len(differences)
    gain = sum(differences) / rows if rows else 0.0
    lower = gain - Z_ONE_SIDED * paired_spread(sum(differences), sum(d * d for d in differences), rows)
    won, lost = sum(d > 0 for d in differences), sum(d < 0 for d in differences)
    better = lower > 0
    rule = (
        f"on {rows} decisions the candidate errs less on {won} and more on {lost}: the {CONFIDENCE * 100:.0f}% lower "
        f"bound on its gain ({lower:.4g}) is {'above' if better else 'not above'} 0"
    )
    return {
        "rows": rows,
        "won": won,
        "lost": lost,
        "gain": gain,
        "lower_bound": lower,
        "confidence": CONFIDENCE,
        "better": better,
        "rule": rule,
    }
