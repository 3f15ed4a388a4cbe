"""What train ships: the transformer, the n-gram model, or both mixed, chosen on the validation split.

The n-gram model (model/ngram.py; its C chosen on the validation split as ``baseline`` chooses it) is fitted on the
training split alone, so its validation scores are out of sample, as the transformer's are; once the weight is
chosen, the n-gram model that ships is fitted again on the training and validation rows (``baseline``'s final fit).
Its scores are calibrated as the transformer's are: temperature scaling fitted on the training-split model's
validation scores (out of sample), kept for the refit as its C is, and folded into its weights (NgramClassifier.scaled),
so every serving path serves them; a single-label model's answers are the baseline's, multi-label's thresholds are
tuned on the calibrated scores.
The transformer's weight in the mix (answers.mixed) is the one of WEIGHTS with the best validation figure of the
project's metric (train.metric_for_best_model, decided as served: multi-label at thresholds tuned on each mix's
validation scores; ties go to the lower validation loss, Task.mean_loss, then to the heavier transformer weight):
1 ships the transformer alone, 0 the n-gram model alone (AutoGluon's way: several models, the ensemble chosen on
validation). Under ``auto`` that weight ships only when it is surely better than the n-gram model alone on the
validation split's decisions (the paired rule of evaluation/paired.py, at 95%); otherwise the n-gram model alone
ships, which is the baseline's model with calibrated scores, so a lucky validation split cannot ship a model worse
than the baseline. ``model.ship`` forces one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import numpy as np

from ..answers import ENSEMBLE, NGRAM, TRANSFORMER, mixed, shipped_name
from ..artifact_files import ENSEMBLE_FILE, NGRAM_WEIGHTS_FILE
from ..data.dataset import Splits
from ..evaluation.baseline import DEFAULT_C, choose_c, ngram_temperatures
from ..evaluation.calibration import calibration_line, ece_change
from ..evaluation.metrics import score
from ..evaluation.paired import paired_gain_decision
from ..evaluation.verdict import verdict
from ..metric_registry import METRICS
from ..model.artifact import write_json
from ..model.features import record_pairs
from ..model.ngram import NgramClassifier, NgramFeatures
from ..tasks import task_named
from ..tasks.base import WEAK_PREFIX
from .context import TrainingRun

WEIGHTS = tuple(i / 10 for i in range(11))  # the transformer's weights tried on the validation split
NGRAM_CALIBRATION = "ngram_calibration"  # the ensemble record's key: the n-gram model's temperatures and ECEs
SHIPPED_ECE = "ece"  # the ensemble record's key: each split's ECE of what ships, before and after calibration


@dataclass
class Shipped:
    """What train ships: ``weight`` (the transformer's, in the mix), the n-gram ``classifier`` when it takes part
    (None for the transformer alone), each split's shipped scores (``scores``: split -> (rows, outputs)) and the
    n-gram model's own, calibrated (``ngram_scores``) and before its temperatures (``ngram_uncalibrated``; the
    same without them), ``record`` (metrics.json's "ensemble") and, once run.settle_shipped has calibrated, the
    shipped scores before their temperatures (``scores_before``; empty when nothing is calibrated)."""

    weight: float
    classifier: NgramClassifier | None = None
    scores: dict[str, np.ndarray] = field(default_factory=dict)
    ngram_scores: dict[str, np.ndarray] = field(default_factory=dict)
    ngram_uncalibrated: dict[str, np.ndarray] = field(default_factory=dict)
    record: dict = field(default_factory=dict)
    scores_before: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def choice(self) -> str:
        """transformer, ngram or ensemble."""
        return shipped_name(self.weight)

    def uncalibrated(self, task, logits: dict) -> dict[str, np.ndarray]:
        """What ships scored without its temperatures (the transformer's and the n-gram model's), by split
        (``logits``: the transformer's raw logits by split): the reliability diagram's "before"."""
        ngram = self.ngram_uncalibrated or self.ngram_scores
        return {split: mixed(task.scores(v), ngram.get(split), self.weight) for split, v in logits.items()}

    def mix(self, split: str) -> tuple[np.ndarray, float] | None:
        """(the n-gram model's scores of ``split``, the transformer's weight) when what ships is a mix, else None:
        what the int8 check mixes int8's scores with (evaluation/evaluate.py's compare_int8_to_fp32)."""
        return (self.ngram_scores[split], self.weight) if self.choice == ENSEMBLE else None

    def save(self, output_dir: Path) -> None:
        """The n-gram weights and ensemble.json into the artifact (both removed for the transformer alone, so a
        folder trained into again keeps no stale part)."""
        for name in (NGRAM_WEIGHTS_FILE, ENSEMBLE_FILE):
            (output_dir / name).unlink(missing_ok=True)
        if self.classifier is None:
            return
        self.classifier.save(output_dir / NGRAM_WEIGHTS_FILE)
        write_json(output_dir / ENSEMBLE_FILE, {"transformer_weight": self.weight, "shipped": self.choice})


def ship(run: TrainingRun, splits: Splits, transformer: dict[str, np.ndarray]) -> Shipped:
    """Fit the n-gram model on the training split and choose what ships (model.ship; auto: the best validation
    figure), from the transformer's calibrated scores by split (``transformer``: split -> (rows, outputs)). Says
    the choice and the figures it rests on. Returns the Shipped."""
    wanted = run.config.model.ship
    if wanted == TRANSFORMER:
        return transformer_alone(run, transformer, "model.ship")
    if wanted == "auto" and "validation" not in transformer:
        return transformer_alone(run, transformer, "no validation split to choose on")
    fitted = fit_ngram(run, splits)
    if fitted is None:
        return transformer_alone(run, transformer, "the texts hold no n-gram to fit")
    classifier = fitted.calibrated(fitted.classifier)
    ngram, uncalibrated = fitted.scores(classifier), fitted.scores(fitted.classifier)
    task, metric = task_named(run.schema.task), compared_metric(run)
    labels = {"validation": [r.label for r in splits.validation], "test": [r.label for r in splits.test]}

    tuned: dict[float, list[float] | None] = {}

    def thresholds(weight: float) -> list[float] | None:  # a thresholded task's, tuned on the mix's validation scores
        if weight not in tuned and "validation" in ngram:
            validation = mixed(transformer["validation"], ngram["validation"], weight)
            tuned[weight] = task.tune_thresholds(labels["validation"], validation)
        return tuned.get(weight)

    def figure(split: str, weight: float) -> float:
        scores = mixed(transformer[split], ngram[split], weight)
        answers = task.decide(scores, thresholds(weight))
        return score(labels[split], answers, run.schema.names, probabilities=scores, task=task)[metric]

    weight = {NGRAM: 0.0, ENSEMBLE: 0.5}.get(wanted, 1.0)
    record: dict = {"metric": metric, "ngram_c": classifier.c, "reason": "model.ship"}
    if "validation" in transformer:
        validation_mix = partial(mixed, transformer["validation"], ngram["validation"])  # a weight -> the scores
        weight, why = choose_weight(
            wanted, weight, task, metric, labels["validation"], validation_mix, thresholds, figure
        )
        record.update(why)
        if weight < 1:  # chosen out of sample; what ships learns from every labelled row, as baseline's final fit
            classifier = final_ngram(run, fitted, ngram, uncalibrated, record)
    if fitted.temperatures is not None:
        record[NGRAM_CALIBRATION] = ngram_calibration(run, fitted.temperatures, labels, uncalibrated, ngram)
    for split in transformer:
        record[split] = {
            "transformer": figure(split, 1.0),
            "ngram": figure(split, 0.0),
            "shipped": figure(split, weight),
        }
    shipped = Shipped(
        weight, classifier if weight < 1 else None, ngram_scores=ngram, ngram_uncalibrated=uncalibrated, record=record
    )
    shipped.scores = {split: mixed(transformer[split], ngram[split], weight) for split in transformer}
    record.update(shipped=shipped.choice, transformer_weight=weight)
    say_choice(run, shipped)
    if weight < 1 and "validation" in transformer:
        judge_transformer(run, record, labels["validation"], transformer["validation"], thresholds(1.0))
    return shipped


def ngram_calibration(run: TrainingRun, temperatures: list[float], labels: dict, before: dict, after: dict) -> dict:
    """metrics.json's record of the n-gram model's calibration, said in one line: its ``temperatures`` and each
    split's expected calibration error before and after them (``before``, ``after``: the n-gram model's scores by
    split; the test split's are the shipped refit's when it ships)."""
    task = task_named(run.schema.task)
    record: dict = {"method": "temperature scaling", "fitted_on": "validation", "temperatures": temperatures}
    for split in after:
        record[split] = ece_change(task, labels[split], before[split], after[split])
    run.say(calibration_line("the n-gram model's", temperatures, record))
    return record


def judge_transformer(run: TrainingRun, record: dict, labels: list, scores: np.ndarray, thresholds) -> None:
    """When the transformer does not ship, its own weakness is still worth a line: evaluation/verdict.py's warning
    (a collapse, a score no better than the trivial answer) on its validation ``scores`` (rows, outputs; decided at
    ``thresholds``), said and kept in ``record`` as "transformer_note". Nothing when the verdict finds none."""
    task = task_named(run.schema.task)
    metrics = score(labels, task.decide(scores, thresholds), run.schema.names, probabilities=scores, task=task)
    for line in verdict(metrics, None):
        if line.startswith(WEAK_PREFIX):
            record["transformer_note"] = line.replace(WEAK_PREFIX, "note: the transformer alone (not shipped) is weak")
            run.say.always(record["transformer_note"])


def choose_weight(
    wanted: str, forced: float, task, metric: str, labels: list, mix, thresholds, figure
) -> tuple[float, dict]:
    """(the transformer's weight, the record of why: "validation_by_weight", under auto the "reason" and the paired
    decision): ``forced`` for model.ship=transformer or ngram, else the one of WEIGHTS (model.ship=ensemble:
    strictly between 0 and 1) with the best validation ``metric`` (ties: the lower loss, Task.mean_loss, then the
    heavier transformer); under auto only when it is surely better than the n-gram model alone (surely_better).
    ``mix``: a weight -> the validation scores; ``thresholds``: a weight -> its tuned thresholds; ``figure``:
    (split, weight) -> the metric."""
    by_weight = {w: figure("validation", w) for w in WEIGHTS}
    direction = 1 if METRICS[metric].higher_is_better else -1

    def errors(w: float) -> list[float]:
        return task.decision_errors(labels, mix(w), thresholds(w))

    allowed = {"auto": WEIGHTS, ENSEMBLE: WEIGHTS[1:-1]}.get(wanted, (forced,))
    weight = max(allowed, key=lambda w: (direction * by_weight[w], -task.mean_loss(labels, mix(w)), w))
    shown = {f"{w:.1f}": by_weight[w] for w in WEIGHTS}
    record: dict = {"validation_by_weight": shown}
    if wanted == "auto":
        weight, record["reason"] = surely_better(weight, errors, metric, record)
    return weight, record


def surely_better(weight: float, errors, metric: str, record: dict) -> tuple[float, str]:
    """(the weight that ships, why) when ``weight`` has the best validation ``metric``: it ships only when it is
    surely better than the n-gram model alone on the validation split's decisions (``errors``: a weight -> each
    decision's error, Task.decision_errors; evaluation/paired.py's paired_gain_decision at 95%), else the n-gram model
    alone ships, which is the baseline's model: what ships is then never worse than the baseline by chance of one
    split. ``record`` keeps the decision."""
    if weight == 0:
        return weight, f"the best validation {metric}"
    decision = paired_gain_decision(errors(0.0), errors(weight))
    record["validation_gain_over_ngram"] = decision
    if decision["better"]:
        return weight, f"the best validation {metric}, surely better than the n-gram model alone: {decision['rule']}"
    return 0.0, (
        f"weight {weight:.1f} had the best validation {metric} but is not surely better than the n-gram model alone: "
        f"{decision['rule']}"
    )


def transformer_alone(run: TrainingRun, transformer: dict[str, np.ndarray], reason: str) -> Shipped:
    """The transformer shipped alone, for ``reason`` (said)."""
    run.say.always(f"shipping the transformer ({reason})")
    return Shipped(1.0, scores=dict(transformer), record={"shipped": TRANSFORMER, "reason": reason})


def compared_metric(run: TrainingRun) -> str:
    """The metric the choice is made on: train.metric_for_best_model, or the task's compared metric when that is not
    scored for the task."""
    return task_named(run.schema.task).metric_or_compared(run.config.train.metric_for_best_model)


@dataclass
class NgramFit:
    """The n-gram model's features of every labelled row (the vocabulary of the training and validation texts, as
    ``baseline`` builds it: no label is read), their targets, the test rows' features (None without them), how many
    rows are the training split's, the model fitted on those alone (C chosen on the validation split) and its
    temperatures (ngram_temperatures; None without a validation split or for a task that is not calibrated)."""

    features: NgramFeatures
    x: object  # sparse (training + validation rows, features)
    targets: np.ndarray
    test_x: object | None
    train_rows: int
    classifier: NgramClassifier
    temperatures: list[float] | None = None

    def calibrated(self, classifier: NgramClassifier) -> NgramClassifier:
        """``classifier`` with the temperatures folded in (NgramClassifier.scaled); as it is without them."""
        return classifier if self.temperatures is None else classifier.scaled(self.temperatures)

    def scores(self, classifier: NgramClassifier) -> dict[str, np.ndarray]:
        """``classifier``'s scores of the validation and test rows (those there are)."""
        found = {"validation": self.x[self.train_rows :]} if self.x.shape[0] > self.train_rows else {}
        found.update({} if self.test_x is None else {"test": self.test_x})
        return {split: classifier.predict_proba_features(x) for split, x in found.items()}

    def final(self, c: float, schema) -> NgramClassifier:
        """The model fitted again on the training and validation rows at ``c``: ``baseline``'s final fit, so an
        n-gram model shipped alone is the baseline's model."""
        return NgramClassifier.fit(self.features, self.x, self.targets, len(schema.names), c, schema.task)


def final_ngram(run: TrainingRun, fitted: NgramFit, ngram: dict, uncalibrated: dict, record: dict) -> NgramClassifier:
    """The n-gram model that ships: fitted again on the training and validation rows at the chosen C (NgramFit.final)
    and calibrated with the training-split model's temperatures; its test scores replace the training-split model's
    in ``ngram`` (``uncalibrated``: before the temperatures), and ``record`` says so."""
    c = fitted.classifier.c
    run.say(
        f"n-gram model: fitted again on the {fitted.x.shape[0]:,} training and validation rows (C={c}) to ship; its "
        "validation figures below are the training-split fit's (out of sample), its test figures the refit's"
    )
    refit = fitted.final(c, run.schema)
    classifier = fitted.calibrated(refit)
    ngram.update({split: v for split, v in fitted.scores(classifier).items() if split == "test"})
    uncalibrated.update({split: v for split, v in fitted.scores(refit).items() if split == "test"})
    record["ngram_final_fit"] = "the training and validation rows, at the C chosen on the validation split"
    return classifier


def fit_ngram(run: TrainingRun, splits: Splits) -> NgramFit | None:
    """The n-gram model fitted on the training split (C chosen on the validation split, as ``baseline`` chooses it,
    on the same features); None when the texts hold no n-gram."""
    task, rows = task_named(run.schema.task), splits.train + splits.validation
    run.say(f"n-gram model: word 1-2 and character 1-5 grams of the {len(rows):,} training and validation texts ...")
    try:
        features, x = NgramFeatures.fit([r.text for r in rows], record_pairs(rows))
    except ValueError:  # scikit-learn: an empty vocabulary
        return None
    targets, n = np.asarray([task.target(run.schema, r.label) for r in rows]), len(splits.train)
    test_x = features.transform([r.text for r in splits.test], record_pairs(splits.test)) if splits.test else None
    if not splits.validation:
        classifier = NgramClassifier.fit(features, x, targets, len(run.schema.names), DEFAULT_C, run.schema.task)
        return NgramFit(features, x, targets, test_x, n, classifier)
    *_, classifier = choose_c(features, x[:n], targets[:n], x[n:], targets[n:], run.schema, compared_metric(run))
    temperatures = ngram_temperatures(task, classifier, x[n:], [r.label for r in splits.validation])  # baseline's
    return NgramFit(features, x, targets, test_x, n, classifier, temperatures)


def say_choice(run: TrainingRun, shipped: Shipped) -> None:
    """One line for each split's three figures, and one for what ships and why."""
    record = shipped.record
    for split in ("validation", "test"):
        if split in record:
            figures = record[split]
            run.say(
                f"{split} {record['metric']}: transformer {figures['transformer']:.4f}, n-gram {figures['ngram']:.4f}, "
                f"shipped {figures['shipped']:.4f}"
            )
    run.say.always(f"shipping the {shipped.choice} (transformer weight {shipped.weight:.1f}; {record['reason']})")
