"""Evaluate an artifact on a labelled file: metrics, report, pictures, misclassified rows, the baseline's figure.

Any artifact: a trained transformer (at the precision it is served with: int8 on a CPU unless told otherwise)
or the n-gram baseline. Training's own evaluations go through ``evaluate_dataset``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from .. import logs
from ..answers import calibrated, mixed
from ..config import Config
from ..data.dataset import held_out_rows, load_project_file
from ..data.labels import LabelSchema
from ..data.report import Record
from ..errors import DataError
from ..model.artifact import RESULTS_DIR, read_history, read_metrics
from ..model.features import TokenizedDataset, record_pairs
from ..model.inference import best_device, load_predictor, predict_logits
from ..model.int8 import CALIBRATION_ROWS, Int8Model, export_int8
from ..tasks import task_named
from .calibration import expected_calibration_error
from .metrics import classification_report, metric_line, score, score_logits
from .paired import paired_drop_decision
from .reports import draw_reliability, write_results
from .verdict import baseline_score, verdict


def evaluate_dataset(
    model,
    dataset: TokenizedDataset,
    schema: LabelSchema,
    batch_size: int,
    pad_token_id: int,
    device=None,
    show_progress: bool = False,
    thresholds: list[float] | None = None,
) -> tuple[dict, np.ndarray]:
    """Metrics (with the mean loss) and logits of ``model`` on a labelled, tokenised dataset; multi-label answers
    are decided at ``thresholds`` (0.5 without)."""
    logits, loss = predict_logits(model, dataset, batch_size, pad_token_id, device, show_progress)
    metrics = score_logits(dataset.labels, logits, schema.names, thresholds, task=task_named(schema.task))
    metrics["loss"] = loss
    return metrics, logits


def compare_int8_to_fp32(
    model,
    dataset: TokenizedDataset,
    fp32: np.ndarray,
    *,
    schema: LabelSchema,
    batch_size: int,
    pad_token_id: int,
    max_drop: float,
    calibration_rows: list[list[int]],
    model_dir: Path,
    thresholds: list[float] | None = None,
    calibration_types: list[list[int]] | None = None,
    temperatures: list[float] | None = None,
    mix: tuple[np.ndarray, float] | None = None,
) -> dict:
    """Quantize the model into ``model_dir``'s int8 folder (model/int8.py, calibrated on ``calibration_rows``;
    ``calibration_types``: the rows' segment ids, for sentence pairs), classify ``dataset`` with it on the CPU, as
    served, and compare with its fp32 logits ``fp32`` (evaluate_dataset's); int8 may serve when it loses at most
    ``max_drop`` accuracy, decided in counts of flipped answers with a stated rule for too few rows
    (evaluation/paired.py). Multi-label: each (row, label) decision at ``thresholds`` is one answer, and the record
    holds the micro F1 of both (multi_label_int8_record). Both are scored as served: calibrated with ``temperatures``
    (None: as they are) and, for what ships mixed with the n-gram model, ``mix`` (its scores of the rows and the
    transformer's weight: answers.mixed). The record goes into the artifact's metrics.json."""
    export_int8(model, calibration_rows, pad_token_id, model_dir, calibration_types)
    int8_model = Int8Model(model_dir, getattr(model, "module", model).config)
    int8, _ = predict_logits(int8_model, dataset, batch_size, pad_token_id, torch.device("cpu"))
    fp32, int8 = calibrated(fp32, temperatures), calibrated(int8, temperatures)
    if mix is not None:  # the shipped scores, as logits again (Head.logits_of): the decisions are the mix's
        head = task_named(schema.task).head
        fp32, int8 = (head.logits_of(mixed(head.scores(values), *mix)) for values in (fp32, int8))
    return int8_record(dataset.labels, fp32, int8, schema=schema, max_drop=max_drop, thresholds=thresholds) | {
        "calibration_rows": min(len(calibration_rows), CALIBRATION_ROWS),
        "packed": int8_model.packed,  # several texts per row (model/int8.py), else one padded text per row
    }


def int8_record(
    labels, fp32: np.ndarray, int8: np.ndarray, *, schema: LabelSchema, max_drop: float, thresholds
) -> dict:
    """The int8 check's record for logits ``fp32`` and ``int8`` of rows with true ``labels``: the task's int8
    metric of both (Task.int8_metric) and the task's decision (Task.int8_decision: for classification the
    agreement of their decisions, one a row or one a (row, label) for multi-label, and the paired decision on them,
    evaluation/paired.py: drop, lost/won rows, bounds, resolved, rule, allowed)."""
    task = task_named(schema.task)
    name = task.int8_metric
    decision = task.int8_decision(list(labels), fp32, int8, thresholds, max_drop, paired_drop_decision)
    return {
        "metric": name,
        "fp32_score": score_logits(labels, fp32, schema.names, thresholds, task=task)[name],
        "int8_score": score_logits(labels, int8, schema.names, thresholds, task=task)[name],
        "max_drop": max_drop,
        "examples": len(labels),
        **decision,
    }


def test_records(config: Config, schema: LabelSchema, test_file: str | Path | None) -> tuple[list[Record], str, str]:
    """The labelled rows ``evaluate`` scores: ``test_file``'s (its summary said; a file with errors raises DataError),
    or without one the held-out test split of a one-file dataset (data.test_file empty: data/dataset.py's
    held_out_rows). Returns (records, the identity the verdict compares the baseline's on, a title)."""
    if test_file is None:
        records, identity = held_out_rows(config, schema)
        return records, identity, f"held-out test split of {config.data.train_file}"
    report = load_project_file(config, schema, Path(test_file), show_progress=True)
    logs.say(report.summary())
    if report.errors:
        raise DataError([report])
    return report.records, str(test_file), Path(test_file).name


def evaluate_model(
    config: Config,
    model_dir: str | Path,
    test_file: str | Path | None,
    out_dir: str | Path | None = None,
    batch_size: int | None = None,
    precision: str | None = None,
) -> dict:
    """Score any artifact (``model_dir``: a trained transformer at ``precision``, or the baseline) on a labelled
    ``test_file`` (None: the held-out test split of a one-file dataset): prints the summary, metric line, report and
    verdict; writes the results folder (``out_dir``, else the artifact's evaluation/), with the reliability diagram
    and the expected calibration error (``ece``) of the scores as served. Returns the metrics; raises
    DataError for a file with errors, ArtifactError for a folder that is not an artifact."""
    predictor = load_predictor(
        model_dir, precision or config.model.inference_precision, best_device(config.train.use_cpu)
    )
    records, test_file, title = test_records(config, predictor.schema, test_file)
    labels = [record.label for record in records]
    probabilities = predictor.probabilities(
        [record.text for record in records],
        batch_size or config.train.eval_batch_size,
        show_progress=True,
        text_pairs=record_pairs(records),
    )
    task = task_named(predictor.schema.task)
    answers = predictor.answers(probabilities)
    metrics = score(labels, answers, predictor.schema.names, probabilities=probabilities, task=task)
    metrics.update(loss=task.mean_loss(labels, probabilities), precision=predictor.precision, test_file=str(test_file))
    ece = expected_calibration_error(task, labels, probabilities)
    if ece is not None:  # of the scores as served: calibrated when the artifact has calibration.json
        metrics["ece"] = ece
    logs.result(metric_line(metrics, prefix="test_") + f" ({predictor.precision})")
    logs.result(classification_report(metrics))
    for line in verdict(metrics, baseline_score(config, test_file, task.compared_metric)):
        logs.result(line)
    folder = write_results(
        Path(out_dir) if out_dir else Path(model_dir) / RESULTS_DIR,
        metrics,
        predictor.schema,
        title=title,
        history=read_history(Path(model_dir)),
        records=records,
        probabilities=probabilities,
        best_metric=config.train.metric_for_best_model,
        thresholds=predictor.thresholds,
        validation=read_metrics(Path(model_dir)).get("validation"),
    )
    draw_reliability(folder, predictor.schema, labels, [("as served", probabilities)])
    logs.result(f"evaluation written to {folder}")
    return metrics
