"""Classification metrics for any number of classes, in a form logs, files and people can read."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def confusion_matrix(y_true: Sequence[int], y_pred: Sequence[int], num_labels: int) -> np.ndarray:
    """Rows are true classes, columns predicted classes."""
    matrix = np.zeros((num_labels, num_labels), dtype=np.int64)
    np.add.at(matrix, (np.asarray(y_true, dtype=np.int64), np.asarray(y_pred, dtype=np.int64)), 1)
    return matrix


def classification_metrics(y_true: Sequence[int], y_pred: Sequence[int], label_names: Sequence[str]) -> dict:
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
            name: {"precision": float(precision[i]), "recall": float(recall[i]), "f1": float(f1[i]),
                   "support": int(support[i])}
            for i, name in enumerate(label_names)
        },
        "confusion_matrix": matrix.tolist(),
        "label_names": list(label_names),
        "num_examples": int(total),
    }


SCALARS = ("accuracy", "macro_precision", "macro_recall", "macro_f1")


def metric_line(metrics: dict, prefix: str = "") -> str:
    """``eval_accuracy=0.8123; eval_macro_f1=0.8100; ...`` — the format SageMaker metric regexes read."""
    parts = [f"{prefix}{name}={metrics[name]:.4f};" for name in (*SCALARS, "loss") if name in metrics]
    return " ".join(parts)


def metric_regex(name: str) -> str:
    """The regex that reads ``name`` back out of a ``metric_line``."""
    return rf"{name}=([0-9]+\.?[0-9]*(?:[eE][-+]?[0-9]+)?);"


def classification_report(metrics: dict) -> str:
    names = metrics["label_names"]
    width = max(12, *(len(n) for n in names))
    total = metrics["num_examples"]
    lines = ["".ljust(width) + "  precision  recall  f1-score  support"]
    for name in names:
        row = metrics["per_class"][name]
        lines.append(name.ljust(width) + f"  {row['precision']:9.4f}  {row['recall']:6.4f}  {row['f1']:8.4f}  "
                     f"{row['support']:7d}")
    lines.append("")
    lines.append("accuracy".ljust(width) + " " * 21 + f"{metrics['accuracy']:8.4f}  {total:7d}")
    lines.append("macro avg".ljust(width) + f"  {metrics['macro_precision']:9.4f}  {metrics['macro_recall']:6.4f}  "
                 f"{metrics['macro_f1']:8.4f}  {total:7d}")
    lines.append("")
    lines.append("confusion matrix (rows: true, columns: predicted)")
    lines.append(" " * width + "  " + " ".join(n[:8].rjust(8) for n in names))
    for name, row in zip(names, metrics["confusion_matrix"], strict=True):
        lines.append(name.ljust(width) + "  " + " ".join(str(v).rjust(8) for v in row))
    return "\n".join(lines)
