"""The one writer of results folders: what `train`, `evaluate` and `baseline` leave for people to look at.

A results folder holds metrics.json, report.txt (the task's report: for classes the aligned per-class table and
confusion matrix), the task's pictures (Task.draw: confusion_matrix.png; multi-label label_f1.png and
label_cooccurrence.png; regression predicted_vs_true.png), learning_curves.png when there is a training log, and
errors.tsv when the rows are known: the task's wrong answers (Task.errors; misclassified rows, label sets not the
true one, or scores missed by more than a standard deviation), its columns explained in report.txt. Where the task's
scores are probabilities and the rows' scores are known: reliability.png (the reliability diagram of the calibrated
scores), and single-label coverage.png (what abstaining below a confidence does).
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..answers import DEFAULT_THRESHOLD
from ..data.labels import LabelSchema
from ..data.report import Record
from ..metric_registry import MACRO_F1, headline
from ..model.artifact import METRICS_FILE, write_json
from ..tasks import task_named
from .metrics import classification_report

REPORT_FILE = "report.txt"
CONFUSION_MATRIX_PLOT = "confusion_matrix.png"
LEARNING_CURVES_PLOT = "learning_curves.png"
ERRORS_FILE = "errors.tsv"
LABEL_F1_PLOT = "label_f1.png"
RELIABILITY_PLOT = "reliability.png"
COVERAGE_PLOT = "coverage.png"
COOCCURRENCE_PLOT = "label_cooccurrence.png"
PAIR_COLUMN = "text_pair"  # errors.tsv's last column, for sentence pairs
ROW_COLUMNS = {  # errors.tsv's columns about the row; the task's (Task.errors_columns) go between id and text
    "line": "the row's line in the evaluated file (its file:line, as prepare reports problems)",
    "id": "the row's id column (empty without one)",
    "text": "the text as the model read it (normalised)",
    PAIR_COLUMN: "sentence pairs only: the second text",
}
ERRORS_HEADER = ("line", "id", "true", "predicted", "score", "text")  # PAIR_COLUMN follows for pairs


@dataclass
class Drawer:
    """What a task draws its pictures with (Task.draw): the results ``folder``, the ``metrics`` (``score``'s), the
    label ``names`` and the ``heading`` (title and headline metrics)."""

    folder: Path
    metrics: dict
    names: list[str]
    heading: str

    def confusion_matrix(self) -> Path:
        """confusion_matrix.png: counts coloured by the share of each true class. Returns the path."""
        from .plots import plot_confusion_matrix

        matrix = self.metrics["confusion_matrix"]
        return plot_confusion_matrix(matrix, self.names, self.folder / CONFUSION_MATRIX_PLOT, title=self.heading)

    def label_f1(self) -> Path:
        """label_f1.png: each label's F1 (multi-label). Returns the path."""
        from .plots import plot_label_f1

        return plot_label_f1(self.metrics["per_class"], self.folder / LABEL_F1_PLOT, title=self.heading)

    def cooccurrence(self) -> Path:
        """label_cooccurrence.png: how many rows carry both labels of each pair (multi-label). Returns the path."""
        from .plots import plot_cooccurrence

        return plot_cooccurrence(self.metrics["cooccurrence"], self.names, self.folder / COOCCURRENCE_PLOT)

    def save(self, figure, name: str) -> Path:
        """Write a task's own matplotlib ``figure`` as ``name`` in the folder (120 dpi) and close it. Returns the
        path."""
        from .plots import save_figure

        return save_figure(figure, self.folder / name)


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
    """Write a results folder: metrics.json, report.txt, the task's pictures (Task.draw: the confusion matrix, or for
    multi-label each label's F1 and the labels' co-occurrence), the learning curves when a ``history`` is given (the
    restored epoch by ``best_metric``; multi-label, the ``validation`` scores at the tuned ``thresholds`` beside the
    per-epoch ones at 0.5) and the wrong answers (Task.errors) when ``records`` and their ``probabilities`` (rows,
    outputs) are given. Decisions are at ``thresholds`` where the task has them, which report.txt names. Returns the
    folder."""
    from .plots import plot_learning_curves

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    task = task_named(schema.task)
    write_json(folder / METRICS_FILE, metrics)
    report = classification_report(metrics)
    if task.head.thresholded:
        report += "\n" + thresholds_line(schema, thresholds)
    (folder / REPORT_FILE).write_text(report + "\n", encoding="utf-8")
    task.draw(Drawer(folder, metrics, list(schema.names), f"{title or 'results'}: " + headline(metrics)))
    if history:
        plot_learning_curves(
            history,
            folder / LEARNING_CURVES_PLOT,
            best_metric,
            thresholds=thresholds,
            validation=validation,
            thresholded=task.head.thresholded,
        )
    if records is not None and probabilities is not None:
        with open(folder / REPORT_FILE, "a", encoding="utf-8") as handle:
            handle.write("\n" + errors_columns_note(task) + "\n")
        labels = [record.label for record in records]
        write_errors(folder / ERRORS_FILE, records, task.errors(labels, probabilities, list(schema.names), thresholds))
    return folder


def draw_reliability(
    folder: Path, schema: LabelSchema, labels: Sequence, panels: list[tuple[str, np.ndarray]], bins: int = 0
) -> Path | None:
    """reliability.png in ``folder``: a reliability diagram panel a (caption, scores) of ``panels`` (scores of shape
    (rows, outputs) at the true ``labels``), with its ECE (evaluation/calibration.py's rules, ``bins`` equal-width
    bins, its default without). Returns the path, or None for a task whose scores are not probabilities."""
    from .calibration import DEFAULT_BINS, expected_calibration_error, pooled_pairs, reliability_bins
    from .plots import plot_reliability

    task, bins = task_named(schema.task), bins or DEFAULT_BINS
    drawn = []
    for caption, scores in panels:
        pooled = pooled_pairs(task, labels, scores)
        if pooled is None:
            return None
        ece = expected_calibration_error(task, labels, scores, bins)
        drawn.append((caption, reliability_bins(*pooled, bins), ece))
    return plot_reliability(drawn, folder / RELIABILITY_PLOT, title=f"reliability ({bins} bins)")


def draw_coverage(
    folder: Path, schema: LabelSchema, labels: Sequence, scores: np.ndarray, min_confidence: float = 0.0
) -> Path | None:
    """coverage.png in ``folder``: the coverage/accuracy curve of abstaining below a confidence (scores of shape
    (rows, outputs) at the true ``labels``; evaluation/calibration.py's coverage_curve), ``min_confidence`` marked
    when set. Returns the path, or None for a task that never abstains (Head.abstains)."""
    from .calibration import coverage_curve
    from .plots import plot_coverage

    task = task_named(schema.task)
    if not task.head.abstains:
        return None
    confidences, outcomes = task.calibration_pairs(list(labels), np.asarray(scores, dtype=np.float64))[0]
    curve = coverage_curve(confidences, outcomes)
    return plot_coverage(curve, folder / COVERAGE_PLOT, chosen=min_confidence or None)


def errors_columns(task) -> dict[str, str]:
    """errors.tsv's columns in order, each with what it holds: the row's (ROW_COLUMNS) around the ``task``'s (its
    true answer, predicted answer and score: Task.errors_columns)."""
    meanings = {**ROW_COLUMNS, **task.errors_columns}
    return {name: meanings[name] for name in (*ERRORS_HEADER, PAIR_COLUMN)}


def errors_columns_note(task) -> str:
    """What each column of errors.tsv holds (``errors_columns``), for report.txt beside it: errors.tsv itself stays
    a plain table. Returns the lines joined."""
    lines = [f"{ERRORS_FILE}: {task.errors_title}, one a line, tab-separated, with a header row:"]
    lines += [f"  {name:<10} {meaning}" for name, meaning in errors_columns(task).items()]
    return "\n".join(lines)


def thresholds_line(schema: LabelSchema, thresholds: Sequence[float] | None) -> str:
    """Multi-label: the decision thresholds the figures above it were decided at, by label name (``thresholds``,
    tuned on the validation split), or 0.5 for every label without them. Returns one line."""
    if thresholds is None:
        return f"decision thresholds: {DEFAULT_THRESHOLD} for every label"
    named = ", ".join(f"{name}={value:.2f}" for name, value in zip(schema.names, thresholds, strict=True))
    return f"decision thresholds (tuned on the validation split): {named}"


def write_errors(path: Path, records: Sequence[Record], errors: list[tuple[int, str, str, float]]) -> int:
    """errors.tsv: the wrong answers (Task.errors: row index, true answer, predicted answer, how sure), one a line
    with the row's line, id and text and, for sentence pairs, the second text (a ``text_pair`` column). Returns how
    many rows it wrote."""
    pairs = any(record.text_pair is not None for record in records)
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
        writer.writerow([*ERRORS_HEADER, *([PAIR_COLUMN] if pairs else [])])
        for index, truth, predicted, sureness in errors:
            record = records[index]
            second = [record.text_pair] if pairs else []
            writer.writerow([record.line, record.row_id, truth, predicted, f"{sureness:.4f}", record.text, *second])
    return len(errors)
