"""What a training loop is given: everything about one run, built once by run.py."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ..config import Config
from ..data.labels import LabelSchema
from ..model.features import TokenizedDataset
from .class_weights import ClassWeights
from .distillation import Teacher
from .interrupts import StopSignals
from .runtime import Printer, Ranks
from .tracking import Tracker


@dataclass(kw_only=True)
class TrainingRun:
    """Everything a training loop needs, built once per run."""

    config: Config
    schema: LabelSchema
    model: Any
    tokenizer: Any
    train_ds: TokenizedDataset
    val_ds: TokenizedDataset
    test_ds: TokenizedDataset
    tracker: Tracker
    device: torch.device
    precision: str
    ranks: Ranks
    say: Printer
    checkpoint_dir: Path
    stops: StopSignals  # SIGINT / SIGTERM and the time-based checkpoint's clock, polled after each optimizer step
    class_weights: ClassWeights  # train.class_weights, settled from the training split's labels
    teacher: Teacher  # train.distillation_alpha: the n-gram model's cross-fitted scores of the training split

    def loss_records(self) -> dict:
        """metrics.json's records of the loss: its ``class_weights`` and its teacher (``distillation``)."""
        return {"class_weights": self.class_weights.record(), "distillation": self.teacher.record()}

    def loss_weights(self):
        """The loss's class weights (float32, (num_outputs,)) on the training device, or None when unweighted."""
        return self.class_weights.tensor(self.device)
