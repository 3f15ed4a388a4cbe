"""The configuration: overrides, type conversion, and one clear line for every mistake, before any data is read."""

from __future__ import annotations

import pytest
import yaml
from typer.testing import CliRunner

from {{ cookiecutter.package_name }}.cli import app
from {{ cookiecutter.package_name }}.config import (
    CONFIG_FILE,
    describe_fields,
    load_config,
    parse_assignments,
    parse_bool,
)
from {{ cookiecutter.package_name }}.data import dataset
from {{ cookiecutter.package_name }}.errors import ConfigError
from {{ cookiecutter.package_name }}.training.entry import TRAINING_SECTIONS, main

from conftest import PROJECT_ROOT


def test_flat_and_dotted_overrides_convert_types(project):
    config = project.override(
        {
            "epochs": "1.5",
            "train.batch_size": "8",
            "group_by_length": "false",
            "model.max_length": 64,
            "tags": '{"team": "nlp"}',
        }
    )
    assert config.train.epochs == 1.5 and config.train.batch_size == 8
    assert config.train.group_by_length is False and config.model.max_length == 64
    assert config.aws.tags == {"team": "nlp"}


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("false", False),
        ("False", False),
        ("0", False),
        ("no", False),
        ("true", True),
        ("1", True),
        ("yes", True),
        (True, True),
    ],
)
def test_booleans_parse_from_strings(raw, value):
    assert parse_bool(raw) is value


def test_bad_overrides_name_the_problem(project, tmp_path):
    with pytest.raises(ConfigError, match="unknown config key 'epoch'"):
        project.override({"epoch": 1})
    with pytest.raises(ConfigError, match=r"'train\.lerning_rate' .*did you mean train\.learning_rate\b"):
        project.override({"train.lerning_rate": 1})  # a typo, not a part of the name
    with pytest.raises(ConfigError, match="fp16: 'maybe' is not a boolean"):
        parse_bool("maybe", "fp16")
    with pytest.raises(ConfigError, match="batch_size: 'big' is not a whole number .*; use a number >= 1"):
        project.override({"batch_size": "big"})
    with pytest.raises(ConfigError, match=r"distillation_alpha: 'auto' is not a number .*-1 = auto"):
        project.override({"train.distillation_alpha": "auto"})  # the help says what auto is written as
    with pytest.raises(ConfigError, match="must look like key=value"):
        parse_assignments(["epochs"])
    broken = tmp_path / "broken.yaml"
    broken.write_text("train: [1, 2\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(broken)
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "missing.yaml")


def bad_value(info) -> str | None:
    """A value outside what ``info`` allows: an unknown choice, or a number past a limit."""
    if info.choices:
        return "bogus"
    if info.bounds is not None:
        bounds = info.bounds
        return str(bounds.low - 1 if bounds.low is not None else bounds.high + 1)
    return None


CHECKED = [info for info in describe_fields() if bad_value(info) is not None]


@pytest.mark.parametrize("info", CHECKED, ids=[info.key for info in CHECKED])
def test_every_bad_choice_or_range_is_one_line_naming_key_and_allowed_values(project, monkeypatch, info):
    monkeypatch.chdir(project.root)
    monkeypatch.setattr(dataset, "load_records", lambda *a, **k: pytest.fail("data was read"))
    result = CliRunner().invoke(app, ["prepare", "--set", f"{info.key}={bad_value(info)}"])
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {info.key}: "), result.output
    assert info.describe_allowed() in lines[0]
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["prepare", "--set", "normalize=nfkd"],
            "data.normalize: 'nfkd' is not allowed (in the command line); choose one of nfc, nfkc, none",
        ),
        (
            ["baseline", "--set", "fraction=2"],
            "data.fraction: '2' is out of range (in the command line); use a number in (0, 1]",
        ),
        (["prepare", "--set", "empty_text=erorr"], "choose one of drop, error"),
        (["prepare", "--set", "remove_pattern=[가-"], "data.remove_pattern: '[가-' is not a valid regular expression"),
        (["prepare", "--set", "encoding=klingon"], "data.encoding: 'klingon' is not an encoding Python knows"),
        (["prepare", "--set", "max_steps=0"], "train.max_steps: '0' is not allowed"),
        (["prepare", "--set", "distillation_alpha=1"], "train.distillation_alpha: '1' is not allowed"),
        (
            ["prepare", "--set", "train.class_weights=balance"],
            "train.class_weights: 'balance' is not allowed (in the command line); choose one of auto, none, balanced",
        ),
        (["prepare", "--set", "label_separator="], "data.label_separator: '' is not visible characters"),
        (["prepare", "--set", "text_column=label", "--set", "label_column=label"], "are both 'label'"),
    ],
)
def test_config_mistakes_through_the_commands(project, monkeypatch, args, message):
    monkeypatch.chdir(project.root)
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1 and message in result.output, result.output
    assert len(result.output.strip().splitlines()) == 1


def test_a_mistake_in_config_yaml_names_the_file(project, monkeypatch):
    text = project.source.read_text(encoding="utf-8").replace("loop: trainer", "loop: trainr")
    project.source.write_text(text, encoding="utf-8")
    monkeypatch.chdir(project.root)
    result = CliRunner().invoke(app, ["prepare"])
    assert result.exit_code == 1
    assert f"train.loop: 'trainr' is not allowed (in {project.source}); choose one of trainer, torch" in result.output


def test_train_help_lists_every_training_option_with_its_help(capsys):
    with pytest.raises(SystemExit):
        main(["--help"], prog="cli train")
    text = " ".join(capsys.readouterr().out.split())
    for info in describe_fields():
        if info.section in TRAINING_SECTIONS:
            assert f"--{info.name}" in text
            assert " ".join(info.help.split()) in text, info.key


def test_config_yaml_holds_every_key_and_no_other():
    content = yaml.safe_load((PROJECT_ROOT / CONFIG_FILE).read_text(encoding="utf-8"))
    in_file = {f"{section}.{key}" for section, values in content.items() for key in values}
    assert in_file == {info.key for info in describe_fields()}


def test_config_command_explains_every_key(project, monkeypatch):
    monkeypatch.chdir(project.root)
    result = CliRunner().invoke(app, ["config"])
    assert result.exit_code == 0
    for info in describe_fields():
        assert f"  {info.name}: " in result.output


def test_train_help_shows_this_projects_values_not_the_codes(project, monkeypatch, capsys):
    monkeypatch.chdir(project.root)
    with pytest.raises(SystemExit):
        main(["--help"], prog="cli train")
    text = " ".join(capsys.readouterr().out.split())
    for key in ("data_format", "text_column", "label_column", "train_file", "test_file"):
        value = getattr(project.data, key) or '""'  # an empty value (multi-label's label_column) is shown quoted
        assert f"(default: {value})" in text, (key, value)
