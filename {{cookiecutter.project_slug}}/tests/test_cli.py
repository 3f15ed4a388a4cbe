"""The command line as a user meets it: help, mistakes, and train end to end."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
import typer
import yaml
from typer.testing import CliRunner

from {{ cookiecutter.package_name }}.cli import app
from {{ cookiecutter.package_name }}.config import CONFIG_FILE, describe_fields
from {{ cookiecutter.package_name }}.data.dataset import data_file
from {{ cookiecutter.package_name }}.format_registry import FORMATS

from conftest import PACKAGE, PROJECT_ROOT, SRC
from test_layout import string_literals

COMMANDS = ("prepare", "baseline", "train", "evaluate", "serve", "predict", "launch", "deploy", "destroy", "config")
COMMANDS += ("tune", "register", "pipeline", "push")  # the production lifecycle (issue 25)


def test_help_lists_every_command():
    result = subprocess.run(
        [sys.executable, "-m", "{{ cookiecutter.package_name }}", "--help"],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env={"PYTHONPATH": str(SRC), "PATH": ""},
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    for command in COMMANDS:
        assert command in result.stdout


def test_user_mistakes_end_in_one_clear_line(project, tmp_path, monkeypatch):
    monkeypatch.chdir(project.root)
    runner = CliRunner()
    (tmp_path / "arts" / "model").mkdir(parents=True)
    (tmp_path / "arts" / "model" / "labels.json").write_text("{}", encoding="utf-8")
    moved = tmp_path / "elsewhere" / "config.yaml"  # a copy outside the project: its relative paths point beside it
    moved.parent.mkdir()
    moved.write_text((project.root / "config.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    cases = [
        (["predict", "x.tsv", "--model-dir", str(tmp_path / "arts")], "a model folder is inside it: "),
        (["train", "--set", "train.epoch=1"], "unknown config key 'train.epoch'"),
        (["evaluate", "--model-dir", str(tmp_path / "nothing")], "does not exist; run train first"),
        (["predict", "x.tsv", "--model-dir", str(tmp_path / "nothing")], "does not exist; run train first"),
        (["predict", "x.tsv", "--model-dir", str(project.root / "config.yaml")], "is a file, not a model folder"),
        (["train", "--model", "scratch:huge"], "unknown offline model 'scratch:huge'"),
        (["predict", "x.tsv"], "give exactly one of --model-dir, --url, --endpoint-name"),
        (["predict", "x.tsv", "--url", "http://127.0.0.1:9", "-o", "out.xlsx"], "unknown extension '.xlsx'"),
        (["deploy"], "give exactly one of --model-dir, --training-job or --model-data"),
        (["prepare", "--config", str(tmp_path / "missing.yaml")], "does not exist"),
        (["prepare", "--config", str(moved)], f"relative paths are read from the config file's folder, {moved.parent}"),
    ]
    for args, message in cases:
        result = runner.invoke(app, args)
        assert result.exit_code == 1, (args, result.output)
        assert message in result.output, (args, result.output)
        assert "Traceback" not in result.output


def test_train_command_end_to_end(trained_model):
    """The tests' shared model is what `train` (conftest.TRAIN_COMMAND) wrote: a complete artifact."""
    from {{ cookiecutter.package_name }}.model.artifact import (
        INT8_MODEL_FILE,
        METRICS_FILE,
        REQUIRED_FILES,
    )

    assert {*REQUIRED_FILES, METRICS_FILE} <= {path.name for path in trained_model.iterdir()}
    assert (trained_model / INT8_MODEL_FILE).is_file()


EXTERNAL_COMMANDS = {"mlflow", "make", "pip", "aws", "python"}  # other tools a message may name


def message_strings() -> list[tuple[str, str]]:
    """Every string the package may print (string literals holding a space, docstrings excluded), by file."""
    return [
        (path.name, text)
        for path in sorted((SRC / "{{ cookiecutter.package_name }}").rglob("*.py"))
        for text in string_literals(path)
        if " " in text
    ]


def test_every_command_and_flag_a_message_names_exists():
    """Advice that holds: `config`, `evaluate --model-dir`, "run train first", "--precision fp32" all exist."""
    group = typer.main.get_command(app)
    flags, keys = {"--help"}, {info.name for info in describe_fields()}  # `epochs` names a key
    for command in group.commands.values():
        flags |= {opt for param in command.params for opt in (*param.opts, *param.secondary_opts)}
    for info in describe_fields():  # `train --KEY VALUE` takes every config key
        flags |= {f"--{info.name}", f"--{info.name.replace('_', '-')}"}
    wrong = []
    for file, text in message_strings():
        for flag in re.findall(r"(?<![\\w-])--[a-z][a-z0-9-]*", text):
            if flag not in flags:
                wrong.append((file, flag, text[:80]))
        named = re.findall(r"`([a-z][a-z0-9_-]*)[^`]*`", text) + re.findall(r"\brun (\w+) (?:first|again)\b", text)
        for command in named:
            if command not in group.commands and command not in EXTERNAL_COMMANDS and command not in keys:
                wrong.append((file, command, text[:80]))
    assert wrong == []


def suggested_commands() -> dict[str, set[str]]:
    """Every command a message suggests (`evaluate --model-dir ...`, "run train first"), with the flags it gives."""
    group = typer.main.get_command(app)
    suggested: dict[str, set[str]] = {}
    for _, text in message_strings():
        spans = re.findall(r"`([a-z][a-z0-9_-]*)([^`]*)`", text) + [
            (command, "") for command in re.findall(r"\brun (\w+) (?:first|again)\b", text)
        ]
        for command, rest in spans:
            if command in group.commands:
                suggested.setdefault(command, set()).update(re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", rest))
    return suggested


def test_every_suggested_command_runs_its_help_and_takes_the_flags_given():
    """What a message tells the user to run answers `--help`, and that help lists the flags the message gives."""
    suggested = suggested_commands()
    assert {"train", "config"} <= set(suggested)  # "run train first", "`config` lists every key"
    runner = CliRunner()
    for command, flags in sorted(suggested.items()):
        result = runner.invoke(app, [command, "--help"], env={"COLUMNS": "200"})
        assert result.exit_code == 0, (command, result.output)
        missing = [flag for flag in flags if flag not in result.output]
        assert missing == [], (command, missing)


def test_following_the_encoding_advice_keeps_prepare_green(project, monkeypatch):
    """cp949 files: prepare reads them and advises "set data.encoding: cp949"; done so, it reads them the same."""
    if not FORMATS[project.data.data_format].text:
        pytest.skip(f"{project.data.data_format} files are binary: no text encoding")
    monkeypatch.chdir(project.root)
    for name in (project.data.train_file, project.data.test_file):  # both saved from Korean Excel
        path = data_file(project, name)
        path.write_bytes(path.read_text(encoding="utf-8").encode("cp949", errors="replace"))
    runner = CliRunner()
    first = runner.invoke(app, ["prepare"])
    advice = re.search(r"set data\.encoding: (\S+)", first.output)
    assert first.exit_code == 0 and advice and advice.group(1) == "cp949", first.output[-2000:]
    config = project.root / CONFIG_FILE
    content = yaml.safe_load(config.read_text(encoding="utf-8"))
    content["data"]["encoding"] = advice.group(1)
    config.write_text(yaml.safe_dump(content, allow_unicode=True, sort_keys=False), encoding="utf-8")
    again = runner.invoke(app, ["prepare"])
    assert again.exit_code == 0 and "data OK" in again.output and "data.encoding" not in again.output, again.output
    kept = re.findall(r"kept ([\d,]+)", first.output)
    assert kept and kept == re.findall(r"kept ([\d,]+)", again.output)


def test_following_the_missing_column_advice_keeps_prepare_green(project, monkeypatch):
    """A file whose text column has another name: "Set data.text_column ... to the column holding them"."""
    monkeypatch.chdir(project.root)
    if project.data.data_format not in ("tsv", "csv"):
        return  # jsonl: no header, a missing key is reported per row; xlsx, parquet: tests/data/test_spreadsheets.py
    separator = "\t" if project.data.data_format == "tsv" else ","
    for name in (project.data.train_file, project.data.test_file):
        path = data_file(project, name)
        header, rest = path.read_text(encoding="utf-8").split("\n", 1)
        renamed = [("본문" if column == project.data.text_column else column) for column in header.split(separator)]
        path.write_text(separator.join(renamed) + "\n" + rest, encoding="utf-8")
    runner = CliRunner()
    first = runner.invoke(app, ["prepare"])
    assert first.exit_code == 1 and "Set data.text_column in" in first.output, first.output[-2000:]
    again = runner.invoke(app, ["prepare", "--set", "data.text_column=본문"])
    assert again.exit_code == 0 and "data OK" in again.output, again.output[-2000:]


READMES = ("README.md", "README.ko.md")  # the Korean README's command blocks are held to the same checks


def readme_command_lines(name: str) -> list[str]:
    """Every line of the README's ```bash blocks, comments and continuation-only lines left out."""
    text = (PROJECT_ROOT / name).read_text(encoding="utf-8")
    blocks = re.findall(r"```bash\n(.*?)```", text, re.DOTALL)
    lines = [line.split("  #", 1)[0].strip() for block in blocks for line in block.splitlines()]
    return [line for line in lines if line and not line.startswith("#")]


def make_targets() -> set[str]:
    """The targets the project's Makefile defines."""
    makefile = (PROJECT_ROOT / "Makefile").read_text(encoding="utf-8")
    return set(re.findall(r"^([a-z][a-z0-9-]*):", makefile, re.MULTILINE))


@pytest.mark.parametrize("readme", READMES)
def test_every_command_a_readme_shows_exists_with_its_flags(readme):
    """Each command block line: `make TARGET` is a Makefile target; `<cli> COMMAND --flag ...` (or `python -m`) is a
    command that takes those flags (train: also every config key as a flag)."""
    from {{ cookiecutter.package_name }}.training.entry import build_parser

    group = typer.main.get_command(app)
    train_flags = {flag for action in build_parser()._actions for flag in action.option_strings}  # argparse's
    command = "{{ cookiecutter.project_slug }}"
    cli = f"(?:{re.escape(command)}|python -m {re.escape(PACKAGE)})"
    wrong, seen = [], 0
    for line in readme_command_lines(readme):
        for target in re.findall(r"(?:^|[;&|] *)make ([a-z][a-z0-9-]*)", line):
            seen += 1
            if target not in make_targets():
                wrong.append((line, target))
        for command, rest in re.findall(rf"{cli} (?:--quiet |--verbose )?([a-z][a-z0-9-]*)([^|;&]*)", line):
            seen += 1
            if command not in group.commands:
                wrong.append((line, command))
                continue
            params = group.commands[command].params
            flags = {opt for param in params for opt in (*param.opts, *param.secondary_opts)}
            flags |= train_flags if command == "train" else set()
            wrong += [(line, flag) for flag in re.findall(r"(?<![\w-])--?[a-z][a-z0-9-]*", rest) if flag not in flags]
    assert seen and wrong == []


def test_the_korean_readme_shows_the_english_readmes_commands():
    """Translated prose, the same commands: each command line of README.ko.md is one of README.md's."""
    english = set(readme_command_lines("README.md"))
    assert [line for line in readme_command_lines("README.ko.md") if line not in english] == []
