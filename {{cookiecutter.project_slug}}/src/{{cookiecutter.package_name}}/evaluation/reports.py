"""The one writer of results folders: what `train`, `evaluate` and `baseline` leave for people to look at.

A results folder holds metrics.json, report.txt (the aligned per-class table and confusion matrix),
confusion_matrix.png, learning_curves.png when there is a training log, and errors.tsv (misclassified rows)
when the rows are known. A multi-label folder has label_f1.png and label_cooccurrence.png instead of the confusion
matrix, and errors.tsv lists the rows whose predicted label set is not the true one (labels joined by ``|``).
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..answers import DEFAULT_THRESHOLD, LABEL_JOINER
from ..data.labels import LabelSchema
from ..data.report import Record
from ..metric_registry import MACRO_F1, MULTI_LABEL, headline
from ..model.artifact import METRICS_FILE, write_json
from ..tasks.multi_label import decision_matrix
from .metrics import classification_report

REPORT_FILE = "report.txt"
CONFUSION_MATRIX_PLOT = "confusion_matrix.png"
LEARNING_CURVES_PLOT = "learning_curves.png"
ERRORS_FILE = "errors.tsv"
LABEL_F1_PLOT = "label_f1.png"
COOCCURRENCE_PLOT = "label_cooccurrence.png"
PAIR_COLUMN = "text_pair"  # errors.tsv's last column, for sentence pairs
ERRORS_COLUMNS = {  # errors.tsv's columns and what each holds: report.txt lists them too (the README says the same)
    "line": "the row's line in the evaluated file (its file:line, as prepare reports problems)",
    "id": "the row's id column (empty without one)",
    "true": "the true label (multi-label: every true label, joined by |)",
    "predicted": "the model's answer (multi-label: the labels over their thresholds, joined by |)",
    "score": "how sure the model was of its wrong answer, 0-1: the probability it gave the predicted label "
    "(multi-label: of its surest wrong decision, a wrongly predicted label's probability or one minus a missed "
    "label's); sort by it, highest first, to see confident mistakes, often wrong labels in the file",
    "text": "the text as the model read it (normalised)",
    PAIR_COLUMN: "sentence pairs only: the second text",
}
ERRORS_HEADER = tuple(name for name in ERRORS_COLUMNS if name != PAIR_COLUMN)  # PAIR_COLUMN follows for pairs


def write_results(
    folder: str | Path,
    metrics: dict,
    schema: LabelSchema,
    title: str = "",
    history: list[dict] | None = None,
    records: Sequence[Record] | None = None,
    probabilities: np.ndarray | None = None,
    best_metric: str = MACRO_F1,
    thresholds: Sequence[float] | None = None,
    validation: dict | None = None,
) -> Path:
    """Write a results folder: metrics.json, report.txt, the confusion matrix titled with the headline metrics (for
    multi-label: each label's F1 and the labels' co-occurrence), the learning curves when a ``history`` is given (the
    restored epoch by ``best_metric``; multi-label, the ``validation`` scores at the tuned ``thresholds`` beside the
    per-epoch ones at 0.5) and the misclassified rows when ``records`` and their ``probabilities`` (rows,
    num_labels) are given. Multi-label decisions are at ``thresholds`` (0.5 without), which report.txt names.
    Returns the folder."""
    from .plots import plot_confusion_matrix, plot_cooccurrence, plot_label_f1, plot_learning_curves

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    write_json(folder / METRICS_FILE, metrics)
    report = classification_report(metrics)
    if metrics.get("task") == MULTI_LABEL:
        report += "\n" + thresholds_line(schema, thresholds)
    (folder / REPORT_FILE).write_text(report + "\n", encoding="utf-8")
    heading = f"{title or 'results'}: " + headline(metrics)
    if metrics.get("task") == MULTI_LABEL:
        plot_label_f1(metrics["per_class"], folder / LABEL_F1_PLOT, title=heading)
        plot_cooccurrence(metrics["cooccurrence"], list(schema.names), folder / COOCCURRENCE_PLOT)
    else:
        plot_confusion_matrix(
            metrics["confusion_matrix"],
            list(schema.names),
            folder / CONFUSION_MATRIX_PLOT,
            title=f"{title or 'confusion matrix'}: " + headline(metrics),
        )
    if history:
        plot_learning_curves(
            history, folder / LEARNING_CURVES_PLOT, best_metric, thresholds=thresholds, validation=validation
        )
    if records is not None and probabilities is not None:
        with open(folder / REPORT_FILE, "a", encoding="utf-8") as handle:
            handle.write("\n" + errors_columns_note() + "\n")
        if schema.multi_label:
            write_multi_label_errors(folder / ERRORS_FILE, records, probabilities, schema, thresholds)
        else:
            write_errors(folder / ERRORS_FILE, records, probabilities, schema)
    return folder


def errors_columns_note() -> str:
    """What each column of errors.tsv holds (ERRORS_COLUMNS), for report.txt beside it: errors.tsv itself stays a
    plain table. Returns the lines joined."""
    lines = [f"{ERRORS_FILE}: the misclassified rows, one a line, tab-separated, with a header row:"]
    lines += [f"  {name:<10} {meaning}" for name, meaning in ERRORS_COLUMNS.items()]
    return "\n".join(lines)


def thresholds_line(schema: LabelSchema, thresholds: Sequence[float] | None) -> str:
    """Multi-label: the decision thresholds the figures above it were decided at, by label name (``thresholds``,
    tuned on the validation split), or 0.5 for every label without them. Returns one line."""
    if thresholds is None:
        return f"decision thresholds: {DEFAULT_THRESHOLD} for every label"
    named = ", ".join(f"{name}={value:.2f}" for name, value in zip(schema.names, thresholds, strict=True))
    return f"decision thresholds (tuned on the validation split): {named}"


def write_multi_label_errors(
    path: Path,
    records: Sequence[Record],
    probabilities: np.ndarray,
    schema: LabelSchema,
    thresholds: Sequence[float] | None = None,
) -> int:
    """Multi-label rows whose predicted label set (``probabilities`` decided at ``thresholds``) is not the true one:
    line, id, true and predicted names joined by LABEL_JOINER, score (how sure the model was of its surest wrong
    decision: the probability of a wrongly predicted label, one minus that of a missed one), text and, for sentence
    pairs, the second text (a ``text_pair`` column). Returns the count written."""
    predicted = decision_matrix(probabilities, thresholds)
    pairs = any(record.text_pair is not None for record in records)
    count = 0
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
        writer.writerow([*ERRORS_HEADER, *([PAIR_COLUMN] if pairs else [])])
        for record, row, probs in zip(records, predicted, probabilities, strict=True):
            truth = np.zeros(len(schema.names), dtype=np.int64)
            truth[list(record.label or ())] = 1
            wrong = np.flatnonzero(truth != row)
            if not len(wrong):
                continue
            sureness = max(probs[i] if row[i] else 1 - probs[i] for i in wrong)
            true_names = LABEL_JOINER.join(schema.names[i] for i in record.label or ())
            predicted_names = LABEL_JOINER.join(schema.names[i] for i in np.flatnonzero(row))
            second = [record.text_pair] if pairs else []
            writer.writerow(
                [record.line, record.row_id, true_names, predicted_names, f"{sureness:.4f}", record.text, *second]
            )
            count += 1
    return count


def write_errors(path: Path, records: Sequence[Record], probabilities: np.ndarray, schema: LabelSchema) -> int:
    """Misclassified rows: line, id, true and predicted label names, score, text and, for sentence pairs, the second
    text (a ``text_pair`` column). Returns how many rows it wrote."""
    predicted = probabilities.argmax(axis=1)
    pairs = any(record.text_pair is not None for record in records)
    count = 0
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
        writer.writerow([*ERRORS_HEADER, *([PAIR_COLUMN] if pairs else [])])
        for record, guess, probs in zip(records, predicted, probabilities, strict=True):
            if guess != record.label:
                second = [record.text_pair] if pairs else []
                writer.writerow(
                    [
                        record.line,
                        record.row_id,
                        schema.names[record.label],
                        schema.names[guess],
                        f"{probs[guess]:.4f}",
                        record.text,
                        *second,
                    ]
                )
                count += 1
    return count
