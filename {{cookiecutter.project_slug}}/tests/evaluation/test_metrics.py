"""Label values, metrics for any number of classes, and the report's alignment with Korean label names."""

from __future__ import annotations

import re

import numpy as np
import pytest

from {{ cookiecutter.package_name }}.data.labels import LabelSchema
from {{ cookiecutter.package_name }}.errors import LabelError
from {{ cookiecutter.package_name }}.evaluation.metrics import metric_line, metric_regex
from {{ cookiecutter.package_name }}.evaluation.metrics import score as classification_metrics


def test_label_schema_rejects_bad_values():
    schema = LabelSchema(("1", "2", "3"), "name")
    assert schema.to_id(3) == 2 and schema.to_id(" 1 ") == 0
    for bad in (None, True, "4", float("nan"), 3.0, "3.0"):
        with pytest.raises(LabelError):
            schema.to_id(bad)
    with pytest.raises(LabelError, match="at least two"):
        LabelSchema(("only",))
    with pytest.raises(LabelError, match="unique"):
        LabelSchema(("a", "a"))


def test_three_class_metrics_match_hand_computation():
    truth = [0, 0, 0, 1, 1, 2, 2, 2, 2, 2]
    guess = [0, 0, 1, 1, 2, 2, 2, 2, 0, 2]
    metrics = classification_metrics(truth, guess, ["부정", "중립", "긍정"])
    assert metrics["confusion_matrix"] == [[2, 1, 0], [0, 1, 1], [1, 0, 4]]
    assert metrics["accuracy"] == pytest.approx(0.7)
    per_class = metrics["per_class"]
    assert per_class["부정"]["precision"] == pytest.approx(2 / 3)
    assert per_class["부정"]["recall"] == pytest.approx(2 / 3)
    assert per_class["중립"]["f1"] == pytest.approx(0.5)
    assert per_class["긍정"]["f1"] == pytest.approx(0.8)
    assert metrics["macro_f1"] == pytest.approx(np.mean([2 / 3, 0.5, 0.8]))


def test_metric_lines_are_read_back_by_their_regexes():
    line = metric_line({"accuracy": 0.8125, "macro_f1": 0.80123, "loss": 0.45}, prefix="eval_")
    assert line == "eval_accuracy=0.8125; eval_macro_f1=0.8012; eval_loss=0.4500;"
    assert re.search(metric_regex("eval_accuracy"), line).group(1) == "0.8125"
    assert re.search(metric_regex("eval_loss"), line).group(1) == "0.4500"


def token_ends(line: str) -> list[int]:
    """The display column where each whitespace-separated token ends (Hangul counts two)."""
    from {{ cookiecutter.package_name }}.display import width

    ends, column = [], 0
    for index, ch in enumerate(line):
        column += width(ch)
        if not ch.isspace() and (index + 1 == len(line) or line[index + 1].isspace()):
            ends.append(column)
    return ends


def test_the_report_lines_up_with_korean_label_names():
    from {{ cookiecutter.package_name }}.evaluation.metrics import classification_report

    names = ["부정", "중립", "긍정"]
    metrics = classification_metrics([0, 1, 2, 2, 1, 0], [0, 1, 2, 1, 1, 2], names)
    table, matrix = classification_report(metrics).split("\n\nconfusion matrix (rows: true, columns: predicted)\n")
    header, *rows = [line for line in table.splitlines() if line.strip()]
    for row in rows[:3]:  # the per-class rows: every number ends under its column's header
        assert token_ends(row)[-4:] == token_ends(header)[-4:], (header, row)
    header, *rows = matrix.splitlines()
    for row in rows:
        assert token_ends(row)[-3:] == token_ends(header)[-3:], (header, row)


def test_the_pictures_mark_what_a_reader_needs(tmp_path):
    """Confusion colours by true-class share, the score in the title, the restored epoch on the curve."""
    from {{ cookiecutter.package_name }}.evaluation.plots import (
        best_evaluation,
        plot_learning_curves,
    )
    from {{ cookiecutter.package_name }}.evaluation.reports import write_results

    history = [
        {"step": 5, "epoch": 0.5, "loss": 1.0},
        {"step": 10, "epoch": 1, "eval_loss": 0.9, "eval_macro_f1": 0.5},
        {"step": 20, "epoch": 2, "eval_loss": 0.7, "eval_macro_f1": 0.8},
        {"step": 30, "epoch": 3, "eval_loss": 0.8, "eval_macro_f1": 0.7},
    ]
    assert best_evaluation([h for h in history if "eval_loss" in h], "macro_f1")["epoch"] == 2
    assert plot_learning_curves(history, tmp_path / "curves.png").stat().st_size > 0
    schema = LabelSchema(("배송", "환불", "기타"), "name")
    metrics = classification_metrics([0] * 90 + [1] * 5 + [2] * 5, [0] * 90 + [0] * 5 + [2] * 5, schema.names)
    folder = write_results(tmp_path / "results", metrics, schema, title="test split", history=history)
    assert (folder / "confusion_matrix.png").stat().st_size > 0 and (folder / "learning_curves.png").is_file()


def test_report_txt_explains_every_errors_tsv_column_and_errors_tsv_stays_a_plain_table(tmp_path):
    """errors.tsv is read by programs (header row, one row a mistake); what its columns mean is in report.txt."""
    import csv

    from {{ cookiecutter.package_name }}.data.report import Record
    from {{ cookiecutter.package_name }}.evaluation.reports import (
        ERRORS_FILE,
        REPORT_FILE,
        errors_columns,
        write_results,
    )
    from {{ cookiecutter.package_name }}.tasks import task_named

    schema = LabelSchema(("부정", "긍정"), "index")
    records = [Record("좋아요", 1, 2, "a"), Record("별로", 0, 3, "b")]
    probabilities = np.array([[0.9, 0.1], [0.8, 0.2]])  # the first row wrong, 0.9 sure of it
    metrics = classification_metrics([1, 0], [0, 0], schema.names)
    folder = write_results(tmp_path, metrics, schema, records=records, probabilities=probabilities)
    report = (folder / REPORT_FILE).read_text(encoding="utf-8")
    for name in errors_columns(task_named(schema.task)):
        assert re.search(rf"^  {name} +\S", report, re.MULTILINE), name
    with open(folder / ERRORS_FILE, encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle, delimiter="\t"))
    assert rows == [
        ["line", "id", "true", "predicted", "score", "text"],
        ["2", "a", "긍정", "부정", "0.9000", "좋아요"],
    ]
