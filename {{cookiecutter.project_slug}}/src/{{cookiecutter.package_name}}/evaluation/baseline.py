"""The number any fine-tuned model must beat: naive-Bayes-weighted logistic regression on word and character
n-grams (model/ngram.py), with C chosen on the validation split and the final fit on the training and validation
rows, scored on the test split (the test file, or the rows held out of a one-file dataset).

It is saved as an artifact (the weights, labels.json, metrics.json) that ``evaluate`` and ``predict --model-dir``
take like any model, so it can be scored on any file.
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

import numpy as np

from .. import logs
from ..artifact_files import TRAINING_CONFIG_FILE
from ..config import LABELS_FILE, Config
from ..data.dataset import Splits, checked_schema, data_file, load_splits
from ..data.labels import LabelSchema
from ..data.sample import file_digest
from ..errors import ProjectError
from ..metric_registry import METRICS
from ..model.artifact import METRICS_FILE, NGRAM_WEIGHTS_FILE, RESULTS_DIR, write_json, write_thresholds
from ..model.features import record_pairs
from ..model.ngram import NgramClassifier, NgramFeatures
from ..tasks import task_named
from .calibration import calibration_line, fit_temperatures, kept_if_ece_falls
from .metrics import classification_report, metric_line, score
from .reports import write_results

C_GRID = (0.03, 0.1, 0.3)  # inverse regularisation strengths tried on the validation split
DEFAULT_C = 0.1  # without a validation split: the best C on NSMC (150K reviews)


say = logs.say  # the baseline's progress lines; its scores go through logs.result


def choose_c(
    features: NgramFeatures,
    train_x,
    train_y,
    validation_x,
    validation_y,
    schema: LabelSchema,
    metric: str | None = None,
) -> tuple[float, dict, np.ndarray, NgramClassifier]:
    """The C with the best validation ``metric`` in its own direction (train.metric_for_best_model, which picks the
    model's epoch too; the task's compared metric when None or not scored for it; multi-label decided at 0.5); each
    candidate is fitted in its own thread (liblinear releases the GIL) and reported as it finishes. Returns (C,
    figure by C, the chosen C's validation probabilities, its classifier: fitted on the training rows alone)."""
    task = task_named(schema.task)
    metric = task.metric_or_compared(metric)

    def fit_and_score(c: float) -> tuple[float, float, float, np.ndarray, NgramClassifier]:
        started = time.perf_counter()
        classifier = NgramClassifier.fit(features, train_x, train_y, len(schema.names), c, schema.task)
        probabilities = classifier.predict_proba_features(validation_x)
        answers = task.decide(probabilities)
        figure = score(validation_y, answers, schema.names, probabilities=probabilities, task=task)[metric]
        return c, figure, time.perf_counter() - started, probabilities, classifier

    figures, probabilities, classifiers = {}, {}, {}
    with ThreadPoolExecutor(max_workers=max(1, min(len(C_GRID), os.cpu_count() or 1))) as pool:
        for done in as_completed([pool.submit(fit_and_score, c) for c in C_GRID]):
            c, figure, seconds, probabilities[c], classifiers[c] = done.result()
            figures[c] = figure
            say(f"  C={c:<5} validation {metric} {figure:.4f} ({seconds:.0f}s)")
    direction = 1 if METRICS[metric].higher_is_better else -1
    best = max(C_GRID, key=lambda c: (direction * figures[c], -c))  # ties: the stronger regularisation
    return best, {str(c): figures[c] for c in C_GRID}, probabilities[best], classifiers[best]


def ngram_temperatures(task, classifier: NgramClassifier, x, labels) -> list[float] | None:
    """The n-gram model's temperatures (NgramClassifier.scaled's), fitted as the transformer's are
    (evaluation/calibration.py: each kept only where it lowers the split's ECE) on ``classifier``'s logits of ``x``,
    the rows of a labelled split it was not fitted on, at their ``labels`` (the records' labels). A target
    the classifier learned nothing of (a constant, Task.baseline_constant: no row of it in the training split) keeps
    1.0, as a refit on more rows may learn it. None when the task is not calibrated (regression), or when such a
    target shares the one temperature of a single-label model."""
    logits = classifier.logits_features(x)
    fitted = fit_temperatures(task, labels, logits)
    if fitted is None:
        return None
    kept = kept_if_ece_falls(task, labels, logits, fitted)
    constant = ~classifier.weights.any(axis=1)
    if not constant.any():
        return kept
    if len(kept) != len(constant):  # one temperature shared by every class
        return None
    return [1.0 if fixed else t for t, fixed in zip(kept, constant, strict=True)]


def calibrated_validation(
    task, classifier: NgramClassifier, x, labels, results: dict
) -> tuple[np.ndarray, list | None]:
    """(the chosen ``classifier``'s validation scores of ``x``, calibrated, and its temperatures, ngram_temperatures';
    None when there are none), the temperatures said and kept in ``results``."""
    temperatures = ngram_temperatures(task, classifier, x, labels)
    if temperatures is None:
        return classifier.predict_proba_features(x), None
    results["temperatures"] = temperatures
    say(calibration_line("the n-gram model's", temperatures, how="fitted on the validation split"))
    return classifier.scaled(temperatures).predict_proba_features(x), temperatures


def baseline_from_config(config: Config, out_dir: str | Path) -> dict:
    """The ``baseline`` command's work: read the configured training and test files (their summaries printed),
    then ``run_baseline`` into ``out_dir``. Returns its results; raises DataError on unreadable data."""
    schema = checked_schema(config)  # C is chosen by train.metric_for_best_model, as train keeps its epoch
    test = data_file(config, config.data.test_file) if config.data.test_file else None
    splits = load_splits(config, schema, data_file(config, config.data.train_file), test, show_progress=True)
    for report in splits.reports.values():
        say(report.summary())
    return run_baseline(config, schema, splits, out_dir)


def test_split_results(classifier, splits: Splits, schema: LabelSchema, out_dir: Path, thresholds) -> dict:
    """The baseline's scores on the test split, with the test rows' file and its digest (what evaluate compares models
    on, unless the file changed since); {} and a line saying so without a test split."""
    if not splits.test:
        logs.result("baseline: no test split, so no test figure (set data.test_file, or empty it to hold rows out)")
        return {}
    return {
        "test": score_test_split(classifier, splits, schema, out_dir=out_dir, thresholds=thresholds),
        "test_file": splits.test_file,
        "test_digest": file_digest(Path(splits.test_file)),
    }


def run_baseline(config: Config, schema: LabelSchema, splits: Splits, out_dir: str | Path) -> dict:
    """Fit the n-gram baseline on ``splits`` (C chosen on the validation split, the final fit on train and
    validation together), score the test split, save the artifact in ``out_dir``. Returns the results written to
    its metrics.json; raises ProjectError when the texts hold no n-gram."""
    started = time.perf_counter()
    training = splits.train + splits.validation  # every row but the test split's: the final fit uses them all
    say(f"baseline: word 1-2 and character 1-5 grams of {len(training):,} training texts ...")
    try:
        features, x = NgramFeatures.fit([record.text for record in training], record_pairs(training))
    except ValueError:  # scikit-learn: empty vocabulary
        raise ProjectError(
            "the training texts hold no word or character n-gram; the baseline has nothing to learn from"
        ) from None
    task = task_named(schema.task)
    labels = np.asarray([task.target(schema, record.label) for record in training])  # multi-label: multi-hot rows
    per_row = f", {features.size:,} features a pair" if features.pairs else ""
    say(f"  {features.terms:,} n-grams seen at least twice{per_row} ({time.perf_counter() - started:.0f}s)")
    results: dict = {
        "model": f"{task.baseline_name}, word 1-2 + char 1-5 grams",
        "features": features.size,
        "train_examples": len(training),
    }
    if splits.validation:
        held_out = len(splits.train)
        say(f"choosing C on the validation split ({len(splits.validation):,} rows): {', '.join(map(str, C_GRID))}")
        validation_labels = [record.label for record in splits.validation]  # the task's labels, as the records hold
        c, results["validation_score_by_c"], _, chosen = choose_c(
            features,
            x[:held_out],
            labels[:held_out],
            x[held_out:],
            labels[held_out:],
            schema,
            config.train.metric_for_best_model,
        )
        validation, temperatures = calibrated_validation(task, chosen, x[held_out:], validation_labels, results)
        thresholds = task.tune_thresholds(labels[held_out:], validation)
    else:
        c, thresholds, temperatures = DEFAULT_C, task.default_thresholds(schema), None
        say(f"no validation split: C={c}")
    say(f"final fit on all {len(training):,} training rows, C={c} ...")
    classifier = NgramClassifier.fit(features, x, labels, len(schema.names), c, schema.task)
    classifier = classifier if temperatures is None else classifier.scaled(temperatures)  # as the validation's
    results["c"] = c
    results["fit_seconds"] = round(time.perf_counter() - started, 1)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if thresholds is not None:  # multi-label: tuned on the validation split with the chosen C, kept for the final fit
        write_thresholds(out_dir, schema, thresholds)
    results.update(test_split_results(classifier, splits, schema, out_dir, thresholds))
    classifier.save(out_dir / NGRAM_WEIGHTS_FILE)
    schema.save(out_dir / LABELS_FILE)
    write_json(out_dir / TRAINING_CONFIG_FILE, config.to_dict())  # the text columns and normal form, for serving
    write_json(out_dir / METRICS_FILE, results)
    logs.result(
        f"baseline written to {out_dir} ({results['fit_seconds']:.0f}s); score it on any file with "
        f"`evaluate --model-dir {out_dir} --test-file FILE`"
    )
    return results


def score_test_split(
    classifier: NgramClassifier, splits: Splits, schema: LabelSchema, *, out_dir: Path, thresholds=None
) -> dict:
    """The fitted baseline's metrics on the test split: printed, and written as ``out_dir``'s results folder
    (report, confusion matrix, misclassified rows; multi-label decided at ``thresholds``). Returns them."""
    probabilities = classifier.predict_proba([record.text for record in splits.test], record_pairs(splits.test))
    task = task_named(schema.task)
    answers = task.decide(probabilities, thresholds)
    labels = [record.label for record in splits.test]
    metrics = score(labels, answers, schema.names, probabilities=probabilities, task=task)
    logs.result(metric_line(metrics, prefix="baseline_test_"))
    logs.result(classification_report(metrics))
    write_results(
        out_dir / RESULTS_DIR,
        metrics,
        schema,
        title="baseline, test",
        records=splits.test,
        probabilities=probabilities,
        thresholds=thresholds,
    )
    return metrics
