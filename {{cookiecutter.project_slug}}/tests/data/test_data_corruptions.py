"""Files as they arrive from real users and broken tools, in this project's own format: prepare never prints a
traceback, names every problem by file and line, and keeps every good row."""

from __future__ import annotations

import csv
import gzip
import io
import json
import random
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from {{ cookiecutter.package_name }}.cli import app
from {{ cookiecutter.package_name }}.data.dataset import data_file, load_project_file, load_schema
from {{ cookiecutter.package_name }}.data.readers import writer
from {{ cookiecutter.package_name }}.format_registry import FORMATS

from conftest import REGRESSION, sample_config

CONFIG = sample_config()  # the files below are written in the sample's format, as the `project` fixture reads it
DATA = CONFIG.data
SCHEMA = load_schema(CONFIG)
FORMAT = DATA.data_format
TEXT = FORMATS[FORMAT].text  # a text format (decoded lines); else a binary one (Excel, Parquet): other corruptions
GOOD = 30  # good rows in every file
PAIR_TEXT = "두 번째 글"  # the second text of each row in a sentence-pair project
FILE_LEVEL = {
    "binary",
    "empty_file",
    "header",
    "missing_column",
    "no_rows",
    "workbook",
    "sheet",
    "parquet",
}  # problems of the file as a whole
FLAG_COLUMNS = SCHEMA.multi_label and not DATA.label_column  # multi-label: a 0/1 column per label name
LABEL_KEY = DATA.label_column or SCHEMA.names[0]  # the column a bad label goes into (a 0/1 column: the first)


def label_value(label: int):
    if SCHEMA.encoding == "index":
        return label if FORMAT == "jsonl" else str(label)
    name = SCHEMA.names[label]
    return int(name) if FORMAT == "jsonl" and name.isdigit() else name


def label_fields(label) -> dict:
    """The label cell(s) of a row: one column, or multi-label a 0/1 column per name, a JSON list, or joined names."""
    if not SCHEMA.multi_label:
        return {DATA.label_column: label_value(label)}
    ids = (label,) if isinstance(label, int) else label
    if FLAG_COLUMNS:
        return {name: int(i in ids) for i, name in enumerate(SCHEMA.names)}
    values = [label_value(i) for i in ids]
    return {DATA.label_column: values if FORMAT == "jsonl" else DATA.label_separator.join(str(v) for v in values)}


def row_fields(text: str, label, row_id: str) -> dict:
    fields = {}
    if DATA.id_column:
        fields[DATA.id_column] = row_id
    fields[DATA.text_column] = text
    if DATA.text_pair_column:  # sentence pairs: every row's second text is a plain, valid one
        fields[DATA.text_pair_column] = PAIR_TEXT
    fields.update(label_fields(label))
    return fields


def encode(fields: dict) -> str:
    """One line (or record) in this project's format."""
    if FORMAT == "jsonl":
        return json.dumps(fields, ensure_ascii=False)
    if FORMAT == "tsv":
        return "\t".join(str(value) for value in fields.values())
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(fields.values())  # "\n" makes it quote a text holding one
    return buffer.getvalue()[:-1]


def header_columns() -> list[str]:
    labels = list(SCHEMA.names) if FLAG_COLUMNS else [DATA.label_column]
    pair = [DATA.text_pair_column] if DATA.text_pair_column else []
    return ([DATA.id_column] if DATA.id_column else []) + [DATA.text_column, *pair, *labels]


def header_line(columns: list[str] | None = None) -> list[str]:
    if FORMAT == "jsonl":
        return []
    return [("\t" if FORMAT == "tsv" else ",").join(columns or header_columns())]


def renamed(column: str, new: str) -> list[str]:
    """The header with ``column`` called ``new``."""
    return header_line([new if name == column else name for name in header_columns()])


def near_miss(name: str) -> str:
    """A column name as a careless edit leaves it, in any script: other case where the script has case (Latin),
    else a space inside (Hangul has no case; 문의 내용 for 문의내용 is its everyday slip)."""
    if name.swapcase() != name:
        return name.swapcase()
    return f"{name[0]} {name[1:]}" if len(name) > 1 else f"{name}_"


@dataclass
class Case:
    name: str
    body: bytes
    kept: list[int]  # indices of the good rows that must come through unchanged
    errors: bool  # at least one error expected


def good_rows(sample):
    records = [r for r in sample["train"] if "\t" not in r.text and "\n" not in r.text][:GOOD]
    return [(r.text, r.label, f"g{i}") for i, r in enumerate(records)]


def lines_with(rows, replace: dict[int, str] | None = None, insert: dict[int, str] | None = None) -> list[str]:
    lines = [encode(row_fields(*row)) for row in rows]
    for index, line in (replace or {}).items():
        lines[index] = line
    for index, line in sorted((insert or {}).items(), reverse=True):
        lines.insert(index, line)
    return header_line() + lines


def text_file(lines: list[str], newline: str = "\n", encoding: str = "utf-8") -> bytes:
    return (newline.join(lines) + newline).encode(encoding)


def bad(fields_change) -> str:
    """A row whose fields are changed by ``fields_change`` (a function of the fields dict)."""
    fields = row_fields("이 줄은 망가졌다", 0, "bad")
    fields_change(fields)
    return encode(fields)


def table_file(rows: list[dict]) -> bytes:
    """``rows`` (column -> value) as a file of this project's binary format, written by the format's own writer."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"table{FORMATS[FORMAT].suffixes[0]}"
        writer(FORMAT)(rows, path)
        return path.read_bytes()


def binary_cases(sample) -> list[Case]:
    """A binary format's corruptions (Excel, Parquet): files that are no such file, bad cells, wrong headers."""
    rows, everything = good_rows(sample), list(range(GOOD))
    good = [{key: str(value) for key, value in row_fields(*row).items()} for row in rows]  # one type a column

    def with_row(name: str, key: str, value: str, fails: bool, at: int = 4) -> Case:
        changed = {**row_fields("이 줄은 망가졌다", 0, "bad"), key: value}
        return Case(
            name, table_file([*good[:at], {k: str(v) for k, v in changed.items()}, *good[at:]]), everything, fails
        )

    def headed(rename) -> bytes:
        return table_file([{rename(key): value for key, value in row.items()} for row in good])

    text_key, label_key = DATA.text_column, LABEL_KEY
    joined = SCHEMA.multi_label and not FLAG_COLUMNS
    text = text_file(lines_with(rows))
    return [
        Case("the good rows", table_file(good), everything, False),
        Case("a CSV saved under this name", text, [], True),
        Case("all NUL bytes", b"\x00" * 4096, [], True),
        Case("a PNG image", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8, [], True),
        Case("gzip of the right file", gzip.compress(table_file(good)), [], True),
        Case("a zip of a CSV", zip_of(text), [], True),
        Case("one good row", table_file(good[:1]), [0], False),
        Case("random bytes", random.Random(5).randbytes(20_000), [], True),
        Case("empty file", b"", [], True),
        Case("cut in half", table_file(good)[: len(table_file(good)) // 2], [], True),
        Case("no text column", headed(lambda key: f"{key}_2" if key == text_key else key), [], True),
        Case("no label column", headed(lambda key: f"{key}_2" if key == label_key else key), [], True),
        Case("the header names almost right", headed(near_miss), [], True),
        Case("an extra column everywhere", table_file([{**row, "메모": "x"} for row in good]), everything, False),
        with_row("a label that is not one", label_key, "없는라벨", True),
        with_row("a negative label", label_key, "-1", True),
        with_row("a 5,000-digit label", label_key, "9" * 5000, True),
        with_row("an empty label", label_key, "", not joined),
        with_row("a 1.5 label", label_key, "1.5", True),
        with_row("an empty text", text_key, "", False),
        with_row("a whitespace text", text_key, "   ", False),
        with_row("a 30,000-character text", text_key, "긴 리뷰 " * 6_000, False),
        with_row("emoji and control characters", text_key, "최고 👍🏻", False),
        with_row("a BOM inside a text", text_key, "가\ufeff나", False),
        with_row("quote marks, tabs and line breaks in a text", text_key, '"인생 영화"\t라고\n둘째 줄', False),
    ]


def cases(sample) -> list[Case]:
    if not TEXT:
        return binary_cases(sample)
    rows = good_rows(sample)
    everything = list(range(GOOD))
    utf8 = text_file(lines_with(rows))
    text_key, label_key = DATA.text_column, LABEL_KEY
    joined = SCHEMA.multi_label and not FLAG_COLUMNS  # several labels in one cell: an empty one is no label
    list_ok = joined and (SCHEMA.encoding == "index" or "1" in SCHEMA.names)
    korean_cp949 = "싫어요 별로".encode("cp949")

    def one_bad_field(name: str, key: str, value, at: int, fails: bool) -> Case:
        """The good rows plus, at index ``at``, one row whose ``key`` holds ``value``."""
        row = bad(lambda fields: fields.update({key: value}))
        return Case(name, text_file(lines_with(rows, insert={at: row})), everything, fails)

    found = [
        Case("utf-8 with a BOM", b"\xef\xbb\xbf" + utf8, everything, False),
        Case("cp949 from Excel", text_file(lines_with(rows), encoding="cp949"), everything, False),
        Case("utf-16 with a BOM", text_file(lines_with(rows), encoding="utf-16"), everything, False),
        Case("utf-16-le without a BOM", text_file(lines_with(rows), encoding="utf-16-le"), everything, False),
        Case(
            "utf-16-be with a BOM", b"\xfe\xff" + text_file(lines_with(rows), encoding="utf-16-be"), everything, False
        ),
        Case("CRLF line ends", text_file(lines_with(rows), newline="\r\n"), everything, False),
        Case("old Mac CR line ends", text_file(lines_with(rows), newline="\r"), everything, False),
        Case(
            "mixed CRLF and LF",
            b"".join(line.encode() + (b"\r\n" if i % 2 else b"\n") for i, line in enumerate(lines_with(rows))),
            everything,
            False,
        ),
        Case("no newline at the end", utf8.rstrip(b"\n"), everything, False),
        Case("blank lines between rows", text_file(lines_with(rows, insert={3: "", 9: "", 10: ""})), everything, False),
        Case("one cp949 line in a UTF-8 file", utf8 + korean_cp949 + b"\n", everything, True),
        Case(
            "one latin-1 byte",
            utf8 + encode(row_fields("caf\u00e9 good", 0, "x")).encode("latin-1", "replace") + b"\n",
            everything,
            True,
        ),
        Case(
            "a cut multibyte character at the end",
            utf8 + encode(row_fields("좋다", 1, "y")).encode()[:-3],
            everything,
            True,
        ),
        one_bad_field("a NUL byte in one line", text_key, "null\x00byte", 5, True),
        Case("all NUL bytes", b"\x00" * 4096, [], True),
        Case("an ELF program", b"\x7fELF\x02\x01\x01" + bytes(range(256)) * 40, [], True),
        Case("a PNG image", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8, [], True),
        Case("gzip of the right file", gzip.compress(utf8), [], True),
        Case("an Excel .xlsx (zip)", zip_of(utf8), [], True),
        Case("random bytes", random.Random(5).randbytes(20_000), [], True),
        Case("empty file", b"", [], True),
        Case("only blank lines", b"\n\n\n\n", [], True),
        one_bad_field("a label that is not one", label_key, "없는라벨", 4, True),
        one_bad_field("a superscript-two label", label_key, "²", 4, True),
        one_bad_field("a negative label", label_key, "-1", 4, not REGRESSION),  # a score may be negative
        one_bad_field("a 5,000-digit label", label_key, "9" * 5000, 4, True),
        one_bad_field("an empty label", label_key, "", 4, not joined),
        one_bad_field("a 1.5 label", label_key, "1.5", 4, not REGRESSION),  # a decimal score is a score
        one_bad_field("an empty text", text_key, "", 2, False),
        one_bad_field("a whitespace text", text_key, "   ", 2, False),
        Case(
            "a 100,000-character text",
            text_file(lines_with(rows, insert={2: encode(row_fields("긴 리뷰 " * 20_000, 0, "long"))})),
            everything,
            False,
        ),
        Case(
            "a U+2028 line separator inside a text",
            text_file(lines_with(rows, insert={2: encode(row_fields("앞\u2028뒤", 0, "sep"))})),
            everything,
            False,
        ),
        Case(
            "a BOM inside a text",
            text_file(lines_with(rows, insert={2: encode(row_fields("가\ufeff나", 0, "bom"))})),
            everything,
            False,
        ),
        Case(
            "emoji and control characters",
            text_file(lines_with(rows, insert={2: encode(row_fields("최고 👍🏻\x07", 1, "emoji"))})),
            everything,
            False,
        ),
        Case("trailing garbage line", utf8 + b"garbage at the end\n", everything, True),
        Case("an HTML error page", b"<html><body>502 Bad Gateway</body></html>\n", [], True),
        Case(
            "a JSON array of rows",
            json.dumps([row_fields(*row) for row in rows], ensure_ascii=False).encode(),
            [],
            True,
        ),
    ]
    if FORMAT in ("tsv", "csv"):
        other = {"tsv": ",", "csv": "\t"}[FORMAT]
        found += [
            Case("header only", text_file(header_line()), [], True),
            Case(
                "no text column",
                text_file([*renamed(DATA.text_column, f"{DATA.text_column}_2"), *lines_with(rows)[1:]]),
                [],
                True,
            ),
            Case(
                "no label column",
                text_file([*renamed(label_key, f"{label_key}_2"), *lines_with(rows)[1:]]),
                [],
                True,
            ),
            Case(
                "the header names almost right",
                text_file([*header_line([near_miss(name) for name in header_columns()]), *lines_with(rows)[1:]]),
                [],
                True,
            ),
            Case(
                "the other delimiter",
                text_file([line.replace("\t" if FORMAT == "tsv" else ",", other) for line in lines_with(rows)]),
                [],
                True,
            ),
            Case(
                "an extra field in one row",
                text_file(
                    lines_with(
                        rows,
                        insert={
                            6: encode(row_fields("하나 더", 0, "extra")) + ("\t" if FORMAT == "tsv" else ",") + "extra"
                        },
                    )
                ),
                everything,
                True,
            ),
            Case(
                "a missing field in one row", text_file(lines_with(rows, insert={6: "혼자 있는 값"})), everything, True
            ),
            Case(
                "an extra column everywhere",
                text_file([line + ("\t" if FORMAT == "tsv" else ",") + "x" for line in lines_with(rows)]),
                everything,
                False,
            ),
        ]
    if FORMAT == "csv":
        found += [
            Case(
                "a quote that never closes, mid-file",
                text_file(lines_with(rows, insert={10: '"열린 따옴표,0'})),
                everything,
                True,
            ),
            Case("a quote that never closes, at the end", utf8 + b'"never closed,1\n', everything, True),
            Case(
                "a field over 128 KB", text_file(lines_with(rows, insert={10: '"' + "가" * 140_000})), everything, True
            ),
            Case(
                "quoted newlines inside a text",
                text_file(lines_with(rows, insert={3: encode(row_fields("첫 줄\n둘째 줄", 0, "multi"))})),
                everything,
                False,
            ),
            Case(
                "a semicolon CSV (European Excel)",
                text_file([line.replace(",", ";") for line in lines_with(rows)]),
                [],
                True,
            ),
        ]
    if FORMAT == "tsv":
        found += [
            Case(
                "quote marks inside a text (NSMC style)",
                text_file(lines_with(rows, insert={3: encode(row_fields('"인생 영화" 라고', 1, "quote"))})),
                everything,
                False,
            ),
        ]
    if FORMAT == "jsonl":
        found += [
            Case("invalid JSON line", text_file(lines_with(rows, insert={5: '{"broken": '})), everything, True),
            Case("a JSON array line", text_file(lines_with(rows, insert={5: "[1, 2, 3]"})), everything, True),
            Case("a JSON string line", text_file(lines_with(rows, insert={5: '"just text"'})), everything, True),
            Case("deep nesting", text_file(lines_with(rows, insert={5: "[" * 100_000})), everything, True),
            Case(
                "a 5,000-digit number",
                text_file(lines_with(rows, insert={5: '{"n": ' + "9" * 5000 + "}"})),
                everything,
                True,
            ),
            one_bad_field("a NaN label", label_key, float("nan"), 5, True),
            one_bad_field("a list label", label_key, [1], 5, not list_ok),  # [1]: a multi-label list of one
            one_bad_field("a boolean label", label_key, True, 5, not FLAG_COLUMNS),  # a 0/1 key may be true/false
            one_bad_field("a number text", text_key, 42, 5, True),
            one_bad_field("a null text", text_key, None, 5, False),
            Case(
                "no text key", text_file(lines_with(rows, insert={5: bad(lambda f: f.pop(text_key))})), everything, True
            ),
            Case(
                "no label key",
                text_file(lines_with(rows, insert={5: bad(lambda f: f.pop(label_key))})),
                everything,
                True,
            ),
            Case(
                "Python dict syntax", text_file(lines_with(rows, insert={5: str({"text": "파이썬"})})), everything, True
            ),
            Case("two objects on one line", text_file(lines_with(rows, insert={5: "{}{}"})), everything, True),
        ]
    return found


def zip_of(content: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("sheet.csv", content)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def corpus(sample):
    return {case.name: case for case in cases(sample)}


def test_the_corpus_is_big(corpus):
    assert len(corpus) >= (40 if TEXT else 25)


def test_every_corrupted_file_loads_without_a_traceback_and_keeps_every_good_row(project, sample, corpus):
    rows = good_rows(sample)
    path = data_file(project, project.data.train_file)
    schema = load_schema(project)
    for case in corpus.values():
        path.write_bytes(case.body)
        report = load_project_file(project, schema, path, training=False)
        assert bool(report.errors) == case.errors, (case.name, [str(p) for p in report.errors][:5])
        for problem in report.errors:
            assert problem.line >= 1 or problem.reason in FILE_LEVEL, (case.name, str(problem))
            assert str(problem).startswith(f"{path}:"), (case.name, str(problem))
        kept = {(record.text, record.label) for record in report.records}
        lost = [rows[i] for i in case.kept if (rows[i][0], rows[i][1]) not in kept]
        assert lost == [], (case.name, lost[:3])
        assert all(len(line) < 500 for line in report.problem_lines()), case.name  # readable, however bad


@pytest.mark.skipif(not TEXT, reason="a text format's encoding")
def test_a_damaged_line_of_a_cp949_file_is_named_and_the_others_read_as_cp949(project, sample):
    lines = [line.encode("cp949") for line in lines_with(good_rows(sample))]
    path = data_file(project, project.data.train_file)
    path.write_bytes(b"\n".join([*lines[:4], b"\xff\xfe\xff", *lines[4:]]) + b"\n")  # 0xFF: no encoding's byte
    report = load_project_file(project, load_schema(project), path, training=False)
    assert {problem.line for problem in report.errors} == {5} and "not valid CP949" in str(report.errors[0])
    assert len(report.records) == GOOD


@pytest.mark.slow  # a corpus sweep through the CLI; the loader sweep above stays in the default tier
def test_prepare_on_every_corrupted_file_prints_lines_never_a_traceback(project, corpus, monkeypatch):
    monkeypatch.chdir(project.root)
    path = data_file(project, project.data.train_file)
    runner = CliRunner()
    for case in corpus.values():
        path.write_bytes(case.body)
        result = runner.invoke(app, ["prepare"])
        assert result.exception is None or isinstance(result.exception, SystemExit), (case.name, result.exception)
        assert "Traceback" not in result.output, case.name
        assert result.exit_code == (1 if case.errors else 0), (case.name, result.output[-1000:])
        assert len(result.output.splitlines()) < 80, case.name  # repeated problems are summarised
