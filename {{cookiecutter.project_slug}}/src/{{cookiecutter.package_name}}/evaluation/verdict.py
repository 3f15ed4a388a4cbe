"""Say plainly how good a model is: next to the baseline on the same file, and against the trivial answer.

The trivial answer is always predicting the most frequent class: its accuracy is that class's share of the file
(the majority share), which is far above 1/classes on unbalanced data. Comparisons are made in counts of correct
answers, with a margin of two binomial standard errors, so a few rows more or less never flip a verdict.
"""

from __future__ import annotations

import math
from pathlib import Path

from ..config import Config
from ..metric_registry import ACCURACY, COMPARED, METRICS, MULTI_LABEL
from ..model.artifact import METRICS_FILE, read_json

BASELINE_DIR = "artifacts/baseline"  # where `baseline` writes unless told otherwise
STANDARD_ERRORS = 2.0  # how far above the majority share a model must be to count as having learnt
TOLERANCE = 1e-9  # accuracies are ratios of counts: equal counts must not compare unequal by float rounding
FIXES = (
    "train longer (--epochs)",
    "start from a pretrained model (model.base_model)",
    "give it more labelled data",
)


def baseline_accuracy(config: Config, test_file: str | Path, metric: str = ACCURACY) -> float | None:
    """The baseline's test accuracy (or ``metric``: micro F1 for multi-label, COMPARED), when the baseline was scored
    on this same file; None otherwise."""
    path = config.path(BASELINE_DIR) / METRICS_FILE
    if not path.is_file():
        return None
    results = read_json(path)
    test = results.get("test")
    same_file = test and Path(results.get("test_file", "")).resolve() == Path(test_file).resolve()
    return float(test[metric]) if same_file and metric in test else None


def majority(metrics: dict) -> tuple[str, int]:
    """(name, count) of the most frequent true class in ``metrics`` (the output of ``metrics.score``)."""
    name = max(metrics["label_names"], key=lambda n: metrics["per_class"][n]["support"])
    return name, metrics["per_class"][name]["support"]


def predicted_classes(metrics: dict) -> list[str]:
    """The classes the model predicted at least once (columns of the confusion matrix with any count)."""
    columns = zip(*metrics["confusion_matrix"], strict=True)
    return [name for name, column in zip(metrics["label_names"], columns, strict=True) if sum(column)]


def clearly_above_majority(correct: int, majority_count: int, total: int) -> bool:
    """Whether ``correct`` answers out of ``total`` beat always answering the majority class by more than
    ``STANDARD_ERRORS`` binomial standard errors of that class's count (sqrt(n p (1 - p)), p = its share)."""
    share = majority_count / total
    return correct > majority_count + STANDARD_ERRORS * math.sqrt(total * share * (1 - share))


def clearly_below(correct: int, baseline: float, total: int) -> bool:
    """Whether ``correct`` answers out of ``total`` fall short of a ``baseline`` accuracy on the same rows by more
    than ``STANDARD_ERRORS`` binomial standard errors (sqrt(n p (1 - p)), p = the baseline's accuracy)."""
    expected = baseline * total
    return correct < expected - STANDARD_ERRORS * math.sqrt(total * baseline * (1 - baseline)) - TOLERANCE


def verdict(metrics: dict, baseline: float | None) -> list[str]:
    """Lines for people about ``metrics`` (the output of ``metrics.score``): the trivial answer's score (always the
    most frequent class: its name and share), the comparison with the baseline, and a line starting with
    ``warning:`` that names the weakness and the likely fixes when the model is weak: one class predicted for
    everything (collapsed), not clearly above the majority share, classes it never finds, or below the baseline.
    Returns [] for an empty evaluation."""
    total = metrics["num_examples"]
    if not total:
        return []
    if metrics.get("task") == MULTI_LABEL:
        return multi_label_verdict(metrics, baseline)
    accuracy = metrics[ACCURACY]
    correct = sum(row[i] for i, row in enumerate(metrics["confusion_matrix"]))
    top, top_count = majority(metrics)
    lines = [f"the trivial answer, always the most frequent class {top!r}: accuracy {top_count / total:.4f}"]
    if baseline is not None:
        lines.append(
            f"accuracy {accuracy:.4f}; the baseline scored {baseline:.4f} on the same file ({accuracy - baseline:+.4f})"
        )
    predicted = predicted_classes(metrics)
    weak = []
    if len(predicted) == 1 and len(metrics["label_names"]) > 1:
        weak.append(f"it has collapsed: it answers {predicted[0]!r} for every text")
    elif not clearly_above_majority(correct, top_count, total):
        weak.append(
            f"it is not clearly above always answering the most frequent class {top!r} "
            f"(accuracy {accuracy:.4f}, that class's share {top_count / total:.4f})"
        )
    never = [n for n in metrics["label_names"] if metrics["per_class"][n]["support"] and n not in predicted]
    if never and len(predicted) > 1:
        weak.append(f"it never predicts {', '.join(repr(n) for n in never)} (recall 0)")
    if baseline is not None and clearly_below(correct, baseline, total):
        weak.append("it is below the baseline")
    if weak:
        lines.append(f"warning: this model is weak: {'; '.join(weak)}. Likely fixes: {'; '.join(FIXES)}")
    return lines


def multi_label_verdict(metrics: dict, baseline: float | None) -> list[str]:
    """``verdict`` for multi-label ``metrics``: the trivial answer's micro F1 (the best constant label set, named),
    micro F1 next to the baseline's, and a ``warning:`` line when the
    model predicts no label for every row, or one same label set for every row (e.g. every label: thresholds tuned
    on an uninformative model), is not clearly above the trivial answer (the best constant label set, the k most
    frequent labels for every row, no label included: metrics' ``trivial``) by STANDARD_ERRORS binomial standard
    errors of F1 over the true labels, never predicts a label that occurs, or is clearly below the baseline."""
    name = COMPARED[MULTI_LABEL]
    value, trivial, title = metrics[name], metrics["trivial"], METRICS[name].title
    true_labels = max(1, sum(row["support"] for row in metrics["per_class"].values()))
    shown = ", ".join(trivial["label_set"]) or "no label"
    lines = [f"the trivial answer, always the best constant label set ({shown}): {title} {trivial['f1']:.4f}"]
    if baseline is not None:
        lines.append(
            f"{title} {value:.4f}; the baseline scored {baseline:.4f} on the same file ({value - baseline:+.4f})"
        )
    weak = []
    margin = STANDARD_ERRORS * math.sqrt(max(trivial["f1"] * (1 - trivial["f1"]), 0.25 / true_labels) / true_labels)
    if metrics["predicted_without_label"] == metrics["num_examples"]:
        weak.append("it has collapsed: it predicts no label for any text")
    elif value <= trivial["f1"] + margin:
        weak.append(
            f"it is not clearly above always answering the best constant label set ({shown}: {title} "
            f"{trivial['f1']:.4f}; this model {value:.4f})"
        )
    predicted = {  # each label's predicted rows: false positives + true positives of its [[tn, fp], [fn, tp]]
        name: counts[0][1] + counts[1][1]
        for name, counts in zip(metrics["label_names"], metrics["per_label_confusion"], strict=True)
    }
    constant = [n for n in metrics["label_names"] if predicted[n] == metrics["num_examples"]]
    if constant and all(predicted[n] in (0, metrics["num_examples"]) for n in metrics["label_names"]):
        weak.append(f"it has collapsed: it predicts the same label set ({', '.join(constant)}) for every text")
    never = [n for n in metrics["label_names"] if metrics["per_class"][n]["support"] and not predicted[n]]
    if never and metrics["predicted_without_label"] < metrics["num_examples"]:
        weak.append(f"it never predicts {', '.join(repr(n) for n in never)} (recall 0)")
    if baseline is not None and value < baseline - margin - TOLERANCE:
        weak.append("it is below the baseline")
    if weak:
        lines.append(f"warning: this model is weak: {'; '.join(weak)}. Likely fixes: {'; '.join(FIXES)}")
    return lines
