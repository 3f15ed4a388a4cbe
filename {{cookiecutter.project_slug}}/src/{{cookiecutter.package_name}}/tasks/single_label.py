"""Single-label classification: exactly one class a row (cross-entropy over a softmax, the most probable class
answered), scored with a confusion matrix and compared with always answering the most frequent class."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..answers import HEADS, SINGLE_LABEL
from ..display import table
from ..metric_registry import ACCURACY, MACRO_F1, MACRO_PRECISION, MACRO_RECALL, METRICS, compute
from .base import TOLERANCE, Task, binomial_margin, per_class, register_task, weak_line


def confusion_matrix(y_true: Sequence[int], y_pred: Sequence[int], num_labels: int) -> np.ndarray:
    """Rows are true classes, columns predicted classes."""
    matrix = np.zeros((num_labels, num_labels), dtype=np.int64)
    np.add.at(matrix, (np.asarray(y_true, dtype=np.int64), np.asarray(y_pred, dtype=np.int64)), 1)
    return matrix


def one_hot(class_ids: Sequence[int], num_classes: int) -> np.ndarray:
    """Hard answers as probabilities: shape ``(n, num_classes)``, 1.0 at each row's class id."""
    matrix = np.zeros((len(class_ids), num_classes))
    matrix[np.arange(len(class_ids)), np.asarray(class_ids, dtype=np.int64)] = 1.0
    return matrix


def majority(metrics: dict) -> tuple[str, int]:
    """(name, count) of the most frequent true class in ``metrics`` (the output of ``score``)."""
    name = max(metrics["label_names"], key=lambda n: metrics["per_class"][n]["support"])
    return name, metrics["per_class"][name]["support"]


def predicted_classes(metrics: dict) -> list[str]:
    """The classes the model predicted at least once (columns of the confusion matrix with any count)."""
    columns = zip(*metrics["confusion_matrix"], strict=True)
    return [name for name, column in zip(metrics["label_names"], columns, strict=True) if sum(column)]


def clearly_above_majority(correct: int, majority_count: int, total: int) -> bool:
    """Whether ``correct`` answers out of ``total`` beat always answering the majority class by more than
    ``STANDARD_ERRORS`` binomial standard errors of that class's count (sqrt(n p (1 - p)), p = its share)."""
    return correct > majority_count + binomial_margin(total, majority_count / total)


def clearly_below(correct: int, baseline: float, total: int) -> bool:
    """Whether ``correct`` answers out of ``total`` fall short of a ``baseline`` accuracy on the same rows by more
    than ``STANDARD_ERRORS`` binomial standard errors (sqrt(n p (1 - p)), p = the baseline's accuracy)."""
    return correct < baseline * total - binomial_margin(total, baseline) - TOLERANCE


class SingleLabelTask(Task):
    """Exactly one class a row: labels are class ids, the loss cross-entropy, the answer the argmax."""

    head = HEADS[SINGLE_LABEL]
    default_metric, compared_metric = MACRO_F1, ACCURACY

    def config_kwargs(self, schema) -> dict:
        """Task.config_kwargs without ``problem_type``: a single-label config stays as it always was (transformers
        infers cross-entropy from long targets)."""
        settings = super().config_kwargs(schema)
        del settings["problem_type"]
        return settings

    def read_label(self, row: dict, schema, label_column: str, separator: str) -> int:
        """The class id in ``row``'s label column (LabelSchema.to_id's rules). Raises LabelError."""
        return schema.to_id(row[label_column])

    def decide(self, scores: np.ndarray, thresholds: Sequence[float] | None = None) -> list[int]:
        """The most probable class id of each row of ``scores`` (rows, classes)."""
        return np.asarray(scores).argmax(axis=1).tolist()

    def temperature_losses(self, labels: list, logits: np.ndarray) -> list:
        """One temperature for every class: the mean negative log-likelihood (nats a row) of the softmax of
        ``logits / T`` at the true class ids (Guo et al. 2017, "On Calibration of Modern Neural Networks", sec. 4.2),
        by log-sum-exp."""
        logits, picked = np.asarray(logits, dtype=np.float64), np.asarray(labels, dtype=np.int64)

        def nll(temperature: float) -> float:
            scaled = logits / temperature
            top = scaled.max(axis=1)
            normaliser = top + np.log(np.exp(scaled - top[:, None]).sum(axis=1))
            return float((normaliser - scaled[np.arange(len(picked)), picked]).mean())

        return [nll]

    def calibration_pairs(self, labels: list, scores: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        """Top-label calibration (Guo et al. 2017): one pair, each row's highest probability and whether that class
        is the true one."""
        scores = np.asarray(scores, dtype=np.float64)
        return [(scores.max(axis=1), (scores.argmax(axis=1) == np.asarray(labels)).astype(np.float64))]

    def baseline_targets(self, y: np.ndarray, classes: int) -> list[np.ndarray]:
        """One boolean target a class (one-vs-rest), or for two classes one: class 1."""
        return [y == label for label in range(classes)] if classes > 2 else [y == 1]

    def draw(self, drawer) -> None:
        """The confusion matrix, titled with the headline metrics."""
        drawer.confusion_matrix()

    def errors(self, labels: list, scores: np.ndarray, names: Sequence[str], thresholds=None) -> list[tuple]:
        """Misclassified rows: the true and predicted class names and the probability given to the predicted one."""
        predicted = np.asarray(scores).argmax(axis=1)
        return [
            (i, names[label], names[guess], float(scores[i][guess]))
            for i, (label, guess) in enumerate(zip(labels, predicted, strict=True))
            if guess != label
        ]

    def score(self, labels: list, answers: list, names: Sequence[str], scores: np.ndarray | None = None) -> dict:
        """Every registered single-label metric, per-class precision/recall/F1/support and the confusion matrix of
        class ids ``labels`` and ``answers`` (shape ``(n,)``). ``scores`` (``(n, len(names))``) feeds metrics that
        use probabilities; without it (hard answers) those metrics are left out."""
        matrix = confusion_matrix(labels, answers, len(names))
        hard = scores is None
        probabilities = one_hot(answers, len(names)) if hard else np.asarray(scores)
        return {
            **compute(labels, answers, probabilities, task=self.scored_as, hard=hard),
            "per_class": per_class(names, np.diag(matrix), matrix.sum(axis=0), matrix.sum(axis=1)),
            "confusion_matrix": matrix.tolist(),
            "label_names": list(names),
            "num_examples": int(matrix.sum()),
        }

    def mean_loss(self, labels: list, scores: np.ndarray) -> float:
        """Mean cross-entropy (nats) of ``scores`` at the true class ids (probabilities clipped at 1e-12)."""
        picked = np.asarray(scores)[np.arange(len(labels)), labels]
        return float(-np.log(np.clip(picked, 1e-12, 1.0)).mean())

    def report(self, metrics: dict) -> str:
        """Per-class table, totals and the confusion matrix, aligned by display width (Korean labels included)."""
        names, total = metrics["label_names"], metrics["num_examples"]
        rows = [
            [name, f"{row['precision']:.4f}", f"{row['recall']:.4f}", f"{row['f1']:.4f}", str(row["support"])]
            for name, row in ((n, metrics["per_class"][n]) for n in names)
        ]
        rows.append([ACCURACY, "", "", f"{metrics[ACCURACY]:.4f}", str(total)])
        averages = (MACRO_PRECISION, MACRO_RECALL, MACRO_F1)
        rows.append(["macro avg", *(f"{metrics[name]:.4f}" for name in averages), str(total)])
        others = [METRICS[name] for name in METRICS if name not in (ACCURACY, *averages)]
        rows += [[m.title, "", "", f"{metrics[m.name]:.4f}", str(total)] for m in others if m.name in metrics]
        per_class_table = table(["", "precision", "recall", "f1-score", "support"], rows)
        matrix_rows = [[name, *map(str, row)] for name, row in zip(names, metrics["confusion_matrix"], strict=True)]
        matrix = table(["true \\ predicted", *names], matrix_rows)
        return f"{per_class_table}\n\nconfusion matrix (rows: true, columns: predicted)\n{matrix}"

    def verdict(self, metrics: dict, baseline: float | None) -> list[str]:
        """Accuracy next to always answering the most frequent class and the baseline's; warns when the model
        answers one class for everything (collapsed), is not clearly above the majority share, never finds a
        class, or is clearly below the baseline (counts of correct answers, STANDARD_ERRORS binomial errors)."""
        total, accuracy = metrics["num_examples"], metrics[ACCURACY]
        correct = sum(row[i] for i, row in enumerate(metrics["confusion_matrix"]))
        top, top_count = majority(metrics)
        lines = [
            f"{total:,} rows: always answering the most frequent class {top!r} would score accuracy "
            f"{top_count / total:.4f}; this model {accuracy:.4f}"
        ]
        if baseline is not None:
            lines.append(
                f"accuracy {accuracy:.4f}; the baseline scored {baseline:.4f} on the same file "
                f"({accuracy - baseline:+.4f})"
            )
        predicted, weak = predicted_classes(metrics), []
        if len(predicted) == 1 and len(metrics["label_names"]) > 1:
            weak.append(f"it has collapsed: it answers {predicted[0]!r} for every text")
        elif not clearly_above_majority(correct, top_count, total):
            weak.append(
                f"it is {'below' if correct < top_count else 'not clearly above'} always answering the most "
                f"frequent class {top!r} "
                f"(accuracy {accuracy:.4f}, that class's share {top_count / total:.4f})"
            )
        never = [n for n in metrics["label_names"] if metrics["per_class"][n]["support"] and n not in predicted]
        if never and len(predicted) > 1:
            weak.append(f"it never predicts {', '.join(repr(n) for n in never)} (recall 0)")
        if baseline is not None and clearly_below(correct, baseline, total):
            weak.append("it is below the baseline")
        return lines + weak_line(weak)


register_task(SingleLabelTask())
