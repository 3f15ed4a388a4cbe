"""Every scalar metric the project reports, by name: the one place metric names are written.

A metric is a function ``(labels, predictions, probabilities) -> float``:

- ``labels`` and ``predictions``: class ids, integer arrays of shape ``(n,)``; for a multi-label task 0/1
  indicator matrices of shape ``(n, num_classes)`` (scikit-learn's multilabel form: ``accuracy`` is then subset
  accuracy, every label of a row right);
- ``probabilities``: shape ``(n, num_classes)``, each row sums to 1 (the softmax of the model's logits; for a
  multi-label task each label's own sigmoid). A metric applies to the ``tasks`` it is registered for. Where
  only hard answers exist (``predict`` scoring the labels a server sent back) it is the one-hot matrix of
  ``predictions``, and metrics declared with ``uses_probabilities=True`` are left out of that score.

``num_classes`` is ``probabilities.shape[1]``: a class with no rows still counts in a macro average.

Everything else derives from ``METRICS``: the config's ``train.metric_for_best_model`` choices, both training
loops' histories (``eval_<name>``), the ``name=value;`` log lines and the SageMaker metric definitions that read
them, the learning-curve plot, the evaluation report (metrics.json), the model card and MLflow.
Values are computed with scikit-learn (``sklearn.metrics``), imported when first scored.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .answers import MULTI_LABEL, REGRESSION, SINGLE_LABEL

CLASSIFICATION_TASKS = (SINGLE_LABEL, MULTI_LABEL)

MetricFunction = Callable[[np.ndarray, np.ndarray, np.ndarray], float]


@dataclass(frozen=True)
class Metric:
    """One registered metric: its function, the title people read, and which way is better."""

    name: str
    function: MetricFunction
    title: str
    higher_is_better: bool = True
    uses_probabilities: bool = False
    tasks: tuple[str, ...] = CLASSIFICATION_TASKS


METRICS: dict[str, Metric] = {}
"""Name -> metric, in the order logs, reports and plots show them."""


def register(
    name: str,
    *,
    title: str = "",
    higher_is_better: bool = True,
    uses_probabilities: bool = False,
    tasks: tuple[str, ...] = CLASSIFICATION_TASKS,
) -> Callable[[MetricFunction], MetricFunction]:
    """Decorator adding ``function`` to ``METRICS`` under ``name`` (a flat identifier: it becomes ``eval_<name>``
    in histories and ``<split>:<name>`` in SageMaker), scored for the ``tasks`` given (single_label,
    multi_label). Returns the function unchanged; raises ValueError when ``name`` is not an identifier or is
    taken."""

    def add(function: MetricFunction) -> MetricFunction:
        if not name.isidentifier() or name in METRICS:
            raise ValueError(f"metric name {name!r} is not an identifier or is already registered")
        METRICS[name] = Metric(name, function, title or name, higher_is_better, uses_probabilities, tasks)
        return function

    return add


def unregister(name: str) -> None:
    """Remove ``name`` from ``METRICS`` (tests that register a metric of their own put things back with it)."""
    METRICS.pop(name, None)


def class_ids(probabilities: np.ndarray) -> list[int]:
    """Every class id, ``0 .. num_classes - 1``: what macro averages run over."""
    return list(range(probabilities.shape[1]))


# --- extend this: a new metric is one decorated function here -------------------------------------------------
# e.g. weighted F1:
#     @register("weighted_f1", title="weighted F1")
#     def weighted_f1(labels, predictions, probabilities):
#         return float(f1_score(labels, predictions, labels=class_ids(probabilities), average="weighted",
#                               zero_division=0))
# A probability-based one (AUROC, calibration error) passes uses_probabilities=True; one where lower is better
# (an error rate) passes higher_is_better=False. It then appears everywhere listed in this module's docstring.

ACCURACY = "accuracy"
MACRO_F1 = "macro_f1"
MACRO_PRECISION = "macro_precision"
MACRO_RECALL = "macro_recall"
MICRO_F1 = "micro_f1"
SAMPLES_F1 = "samples_f1"
HAMMING_LOSS = "hamming_loss"


@register(ACCURACY, title="accuracy")
def accuracy(labels: np.ndarray, predictions: np.ndarray, probabilities: np.ndarray) -> float:
    """Share of rows whose predicted class is the true class, in [0, 1]."""
    from sklearn.metrics import accuracy_score

    return float(accuracy_score(labels, predictions))


@register(MACRO_F1, title="macro F1")
def macro_f1(labels: np.ndarray, predictions: np.ndarray, probabilities: np.ndarray) -> float:
    """Unweighted mean of the per-class F1 over every class (0 for a class never true nor predicted)."""
    from sklearn.metrics import f1_score

    return float(f1_score(labels, predictions, labels=class_ids(probabilities), average="macro", zero_division=0))


@register(MACRO_PRECISION, title="macro precision")
def macro_precision(labels: np.ndarray, predictions: np.ndarray, probabilities: np.ndarray) -> float:
    """Unweighted mean of the per-class precision (0 for a class never predicted)."""
    from sklearn.metrics import precision_score

    return float(
        precision_score(labels, predictions, labels=class_ids(probabilities), average="macro", zero_division=0)
    )


@register(MACRO_RECALL, title="macro recall")
def macro_recall(labels: np.ndarray, predictions: np.ndarray, probabilities: np.ndarray) -> float:
    """Unweighted mean of the per-class recall (0 for a class with no rows)."""
    from sklearn.metrics import recall_score

    return float(recall_score(labels, predictions, labels=class_ids(probabilities), average="macro", zero_division=0))


@register(MICRO_F1, title="micro F1", tasks=(MULTI_LABEL,))
def micro_f1(labels: np.ndarray, predictions: np.ndarray, probabilities: np.ndarray) -> float:
    """F1 of every (row, label) decision pooled: frequent labels weigh more (multi-label)."""
    from sklearn.metrics import f1_score

    return float(f1_score(labels, predictions, average="micro", zero_division=0))


@register(SAMPLES_F1, title="samples F1", tasks=(MULTI_LABEL,))
def samples_f1(labels: np.ndarray, predictions: np.ndarray, probabilities: np.ndarray) -> float:
    """Mean over rows of each row's F1 between its true and predicted label sets (multi-label; a row with no
    label and none predicted scores 1)."""
    from sklearn.metrics import f1_score

    return float(f1_score(labels, predictions, average="samples", zero_division=1))


@register(HAMMING_LOSS, title="Hamming loss", higher_is_better=False, tasks=(MULTI_LABEL,))
def hamming_loss(labels: np.ndarray, predictions: np.ndarray, probabilities: np.ndarray) -> float:
    """Share of (row, label) decisions that are wrong, in [0, 1]; lower is better (multi-label)."""
    from sklearn.metrics import hamming_loss as sklearn_hamming_loss

    return float(sklearn_hamming_loss(labels, predictions))


PEARSON = "pearson"
SPEARMAN = "spearman"
MSE = "mse"
MAE = "mae"


def correlation(labels: np.ndarray, predictions: np.ndarray, ranked: bool) -> float:
    """Pearson's r of two score vectors (of their ranks when ``ranked``: Spearman's rho), by scipy.stats; 0.0 when
    either is constant (the correlation is undefined: a collapsed model)."""
    from scipy.stats import pearsonr, spearmanr

    truth, guess = np.asarray(labels, dtype=np.float64).ravel(), np.asarray(predictions, dtype=np.float64).ravel()
    if len(truth) < 2 or np.ptp(truth) == 0 or np.ptp(guess) == 0:
        return 0.0
    return float((spearmanr if ranked else pearsonr)(truth, guess)[0])


@register(PEARSON, title="Pearson r", tasks=(REGRESSION,))
def pearson(labels: np.ndarray, predictions: np.ndarray, probabilities: np.ndarray) -> float:
    """Pearson's correlation of predicted and true scores, in [-1, 1] (regression)."""
    return correlation(labels, predictions, ranked=False)


@register(SPEARMAN, title="Spearman rho", tasks=(REGRESSION,))
def spearman(labels: np.ndarray, predictions: np.ndarray, probabilities: np.ndarray) -> float:
    """Spearman's rank correlation of predicted and true scores, in [-1, 1]: STS's usual figure (regression)."""
    return correlation(labels, predictions, ranked=True)


@register(MSE, title="MSE", higher_is_better=False, tasks=(REGRESSION,))
def mse(labels: np.ndarray, predictions: np.ndarray, probabilities: np.ndarray) -> float:
    """Mean squared error of the predicted scores, in the label's units squared; lower is better (regression)."""
    from sklearn.metrics import mean_squared_error

    return float(mean_squared_error(labels, predictions))


@register(MAE, title="MAE", higher_is_better=False, tasks=(REGRESSION,))
def mae(labels: np.ndarray, predictions: np.ndarray, probabilities: np.ndarray) -> float:
    """Mean absolute error of the predicted scores, in the label's units; lower is better (regression)."""
    from sklearn.metrics import mean_absolute_error

    return float(mean_absolute_error(labels, predictions))


# --- end of the metrics ----------------------------------------------------------------------------------------

METRIC_NAMES = tuple(METRICS)
"""The metrics defined in this file, for the config's choices (one registered later is scored and logged, but
is not a ``metric_for_best_model`` choice)."""


def compute(labels, predictions, probabilities: np.ndarray, *, task: str, hard: bool = False) -> dict[str, float]:
    """Every registered metric of ``task``, name -> value, of ``labels`` and ``predictions`` (class ids of shape
    ``(n,)``; 0/1 matrices ``(n, num_classes)``: multi-label; the task's own form otherwise) and ``probabilities``
    (``(n, num_classes)``). ``hard``: the probabilities are one-hot answers, so metrics that use probabilities are
    left out. With no rows every metric is 0.0."""
    labels, predictions = np.asarray(labels), np.asarray(predictions)
    return {
        metric.name: metric.function(labels, predictions, probabilities) if len(labels) else 0.0
        for metric in METRICS.values()
        if not (hard and metric.uses_probabilities) and task in metric.tasks
    }


def is_better(name: str, value: float, best: float | None) -> bool:
    """Whether ``value`` of metric ``name`` beats ``best`` (None or not finite: nothing to beat yet), in the
    metric's own direction; a tie is not better (both loops keep the first best epoch)."""
    if best is None or not np.isfinite(best):
        return True
    return value > best if METRICS[name].higher_is_better else value < best


HEADLINE = (ACCURACY, MICRO_F1, MACRO_F1)
"""The metrics a one-line summary shows (the confusion matrix's title)."""


def headline(values: dict, digits: int = 3) -> str:
    """``accuracy 0.812, macro F1 0.800`` (micro F1 too, multi-label): the HEADLINE metrics present in ``values``
    with their titles."""
    return ", ".join(f"{METRICS[name].title} {values[name]:.{digits}f}" for name in HEADLINE if name in values)
