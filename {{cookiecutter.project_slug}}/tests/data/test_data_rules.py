"""Readers, validation rules and normalisation: every rule's message, file:line, nothing lost."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from {{ cookiecutter.package_name }}.data.labels import LabelSchema
from {{ cookiecutter.package_name }}.data.normalize import Normalizer
from {{ cookiecutter.package_name }}.data.validation import ReadOptions, load_records
from {{ cookiecutter.package_name }}.errors import LabelError

BINARY = LabelSchema(("negative", "positive"), "index")
KOREAN3 = LabelSchema(("부정", "중립", "긍정"), "name")
STARS = LabelSchema(("1", "2", "3", "4", "5"), "name")
TSV = ReadOptions("tsv", "document", "label", "id")
CSV = ReadOptions("csv", "review_text", "sentiment", "id")
JSONL = ReadOptions("jsonl", "text", "stars", "")


def write(tmp_path, name, content, encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(content.encode(encoding) if isinstance(content, str) else content)
    return path


# --- readers -------------------------------------------------------------------------------------


def test_tsv_keeps_the_first_row_and_quotes(tmp_path):
    path = write(tmp_path, "a.tsv", 'id\tdocument\tlabel\n1\t"인생 영화" 강추\t1\n2\t별로, 정말 별로\t0\n')
    report = load_records(path, TSV, BINARY)
    assert not report.errors
    assert [(r.text, r.label, r.line, r.row_id) for r in report.records] == [
        ('"인생 영화" 강추', 1, 2, "1"),
        ("별로, 정말 별로", 0, 3, "2"),
    ]


def test_csv_reads_quoted_commas_tabs_and_newlines(tmp_path):
    content = 'id,review_text,sentiment\n1,"좋다, 정말\t좋다",긍정\n2,"두 줄\n리뷰",중립\n3,그냥,부정\n'
    report = load_records(write(tmp_path, "a.csv", content), CSV, KOREAN3)
    assert not report.errors
    assert [(r.text, r.label, r.line) for r in report.records] == [
        ("좋다, 정말\t좋다", 2, 2),
        ("두 줄\n리뷰", 1, 3),
        ("그냥", 0, 5),
    ]


def test_a_csv_problem_names_the_spreadsheet_row_and_the_id_beside_the_line(tmp_path):
    """Quoted line breaks and blank lines shift a CSV's lines from the rows Excel shows (header = row 1)."""
    content = (
        "id,review_text,sentiment\r\n"
        '100001,"세 줄\r\n짜리\r\n리뷰",긍정\r\n'  # row 2, lines 2-4
        "\r\n"  # row 3: a blank row
        ",,\r\n"  # row 4: a row of empty cells
        '100077,"환불, ""빨리""",환불요청\r\n'  # row 5, line 7
    )
    report = load_records(write(tmp_path, "inquiries.csv", content, "cp949"), CSV, KOREAN3)
    shown = [str(problem) for problem in report.errors]
    assert shown == [
        f"{tmp_path / 'inquiries.csv'}:7 (row 5, id 100077): error: unknown label '환불요청'; "
        "expected one of ['부정', '중립', '긍정']"  # nothing close enough to suggest
    ]
    dropped = next(p for p in report.problems if p.reason == "empty_text")
    assert (dropped.line, dropped.row, dropped.row_id) == (6, 4, "")
    assert [(r.line, r.row_id) for r in report.records] == [(2, "100001")]


def test_jsonl_integer_labels_match_names_as_strings(tmp_path):
    lines = [{"text": "최고", "stars": 5}, {"text": "최악", "stars": 1}, {"text": "보통", "stars": "3"}]
    path = write(tmp_path, "a.jsonl", "".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines))
    report = load_records(path, JSONL, STARS)
    assert not report.errors
    assert [r.label for r in report.records] == [4, 0, 2]


def test_utf8_bom_and_crlf_are_accepted(tmp_path):
    path = write(tmp_path, "a.tsv", b"\xef\xbb\xbfid\tdocument\tlabel\r\n1\t\xec\xa2\x8b\xec\x95\x84\t1\r\n")
    report = load_records(path, TSV, BINARY)
    assert not report.errors
    assert report.records[0].text == "좋아"


def test_review_survives_loading_unchanged(tmp_path):
    review = 'He said "최고!!" 10점, 2번 봄 👍🏻 ㅋㅋ ABC-123 (sic)'
    tsv = write(tmp_path, "a.tsv", f"id\tdocument\tlabel\n1\t{review}\t1\n")
    csv_text = '"' + (review + "\twith a tab").replace('"', '""') + '"'
    csv = write(tmp_path, "a.csv", f"id,review_text,sentiment\n1,{csv_text},긍정\n")
    jsonl = write(tmp_path, "a.jsonl", json.dumps({"text": review, "stars": 5}, ensure_ascii=False) + "\n")
    plain = Normalizer("none", collapse_whitespace=False)
    assert load_records(tsv, TSV, BINARY, plain).records[0].text == review
    assert load_records(csv, CSV, KOREAN3, plain).records[0].text == review + "\twith a tab"
    assert load_records(jsonl, JSONL, STARS, plain).records[0].text == review
    # the documented default normalisation (NFC + whitespace collapsing) keeps every character too
    assert load_records(tsv, TSV, BINARY, Normalizer()).records[0].text == review


def test_normalizer_composes_hangul_and_deletes_nothing_by_default():
    decomposed = "\u1100\u1161\u11a8 movie 123 🎬"  # 각, written as jamo
    assert Normalizer()(decomposed + "  \t ") == "각 movie 123 🎬"
    assert Normalizer("none", False)(decomposed) == decomposed
    assert Normalizer(remove_pattern="[^가-힣 ]")("좋아요 good 10점!") == "좋아요 점"


# --- validation rules ----------------------------------------------------------------------------


def test_empty_texts_are_dropped_and_counted_with_lines(tmp_path):
    path = write(tmp_path, "a.tsv", "id\tdocument\tlabel\n1\t좋아\t1\n2\t\t0\n3\t   \t1\n4\t싫어\t0\n")
    report = load_records(path, TSV, BINARY)
    assert len(report.records) == 2
    assert report.dropped == Counter({"empty_text": 2})
    assert [p.line for p in report.problems] == [3, 4]
    assert "dropped 2 (empty_text) at line(s) 3, 4" in report.summary()
    strict = load_records(path, ReadOptions("tsv", "document", "label", "id", empty_text="error"), BINARY)
    assert [str(p) for p in strict.errors] == [
        f"{path}:3 (id 2): error: text is empty",
        f"{path}:4 (id 3): error: text is empty",
    ]


def test_unknown_label_is_an_error_naming_file_line_and_value(tmp_path):
    path = write(tmp_path, "a.csv", "id,review_text,sentiment\n1,좋다,긍정\n2,싫다,부졍\n")
    report = load_records(path, CSV, KOREAN3)
    assert [str(p) for p in report.errors] == [
        f"{path}:3 (id 2): error: unknown label '부졍' (did you mean '부정'?); expected one of ['부정', '중립', '긍정']"
    ]
    notes = " ".join(report.notes)  # half the rows: perhaps another schema
    assert "labels.json expects label names (부정, 중립, 긍정)" in notes and "needs a new bake" in notes
    dropping = ReadOptions("csv", "review_text", "sentiment", "id", unknown_label="drop")
    assert load_records(path, dropping, KOREAN3).dropped == Counter({"unknown_label": 1})


def test_label_id_out_of_range_and_not_a_number(tmp_path):
    path = write(tmp_path, "a.tsv", "id\tdocument\tlabel\n1\t좋아\t2\n2\t싫어\tpos\n3\t음\t-1\n")
    messages = [p.message for p in load_records(path, TSV, BINARY).errors]
    assert messages == [
        "label id 2 is out of range 0..1",
        "label 'pos' is not a class id 0..1",
        "label id -1 is out of range 0..1",
    ]


def test_a_decimal_label_is_a_score_with_one_message_and_never_dropped(tmp_path):
    """A class id is an integer written as one: 1.0, 1.000 and 0.000 are decimal numbers like 3.800 (an STS score),
    each refused with the same message, even with data.unknown_label: drop (else the rows whose score reads 0 or 1
    would train a classifier)."""
    rows = "".join(f"{i}\t텍스트 {i}\t{cell}\n" for i, cell in enumerate(["1", "1.0", "1.000", "0.000", "3.800"]))
    path = write(tmp_path, "a.tsv", "id\tdocument\tlabel\n" + rows)
    for options in (TSV, ReadOptions("tsv", "document", "label", "id", unknown_label="drop")):
        report = load_records(path, options, BINARY)
        assert [r.label for r in report.records] == [1] and not report.dropped
        assert [p.reason for p in report.errors] == ["score_label"] * 4
        assert report.errors[-1].message == (
            "label '3.800' is a decimal number: it looks like a score, not a class (labels are the class ids 0..1, "
            "integers written without a decimal point); scores (e.g. STS similarity) are a regression task: bake the "
            "project with task=regression"
        )
    named = LabelSchema(("1", "2", "3"), "name")
    with pytest.raises(LabelError, match="looks like a score"):
        named.to_id(2.5)
    flags = LabelSchema(("a", "b"), task="multi_label")
    with pytest.raises(LabelError, match="looks like a score"):
        flags.to_flag("0.5", "a")
    # a 0/1 column has no other reading of 1.0 or True: pandas writes a float or bool column so
    assert [flags.to_flag(cell, "a") for cell in ("1.0", "0.000", "True", "FALSE", "true", 1.0)] == [
        True,
        False,
        True,
        False,
        True,
        True,
    ]


def test_missing_file_and_missing_column(tmp_path):
    missing = load_records(tmp_path / "nope.tsv", TSV, BINARY)
    assert missing.errors[0].reason == "missing_file"
    path = write(tmp_path, "a.tsv", "id\ttext\tlabel\n1\t좋아\t1\n")
    report = load_records(path, TSV, BINARY)
    assert [str(p) for p in report.errors] == [
        f"{path}:1: error: missing column(s) 'document' (data.text_column). Set data.text_column in config.yaml to "
        "the column(s) holding them; the header has ['id', 'text', 'label']"
    ]


def test_broken_csv_quote_is_reported_where_it_starts(tmp_path):
    path = write(tmp_path, "a.csv", 'id,review_text,sentiment\n1,좋다,긍정\n2,"끝나지 않는 따옴표,부정\n3,그냥,중립\n')
    report = load_records(path, CSV, KOREAN3)
    assert len(report.errors) == 1
    assert report.errors[0].line == 3 and "broken CSV quoting" in report.errors[0].message
    assert [r.line for r in report.records] == [2, 4]  # reading resumed after the broken line


def test_wrong_field_count_in_tsv(tmp_path):
    path = write(tmp_path, "a.tsv", "id\tdocument\tlabel\n1\t탭이\t하나 더\t1\n")
    assert str(load_records(path, TSV, BINARY).errors[0]) == (
        f"{path}:2: error: expected 3 tab-separated fields, found 4"
    )


def test_non_utf8_byte_is_reported_with_line_and_column(tmp_path):
    path = write(tmp_path, "a.tsv", "id\tdocument\tlabel\n1\t좋아\t1\n".encode() + "2\t싫어\t0\n".encode("cp949"))
    report = load_records(path, TSV, BINARY)
    assert len(report.errors) == 1
    assert report.errors[0].line == 3 and "not valid UTF-8 (byte 0xbd at column 3)" in report.errors[0].message


def test_jsonl_syntax_and_shape_errors(tmp_path):
    path = write(tmp_path, "a.jsonl", '{"text": "좋아", "stars": 5}\n{"text": "broken"\n[1, 2]\n{"stars": 3}\n')
    reasons = [(p.line, p.reason) for p in load_records(path, JSONL, STARS).errors]
    assert reasons == [(2, "json_syntax"), (3, "json_shape"), (4, "missing_field")]


def test_duplicate_ids_are_reported_dropped_or_rejected(tmp_path):
    path = write(tmp_path, "a.tsv", "id\tdocument\tlabel\n7\t좋아\t1\n7\t좋아\t1\n")
    assert load_records(path, TSV, BINARY).problems[0].kind == "warning"
    drop = load_records(path, ReadOptions("tsv", "document", "label", "id", duplicate_ids="drop"), BINARY)
    assert len(drop.records) == 1 and drop.dropped == Counter({"duplicate_id": 1})
    error = load_records(path, ReadOptions("tsv", "document", "label", "id", duplicate_ids="error"), BINARY)
    assert "duplicate id '7' (first seen at line 2)" in error.errors[0].message


def test_unlabelled_input_is_allowed_for_prediction(tmp_path):
    path = write(tmp_path, "a.tsv", "id\tdocument\n1\t좋아\n")
    options = ReadOptions("tsv", "document", "label", "id", require_labels=False)
    report = load_records(path, options, BINARY)
    assert not report.errors and report.records[0].label is None


def test_cp949_and_utf16_files_give_the_same_rows_as_utf8(tmp_path):
    content = "id\tdocument\tlabel\n1\t정말 재밌어요\t1\n2\t별로예요, 최악\t0\n3\t그냥 그래요\t0\n"
    rows, notes = {}, {}
    for encoding in ("utf-8", "cp949", "utf-16"):
        report = load_records(write(tmp_path, f"{encoding}.tsv", content, encoding), TSV, BINARY)
        assert not report.errors, report.problem_lines()
        rows[encoding] = [(r.text, r.label, r.line, r.row_id) for r in report.records]
        notes[encoding] = " ".join(report.notes)
    assert rows["cp949"] == rows["utf-16"] == rows["utf-8"] and len(rows["utf-8"]) == 3
    assert "detected cp949" in notes["cp949"] and "data.encoding: cp949" in notes["cp949"]


def test_an_explicit_encoding_is_used_as_given(tmp_path):
    path = write(tmp_path, "a.tsv", "id\tdocument\tlabel\n1\t좋아요\t1\n", "euc-kr")
    options = ReadOptions("tsv", "document", "label", "id", encoding="euc-kr")
    assert load_records(path, options, BINARY).records[0].text == "좋아요"


def test_many_undecodable_lines_name_the_likely_encoding_once_and_are_summarised(tmp_path):
    lines = ["id\tdocument\tlabel", "1\t정말 좋아요\t1"] + [f"{i}\t별로예요 {i}\t0" for i in range(2, 60)]
    raw = "\n".join(lines[:2]).encode() + b"\n" + "\n".join(lines[2:]).encode("cp949") + b"\n"
    report = load_records(write(tmp_path, "mixed.tsv", raw), TSV, BINARY)
    assert len(report.errors) == 58 and report.records[0].text == "정말 좋아요"
    assert any("decode as cp949" in note and "save it again as UTF-8" in note for note in report.notes)
    assert not any("data.encoding" in note for note in report.notes)  # no one encoding reads a mixed file
    shown = report.problem_lines()
    assert len(shown) == 21 and "... and 38 more line(s) like this (error: encoding)" in shown[-1]


def test_an_absent_id_column_means_rows_are_identified_by_line(tmp_path):
    path = write(tmp_path, "a.tsv", "document\tlabel\n좋아요\t1\n별로\t0\n좋아요\t1\n")
    report = load_records(path, TSV, BINARY)  # TSV expects an "id" column
    assert not report.errors and [r.line for r in report.records] == [2, 3, 4]
    assert report.notes == ["no 'id' column (data.id_column): rows are identified by their line number"]
    assert not report.warnings  # no ids, so no duplicate-id checks


def test_a_broken_csv_quote_does_not_hide_later_problems(tmp_path):
    rows = (
        [f"{i},리뷰 {i},긍정" for i in range(2, 1002)]
        + ['1002,"열린 따옴표,부정']
        + [f"{i},리뷰 {i},긍정" for i in range(1003, 2002)]
        + ["2002,마지막,없는라벨"]
    )
    path = write(tmp_path, "a.csv", "id,review_text,sentiment\n" + "\n".join(rows) + "\n")
    report = load_records(path, CSV, KOREAN3)
    assert [(p.line, p.reason) for p in report.errors] == [(1002, "csv_syntax"), (2002, "unknown_label")]
    assert len(report.records) == 1999  # every good row before and after the broken one


def test_a_few_label_typos_are_typos_not_another_schema(tmp_path):
    rows = "".join(f"{i},리뷰 {i},{['부정', '중립', '긍정'][i % 3]}\n" for i in range(1, 10))
    path = write(tmp_path, "a.csv", "id,review_text,sentiment\n" + rows + "10,별로,부졍\n")
    notes = " ".join(load_records(path, CSV, KOREAN3).notes)
    assert "1 row(s) hold a label labels.json does not know: correct those cells, or set data.unknown_label" in notes
    assert "needs a new bake" not in notes


def test_a_header_that_does_not_decode_points_at_the_encoding_not_the_column_names(tmp_path):
    path = write(tmp_path, "a.csv", "문의번호,문의내용,분류\n1,배송이 늦어요,부정\n", "utf-8")
    forced = ReadOptions("csv", "문의내용", "분류", "문의번호", encoding="cp949")
    shown = " ".join(str(p) for p in load_records(path, forced, KOREAN3).errors)
    assert "set data.encoding: auto" in shown and "Set data.text_column" not in shown
