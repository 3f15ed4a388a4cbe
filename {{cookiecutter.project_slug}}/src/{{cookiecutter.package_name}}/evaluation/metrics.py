"""Classification metrics for any number of classes, in a form logs, files and people can read.

Every path that scores predictions (both training loops, evaluate, baseline, predict) goes through
``score``: predicted class ids in, the same metrics dictionary out.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..config import SCALAR_METRICS
from ..display import table


def confusion_matrix(y_true: Sequence[int], y_pred: Sequence[int], num_labels: int) -> np.ndarray:
    """Rows are true classes, columns predicted classes."""
    matrix = np.zeros((num_labels, num_labels), dtype=np.int64)
    np.add.at(matrix, (np.asarray(y_true, dtype=np.int64), np.asarray(y_pred, dtype=np.int64)), 1)
    return matrix


def score(y_true: Sequence[int], y_pred: Sequence[int], label_names: Sequence[str]) -> dict:
    """accuracy, macro precision/recall/F1, per-class P/R/F1/support and the confusion matrix."""
    matrix = confusion_matrix(y_true, y_pred, len(label_names))
    true_positive = np.diag(matrix).astype(float)
    predicted = matrix.sum(axis=0).astype(float)
    support = matrix.sum(axis=1).astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(predicted > 0, true_positive / predicted, 0.0)
        recall = np.where(support > 0, true_positive / support, 0.0)
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    total = matrix.sum()
    return {
        "accuracy": float(true_positive.sum() / total) if total else 0.0,
        "macro_precision": float(precision.mean()),
        "macro_recall": float(recall.mean()),
        "macro_f1": float(f1.mean()),
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
        "num_examples": int(total),
    }


def score_logits(y_true: Sequence[int], logits: np.ndarray, label_names: Sequence[str]) -> dict:
    return score(y_true, np.asarray(logits).argmax(axis=1).tolist(), label_names)


def scalars(metrics: dict) -> dict[str, float]:
    return {name: metrics[name] for name in SCALAR_METRICS if name in metrics}


def metric_line(metrics: dict, prefix: str = "") -> str:
    """``eval_accuracy=0.8123; eval_macro_f1=0.8100; ...`` — the format SageMaker metric regexes read."""
    parts = [
        f"{prefix}{name}={metrics[name]:.4f};" for name in (*SCALAR_METRICS, "loss") if metrics.get(name) is not None
    ]
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
    rows.append(["accuracy", "", "", f"{metrics['accuracy']:.4f}", str(total)])
    rows.append(
        [
            "macro avg",
            f"{metrics['macro_precision']:.4f}",
            f"{metrics['macro_recall']:.4f}",
            f"{metrics['macro_f1']:.4f}",
            str(total),
        ]
    )
    per_class = table(["", "precision", "recall", "f1-score", "support"], rows)
    matrix_rows = [[name, *(str(v) for v in row)] for name, row in zip(names, metrics["confusion_matrix"], strict=True)]
    matrix = table(["true \\ predicted", *names], matrix_rows)
    return f"{per_class}\n\nconfusion matrix (rows: true, columns: predicted)\n{matrix}"
