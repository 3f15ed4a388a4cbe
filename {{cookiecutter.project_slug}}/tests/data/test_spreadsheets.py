"""Excel workbooks and Parquet files, read as they are (no decoding first), whatever this project's own format."""

from __future__ import annotations

import datetime

import openpyxl
import pandas as pd

from {{ cookiecutter.package_name }}.data.labels import LabelSchema
from {{ cookiecutter.package_name }}.data.readers import writer
from {{ cookiecutter.package_name }}.data.validation import ReadOptions, load_records
from {{ cookiecutter.package_name }}.format_registry import FORMAT_NAMES, FORMATS

SCHEMA = LabelSchema(("배송", "환불", "기타"), "index")
TITLE = "2024 고객 문의 분류"
HEADER = ["문의번호", "접수일", "문의내용", "분류"]


def workbook(path, rows, title: bool = False, sheet: str = "문의") -> None:
    """An Excel file as a Korean office saves one: a sheet named ``sheet`` after a first one, maybe a merged title
    row above the header, numbers and dates as Excel's own cells."""
    book = openpyxl.Workbook()
    book.active.title = "안내"
    book.active.append(["이 시트는 설명입니다"])
    table = book.create_sheet(sheet)
    if title:
        table.append([TITLE])
        table.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(HEADER))
    table.append(HEADER)
    for row in rows:
        table.append(row)
    book.save(path)


ROWS = [
    [1001, datetime.datetime(2024, 3, 1), "배송이 너무 늦어요", 0],
    [1002, datetime.datetime(2024, 3, 2, 14, 30), "환불해 주세요", 1.0],  # a float that is whole: class 1
    [1003, None, "기타 문의입니다", 2],
    [1004, datetime.datetime(2024, 3, 4), None, 0],  # an empty text cell
    [1005, datetime.datetime(2024, 3, 5), "라벨이 비었어요", None],  # an empty label cell
    [1006, datetime.datetime(2024, 3, 6), "소수점 라벨", 1.5],
]


def options(**changes) -> ReadOptions:
    return ReadOptions("xlsx", "문의내용", "분류", "문의번호", **{"sheet_name": "문의", **changes})


def test_the_registry_declares_every_format_once():
    assert FORMAT_NAMES == tuple(FORMATS) and {"tsv", "csv", "jsonl", "xlsx", "parquet"} <= set(FORMAT_NAMES)
    assert all(fmt.suffixes and all(suffix.startswith(".") for suffix in fmt.suffixes) for fmt in FORMATS.values())
    assert [name for name, fmt in FORMATS.items() if not fmt.text] == ["xlsx", "parquet"]


def test_an_excel_sheet_reads_cells_as_a_user_sees_them_and_names_problems_by_sheet_and_row(tmp_path):
    path = tmp_path / "문의.xlsx"
    workbook(path, ROWS)
    report = load_records(path, options(), SCHEMA)
    kept = [(record.line, record.row_id, record.text, record.label) for record in report.records]
    assert kept == [
        (2, "1001", "배송이 너무 늦어요", 0),
        (3, "1002", "환불해 주세요", 1),
        (4, "1003", "기타 문의입니다", 2),
    ]
    problems = {str(problem).split(": ", 1)[0]: problem.reason for problem in report.problems}
    assert problems == {
        f"{path}:문의!5 (id 1004)": "empty_text",
        f"{path}:문의!6 (id 1005)": "unknown_label",
        f"{path}:문의!7 (id 1006)": "score_label",
    }, [str(problem) for problem in report.problems]
    assert all("\n" not in str(problem) for problem in report.problems)


def test_dates_are_iso_text_and_whole_numbers_have_no_decimal_point(tmp_path):
    path = tmp_path / "dates.xlsx"
    workbook(path, ROWS[:3])
    report = load_records(path, ReadOptions("xlsx", "접수일", "분류", sheet_name="문의"), None)
    assert [record.text for record in report.records] == ["2024-03-01", "2024-03-02 14:30:00"]
    assert [p.reason for p in report.problems] == ["empty_text"]  # row 4's empty date cell: counted, not lost


def test_the_first_sheet_is_read_unless_one_is_named_and_a_missing_sheet_is_one_line(tmp_path):
    path = tmp_path / "book.xlsx"
    workbook(path, ROWS[:3])
    first = load_records(path, options(sheet_name=""), SCHEMA)  # the first sheet: the note, not the table
    assert [p.reason for p in first.errors] == ["missing_column"] and ":안내!1" in str(first.errors[0])
    missing = load_records(path, options(sheet_name="없는시트"), SCHEMA)
    assert [str(p) for p in missing.errors] == [
        f"{path}: error: no sheet '없는시트' (data.sheet_name); the workbook has '안내', '문의'"
    ]


def test_a_merged_title_above_the_header_is_one_error_naming_the_row_to_set(tmp_path):
    path = tmp_path / "titled.xlsx"
    workbook(path, ROWS[:3], title=True)
    report = load_records(path, options(), SCHEMA)
    assert [str(p) for p in report.errors] == [
        f"{path}:문의!1: error: row 1 holds '{TITLE}', not the column names: they are on row 2 (a title above the "
        "table?); set data.header_row: 2"
    ]
    fixed = load_records(path, options(header_row=2), SCHEMA)
    assert fixed.errors == [] and [record.line for record in fixed.records] == [3, 4, 5]


def test_a_workbook_that_is_not_one_is_one_line(tmp_path):
    path = tmp_path / "broken.xlsx"
    path.write_text("문의번호,문의내용,분류\n1,배송,0\n", encoding="utf-8")  # a CSV named .xlsx
    report = load_records(path, options(), SCHEMA)
    assert len(report.errors) == 1 and str(report.errors[0]).startswith(f"{path}: error: not an Excel workbook")


def test_parquet_round_trip_through_the_formats_writer(tmp_path):
    rows = [
        {"id": "a1", "리뷰": "정말 좋아요", "판정": 1},
        {"id": "a2", "리뷰": "별로예요", "판정": 0},
        {"id": "a3", "리뷰": None, "판정": 2},
    ]
    path = tmp_path / "reviews.parquet"
    writer("parquet")(rows, path)
    assert pd.read_parquet(path).to_dict("records")[:2] == rows[:2]
    report = load_records(path, ReadOptions("parquet", "리뷰", "판정", "id"), SCHEMA)
    assert [(r.line, r.row_id, r.text, r.label) for r in report.records] == [
        (2, "a1", "정말 좋아요", 1),
        (3, "a2", "별로예요", 0),
    ]
    assert [str(p).split(": ", 1)[0] for p in report.problems] == [f"{path}:4 (id a3)"]


def test_every_format_reads_back_what_its_writer_wrote(tmp_path):
    rows = [{"번호": "1", "문장": '첫 문장, "따옴표"', "분류": 2}, {"번호": "2", "문장": "둘째", "분류": 0}]
    for name, fmt in FORMATS.items():
        path = tmp_path / f"rows{fmt.suffixes[0]}"
        writer(name)(rows, path)
        report = load_records(path, ReadOptions(name, "문장", "분류", "번호"), SCHEMA)
        assert [(r.row_id, r.text, r.label) for r in report.records] == [("1", rows[0]["문장"], 2), ("2", "둘째", 0)], (
            name
        )


def test_a_workbook_read_as_text_is_refused_and_the_setting_that_reads_it_named(tmp_path):
    path = tmp_path / "train.xlsx"
    workbook(path, ROWS[:3])
    report = load_records(path, ReadOptions("tsv", "문의내용", "분류"), SCHEMA)
    assert report.errors and report.records == []
    assert "train.xlsx has the suffix of data_format xlsx: if it is one, set data.data_format: xlsx" in report.notes
