"""The file ``predict -o`` writes, in the format its extension names.

``.csv`` and ``.tsv`` are tables a spreadsheet opens (columns ``line, id, label, score, text``, and ``text_pair``
for sentence pairs), written as UTF-8
with a byte-order mark by default, which Excel needs to show Korean (without one it guesses the system's
legacy encoding); ``--output-encoding input`` writes them in the input file's own encoding instead (cp949 for a
file saved by Korean Excel). ``.jsonl`` is one JSON object a line, always UTF-8. Any other extension is refused
before anything is classified.
"""

from __future__ import annotations

import codecs
import csv
import json
import os
from pathlib import Path

from ..answers import HEADS, head_of
from ..data.report import Record
from ..errors import PredictError

TABLE_HEADER = ("line", "id", "label", "score", "text")
PAIR_COLUMN = "text_pair"  # the second text of a sentence pair: a last column in tables, a key in JSON Lines
ERROR_LABEL = "ERROR"
DELIMITERS = {".csv": ",", ".tsv": "\t"}  # tables; .jsonl is the other format
OUTPUT_SUFFIXES = (".csv", ".tsv", ".jsonl")
EXCEL_ENCODING = "utf-8-sig"  # UTF-8 with a BOM: what Excel reads as UTF-8
INPUT_ENCODING = "input"  # --output-encoding input: the encoding the input file was read in


def output_encoding(path: Path, asked: str | None, input_encoding: str = "") -> str:
    """The codec ``path`` is written in: UTF-8 for .jsonl; for a table, ``asked`` (``input``: the input's own
    encoding, UTF-8 with a BOM when that is UTF-8 or unknown) or UTF-8 with a BOM. Raises PredictError for an
    extension it does not know, or an encoding Python does not know."""
    suffix = path.suffix.lower()
    if suffix not in OUTPUT_SUFFIXES:
        raise PredictError(
            f"-o {path}: unknown extension {suffix or '(none)'!r}; use .csv or .tsv (a spreadsheet opens them) "
            "or .jsonl (JSON Lines)"
        )
    if suffix == ".jsonl":
        return "utf-8"
    if asked == INPUT_ENCODING:
        asked = input_encoding if input_encoding and not input_encoding.startswith("utf-8") else EXCEL_ENCODING
    encoding = asked or EXCEL_ENCODING
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise PredictError(
            f"--output-encoding {encoding!r} is not an encoding Python knows; use {INPUT_ENCODING}, "
            f"{EXCEL_ENCODING} or cp949"
        ) from None
    return encoding


class OutputFile:
    """Rows written in input order and keyed by input line, as a table (.csv/.tsv) or .jsonl.

    With ``resume`` the rows already there are kept and skipped; error rows and a partial last line (a kill
    mid-write) are dropped, so those rows are classified again. Without it an existing file is refused.
    Raises PredictError for an extension it does not know or an existing file it may not replace.
    """

    def __init__(
        self,
        path: Path,
        resume: bool = False,
        overwrite: bool = False,
        encoding: str | None = None,
        input_encoding: str = "",
        pairs: bool = False,
    ):
        self.path = path
        self.header = (*TABLE_HEADER, PAIR_COLUMN) if pairs else TABLE_HEADER  # a table's columns
        self.encoding = output_encoding(path, encoding, input_encoding)
        self.delimiter = DELIMITERS.get(path.suffix.lower())
        self.kept: dict[int, dict] = {}
        if path.exists() and not (resume or overwrite):
            raise PredictError(f"{path} exists; pass --resume to finish it, or --overwrite to replace it")
        if resume and path.exists():
            self.kept = self.read_done(path)
        self.rewrite(sorted(self.kept.items()))
        self.handle = self.open("a")  # appending after the BOM writes no second one
        self.writer = self.table_writer(self.handle)
        self.written: list[int] = sorted(self.kept)

    @property
    def table(self) -> bool:
        """Whether the file is a table (.csv, .tsv) rather than JSON Lines."""
        return self.delimiter is not None

    def open(self, mode: str, path: Path | None = None):
        """The file (or ``path``) opened in ``mode`` with its encoding; a legacy codec replaces characters it lacks."""
        errors = "strict" if self.encoding.startswith("utf") else "replace"  # a legacy codec lacks some characters
        return open(path or self.path, mode, encoding=self.encoding, errors=errors, newline="")

    def table_writer(self, handle):
        """A csv writer on ``handle`` with the file's delimiter and CRLF line ends (what Excel expects), or None for
        JSON Lines."""
        return csv.writer(handle, delimiter=self.delimiter, lineterminator="\r\n") if self.table else None

    def table_rows(self, text: str) -> list[list[str]]:
        """The data rows of a table's ``text`` (its header left out), as lists of fields."""
        return list(csv.reader(text.splitlines(keepends=True), delimiter=self.delimiter))[1:]

    def read_done(self, path: Path) -> dict[int, dict]:
        """Input line -> row already written in ``path`` (--resume); a last line cut off mid-write is not counted."""
        done = {}
        with self.open("r", path) as handle:
            text = handle.read()
        complete = text[: text.rfind("\n") + 1]  # a last line without its newline was cut off mid-write
        if self.table:
            for row in self.table_rows(complete):
                if len(row) == len(self.header) and row[0].isdigit() and row[2] != ERROR_LABEL:
                    done[int(row[0])] = dict(zip(self.header, row, strict=True))
            return done
        for line in complete.splitlines():
            try:
                row = json.loads(line)
            except ValueError:
                continue
            if isinstance(row, dict) and isinstance(row.get("line"), int) and "error" not in row:
                done[row["line"]] = row
        return done

    def rewrite(self, rows: list[tuple[int, dict]]) -> None:
        """Replace the file with ``rows`` atomically (a temp file renamed over it)."""
        partial = self.path.with_name(self.path.name + ".partial")
        with self.open("w", partial) as handle:
            writer = self.table_writer(handle)
            if writer is not None:
                writer.writerow(self.header)
            for _, row in rows:
                self.emit(row, handle, writer)
        os.replace(partial, self.path)

    def emit(self, row: dict, handle, writer) -> None:
        """Write one result ``row`` to ``handle``: a table row through ``writer``, else a JSON line."""
        if writer is not None:
            writer.writerow([row.get(column, "") for column in self.header])
        else:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")

    def write(self, row: dict) -> None:
        """Append one result row and remember its input line (for the order check at close)."""
        self.emit(row, self.handle, self.writer)
        self.written.append(row["line"])

    def flush(self) -> None:
        """Flush what was written to the file (each finished window is on disk before the next one starts)."""
        self.handle.flush()

    def close(self) -> None:
        """Close the file; when resumed rows landed after later ones, rewrite it in input order."""
        self.handle.close()
        if self.written != sorted(self.written):  # resumed rows landed after later ones: restore input order
            self.rewrite(sorted(self.read_all().items()))

    def read_all(self) -> dict[int, dict]:
        """Input line -> row of everything in the file."""
        rows = {}
        with self.open("r") as handle:
            text = handle.read()
        if self.table:
            for row in self.table_rows(text):
                rows[int(row[0])] = dict(zip(self.header, row, strict=True))
        else:
            for line in text.splitlines():
                row = json.loads(line)
                rows[row["line"]] = row
        return rows


def output_row(
    record: Record, prediction: dict | None, error: str, names: tuple[str, ...] | None, table: bool, task: str = ""
) -> dict:
    """One output row: TABLE_HEADER's columns for a table (an error in the text column), else a JSON object; a
    sentence pair's second text follows the text (PAIR_COLUMN). The answer's task (``task``, else the one whose
    answers have the prediction's shape) fills the table's label and score cells (answers.Head.table_cells: a
    multi-label answer's names and probabilities joined by LABEL_JOINER) and names a labelled row's truth in a JSON
    row (Head.truth_fields: ``true_label``, ``true_labels``)."""
    pair = {PAIR_COLUMN: record.text_pair} if record.text_pair is not None else {}
    if table:
        if prediction is None:
            return {"line": record.line, "id": record.row_id, "label": ERROR_LABEL, "score": "", "text": error}
        label, score = head_of(prediction).table_cells(prediction)
        return {"line": record.line, "id": record.row_id, "label": label, "score": score, "text": record.text, **pair}
    row = {"line": record.line, "id": record.row_id, "text": record.text, **pair}
    row.update(prediction if prediction is not None else {"error": error})
    if record.label is not None and names and (task or prediction is not None):
        head = HEADS[task] if task else head_of(prediction)
        row.update(head.truth_fields(record.label, list(names)))
    return row
