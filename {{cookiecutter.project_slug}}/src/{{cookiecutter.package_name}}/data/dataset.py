"""The project's dataset: where its files are, its label schema, and the train / validation / test splits."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..config import CONFIG_FILE, LABELS_FILE, Config
from ..errors import DataError, LabelError
from .labels import LabelSchema
from .normalize import Normalizer
from .report import LoadReport, Record
from .splits import stratified_split, subset
from .validation import ReadOptions, load_records


@dataclass
class Splits:
    """The records of one run by split (train, validation, test) and the LoadReport of each file read."""

    train: list[Record]
    validation: list[Record]
    test: list[Record]
    reports: dict[str, LoadReport]


def load_schema(config: Config) -> LabelSchema:
    """The project's label schema, from data.labels_file. Raises LabelError when it is missing or invalid, or when
    data.label_separator (labels joined in one CSV/TSV cell) appears inside a label name."""
    schema = LabelSchema.load(config.path(config.data.labels_file))
    data = config.data
    if schema.multi_label and data.label_column and data.data_format != "jsonl":
        written = schema.names if schema.encoding == "name" else [str(i) for i in range(len(schema.names))]
        inside = [name for name in written if data.label_separator in name]
        if inside:
            raise LabelError(
                f"data.label_separator {data.label_separator!r} appears inside label(s) {', '.join(inside)} "
                f"({data.labels_file}); choose another in {CONFIG_FILE}"
            )
    return schema


def data_file(config: Config, name: str, channel_dir: str | None = None) -> Path:
    """A data file: inside a SageMaker channel folder when given, else under data_dir."""
    if channel_dir:
        candidate = Path(channel_dir) / Path(name).name
        if candidate.is_file():
            return candidate
        files = sorted(p for p in Path(channel_dir).iterdir() if p.is_file())
        if len(files) == 1:
            return files[0]
        return candidate
    path = Path(name)
    return path if path.is_absolute() or path.parent != Path(".") else config.path(config.data.data_dir) / name


def check_classes(report: LoadReport, policy: str) -> None:
    """A label with no training rows cannot be learned: an error, or a named warning (data.empty_class)."""
    if not report.records:
        return
    kind = "warning" if policy == "warn" else "error"
    for name, count in report.class_counts().items():
        if count == 0:
            report.add(
                0,
                kind,
                "empty_class",
                f"label {name!r} has no rows; every label in {LABELS_FILE} needs "
                "training rows (or set data.empty_class: warn)",
            )


def load_project_file(
    config: Config, schema: LabelSchema, path: Path, training: bool = False, show_progress: bool = False
) -> LoadReport:
    """One data file read with the project's settings (ReadOptions, Normalizer from the data section); ``training``:
    empty classes are checked (data.empty_class). Returns its LoadReport."""
    report = load_records(
        path,
        ReadOptions.from_config(config.data),
        schema,
        Normalizer.from_config(config.data),
        show_progress=show_progress,
    )
    if training:
        check_classes(report, config.data.empty_class)
    return report


def check_data(config: Config, show_progress: bool = True) -> list[LoadReport]:
    """Validate the configured train and test files (what ``prepare`` does); never raises for bad content."""
    schema = load_schema(config)
    reports = [
        load_project_file(
            config, schema, data_file(config, config.data.train_file), training=True, show_progress=show_progress
        )
    ]
    if config.data.test_file:
        test = load_project_file(config, schema, data_file(config, config.data.test_file), show_progress=show_progress)
        if any(p.reason == "missing_file" for p in test.errors):
            test.note(f'no test file? set data.test_file: "" in {CONFIG_FILE} to evaluate on the validation split')
        reports.append(test)
    return reports


def load_splits(
    config: Config, schema: LabelSchema, train_path: Path, test_path: Path | None, show_progress: bool = False
) -> Splits:
    """Train/validation/test records; raises DataError with every report when any file has errors."""
    reports = {"train": load_project_file(config, schema, train_path, training=True, show_progress=show_progress)}
    if test_path is not None:
        reports["test"] = load_project_file(config, schema, test_path, show_progress=show_progress)
    if any(report.errors for report in reports.values()):
        raise DataError(reports.values())
    data = config.data
    train = subset(reports["train"].records, data.max_rows, data.fraction, data.split_seed)
    train, validation = stratified_split(train, data.validation_ratio, data.split_seed)
    test = reports["test"].records if test_path is not None else []
    return Splits(train, validation, test, reports)
