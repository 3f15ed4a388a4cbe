"""What loading a file found: the records kept, and every problem by file and line.

Nothing is dropped silently: each dropped row is counted by reason and listed. Output stays readable on
any file: messages are capped in length and a problem repeated on many lines is shown 20 times, then
summarised.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from ..answers import SINGLE_LABEL
from ..tasks import task_named

MAX_MESSAGE_CHARS = 300
SHOWN_PER_REASON = 20


def shorten(value: object, limit: int = 60) -> str:
    """A value for a message: repr-quoted, and only its start when it is long."""
    text = value if isinstance(value, str) else str(value)
    if len(text) > limit:
        return repr(text[:limit]) + f"... ({len(text):,} characters)"
    return repr(text)


@dataclass(frozen=True)
class Record:
    """One valid row: its normalised text, its label, the 1-based line it starts on, its id column's value and, for
    sentence pairs, its normalised second text.

    ``label``: a class id for a single-label schema; for a multi-label schema the tuple of its class ids, sorted and
    possibly empty; None when the row is unlabelled (prediction input).
    """

    text: str
    label: int | tuple[int, ...] | None
    line: int  # 1-based line where the row starts, as an editor shows it
    row_id: str = ""  # the id column's value; empty when the file has no id column
    text_pair: str | None = None  # the second text (data.text_pair_column); None when the project has one text


@dataclass(frozen=True)
class Problem:
    """One problem found in a file: where (file, line, data row, row id), how serious (error, dropped, warning), a short
    reason code and the message."""

    file: str
    line: int
    kind: str  # error | dropped | warning
    reason: str  # short code: empty_text, unknown_label, encoding, ...
    message: str
    row: int = 0  # the spreadsheet row (header = row 1) of a CSV record; 0 when it is not known or not a CSV
    row_id: str = ""  # the record's id column, when it has one
    sheet: str = ""  # an Excel file's sheet: then ``line`` is its spreadsheet row

    def where(self) -> str:
        """``file:line (row R, id I)``: the editor's line, then the spreadsheet row where it differs (a CSV with
        quoted line breaks) and the id when known; ``file.xlsx:Sheet!row (id I)`` in an Excel sheet."""
        if not self.line:  # line 0: the file as a whole
            return self.file
        if self.sheet:
            return f"{self.file}:{self.sheet}!{self.line}" + (f" (id {self.row_id[:30]})" if self.row_id else "")
        row = [f"row {self.row}"] if self.row and self.row != self.line else []  # quoted breaks, blank rows
        row_id = self.row_id if len(self.row_id) <= 30 else self.row_id[:30] + "..."
        extra = row + ([f"id {row_id}"] if row_id else [])
        return f"{self.file}:{self.line}" + (f" ({', '.join(extra)})" if extra else "")

    def __str__(self) -> str:
        message = self.message
        if len(message) > MAX_MESSAGE_CHARS:
            message = message[:MAX_MESSAGE_CHARS] + f"... ({len(self.message):,} characters)"
        return f"{self.where()}: {self.kind}: {message}"


@dataclass
class LoadReport:
    """Everything reading one file produced: rows read, the records kept, every problem by line, notes, the encoding;
    summarised for people with repeats counted."""

    file: str
    rows_read: int = 0
    records: list[Record] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    label_names: tuple[str, ...] = ()
    task: str = SINGLE_LABEL  # the label schema's: how the labels are counted and summarised
    encoding: str = ""
    notes: list[str] = field(default_factory=list)
    rows: dict[int, int] = field(default_factory=dict)  # CSV: the line a record starts on -> its spreadsheet row
    ids: dict[int, str] = field(default_factory=dict)  # the line a record starts on -> its id, when it has one
    sheet: str = ""  # the Excel sheet read (problems are named file.xlsx:Sheet!row); empty for other formats

    def add(self, line: int, kind: str, reason: str, message: str) -> None:
        """Record a problem at ``line`` (0: the whole file) of ``kind`` error, dropped or warning."""
        row = self.rows.get(line, 0)
        problem = Problem(self.file, line, kind, reason, message, row, self.ids.get(line, ""), self.sheet)
        self.problems.append(problem)

    def place(self, line: int) -> str:
        """Where line ``line`` of this file is, as notes name it: ``name:line``, or ``name.xlsx:Sheet!row`` in an
        Excel sheet (the file's name only)."""
        name = Path(self.file).name
        return f"{name}:{self.sheet}!{line}" if self.sheet else f"{name}:{line}"

    def note(self, text: str) -> None:
        """Keep ``text`` to show once in the summary (empty or repeated notes are ignored)."""
        if text and text not in self.notes:
            self.notes.append(text)

    @property
    def errors(self) -> list[Problem]:
        """The problems that make the file unusable as it is."""
        return [p for p in self.problems if p.kind == "error"]

    @property
    def warnings(self) -> list[Problem]:
        """The problems worth a look that did not drop the row."""
        return [p for p in self.problems if p.kind == "warning"]

    @property
    def dropped(self) -> Counter:
        """Reason -> count of the rows left out by a rule (e.g. empty_text with data.empty_text: drop)."""
        return Counter(p.reason for p in self.problems if p.kind == "dropped")

    def problem_lines(self, kinds: tuple[str, ...] = ("error", "dropped", "warning")) -> list[str]:
        """One line per problem, but at most SHOWN_PER_REASON per (kind, reason); the rest summarised."""
        shown: Counter = Counter()
        hidden: dict[tuple[str, str], list[int]] = {}
        lines = []
        for problem in self.problems:
            if problem.kind not in kinds:
                continue
            group = (problem.kind, problem.reason)
            if shown[group] < SHOWN_PER_REASON:
                shown[group] += 1
                lines.append(str(problem))
            else:
                hidden.setdefault(group, []).append(problem.line)
        for (kind, reason), numbers in hidden.items():
            first = ", ".join(str(n) for n in numbers[:5])
            lines.append(
                f"{self.file}: ... and {len(numbers):,} more line(s) like this ({kind}: {reason}) "
                f"at line(s) {first}{' ...' if len(numbers) > 5 else ''}"
            )
        return lines

    def class_counts(self) -> dict[str, int]:
        """Label name -> rows kept with that label, every name listed (0 for a class without rows; Task.class_counts:
        a multi-label row counts once for each of its labels; {} for a task without classes)."""
        return task_named(self.task).class_counts([r.label for r in self.records], self.label_names)

    def length_percentiles(self, second: bool = False) -> dict[str, int]:
        """The 50th, 90th and 99th percentile and the maximum of the kept texts' lengths in characters (``p50``,
        ``p90``, ``p99``, ``max``); ``second``: of the second texts (sentence pairs). Empty without such texts."""
        lengths = sorted(len(r.text_pair if second else r.text) for r in self.records if not second or r.text_pair)
        if not lengths:
            return {}
        return {f"p{q}": lengths[min(len(lengths) - 1, (len(lengths) * q) // 100)] for q in (50, 90, 99)} | {
            "max": lengths[-1]
        }

    def summary(self) -> str:
        """The file's summary for people: rows read and kept, the encoding when not UTF-8, notes, dropped rows by
        reason, class counts and text lengths."""
        encoding = f" ({self.encoding})" if self.encoding and self.encoding != "utf-8" else ""
        lines = [f"{self.file}{encoding}: read {self.rows_read:,} rows, kept {len(self.records):,}"]
        lines += [f"  note: {text}" for text in self.notes]
        for reason, count in sorted(self.dropped.items()):
            where = [p.line for p in self.problems if p.kind == "dropped" and p.reason == reason]
            shown = ", ".join(str(n) for n in where[:10]) + (" ..." if len(where) > 10 else "")
            lines.append(f"  dropped {count:,} ({reason}) at line(s) {shown}")
        if self.warnings:
            lines.append(f"  warnings: {len(self.warnings):,}")
        if self.errors:
            lines.append(f"  errors: {len(self.errors):,}")
        labels = [r.label for r in self.records if r.label is not None]
        if labels:
            lines += [f"  {line}" for line in task_named(self.task).label_lines(labels, self.label_names)]
        percentiles, pair_percentiles = self.length_percentiles(), self.length_percentiles(second=True)
        first = "first text" if pair_percentiles else "text"
        if percentiles:
            lines.append(f"  {first} length (chars): " + ", ".join(f"{k}={v}" for k, v in percentiles.items()))
        if pair_percentiles:
            lines.append("  second text length (chars): " + ", ".join(f"{k}={v}" for k, v in pair_percentiles.items()))
        return "\n".join(lines)
