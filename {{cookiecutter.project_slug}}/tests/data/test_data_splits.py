"""Splits and subsets, the project's own data as answered at bake time, prepare, and the full NSMC (slow)."""

from __future__ import annotations

import sys
from collections import Counter

import pytest
from typer.testing import CliRunner

from {{ cookiecutter.package_name }}.cli import app
from {{ cookiecutter.package_name }}.data.dataset import data_file, load_schema, load_splits
from {{ cookiecutter.package_name }}.data.labels import LabelSchema
from {{ cookiecutter.package_name }}.data.normalize import Normalizer
from {{ cookiecutter.package_name }}.data.readers import reader, writer
from {{ cookiecutter.package_name }}.data.report import LoadReport, Record
from {{ cookiecutter.package_name }}.data.splits import stratified_split, subset
from {{ cookiecutter.package_name }}.data.validation import ReadOptions, load_records
from {{ cookiecutter.package_name }}.errors import ConfigError, DataError
from {{ cookiecutter.package_name }}.format_registry import FORMATS

from conftest import NSMC_DIR, PROJECT_ROOT, REGRESSION, break_file

BINARY = LabelSchema(("negative", "positive"), "index")


def write(tmp_path, name, content):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    return path


# --- splits and subsets --------------------------------------------------------------------------


def records(counts: dict[int, int]) -> list[Record]:
    return [Record(f"text {label} {i}", label, i) for label, n in counts.items() for i in range(n)]


def test_split_is_stratified_and_deterministic():
    data = records({0: 600, 1: 300, 2: 100})
    kept, held = stratified_split(data, 0.1, seed=7)
    assert Counter(r.label for r in held) == Counter({0: 60, 1: 30, 2: 10})
    assert len(kept) + len(held) == len(data) and not set(map(id, kept)) & set(map(id, held))
    assert stratified_split(data, 0.1, seed=7) == (kept, held)
    assert stratified_split(data, 0.1, seed=8)[1] != held


def test_subset_by_fraction_and_max_rows_keeps_balance():
    data = records({0: 500, 1: 500})
    assert Counter(r.label for r in subset(data, fraction=0.2)) == Counter({0: 100, 1: 100})
    assert len(subset(data, max_rows=50)) == 50
    uneven = records({0: 337, 1: 331, 2: 333})  # each class rounds up: 1,001 rows drawn for 1,000 before the trim
    assert len(subset(uneven, max_rows=1000, seed=1)) == 1000
    for rows in (999, 500, 101):  # never more than max_rows; rounding each class may leave one a class fewer
        assert rows - 3 <= len(subset(uneven, max_rows=rows, seed=1)) <= rows
    assert subset(data) == data
    with pytest.raises(ConfigError, match="fraction"):
        subset(data, fraction=0)


def test_load_splits_raises_with_the_whole_report(project, tmp_path):
    bad = write(tmp_path, "bad.tsv", "id\tdocument\tlabel\n1\t좋아\t9\n")
    options = project.override(
        {
            "data_format": "tsv",
            "text_column": "document",
            "text_pair_column": "",
            "label_column": "label",
            "id_column": "id",
        }
    )
    with pytest.raises(DataError) as caught:
        load_splits(options, BINARY, bad, None)
    assert "bad.tsv:2 (id 1): error: label id 9 is out of range 0..1" in "\n".join(caught.value.user_lines())


# --- the project's own data, as answered at bake time ---------------------------------------------


def test_the_project_data_loads_with_every_class(project):
    schema = load_schema(project)
    splits = load_splits(
        project, schema, data_file(project, project.data.train_file), data_file(project, project.data.test_file)
    )
    assert len(splits.train) > 1000 and len(splits.test) > 500
    assert all(splits.reports["train"].class_counts().values())  # every class (every label: multi-label) has rows
    kept_as = {"multi_label": tuple, "regression": float}.get(schema.task, int)  # the task's form of a label
    assert all(isinstance(r.label, kept_as) for r in splits.train)
    assert splits.reports["train"].dropped.get("empty_text", 0) == 2  # the shipped sample has two


def test_prepare_reports_problems_and_exits_1(project, monkeypatch):
    monkeypatch.chdir(project.root)
    runner = CliRunner()
    good = runner.invoke(app, ["prepare"])
    assert good.exit_code == 0, good.output
    assert "data OK" in good.output and "kept" in good.output
    train = data_file(project, project.data.train_file)
    said = break_file(train)
    bad = runner.invoke(app, ["prepare"])
    assert bad.exit_code == 1
    assert f"{train}:" in bad.output and said in bad.output


@pytest.mark.slow
@pytest.mark.skipif(NSMC_DIR is None, reason="full NSMC files not found (set NSMC_DIR)")
def test_full_nsmc_loads_every_nonempty_review():
    options = ReadOptions("tsv", "document", "label", "id")
    schema = LabelSchema(("negative", "positive"))
    for name, total in (("ratings_train.txt", 150_000), ("ratings_test.txt", 50_000)):
        path = NSMC_DIR / name
        empty_lines = [
            n
            for n, line in enumerate(path.read_text(encoding="utf-8").split("\n")[1:], start=2)
            if line and not line.split("\t")[1].strip()
        ]
        report = load_records(path, options, schema, Normalizer())
        assert not report.errors
        assert report.rows_read == total
        assert len(report.records) == total - len(empty_lines)
        assert [p.line for p in report.problems if p.reason == "empty_text"] == empty_lines
        assert f"dropped {len(empty_lines)} (empty_text)" in report.summary()


def test_project_root_has_the_label_schema():
    schema = LabelSchema.load(PROJECT_ROOT / "labels.json")
    assert schema.num_labels >= (1 if REGRESSION else 2)  # a score has one name: what it measures


@pytest.mark.skipif(REGRESSION, reason="a score has no classes to leave empty")
def test_a_label_with_no_training_rows_is_an_error_or_a_named_warning(project):
    schema = load_schema(project)
    train = data_file(project, project.data.train_file)
    missing = schema.names[-1]
    # the lines of every row carrying `missing`: from where a row starts to where the next one does
    records = load_records(train, ReadOptions.from_config(project.data), schema).records
    starts = [record.line for record in records] + [sys.maxsize]
    drop = {
        number
        for record, following in zip(records, starts[1:], strict=True)
        if schema.names.index(missing) in (record.label if schema.multi_label else (record.label,))
        for number in range(record.line, following)
    }
    if FORMATS[project.data.data_format].text:
        lines = train.read_text(encoding="utf-8").split("\n")
        kept = (line for number, line in enumerate(lines, 1) if number not in drop)
        train.write_text("\n".join(kept), encoding="utf-8")
    else:  # Excel, Parquet: the format's own reader and writer
        (_, header), *rows = reader(project.data.data_format)(
            train, LoadReport(str(train)), ReadOptions.from_config(project.data)
        )
        writer(project.data.data_format)(
            [dict(zip(header, row, strict=True)) for number, row in rows if number not in drop], train
        )
    with pytest.raises(DataError) as caught:
        load_splits(project, schema, train, None)
    assert f"label {missing!r} has no rows" in "\n".join(caught.value.user_lines())
    splits = load_splits(project.override({"empty_class": "warn"}), schema, train, None)
    assert any(p.reason == "empty_class" for p in splits.reports["train"].warnings)
