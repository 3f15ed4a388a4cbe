"""Every data file format the project reads, by name: the one place format names are written (Ludwig style).

A format declares its name (``data.data_format``), the file suffixes it is known by, whether its reader takes the
file's decoded text lines (``text``: data/encodings.py decodes the bytes first, in data.encoding) or the file
itself (a binary format: Excel, Parquet), whether its first record is a header of column names, and the names of
its reader and writer, functions in data/readers.py.

Everything else derives from ``FORMATS``: the config's ``data.data_format`` choices, which reader validation
runs and whether it decodes first, and the writer that writes the sample shipped with the project. Standard
library only: the template's hook reads it (and a template test checks the template's own list agrees).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DataFormat:
    """One data file format: its name, suffixes, kind of input (decoded text lines or the file), whether it has a
    header row, and its reader's and writer's names in data/readers.py."""

    name: str
    suffixes: tuple[str, ...]
    text: bool  # True: the reader takes (lines, report); False: (path, report, options), the file as it is
    header: bool  # True: the first record is the column names
    reader: str  # data/readers.py: a function yielding (line or row number, fields list | JSON object | None)
    writer: str  # data/readers.py: a function (rows, path) writing rows (column -> value) in this format
    help: str  # for the config's data.data_format help


# --- extend this: a new file format -------------------------------------------------------------------------
# A text format: a reader (lines, report) -> (line number, fields list or JSON object or None) and a writer
# (rows, path) in data/readers.py, like those there, and an entry here; then its name in the template's
# cookiecutter.json (_data_formats and the data_format prompt; a template test checks they agree with this list).
# The config's choices, validation and the sample follow from here. A binary format (its reader takes the file)
# works the same; the template's hook writes its sample only where its writer's libraries are installed.
FORMATS = {
    fmt.name: fmt
    for fmt in (
        DataFormat("tsv", (".tsv", ".txt"), True, True, "tsv_records", "write_tsv", "NSMC style, no quoting"),
        DataFormat("csv", (".csv",), True, True, "csv_records", "write_csv", "RFC 4180 quoting"),
        DataFormat("jsonl", (".jsonl",), True, False, "jsonl_records", "write_jsonl", "one JSON object a line"),
        DataFormat("xlsx", (".xlsx",), False, True, "xlsx_records", "write_xlsx", "Excel: data.sheet_name's sheet"),
        DataFormat("parquet", (".parquet",), False, True, "parquet_records", "write_parquet", "Apache Parquet"),
    )
}
# --- end of the file formats ----------------------------------------------------------------------------------
FORMAT_NAMES = tuple(FORMATS)
