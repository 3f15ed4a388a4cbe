"""Metrics for every task, in a form logs, files and people can read.

Every path that scores predictions (both training loops, evaluate, baseline, predict) goes through ``score``:
labels and answers (and scores, where the model gave them) in, the task's metrics dictionary out. What is
scored, reported and compared is the task's (``tasks/``); the scalar metrics themselves are registered in
``metric_registry.py`` (a new metric goes there, nowhere else).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..metric_registry import METRICS
from ..tasks import Task, task_named, task_of_answers


def score(
    y_true: Sequence,
    y_pred: Sequence,
    label_names: Sequence[str],
    *,
    probabilities: np.ndarray | None = None,
    task: Task | None = None,
) -> dict:
    """``task``'s metrics dictionary (Task.score) of true ``y_true`` and answered ``y_pred`` (shape ``(n,)``, or
    tuples / 0/1 matrices for multi-label), with ``probabilities`` (``(n, outputs)``: the model's scores; None for
    hard answers). Without ``task``, the one whose answers look like these (tasks.task_of_answers)."""
    task = task or task_of_answers(y_pred if len(y_pred) else y_true)
    return task.score(y_true, y_pred, label_names, probabilities)


def score_logits(
    y_true: Sequence,
    logits: np.ndarray,
    label_names: Sequence[str],
    thresholds: Sequence[float] | None = None,
    task: Task | None = None,
) -> dict:
    """``score`` of a model's raw ``logits`` (shape ``(n, outputs)``): the task's scores, decided at
    ``thresholds`` where the task has them. Without ``task``, the one ``y_true`` looks like."""
    task = task or task_of_answers(y_true)
    scores = task.scores(np.asarray(logits))
    return task.score(y_true, task.decide(scores, thresholds), label_names, scores if len(scores) else None)


def classification_report(metrics: dict) -> str:
    """The tables of ``metrics`` (``score``'s) for people, as its task writes them (Task.report)."""
    return task_named(metrics.get("task")).report(metrics)


def scalars(metrics: dict) -> dict[str, float]:
    """The registered scalar metrics of a ``score`` result, name -> value (what histories and MLflow log)."""
    return {name: metrics[name] for name in METRICS if name in metrics}


def metric_line(metrics: dict, prefix: str = "") -> str:
    """``eval_accuracy=0.8123; eval_macro_f1=0.8100; ...`` — the format SageMaker metric regexes read: every
    registered metric present in ``metrics``, then ``loss``."""
    parts = [f"{prefix}{name}={metrics[name]:.4f};" for name in (*METRICS, "loss") if metrics.get(name) is not None]
    return " ".join(parts)


def metric_regex(name: str) -> str:
    """The regex that reads ``name`` back out of a ``metric_line``."""
    return rf"{name}=(-?[0-9]+\.?[0-9]*(?:[eE][-+]?[0-9]+)?);"  # a correlation may be negative
