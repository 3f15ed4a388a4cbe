"""train.distillation_alpha: the n-gram model as a teacher. The training loss becomes
``(1 - alpha) * loss(gold labels) + alpha * loss(the teacher's scores)``, each the task's own loss (Task.loss: cross-
entropy with probability targets, binary cross-entropy with each label's probability, or squared error to the
teacher's score); knowledge distillation with soft targets (Hinton et al. 2015).

The teacher's score for a training row comes from an n-gram model that did not see that row: a cross-fit over
GroupKFold folds of the training split (rows sharing a text in one fold, as the splits keep them:
data/splits.py's group_key), so the targets are as good as the teacher is on unseen texts rather than a copy of
the gold labels. Validation and test rows are never used. Measured on real sets: benchmarks/RESULTS-distillation.md.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from ..config import Config
from ..data.dataset import Splits
from ..data.labels import LabelSchema
from ..data.splits import group_key
from ..evaluation.baseline import DEFAULT_C
from ..evaluation.metrics import score
from ..model.features import record_pairs
from ..model.ngram import NgramClassifier, NgramFeatures
from ..model.sources import is_scratch
from ..tasks import Task, task_named

AUTO = -1.0  # train.distillation_alpha's auto
AUTO_ALPHA = 0.2  # auto's weight for a scratch model (benchmarks/RESULTS-distillation.md)
FOLDS = 5  # scikit-learn's default number of folds (cross_val_predict)


@dataclass
class Teacher:
    """The soft targets a run trains towards, and why (metrics.json's ``distillation`` record)."""

    alpha: float  # the teacher's weight in the loss, in [0, 1)
    reason: str
    targets: np.ndarray | None = None  # float32, the task's target shape a row: (rows, outputs), or (rows,) scores
    folds: int = 0
    figure: dict | None = None  # the teacher's out-of-fold figure on the training split: {metric: value}

    def record(self) -> dict:
        """metrics.json's ``distillation`` entry: the weight and why; with a teacher, its folds, its n-gram model's
        inverse regularisation C and its out-of-fold figure on the training split."""
        record = {"alpha": self.alpha, "reason": self.reason}
        if self.targets is not None:
            record.update(folds=self.folds, c=DEFAULT_C, teacher=self.figure)
        return record

    def on(self, device) -> SoftTargets | None:
        """The weight and the targets as a float32 torch tensor on ``device``; None when the run does not distil."""
        import torch

        if self.targets is None:
            return None
        return SoftTargets(self.alpha, torch.as_tensor(self.targets, dtype=torch.float32, device=device))


@dataclass
class SoftTargets:
    """What the loops' loss takes (``distilled_loss``): the teacher's weight and its targets on the device."""

    alpha: float
    targets: object  # torch float32 on the training device, indexed by the training split's row indices


def settled_alpha(setting: float, base_model: str) -> tuple[float, str]:
    """(the weight, why) for train.distillation_alpha ``setting``: auto (-1) is AUTO_ALPHA for a ``scratch:`` model,
    which trails the n-gram model on every real set measured, and 0 for a hub model, not measured with a teacher,
    and for a local folder: `pretrain`'s output of a scratch model scored lower with the teacher than without
    `pretrain` (the template's benchmarks/RESULTS-pretrain.md); any other value is used as given."""
    if setting != AUTO:
        return setting, f"train.distillation_alpha={plain(setting)}"
    if is_scratch(base_model):
        return AUTO_ALPHA, f"auto: {AUTO_ALPHA:g} for a {base_model} model"
    return 0.0, "auto: 0 for a model that is not built from scratch (train.distillation_alpha=0.2 turns it on)"


def plain(weight: float) -> str:
    """A weight in [0, 1] as positional decimals, to 6 places at most (0.8, 0.00001: not 1e-05)."""
    shown = f"{weight:.6f}".rstrip("0").rstrip(".")
    return f"{weight:g}" if shown == "0" and weight else shown  # below a millionth: 5e-07, not 0


def fold_indices(groups: list[str], folds: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """(fitted rows, held-out rows) index arrays of each of ``folds`` GroupKFold folds: rows with the same group
    never on both sides. Raises ValueError with fewer groups than folds."""
    from sklearn.model_selection import GroupKFold

    rows = np.zeros(len(groups))
    return list(GroupKFold(n_splits=folds).split(rows, groups=groups))


def cross_fitted_scores(splits: Splits, schema: LabelSchema, task: Task, groups: list[str]) -> tuple:
    """(the n-gram model's scores (rows, outputs) of each training row, float32, the rows' targets (Task.target)):
    each row scored by a model fitted (C = DEFAULT_C) on the other FOLDS folds of ``groups`` (each row's
    group_key). The n-grams are counted once over every training text (their vocabulary sees no label); the folds
    are fitted in threads (liblinear releases the GIL). Raises ValueError when the texts hold no n-gram."""
    rows = splits.train
    features, x = NgramFeatures.fit([record.text for record in rows], record_pairs(rows))
    y = np.asarray([task.target(schema, record.label) for record in rows])

    def fold_scores(fold: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        fitted, held = fold
        model = NgramClassifier.fit(features, x[fitted], y[fitted], len(schema.names), DEFAULT_C, schema.task)
        return held, model.predict_proba_features(x[held])

    scores = None
    with ThreadPoolExecutor(max_workers=max(1, min(FOLDS, os.cpu_count() or 1))) as pool:
        for held, part in pool.map(fold_scores, fold_indices(groups, FOLDS)):
            scores = np.zeros((len(rows), part.shape[1]), np.float32) if scores is None else scores
            scores[held] = part
    return scores, y


def build_teacher(config: Config, splits: Splits, schema: LabelSchema, say) -> Teacher:
    """The run's Teacher: its weight settled from train.distillation_alpha and model.base_model (``settled_alpha``),
    and when above 0 the cross-fitted targets of the training split, with the teacher's out-of-fold figure (by
    train.metric_for_best_model, or the task's compared metric where that one is not the task's) said in one line.
    Fewer distinct texts (data/splits.py's group_key: a pair's first text) than FOLDS, or texts without an n-gram:
    no teacher. Either way one line says so. Returns the Teacher (targets None when the run does not distil)."""
    alpha, reason = settled_alpha(config.train.distillation_alpha, config.model.base_model)
    if alpha == 0:
        say(f"distillation: off ({reason})")
        return Teacher(0.0, reason)
    task = task_named(schema.task)
    groups = [group_key(record) for record in splits.train]
    if (distinct := len(set(groups))) < FOLDS:
        say(f"distillation: off, the training split has {distinct} distinct text(s), fewer than the {FOLDS} folds")
        return Teacher(0.0, f"{reason}; off: {distinct} distinct training text(s)")
    rows = f"{len(splits.train):,} training rows"
    say(f"distillation: the n-gram model's scores of the {rows}, cross-fitted in {FOLDS} folds")
    try:
        targets, y = cross_fitted_scores(splits, schema, task, groups)
    except ValueError:  # scikit-learn: empty vocabulary
        say("distillation: off, the training texts hold no n-gram")
        return Teacher(0.0, f"{reason}; off: no n-gram")
    figures = score(y, task.decide(targets), schema.names, probabilities=targets, task=task)
    metric = task.metric_or_compared(config.train.metric_for_best_model)
    figure = {metric: round(float(figures[metric]), 4)}
    say(
        f"distillation: loss = {plain(1 - alpha)} x gold + {plain(alpha)} x the teacher's scores ({reason}); the "
        f"teacher's out-of-fold {metric} {figure[metric]:.4f}"
    )
    return Teacher(alpha, reason, task.teacher_targets(targets), FOLDS, figure)


def distilled_loss(task: Task, logits, labels, weights, teacher: SoftTargets | None, rows):
    """The training loss (a torch scalar) of ``logits`` (batch, outputs): the task's loss at the gold ``labels``
    (Task.loss, class ``weights`` or None), mixed with its loss at the teacher's targets of the batch's ``rows``
    (row indices (batch,) into the training split) when ``teacher`` (None: the gold loss alone) is given."""
    gold = task.loss(logits, labels, weights)
    if teacher is None or rows is None:
        return gold
    alpha = teacher.alpha
    return (1 - alpha) * gold + alpha * task.loss(logits, teacher.targets[rows.to(logits.device)], weights)
