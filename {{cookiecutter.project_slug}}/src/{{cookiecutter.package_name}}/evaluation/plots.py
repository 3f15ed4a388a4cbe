"""Pictures of results: confusion matrix and learning curves (PNG, Korean labels rendered); for multi-label, each
label's F1 (a bar chart) and how often the true labels occur together (a heatmap) instead of the confusion
matrix."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import koreanize_matplotlib  # noqa: E402,F401  registers a Hangul font (NanumGothic) for labels
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from ..answers import DEFAULT_THRESHOLD  # noqa: E402
from ..metric_registry import MACRO_F1, METRICS, is_better  # noqa: E402


def save_figure(figure, path: str | Path) -> Path:
    """Write ``figure`` to ``path`` at 120 dpi and close it. Returns the path."""
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return Path(path)


def plot_confusion_matrix(matrix: list[list[int]], label_names: list[str], path: str | Path, title: str = "") -> Path:
    """Counts, coloured by the share of each true class (row): a small class's errors look as large as they are.
    Each cell shows its count and its share of the row."""
    data = np.asarray(matrix)
    totals = data.sum(axis=1, keepdims=True)
    shares = np.divide(data, totals, out=np.zeros(data.shape, dtype=float), where=totals > 0)
    size = max(4.0, 0.9 * len(label_names) + 2.5)
    figure, axes = plt.subplots(figsize=(size, size))
    image = axes.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    figure.colorbar(image, ax=axes, fraction=0.046, label="share of the true class")
    axes.set_xticks(range(len(label_names)), label_names, rotation=45, ha="right")
    axes.set_yticks(range(len(label_names)), label_names)
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    axes.set_title(title or "confusion matrix")
    for (row, column), value in np.ndenumerate(data):
        share = shares[row, column]
        axes.text(
            column,
            row,
            f"{value}\n{100 * share:.0f}%",
            ha="center",
            va="center",
            color="white" if share > 0.5 else "black",
        )
    figure.tight_layout()
    return save_figure(figure, path)


def plot_label_f1(per_class: dict, path: str | Path, title: str = "") -> Path:
    """Multi-label: one horizontal bar a label, its F1 (``per_class``: name -> precision, recall, f1, support as
    metrics.score gives it), with its support in the label. Returns the path written."""
    names = list(per_class)
    values = [per_class[name]["f1"] for name in names]
    figure, axes = plt.subplots(figsize=(7, max(2.5, 0.45 * len(names) + 1.5)))
    axes.barh(range(len(names)), values, color="tab:blue")
    axes.set_yticks(range(len(names)), [f"{name} (n={per_class[name]['support']})" for name in names])
    axes.invert_yaxis()
    axes.set_xlim(0, 1)
    axes.set_xlabel("F1")
    for row, value in enumerate(values):
        axes.text(min(value + 0.01, 0.9), row, f"{value:.3f}", va="center")
    axes.set_title(title or "F1 per label")
    figure.tight_layout()
    return save_figure(figure, path)


def plot_cooccurrence(matrix: list[list[int]], label_names: list[str], path: str | Path, title: str = "") -> Path:
    """Multi-label: how many rows carry both labels of each pair (the diagonal: each label's rows), coloured by the
    share of the row label's rows. Returns the path written."""
    data = np.asarray(matrix)
    totals = np.diag(data).reshape(-1, 1)
    shares = np.divide(data, totals, out=np.zeros(data.shape, dtype=float), where=totals > 0)
    size = max(4.0, 0.9 * len(label_names) + 2.5)
    figure, axes = plt.subplots(figsize=(size, size))
    image = axes.imshow(shares, cmap="Purples", vmin=0, vmax=1)
    figure.colorbar(image, ax=axes, fraction=0.046, label="share of the row label's rows")
    axes.set_xticks(range(len(label_names)), label_names, rotation=45, ha="right")
    axes.set_yticks(range(len(label_names)), label_names)
    axes.set_title(title or "true labels together")
    for (row, column), value in np.ndenumerate(data):
        axes.text(
            column, row, str(value), ha="center", va="center", color="white" if shares[row, column] > 0.5 else "black"
        )
    figure.tight_layout()
    return save_figure(figure, path)


def best_evaluation(evals: list[dict], metric: str) -> dict | None:
    """The evaluation the run restored at its end (both loops keep the best ``metric``; the first on a tie)."""
    best = None
    for h in evals:
        if h.get(f"eval_{metric}") is not None and is_better(
            metric, h[f"eval_{metric}"], best and best[f"eval_{metric}"]
        ):
            best = h
    return best


def plot_learning_curves(
    history: list[dict],
    path: str | Path,
    best_metric: str = MACRO_F1,
    *,
    thresholds: Sequence[float] | None = None,
    validation: dict | None = None,
    thresholded: bool = False,
) -> Path | None:
    """Write learning_curves.png (``learning_curves_figure``). Returns the path written, or None when the history
    holds no point to plot."""
    figure = learning_curves_figure(
        history, best_metric, thresholds=thresholds, validation=validation, thresholded=thresholded
    )
    if figure is None:
        return None
    return save_figure(figure, path)


def learning_curves_figure(
    history: list[dict],
    best_metric: str = MACRO_F1,
    *,
    thresholds: Sequence[float] | None = None,
    validation: dict | None = None,
    thresholded: bool = False,
):
    """Training loss by step, and validation loss / metrics by epoch, from the training log; the epoch whose
    weights the run restored (best ``best_metric``) is marked on both. A ``thresholded`` task's (multi-label's)
    per-epoch scores are those the loops logged, each label decided at 0.5, and say so; with the final
    ``thresholds`` (tuned on the validation split) the restored epoch's ``validation`` scores at them (the figures
    train printed) are marked and labelled too. Epoch ticks are whole numbers when every evaluation fell on an
    epoch's end. Returns the matplotlib figure, or None when there is nothing to plot."""
    train = [h for h in history if "loss" in h and "step" in h]
    evals = [h for h in history if "eval_loss" in h]
    if not train and not evals:
        return None
    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    if train:
        few = len(train) < 20  # with a handful of points a bare line is invisible or misleading
        left.plot([h["step"] for h in train], [h["loss"] for h in train], "o-" if few else "-", label="train loss")
    if evals:
        left.plot([h["step"] for h in evals], [h["eval_loss"] for h in evals], "o-", label="validation loss")
    epochs = [h.get("epoch", i + 1) for i, h in enumerate(evals)]
    colours = plot_validation_scores(right, evals, epochs, f" (thresholds {DEFAULT_THRESHOLD})" if thresholded else "")
    best = best_evaluation(evals, best_metric)
    if best is not None and len(evals) > 1:
        label = (
            f"restored: epoch {best.get('epoch', '?'):g}" if isinstance(best.get("epoch"), (int, float)) else "restored"
        )
        left.axvline(best["step"], color="gray", linestyle="--", label=label)
        right.axvline(best.get("epoch", evals.index(best) + 1), color="gray", linestyle="--", label=label)
    if thresholded and thresholds is not None and validation and evals:
        mark_tuned_scores(right, validation, (best or evals[-1]).get("epoch", len(evals)), thresholds, colours)
    left.set_xlabel("step")
    left.set_ylabel("loss")
    left.legend()
    right.set_xlabel("epoch")
    right.set_ylabel("validation score")
    plotted = [h[f"eval_{name}"] for h in evals for name in colours if h.get(f"eval_{name}") is not None]
    if all(0 <= value <= 1 for value in plotted):  # shares (accuracy, F1): on their whole scale
        right.set_ylim(0, 1)
    if epochs and all(float(epoch).is_integer() for epoch in epochs):
        right.xaxis.set_major_locator(MaxNLocator(integer=True))
    if evals:
        right.legend(fontsize="small")
    else:  # a run without a validation split
        right.text(0.5, 0.5, "no validation split", ha="center", va="center", transform=right.transAxes)
    figure.suptitle("learning curves")
    figure.tight_layout()
    return figure


def plot_validation_scores(axes, evals: list[dict], epochs: list[float], note: str) -> dict[str, str]:
    """Every registered metric the evaluations hold, by epoch, on ``axes``; ``note`` follows each legend label (the
    thresholds they were decided at). Returns each plotted metric's line colour by name."""
    colours = {}
    for metric in METRICS.values():
        if any(f"eval_{metric.name}" in h for h in evals):
            values = [h.get(f"eval_{metric.name}", np.nan) for h in evals]
            (line,) = axes.plot(epochs, values, "o-", label=metric.title + note)
            colours[metric.name] = line.get_color()
    return colours


def mark_tuned_scores(
    axes, validation: dict, epoch: float, thresholds: Sequence[float], colours: dict[str, str]
) -> None:
    """Multi-label: the restored epoch's ``validation`` scores at the tuned ``thresholds`` (what train printed), as
    stars at ``epoch`` in the colour of their metric's line (``colours``, by name), labelled with the thresholds'
    range. Returns nothing."""
    low, high = min(thresholds), max(thresholds)
    span = f"{low:.2f}" if low == high else f"{low:.2f}-{high:.2f}"
    for name, colour in colours.items():
        if validation.get(name) is not None:
            label = f"{METRICS[name].title} (tuned thresholds {span}): {validation[name]:.3f}"
            axes.plot([epoch], [validation[name]], "*", color=colour, markersize=12, label=label)


def plot_reliability(panels: list[tuple[str, dict, float | None]], path: str | Path, title: str = "") -> Path:
    """The reliability diagram (Guo et al. 2017, fig. 1): one panel a (caption, bins, ECE) of ``panels`` (bins as
    evaluation/calibration.py's reliability_bins: count, confidence, observed, one a bin), each bin's share of
    outcomes that came true as a bar and its mean confidence as a dot above or below it (the gap is the bin's
    miscalibration), the diagonal, and the bins' rows as a histogram beneath. Returns the path written."""
    figure, grid = plt.subplots(2, len(panels), figsize=(5 * len(panels), 5.5), squeeze=False, height_ratios=[3, 1])
    for column, (caption, bins, ece) in enumerate(panels):
        top, bottom = grid[0][column], grid[1][column]
        width = 1.0 / len(bins["count"])
        centres = (np.arange(len(bins["count"])) + 0.5) * width
        filled = bins["count"] > 0
        top.bar(centres[filled], bins["observed"][filled], width=width, edgecolor="black", label="observed")
        top.plot(centres[filled], bins["confidence"][filled], "o", color="tab:red", label="mean confidence")
        top.plot([0, 1], [0, 1], "--", color="gray", label="perfectly calibrated")
        top.set_xlim(0, 1)
        top.set_ylim(0, 1)
        top.set_ylabel("share that came true")
        top.set_title(caption + (f" (ECE {ece:.4f})" if ece is not None else ""))
        top.legend(loc="upper left", fontsize="small")
        bottom.bar(centres, bins["count"], width=width, color="tab:gray", edgecolor="black")
        bottom.set_xlim(0, 1)
        bottom.set_xlabel("confidence (predicted probability)")
        bottom.set_ylabel("rows")
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    return save_figure(figure, path)


def plot_coverage(curve: dict, path: str | Path, title: str = "", chosen: float | None = None) -> Path:
    """The coverage/accuracy curve of abstaining below a confidence (``curve``: evaluation/calibration.py's
    coverage_curve), the cut-off ``chosen`` marked when given. Returns the path written."""
    figure, axes = plt.subplots(figsize=(6, 4))
    axes.plot(curve["coverage"], curve["answered_right"], color="tab:blue")
    if chosen is not None and len(curve["threshold"]):
        answered = curve["threshold"] >= chosen
        at = int(answered.sum()) - 1
        if at >= 0:
            axes.plot(curve["coverage"][at], curve["answered_right"][at], "o", color="tab:red")
            axes.annotate(f"confidence >= {chosen:.2f}", (curve["coverage"][at], curve["answered_right"][at]))
    axes.set_xlim(0, 1)
    axes.set_xlabel("coverage (share of texts answered, the rest 'unsure')")
    axes.set_ylabel("accuracy of the answered texts")
    axes.set_title(title or "abstaining below a confidence")
    figure.tight_layout()
    return save_figure(figure, path)
