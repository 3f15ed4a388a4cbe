"""Say plainly how good a model is: next to the baseline on the same file, and against the trivial answer.

What the trivial answer is, and how a comparison is made, is the task's (``Task.verdict``): for single-label,
always predicting the most frequent class, compared in counts of correct answers with a margin of two binomial
standard errors, so a few rows more or less never flip a verdict.
"""

from __future__ import annotations

from pathlib import Path

from ..config import Config
from ..data.sample import file_digest
from ..model.artifact import METRICS_FILE, read_json
from ..tasks import task_named

BASELINE_DIR = "artifacts/baseline"  # where `baseline` writes unless told otherwise


def baseline_score(config: Config, test_file: str | Path, metric: str) -> float | None:
    """The baseline's test ``metric`` (the task's compared metric: accuracy, micro F1 for multi-label), when the
    baseline was scored on this same file (or record of held-out rows) with the same content; None otherwise."""
    path = config.path(BASELINE_DIR) / METRICS_FILE
    if not path.is_file():
        return None
    results = read_json(path)
    test = results.get("test")
    same_file = test and Path(results.get("test_file", "")).resolve() == Path(test_file).resolve()
    if same_file and results.get("test_digest") and results["test_digest"] != file_digest(Path(test_file)):
        return None  # the file (or the held-out rows it records) changed since the baseline was scored
    return float(test[metric]) if same_file and metric in test else None


def verdict(metrics: dict, baseline: float | None) -> list[str]:
    """Lines for people about ``metrics`` (the output of ``metrics.score``): its task's comparison with the trivial
    answer, with the baseline's figure when given, and a line starting with ``warning:`` that names the weakness and
    the likely fixes when the model is weak (Task.verdict). Returns [] for an empty evaluation."""
    if not metrics["num_examples"]:
        return []
    return task_named(metrics.get("task")).verdict(metrics, baseline)
