"""Read one data file into validated records: every row is kept, dropped with a reason, or reported.

Never raises for bad content: the returned LoadReport holds every problem by file and line.
"""

from __future__ import annotations

import difflib
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from tqdm.auto import tqdm

from .. import logs
from ..answers import LABEL_JOINER, SINGLE_LABEL
from ..config import CONFIG_FILE, DataConfig
from ..errors import LabelError
from ..format_registry import FORMAT_NAMES, FORMATS
from ..tasks import task_named
from .encodings import decode
from .labels import LabelSchema, ScoreLabelError
from .normalize import Normalizer
from .readers import reader
from .report import LoadReport, Record, shorten

PROGRESS_MIN_LINES = 50_000
SHOWN_COLUMNS = 12


@dataclass(frozen=True)
class ReadOptions:
    """How to read a data file: format, the text, label and id columns, the rules for empty texts, unknown labels and
    duplicate ids, the encoding, whether labels are required, the second text's column (sentence pairs; empty: none)
    the separator of several labels in one CSV/TSV cell (multi-label), and for an Excel file the sheet (empty: the
    first) and the row holding the column names."""

    data_format: str
    text_column: str
    label_column: str
    id_column: str = ""
    empty_text: str = "drop"
    unknown_label: str = "error"
    duplicate_ids: str = "report"
    require_labels: bool = True
    encoding: str = "auto"
    text_pair_column: str = ""
    label_separator: str = LABEL_JOINER
    sheet_name: str = ""
    header_row: int = 1

    def __post_init__(self) -> None:
        # column names in NFC, as headers and JSON keys are read (column_name): a name typed in NFD still matches
        for name in ("text_column", "label_column", "id_column", "text_pair_column"):
            object.__setattr__(self, name, column_name(getattr(self, name)))

    @classmethod
    def from_config(cls, data: DataConfig, require_labels: bool = True) -> ReadOptions:
        """The options the data section describes; ``require_labels`` False for unlabelled input (predict)."""
        return cls(
            data.data_format,
            data.text_column,
            data.label_column,
            data.id_column,
            data.empty_text,
            data.unknown_label,
            data.duplicate_ids,
            require_labels,
            data.encoding,
            data.text_pair_column,
            data.label_separator,
            data.sheet_name,
            data.header_row,
        )


def column_name(name: str) -> str:
    """A header's column name (or a JSON key, or a configured column) as it is matched: stripped, in NFC, so that
    decomposed Hangul (NFD, from macOS) matches the same name typed in NFC, as label names do."""
    return unicodedata.normalize("NFC", name.strip()) if isinstance(name, str) else name


def _describe_header(header: list[str]) -> str:
    shown = [shorten(name, 30) for name in header[:SHOWN_COLUMNS]]
    more = f" and {len(header) - SHOWN_COLUMNS} more" if len(header) > SHOWN_COLUMNS else ""
    return "[" + ", ".join(shown) + "]" + more


def label_columns(options: ReadOptions, schema: LabelSchema | None) -> list[str]:
    """The columns (or JSON keys) labels are read from: data.label_column, or for a multi-label schema with no
    label column one 0/1 column per label name (UnSmile style); [] when labels are not read."""
    if schema is None:
        return [options.label_column] if options.label_column else []
    return task_named(schema.task).label_columns(schema, options.label_column)


PER_LABEL_COLUMN = "a 0/1 column per label name"  # a multi-label file without data.label_column (UnSmile style)


def header_fix(keys: list[str]) -> str:
    """How to mend a header that lacks the columns of ``keys`` (config keys, or PER_LABEL_COLUMN): set the keys in
    config.yaml; a label's own 0/1 column is named by the label schema, so rename one or the other."""
    settable = list(dict.fromkeys(key for key in keys if key != PER_LABEL_COLUMN))
    fixes = [f"Set {' and '.join(settable)} in {CONFIG_FILE} to the column(s) holding them"] if settable else []
    if PER_LABEL_COLUMN in keys:
        fixes.append("Rename the file's column(s) to the label names of the label schema (data.labels_file)")
    return "; ".join(fixes)


def near_column(column: str, spare: list[str]) -> str:
    """``"; the file has 'X'"`` for the header column X (of ``spare``, those nothing reads) most like the missing
    ``column`` (difflib, as a misspelt config key is matched), else ""."""
    close = difflib.get_close_matches(column, spare, n=1, cutoff=0.6)
    return f"; the file has {shorten(close[0])}" if close else ""


def _check_header(
    header: list[str], options: ReadOptions, report: LoadReport, schema: LabelSchema | None = None
) -> bool:
    """False when a needed column is missing (then no row can be read); notes an absent id column."""
    keys = [("data.text_column", options.text_column)]
    if options.text_pair_column:
        keys.append(("data.text_pair_column", options.text_pair_column))
    if options.require_labels:
        key = "data.label_column" if options.label_column else PER_LABEL_COLUMN
        keys += [(key, column) for column in label_columns(options, schema)]
    missing = [(key, column) for key, column in keys if column not in header]
    spare = [column for column in header if column not in {c for _, c in keys}]  # columns no key reads
    if missing:
        named = ", ".join(f"{shorten(column)} ({key}{near_column(column, spare)})" for key, column in missing)
        fix = (
            header_fix([key for key, _ in missing])
            if not any(problem.reason == "encoding" for problem in report.problems)
            else f"The file is not {report.encoding}: set data.encoding: auto in {CONFIG_FILE} (it detects UTF-8, "
            "UTF-16 and cp949), then check the column names"
        )
        report.add(
            header_line(options),
            "error",
            "missing_column",
            f"missing column(s) {named}. {fix}; the header has {_describe_header(header)}",
        )
        return False
    if _repeated_columns(
        header, [column for _, column in keys] + [options.id_column, options.text_pair_column], report, options
    ):
        return False
    if options.id_column and options.id_column not in header:
        report.note(f"no {options.id_column!r} column (data.id_column): rows are identified by their line number")
    if any(key == PER_LABEL_COLUMN for key, _ in keys):
        unread = [column for column in spare if column and column != options.id_column]
        if unread:
            report.note(
                f"column(s) {', '.join(map(shorten, unread))} not read: not a label of the label schema "
                "(data.labels_file); add a label there to learn one"
            )
    return True


def header_line(options: ReadOptions) -> int:
    """The line (a spreadsheet's row) of the header: 1, or data.header_row for a binary format (Excel)."""
    return 1 if FORMATS[options.data_format].text else options.header_row


def _repeated_columns(header: list[str], used: list[str], report: LoadReport, options: ReadOptions) -> bool:
    """True, with an error in ``report``, when a column the rows are read from appears more than once in ``header``
    (a row would be read from the last one only, silently)."""
    twice = [column for column in dict.fromkeys(used) if column and header.count(column) > 1]
    at = header_line(options)
    for column in twice:
        places = ", ".join(str(index) for index, name in enumerate(header, 1) if name == column)
        message = f"column {shorten(column)} appears more than once in the header (columns {places}); rename or remove"
        report.add(at, "error", "duplicate_column", f"{message} the extra one(s): a row is read from one column only")
    return bool(twice)


def load_records(
    path: str | Path,
    options: ReadOptions,
    schema: LabelSchema | None,
    normalizer: Normalizer | None = None,
    show_progress: bool = False,
) -> LoadReport:
    """Read and validate one file: decode it, read its header (tsv, csv), turn each row into a Record. Returns the
    LoadReport holding the records and every problem by line. Never raises for bad content: check
    ``report.errors``."""
    path = Path(path)
    report = empty_report(path, schema)
    if not path.is_file():
        report.add(0, "error", "missing_file", "file does not exist")
        return report
    if options.data_format not in FORMATS:
        report.add(0, "error", "format", f"unknown data format {options.data_format!r}; use one of {FORMAT_NAMES}")
        return report
    read = raw_records(path, options, report)
    if read is None:
        return report
    records, lines, undecodable = read
    header = None
    if FORMATS[options.data_format].header:
        header = read_header(records, options, report, schema)
        if header is None:
            return report
    bar = tqdm(
        total=lines,
        unit="line",
        desc=f"reading {path.name}",
        leave=False,
        disable=not logs.bars(show_progress) or lines < PROGRESS_MIN_LINES,
    )
    has_labels = header is None or all(column in header for column in label_columns(options, schema))
    rows = RowValidator(
        options,
        schema=schema if has_labels else None,
        normalizer=normalizer or Normalizer("none", False),
        report=report,
    )
    for number, value in records:
        bar.update(number - bar.n)
        report.rows_read += 1
        if value is not None and number not in undecodable:  # else already reported
            rows.add(number, row_fields(number, value, header=header, options=options, report=report))
    bar.close()
    note_unknown_labels(report, schema, options)
    if header is None and options.id_column and not rows.ids_found and report.rows_read:
        report.note(f"no {options.id_column!r} key (data.id_column): rows are identified by their line number")
    if report.rows_read == 0:
        where = "a header but no rows" if header is not None else "no rows"
        first = options.header_row + 1 if header is not None and not FORMATS[options.data_format].text else 2
        report.add(first if header is not None else 1, "error", "no_rows", f"the file has {where}")
    return report


def empty_report(path: Path, schema: LabelSchema | None) -> LoadReport:
    """A LoadReport of ``path`` with nothing read yet, its labels named and counted as ``schema``'s task does."""
    return LoadReport(str(path), label_names=schema.names if schema else (), task=getattr(schema, "task", SINGLE_LABEL))


def raw_records(path: Path, options: ReadOptions, report: LoadReport):
    """The format's reader over the file: (records, lines to read or 0 when not known, lines that did not decode).
    A text format's file is decoded first (data.encoding); None, with the problems in ``report``, when it is binary
    or undecodable as a whole."""
    fmt = FORMATS[options.data_format]
    named = [other.name for other in FORMATS.values() if path.suffix.lower() in other.suffixes]
    if named and fmt.name not in named:  # train.xlsx read as tsv: say which setting reads it
        report.note(
            f"{path.name} has the suffix of data_format {named[0]}: if it is one, set data.data_format: {named[0]}"
        )
    if not fmt.text:  # Excel, Parquet: the reader reads the file itself
        return reader(fmt.name)(path, report, options), 0, set()
    decoded = decode(path.read_bytes(), options.encoding)
    report.encoding = decoded.encoding
    report.note(decoded.note)
    for line, reason, message in decoded.problems:
        report.add(line, "error", reason, message)
    if decoded.binary:
        return None
    return reader(fmt.name)(decoded.lines, report), len(decoded.lines), {line for line, _, _ in decoded.problems}


def read_header(
    records, options: ReadOptions, report: LoadReport, schema: LabelSchema | None = None
) -> list[str] | None:
    """The column names from the first row of ``records`` (a reader's (line, fields) iterator, advanced by one),
    checked against ``options`` (and ``schema``'s label columns); None, with the problem in ``report``, when the
    file cannot go on."""
    first = next(records, None)
    if first is None:
        if not report.errors:  # else the reader said why (no such sheet, a title above the header, ...)
            report.add(1, "error", "empty_file", "the file is empty; expected a header line, then rows")
        return None
    line, fields = first
    if fields is None or line != header_line(options):
        report.add(1, "error", "header", "cannot read the header line; the file needs one (column names)")
        return None
    header = [column_name(name) for name in fields]
    return header if _check_header(header, options, report, schema) else None


def row_fields(
    number: int, value, *, header: list[str] | None, options: ReadOptions, report: LoadReport
) -> dict | None:
    """One row as column -> value: a tsv/csv row's fields under ``header``, a JSON Lines row's object; None, with
    the problem in ``report``, for a wrong field count or a JSON value that is not an object."""
    if header is not None:
        if len(value) != len(header):
            separator = {"tsv": "tab-separated ", "csv": "comma-separated "}.get(options.data_format, "")
            message = f"expected {len(header)} {separator}fields, found {len(value)}"
            report.add(number, "error", "field_count", message)
            return None
        return dict(zip(header, value, strict=True))
    if isinstance(value, dict):
        return {unicodedata.normalize("NFC", key): item for key, item in value.items()}  # keys in NFC, as headers
    report.add(number, "error", "json_shape", f"expected a JSON object, found {type(value).__name__}")
    return None


class RowValidator:
    """Turns rows into the report's records (validate_row), applying data.duplicate_ids across the file."""

    def __init__(self, options: ReadOptions, *, schema: LabelSchema | None, normalizer: Normalizer, report: LoadReport):
        self.options, self.schema, self.normalizer, self.report = options, schema, normalizer, report
        self.seen_ids: dict[str, int] = {}
        self.ids_found = False

    def add(self, number: int, row: dict | None) -> None:
        """Validate line ``number``'s ``row`` (None: already reported) and keep its record unless a rule drops
        it."""
        if row is None:
            return
        options, report = self.options, self.report
        row_id = row.get(options.id_column) if options.id_column else None
        if row_id is not None and not isinstance(row_id, (dict, list)) and str(row_id).strip():
            report.ids[number] = str(row_id)  # problems on this row name its id
        record = validate_row(row, number, options, self.schema, self.normalizer, report)
        if record is not None and self.unique_enough(record, number):
            report.records.append(record)

    def unique_enough(self, record: Record, number: int) -> bool:
        """Whether ``record`` stays under data.duplicate_ids (report: kept with a warning; drop; error)."""
        if not record.row_id:
            return True
        self.ids_found = True
        first_line = self.seen_ids.setdefault(record.row_id, number)
        if first_line == number:
            return True
        message = f"duplicate id {shorten(record.row_id)} (first seen at line {first_line})"
        kind = {"error": "error", "drop": "dropped"}.get(self.options.duplicate_ids, "warning")
        self.report.add(number, kind, "duplicate_id", message)
        return kind == "warning"


def note_unknown_labels(report: LoadReport, schema: LabelSchema | None, options: ReadOptions) -> None:
    """One note on rows with a label the schema does not know (the task says what that means: Task.
    unknown_label_problem): a few rows' cells are corrected or, with ``data.unknown_label: drop``, were left out;
    most rows mean another label schema."""
    unknown = sum(p.reason == "unknown_label" for p in report.problems)
    if schema is None or not unknown:
        return
    task = task_named(schema.task)
    problem, few = task.unknown_label_problem(schema, options.label_column, unknown, report.rows_read)
    if not few:
        report.note(problem)
    elif options.unknown_label == "drop":
        report.note(f"{problem}: they were left out (data.unknown_label: drop)")
    else:
        report.note(f"{problem}: correct those cells, or set data.unknown_label: drop to leave such rows out")


def validate_row(
    row: dict, number: int, options: ReadOptions, schema: LabelSchema | None, normalizer: Normalizer, report: LoadReport
) -> Record | None:
    """One row (column -> value) of line ``number`` as a Record: the text (and the second text, when
    data.text_pair_column names one) present, a string without NUL, non-empty after ``normalizer``; the label known
    to ``schema`` (None: labels are not read). Returns None, with the problem in ``report``, for a row that is left
    out."""
    text = read_text(row, number, options.text_column, "data.text_column", options, normalizer, report)
    if text is None:
        return None
    text_pair = None
    if options.text_pair_column:
        key = "data.text_pair_column"
        text_pair = read_text(row, number, options.text_pair_column, key, options, normalizer, report, "second text")
        if text_pair is None:
            return None
    row_id = row.get(options.id_column) if options.id_column else None
    row_id = "" if row_id is None or isinstance(row_id, (dict, list)) else str(row_id)
    label = None
    if schema is not None:
        columns = label_columns(options, schema)
        missing = [column for column in columns if column not in row]
        if missing and not options.require_labels:
            return Record(text=text, label=None, line=number, row_id=row_id, text_pair=text_pair)
        if missing:
            key = "data.label_column" if options.label_column else "a 0/1 key per label name"
            report.add(number, "error", "missing_field", f"row has no {shorten(missing[0])} field ({key})")
            return None
        try:
            label = row_label(row, options, schema)
        except ScoreLabelError as error:  # never dropped: the rows left would be those whose score reads as a class
            report.add(number, "error", "score_label", str(error))
            return None
        except LabelError as error:
            kind = "dropped" if options.unknown_label == "drop" else "error"
            report.add(number, kind, "unknown_label", str(error))
            return None
    return Record(text=text, label=label, line=number, row_id=row_id, text_pair=text_pair)


def row_label(row: dict, options: ReadOptions, schema: LabelSchema):
    """The label of a row that has its label column(s), as its task reads it (Task.read_label: a class id, the
    sorted tuple of class ids for multi-label). Raises LabelError naming the value that is not a label."""
    return task_named(schema.task).read_label(row, schema, options.label_column, options.label_separator)


def read_text(
    row: dict,
    number: int,
    column: str,
    key: str,
    options: ReadOptions,
    normalizer: Normalizer,
    report: LoadReport,
    what: str = "text",
) -> str | None:
    """The normalised text in ``row``'s ``column`` (``key``: the config key naming it, ``what``: how messages call
    it: ``text`` or ``second text``). Returns None, with the problem in ``report``, for a missing field, a value
    that is not a string, a NUL character or a text empty after ``normalizer`` (data.empty_text: dropped or an
    error, for either text)."""
    if column not in row:
        report.add(number, "error", "missing_field", f"row has no {column!r} field ({key})")
        return None
    raw_text = row[column]
    if raw_text is not None and not isinstance(raw_text, str):
        report.add(
            number, "error", "text_type", f"{what} is a {type(raw_text).__name__}, not a string: {shorten(raw_text)}"
        )
        return None
    if raw_text and "\x00" in raw_text:
        report.add(number, "error", "nul", f"{what} contains a NUL character (a binary or corrupted line)")
        return None
    text = normalizer(raw_text or "")
    if not text.strip():
        kind = "error" if options.empty_text == "error" else "dropped"
        report.add(number, kind, "empty_text", f"{what} is empty" + (f" ({column!r}, {key})" if what != "text" else ""))
        return None
    return text
