"""Say plainly how good a model is: next to the baseline on the same file, and against chance."""

from __future__ import annotations

from pathlib import Path

from ..config import Config
from ..model.artifact import METRICS_FILE, read_json

BASELINE_DIR = "artifacts/baseline"  # where `baseline` writes unless told otherwise
NEAR_CHANCE = 0.05  # within this much accuracy of always guessing
TOLERANCE = 1e-9  # accuracies are ratios of counts: equal counts must not compare unequal by float rounding
FIXES = ("train longer (--epochs)", "start from a pretrained model (model.base_model)", "give it more labelled data")


def baseline_accuracy(config: Config, test_file: str | Path) -> float | None:
    """The baseline's test accuracy, when the baseline was scored on this same file."""
    path = config.path(BASELINE_DIR) / METRICS_FILE
    if not path.is_file():
        return None
    results = read_json(path)
    test = results.get("test")
    same_file = test and Path(results.get("test_file", "")).resolve() == Path(test_file).resolve()
    return float(test["accuracy"]) if same_file else None


def verdict(metrics: dict, baseline: float | None) -> list[str]:
    """Lines for people: the comparison with the baseline, and a warning with the likely fix when it is weak."""
    accuracy, classes = metrics["accuracy"], len(metrics["label_names"])
    chance = 1 / classes
    lines = []
    if baseline is not None:
        lines.append(
            f"accuracy {accuracy:.4f}; the baseline scored {baseline:.4f} on the same file ({accuracy - baseline:+.4f})"
        )
    weak = []
    if baseline is not None and accuracy < baseline - TOLERANCE:
        weak.append("it is below the baseline")
    if accuracy < chance + NEAR_CHANCE - TOLERANCE:
        weak.append(f"it is near chance ({chance:.2f} with {classes} classes)")
    if weak:
        lines.append(f"warning: this model is weak: {' and '.join(weak)}. Likely fixes: {'; '.join(FIXES)}")
    return lines
