"""Evaluate a model artifact on a labelled file: metrics, report, pictures, misclassified rows."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from .artifact import HISTORY_FILE, check_artifact, read_json
from .config import Config
from .data import DataError, ReadOptions, load_records
from .features import build_dataset
from .labels import LabelSchema
from .metrics import classification_metrics, classification_report, metric_line
from .normalize import Normalizer
from .predict_local import best_device, predict_dataset


def evaluate_model(config: Config, model_dir: str | Path, test_file: str | Path, out_dir: str | Path | None = None,
                   batch_size: int | None = None) -> dict:
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from .plots import plot_confusion_matrix, plot_learning_curves

    model_dir = check_artifact(model_dir)
    out_dir = Path(out_dir) if out_dir else model_dir / "evaluation"
    out_dir.mkdir(parents=True, exist_ok=True)
    schema = LabelSchema.load(model_dir / "labels.json")
    report = load_records(test_file, ReadOptions.from_config(config.data), schema, Normalizer.from_config(config.data))
    print(report.summary(), flush=True)
    if report.errors:
        raise DataError(report)
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForSequenceClassification.from_pretrained(model_dir).to(best_device(config.train.use_cpu))
    max_length = tokenizer.model_max_length if tokenizer.model_max_length < 100_000 else config.model.max_length
    dataset = build_dataset(tokenizer, report.records, max_length)
    logits, loss = predict_dataset(model, dataset, batch_size or config.train.eval_batch_size, tokenizer.pad_token_id,
                                   show_progress=True)
    predicted = logits.argmax(axis=1).tolist()
    metrics = classification_metrics(dataset.labels, predicted, schema.names)
    metrics["loss"] = loss
    metrics["test_file"] = str(test_file)
    print(metric_line(metrics, prefix="test_"), flush=True)
    text_report = classification_report(metrics)
    print(text_report, flush=True)
    (out_dir / "metrics.json").write_text(json.dumps(metrics, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    (out_dir / "report.txt").write_text(text_report + "\n", encoding="utf-8")
    plot_confusion_matrix(metrics["confusion_matrix"], list(schema.names), out_dir / "confusion_matrix.png")
    history_file = model_dir / HISTORY_FILE
    if history_file.is_file():
        plot_learning_curves(read_json(history_file), out_dir / "learning_curves.png")
    write_errors(out_dir / "errors.tsv", report.records, predicted, logits, schema)
    print(f"evaluation written to {out_dir}", flush=True)
    return metrics


def write_errors(path: Path, records, predicted, logits, schema: LabelSchema) -> int:
    """Misclassified rows: line, id, true and predicted label names, score, text."""
    import numpy as np

    shifted = logits - logits.max(axis=1, keepdims=True)
    probabilities = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
    count = 0
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
        writer.writerow(["line", "id", "true", "predicted", "score", "text"])
        for record, guess, probs in zip(records, predicted, probabilities, strict=True):
            if guess != record.label:
                writer.writerow([record.line, record.row_id, schema.names[record.label], schema.names[guess],
                                 f"{probs[guess]:.4f}", record.text])
                count += 1
    return count
