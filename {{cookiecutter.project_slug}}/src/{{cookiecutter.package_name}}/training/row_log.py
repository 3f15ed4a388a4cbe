"""A debug hook: which training rows each batch trained on, so a test can check that an interrupted and resumed epoch
sees every row exactly once.

With the environment variable TRAIN_ROW_LOG set to a file, the training split's batches carry their row indices
(model/features.py: ROW_ID_KEY) and each batch, when it reaches the model (not when a resumed run skips it), appends
one JSON line to that file: ``{"rank": R, "rows": [i, ...]}``. Unset (always, outside tests), nothing changes.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from ..model.features import ROW_ID_KEY, TokenizedDataset
from .runtime import current_ranks

ROW_LOG_ENV = "TRAIN_ROW_LOG"


def row_log_path() -> Path | None:
    """The file TRAIN_ROW_LOG names, or None when it is unset or empty."""
    value = os.environ.get(ROW_LOG_ENV, "")
    return Path(value) if value else None


def mark_rows(dataset: TokenizedDataset, needed: bool = False) -> None:
    """Have ``dataset``'s items carry their row indices when the hook is on or the loss ``needed`` them (the
    distillation targets are looked up by row: training/distillation.py)."""
    dataset.with_row_ids = needed or row_log_path() is not None


def take_row_ids(batch: dict):
    """Remove the row indices from ``batch`` (the model takes no such input) and, when the hook is on, append them to
    the log as one line. Returns them (a long tensor (batch,)), or None when the batch carries none."""
    rows = batch.pop(ROW_ID_KEY, None)
    path = row_log_path()
    if rows is None or path is None:
        return rows
    line = json.dumps({"rank": current_ranks().rank, "rows": rows.tolist()})
    with path.open("a", encoding="utf-8") as handle:
        handle.write(line + "\n")
    return rows
