"""Regression: a number a row (an STS similarity of 0-5, a rating as a number): the model's one output under a
mean-squared-error loss (transformers' ``problem_type="regression"``), scored by Pearson, Spearman, MSE and MAE and
compared with always answering the mean score.

errors.tsv lists the rows the model missed by more than one standard deviation of the true scores, farthest first
in file order; its score column holds how far off the answer was (in the label's units).
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Sequence

import numpy as np

from ..answers import HEADS, REGRESSION
from ..display import table
from ..errors import LabelError
from ..metric_registry import METRICS, MSE, SPEARMAN, compute
from .base import STANDARD_ERRORS, TOLERANCE, Task, register_task, weak_line

NUMBER = re.compile(r"[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?")  # ASCII digits: 3, 3.5, .5, 1e-2
BINS = 10  # score strata in splits: deciles of the labelled rows
PREDICTED_PLOT = "predicted_vs_true.png"


def summary(values: np.ndarray) -> dict:
    """Mean, standard deviation, minimum and maximum of ``values`` (zeros when empty)."""
    if not len(values):
        return {"mean": 0.0, "std": 0.0, "min": 0.0, "max": 0.0}
    return {
        "mean": float(values.mean()),
        "std": float(values.std()),
        "min": float(values.min()),
        "max": float(values.max()),
    }


def by_true_bin(truth: np.ndarray, predicted: np.ndarray, bins: int = BINS) -> list[dict]:
    """The rows in ``bins`` equal-width ranges of the true score: each range's rows, mean true and mean predicted
    score, and the 10th and 90th percentile of the predictions (what the predicted-vs-true picture draws)."""
    if not len(truth):
        return []
    edges = np.linspace(truth.min(), truth.max(), bins + 1)
    where = np.clip(np.searchsorted(edges, truth, side="right") - 1, 0, bins - 1)
    found = []
    for number in range(bins):
        inside = where == number
        if inside.any():
            low, high = np.percentile(predicted[inside], [10, 90])
            found.append(
                {
                    "range": [float(edges[number]), float(edges[number + 1])],
                    "rows": int(inside.sum()),
                    "mean_true": float(truth[inside].mean()),
                    "mean_predicted": float(predicted[inside].mean()),
                    "p10": float(low),
                    "p90": float(high),
                }
            )
    return found


class RegressionTask(Task):
    """A score a row: labels are floats, the target the float itself, the answer the model's output."""

    head = HEADS[REGRESSION]
    default_metric = compared_metric = SPEARMAN
    registry_layout = "regression_metrics"
    errors_title = "the rows missed by more than one standard deviation of the true scores"
    errors_columns = {
        "true": "the true score",
        "predicted": "the model's score",
        "score": "how far off the answer was, |predicted - true|, in the score's units; sort by it, highest first, "
        "to see the worst misses, often wrong scores in the file",
    }
    int8_agreement = "of the answers are within a tenth of a standard deviation of fp32's"
    int8_metric = MSE  # what int8_decision's rule bounds
    baseline_name = "ridge regression (alpha = 1/C)"

    def card_line(self, names: Sequence[str]) -> str:
        """A score a text (or pair): what it measures."""
        return f"Sequence regression: one score a text, {names[0]}."

    def unknown_label_problem(self, schema, label_column: str, unknown: int, rows: int) -> tuple[str, bool]:
        """Cells that are not a number: a score is read, so there is no other label schema to point to."""
        return f"{unknown} row(s) hold a score that is not a number in {label_column!r}", True

    def read_label(self, row: dict, schema, label_column: str, separator: str) -> float:
        """The number in ``row``'s label column: a JSON number, or text written with ASCII digits (``3``, ``3.5``,
        ``1e-2``). Raises LabelError naming the value when it is empty, not a number, or not finite."""
        raw = row[label_column]
        if isinstance(raw, (int, float)) and not isinstance(raw, bool):
            value = float(raw)
        else:
            text = schema.cell_text(raw)
            shown = text if len(text) <= 40 else text[:40] + "..."
            if not NUMBER.fullmatch(unicodedata.normalize("NFC", text)):
                raise LabelError(f"label {shown!r} is not a number; a regression task reads a score (e.g. 3.5)")
            value = float(text)
        if not math.isfinite(value):
            raise LabelError(f"label {raw!r} is not a finite number")
        return value

    def loss(self, logits, labels, weights=None):
        """Mean squared error of the one output (batch, 1) at the scores (batch,) (transformers'
        ``problem_type="regression"``); ``weights`` must be None: scores have no classes to weigh."""
        import torch

        return torch.nn.functional.mse_loss(logits.squeeze(-1), labels.float())

    def teacher_targets(self, scores: np.ndarray) -> np.ndarray:
        """The teacher's score of each row (rows,), float32, from its scores (rows, 1): ``loss`` takes scores."""
        return np.asarray(scores, np.float32)[:, 0]

    def class_weights(self, labels: list, num_outputs: int) -> np.ndarray | None:
        """None: scores have no classes (train.class_weights=balanced is refused for regression)."""
        return None

    def imbalance(self, labels: list, num_outputs: int) -> float | None:
        """None: auto leaves a regression loss unweighted."""
        return None

    def target(self, schema, label: float) -> float:
        """The score as a float (MSE against the model's one output)."""
        return float(label)

    def strata(self, labels: list) -> list:
        """Each row's decile of the labelled rows' scores (None unlabelled), so both sides of a split span the
        scores."""
        values = np.asarray([label for label in labels if label is not None], dtype=np.float64)
        if not len(values):
            return list(labels)
        edges = np.quantile(values, np.linspace(0, 1, BINS + 1)[1:-1])
        return [None if label is None else int(np.searchsorted(edges, label, side="right")) for label in labels]

    def decide(self, scores: np.ndarray, thresholds: Sequence[float] | None = None) -> list[float]:
        """Each row's score: the model's one output."""
        return np.asarray(scores, dtype=np.float64)[:, 0].tolist()

    def decision_errors(self, labels: list, scores: np.ndarray, thresholds: Sequence[float] | None) -> list[float]:
        """Each row's squared error (the loss MSE averages): what a paired comparison of two models sums."""
        truth = np.asarray(labels, dtype=np.float64)
        return ((np.asarray(scores, dtype=np.float64)[:, 0] - truth) ** 2).tolist()

    def score(self, labels: list, answers: list, names: Sequence[str], scores: np.ndarray | None = None) -> dict:
        """Every registered regression metric of true ``labels`` and predicted ``answers`` (floats), the trivial
        answer (the file's mean score: its MSE is the scores' variance), the scores' and predictions' summaries and
        the rows by range of true score (``by_true_bin``)."""
        truth, predicted = np.asarray(labels, dtype=np.float64), np.asarray(answers, dtype=np.float64)
        mean = float(truth.mean()) if len(truth) else 0.0
        return {
            **compute(truth, predicted, predicted[:, None], task=self.scored_as),
            "task": self.name,
            "label_names": list(names),
            "num_examples": int(len(truth)),
            "trivial": {"mean": mean, MSE: float(((truth - mean) ** 2).mean()) if len(truth) else 0.0},
            "truth": summary(truth),
            "predicted": summary(predicted),
            "by_true_bin": by_true_bin(truth, predicted),
        }

    def mean_loss(self, labels: list, scores: np.ndarray) -> float:
        """Mean squared error of the model's output at the true scores (what the model's loss computes)."""
        return float(((np.asarray(scores, dtype=np.float64)[:, 0] - np.asarray(labels, dtype=np.float64)) ** 2).mean())

    def report(self, metrics: dict) -> str:
        """Every regression metric, the trivial answer's MSE, and the true and predicted scores' summaries."""
        rows = [[m.title, f"{metrics[m.name]:.4f}"] for m in METRICS.values() if m.name in metrics]
        rows.append(
            [f"MSE of always answering the mean ({metrics['trivial']['mean']:.3f})", f"{metrics['trivial'][MSE]:.4f}"]
        )
        figures = table(["", "value"], rows)
        spread = table(
            ["", "mean", "std", "min", "max"],
            [
                [side, *(f"{metrics[side][k]:.3f}" for k in ("mean", "std", "min", "max"))]
                for side in ("truth", "predicted")
            ],
        )
        return f"{figures}\n\nrows: {metrics['num_examples']}\n{spread}"

    def verdict(self, metrics: dict, baseline: float | None) -> list[str]:
        """MSE next to always answering the mean score, Spearman next to the baseline's; warns when every answer is
        about the same (collapsed), the MSE is not below the mean's, or Spearman is clearly below the baseline's
        (by STANDARD_ERRORS standard errors of a correlation on these rows, 1 / sqrt(n - 3))."""
        rows, trivial = metrics["num_examples"], metrics["trivial"]
        rho, error = metrics[SPEARMAN], metrics[MSE]
        lines = [
            f"{rows:,} rows: always answering the mean score {trivial['mean']:.3f} would score MSE "
            f"{trivial[MSE]:.4f}; this model MSE {error:.4f}, Spearman {rho:.4f}"
        ]
        if baseline is not None:
            lines.append(
                f"Spearman {rho:.4f}; the baseline scored {baseline:.4f} on the same file ({rho - baseline:+.4f})"
            )
        weak = []
        if metrics["predicted"]["std"] <= 1e-3 * max(metrics["truth"]["std"], TOLERANCE):
            weak.append(f"it has collapsed: it answers about {metrics['predicted']['mean']:.3f} for every text")
        elif error >= trivial[MSE]:
            weak.append("its MSE is not below always answering the mean score")
        if baseline is not None and rho < baseline - STANDARD_ERRORS / math.sqrt(max(rows - 3, 1)) - TOLERANCE:
            weak.append("it is below the baseline")
        return lines + weak_line(weak)

    def draw(self, drawer) -> None:
        """Predicted against true score: each range of true scores' mean prediction, its 10th-90th percentile band,
        and the diagonal a perfect model would follow."""
        import matplotlib.pyplot as plt

        bins = drawer.metrics["by_true_bin"]
        figure, axes = plt.subplots(figsize=(5.5, 5))
        if bins:
            true = [b["mean_true"] for b in bins]
            axes.fill_between(true, [b["p10"] for b in bins], [b["p90"] for b in bins], alpha=0.25, label="10-90%")
            axes.plot(true, [b["mean_predicted"] for b in bins], "o-", label="mean prediction")
            low, high = bins[0]["range"][0], bins[-1]["range"][1]
            axes.plot([low, high], [low, high], "--", color="gray", label="perfect")
            axes.legend()
        axes.set_xlabel(f"true {drawer.names[0]}")
        axes.set_ylabel(f"predicted {drawer.names[0]}")
        axes.set_title(drawer.heading, fontsize="small")
        figure.tight_layout()
        drawer.save(figure, PREDICTED_PLOT)

    def errors(self, labels: list, scores: np.ndarray, names: Sequence[str], thresholds=None) -> list[tuple]:
        """Rows missed by more than one standard deviation of the true scores: true and predicted score, and how
        far off the answer was."""
        truth, predicted = np.asarray(labels, dtype=np.float64), np.asarray(scores, dtype=np.float64)[:, 0]
        limit = truth.std() if len(truth) else 0.0
        return [
            (i, f"{t:g}", f"{p:.3f}", float(abs(p - t)))
            for i, (t, p) in enumerate(zip(truth, predicted, strict=True))
            if abs(p - t) > limit
        ]

    def baseline_targets(self, y: np.ndarray, classes: int) -> list[np.ndarray]:
        """One target: the scores."""
        return [np.asarray(y, dtype=np.float64)]

    def baseline_estimator(self, c: float):
        """Ridge regression at ``alpha = 1 / c`` (the same grid of strengths as the classifiers' C)."""
        from sklearn.linear_model import Ridge

        return Ridge(alpha=1.0 / c)

    def baseline_constant(self, target: np.ndarray) -> float | None:
        """The score itself when every row has the same one, else None."""
        return float(target[0]) if len(target) and np.ptp(target) == 0 else None

    def class_counts(self, labels: list, names: Sequence[str]) -> dict[str, int]:
        """{}: scores have no classes (no class can be empty)."""
        return {}

    def label_lines(self, labels: list, names: Sequence[str]) -> list[str]:
        """The scores' mean, standard deviation, range and distinct values."""
        values = np.asarray(labels, dtype=np.float64)
        shown = summary(values)
        return [
            f"{names[0]}: mean {shown['mean']:.3f}, std {shown['std']:.3f}, from {shown['min']:g} to "
            f"{shown['max']:g} ({len(np.unique(values)):,} distinct values)"
        ]

    def label_of_answer(self, answered, schema):
        """A served score as a float, or None when it is not a number."""
        try:
            return float(answered)
        except (TypeError, ValueError):
            return None

    def int8_decision(self, labels: list, fp32: np.ndarray, int8: np.ndarray, thresholds, max_drop: float, paired):
        """int8 may serve when its MSE exceeds fp32's by at most ``max_drop`` of the MSE of always answering the mean
        (the drop, as a share of what the model can gain over it); ``agreement``: the share of rows whose two
        answers differ by at most a tenth of the scores' standard deviation."""
        truth = np.asarray(labels, dtype=np.float64)
        reference, candidate = fp32[:, 0].astype(np.float64), int8[:, 0].astype(np.float64)
        scale = float(truth.var()) or 1.0
        fp32_mse, int8_mse = float(((reference - truth) ** 2).mean()), float(((candidate - truth) ** 2).mean())
        drop = (int8_mse - fp32_mse) / scale
        near = np.abs(candidate - reference) <= 0.1 * (truth.std() or 1.0)
        return {
            "agreement": float(near.mean()) if len(near) else 1.0,
            "drop": drop,
            "max_abs_difference": float(np.abs(candidate - reference).max()) if len(near) else 0.0,
            "rule": "int8's MSE may exceed fp32's by model.int8_max_drop of the MSE of always answering the mean",
            "allowed": drop <= max_drop,
        }


register_task(RegressionTask())
