"""Evaluate a model artifact on a labelled file: metrics, report, pictures, misclassified rows."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..config import Config
from ..data.labels import LabelSchema
from ..data.normalize import Normalizer
from ..data.validation import ReadOptions, load_records
from ..errors import DataError
from ..model.artifact import RESULTS_DIR, load_for_inference, read_history
from ..model.features import TokenizedDataset, build_dataset
from ..model.inference import best_device, predict_logits, softmax
from .metrics import classification_report, metric_line, score_logits
from .reports import write_results
from .verdict import baseline_accuracy, verdict


def evaluate_dataset(
    model,
    dataset: TokenizedDataset,
    schema: LabelSchema,
    batch_size: int,
    pad_token_id: int,
    device=None,
    show_progress: bool = False,
) -> tuple[dict, np.ndarray]:
    """Metrics (with the mean loss) and logits of ``model`` on a labelled, tokenised dataset."""
    logits, loss = predict_logits(model, dataset, batch_size, pad_token_id, device, show_progress)
    metrics = score_logits(dataset.labels, logits, schema.names)
    metrics["loss"] = loss
    return metrics, logits


def evaluate_model(
    config: Config,
    model_dir: str | Path,
    test_file: str | Path,
    out_dir: str | Path | None = None,
    batch_size: int | None = None,
) -> dict:
    loaded = load_for_inference(model_dir, best_device(config.train.use_cpu))
    report = load_records(
        test_file,
        ReadOptions.from_config(config.data),
        loaded.schema,
        Normalizer.from_config(config.data),
        show_progress=True,
    )
    print(report.summary(), flush=True)
    if report.errors:
        raise DataError([report])
    dataset = build_dataset(loaded.tokenizer, report.records, loaded.max_length)
    metrics, logits = evaluate_dataset(
        loaded.model,
        dataset,
        loaded.schema,
        batch_size or config.train.eval_batch_size,
        loaded.tokenizer.pad_token_id,
        loaded.device,
        show_progress=True,
    )
    metrics["test_file"] = str(test_file)
    print(metric_line(metrics, prefix="test_"), flush=True)
    print(classification_report(metrics), flush=True)
    for line in verdict(metrics, baseline_accuracy(config, test_file)):
        print(line, flush=True)
    folder = write_results(
        Path(out_dir) if out_dir else Path(model_dir) / RESULTS_DIR,
        metrics,
        loaded.schema,
        title=f"{Path(test_file).name}",
        history=read_history(Path(model_dir)),
        records=report.records,
        probabilities=softmax(logits),
    )
    print(f"evaluation written to {folder}", flush=True)
    return metrics
