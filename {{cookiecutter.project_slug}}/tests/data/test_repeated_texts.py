"""Rows sharing a text stay on one side of every split, and prepare reports repeated and shared texts.

The NLI case (issue 32): each premise appears in three rows, one per hypothesis and label. A split that separates them
lets the baseline memorise the premise with the two labels it saw, and its validation accuracy fell to 0.18 with
three classes (chance 0.33), which chose C.
"""

from __future__ import annotations

import json
import random

from typer.testing import CliRunner

from {{ cookiecutter.package_name }}.cli import app
from {{ cookiecutter.package_name }}.config import CONFIG_FILE, load_config
from {{ cookiecutter.package_name }}.data.dataset import (
    data_file,
    load_project_file,
    load_schema,
    load_splits,
)
from {{ cookiecutter.package_name }}.data.labels import LabelSchema
from {{ cookiecutter.package_name }}.data.splits import group_key, stratified_split
from {{ cookiecutter.package_name }}.evaluation.baseline import baseline_from_config

from conftest import PROJECT_ROOT, sample_config

PREMISES = 500


def sample_texts() -> list[str]:
    """Distinct texts of the shipped sample's training file (NSMC reviews), in file order."""
    config = sample_config()
    report = load_project_file(config, load_schema(config), data_file(config, config.data.train_file))
    return list(dict.fromkeys(record.text for record in report.records if len(record.text) >= 12))


def nli_config(tmp_path, test_file: str = ""):
    """A 3-class sentence-pair project in ``tmp_path`` over an NLI-style TSV: each premise (an NSMC review) in three
    rows: entailment (0, the hypothesis is the premise's first half), contradiction (1) and neutral (2), both other
    reviews, so only the premise's rows tell those two apart: a leaky split rewards memorising it."""
    texts = sample_texts()
    rng = random.Random(7)
    rows = ["premise\thypothesis\tlabel"]
    for premise in texts[:PREMISES]:
        others = rng.sample(texts[PREMISES:], 2)
        rows += [f"{premise}\t{premise[: len(premise) // 2]}\t0", f"{premise}\t{others[0]}\t1"]
        rows += [f"{premise}\t{others[1]}\t2"]
    (tmp_path / "nli.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    LabelSchema(("entailment", "contradiction", "neutral")).save(tmp_path / "nli-labels.json")
    data = {
        "data_dir": str(tmp_path),
        "labels_file": str(tmp_path / "nli-labels.json"),
        "prepared_dir": str(tmp_path / "prepared"),
        "data_format": "tsv",
        "encoding": "utf-8",
        "train_file": "nli.tsv",
        "test_file": test_file,
        "text_column": "premise",
        "text_pair_column": "hypothesis",
        "label_column": "label",
        "id_column": "",
    }
    overrides = {f"data.{key}": value for key, value in data.items()}
    # a single-label schema whatever the project's task: its metric, not the project's (micro_f1, spearman)
    return load_config(PROJECT_ROOT / CONFIG_FILE, overrides | {"train.metric_for_best_model": "macro_f1"})


def test_rows_sharing_a_premise_stay_on_one_side_of_every_split(tmp_path):
    config = nli_config(tmp_path)
    splits = load_splits(config, load_schema(config), data_file(config, "nli.tsv"), None)
    sides = [{group_key(r) for r in rows} for rows in (splits.train, splits.validation, splits.test)]
    assert not sides[0] & sides[1] and not sides[0] & sides[2] and not sides[1] & sides[2]
    assert len(splits.test) == 150 and 130 <= len(splits.validation) <= 140  # whole groups of three
    for rows in (splits.validation, splits.test):  # stratified as far as the groups allow: here exactly
        assert sorted(r.label for r in rows).count(0) == len(rows) // 3
    kept, held = stratified_split(splits.train, 0.1, seed=3)
    assert not {group_key(r) for r in kept} & {group_key(r) for r in held}


def test_the_baseline_chooses_on_a_split_that_does_not_leak(tmp_path):
    config = nli_config(tmp_path)
    results = baseline_from_config(config, tmp_path / "baseline")
    assert min(results["validation_score_by_c"].values()) > 0.6  # chance 1/3; split by row: 0.50-0.52
    assert results["test"]["num_examples"] == 150 and results["test"]["accuracy"] > 0.5


def write_config(config, path):
    """``config``'s data section as a config file of its own (JSON is YAML); returns its path."""
    data = {key: getattr(config.data, key) for key in vars(config.data)}
    path.write_text(json.dumps({"data": data}), encoding="utf-8")
    return path


def test_prepare_reports_repeated_premises_and_what_the_split_does(tmp_path):
    config = nli_config(tmp_path)
    config_file = write_config(config, tmp_path / "nli.yaml")
    result = CliRunner().invoke(app, ["prepare", "--config", str(config_file)])
    assert result.exit_code == 0, result.output
    assert "500 first texts appear on more than one row (1,500 rows), e.g. nli.tsv:2 = nli.tsv:3 = nli.tsv:4" in (
        result.output
    )
    assert "keep the rows sharing a text on one side" in result.output
    assert "test split: 150 rows held out of this file" in result.output
    recorded = (tmp_path / "prepared" / "held_out_test.tsv").read_text(encoding="utf-8").splitlines()
    assert recorded[1] == "line\tid" and len(recorded) == 2 + 150


def test_prepare_names_conflicting_labels_and_texts_the_test_file_shares(tmp_path):
    config = nli_config(tmp_path, test_file="test.tsv")
    lines = (tmp_path / "nli.tsv").read_text(encoding="utf-8").splitlines()
    premise, hypothesis, _ = lines[1].split("\t")
    lines.append(f"{premise}\t{hypothesis}\t2")  # the same pair as line 2, another label
    (tmp_path / "nli.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (tmp_path / "test.tsv").write_text("premise\thypothesis\tlabel\n" + lines[4] + "\n", encoding="utf-8")
    config_file = write_config(config, tmp_path / "nli.yaml")
    result = CliRunner().invoke(app, ["prepare", "--config", str(config_file)])
    assert "1 of them carry conflicting labels for the same input, e.g. nli.tsv:2 = nli.tsv:1502:" in (result.output)
    assert "1 row(s) hold a pair of texts the training file holds too, e.g. test.tsv:2 = nli.tsv:5" in result.output
