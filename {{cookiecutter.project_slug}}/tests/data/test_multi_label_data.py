"""Multi-label files in their three forms (a 0/1 column per label, names joined in one cell, a JSON list), their
problems by file:line, the label statistics prepare prints and the iterative split that keeps every label's share.

These tests use their own multi-label schema: they run in every project, whatever its task."""

from __future__ import annotations

import json
import random
import unicodedata
from collections import Counter

import pytest

from {{ cookiecutter.package_name }}.config import load_config
from {{ cookiecutter.package_name }}.data.dataset import check_classes, load_schema
from {{ cookiecutter.package_name }}.data.labels import LabelSchema
from {{ cookiecutter.package_name }}.data.report import Record
from {{ cookiecutter.package_name }}.data.splits import stratified_split, subset
from {{ cookiecutter.package_name }}.data.validation import ReadOptions, load_records
from {{ cookiecutter.package_name }}.errors import LabelError

NAMES = LabelSchema(("욕설", "여성", "남성", "기타"), "name", "multi_label")
IDS = LabelSchema(("욕설", "여성", "남성", "기타"), "index", "multi_label")
FLAGS = ReadOptions("tsv", "문장", "")  # no label column: a 0/1 column per label name
JOINED = ReadOptions("csv", "text", "labels", label_separator="|")
LISTED = ReadOptions("jsonl", "text", "labels")


def write(tmp_path, name, content):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    return path


def test_a_01_column_per_label_reads_every_label_set_and_rows_with_none(tmp_path):
    path = write(
        tmp_path, "u.tsv", "문장\t욕설\t여성\t남성\t기타\t출처\n나쁜 말\t1\t0\t1\t0\tweb\n좋은 말\t0\t0\t0\t0\tweb\n"
    )
    report = load_records(path, FLAGS, NAMES)
    assert not report.errors
    assert [(r.text, r.label) for r in report.records] == [("나쁜 말", (0, 2)), ("좋은 말", ())]
    assert any("column(s) '출처' not read: not a label of the label schema" in note for note in report.notes)


def test_a_01_cell_that_is_not_0_or_1_and_a_missing_label_column_are_problems_by_line(tmp_path):
    bad = write(tmp_path, "u.tsv", "문장\t욕설\t여성\t남성\t기타\n하나\t1\t0\t0\t0\n둘\t2\t0\t0\t0\n셋\t0\t0\t0\t예\n")
    report = load_records(bad, FLAGS, NAMES)
    assert [(p.line, p.reason) for p in report.errors] == [(3, "unknown_label"), (4, "unknown_label")]
    assert f"{bad}:3: error: the '욕설' column holds '2', not 0 or 1" in str(report.errors[0])
    assert report.notes == [
        "2 row(s) hold a cell that is not 0 or 1 in a label's column: correct those cells, or set "
        "data.unknown_label: drop to leave such rows out"
    ]  # not: another label schema
    assert [r.label for r in report.records] == [(0,)]
    missing = write(tmp_path, "m.tsv", "문장\t욕설\t여성\t남성\n하나\t1\t0\t0\n")
    report = load_records(missing, FLAGS, NAMES)
    assert [p.reason for p in report.errors] == ["missing_column"] and "'기타'" in report.errors[0].message
    assert "Rename the file's column(s) to the label names" in report.errors[0].message
    assert "Set a 0/1" not in report.errors[0].message  # not a config key
    renamed = write(tmp_path, "r.tsv", "문장\t욕설\t여성\t남성\t기 타\n하나\t1\t0\t0\t0\n")
    message = load_records(renamed, FLAGS, NAMES).errors[0].message
    assert "'기타' (a 0/1 column per label name; the file has '기 타')" in message
    assert message.index("Rename") < message.index("the header has")  # the fix before the long part a cap may cut


def test_names_joined_by_the_separator_in_one_cell(tmp_path):
    path = write(tmp_path, "j.csv", 'text,labels\n"욕, 여성 비하",욕설|여성\n그냥,\n남자,남성|남성\n')
    report = load_records(path, JOINED, NAMES)
    assert not report.errors
    assert [r.label for r in report.records] == [(0, 1), (), (2,)]  # empty: no label; a repeat counts once
    typo = write(tmp_path, "t.csv", "text,labels\n하나,욕설|여셩\n")
    report = load_records(typo, JOINED, NAMES)
    assert [p.line for p in report.errors] == [2]
    assert "unknown label '여셩' (did you mean '여성'?)" in report.errors[0].message


def test_class_ids_joined_and_json_lists_of_names_or_ids(tmp_path):
    ids = write(tmp_path, "i.csv", "text,labels\n하나,0|3\n둘,4\n")
    report = load_records(ids, JOINED, IDS)
    assert [r.label for r in report.records] == [(0, 3)]
    assert "label id 4 is out of range 0..3" in report.errors[0].message
    rows = [{"text": "하나", "labels": ["여성", "욕설"]}, {"text": "둘", "labels": []}, {"text": "셋", "labels": None}]
    listed = write(tmp_path, "l.jsonl", "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows))
    report = load_records(listed, LISTED, NAMES)
    assert [r.label for r in report.records] == [(0, 1), ()]
    assert [(p.line, p.reason) for p in report.errors] == [(3, "unknown_label")]
    numbers = write(tmp_path, "n.jsonl", '{"text": "하나", "labels": [2, 0]}\n')
    assert [r.label for r in load_records(numbers, LISTED, IDS).records] == [(0, 2)]


def test_json_lines_with_a_01_key_per_label(tmp_path):
    rows = [{"text": "하나", "욕설": 1, "여성": 0, "남성": True, "기타": 0}, {"text": "둘", "욕설": 0, "여성": 0}]
    path = write(tmp_path, "f.jsonl", "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows))
    report = load_records(path, ReadOptions("jsonl", "text", ""), NAMES)
    assert [r.label for r in report.records] == [(0, 2)]
    assert [(p.line, p.reason) for p in report.errors] == [(2, "missing_field")]


def test_decomposed_hangul_column_names_match_the_label_names(tmp_path):
    """A header (or JSON keys) in NFD, as macOS writes it, still names the 0/1 column of each label and the text."""

    def nfd(text):
        return unicodedata.normalize("NFD", text)

    path = write(tmp_path, "u.tsv", nfd("문장\t욕설\t여성\t남성\t기타") + "\n나쁜 말\t1\t0\t1\t0\n")
    report = load_records(path, FLAGS, NAMES)
    assert not report.errors and [r.label for r in report.records] == [(0, 2)]
    row = {nfd("문장"): "하나", nfd("욕설"): 1, "여성": 0, "남성": 0, nfd("기타"): 1}
    keys = write(tmp_path, "k.jsonl", json.dumps(row, ensure_ascii=False) + "\n")
    report = load_records(keys, ReadOptions("jsonl", nfd("문장"), ""), NAMES)
    assert not report.errors and [r.label for r in report.records] == [(0, 3)]


def test_a_label_column_twice_in_the_header_is_a_problem_not_a_silent_pick(tmp_path):
    path = write(tmp_path, "d.tsv", "문장\t욕설\t여성\t남성\t기타\t욕설\n나쁜 말\t1\t0\t0\t0\t0\n")
    report = load_records(path, FLAGS, NAMES)
    assert [(p.line, p.reason) for p in report.errors] == [(1, "duplicate_column")] and not report.records
    assert "column '욕설' appears more than once in the header (columns 2, 6)" in report.errors[0].message


def test_a_separator_inside_a_label_name_is_refused_before_any_row(tmp_path):
    NAMES.save(tmp_path / "labels.json")
    (tmp_path / "config.yaml").write_text("data:\n  labels_file: labels.json\n", encoding="utf-8")
    joined = {"data.data_format": "csv", "data.label_column": "labels", "data.labels_file": "labels.json"}
    config = load_config(tmp_path / "config.yaml", {**joined, "data.label_separator": "성"})
    with pytest.raises(LabelError, match="data.label_separator '성' appears inside label\\(s\\) 여성, 남성"):
        load_schema(config)
    assert load_schema(load_config(tmp_path / "config.yaml", joined)).names == NAMES.names


def test_prepare_statistics_label_frequencies_cardinality_and_rows_with_no_label(tmp_path):
    path = write(tmp_path, "s.csv", "text,labels\na,욕설|여성\nb,\nc,욕설\nd,\n")
    report = load_records(path, JOINED, NAMES)
    assert report.class_counts() == {"욕설": 2, "여성": 1, "남성": 0, "기타": 0}
    summary = report.summary()
    assert "욕설=2 (50.0% of rows)" in summary
    assert "label cardinality (mean labels a row): 0.75; rows with no label: 2; with several: 1" in summary
    check_classes(report, "error")  # 남성 and 기타 have no rows: one error each, naming them
    assert [p.message.split("'")[1] for p in report.errors] == ["남성", "기타"]


def random_label_sets(count: int, seed: int = 3) -> list[Record]:
    rng = random.Random(seed)
    shares = (0.5, 0.2, 0.05, 0.01)  # one common, one rare and one very rare label
    return [
        Record(f"text {i}", tuple(k for k, share in enumerate(shares) if rng.random() < share), i + 1)
        for i in range(count)
    ]


def test_iterative_stratification_keeps_each_labels_share_on_both_sides():
    records = random_label_sets(2000)
    kept, held = stratified_split(records, 0.2, seed=7)
    assert len(held) == pytest.approx(400, abs=2) and len(kept) + len(held) == 2000
    assert {r.line for r in kept}.isdisjoint({r.line for r in held})
    every, held_counts = Counter(), Counter()
    for record in records:
        every.update(record.label)
    for record in held:
        held_counts.update(record.label)
    for label, count in every.items():  # each label's rows split 80/20, to a row or two
        assert held_counts[label] == pytest.approx(0.2 * count, abs=2), (label, held_counts[label], count)
    no_label = sum(not r.label for r in records)
    assert sum(not r.label for r in held) == pytest.approx(0.2 * no_label, abs=0.05 * no_label)
    assert stratified_split(records, 0.2, seed=7) == (kept, held)  # seeded: the same split again


def test_a_multi_label_subset_keeps_the_rare_labels():
    records = random_label_sets(2000)
    chosen = subset(records, max_rows=500, seed=1)
    assert len(chosen) == pytest.approx(500, abs=2)
    assert {label for r in chosen for label in r.label} == {0, 1, 2, 3}
