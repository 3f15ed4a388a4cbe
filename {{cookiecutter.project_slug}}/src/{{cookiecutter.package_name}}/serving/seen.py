"""Whether ``predict``'s input was trained on: rows whose text (normalised as training normalised it; for sentence
pairs, both texts) is in the project's training file, whose accuracy measures memory rather than what a model
does on new text."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from .. import logs
from ..config import Config
from ..data.dataset import data_file
from ..data.normalize import Normalizer
from ..data.report import Record
from ..data.validation import ReadOptions, load_records
from ..errors import ProjectError


def training_rows_in(config: Config, records: Sequence[Record]) -> tuple[int, Path | None]:
    """How many of ``records`` have a (text, second text) of the configured training file (data.train_file, read
    with the project's data settings, labels not needed). Returns (that count, the training file), or (0, None)
    when the project has no readable training file: nothing is known then, and nothing is said."""
    if not records or not config.data.train_file:
        return 0, None
    try:
        path = data_file(config, config.data.train_file)
        report = load_records(
            path,
            ReadOptions.from_config(config.data, require_labels=False),
            None,
            Normalizer.from_config(config.data),
        )
    except (ProjectError, OSError):
        return 0, None
    trained = {(record.text, record.text_pair) for record in report.records}
    return sum((record.text, record.text_pair) in trained for record in records), path


def warn_training_rows(config: Config, records: Sequence[Record]) -> int:
    """Say, on stderr, how many input ``records`` are rows of the training file: the model was fitted (or chose its
    epoch) on them, so an accuracy over them is not a test figure. Returns that count (0: nothing said)."""
    seen, path = training_rows_in(config, records)
    if seen:
        share = "all" if seen == len(records) else f"{seen:,} of {len(records):,}"
        logs.result(
            f"warning: {share} input rows are rows of the training file {path.name}: the model was trained on "
            "them (its training or validation split), so any accuracy on them is not a test figure",
            stderr=True,
        )
    return seen
