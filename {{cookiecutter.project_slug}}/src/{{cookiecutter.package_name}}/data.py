"""Read tsv / csv / jsonl files into validated records, with a report instead of a crash.

Every problem names the file and the 1-based line an editor shows. Nothing is dropped silently:
each dropped row is counted by reason and listed in the report.
"""

from __future__ import annotations

import csv
import json
import random
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .config import Config, DataConfig
from .labels import LabelError, LabelSchema
from .normalize import Normalizer

FORMATS = ("tsv", "csv", "jsonl")


class DataError(Exception):
    """Loading found errors; ``report`` holds every problem."""

    def __init__(self, report: LoadReport):
        self.report = report
        super().__init__("\n".join(report.problem_lines(kinds=("error",))))


@dataclass(frozen=True)
class Record:
    text: str
    label: int | None
    line: int
    row_id: str = ""


@dataclass(frozen=True)
class Problem:
    file: str
    line: int
    kind: str  # error | dropped | warning
    reason: str  # short code: empty_text, unknown_label, ...
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.kind}: {self.message}"


@dataclass
class LoadReport:
    file: str
    rows_read: int = 0
    records: list[Record] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    label_names: tuple[str, ...] = ()

    def add(self, line: int, kind: str, reason: str, message: str) -> None:
        self.problems.append(Problem(self.file, line, kind, reason, message))

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.kind == "error"]

    @property
    def dropped(self) -> Counter:
        return Counter(p.reason for p in self.problems if p.kind == "dropped")

    def problem_lines(self, kinds: tuple[str, ...] = ("error", "dropped", "warning")) -> list[str]:
        return [str(p) for p in self.problems if p.kind in kinds]

    def class_counts(self) -> dict[str, int]:
        counts = Counter(r.label for r in self.records if r.label is not None)
        return {name: counts.get(i, 0) for i, name in enumerate(self.label_names)}

    def length_percentiles(self) -> dict[str, int]:
        lengths = sorted(len(r.text) for r in self.records)
        if not lengths:
            return {}
        return {f"p{q}": lengths[min(len(lengths) - 1, (len(lengths) * q) // 100)] for q in (50, 90, 99)} | {
            "max": lengths[-1]
        }

    def summary(self) -> str:
        lines = [f"{self.file}: read {self.rows_read} rows, kept {len(self.records)}"]
        for reason, count in sorted(self.dropped.items()):
            where = [p.line for p in self.problems if p.kind == "dropped" and p.reason == reason]
            shown = ", ".join(str(n) for n in where[:10]) + (" ..." if len(where) > 10 else "")
            lines.append(f"  dropped {count} ({reason}) at line(s) {shown}")
        warnings = [p for p in self.problems if p.kind == "warning"]
        if warnings:
            lines.append(f"  warnings: {len(warnings)}")
        if self.errors:
            lines.append(f"  errors: {len(self.errors)}")
        counts = self.class_counts()
        if counts:
            total = sum(counts.values()) or 1
            balance = ", ".join(f"{name}={n} ({100 * n / total:.1f}%)" for name, n in counts.items())
            lines.append(f"  classes: {balance}")
        percentiles = self.length_percentiles()
        if percentiles:
            lines.append("  text length (chars): " + ", ".join(f"{k}={v}" for k, v in percentiles.items()))
        return "\n".join(lines)


def _decoded_lines(raw: bytes, report: LoadReport) -> list[str]:
    """Split bytes into lines and decode each as UTF-8 (BOM allowed), reporting undecodable lines."""
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    lines = raw.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    decoded = []
    for number, line in enumerate(lines, start=1):
        line = line[:-1] if line.endswith(b"\r") else line
        try:
            decoded.append(line.decode("utf-8"))
        except UnicodeDecodeError as error:
            bad = line[error.start : error.start + 1].hex()
            report.add(number, "error", "encoding", f"not valid UTF-8 (byte 0x{bad} at column {error.start + 1})")
            decoded.append(line.decode("utf-8", errors="replace"))
    return decoded


def _rows_tsv(lines: list[str], report: LoadReport) -> Iterator[tuple[int, dict | None]]:
    """NSMC style: tab-separated, no quoting at all (reviews contain quote marks)."""
    if not lines:
        return
    header = lines[0].split("\t")
    yield 1, {"__header__": header}
    for number, line in enumerate(lines[1:], start=2):
        if line == "":
            continue
        fields = line.split("\t")
        if len(fields) != len(header):
            report.add(number, "error", "field_count",
                       f"expected {len(header)} tab-separated fields, found {len(fields)}")
            yield number, None
            continue
        yield number, dict(zip(header, fields, strict=True))


def _rows_csv(lines: list[str], report: LoadReport) -> Iterator[tuple[int, dict | None]]:
    """RFC 4180 CSV with quoting; a record may span lines, reported at the line where it starts."""
    source = iter(line + "\n" for line in lines)
    reader = csv.reader(source, strict=True)
    header: list[str] | None = None
    last_line = 0
    while True:
        start = last_line + 1
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            report.add(start, "error", "csv_syntax", f"broken CSV quoting ({error}); check the quote that starts here")
            return
        last_line = reader.line_num
        if header is None:
            header = fields
            yield 1, {"__header__": header}
            continue
        if not fields:
            continue
        if len(fields) != len(header):
            report.add(start, "error", "field_count",
                       f"expected {len(header)} comma-separated fields, found {len(fields)}")
            yield start, None
            continue
        yield start, dict(zip(header, fields, strict=True))


def _rows_jsonl(lines: list[str], report: LoadReport) -> Iterator[tuple[int, dict | None]]:
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as error:
            report.add(number, "error", "json_syntax", f"not valid JSON: {error.msg} at column {error.colno}")
            yield number, None
            continue
        if not isinstance(value, dict):
            report.add(number, "error", "json_shape", f"expected a JSON object, found {type(value).__name__}")
            yield number, None
            continue
        yield number, value


ROW_READERS = {"tsv": _rows_tsv, "csv": _rows_csv, "jsonl": _rows_jsonl}


@dataclass(frozen=True)
class ReadOptions:
    data_format: str
    text_column: str
    label_column: str
    id_column: str = ""
    empty_text: str = "drop"
    unknown_label: str = "error"
    duplicate_ids: str = "report"
    require_labels: bool = True

    @classmethod
    def from_config(cls, data: DataConfig, require_labels: bool = True) -> ReadOptions:
        return cls(data.data_format, data.text_column, data.label_column, data.id_column, data.empty_text,
                   data.unknown_label, data.duplicate_ids, require_labels)


def load_records(path: str | Path, options: ReadOptions, schema: LabelSchema | None,
                 normalizer: Normalizer | None = None) -> LoadReport:
    """Read and validate one file. Never raises for bad content: check ``report.errors``."""
    path = Path(path)
    report = LoadReport(file=str(path), label_names=schema.names if schema else ())
    if not path.is_file():
        report.add(0, "error", "missing_file", "file does not exist")
        return report
    data_format = options.data_format
    if data_format not in FORMATS:
        report.add(0, "error", "format", f"unknown data format {options.data_format!r}; use one of {FORMATS}")
        return report
    normalizer = normalizer or Normalizer("none", False)
    lines = _decoded_lines(path.read_bytes(), report)
    seen_ids: dict[str, int] = {}
    has_labels = True  # jsonl decides per row; tsv/csv by the header
    for number, row in ROW_READERS[data_format](lines, report):
        if row is not None and "__header__" in row:
            header = row["__header__"]
            needed = [options.text_column] + ([options.label_column] if options.require_labels else [])
            needed += [options.id_column] if options.id_column else []
            missing = [c for c in needed if c not in header]
            if missing:
                report.add(1, "error", "missing_column",
                           f"missing column(s) {missing}; the header has {header}")
                return report
            has_labels = options.label_column in header
            continue
        if row is None:
            report.rows_read += 1
            continue
        report.rows_read += 1
        record = _validate_row(row, number, options, schema if has_labels else None, normalizer, report)
        if record is None:
            continue
        if options.id_column and record.row_id:
            first = seen_ids.setdefault(record.row_id, number)
            if first != number:
                message = f"duplicate id {record.row_id!r} (first seen at line {first})"
                if options.duplicate_ids == "error":
                    report.add(number, "error", "duplicate_id", message)
                    continue
                if options.duplicate_ids == "drop":
                    report.add(number, "dropped", "duplicate_id", message)
                    continue
                report.add(number, "warning", "duplicate_id", message)
        report.records.append(record)
    return report


def _validate_row(row: dict, number: int, options: ReadOptions, schema: LabelSchema | None,
                  normalizer: Normalizer, report: LoadReport) -> Record | None:
    if options.text_column not in row:
        report.add(number, "error", "missing_field", f"row has no {options.text_column!r} field")
        return None
    raw_text = row[options.text_column]
    if raw_text is not None and not isinstance(raw_text, str):
        report.add(number, "error", "text_type", f"text is a {type(raw_text).__name__}, not a string: {raw_text!r}")
        return None
    text = normalizer(raw_text or "")
    if not text.strip():
        if options.empty_text == "error":
            report.add(number, "error", "empty_text", "text is empty")
        else:
            report.add(number, "dropped", "empty_text", "text is empty")
        return None
    label = None
    if schema is not None:
        if options.label_column not in row:
            if not options.require_labels:
                return Record(text=text, label=None, line=number, row_id=_row_id(row, options))
            report.add(number, "error", "missing_field", f"row has no {options.label_column!r} field")
            return None
        try:
            label = schema.to_id(row[options.label_column])
        except LabelError as error:
            kind = "dropped" if options.unknown_label == "drop" else "error"
            report.add(number, kind, "unknown_label", str(error))
            return None
    return Record(text=text, label=label, line=number, row_id=_row_id(row, options))


def _row_id(row: dict, options: ReadOptions) -> str:
    return str(row.get(options.id_column, "")) if options.id_column else ""


@dataclass
class Splits:
    train: list[Record]
    validation: list[Record]
    test: list[Record]
    reports: dict[str, LoadReport]


def stratified_split(records: list[Record], ratio: float, seed: int) -> tuple[list[Record], list[Record]]:
    """Seeded, per-class split; returns (kept, held_out) with ``ratio`` of each class held out."""
    if not 0 <= ratio < 1:
        raise ValueError(f"validation_ratio must be in [0, 1), got {ratio}")
    by_class: dict[int | None, list[int]] = defaultdict(list)
    for index, record in enumerate(records):
        by_class[record.label].append(index)
    rng = random.Random(seed)
    held: set[int] = set()
    for label in sorted(by_class, key=lambda x: (x is None, x)):
        indices = by_class[label]
        rng.shuffle(indices)
        count = round(len(indices) * ratio)
        if ratio > 0 and count == 0 and len(indices) >= 2:
            count = 1
        held.update(indices[:count])
    kept = [r for i, r in enumerate(records) if i not in held]
    held_out = [r for i, r in enumerate(records) if i in held]
    return kept, held_out


def subset(records: list[Record], max_rows: int = 0, fraction: float = 1.0, seed: int = 42) -> list[Record]:
    """A stratified, seeded subset for quick runs: ``fraction`` of the rows, then at most ``max_rows``."""
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}")
    target = round(len(records) * fraction)
    if max_rows > 0:
        target = min(target, max_rows)
    if target >= len(records):
        return records
    _, chosen = stratified_split(records, target / len(records), seed)
    return chosen


def load_schema(config: Config) -> LabelSchema:
    return LabelSchema.load(config.path(config.data.labels_file))


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


def load_splits(config: Config, schema: LabelSchema, train_path: Path, test_path: Path | None) -> Splits:
    """Train/validation/test records; raises DataError with the full report on any error."""
    options = ReadOptions.from_config(config.data)
    normalizer = Normalizer.from_config(config.data)
    reports = {"train": load_records(train_path, options, schema, normalizer)}
    if test_path is not None:
        reports["test"] = load_records(test_path, options, schema, normalizer)
    for report in reports.values():
        if report.errors:
            raise DataError(report)
    train = subset(reports["train"].records, config.data.max_rows, config.data.fraction, config.data.split_seed)
    train, validation = stratified_split(train, config.data.validation_ratio, config.data.split_seed)
    test = reports["test"].records if test_path is not None else []
    return Splits(train, validation, test, reports)

