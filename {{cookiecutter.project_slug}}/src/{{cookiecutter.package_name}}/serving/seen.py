"""Whether ``predict``'s input was trained on: rows whose text (normalised as training normalised it; for sentence
pairs, both texts) is in the training or validation split ``train`` draws from the project's training file, whose
accuracy measures memory rather than what a model does on new text; and whether the input is the shipped sample."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from .. import logs
from ..config import Config
from ..data.dataset import data_file, load_schema, load_splits
from ..data.report import Record
from ..data.sample import sample_note, shipped_sample
from ..errors import ProjectError

Key = tuple[str, str | None]


def split_keys(config: Config) -> tuple[set[Key], set[Key], Path] | None:
    """(text, second text) of the rows a model of this project trains on (training and validation splits, as
    ``train`` draws them), of the rows held out of a one-file dataset (empty with a test file), and the training
    file. None when the training file cannot be read as the project reads it (nothing is known then)."""
    if not config.data.train_file:
        return None
    try:
        path = data_file(config, config.data.train_file)
        splits = load_splits(config, load_schema(config), path, None)  # the test file itself is not needed
    except (ProjectError, OSError):
        return None

    def keys(records: Sequence[Record]) -> set[Key]:
        return {(record.text, record.text_pair) for record in records}

    return keys([*splits.train, *splits.validation]), keys(splits.test), path


def warn_training_rows(config: Config, records: Sequence[Record], input_file: Path | None = None) -> int:
    """Say, on stderr, how many input ``records`` are rows the model was trained on (its training or validation
    split): an accuracy over them is not a test figure; for a one-file dataset, also how many are its held-out test
    rows. Says when ``input_file`` is the shipped sample. Returns the count of trained-on rows (0: nothing said)."""
    if input_file is not None and shipped_sample(input_file, config.path(".")):
        logs.result(f"note: {sample_note(input_file)}", stderr=True)  # a warning: shown under --quiet too
    known = split_keys(config) if records else None
    if known is None:
        return 0
    trained, test, path = known
    seen = sum((record.text, record.text_pair) in trained for record in records)
    if seen:
        share = "all" if seen == len(records) else f"{seen:,} of {len(records):,}"
        logs.result(
            f"warning: {share} input rows are rows the model was trained on (the training or validation split of "
            f"{path.name}), so any score on them is not a test figure",
            stderr=True,
        )
        held_out = sum((record.text, record.text_pair) in test for record in records)
        if held_out and not config.data.test_file:
            logs.result(
                f"note: {held_out:,} input rows are the test rows held out of {path.name} (data.test_fraction)",
                stderr=True,
            )
    return seen
