"""Classification metrics for any number of classes, in a form logs, files and people can read.

Every path that scores predictions (both training loops, evaluate, baseline, predict) goes through
``score``: class ids (and probabilities, where the model gave them) in, the same metrics dictionary out. The
scalar metrics themselves are registered in ``metric_registry.py`` (a new metric goes there, nowhere else).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..display import table
from ..metric_registry import ACCURACY, MACRO_F1, MACRO_PRECISION, MACRO_RECALL, METRICS, compute


def confusion_matrix(y_true: Sequence[int], y_pred: Sequence[int], num_labels: int) -> np.ndarray:
    """Rows are true classes, columns predicted classes."""
    matrix = np.zeros((num_labels, num_labels), dtype=np.int64)
    np.add.at(matrix, (np.asarray(y_true, dtype=np.int64), np.asarray(y_pred, dtype=np.int64)), 1)
    return matrix


def score(
    y_true: Sequence[int],
    y_pred: Sequence[int],
    label_names: Sequence[str],
    *,
    probabilities: np.ndarray | None = None,
) -> dict:
    """Every registered metric (metric_registry.METRICS), per-class precision/recall/F1/support and the confusion
    matrix of class ids ``y_true`` and ``y_pred`` (shape ``(n,)``). ``probabilities`` (``(n, len(label_names))``)
    feeds metrics that use them; without it (hard answers) those metrics are left out."""
    matrix = confusion_matrix(y_true, y_pred, len(label_names))
    true_positive = np.diag(matrix).astype(float)
    predicted = matrix.sum(axis=0).astype(float)
    support = matrix.sum(axis=1).astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(predicted > 0, true_positive / predicted, 0.0)
        recall = np.where(support > 0, true_positive / support, 0.0)
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    hard = probabilities is None
    if hard:
        probabilities = one_hot(y_pred, len(label_names))
    return {
        **compute(y_true, y_pred, np.asarray(probabilities), hard=hard),
        "per_class": {
            name: {
                "precision": float(precision[i]),
                "recall": float(recall[i]),
                "f1": float(f1[i]),
                "support": int(support[i]),
            }
            for i, name in enumerate(label_names)
        },
        "confusion_matrix": matrix.tolist(),
        "label_names": list(label_names),
        "num_examples": int(matrix.sum()),
    }


def one_hot(class_ids: Sequence[int], num_classes: int) -> np.ndarray:
    """Hard answers as probabilities: shape ``(n, num_classes)``, 1.0 at each row's class id."""
    matrix = np.zeros((len(class_ids), num_classes))
    matrix[np.arange(len(class_ids)), np.asarray(class_ids, dtype=np.int64)] = 1.0
    return matrix


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax of ``logits`` (shape ``(n, num_classes)``), computed stably in float64; same shape."""
    shifted = np.asarray(logits, dtype=np.float64)
    shifted = shifted - shifted.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)


def score_logits(y_true: Sequence[int], logits: np.ndarray, label_names: Sequence[str]) -> dict:
    """``score`` of a model's raw ``logits`` (shape ``(n, num_classes)``): argmax answers, softmax probabilities."""
    logits = np.asarray(logits)
    return score(
        y_true, logits.argmax(axis=1).tolist(), label_names, probabilities=softmax(logits) if len(logits) else None
    )


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
    return rf"{name}=([0-9]+\.?[0-9]*(?:[eE][-+]?[0-9]+)?);"


def classification_report(metrics: dict) -> str:
    """Per-class table, totals and the confusion matrix, aligned by display width (Korean labels included)."""
    names = metrics["label_names"]
    total = metrics["num_examples"]
    rows = [
        [name, f"{row['precision']:.4f}", f"{row['recall']:.4f}", f"{row['f1']:.4f}", str(row["support"])]
        for name, row in ((n, metrics["per_class"][n]) for n in names)
    ]
    rows.append([ACCURACY, "", "", f"{metrics[ACCURACY]:.4f}", str(total)])
    rows.append(
        [
            "macro avg",
            f"{metrics[MACRO_PRECISION]:.4f}",
            f"{metrics[MACRO_RECALL]:.4f}",
            f"{metrics[MACRO_F1]:.4f}",
            str(total),
        ]
    )
    others = [METRICS[name] for name in METRICS if name not in (ACCURACY, MACRO_F1, MACRO_PRECISION, MACRO_RECALL)]
    rows += [
        [metric.title, "", "", f"{metrics[metric.name]:.4f}", str(total)] for metric in others if metric.name in metrics
    ]
    per_class = table(["", "precision", "recall", "f1-score", "support"], rows)
    matrix_rows = [[name, *(str(v) for v in row)] for name, row in zip(names, metrics["confusion_matrix"], strict=True)]
    matrix = table(["true \\ predicted", *names], matrix_rows)
    return f"{per_class}\n\nconfusion matrix (rows: true, columns: predicted)\n{matrix}"
