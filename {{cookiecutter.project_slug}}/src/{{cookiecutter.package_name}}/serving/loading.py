"""The model the local server and ``predict --model-dir`` classify with: the handler's (a transformer, an n-gram
model, or both mixed), at the chosen precision."""

from __future__ import annotations

from pathlib import Path

import torch

from .. import logs
from ..errors import ArtifactError
from ..model.artifact import check_artifact
from ..model.inference import choose_precision
from . import handler


def load_served_model(model_dir: str | Path, precision: str = "auto") -> handler.LoadedModel:
    """handler.load at the precision choose_precision settles on (int8 on a CPU when train's check allowed it).
    Raises ArtifactError, one line naming the file, for a side file (thresholds.json, calibration.json,
    ensemble.json) or n-gram weights that do not hold what train writes: the handler's ValueError."""
    model_dir = check_artifact(model_dir)
    precision, note = choose_precision(model_dir, precision, torch.cuda.is_available())
    if note:
        logs.result(note, stderr=True)  # stdout may carry predictions
    try:
        return handler.load(model_dir, precision)
    except ValueError as error:
        raise ArtifactError(str(error)) from None
