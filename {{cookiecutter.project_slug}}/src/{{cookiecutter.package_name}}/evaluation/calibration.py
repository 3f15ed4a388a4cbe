"""Probability calibration: temperature scaling fitted on the validation split, the expected calibration error (ECE)
before and after it, the reliability diagram's bins and the coverage/accuracy curve of abstaining.

Temperature scaling (Guo et al. 2017, "On Calibration of Modern Neural Networks", sec. 4.2) divides the logits by
a temperature T > 0 fitted to minimise the validation split's negative log-likelihood: T > 1 softens over-confident
scores, T < 1 sharpens timid ones. It never changes which class is the most probable, so a single-label model's
answers stay as they were; only its probabilities move. How many temperatures a task has and what each minimises
are the task's (Head.temperature_count, Task.temperature_losses): one shared by every class single-label (softmax
NLL), one a label multi-label (each label's binary cross-entropy), none for regression. Serving applies them where
the artifact is loaded (answers.read_temperatures and answers.calibrated). Pure numpy and scipy: plots.py draws.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from ..tasks import Task

DEFAULT_BINS = 15  # equal-width confidence bins of the ECE and the reliability diagram (Guo et al. 2017 use 15)
TEMPERATURE_BOUNDS = (0.05, 20.0)  # the search's range: beyond it the scores would be all but constant or one-hot


def fit_temperature(loss: Callable[[float], float], bounds: tuple[float, float] = TEMPERATURE_BOUNDS) -> float:
    """The temperature within ``bounds`` that minimises ``loss`` (temperature -> a float, e.g. nats a row): bounded
    Brent search on log T (scipy.optimize.minimize_scalar), so softening and sharpening are searched alike. Returns
    1.0 (no change) when the search fails or does not beat T = 1."""
    from scipy.optimize import minimize_scalar

    result = minimize_scalar(
        lambda log_t: loss(float(np.exp(log_t))),
        bounds=(float(np.log(bounds[0])), float(np.log(bounds[1]))),
        method="bounded",
        options={"xatol": 1e-4},
    )
    best = float(np.exp(result.x))
    return best if result.success and loss(best) < loss(1.0) else 1.0


def fit_temperatures(task: Task, labels: Sequence, logits: np.ndarray) -> list[float] | None:
    """``task``'s temperatures (Task.temperature_losses, in calibration.json's order) fitted on a labelled split's
    ``logits`` (rows, outputs) at its true ``labels``; 1.0 for one the split cannot fit. None when the task is not
    calibrated or the split has no rows."""
    logits = np.asarray(logits, dtype=np.float64)
    losses = task.temperature_losses(list(labels), logits) if len(logits) else []
    if not losses:
        return None
    return [1.0 if loss is None else fit_temperature(loss) for loss in losses]


def kept_if_ece_falls(
    task: Task, labels: Sequence, logits: np.ndarray, temperatures: Sequence[float], bins: int = DEFAULT_BINS
) -> list[float]:
    """``temperatures`` (fit_temperatures') with each one that does not lower its own calibration pair's ECE on the
    same labelled split (``logits`` (rows, outputs) at ``labels``; temperature i scales pair i of
    Task.calibration_pairs: the one pair single-label, label i's multi-label) put back to 1.0. The loss a temperature
    minimises and the ECE people read can disagree: on UnSmile's validation split every label's temperature lowered
    its cross-entropy while the mean ECE rose 0.115 -> 0.123 (benchmarks/RESULTS-real-sets.md)."""
    logits = np.asarray(logits, dtype=np.float64)
    before = task.calibration_pairs(list(labels), task.scores(logits))
    after = task.calibration_pairs(list(labels), task.scores(logits / np.asarray(temperatures, dtype=np.float64)))
    return [
        float(t) if binary_ece(*scaled, bins) < binary_ece(*plain, bins) else 1.0
        for t, plain, scaled in zip(temperatures, before, after, strict=True)
    ]


def bound_note(temperatures: Sequence[float], bounds: tuple[float, float] = TEMPERATURE_BOUNDS) -> str | None:
    """A note when a fitted temperature reached the search's ``bounds`` (within 1%), else None: the validation
    split's scores are then far from calibrated (a transformer near chance, or trained too briefly), and their
    calibrated form is as flat or as sharp as the search allows."""
    reached = [bound for bound in bounds if any(abs(t - bound) <= 0.01 * bound for t in temperatures)]
    if not reached:
        return None
    return (
        f"note: a temperature reached the search's bound {' and '.join(f'{b:g}' for b in reached)}: the "
        "transformer's validation scores are far "
        "from calibrated (a model near chance, or trained too briefly); more data, steps or a pretrained model "
        "would help"
    )


def reliability_bins(confidences: np.ndarray, outcomes: np.ndarray, bins: int = DEFAULT_BINS) -> dict[str, np.ndarray]:
    """Equal-width bins of ``confidences`` (shape (n,), probabilities 0-1) with their 0/1 ``outcomes`` (n,): bin b
    of ``bins`` holds (b - 1)/bins < p <= b/bins, p = 0 in the first (Guo et al. 2017, sec. 2). Returns arrays of
    shape (bins,): ``count`` (rows), ``confidence`` (their mean probability) and ``observed`` (the share that came
    true, the bin's accuracy), NaN for an empty bin. Raises ValueError for shapes that differ or bins < 1."""
    confidences, outcomes = np.asarray(confidences, dtype=np.float64), np.asarray(outcomes, dtype=np.float64)
    if confidences.shape != outcomes.shape or confidences.ndim != 1 or bins < 1:
        raise ValueError(f"confidences {confidences.shape} and outcomes {outcomes.shape} in {bins} bins")
    index = np.clip(np.ceil(confidences * bins).astype(np.int64) - 1, 0, bins - 1)
    count = np.bincount(index, minlength=bins).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        confidence = np.bincount(index, weights=confidences, minlength=bins) / count
        accuracy = np.bincount(index, weights=outcomes, minlength=bins) / count
    return {"count": count, "confidence": confidence, "observed": accuracy}


def binary_ece(confidences: np.ndarray, outcomes: np.ndarray, bins: int = DEFAULT_BINS) -> float:
    """The expected calibration error of predicted probabilities ``confidences`` (n,) against their 0/1
    ``outcomes`` (n,): sum over reliability_bins of |B| / n * |observed(B) - confidence(B)|, a probability gap
    0-1 (Guo et al. 2017, eq. 3; Naeini et al. 2015). 0.0 for no rows. Raises ValueError as reliability_bins."""
    table = reliability_bins(confidences, outcomes, bins)
    total = table["count"].sum()
    if not total:
        return 0.0
    filled = table["count"] > 0
    gaps = np.abs(table["observed"][filled] - table["confidence"][filled])
    return float((table["count"][filled] / total * gaps).sum())


def expected_calibration_error(
    task: Task, labels: Sequence, scores: np.ndarray, bins: int = DEFAULT_BINS
) -> float | None:
    """``task``'s ECE of ``scores`` (rows, outputs) at the true ``labels``: the mean binary_ece of its calibration
    pairs (Task.calibration_pairs: single-label, top-label ECE, Guo et al. 2017; multi-label, the mean over labels
    of each label's binary ECE, class-wise ECE, Kull et al. 2019). None for a task without probabilities."""
    pairs = task.calibration_pairs(list(labels), np.asarray(scores, dtype=np.float64))
    return float(np.mean([binary_ece(c, o, bins) for c, o in pairs])) if pairs else None


def pooled_pairs(task: Task, labels: Sequence, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Every calibration pair of ``scores`` at ``labels`` in one (confidences, outcomes), what the reliability
    diagram draws (multi-label: every (row, label) decision); None for a task without probabilities."""
    pairs = task.calibration_pairs(list(labels), np.asarray(scores, dtype=np.float64))
    if not pairs:
        return None
    return np.concatenate([c for c, _ in pairs]), np.concatenate([o for _, o in pairs])


def split_record(
    task: Task, labels: Sequence, logits: np.ndarray, temperatures: Sequence[float], bins: int = DEFAULT_BINS
) -> dict:
    """One split's calibration figures: ``ece_before`` and ``ece_after`` (expected_calibration_error of the scores
    of ``logits`` (rows, outputs), then of ``logits / temperatures``) and ``loss_before`` and ``loss_after`` (the
    task's mean loss, nats a row, of the same scores), at the true ``labels``."""
    logits = np.asarray(logits, dtype=np.float64)
    before, after = task.scores(logits), task.scores(logits / np.asarray(temperatures, dtype=np.float64))
    return {
        **ece_change(task, labels, before, after, bins),
        "loss_before": task.mean_loss(list(labels), before),
        "loss_after": task.mean_loss(list(labels), after),
    }


def ece_change(task: Task, labels: Sequence, before: np.ndarray, after: np.ndarray, bins: int = DEFAULT_BINS) -> dict:
    """``ece_before`` and ``ece_after``: expected_calibration_error of the scores ``before`` and ``after`` the
    temperatures (each (rows, outputs)) at the true ``labels``."""
    return {
        "ece_before": expected_calibration_error(task, labels, before, bins),
        "ece_after": expected_calibration_error(task, labels, after, bins),
    }


def calibration_line(whose: str, temperatures: Sequence[float], record: dict | None = None, how: str = "") -> str:
    """The line that says a calibration: ``whose`` scores, the ``temperatures`` (3 decimals), ``how`` they were
    fitted (in brackets) and, for each split of ``record`` (split -> ece_change's figures), its ECE before -> after."""
    line = f"calibration of {whose} scores: temperature {', '.join(f'{t:.3f}' for t in temperatures)}"
    line += f" ({how})" if how else ""
    figures = [
        f"{split} {value['ece_before']:.4f} -> {value['ece_after']:.4f}"
        for split, value in (record or {}).items()
        if isinstance(value, dict) and "ece_before" in value
    ]
    return line + (f"; expected calibration error {'; '.join(figures)}" if figures else "")


def coverage_curve(confidences: np.ndarray, outcomes: np.ndarray) -> dict[str, np.ndarray]:
    """What abstaining below a confidence does: rows sorted by ``confidences`` (n,), highest first, and for each
    cut-off the ``threshold`` (that row's confidence), the ``coverage`` (share of rows answered, 0-1) and the
    ``answered_right``, the accuracy of the answered rows (their share of 1.0 ``outcomes``, (n,)). Arrays of shape
    (n,), coverage rising (Geifman and El-Yaniv 2017, "Selective Classification for Deep Neural Networks": the
    risk-coverage curve)."""
    confidences, outcomes = np.asarray(confidences, dtype=np.float64), np.asarray(outcomes, dtype=np.float64)
    order = np.argsort(-confidences, kind="stable")
    answered = np.arange(1, len(order) + 1)
    return {
        "threshold": confidences[order],
        "coverage": answered / max(len(order), 1),
        "answered_right": np.cumsum(outcomes[order]) / answered,
    }


def coverage_at(confidences: np.ndarray, outcomes: np.ndarray, min_confidence: float) -> dict[str, float]:
    """What abstaining below ``min_confidence`` does to rows of ``confidences`` (n,) and 0/1 ``outcomes`` (n,):
    ``coverage`` (the share answered, 0-1) and ``answered_right`` (the accuracy of the answered rows; 0.0 when none
    is answered)."""
    answered = np.asarray(confidences, dtype=np.float64) >= min_confidence
    right = np.asarray(outcomes, dtype=np.float64)[answered]
    return {
        "coverage": float(answered.mean()) if len(answered) else 0.0,
        "answered_right": float(right.mean()) if len(right) else 0.0,
    }


def confidence_for_accuracy(confidences: np.ndarray, outcomes: np.ndarray, target: float) -> float | None:
    """The lowest confidence cut-off at which the rows answered (confidence at least the cut-off) reach accuracy
    ``target`` (0-1) on a labelled split, i.e. the widest coverage that does (coverage_curve; rows of equal
    confidence are answered together); None when no cut-off does."""
    curve = coverage_curve(confidences, outcomes)
    last_of_equals = np.append(curve["threshold"][1:] != curve["threshold"][:-1], True)
    reached = np.flatnonzero((curve["answered_right"] >= target) & last_of_equals)
    return float(curve["threshold"][reached[-1]]) if len(reached) else None
