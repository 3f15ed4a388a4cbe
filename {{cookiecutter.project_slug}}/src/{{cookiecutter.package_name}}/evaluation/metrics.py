"""Classification metrics for any number of classes, in a form logs, files and people can read.

Every path that scores predictions (both training loops, evaluate, baseline, predict) goes through
``score``: class ids (and probabilities, where the model gave them) in, the same metrics dictionary out. The
scalar metrics themselves are registered in ``metric_registry.py`` (a new metric goes there, nowhere else).

Multi-label answers (a tuple of class ids a row, or a 0/1 matrix) are scored as scikit-learn's multilabel
indicator matrices: per-label precision/recall/F1/support, a 2x2 confusion matrix per label and the true labels'
co-occurrence counts take the place of the single confusion matrix. A label is predicted when its sigmoid
probability reaches its decision threshold (0.5 unless tuned on the validation split: ``tune_thresholds``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..display import table
from ..metric_registry import ACCURACY, MACRO_F1, MACRO_PRECISION, MACRO_RECALL, METRICS, MULTI_LABEL, compute

DEFAULT_THRESHOLD = 0.5
THRESHOLD_GRID = tuple(round(0.05 * i, 2) for i in range(1, 20))  # 0.05 .. 0.95: what tune_thresholds tries


def confusion_matrix(y_true: Sequence[int], y_pred: Sequence[int], num_labels: int) -> np.ndarray:
    """Rows are true classes, columns predicted classes."""
    matrix = np.zeros((num_labels, num_labels), dtype=np.int64)
    np.add.at(matrix, (np.asarray(y_true, dtype=np.int64), np.asarray(y_pred, dtype=np.int64)), 1)
    return matrix


def per_class(label_names: Sequence[str], true_positive, predicted, support) -> dict[str, dict]:
    """Name -> precision, recall, F1 and support of each class (or label), from its counts of true positives, of
    predictions and of true rows (arrays of shape ``(len(label_names),)``); 0.0 where a ratio has no denominator
    (scikit-learn's ``zero_division=0``)."""
    true_positive, predicted, support = (np.asarray(a, dtype=float) for a in (true_positive, predicted, support))
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(predicted > 0, true_positive / predicted, 0.0)
        recall = np.where(support > 0, true_positive / support, 0.0)
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    return {
        name: {
            "precision": float(precision[i]),
            "recall": float(recall[i]),
            "f1": float(f1[i]),
            "support": int(support[i]),
        }
        for i, name in enumerate(label_names)
    }


def score(
    y_true: Sequence[int],
    y_pred: Sequence[int],
    label_names: Sequence[str],
    *,
    probabilities: np.ndarray | None = None,
) -> dict:
    """Every registered metric (metric_registry.METRICS), per-class precision/recall/F1/support and the confusion
    matrix of class ids ``y_true`` and ``y_pred`` (shape ``(n,)``). ``probabilities`` (``(n, len(label_names))``)
    feeds metrics that use them; without it (hard answers) those metrics are left out. Multi-label answers (tuples
    of class ids, or 0/1 matrices) are scored by ``multi_label_score``."""
    if is_multi_label(y_true) or is_multi_label(y_pred):
        return multi_label_score(y_true, y_pred, label_names, probabilities=probabilities)
    matrix = confusion_matrix(y_true, y_pred, len(label_names))
    hard = probabilities is None
    if hard:
        probabilities = one_hot(y_pred, len(label_names))
    return {
        **compute(y_true, y_pred, np.asarray(probabilities), hard=hard),
        "per_class": per_class(label_names, np.diag(matrix), matrix.sum(axis=0), matrix.sum(axis=1)),
        "confusion_matrix": matrix.tolist(),
        "label_names": list(label_names),
        "num_examples": int(matrix.sum()),
    }


def is_multi_label(answers) -> bool:
    """Whether ``answers`` are multi-label: a 2-D array (0/1 matrix) or a sequence holding tuples or lists."""
    if isinstance(answers, np.ndarray):
        return answers.ndim == 2
    return any(isinstance(answer, (tuple, list)) for answer in answers)


def indicator(answers, num_labels: int) -> np.ndarray:
    """Multi-label answers as a 0/1 int matrix ``(n, num_labels)``: from tuples of class ids, or a matrix
    (a multi-hot float matrix, as the Trainer hands labels back) as it is."""
    if isinstance(answers, np.ndarray) and answers.ndim == 2:
        return (answers >= 0.5).astype(np.int64)
    matrix = np.zeros((len(answers), num_labels), dtype=np.int64)
    for row, ids in enumerate(answers):
        matrix[row, list(ids)] = 1
    return matrix


def label_sets(matrix: np.ndarray) -> list[tuple[int, ...]]:
    """A 0/1 matrix's rows as tuples of the class ids set in each (sorted; ``()`` for none)."""
    return [tuple(int(i) for i in np.flatnonzero(row)) for row in np.asarray(matrix)]


def multi_label_score(y_true, y_pred, label_names: Sequence[str], *, probabilities: np.ndarray | None = None) -> dict:
    """``score`` of multi-label answers (tuples of class ids, or 0/1 matrices): every registered multi-label metric,
    per-label precision/recall/F1/support, each label's 2x2 confusion matrix (``[[tn, fp], [fn, tp]]``) and the
    true labels' co-occurrence counts (``(labels, labels)``, the diagonal: each label's rows)."""
    n = len(label_names)
    truth, predicted = indicator(y_true, n), indicator(y_pred, n)
    hard = probabilities is None
    per_label_confusion = [
        [[int(((1 - t) & (1 - p)).sum()), int(((1 - t) & p).sum())], [int((t & (1 - p)).sum()), int((t & p).sum())]]
        for t, p in zip(truth.T, predicted.T, strict=True)
    ]
    return {
        **compute(truth, predicted, predicted.astype(float) if hard else np.asarray(probabilities), hard=hard),
        "per_class": per_class(label_names, (truth & predicted).sum(axis=0), predicted.sum(axis=0), truth.sum(axis=0)),
        "task": MULTI_LABEL,
        "per_label_confusion": per_label_confusion,
        "cooccurrence": (truth.T @ truth).tolist(),
        "label_names": list(label_names),
        "num_examples": int(len(truth)),
        "rows_without_label": int((truth.sum(axis=1) == 0).sum()),
        "predicted_without_label": int((predicted.sum(axis=1) == 0).sum()),
        "trivial": trivial_answer(truth, label_names),
    }


def trivial_answer(truth: np.ndarray, label_names: Sequence[str]) -> dict:
    """The best constant multi-label answer: the label set that, given to every row, scores the highest micro F1.
    For a set of k labels that is the k most frequent ones (they hold the most true positives), so every k from 0
    (no label) to all labels is tried. ``truth``: 0/1 matrix (rows, labels). Returns its ``label_set`` (names, most
    frequent first), ``exact_share`` (its subset accuracy: the share of rows whose set it is) and ``f1`` (its micro
    F1, pooled over every row and label)."""
    if not len(truth):
        return {"label_set": [], "exact_share": 0.0, "f1": 0.0}
    truth = np.asarray(truth, dtype=np.int64)
    order = np.argsort(-truth.sum(axis=0), kind="stable")
    true_positives = np.concatenate([[0], np.cumsum(truth.sum(axis=0)[order])]).astype(np.float64)
    sizes = np.arange(len(order) + 1)
    denominators = truth.sum() + sizes * len(truth)  # |true| + |predicted|
    f1 = np.divide(2 * true_positives, denominators, out=np.zeros_like(true_positives), where=denominators > 0)
    size = int(np.argmax(f1))
    best = np.zeros(truth.shape[1], dtype=np.int64)
    best[order[:size]] = 1
    return {
        "label_set": [label_names[i] for i in order[:size]],
        "exact_share": float((truth == best).all(axis=1).mean()),
        "f1": float(f1[size]),
    }


def sigmoid(logits: np.ndarray) -> np.ndarray:
    """Element-wise logistic function of ``logits`` (each label's own probability, multi-label), in float64."""
    return 1.0 / (1.0 + np.exp(-np.clip(np.asarray(logits, dtype=np.float64), -500, 500)))


def decide(probabilities: np.ndarray, thresholds: Sequence[float] | None = None) -> np.ndarray:
    """Multi-label decisions: a 0/1 matrix, 1 where a label's probability reaches its threshold (``thresholds``, one
    a label; DEFAULT_THRESHOLD for each without them)."""
    probabilities = np.asarray(probabilities, dtype=np.float64)
    limits = np.full(probabilities.shape[1], DEFAULT_THRESHOLD) if thresholds is None else np.asarray(thresholds)
    return (probabilities >= limits).astype(np.int64)


def tune_thresholds(y_true, probabilities: np.ndarray) -> list[float]:
    """Each label's decision threshold on a labelled split: the one of THRESHOLD_GRID with the best F1 for that
    label (ties: the one nearest 0.5); DEFAULT_THRESHOLD for a label with no rows in the split. Returns one float
    a label."""
    probabilities = np.asarray(probabilities, dtype=np.float64)
    truth = indicator(y_true, probabilities.shape[1])
    thresholds = []
    for label in range(probabilities.shape[1]):
        positives = truth[:, label].sum()
        if not positives:
            thresholds.append(DEFAULT_THRESHOLD)
            continue
        best = max(
            THRESHOLD_GRID,
            key=lambda t: (label_f1(truth[:, label], probabilities[:, label] >= t), -abs(t - DEFAULT_THRESHOLD)),
        )
        thresholds.append(float(best))
    return thresholds


def label_f1(truth: np.ndarray, predicted: np.ndarray) -> float:
    """F1 of one label's 0/1 ``truth`` against its boolean ``predicted`` decisions (0 when neither has a 1)."""
    true_positive = float((truth.astype(bool) & predicted).sum())
    denominator = float(truth.sum() + predicted.sum())
    return 2 * true_positive / denominator if denominator else 0.0


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


def score_logits(
    y_true: Sequence[int], logits: np.ndarray, label_names: Sequence[str], thresholds: Sequence[float] | None = None
) -> dict:
    """``score`` of a model's raw ``logits`` (shape ``(n, num_classes)``): argmax answers, softmax probabilities;
    for multi-label ``y_true`` (tuples, or a 0/1 matrix) each label's sigmoid probability, decided at its threshold
    (``thresholds``; 0.5 without)."""
    logits = np.asarray(logits)
    if is_multi_label(y_true):
        probabilities = sigmoid(logits)
        return score(y_true, decide(probabilities, thresholds), label_names, probabilities=probabilities)
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
    """Per-class table, totals and the confusion matrix, aligned by display width (Korean labels included); for
    multi-label, each label's 2x2 counts instead of the confusion matrix (multi_label_report)."""
    if metrics.get("task") == MULTI_LABEL:
        return multi_label_report(metrics)
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


def multi_label_report(metrics: dict) -> str:
    """Multi-label: the per-label table, every multi-label metric (accuracy: subset accuracy, every label of a row
    right) and each label's decisions counted (true/false positives and negatives), aligned by display width."""
    names, total = metrics["label_names"], metrics["num_examples"]
    rows = [
        [name, f"{row['precision']:.4f}", f"{row['recall']:.4f}", f"{row['f1']:.4f}", str(row["support"])]
        for name, row in ((n, metrics["per_class"][n]) for n in names)
    ]
    rows += [
        [
            metric.title + (" (subset)" if metric.name == ACCURACY else ""),
            "",
            "",
            f"{metrics[metric.name]:.4f}",
            str(total),
        ]
        for metric in METRICS.values()
        if metric.name in metrics
    ]
    per_label = table(["", "precision", "recall", "f1-score", "support"], rows)
    counts = [
        [name, str(tp), str(fp), str(fn), str(tn)]
        for name, ((tn, fp), (fn, tp)) in zip(names, metrics["per_label_confusion"], strict=True)
    ]
    decisions = table(["label", "true pos", "false pos", "false neg", "true neg"], counts)
    return (
        f"{per_label}\n\nrows: {total}, with no true label: {metrics['rows_without_label']}, predicted with no label: "
        f"{metrics['predicted_without_label']}\n\neach label's decisions\n{decisions}"
    )
