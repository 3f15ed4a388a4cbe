"""The one writer of results folders: what `train`, `evaluate` and `baseline` leave for people to look at.

A results folder holds metrics.json, report.txt (the aligned per-class table and confusion matrix),
confusion_matrix.png, learning_curves.png when there is a training log, and errors.tsv (misclassified rows)
when the rows are known.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..data.labels import LabelSchema
from ..data.report import Record
from ..metric_registry import MACRO_F1, headline
from ..model.artifact import METRICS_FILE, write_json
from .metrics import classification_report

REPORT_FILE = "report.txt"
CONFUSION_MATRIX_PLOT = "confusion_matrix.png"
LEARNING_CURVES_PLOT = "learning_curves.png"
ERRORS_FILE = "errors.tsv"
ERRORS_HEADER = ("line", "id", "true", "predicted", "score", "text")


def write_results(
    folder: str | Path,
    metrics: dict,
    schema: LabelSchema,
    title: str = "",
    history: list[dict] | None = None,
    records: Sequence[Record] | None = None,
    probabilities: np.ndarray | None = None,
    best_metric: str = MACRO_F1,
) -> Path:
    """Write a results folder: metrics.json, report.txt, the confusion matrix titled with the headline metrics, the
    learning curves when a ``history`` is given (the restored epoch by ``best_metric``) and the misclassified rows when
    ``records`` and their ``probabilities`` (rows, num_labels) are given. Returns the folder."""
    from .plots import plot_confusion_matrix, plot_learning_curves

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    write_json(folder / METRICS_FILE, metrics)
    (folder / REPORT_FILE).write_text(classification_report(metrics) + "\n", encoding="utf-8")
    plot_confusion_matrix(
        metrics["confusion_matrix"],
        list(schema.names),
        folder / CONFUSION_MATRIX_PLOT,
        title=f"{title or 'confusion matrix'}: " + headline(metrics),
    )
    if history:
        plot_learning_curves(history, folder / LEARNING_CURVES_PLOT, best_metric)
    if records is not None and probabilities is not None:
        write_errors(folder / ERRORS_FILE, records, probabilities, schema)
    return folder


def write_errors(path: Path, records: Sequence[Record], probabilities: np.ndarray, schema: LabelSchema) -> int:
    """Misclassified rows: line, id, true and predicted label names, score, text and, for sentence pairs, the second
    text (a ``text_pair`` column). Returns how many rows it wrote."""
    predicted = probabilities.argmax(axis=1)
    pairs = any(record.text_pair is not None for record in records)
    count = 0
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
        writer.writerow([*ERRORS_HEADER, *(["text_pair"] if pairs else [])])
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
