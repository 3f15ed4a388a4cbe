"""Invalid template answers fail with one clear line and leave nothing half-baked behind."""

from __future__ import annotations

import importlib.util
import json
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

TEMPLATE = Path(__file__).resolve().parent.parent
LOCAL_MODULES = ("local_extensions.py", "local_romanization.py", "local_spdx.py")  # cookiecutter imports them

INVALID = [
    ({"label_names": "positive"}, "ERROR: label_names needs at least two labels, got 1: 'positive'"),
    ({"label_names": "좋음,나쁨,좋음"}, "ERROR: label_names has duplicate label(s): 좋음"),
    ({"label_names": "a,,b"}, "ERROR: label_names has an empty label name: 'a,,b'"),
    ({"package_name": "my-package"}, "ERROR: package_name 'my-package' is not a valid Python identifier"),
    ({"package_name": "class"}, "ERROR: package_name 'class' is a Python keyword"),
    ({"package_name": "json"}, "ERROR: package_name 'json' would shadow the standard library module 'json'"),
    ({"package_name": "typing"}, "ERROR: package_name 'typing' would shadow the standard library module"),
    ({"package_name": "torch"}, "ERROR: package_name 'torch' would shadow 'torch', which the project imports"),
    ({"package_name": "transformers"}, "ERROR: package_name 'transformers' would shadow 'transformers'"),
    ({"project_name": "Movie\nReviews"}, "ERROR: project_name contains a control character ('\\n')"),
    ({"text_column": "review\ttext"}, "ERROR: text_column contains a control character ('\\t')"),
    ({"use_spot_instances": "maybe"}, "ERROR: use_spot_instances 'maybe' is not yes or no"),
    ({"label_names": '"a,b",c'}, "ERROR: label_names '\"a,b\",c' contains quotes; write the names plain"),
    ({"label_names": ",".join(f"c{i}" for i in range(1000))}, "ERROR: label_names has 1000 labels; at most 200"),
    ({"inference_instance_type": "ml."}, "ERROR: inference_instance_type 'ml.' must be a SageMaker instance type"),
    ({"training_instance_type": "ml.m5.xlarge"}, "ERROR: training_instance_type 'ml.m5.xlarge' has no GPU"),
    ({"s3_prefix": "../../x"}, "ERROR: s3_prefix '../../x' must be key parts"),
    ({"s3_prefix": "/abs"}, "ERROR: s3_prefix '/abs' must be key parts"),
    (
        {"project_slug": "영화-리뷰"},
        "ERROR: project_slug '영화-리뷰' must be ASCII lowercase letters, digits and '-', starting with a letter; "
        "answer e.g. project_slug=yeonghwa-ribyu",
    ),
    ({"license": "Apache 2"}, "ERROR: license 'Apache 2' is not an SPDX license expression"),
    ({"license": "mit"}, "ERROR: license 'mit' is spelled 'MIT' in SPDX"),
    ({"data_format": "xls"}, "ERROR: data_format 'xls' is unknown; choose one of tsv, csv, jsonl, xlsx, parquet"),
    ({"label_encoding": "onehot"}, "ERROR: label_encoding 'onehot' is unknown; choose one of index, name"),
    ({"max_length": "0"}, "ERROR: max_length must be positive, got 0"),
    ({"max_length": "-5"}, "ERROR: max_length must be positive, got -5"),
    ({"max_length": "long"}, "ERROR: max_length 'long' is not an integer"),
    ({"text_column": "label"}, "ERROR: label_column and text_column are both 'label'"),
    (
        {"task": "multilabel"},
        "ERROR: task 'multilabel' is unknown; choose one of single_label, multi_label, regression",
    ),
    ({"label_column": ""}, "ERROR: label_column must not be empty (task=multi_label may leave it empty"),
    ({"text_pair_column": "document"}, "ERROR: text_pair_column and text_column are both 'document'"),
    (
        {"task": "multi_label", "label_column": "", "label_names": "id,욕설"},
        "ERROR: the 0/1 column of label 'id' and id_column are both 'id'",
    ),
    (
        {"task": "multi_label", "label_names": "욕설|비난,혐오", "data_format": "csv"},
        "ERROR: label_separator '|' appears inside label name(s) 욕설|비난",
    ),
    (
        {"task": "multi_label", "label_names": "a,b,c", "label_separator": "1", "data_format": "csv"},
        "ERROR: label_separator '1' has a digit, but the files hold class ids (label_encoding=index)",
    ),
    ({"train_file": "../etc/passwd"}, "ERROR: train_file '../etc/passwd' must be a plain file name"),
    ({"aws_region": "seoul"}, "ERROR: aws_region 'seoul' does not look like an AWS region"),
    ({"training_instance_type": "g5.xlarge"}, "ERROR: training_instance_type 'g5.xlarge' must be a SageMaker"),
]


def bake(tmp_path: Path, answers: dict[str, str]) -> subprocess.CompletedProcess:
    args = [f"{key}={value}" for key, value in answers.items()]
    return subprocess.run(
        [sys.executable, "-m", "cookiecutter", "--no-input", "-o", str(tmp_path), str(TEMPLATE), *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
    )


@pytest.mark.parametrize(
    ("answers", "message"), INVALID, ids=[next(iter(a)) + "=" + next(iter(a.values())) for a, _ in INVALID]
)
def test_invalid_answer_fails_with_its_message(tmp_path, answers, message):
    result = bake(tmp_path, answers)
    assert result.returncode != 0
    errors = [line for line in result.stderr.splitlines() if line.startswith("ERROR: ")]
    assert len(errors) == 1 and errors[0].startswith(message), result.stderr
    assert list(tmp_path.iterdir()) == []  # nothing half-baked


@pytest.mark.parametrize(
    ("name", "slug"),
    [("쇼핑몰 문의 분류", "syopingmol-munui-bullyu"), ("2024 리뷰 감성", "project-2024-ribyu-gamseong")],
)
def test_a_korean_project_name_bakes_with_enter_only(tmp_path, name, slug):
    """Every other question left at its default: the slug and package are ASCII, romanized from the name."""
    result = bake(tmp_path, {"project_name": name})
    assert result.returncode == 0, result.stderr
    project = tmp_path / slug
    record = json.loads((project / ".cruft.json").read_text(encoding="utf-8"))["context"]["cookiecutter"]
    assert record["project_slug"] == slug and record["package_name"] == slug.replace("-", "_")
    assert (project / "src" / slug.replace("-", "_") / "cli.py").is_file()
    config = (project / "config.yaml").read_text(encoding="utf-8")
    assert f"# {name} configuration" in config and "\\u" not in config  # Korean as characters, not escapes
    pyproject = (project / "pyproject.toml").read_text(encoding="utf-8")
    assert name in pyproject and "\\u" not in pyproject


def test_a_package_name_that_would_shadow_a_module_gets_a_suffix_by_default(tmp_path):
    result = bake(tmp_path, {"project_name": "Typing"})
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "typing" / "src" / "typing_project").is_dir()


@pytest.mark.parametrize(
    ("answer", "expression"), [("Apache-2.0", "Apache-2.0"), ("Proprietary", "LicenseRef-Proprietary")]
)
def test_the_license_is_an_spdx_expression_with_its_file(tmp_path, answer, expression):
    result = bake(tmp_path, {"license": answer, "author": "김개발"})
    assert result.returncode == 0, result.stderr
    project = tmp_path / "nsmc-sentiment"
    meta = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert meta["license"] == expression and meta["license-files"] == ["LICENSE"]
    assert "김개발" in (project / "LICENSE").read_text(encoding="utf-8")


def test_answers_are_data_not_code(tmp_path):
    """Quotes, backslashes and triple quotes reach the hooks and files as data, never as code."""
    description = 'it\'s "good" back\\slash """triple"""'
    result = bake(
        tmp_path, {"label_names": "back\\slash,별 다섯 개", "project_name": "Tricky Labels", "description": description}
    )
    assert result.returncode == 0, result.stderr
    project = tmp_path / "tricky-labels"
    schema = json.loads((project / "labels.json").read_text(encoding="utf-8"))
    assert schema["label_names"] == ["back\\slash", "별 다섯 개"]
    assert tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))["project"]["description"] == (
        description
    )


def test_label_names_answered_in_nfd_are_kept_in_nfc(tmp_path):
    """One text normal form (issue 26): names typed on macOS arrive decomposed; labels.json holds them in NFC."""
    import unicodedata

    names = ["부정", "중립", "긍정"]
    result = bake(tmp_path, {"label_names": unicodedata.normalize("NFD", ",".join(names)), "project_name": "Nfd"})
    assert result.returncode == 0, result.stderr
    schema = json.loads((tmp_path / "nfd" / "labels.json").read_text(encoding="utf-8"))
    assert schema["label_names"] == names


def test_a_refusal_prints_the_command_that_bakes_again_with_every_answer(tmp_path):
    answers = {"project_name": "Review Stars", "label_names": "1,2,3", "data_format": "xls", "text_column": "review"}
    result = bake(tmp_path, answers)
    assert result.returncode != 0 and list(tmp_path.iterdir()) == []
    command = shlex.split(result.stderr.split("run it again:")[1].strip().splitlines()[0])
    assert command[:3] == ["cookiecutter", str(TEMPLATE), "--no-input"]
    assert {f"{key}={value}" for key, value in answers.items()} <= set(command)
    fixed = [word.replace("data_format=xls", "data_format=csv") for word in command[1:]]
    again = subprocess.run(
        [sys.executable, "-m", "cookiecutter", "-o", str(tmp_path), *fixed],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
    )
    assert again.returncode == 0, again.stderr
    assert (tmp_path / "review-stars" / "labels.json").is_file()


def test_the_acceptance_bake_command(tmp_path):
    result = bake(
        tmp_path,
        {
            "label_names": "부정,중립,긍정",
            "data_format": "csv",
            "text_column": "review_text",
            "label_column": "sentiment",
            "label_encoding": "name",
        },
    )
    assert result.returncode == 0, result.stderr
    header = (tmp_path / "nsmc-sentiment" / "data" / "raw" / "ratings_train.txt").read_text(encoding="utf-8")
    assert header.startswith("id,review_text,sentiment\n")


def test_template_repository_code_is_lint_clean():
    for command in (["check"], ["format", "--check"]):
        result = subprocess.run(
            [sys.executable, "-m", "ruff", *command, "hooks", "tests", "scripts", "benchmarks", *LOCAL_MODULES],
            cwd=TEMPLATE,
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, result.stdout + result.stderr


def test_the_data_format_answers_are_the_format_registrys():
    """cookiecutter.json's _data_formats (what the pre-generation hook accepts, standard library only) and its prompt
    name exactly the formats the project's format_registry.py declares: one list to extend, checked here."""
    answers = json.loads((TEMPLATE / "cookiecutter.json").read_text(encoding="utf-8"))
    package = TEMPLATE / "{{cookiecutter.project_slug}}" / "src" / "{{cookiecutter.package_name}}"
    spec = importlib.util.spec_from_file_location("format_registry", package / "format_registry.py")
    registry = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = registry  # dataclasses look their module up
    try:
        spec.loader.exec_module(registry)  # standard library only, no template syntax: it runs as it is
    finally:
        del sys.modules[spec.name]
    assert tuple(answers["_data_formats"]) == registry.FORMAT_NAMES
    assert answers["data_format"] in registry.FORMAT_NAMES
    prompt = answers["__prompts__"]["data_format"]
    assert all(f" {name}" in prompt for name in registry.FORMAT_NAMES), prompt


def test_the_task_answers_are_the_tasks_answers_py_serves():
    """cookiecutter.json's _tasks (what the pre-generation hook accepts) and its prompt name exactly the tasks the
    project's answers.py has a head for, and _max_labels is its MAX_LABELS: one home each, checked here."""
    answers = json.loads((TEMPLATE / "cookiecutter.json").read_text(encoding="utf-8"))
    package = TEMPLATE / "{{cookiecutter.project_slug}}" / "src" / "{{cookiecutter.package_name}}"
    spec = importlib.util.spec_from_file_location("answers", package / "answers.py")
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(package))  # its sibling artifact_files.py, as in the container's code/
    try:
        spec.loader.exec_module(module)  # standard library only, no template syntax: it runs as it is
    finally:
        sys.path.remove(str(package))
        sys.modules.pop("artifact_files", None)
    assert tuple(answers["_tasks"]) == tuple(module.HEADS)
    assert answers["_max_labels"] == module.MAX_LABELS
    assert answers["task"] in module.HEADS
    assert all(name in answers["__prompts__"]["task"] for name in module.HEADS)
