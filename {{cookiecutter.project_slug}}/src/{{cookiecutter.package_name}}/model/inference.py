"""Prediction: batched logits over a tokenised dataset (both training loops), and a Predictor for any artifact
this project writes (evaluate and predict --model-dir), at the precision chosen for it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from .. import logs
from ..answers import HEADS, calibrated, mixed, outputs_problem, read_transformer_weight
from ..config import LABELS_FILE
from ..data.labels import LabelSchema
from ..data.report import Record
from ..errors import ArtifactError, ConfigError
from ..tasks import task_named
from .artifact import (
    NGRAM_WEIGHTS_FILE,
    check_artifact,
    int8_verdict,
    is_ngram,
    load_for_inference,
    read_temperatures,
    read_thresholds,
)
from .features import DynamicPaddingCollator, TokenizedDataset, build_dataset
from .int8 import Int8Model
from .ngram import NgramClassifier


def best_device(use_cpu: bool = False) -> torch.device:
    """CUDA when a GPU is there and ``use_cpu`` is False, else the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() and not use_cpu else "cpu")


@torch.inference_mode()
def predict_logits(
    model,
    dataset: TokenizedDataset,
    batch_size: int,
    pad_token_id: int,
    device: torch.device | None = None,
    show_progress: bool = False,
) -> tuple[np.ndarray, float | None]:
    """Logits of shape (len(dataset), num_labels), float32, in dataset order, and the model's mean loss (nats per
    row: cross-entropy, or for multi-label binary cross-entropy per label) when the dataset has labels, else None.
    Batches of ``batch_size`` rows are length-sorted and padded with ``pad_token_id`` to their longest row (less
    padding); ``model`` runs in eval mode on ``device`` (default: where its parameters are) and goes back to training
    mode if it was in it."""
    device = device or next(model.parameters()).device
    order = sorted(range(len(dataset)), key=lambda i: len(dataset.input_ids[i]))
    loader = DataLoader(
        [dataset[i] for i in order], batch_size=batch_size, collate_fn=DynamicPaddingCollator(pad_token_id)
    )
    was_training = model.training
    model.eval()
    chunks, losses, counted = [], 0.0, 0
    for batch in tqdm(loader, desc="predicting", unit="batch", disable=not logs.bars(show_progress)):
        batch = {k: v.to(device) for k, v in batch.items()}
        output = model(**batch)
        chunks.append(output.logits.float().cpu())
        if "labels" in batch:
            losses += float(output.loss) * len(batch["labels"])
            counted += len(batch["labels"])
    model.train(was_training)
    logits = torch.cat(chunks).numpy() if chunks else np.zeros((0, model.config.num_labels), dtype=np.float32)
    restored = np.empty_like(logits)
    restored[order] = logits
    return restored, (losses / counted if counted else None)


def choose_precision(model_dir: Path, requested: str, on_gpu: bool) -> tuple[str, str]:
    """(precision, a note for people). auto: int8 on a CPU when the check train recorded allows it, else fp32;
    an explicit int8 that the check refuses, or int8 on a GPU, is an error naming the way out."""
    if requested == "int8" and on_gpu:
        raise ConfigError("model.inference_precision: int8 runs on the CPU only; use fp32 (or auto) on a GPU")
    if requested == "fp32" or (requested == "auto" and on_gpu) or is_ngram(model_dir):  # an n-gram model: NumPy
        return "fp32", ""
    problem = int8_verdict(model_dir)
    if problem is None:
        return "int8", ""
    if requested == "int8":
        raise ArtifactError(problem)
    return "fp32", f"note: serving in fp32, not int8: {problem}"


class Predictor:
    """Scores for texts, from any artifact this project writes (``thresholds``: a thresholded task's decision
    threshold a label, else None)."""

    schema: LabelSchema
    precision: str
    thresholds: list[float] | None = None

    def answers(self, probabilities: np.ndarray) -> list:
        """The answer of each row of ``probabilities`` (the task's decision: the most probable class id, or for
        multi-label the sorted tuple of the class ids whose probability reaches their threshold)."""
        return task_named(self.schema.task).decide(probabilities, self.thresholds)

    def probabilities(
        self,
        texts: list[str],
        batch_size: int = 64,
        show_progress: bool = False,
        text_pairs: list[str] | None = None,
    ) -> np.ndarray:
        """Class probabilities of ``texts`` (with their second texts ``text_pairs``, for a sentence-pair model),
        shape (len(texts), num_labels), rows in input order; ``batch_size`` texts per forward pass."""
        raise NotImplementedError


def check_fits(model_dir: Path, schema: LabelSchema, num_labels: int | None, ngram_classes: int | None) -> None:
    """Raise ArtifactError when labels.json's names do not fit the model's outputs (answers.outputs_problem: the
    handler's rule), before any side file is read by a count of outputs that is not the model's."""
    problem = outputs_problem(model_dir, list(schema.names), HEADS[schema.task], num_labels, ngram_classes)
    if problem:
        raise ArtifactError(problem)


class TransformerPredictor(Predictor):
    """A trained transformer at a precision (fp32 on ``device``, or the int8 OpenVINO model on the CPU) as a
    Predictor; its scores calibrated with the artifact's temperatures (calibration.json) when it has them."""

    def __init__(self, model_dir: Path, precision: str, device: torch.device):
        loaded = load_for_inference(model_dir, torch.device("cpu") if precision == "int8" else device)
        self.loaded, self.schema, self.precision = loaded, loaded.schema, precision
        check_fits(model_dir, self.schema, loaded.model.config.num_labels, None)
        self.thresholds = read_thresholds(model_dir, self.schema)
        self.temperatures = read_temperatures(model_dir, self.schema)
        if precision == "int8":
            self.loaded.model = Int8Model(model_dir, loaded.model.config)

    def probabilities(
        self,
        texts: list[str],
        batch_size: int = 64,
        show_progress: bool = False,
        text_pairs: list[str] | None = None,
    ) -> np.ndarray:
        """Class probabilities of ``texts`` (as pairs with ``text_pairs`` when given), shape (len(texts),
        num_labels): tokenised with the artifact's tokenizer and max_length, classified in length-grouped batches of
        ``batch_size``, calibrated with the artifact's temperatures."""
        loaded = self.loaded
        pairs = text_pairs if text_pairs is not None else [None] * len(texts)
        dataset = build_dataset(
            loaded.tokenizer,
            [Record(text, None, n, text_pair=pair) for n, (text, pair) in enumerate(zip(texts, pairs, strict=True), 1)],
            loaded.max_length,
            show_progress=show_progress,
        )
        logits, _ = predict_logits(
            loaded.model, dataset, batch_size, loaded.tokenizer.pad_token_id, loaded.device, show_progress
        )
        return task_named(self.schema.task).scores(calibrated(logits, self.temperatures))


class NgramPredictor(Predictor):
    """An n-gram model (the baseline's, or an ensemble's part) as a Predictor. Raises ArtifactError when its weights
    cannot be read."""

    def __init__(self, model_dir: Path):
        try:
            self.classifier = NgramClassifier.load(model_dir / NGRAM_WEIGHTS_FILE)  # never unpickled: no code runs
        except ValueError as error:
            raise ArtifactError(str(error)) from None
        self.schema, self.precision = LabelSchema.load(model_dir / LABELS_FILE), "fp32"
        check_fits(model_dir, self.schema, None, self.classifier.classes)
        self.thresholds = read_thresholds(model_dir, self.schema)

    def probabilities(
        self,
        texts: list[str],
        batch_size: int = 64,
        show_progress: bool = False,
        text_pairs: list[str] | None = None,
    ) -> np.ndarray:
        """Class probabilities of ``texts`` (with ``text_pairs``, for a baseline fitted on pairs), shape
        (len(texts), num_labels) (``batch_size`` is not used: scikit-learn takes them all)."""
        return self.classifier.predict_proba(texts, text_pairs)


class EnsemblePredictor(Predictor):
    """A transformer and an n-gram model whose scores are mixed at ``weight`` (answers.mixed: what train shipped,
    ensemble.json), decided at the artifact's thresholds (tuned on the mixed scores)."""

    def __init__(self, transformer: TransformerPredictor, ngram: NgramPredictor, weight: float):
        self.transformer, self.ngram, self.weight = transformer, ngram, weight
        self.schema, self.precision, self.thresholds = transformer.schema, transformer.precision, transformer.thresholds

    def probabilities(
        self,
        texts: list[str],
        batch_size: int = 64,
        show_progress: bool = False,
        text_pairs: list[str] | None = None,
    ) -> np.ndarray:
        """The mixed scores of ``texts`` (as pairs with ``text_pairs`` when given), shape (len(texts), outputs)."""
        transformer = self.transformer.probabilities(texts, batch_size, show_progress, text_pairs)
        return mixed(transformer, self.ngram.probabilities(texts, text_pairs=text_pairs), self.weight)


def load_predictor(model_dir: str | Path, precision: str = "auto", device: torch.device | None = None) -> Predictor:
    """Any artifact: an n-gram model, a transformer at the chosen precision (choose_precision), or both mixed at
    ensemble.json's weight. Raises ArtifactError for a folder that is not a model, or a side file that does not hold
    what train writes."""
    model_dir = check_artifact(model_dir)
    try:
        weight = read_transformer_weight(model_dir)
    except ValueError as error:
        raise ArtifactError(str(error)) from None
    ngram = NgramPredictor(model_dir) if weight < 1 else None
    transformer = None
    if weight > 0:
        device = device or best_device()
        precision, note = choose_precision(model_dir, precision, device.type == "cuda")
        if note:
            logs.result(note)
        transformer = TransformerPredictor(model_dir, precision, device)
    if transformer is None or ngram is None:
        return transformer or ngram
    return EnsemblePredictor(transformer, ngram, weight)
