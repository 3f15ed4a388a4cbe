"""The readers and writers of the data file formats format_registry.py declares.

A reader turns a file into raw records, each with the line (a spreadsheet's row) it starts on: a text format's
reader takes the decoded lines (data/encodings.py decodes them first), a binary format's reader (Excel, Parquet)
the file itself. A reader reports what breaks the file's own syntax (a broken quote, invalid JSON) and carries on
with the next record it can parse, so later problems are reported too. What the fields mean is checked elsewhere.
A writer writes rows (column -> value) in the format: the sample the template ships is written by these.

Importing this module needs the standard library only (the template's hook imports it to write the sample):
pandas, openpyxl and pyarrow are imported by the binary readers when they run.
"""

from __future__ import annotations

import csv
import datetime
import io
import json
import math
import unicodedata
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING
from xml.sax.saxutils import escape

from ..format_registry import FORMATS

if TYPE_CHECKING:  # data.report imports the tasks (numpy): the template's hook imports this module with no numpy
    from .report import LoadReport

MAX_RECORD_LINES = 100  # a quoted CSV field spanning more lines than this is a quote that never closes
MAX_TITLE_ROWS = 20  # how far below data.header_row a sheet's header is looked for when that row is not it

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


def cell_text(value: object) -> object:
    """A spreadsheet or Parquet cell as a user sees it: text as is, an integral number as an integer's digits (a
    class id ``1``, not ``1.0``), other numbers as Python writes them, a date as ISO text (a midnight time left out),
    an empty cell as ``""``; a list (a Parquet list column: multi-label) as a list of such cells."""
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        value = value.tolist()  # numpy scalars and arrays as Python values
    if isinstance(value, (list, tuple)):
        return [cell_text(item) for item in value]
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"  # as Excel shows them
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime.datetime):
        return value.date().isoformat() if value.time() == datetime.time() else value.isoformat(sep=" ")
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, int):
        return str(value)
    if hasattr(value, "to_pydatetime"):  # a pandas Timestamp; NaT is empty
        return "" if value != value else cell_text(value.to_pydatetime())
    return value if isinstance(value, str) else str(value)


def _sheet_table(path: Path, sheet_name: str, report: LoadReport):
    """The sheet's cells (a pandas DataFrame, one row per spreadsheet row from row 1, every cell as stored) and its
    name; None, with the problem in ``report``, when the file is no workbook or has no such sheet."""
    import pandas as pd  # noqa: PLC0415 (pandas and openpyxl load only when an Excel file is read)

    from .report import shorten  # noqa: PLC0415

    try:
        book = pd.ExcelFile(io.BytesIO(path.read_bytes()), engine="openpyxl")  # any suffix, as the file says
    except Exception as error:  # noqa: BLE001 (openpyxl raises many kinds for a file that is no workbook)
        report.add(0, "error", "workbook", f"not an Excel workbook (.xlsx) openpyxl can read: {shorten(str(error))}")
        return None
    with book:
        sheets = book.sheet_names
        name = sheet_name or sheets[0]
        if name not in sheets:
            named = ", ".join(shorten(sheet, 30) for sheet in sheets)
            report.add(0, "error", "sheet", f"no sheet {shorten(name)} (data.sheet_name); the workbook has {named}")
            return None
        table = pd.read_excel(book, sheet_name=name, header=None, dtype=object, na_filter=False)
    return table, name


def xlsx_records(path: Path, report: LoadReport, options) -> Iterator[RawRecord]:
    """An Excel workbook's sheet (``options.sheet_name``; empty: the first), the header on row
    ``options.header_row``: each row with its spreadsheet row number, cells as a user sees them (cell_text). Rows
    above the header and empty rows are skipped; problems are named ``file.xlsx:Sheet!row``. When the header row
    does not hold data.text_column but a row below it does (a title above the table), that is one error naming the
    row to set data.header_row to."""
    from .report import shorten  # noqa: PLC0415

    found = _sheet_table(path, getattr(options, "sheet_name", ""), report)
    if found is None:
        return
    table, report.sheet = found
    header_row = getattr(options, "header_row", 1)
    rows = [[cell_text(value) for value in row] for row in table.itertuples(index=False, name=None)]
    while rows and rows[-1] and all(cell == "" for cell in rows[-1]):
        rows.pop()
    text_column = getattr(options, "text_column", "")
    header = (
        [unicodedata.normalize("NFC", str(cell).strip()) for cell in rows[header_row - 1]]
        if len(rows) >= header_row
        else []
    )
    if text_column and header and text_column not in header:
        below = rows[header_row : header_row - 1 + MAX_TITLE_ROWS]
        at = next((i for i, row in enumerate(below, header_row + 1) if text_column in map(str, row)), None)
        if at is not None:
            shown = shorten(" ".join(str(cell) for cell in header if cell != "")) if any(header) else "nothing"
            report.add(
                header_row,
                "error",
                "header_row",
                f"row {header_row} holds {shown}, not the column names: they are on row {at} (a title above the "
                f"table?); set data.header_row: {at}",
            )
            return
    for number, row in enumerate(rows[header_row - 1 :], start=header_row):
        if number == header_row or any(cell != "" for cell in row):
            yield number, row


def parquet_records(path: Path, report: LoadReport, options) -> Iterator[RawRecord]:
    """A Parquet file: its column names as the header (row 1), then each row (row 2 on) with cells as cell_text
    gives them."""
    import pandas as pd  # noqa: PLC0415 (pandas and pyarrow load only when a Parquet file is read)

    from .report import shorten  # noqa: PLC0415

    try:
        table = pd.read_parquet(path)
    except Exception as error:  # noqa: BLE001 (pyarrow raises many kinds for a file that is no Parquet file)
        report.add(0, "error", "parquet", f"not a Parquet file pyarrow can read: {shorten(str(error))}")
        return
    yield 1, [str(name) for name in table.columns]
    for number, row in enumerate(table.itertuples(index=False, name=None), start=2):
        yield number, [cell_text(value) for value in row]


def _text_rows(rows: list[dict], separator: str) -> str:
    """``rows`` as separated lines under a header, no quoting at all (NSMC's TSV)."""
    lines = [separator.join(rows[0])] + [separator.join(str(value) for value in row.values()) for row in rows]
    return "".join(line + "\n" for line in lines)


def write_tsv(rows: list[dict], path: Path) -> None:
    """Write ``rows`` (column -> value, the first row's keys the header) as NSMC-style TSV, UTF-8."""
    path.write_text(_text_rows(rows, "\t"), encoding="utf-8", newline="")


def write_csv(rows: list[dict], path: Path) -> None:
    """Write ``rows`` (column -> value, the first row's keys the header) as RFC 4180 CSV, UTF-8."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path.write_text(buffer.getvalue(), encoding="utf-8", newline="")


def write_jsonl(rows: list[dict], path: Path) -> None:
    """Write ``rows`` as JSON Lines, UTF-8, Hangul unescaped."""
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")


def _xlsx_cell(column: int, row: int, value: object) -> str:
    letters = ""
    while column:
        column, rest = divmod(column - 1, 26)
        letters = chr(65 + rest) + letters
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f'<c r="{letters}{row}"><v>{value}</v></c>'
    text = escape(str(value))
    return f'<c r="{letters}{row}" t="inlineStr"><is><t xml:space="preserve">{text}</t></is></c>'


XLSX_PARTS = {
    "[Content_Types].xml": '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>',
    "_rels/.rels": '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Target="xl/workbook.xml" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"/></Relationships>',
    "xl/workbook.xml": '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>',
    "xl/_rels/workbook.xml.rels": '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Target="worksheets/sheet1.xml" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet"/></Relationships>',
}


def write_xlsx(rows: list[dict], path: Path) -> None:
    """Write ``rows`` as an Excel workbook of one sheet, Sheet1, the header on row 1: numbers as numbers, the rest as
    text. Standard library only (the template's hook writes the sample with it), a fixed timestamp: the same rows
    make the same bytes."""
    table = [list(rows[0])] + [list(row.values()) for row in rows]
    cells = "".join(
        f'<row r="{r}">' + "".join(_xlsx_cell(c, r, value) for c, value in enumerate(row, 1)) + "</row>"
        for r, row in enumerate(table, 1)
    )
    sheet = f'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>{cells}'
    parts = {**XLSX_PARTS, "xl/worksheets/sheet1.xml": sheet + "</sheetData></worksheet>"}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as book:
        for name, xml in parts.items():
            info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            book.writestr(info, '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n' + xml)


def write_parquet(rows: list[dict], path: Path) -> None:
    """Write ``rows`` as a Parquet file (needs pandas and pyarrow)."""
    import pandas as pd  # noqa: PLC0415 (pandas loads only when a Parquet file is written)

    pd.DataFrame(rows).to_parquet(path, index=False)


def reader(data_format: str) -> Callable[..., Iterator[RawRecord]]:
    """The reader the format registry names for ``data_format``. Raises KeyError for a format it does not know."""
    return globals()[FORMATS[data_format].reader]


def writer(data_format: str) -> Callable[[list[dict], Path], None]:
    """The writer the format registry names for ``data_format``: (rows, path), rows column -> value, the first
    row's keys the header. Raises KeyError for a format it does not know."""
    return globals()[FORMATS[data_format].writer]
