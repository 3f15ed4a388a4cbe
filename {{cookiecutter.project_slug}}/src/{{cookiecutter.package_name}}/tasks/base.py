"""The task protocol and its registry: one object per task shape answers every question the stages ask of it."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

import numpy as np

from ..answers import Head, head_for, head_of_problem_type
from ..artifact_files import LABELS_FILE
from ..metric_registry import METRICS

SHOWN_NAMES = 12  # label names a note lists before "..."
STANDARD_ERRORS = 2.0  # how far above the trivial answer a model must be to count as having learnt
TOLERANCE = 1e-9  # scores are ratios of counts: equal counts must not compare unequal by float rounding
FIXES = (
    "train longer (--epochs)",
    "start from a pretrained model (model.base_model)",
    "give it more labelled data",
)


class Task:
    """One task shape. Subclasses set ``head`` (the serving half, answers.py), ``default_metric`` (picks the best
    epoch unless configured) and ``compared_metric`` (what the verdict, the baseline and the int8 check compare),
    and implement the methods below."""

    head: Head
    default_metric: str
    compared_metric: str
    registry_layout = "multiclass_classification_metrics"  # SageMaker model registry's ModelQuality statistics
    errors_title = "the misclassified rows"  # errors.tsv: which rows it lists (report.txt's heading)
    errors_columns = {  # errors.tsv's task columns and what each holds (report.txt and the README list them)
        "true": "the true label",
        "predicted": "the model's answer",
        "score": "how sure the model was of its wrong answer, 0-1: the probability it gave the predicted label; sort "
        "by it, highest first, to see confident mistakes, often wrong labels in the file",
    }
    baseline_name = "naive-Bayes-weighted logistic regression"  # the n-gram model's estimator (baseline_estimator)
    int8_agreement = "of the decisions agree"  # train's int8 line: what its agreement share counts
    auto_epochs = 3.0  # what train.epochs 0 (auto) trains for on a training split past train.min_steps

    @property
    def int8_metric(self) -> str:
        """The metric metrics.json's int8 record shows for fp32 and int8: the compared one unless the task's
        int8 rule bounds another."""
        return self.compared_metric

    @property
    def name(self) -> str:
        """labels.json's task name (the head's)."""
        return self.head.name

    @property
    def scored_as(self) -> str:
        """The task whose registered metrics score this one (metric_registry's ``tasks``): its own name; a task
        built on another's answers may take that one's."""
        return self.name

    @property
    def metric_names(self) -> tuple[str, ...]:
        """The registered metrics that score this task, in registration order."""
        return tuple(name for name, metric in METRICS.items() if self.scored_as in metric.tasks)

    def metric_or_compared(self, metric: str | None) -> str:
        """``metric`` (train.metric_for_best_model) when the task scores it, else the task's compared metric (None
        too): what a choice made on one figure (the epoch, the n-gram model's C, the mix, the teacher's figure) uses."""
        return metric if metric in self.metric_names else self.compared_metric

    @property
    def problem_type(self) -> str:
        """transformers' ``PretrainedConfig.problem_type`` (the loss both training loops compute)."""
        return self.head.problem_type

    def output_size(self, names: Sequence[str]) -> int:
        """The model's outputs a text (``num_labels``)."""
        return self.head.output_size(list(names))

    def config_kwargs(self, schema) -> dict:
        """Keyword arguments for the model config: ``num_labels`` (its outputs), ``id2label``/``label2id`` and
        ``problem_type`` (transformers picks the loss by it)."""
        names = list(schema.names)
        return {
            "num_labels": self.output_size(names),
            "id2label": dict(enumerate(names)),
            "label2id": {name: i for i, name in enumerate(names)},
            "problem_type": self.problem_type,
        }

    def label_columns(self, schema, label_column: str) -> list[str]:
        """The columns (or JSON keys) a row's label is read from."""
        return [label_column]

    def read_label(self, row: dict, schema, label_column: str, separator: str):
        """The label of a row that has its label column(s). Raises LabelError naming the value that is not one."""
        raise NotImplementedError

    def target(self, schema, label):
        """What the model's loss takes for one row's ``label`` (collated as float32 for a float or a list of them,
        else as long: model/features.py's DynamicPaddingCollator)."""
        return label

    def card_line(self, names: Sequence[str]) -> str:
        """The model card's first line: what the model answers."""
        return f"Sequence classifier for labels: {', '.join(names)}."

    def separator_problem(self, schema, data) -> str | None:
        """Why ``data`` (the config's data section) cannot hold this task's labels as ``schema`` writes them (None:
        it can). A task whose labels share one cell checks that ``data.label_separator`` is in no label."""
        return None

    def unknown_label_problem(self, schema, label_column: str, unknown: int, rows: int) -> tuple[str, bool]:
        """prepare's note on ``unknown`` of ``rows`` rows whose label cell the schema does not know: the problem and
        whether it is a few rows' (True: correct them, or drop them) rather than the file's. Most rows unknown
        means a file with another label schema, which needs a new bake."""
        if unknown * 2 < rows:
            return f"{unknown} row(s) hold a label {LABELS_FILE} does not know", True
        written = "class ids 0.." + str(len(schema.names) - 1) if schema.encoding == "index" else "label names"
        names = ", ".join(schema.names[:SHOWN_NAMES]) + (" ..." if len(schema.names) > SHOWN_NAMES else "")
        return (
            f"{LABELS_FILE} expects {written} ({names}); a file with another label schema "
            'needs a new bake (README: "Another label schema")',
            False,
        )

    def strata(self, labels: list) -> list:
        """Each row's stratum in seeded splits, given every row's label: a class (one stratum a row; None for an
        unlabelled row) or a tuple (every one counts: iterative stratification). The label itself by default."""
        return list(labels)

    def loss(self, logits, labels, weights=None):
        """The training loss (a torch scalar) of ``logits`` (batch, outputs) at ``labels``, as transformers computes
        it for the task's ``problem_type``: cross-entropy on class ids (batch,) by default, each row weighted by its
        class's entry of ``weights`` (float32, (outputs,); None: unweighted) and divided by the weights' sum, as
        PyTorch's ``cross_entropy(weight=...)`` does. ``labels`` may be class probabilities (batch, outputs) instead
        (the n-gram teacher's targets, training/distillation.py): weighted, each row's loss is then divided by the sum
        of its probability-weighted class weights, which is the class-id rule for one-hot rows (PyTorch divides a
        weighted loss of probabilities by the batch size, so its scale would differ from the class ids')."""
        import torch

        if weights is None or labels.dim() == 1:
            return torch.nn.functional.cross_entropy(logits, labels, weight=weights)
        weighted = labels * weights
        return -(weighted * torch.log_softmax(logits, dim=-1)).sum() / weighted.sum()

    def class_weights(self, labels: list, num_outputs: int) -> np.ndarray | None:
        """scikit-learn's ``compute_class_weight("balanced")`` of the training ``labels`` (class ids; None for an
        unlabelled row): n_samples / (n_classes * count) for each class with rows, 1.0 for a class without any (it
        is never a target, so its weight changes nothing). Returns float32 of shape (num_outputs,); None for a
        task without classes."""
        counts = np.bincount([label for label in labels if label is not None], minlength=num_outputs)
        present = counts > 0
        weights = np.ones(num_outputs)
        weights[present] = counts[present].sum() / (present.sum() * counts[present])
        return weights.astype(np.float32)

    def imbalance(self, labels: list, num_outputs: int) -> float | None:
        """The largest class's rows over the smallest's, among classes with rows (1.0: balanced), of the training
        ``labels``; None where train.class_weights=auto does not apply (a task auto leaves unweighted)."""
        counts = np.bincount([label for label in labels if label is not None], minlength=num_outputs)
        present = counts[counts > 0]
        return float(present.max() / present.min()) if len(present) else None

    def imbalance_phrase(self, ratio: float) -> str:
        """What ``imbalance``'s ``ratio`` measures, as train's class-weights line says it."""
        return f"the largest class has {ratio:.1f}x the rows of the smallest"

    def teacher_targets(self, scores: np.ndarray) -> np.ndarray:
        """What ``loss`` takes as the n-gram teacher's targets (training/distillation.py), from its ``scores`` (rows,
        outputs): class probabilities (cross-entropy with probability targets) or each label's own (binary
        cross-entropy) as they are; float32."""
        return np.asarray(scores, np.float32)

    def scores(self, logits: np.ndarray) -> np.ndarray:
        """Scores of ``logits`` (rows, outputs), float64, same shape (the head's rule)."""
        return self.head.scores(logits)

    def decide(self, scores: np.ndarray, thresholds: Sequence[float] | None = None) -> list:
        """The answer of each row of ``scores``, in the form labels are kept."""
        raise NotImplementedError

    def temperature_losses(self, labels: list, logits: np.ndarray) -> list:
        """One function a temperature the head has (Head.temperature_count), in calibration.json's order: a
        temperature (a positive float) -> the loss it gives on a labelled split's ``logits`` (rows, outputs) at the
        true ``labels`` (nats a row), which evaluation/calibration.py minimises; None in place of one the split
        cannot fit (it stays 1). []: the task is not calibrated (its scores are served as they are)."""
        return []

    def calibration_pairs(self, labels: list, scores: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        """What the expected calibration error compares: (confidence, outcome) pairs of arrays of shape (rows,), a
        predicted probability (0-1) and whether it came true (0.0 or 1.0), whose ECEs are averaged; [] for a task
        whose scores are not probabilities."""
        return []

    def default_thresholds(self, schema) -> list[float] | None:
        """Decision thresholds before any are tuned (None: the task has none)."""
        return None

    def tune_thresholds(self, labels: list, scores: np.ndarray) -> list[float] | None:
        """Decision thresholds tuned on a labelled split (None: the task has none)."""
        return None

    def score(self, labels: list, answers: list, names: Sequence[str], scores: np.ndarray | None = None) -> dict:
        """Every registered metric of the task and the task's details (``task`` among them)."""
        raise NotImplementedError

    def mean_loss(self, labels: list, scores: np.ndarray) -> float:
        """The model's loss on ``scores`` at the true ``labels``, as training computes it (nats a row)."""
        raise NotImplementedError

    def report(self, metrics: dict) -> str:
        """``metrics`` (``score``'s) as tables for people."""
        raise NotImplementedError

    def verdict(self, metrics: dict, baseline: float | None) -> list[str]:
        """Lines comparing ``metrics`` with the trivial answer and the ``baseline``'s compared metric, and a
        ``warning:`` line naming the weakness when the model is weak."""
        raise NotImplementedError

    def baseline_targets(self, y: np.ndarray, classes: int) -> list[np.ndarray]:
        """The n-gram model's targets (model/ngram.py): one linear model each; boolean ones get naive-Bayes ratios."""
        raise NotImplementedError

    def baseline_estimator(self, c: float):
        """The scikit-learn linear model fitted to each target at inverse regularisation ``c``: logistic
        regression (liblinear) for a class's or a label's boolean target."""
        from sklearn.linear_model import LogisticRegression

        return LogisticRegression(C=c, solver="liblinear", max_iter=1000)

    def baseline_constant(self, target: np.ndarray) -> float | None:
        """A constant, confident score for a boolean ``target`` that never varies (a logit of +-10), else None."""
        if target.all() or not target.any():
            return 10.0 if target.all() else -10.0
        return None

    def class_counts(self, labels: list, names: Sequence[str]) -> dict[str, int]:
        """Label name -> rows with that label (every name listed, 0 for a class without rows); {} for a task
        without classes. ``labels``: the rows' labels, None for an unlabelled row."""
        counts = Counter(label for label in labels if label is not None)
        return {name: counts.get(i, 0) for i, name in enumerate(names)}

    def label_lines(self, labels: list, names: Sequence[str]) -> list[str]:
        """A file summary's lines about its (non-empty) ``labels``: each class's rows and share."""
        counts = self.class_counts(labels, names)
        total = sum(counts.values()) or 1
        return ["classes: " + ", ".join(f"{name}={n:,} ({100 * n / total:.1f}%)" for name, n in counts.items())]

    def label_of_answer(self, answered, schema):
        """A served answer's label (a name, or a table cell) in the form labels are kept, or None when it names a
        label the schema does not know."""
        return schema.label2id.get(answered) if isinstance(answered, str) else None

    def draw(self, drawer) -> None:
        """Draw the task's pictures of a results folder with ``drawer`` (evaluation/reports.py's Drawer)."""
        raise NotImplementedError

    def errors(self, labels: list, scores: np.ndarray, names: Sequence[str], thresholds=None) -> list[tuple]:
        """The rows answered wrongly, for errors.tsv: (row index, true answer, predicted answer, how sure the model
        was of its wrong answer, 0-1), in row order."""
        raise NotImplementedError

    def int8_decision(self, labels: list, fp32: np.ndarray, int8: np.ndarray, thresholds, max_drop: float, paired):
        """Whether int8 may serve: its logits ``int8`` against ``fp32`` on rows with true ``labels``. By default the
        share of decisions that agree (``agreement``) and ``paired(truth, reference, candidate, max_drop)``'s
        decision on the flipped answers (evaluation/paired.py: drop, lost/won, bounds, rule, allowed)."""
        reference, candidate = (
            self.decisions(self.scores(fp32), thresholds),
            self.decisions(self.scores(int8), thresholds),
        )
        truth = self.decision_truth(labels, fp32.shape[1] if fp32.ndim == 2 else 1)
        agreement = float(np.mean([a == b for a, b in zip(reference, candidate, strict=True)])) if reference else 1.0
        return {"agreement": agreement, **paired(truth, reference, candidate, max_drop)}

    def decisions(self, scores: np.ndarray, thresholds: Sequence[float] | None) -> list:
        """The decisions of ``scores`` (rows, outputs) that a paired comparison counts, one answer a decision: by
        default one a row (``decide``). The int8 check compares these too."""
        return self.decide(scores, thresholds)

    def decision_errors(self, labels: list, scores: np.ndarray, thresholds: Sequence[float] | None) -> list[float]:
        """Each decision's error at the true ``labels`` (``decisions``' order): 1.0 wrong, 0.0 right, what a paired
        comparison of two models on the same rows counts (evaluation/paired.py)."""
        truth = self.decision_truth(labels, scores.shape[1] if scores.ndim == 2 else 1)
        return [float(a != y) for a, y in zip(self.decisions(scores, thresholds), truth, strict=True)]

    def decision_truth(self, labels: list, num_outputs: int) -> list:
        """The true answers of ``decisions``, in the same order (``num_outputs``: the model's outputs a text)."""
        return list(labels)


TASKS: dict[str, Task] = {}
"""Task name -> task, every task shape this project knows."""


def register_task(task: Task) -> Task:
    """Add ``task`` under its name (replacing one of that name: a test's toy task); returns it."""
    head_for(task.name)  # its serving half is registered first (answers.register_head)
    TASKS[task.name] = task
    return task


def task_named(name: str | None) -> Task:
    """The task called ``name`` (None, as in files written before tasks had names: single-label). Raises
    ValueError naming the known tasks for an unknown one."""
    name = name or "single_label"
    if name not in TASKS:
        raise ValueError(f"task {name!r} is unknown; use one of {', '.join(TASKS)}")
    return TASKS[name]


def task_of_problem_type(problem_type: str | None) -> Task:
    """The task whose model config names ``problem_type`` (answers.head_of_problem_type's rule)."""
    return task_named(head_of_problem_type(problem_type).name)


def task_of_answers(answers) -> Task:
    """The task whose answers look like ``answers``: multi-label for a 0/1 matrix or tuples of class ids, else
    single-label (what callers that hold only answers, not a schema, are scored as)."""
    if isinstance(answers, np.ndarray):
        multi = answers.ndim == 2
    else:
        multi = any(isinstance(answer, (tuple, list)) for answer in answers)
    return task_named("multi_label" if multi else "single_label")


def per_class(label_names: Sequence[str], true_positive, predicted, support) -> dict[str, dict]:
    """Name -> precision, recall, F1 and support of each class (or label), from its counts of true positives, of
    predictions and of true rows (arrays of shape ``(len(label_names),)``); 0.0 where a ratio has no denominator
    (scikit-learn's ``zero_division=0``)."""
    true_positive, predicted, support = (np.asarray(a, dtype=float) for a in (true_positive, predicted, support))
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(predicted > 0, true_positive / predicted, 0.0)
        recall = np.where(support > 0, true_positive / support, 0.0)
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    return {
        name: {
            "precision": float(precision[i]),
            "recall": float(recall[i]),
            "f1": float(f1[i]),
            "support": int(support[i]),
        }
        for i, name in enumerate(label_names)
    }


WEAK_PREFIX = "warning: this model is weak"  # how the verdict's warning line starts


def weak_line(weak: list[str]) -> list[str]:
    """The verdict's ``warning:`` line naming the weaknesses and the likely fixes, or [] when there are none."""
    return [f"{WEAK_PREFIX}: {'; '.join(weak)}. Likely fixes: {'; '.join(FIXES)}"] if weak else []


def binomial_margin(total: int, share: float) -> float:
    """STANDARD_ERRORS binomial standard errors of a count out of ``total`` at rate ``share`` (sqrt(n p (1 - p)))."""
    return STANDARD_ERRORS * math.sqrt(total * share * (1 - share))
