"""Multi-label classification: any number of labels a row, none included (binary cross-entropy on a sigmoid a
label, each decided at its own threshold tuned on the validation split), scored as scikit-learn's multilabel
indicator matrices: per-label precision/recall/F1/support, a 2x2 confusion matrix a label and the true labels'
co-occurrence, compared with the best constant label set."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

import numpy as np

from ..answers import DEFAULT_THRESHOLD, HEADS, LABEL_JOINER, MULTI_LABEL
from ..display import table
from ..metric_registry import ACCURACY, METRICS, MICRO_F1, compute
from .base import STANDARD_ERRORS, TOLERANCE, Task, per_class, register_task, weak_line

# a label with a handful of positives would otherwise weigh each of them hundreds of times (a rare label of 1 in 500
# rows: 499); the cap keeps one row from steering the loss
MAX_POS_WEIGHT = 100.0
THRESHOLD_GRID = tuple(round(0.05 * i, 2) for i in range(1, 20))  # 0.05 .. 0.95: what tune_thresholds tries


def indicator(answers, num_labels: int) -> np.ndarray:
    """Multi-label answers as a 0/1 int matrix ``(n, num_labels)``: from tuples of class ids, or a matrix
    (a multi-hot float matrix, as the Trainer hands labels back) as it is."""
    if isinstance(answers, np.ndarray) and answers.ndim == 2:
        return (answers >= DEFAULT_THRESHOLD).astype(np.int64)
    matrix = np.zeros((len(answers), num_labels), dtype=np.int64)
    for row, ids in enumerate(answers):
        matrix[row, list(ids)] = 1
    return matrix


def label_sets(matrix: np.ndarray) -> list[tuple[int, ...]]:
    """A 0/1 matrix's rows as tuples of the class ids set in each (sorted; ``()`` for none)."""
    return [tuple(int(i) for i in np.flatnonzero(row)) for row in np.asarray(matrix)]


def decision_matrix(probabilities: np.ndarray, thresholds: Sequence[float] | None = None) -> np.ndarray:
    """A 0/1 matrix, 1 where a label's probability reaches its threshold (``thresholds``, one a label;
    DEFAULT_THRESHOLD for each without them)."""
    probabilities = np.asarray(probabilities, dtype=np.float64)
    limits = np.full(probabilities.shape[1], DEFAULT_THRESHOLD) if thresholds is None else np.asarray(thresholds)
    return (probabilities >= limits).astype(np.int64)


def label_f1(truth: np.ndarray, predicted: np.ndarray) -> float:
    """F1 of one label's 0/1 ``truth`` against its boolean ``predicted`` decisions (0 when neither has a 1)."""
    true_positive = float((truth.astype(bool) & predicted).sum())
    denominator = float(truth.sum() + predicted.sum())
    return 2 * true_positive / denominator if denominator else 0.0


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


def binary_cross_entropy(logits: np.ndarray, outcomes: np.ndarray):
    """temperature -> the mean binary cross-entropy (nats) of one label's ``logits`` (rows,) divided by it, at its
    0/1 ``outcomes`` (rows,): softplus(x) - y x, stable by logaddexp."""

    def loss(temperature: float) -> float:
        scaled = logits / temperature
        return float((np.logaddexp(0.0, scaled) - outcomes * scaled).mean())

    return loss


def negatives_per_positive(labels: list, num_outputs: int) -> np.ndarray:
    """Each label's training rows without it over its rows with it, float64 (num_outputs,), NaN for a label that is
    never or always set; ``labels``: tuples of class ids (None for an unlabelled row, not counted)."""
    rows = [ids for ids in labels if ids is not None]
    positives = indicator(rows, num_outputs).sum(axis=0).astype(np.float64)
    negatives = len(rows) - positives
    ratios = np.full(num_outputs, np.nan)
    both = (positives > 0) & (negatives > 0)
    ratios[both] = negatives[both] / positives[both]
    return ratios


class MultiLabelTask(Task):
    """Any number of labels a row: labels are sorted tuples of class ids, targets multi-hot rows (BCE), answers the
    labels whose sigmoid reaches their threshold."""

    head = HEADS[MULTI_LABEL]
    default_metric = compared_metric = MICRO_F1
    # rare labels learn slowly: on UnSmile the validation figure still rose at epoch 6, and 6 epochs scored test
    # micro-F1 0.605 against 3 epochs' 0.562 (three seeds, benchmarks/RESULTS-real-sets-defaults.md)
    auto_epochs = 6.0
    errors_title = "the rows whose predicted label set is not the true one"
    errors_columns = {
        "true": "every true label, joined by |",
        "predicted": "the labels over their thresholds, joined by |",
        "score": "how sure the model was of its surest wrong decision, 0-1: a wrongly predicted label's probability "
        "or one minus a missed label's; sort by it, highest first, to see confident mistakes, often wrong labels "
        "in the file",
    }
    int8_agreement = "of the label decisions agree"

    def separator_problem(self, schema, data) -> str | None:
        """Names joined in one CSV/TSV cell (``data.label_column`` set, not JSON Lines, whose cells hold lists):
        ``data.label_separator`` must be inside no label as the file writes it (a name, or a class id)."""
        if not data.label_column or data.data_format == "jsonl":
            return None
        written = schema.names if schema.encoding == "name" else [str(i) for i in range(len(schema.names))]
        inside = [name for name in written if data.label_separator in name]
        if not inside:
            return None
        return f"data.label_separator {data.label_separator!r} appears inside label(s) {', '.join(inside)}"

    def unknown_label_problem(self, schema, label_column: str, unknown: int, rows: int) -> tuple[str, bool]:
        """A 0/1 column per label name (no ``label_column``): the problem is a cell that is not 0 or 1, never the
        schema; else as a class's."""
        if label_column:
            return super().unknown_label_problem(schema, label_column, unknown, rows)
        return f"{unknown} row(s) hold a cell that is not 0 or 1 in a label's column", True

    def loss(self, logits, labels, weights=None):
        """Binary cross-entropy of each label's logit (batch, labels) at its 0/1 target (multi-hot float ``labels``,
        same shape), a label's positive targets weighted by its entry of ``weights`` (PyTorch's ``pos_weight``,
        float32, (labels,); None: unweighted)."""
        import torch

        return torch.nn.functional.binary_cross_entropy_with_logits(logits, labels.float(), pos_weight=weights)

    def class_weights(self, labels: list, num_outputs: int) -> np.ndarray | None:
        """PyTorch's ``pos_weight`` from the training ``labels`` (tuples of class ids; None for an unlabelled row):
        each label's negatives / positives, at most MAX_POS_WEIGHT; 1.0 for a label that is never (or always)
        set. Returns float32 of shape (num_outputs,)."""
        ratios = negatives_per_positive(labels, num_outputs)
        weights = np.ones(num_outputs)
        varies = ~np.isnan(ratios)
        weights[varies] = np.minimum(ratios[varies], MAX_POS_WEIGHT)
        return weights.astype(np.float32)

    def imbalance(self, labels: list, num_outputs: int) -> float | None:
        """The rarest label's rows without it over its rows with it (its negatives / positives, the ``pos_weight``
        balanced gives it), among labels set on some training rows and not all; None when no label is. On UnSmile's
        10 labels (rarest 1:36) an unweighted BCE learned little more than each label's rate in 3 epochs, and
        pos_weight lifted test micro-F1 from 0.36-0.38 to 0.52-0.59 (RESULTS-real-sets-defaults.md)."""
        ratios = negatives_per_positive(labels, num_outputs)
        return None if np.isnan(ratios).all() else float(np.nanmax(ratios))

    def imbalance_phrase(self, ratio: float) -> str:
        """What ``imbalance``'s ``ratio`` measures, as train's class-weights line says it."""
        return f"the rarest label is missing from {ratio:.1f}x the rows it is set on"

    def label_columns(self, schema, label_column: str) -> list[str]:
        """``label_column``, or without one a 0/1 column per label name (UnSmile style)."""
        return [label_column] if label_column else list(schema.names)

    def read_label(self, row: dict, schema, label_column: str, separator: str) -> tuple[int, ...]:
        """The sorted tuple of class ids of a row: a 0/1 column per label name (no ``label_column``), a JSON list,
        or names or ids joined by ``separator``. Raises LabelError naming the value that is not a label."""
        if not label_column:
            return tuple(i for i, name in enumerate(schema.names) if schema.to_flag(row[name], name))
        return schema.to_ids(row[label_column], separator)

    def target(self, schema, label: tuple[int, ...]) -> list[float]:
        """The multi-hot row: 1.0 at each class id, 0.0 elsewhere, ``num_labels`` long."""
        return schema.multi_hot(label)

    def strata(self, labels: list) -> list[tuple[int, ...]]:
        """Every label of each row (none: ``()``)."""
        return [tuple(label or ()) for label in labels]

    def decide(self, scores: np.ndarray, thresholds: Sequence[float] | None = None) -> list[tuple[int, ...]]:
        """The sorted tuple of the class ids whose probability reaches their threshold, a row (possibly empty)."""
        return label_sets(decision_matrix(scores, thresholds))

    def default_thresholds(self, schema) -> list[float]:
        """DEFAULT_THRESHOLD for every label."""
        return [DEFAULT_THRESHOLD] * schema.num_labels

    def tune_thresholds(self, labels, scores: np.ndarray) -> list[float]:
        """Each label's decision threshold on a labelled split: the one of THRESHOLD_GRID with the best F1 for that
        label (ties: the one nearest DEFAULT_THRESHOLD); DEFAULT_THRESHOLD for a label with no rows in the split."""
        probabilities = np.asarray(scores, dtype=np.float64)
        truth = indicator(labels, probabilities.shape[1])
        thresholds = []
        for label in range(probabilities.shape[1]):
            if not truth[:, label].sum():
                thresholds.append(DEFAULT_THRESHOLD)
                continue
            best = max(
                THRESHOLD_GRID,
                key=lambda t: (label_f1(truth[:, label], probabilities[:, label] >= t), -abs(t - DEFAULT_THRESHOLD)),
            )
            thresholds.append(float(best))
        return thresholds

    def temperature_losses(self, labels: list, logits: np.ndarray) -> list:
        """One temperature a label: its binary cross-entropy (binary_cross_entropy), or None for a label the split
        never (or always) carries, which cannot be fitted (it would only sharpen the scores)."""
        logits = np.asarray(logits, dtype=np.float64)
        truth = indicator(labels, logits.shape[1]).astype(np.float64)
        return [
            binary_cross_entropy(logits[:, j], truth[:, j]) if 0 < truth[:, j].sum() < len(truth) else None
            for j in range(logits.shape[1])
        ]

    def calibration_pairs(self, labels: list, scores: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        """One pair a label: its probability and whether the row carries it (class-wise calibration, Kull et al.
        2019, "Beyond temperature scaling", sec. 3), so the ECE is the mean of the labels' binary ECEs."""
        scores = np.asarray(scores, dtype=np.float64)
        truth = indicator(labels, scores.shape[1]).astype(np.float64)
        return [(scores[:, j], truth[:, j]) for j in range(scores.shape[1])]

    def baseline_targets(self, y: np.ndarray, classes: int) -> list[np.ndarray]:
        """One boolean target a label, from a multi-hot ``y`` (rows, classes)."""
        return [y[:, label] > 0 for label in range(classes)]

    def draw(self, drawer) -> None:
        """Each label's F1 and the labels' co-occurrence."""
        drawer.label_f1()
        drawer.cooccurrence()

    def errors(self, labels: list, scores: np.ndarray, names: Sequence[str], thresholds=None) -> list[tuple]:
        """Rows whose predicted label set (``scores`` decided at ``thresholds``) is not the true one: the names joined
        by LABEL_JOINER, and how sure the model was of its surest wrong decision (a wrongly predicted label's
        probability, one minus a missed one's)."""
        predicted, truth = decision_matrix(scores, thresholds), indicator(labels, len(names))
        found = []
        for i, (row, true_row, probs) in enumerate(zip(predicted, truth, np.asarray(scores), strict=True)):
            wrong = np.flatnonzero(true_row != row)
            if len(wrong):
                sureness = max(probs[j] if row[j] else 1 - probs[j] for j in wrong)
                shown = [LABEL_JOINER.join(names[j] for j in np.flatnonzero(r)) for r in (true_row, row)]
                found.append((i, *shown, float(sureness)))
        return found

    def score(self, labels, answers, names: Sequence[str], scores: np.ndarray | None = None) -> dict:
        """Every registered multi-label metric, per-label precision/recall/F1/support, each label's 2x2 confusion
        matrix (``[[tn, fp], [fn, tp]]``), the true labels' co-occurrence counts (``(labels, labels)``, the
        diagonal: each label's rows) and the trivial answer, of tuples of class ids (or 0/1 matrices)."""
        n = len(names)
        truth, predicted = indicator(labels, n), indicator(answers, n)
        hard = scores is None
        per_label_confusion = [
            [[int(((1 - t) & (1 - p)).sum()), int(((1 - t) & p).sum())], [int((t & (1 - p)).sum()), int((t & p).sum())]]
            for t, p in zip(truth.T, predicted.T, strict=True)
        ]
        probabilities = predicted.astype(float) if hard else np.asarray(scores)
        return {
            **compute(truth, predicted, probabilities, task=self.scored_as, hard=hard),
            "per_class": per_class(names, (truth & predicted).sum(axis=0), predicted.sum(axis=0), truth.sum(axis=0)),
            "task": self.name,
            "per_label_confusion": per_label_confusion,
            "cooccurrence": (truth.T @ truth).tolist(),
            "label_names": list(names),
            "num_examples": int(len(truth)),
            "rows_without_label": int((truth.sum(axis=1) == 0).sum()),
            "predicted_without_label": int((predicted.sum(axis=1) == 0).sum()),
            "trivial": trivial_answer(truth, names),
        }

    def mean_loss(self, labels, scores: np.ndarray) -> float:
        """Mean binary cross-entropy (nats) of every (row, label), as the model's BCE loss (clipped at 1e-12)."""
        truth = indicator(labels, np.asarray(scores).shape[1]).astype(bool)
        picked = np.where(truth, scores, 1 - np.asarray(scores))
        return float(-np.log(np.clip(picked, 1e-12, 1.0)).mean())

    def report(self, metrics: dict) -> str:
        """The per-label table, every multi-label metric (accuracy: subset accuracy, every label of a row right) and
        each label's decisions counted (true/false positives and negatives), aligned by display width."""
        names, total = metrics["label_names"], metrics["num_examples"]
        rows = [
            [name, f"{row['precision']:.4f}", f"{row['recall']:.4f}", f"{row['f1']:.4f}", str(row["support"])]
            for name, row in ((n, metrics["per_class"][n]) for n in names)
        ]
        rows += [
            [m.title + (" (subset)" if m.name == ACCURACY else ""), "", "", f"{metrics[m.name]:.4f}", str(total)]
            for m in METRICS.values()
            if m.name in metrics
        ]
        per_label = table(["", "precision", "recall", "f1-score", "support"], rows)
        counts = [
            [name, str(tp), str(fp), str(fn), str(tn)]
            for name, ((tn, fp), (fn, tp)) in zip(names, metrics["per_label_confusion"], strict=True)
        ]
        decisions = table(["label", "true pos", "false pos", "false neg", "true neg"], counts)
        return (
            f"{per_label}\n\nrows: {total}, with no true label: {metrics['rows_without_label']}, predicted with no "
            f"label: {metrics['predicted_without_label']}\n\neach label's decisions\n{decisions}"
        )

    def verdict(self, metrics: dict, baseline: float | None) -> list[str]:
        """Micro F1 next to the trivial answer's and the baseline's; warns when the model predicts no label for
        every row, or one same label set for every row, is not clearly above the trivial answer (the best constant
        label set) by STANDARD_ERRORS binomial standard errors of F1 over the true labels, never predicts a label
        that occurs, or is clearly below the baseline."""
        name = self.compared_metric
        value, trivial, title = metrics[name], metrics["trivial"], METRICS[name].title
        rows, true_labels = metrics["num_examples"], max(1, sum(r["support"] for r in metrics["per_class"].values()))
        shown = ", ".join(trivial["label_set"]) or "no label"
        lines = [
            f"{rows:,} rows: always answering the best constant label set ({shown}) would score "
            f"{title} {trivial['f1']:.4f}; this model {value:.4f}"
        ]
        if baseline is not None:
            lines.append(
                f"{title} {value:.4f}; the baseline scored {baseline:.4f} on the same file ({value - baseline:+.4f})"
            )
        weak = []
        spread = max(trivial["f1"] * (1 - trivial["f1"]), 0.25 / true_labels)
        margin = STANDARD_ERRORS * math.sqrt(spread / true_labels)
        if metrics["predicted_without_label"] == rows:
            weak.append("it has collapsed: it predicts no label for any text")
        elif value <= trivial["f1"] + margin:
            weak.append(
                f"it is {'below' if value < trivial['f1'] else 'not clearly above'} always answering the best "
                f"constant label set ({shown}: {title} "
                f"{trivial['f1']:.4f}; this model {value:.4f})"
            )
        predicted = {  # each label's predicted rows: false positives + true positives of its [[tn, fp], [fn, tp]]
            name: counts[0][1] + counts[1][1]
            for name, counts in zip(metrics["label_names"], metrics["per_label_confusion"], strict=True)
        }
        constant = [n for n in metrics["label_names"] if predicted[n] == rows]
        if constant and all(predicted[n] in (0, rows) for n in metrics["label_names"]):
            weak.append(f"it has collapsed: it predicts the same label set ({', '.join(constant)}) for every text")
        never = [n for n in metrics["label_names"] if metrics["per_class"][n]["support"] and not predicted[n]]
        if never and metrics["predicted_without_label"] < rows:
            weak.append(f"it never predicts {', '.join(repr(n) for n in never)} (recall 0)")
        if baseline is not None and value < baseline - margin - TOLERANCE:
            weak.append("it is below the baseline")
        return lines + weak_line(weak)

    def class_counts(self, labels: list, names: Sequence[str]) -> dict[str, int]:
        """Label name -> rows carrying it (a row counts once for each of its labels), every name listed."""
        counts = Counter(i for label in labels if label is not None for i in label)
        return {name: counts.get(i, 0) for i, name in enumerate(names)}

    def label_lines(self, labels: list, names: Sequence[str]) -> list[str]:
        """Each label's rows and share of rows, and the label sets' cardinality (mean labels a row), rows with no
        label and rows with several."""
        counts, rows = self.class_counts(labels, names), len(labels)
        return [
            "labels: " + ", ".join(f"{name}={n:,} ({100 * n / rows:.1f}% of rows)" for name, n in counts.items()),
            f"label cardinality (mean labels a row): {sum(len(s) for s in labels) / rows:.2f}; rows with no label: "
            f"{sum(not s for s in labels):,}; with several: {sum(len(s) > 1 for s in labels):,}",
        ]

    def label_of_answer(self, answered, schema):
        """The sorted tuple of class ids of served label names (a list, or a table's cell joined by LABEL_JOINER),
        or None when one is not a label the schema knows."""
        if isinstance(answered, str):
            answered = tuple(answered.split(LABEL_JOINER)) if answered else ()
        if answered is None or any(name not in schema.label2id for name in answered):
            return None
        return tuple(sorted(schema.label2id[name] for name in answered))

    def decisions(self, scores: np.ndarray, thresholds: Sequence[float] | None) -> list:
        """Every (row, label) decision at ``thresholds``, flattened row by row."""
        return decision_matrix(scores, thresholds).ravel().tolist()

    def decision_truth(self, labels, num_outputs: int) -> list:
        """Every (row, label) truth, flattened row by row."""
        return indicator(labels, num_outputs).ravel().tolist()


register_task(MultiLabelTask())
