"""Config overrides and boolean parsing; metrics for any number of classes."""

from __future__ import annotations

import re

import numpy as np
import pytest

from {{ cookiecutter.package_name }}.config import ConfigError, load_config, parse_assignments, parse_bool
from {{ cookiecutter.package_name }}.labels import LabelError, LabelSchema
from {{ cookiecutter.package_name }}.metrics import classification_metrics, metric_line, metric_regex


def test_flat_and_dotted_overrides_convert_types(project):
    config = project.override({"epochs": "1.5", "train.batch_size": "8", "group_by_length": "false",
                               "model.max_length": 64, "tags": '{"team": "nlp"}'})
    assert config.train.epochs == 1.5 and config.train.batch_size == 8
    assert config.train.group_by_length is False and config.model.max_length == 64
    assert config.aws.tags == {"team": "nlp"}


@pytest.mark.parametrize(("raw", "value"), [("false", False), ("False", False), ("0", False), ("no", False),
                                            ("true", True), ("1", True), ("yes", True), (True, True)])
def test_booleans_parse_from_strings(raw, value):
    assert parse_bool(raw) is value


def test_bad_overrides_name_the_problem(project, tmp_path):
    with pytest.raises(ConfigError, match="unknown config key 'epoch'"):
        project.override({"epoch": 1})
    with pytest.raises(ConfigError, match="fp16: 'maybe' is not a boolean"):
        parse_bool("maybe", "fp16")
    with pytest.raises(ConfigError, match="batch_size: 'big' is not a valid int"):
        project.override({"batch_size": "big"})
    with pytest.raises(ConfigError, match="must look like key=value"):
        parse_assignments(["epochs"])
    broken = tmp_path / "broken.yaml"
    broken.write_text("train: [1, 2\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(broken)
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "missing.yaml")


def test_label_schema_rejects_bad_values():
    schema = LabelSchema(("1", "2", "3"), "name")
    assert schema.to_id(3) == 2 and schema.to_id(3.0) == 2 and schema.to_id(" 1 ") == 0
    for bad in (None, True, "4", float("nan")):
        with pytest.raises(LabelError):
            schema.to_id(bad)
    with pytest.raises(ValueError, match="at least two"):
        LabelSchema(("only",))
    with pytest.raises(ValueError, match="unique"):
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
