"""The project's dataset: where its files are, its label schema, and the train / validation / test splits."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .. import logs
from ..answers import UNSURE
from ..config import CONFIG_FILE, LABELS_FILE, Config
from ..errors import ConfigError, DataError, LabelError
from ..tasks import task_named
from .labels import LabelSchema
from .normalize import Normalizer
from .repeats import note_all
from .report import LoadReport, Record
from .sample import sample_note, shipped_sample
from .splits import stratified_split, subset
from .validation import ReadOptions, load_records


@dataclass
class Splits:
    """The records of one run by split (train, validation, test), the LoadReport of each file read, and where the
    test rows come from (``test_file``: the test file, or the record of the rows held out of the training file; what
    the verdict compares a model and the baseline on; empty without a test split)."""

    train: list[Record]
    validation: list[Record]
    test: list[Record]
    reports: dict[str, LoadReport]
    test_file: str = ""


HELD_OUT_FILE = "held_out_test.tsv"  # under data.prepared_dir: the held-out test rows of a one-file dataset


def load_schema(config: Config) -> LabelSchema:
    """The project's label schema, from data.labels_file. Raises LabelError when it is missing or invalid, or when
    data.label_separator (labels joined in one CSV/TSV cell) appears inside a label name."""
    path = config.path(config.data.labels_file)
    if not path.is_file() and not Path(config.data.labels_file).is_absolute():
        raise LabelError(
            f"label schema {path} does not exist (data.labels_file {config.data.labels_file!r}: relative paths are "
            f"read from the config file's folder, {config.root})"
        )
    schema = LabelSchema.load(path)
    problem = task_named(schema.task).separator_problem(schema, config.data)
    if problem:
        raise LabelError(f"{problem} ({config.data.labels_file}); choose another in {CONFIG_FILE}")
    return schema


def checked_schema(config: Config) -> LabelSchema:
    """The project's label schema, once train.metric_for_best_model is known to be scored for its task and no label
    is named like an abstention's answer when the model may abstain. Raises LabelError (data/dataset.py's
    load_schema), or ConfigError naming the task's default metric or the clashing label."""
    schema = load_schema(config)
    if (config.model.min_confidence or config.model.target_accuracy) and UNSURE in schema.names:
        raise ConfigError(
            f"model.min_confidence / target_accuracy: a label is named {UNSURE!r}, the answer of an abstention, so "
            f"the two could not be told apart; rename that label ({LABELS_FILE} and your files) or leave both at 0"
        )
    name = config.train.metric_for_best_model
    if name not in task_named(schema.task).metric_names:
        raise ConfigError(
            f"train.metric_for_best_model: {name!r} is not scored for a {schema.task} task; use "
            f"{task_named(schema.task).default_metric!r} (see `config` for the choices)"
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
    empty classes are checked (data.empty_class). A file that is the shipped sample gets a note saying so. Returns its
    LoadReport."""
    report = load_records(
        path,
        ReadOptions.from_config(config.data),
        schema,
        Normalizer.from_config(config.data),
        show_progress=show_progress,
    )
    if shipped_sample(path, config.path(".")):
        report.note(sample_note(path))
    if training:
        check_classes(report, config.data.empty_class)
    return report


def held_out_path(config: Config) -> Path:
    """Where the held-out test rows of a one-file dataset are recorded (data.prepared_dir/HELD_OUT_FILE)."""
    return config.path(config.data.prepared_dir) / HELD_OUT_FILE


def record_held_out(config: Config, source: str, test: list[Record]) -> str:
    """Write the held-out rows' lines and ids (UTF-8 TSV, ``#`` lines say how they were chosen) to held_out_path,
    rewritten only when they changed. Returns a clause for the note: where they are recorded, and whether they
    differ from the rows recorded before (then results of earlier runs were scored on other rows)."""
    data, path = config.data, held_out_path(config)
    content = (
        f"# held-out test rows of {source}: data.test_fraction {data.test_fraction} of its rows, data.split_seed "
        f"{data.split_seed}, stratified, rows sharing a text kept together; every command recomputes them\n"
        "line\tid\n" + "".join(f"{r.line}\t{r.row_id}\n" for r in sorted(test, key=lambda r: r.line))
    )
    try:
        before = path.read_text(encoding="utf-8") if path.is_file() else None
        if before == content:
            return f"recorded in {path}"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
    except OSError as error:  # a read-only code folder (a SageMaker job): the rows are recomputed anyway
        return f"not recorded ({path}: {error.strerror})"
    if before is None:
        return f"recorded in {path}"
    return (
        f"recorded in {path}; they differ from the rows recorded before, so results from before (a baseline) were "
        "scored on other rows"
    )


def hold_out_test(config: Config, report: LoadReport, strata=None) -> tuple[list[Record], list[Record], str]:
    """A one-file dataset (data.test_file empty): hold data.test_fraction of ``report``'s records out as the test
    split (stratified, grouped by text, seeded: the same rows for every command), record them and add a note saying
    so to ``report``; ``strata``: the task's (Task.strata). Returns (the remaining records, the test records, the
    record's path). Raises ConfigError for a fraction out of range."""
    data = config.data
    rest, test = stratified_split(
        report.records, data.test_fraction, data.split_seed, key="data.test_fraction", strata=strata
    )
    recorded = record_held_out(config, report.file, test)
    report.note(
        f"test split: {len(test):,} rows held out of this file (data.test_fraction {data.test_fraction}, "
        f"data.split_seed {data.split_seed}; data.test_file is empty), {recorded}; baseline, train and evaluate "
        "score on these rows"
    )
    return rest, test, str(held_out_path(config))


def read_files(
    config: Config, schema: LabelSchema, train_path: Path, test_path: Path | None, show_progress: bool = False
) -> dict[str, LoadReport]:
    """The training file's report ("train") and the test file's ("test", when ``test_path`` is given), with notes
    on repeated texts and texts the two files share (data/repeats.py). Never raises for bad content."""
    reports = {"train": load_project_file(config, schema, train_path, training=True, show_progress=show_progress)}
    if test_path is not None:
        reports["test"] = load_project_file(config, schema, test_path, show_progress=show_progress)
    note_all(reports, held_out_test=not config.data.test_file)
    return reports


def check_data(config: Config, show_progress: bool = True) -> list[LoadReport]:
    """Validate the configured train and test files (what ``prepare`` does); with an empty data.test_file, hold out
    and record the test split of the training file as every command will. Never raises for bad content."""
    schema = load_schema(config)
    test_path = data_file(config, config.data.test_file) if config.data.test_file else None
    reports = read_files(config, schema, data_file(config, config.data.train_file), test_path, show_progress)
    if "test" in reports and any(p.reason == "missing_file" for p in reports["test"].errors):
        reports["test"].note(
            f'no test file? set data.test_file: "" in {CONFIG_FILE} to hold data.test_fraction of the training '
            "file out as the test split"
        )
    if test_path is None and not reports["train"].errors:
        hold_out_test(config, reports["train"], task_named(schema.task).strata)
    return list(reports.values())


def load_splits(
    config: Config, schema: LabelSchema, train_path: Path, test_path: Path | None, show_progress: bool = False
) -> Splits:
    """Train/validation/test records: the test file's rows, or with an empty data.test_file the rows held out of the
    training file (hold_out_test); validation held out of the rest (stratified, grouped by text). Raises DataError
    with every report when any file has errors."""
    reports = read_files(config, schema, train_path, test_path, show_progress)
    if any(report.errors for report in reports.values()):
        raise DataError(reports.values())
    data, strata = config.data, task_named(schema.task).strata
    records, test, test_file = reports["train"].records, [], ""
    if test_path is not None:
        test, test_file = reports["test"].records, reports["test"].file
    elif not data.test_file:
        records, test, test_file = hold_out_test(config, reports["train"], strata)
    train = subset(records, data.max_rows, data.fraction, data.split_seed, strata)
    train, validation = stratified_split(train, data.validation_ratio, data.split_seed, strata=strata)
    return Splits(train, validation, test, reports, test_file)


def held_out_rows(config: Config, schema: LabelSchema) -> tuple[list[Record], str]:
    """The held-out test rows of a one-file dataset, as every command computes them, and the record's path; says the
    training file's summary (with the note naming the rows). Raises DataError when the training file has errors."""
    splits = load_splits(config, schema, data_file(config, config.data.train_file), None, show_progress=True)
    logs.say(splits.reports["train"].summary())
    return splits.test, splits.test_file
