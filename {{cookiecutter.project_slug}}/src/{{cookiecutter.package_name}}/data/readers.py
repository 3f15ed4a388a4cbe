"""One reader per file format: text lines in, raw records out, each with the line it starts on.

A reader reports what breaks the file's own syntax (a broken quote, invalid JSON) and carries on with the
next record it can parse, so later problems are reported too. What the fields mean is checked elsewhere.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator

from .report import LoadReport

MAX_RECORD_LINES = 100  # a quoted CSV field spanning more lines than this is a quote that never closes
FORMATS = ("tsv", "csv", "jsonl")

RawRecord = tuple[int, object]  # (line, fields list | parsed JSON value | None when unreadable)


def tsv_records(lines: list[str], report: LoadReport) -> Iterator[RawRecord]:
    """NSMC style: tab-separated, no quoting at all (reviews contain quote marks). The header is line 1."""
    for number, line in enumerate(lines, start=1):
        if line != "":
            yield number, line.split("\t")


class _RecordLines:
    """Feeds lines to csv.reader and cuts off a record that has swallowed MAX_RECORD_LINES lines."""

    def __init__(self, lines: list[str], start: int):
        self.lines, self.position, self.record_start = lines, start, start

    def __iter__(self):
        return self

    def __next__(self) -> str:
        if self.position >= len(self.lines) or self.position - self.record_start >= MAX_RECORD_LINES:
            raise StopIteration
        self.position += 1
        return self.lines[self.position - 1] + "\n"

    def next_record(self) -> None:
        self.record_start = self.position


def csv_records(lines: list[str], report: LoadReport) -> Iterator[RawRecord]:
    """RFC 4180 CSV with quoting; a record may span lines and is reported at the line where it starts, and at its
    spreadsheet row (``report.rows``: Excel shows one row per record, the header as row 1).

    A broken record is reported, and reading resumes on the line after the one it started on.
    """
    start, row = 0, 0  # row: the spreadsheet row (a record, quoted line breaks and all; a blank line is a row)
    while start < len(lines):
        feed = _RecordLines(lines, start)
        reader = csv.reader(feed, strict=True)
        try:
            for fields in reader:
                row += 1
                if fields:
                    report.rows[feed.record_start + 1] = row
                    yield feed.record_start + 1, fields
                feed.next_record()
            return
        except csv.Error as error:
            line = feed.record_start + 1
            row += 1
            report.rows[line] = row
            if "field larger than field limit" in str(error):
                message = f"a field longer than {csv.field_size_limit():,} characters; is the quoting broken here?"
            elif feed.position - feed.record_start >= MAX_RECORD_LINES or feed.position >= len(lines):
                message = "broken CSV quoting: a quote that opens on this line is never closed"
            else:
                message = f"broken CSV quoting ({error}); check the quotes on this line"
            report.add(line, "error", "csv_syntax", message)
            yield line, None
            start = feed.record_start + 1


def jsonl_records(lines: list[str], report: LoadReport) -> Iterator[RawRecord]:
    """One JSON value per line; blank lines are skipped."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as error:
            report.add(number, "error", "json_syntax", f"not valid JSON: {error.msg} at column {error.colno}")
            value = None
        except RecursionError:
            report.add(number, "error", "json_depth", "JSON nested too deeply to read")
            value = None
        except ValueError as error:  # integers past Python's digit limit
            report.add(number, "error", "json_number", f"a JSON number is too large to read ({error})")
            value = None
        yield number, value


# --- extend this: a new file format -------------------------------------------------------------------------
# A reader is a function (lines, report) -> (line number, fields or object or None) like those above; add it here
# and in HAS_HEADER, then add its name to data.data_format's choices in config.py (and to FORMATS above).
READERS = {"tsv": tsv_records, "csv": csv_records, "jsonl": jsonl_records}
HAS_HEADER = {"tsv": True, "csv": True, "jsonl": False}
# --- end of the file formats ----------------------------------------------------------------------------------
