"""Bake the template across answer combinations; every bake must be complete, clean, and green."""

from __future__ import annotations

import csv
import datetime
import io
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest

TEMPLATE = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(TEMPLATE / "scripts"))
sys.path.insert(0, str(TEMPLATE))  # local_extensions: the names the bake derives
from bakery import answers_of, bake, project_module  # noqa: E402
from format_template import LONG_NAME_ANSWERS  # noqa: E402
from local_extensions import sample_test_file  # noqa: E402

NSMC_DIR = TEMPLATE.parent / "shared" / "data" / "nsmc"
LEFTOVER_MARKERS = ("{{", "}}", "{%", "%}")

KOREAN_CSV = {  # Korean column names, as a Korean company's export has them
    "project_name": "Review Sentiment",
    "label_names": "부정,중립,긍정",
    "data_format": "csv",
    "text_column": "문의내용",
    "label_column": "분류",
    "id_column": "문의번호",
    "label_encoding": "name",
    "train_file": "train.csv",
    "test_file": "test.csv",
}
STARS_XLSX = {  # star ratings in an Excel workbook with Korean column names: the labels are numbers in their cells
    "project_name": "Star Ratings",
    "dataset_name": "stars",
    "data_format": "xlsx",
    "text_column": "리뷰",
    "label_column": "별점",
    "id_column": "",
    "label_names": "1,2,3,4,5",
    "label_encoding": "name",
    "train_file": "train.xlsx",
    "test_file": "test.xlsx",
    "max_length": "64",
}
UNSMILE_MULTI_LABEL = {  # UnSmile style: one 0/1 column per label name, no label column
    "project_name": "Korean Hate Speech",
    "dataset_name": "unsmile",
    "data_format": "tsv",
    "text_column": "문장",
    "label_column": "",
    "id_column": "",
    "task": "multi_label",
    "label_names": "긍정,웃음,영화언급,배우언급,장문",
    "label_encoding": "name",
    "train_file": "unsmile_train.tsv",
    "test_file": "unsmile_valid.tsv",
}
PAIR_JSONL = {  # sentence pairs: a review and a claim about it
    "project_name": "Review Claims",
    "dataset_name": "review-claims",
    "data_format": "jsonl",
    "text_column": "review",
    "text_pair_column": "claim",
    "label_column": "판정",
    "id_column": "",
    "label_names": "부정,긍정",
    "label_encoding": "name",
    "train_file": "train.jsonl",
    "test_file": "test.jsonl",
}
STS_REGRESSION = {  # sentence pairs scored 0-5 (KorSTS style), Korean column names
    "project_name": "Korean STS",
    "dataset_name": "korsts",
    "data_format": "tsv",
    "text_column": "문장1",
    "text_pair_column": "문장2",
    "label_column": "점수",
    "id_column": "",
    "task": "regression",
    "label_names": "유사도",
    "train_file": "sts-train.tsv",
    "test_file": "sts-dev.tsv",
}
BAKES = {
    "nsmc-default": {},
    "korean-3-class-csv": KOREAN_CSV,
    "stars-xlsx": STARS_XLSX,
    "unsmile-multi-label-tsv": UNSMILE_MULTI_LABEL,
    "pair-jsonl": PAIR_JSONL,
    "sts-regression-tsv": STS_REGRESSION,
}
DEFAULT_SLUG = "nsmc-sentiment"  # the default bake: the one that runs every test, builds a wheel, runs make contract

PACKAGE_FILES = [
    "__init__.py",
    "__main__.py",
    "cli.py",
    "config.py",
    "display.py",
    "errors.py",
    "artifact_files.py",
    "answers.py",
    "logs.py",
    "metric_registry.py",
    "format_registry.py",
    "tasks/__init__.py",
    "tasks/base.py",
    "tasks/single_label.py",
    "tasks/multi_label.py",
    "tasks/regression.py",
    "hub.py",
    "data/__init__.py",
    "data/dataset.py",
    "data/download.py",
    "data/encodings.py",
    "data/labels.py",
    "data/normalize.py",
    "data/readers.py",
    "data/repeats.py",
    "data/report.py",
    "data/sample.py",
    "data/splits.py",
    "data/validation.py",
    "model/__init__.py",
    "model/artifact.py",
    "model/batching.py",
    "model/features.py",
    "model/inference.py",
    "model/int8.py",
    "model/ngram.py",
    "model/ngram_scorer.py",
    "model/sources.py",
    "model/wordpiece.py",
    "evaluation/__init__.py",
    "evaluation/baseline.py",
    "evaluation/calibration.py",
    "evaluation/evaluate.py",
    "evaluation/metrics.py",
    "evaluation/paired.py",
    "evaluation/plots.py",
    "evaluation/reports.py",
    "evaluation/verdict.py",
    "training/__init__.py",
    "training/checkpoints.py",
    "training/class_weights.py",
    "training/context.py",
    "training/distillation.py",
    "training/ensemble.py",
    "training/entry.py",
    "training/hf_trainer.py",
    "training/interrupts.py",
    "training/masked_lm_loss.py",
    "training/pretrain.py",
    "training/row_log.py",
    "training/run.py",
    "training/runtime.py",
    "training/torch_loop.py",
    "training/tracking.py",
    "training/search_space.py",
    "training/local_search.py",
    "serving/__init__.py",
    "serving/client.py",
    "serving/handler.py",
    "serving/loading.py",
    "serving/output.py",
    "serving/request_rules.py",
    "serving/seen.py",
    "serving/requirements.txt",
    "serving/server.py",
    "aws/__init__.py",
    "aws/deploy.py",
    "aws/images.py",
    "aws/launch.py",
    "aws/package.py",
    "aws/session.py",
    "aws/tuning.py",
    "aws/registry.py",
    "aws/pipeline.py",
    "aws/asynchronous.py",
]
TEST_FILES = [
    "conftest.py",
    "test_cli.py",
    "test_config.py",
    "test_layout.py",
    "test_tasks.py",
    "test_your_data.py",
    "data/test_data_corruptions.py",
    "data/test_data_rules.py",
    "data/test_data_splits.py",
    "data/test_normal_form.py",
    "data/test_download.py",
    "data/test_multi_label_data.py",
    "data/test_pairs_data.py",
    "data/test_repeated_texts.py",
    "data/test_spreadsheets.py",
    "model/test_features.py",
    "model/test_int8_export.py",
    "model/test_model_sources.py",
    "training/test_distillation.py",
    "training/test_training_entry.py",
    "training/test_training_loops.py",
    "training/test_training_pretrained.py",
    "training/test_training_resume.py",
    "training/test_training_interrupts.py",
    "training/test_pretrain.py",
    "training/test_gpu.py",
    "training/test_tracking.py",
    "evaluation/test_calibration.py",
    "evaluation/test_evaluate.py",
    "evaluation/test_metrics.py",
    "evaluation/test_paired.py",
    "evaluation/test_verdict.py",
    "evaluation/test_multi_label_metrics.py",
    "serving/fault_proxy.py",
    "serving/test_client.py",
    "serving/test_client_input.py",
    "serving/test_faults.py",
    "serving/test_handler.py",
    "serving/test_precision.py",
    "serving/test_properties.py",
    "serving/test_server.py",
    "serving/test_text_input.py",
    "serving/test_multi_label_serving.py",
    "serving/test_pairs.py",
    "serving/test_ensemble.py",
    "aws/test_sagemaker.py",
    "aws/test_lifecycle.py",
    "contract/container_python.py",
    "contract/sagemaker_toolkits.py",
    "contract/test_container_python.py",
    "contract/test_contract_inference.py",
    "contract/test_contract_training.py",
]


def expected_files(package: str, train_file: str, test_file: str) -> set[str]:
    """A bake's files: a one-file dataset (``test_file`` empty) ships a sample test file for the tests, named by
    local_extensions.sample_test_file, and data/raw/ holds the training file alone."""
    sample_test = test_file.strip() or sample_test_file(test_file, train_file)
    return {
        ".cruft.json",
        ".gitignore",
        "LICENSE",
        ".pre-commit-config.yaml",
        "Makefile",
        "README.md",
        "README.ko.md",
        "config.yaml",
        "constraints.txt",
        "labels.json",
        "pyproject.toml",
        "data/README.md",
        f"data/sample/{train_file}",
        f"data/sample/{sample_test}",
        f"data/raw/{train_file}",
        *([f"data/raw/{test_file}"] if test_file.strip() else []),
        *(f"src/{package}/{name}" for name in PACKAGE_FILES),
        *(f"tests/{name}" for name in TEST_FILES),
    }


def baked_files(project: Path) -> set[str]:
    return {p.relative_to(project).as_posix() for p in project.rglob("*") if p.is_file()}


@pytest.fixture(scope="module", params=list(BAKES), ids=list(BAKES))
def baked(request, tmp_path_factory):
    project = bake(tmp_path_factory.mktemp(request.param), BAKES[request.param])
    return project, answers_of(project)


def test_exact_file_set(baked):
    project, answers = baked
    assert baked_files(project) == expected_files(answers["package_name"], answers["train_file"], answers["test_file"])


def test_no_template_syntax_left(baked):
    project, _ = baked
    for path in project.rglob("*"):
        if path.is_file() and path.suffix not in (".tsv", ".txt", ".csv", ".jsonl", ".xlsx", ".parquet"):
            text = path.read_text(encoding="utf-8")
            for marker in LEFTOVER_MARKERS:
                assert marker not in text, f"{path.relative_to(project)} still contains {marker!r}"


def test_label_schema_and_sample_follow_the_answers(baked):
    project, answers = baked
    schema = json.loads((project / "labels.json").read_text(encoding="utf-8"))
    names = [n.strip() for n in answers["label_names"].split(",")]
    assert schema["label_names"] == names and schema["label_encoding"] == answers["label_encoding"]
    assert schema["task"] == answers["task"]
    if answers["data_format"] == "xlsx":  # the sample's cells as Excel holds them: whole-number labels as numbers
        table = openpyxl.load_workbook(project / "data" / "sample" / answers["train_file"], read_only=True).active
        header, *rows = [list(row) for row in table.iter_rows(values_only=True)]
        assert header == [answers["text_column"], answers["label_column"]] and len(rows) == 2000
        assert {row[1] for row in rows} == {int(name) for name in names} and all(
            isinstance(row[0], str) for row in rows
        )
        return
    raw = (project / "data" / "sample" / answers["train_file"]).read_text(encoding="utf-8").splitlines()
    if answers["task"] == "multi_label" and not answers["label_column"] and answers["data_format"] == "tsv":
        header, *rows = [line.split("\t") for line in raw]
        assert header == [answers["text_column"], *names]
        label_counts = [sum(int(flag) for flag in row[1:]) for row in rows]
        assert set(flag for row in rows for flag in row[1:]) == {"0", "1"}
        assert 0 in label_counts and max(label_counts) >= 2  # rows with no label and rows with several
    elif answers["data_format"] == "jsonl":
        rows = [json.loads(line) for line in raw]
        assert {str(r[answers["label_column"]]) for r in rows} == set(names)
        if all(name.isdigit() for name in names):
            assert all(isinstance(r[answers["label_column"]], int) for r in rows)  # stars as JSON numbers
        if answers["text_pair_column"]:  # sentence pairs: every row has its second text
            assert all(isinstance(r[answers["text_pair_column"]], str) for r in rows)
    else:
        assert answers["text_column"] in raw[0] and answers["label_column"] in raw[0]
        assert (answers["text_pair_column"] or answers["text_column"]) in raw[0]
    assert len(raw) == 2001 - (answers["data_format"] == "jsonl")


def test_cruft_record_holds_the_answers(baked):
    project, answers = baked
    record = json.loads((project / ".cruft.json").read_text(encoding="utf-8"))
    assert record["template"] and "context" in record
    assert record["context"]["cookiecutter"]["label_names"] == answers["label_names"]


# What cookiecutter asks that config.yaml writes; every other value there is the code's own default.
TEMPLATE_ANSWERS = {
    "data.data_format",
    "data.train_file",
    "data.test_file",
    "data.text_column",
    "data.text_pair_column",
    "data.label_column",
    "data.id_column",
    "train.metric_for_best_model",
    "model.base_model",
    "model.max_length",
    "tracking.experiment_name",
    "aws.region",
    "aws.s3_prefix",
    "aws.training_instance_type",
    "aws.inference_instance_type",
    "aws.use_spot_instances",
    "aws.tags",
}
DEFAULTS_CHECK = """
import json, sys, yaml
from {package}.config import CONFIG_FILE, describe_fields
content = yaml.safe_load(open(CONFIG_FILE, encoding="utf-8"))
answers = set(json.loads(sys.argv[1]))
print(json.dumps({{
    "unknown answers": sorted(answers - {{info.key for info in describe_fields()}}),
    "differing": sorted(
        f"{{info.key}}: {{content[info.section][info.name]!r}} in config.yaml, {{info.default!r}} in config.py"
        for info in describe_fields()
        if info.key not in answers and content[info.section][info.name] != info.default
    ),
}}))
"""


def test_config_yaml_holds_the_answers_and_otherwise_the_code_defaults(baked):
    """One source of defaults: the dataclasses in config.py. A fresh bake's config.yaml repeats them (to show
    every key) and differs only where a template answer went. Checked here on the bake as made, not in the baked
    suite: config.yaml is the user's to edit, and their tests stay green when they do."""
    project, answers = baked
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            DEFAULTS_CHECK.format(package=answers["package_name"]),
            json.dumps(sorted(TEMPLATE_ANSWERS)),
        ],
        cwd=project,
        env={**os.environ, "PYTHONPATH": str(project / "src")},
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads(result.stdout) == {"unknown answers": [], "differing": []}


def test_baked_project_passes_ruff(baked):
    project, _ = baked
    for command in (["check"], ["format", "--check"]):
        result = subprocess.run(
            [sys.executable, "-m", "ruff", *command, "src", "tests"], cwd=project, capture_output=True, text=True
        )
        assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("answers", [{"project_name": "Ab"}, LONG_NAME_ANSWERS], ids=["short-name", "long-name"])
def test_bakes_are_formatted_as_made_whatever_the_package_name(answers, tmp_path):
    """No formatter runs at bake time (cookiecutter may be all there is): the template is formatted for names up to
    make format's long one, with magic trailing commas that keep split lines split for short ones."""
    project = bake(tmp_path, answers)
    for command in (["check"], ["format", "--check"]):
        result = subprocess.run(
            [sys.executable, "-m", "ruff", *command, "--no-cache", "src", "tests"],
            cwd=project,
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, result.stdout + result.stderr


def users_data(project: Path, answers: dict) -> str:
    """Replace data/raw/ with what a user would drop in, unlike the sample in size, columns and classes."""
    raw = project / "data" / "raw"
    train, test = raw / answers["train_file"], raw / answers["test_file"]
    texts = [
        line.split("\t")[1]
        for line in (TEMPLATE / "{{cookiecutter.project_slug}}" / "data" / "sample" / "nsmc_train.tsv")
        .read_text(encoding="utf-8")
        .splitlines()[1:]
    ]
    if answers.get("task") == "multi_label":
        return multi_label_data(texts, train, test, answers)
    if answers.get("task") == "regression":
        return scored_pairs(train, test, texts, answers)
    if answers["data_format"] == "tsv" and NSMC_DIR.is_dir():
        shutil.copyfile(NSMC_DIR / "ratings_train.txt", train)
        shutil.copyfile(NSMC_DIR / "ratings_test.txt", test)
        return "the full NSMC (150,000 / 50,000 rows)"
    if answers.get("text_pair_column", "").strip():
        return pair_data(train, test, texts, answers)
    if answers["data_format"] == "xlsx":
        for path, start, count in ((train, 0, 700), (test, 700, 200)):
            excel_stars(path, texts[start : start + count], answers)
        return "a 5-class Excel workbook (700 rows under a title row, a date column, whole-number floats, a blank row)"
    names = [name.strip() for name in answers["label_names"].split(",")]
    for path, count in ((train, 600), (test, 150)):
        path.write_bytes(excel_csv(texts[:count], names, answers))
    config = project / "config.yaml"  # as `prepare` advises for this file: "set data.encoding: cp949"
    config.write_text(
        config.read_text(encoding="utf-8").replace("  encoding: auto ", "  encoding: cp949 "), encoding="utf-8"
    )
    return "a 600-row CSV saved from Korean Excel (cp949, CRLF, quoted breaks, blank rows, label typos)"


def multi_label_data(texts: list[str], train: Path, test: Path, answers: dict) -> str:
    """Multi-label files of the answered form, unlike the sample: other sizes, an extra column first, labels by
    other rules (some rows with several labels, some with none)."""
    names = [name.strip() for name in answers["label_names"].split(",")]
    label_column, separator = answers["label_column"].strip(), answers["label_separator"]
    for path, rows in ((train, range(800)), (test, range(800, 1050))):
        lines = []
        for i in rows:
            ids = [k for k in range(len(names)) if (i * (k + 3)) % (k + 2) == 0 or names[k] in texts[i % len(texts)]]
            record = {"출처": f"web-{i % 7}", answers["text_column"]: texts[i % len(texts)]}
            if not label_column:
                record.update({name: int(k in ids) for k, name in enumerate(names)})
            elif answers["data_format"] == "jsonl":
                record[label_column] = [names[k] for k in ids]
            else:
                record[label_column] = separator.join(names[k] for k in ids)
            lines.append(record)
        if answers["data_format"] == "jsonl":
            body = "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines)
        elif answers["data_format"] == "tsv":  # no quoting, as NSMC
            body = "\t".join(lines[0]) + "\n" + "".join("\t".join(map(str, line.values())) + "\n" for line in lines)
        else:
            buffer = io.StringIO()
            writer = csv.DictWriter(buffer, fieldnames=list(lines[0]), lineterminator="\n")
            writer.writeheader()
            writer.writerows(lines)
            body = buffer.getvalue()
        path.write_text(body, encoding="utf-8")
    return "multi-label files of another size (800 / 250 rows) with an extra column"


def pair_data(train: Path, test: Path, texts: list[str], answers: dict) -> str:
    """Sentence pairs unlike the sample's: 900 / 250 rows whose second text is the start of the next review, some
    with an id key the project does not read, labels in turn (JSON Lines: the pair bake's format)."""
    names = [name.strip() for name in answers["label_names"].split(",")]
    text_key, pair_key, label_key = answers["text_column"], answers["text_pair_column"], answers["label_column"]
    for path, start, count in ((train, 0, 900), (test, 900, 250)):
        rows = []
        for i in range(start, start + count):
            text, following = texts[i % len(texts)], texts[(i + 1) % len(texts)]
            row = {"no": i} if i % 3 == 0 else {}
            row |= {text_key: text or "빈 리뷰", pair_key: " ".join(following.split()[:4]) or "짧은 주장"}
            rows.append(row | {label_key: names[i % len(names)]})
        path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    return "sentence pairs in JSON Lines (900 rows, an extra key on some)"


def scored_pairs(train: Path, test: Path, texts: list[str], answers: dict) -> str:
    """KorSTS-like pairs unlike the sample's: 800 / 200 rows, a genre and a year column the project does not read,
    scores 0-5 written as KorSTS writes them (``3.800``, ``5.000``, some integers), TSV without quoting."""
    text_key, pair_key, label_key = answers["text_column"], answers["text_pair_column"], answers["label_column"]
    for path, start, count in ((train, 0, 800), (test, 800, 200)):
        lines = ["\t".join(("genre", "year", text_key, pair_key, label_key))]
        for i in range(start, start + count):
            text, following = texts[i % len(texts)] or "빈 리뷰", texts[(i + 3) % len(texts)] or "빈 주장"
            score = f"{(i * 7) % 26 / 5:.3f}" if i % 4 else str(i % 6)
            lines.append("\t".join(("main-news", "2017", text, " ".join(following.split()[:5]), score)))
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return "KorSTS-like scored pairs in TSV (800 rows, extra columns)"


def excel_stars(path: Path, texts: list[str], answers: dict) -> None:
    """Star ratings as an office saves them in Excel: a second sheet after a notes sheet, a merged title row, a date
    column, stars as numbers (some typed as 4.0), a blank row; config.yaml names the sheet and the header row."""
    book = openpyxl.Workbook()
    book.active.title = "안내"
    sheet = book.create_sheet("별점")
    sheet.append(["2024 리뷰 별점"])
    sheet.merge_cells("A1:C1")
    sheet.append(["작성일", answers["text_column"], answers["label_column"]])
    for i, text in enumerate(texts):
        stars = 1 + i % 5
        sheet.append([datetime.date(2024, 3, 1 + i % 28), text or "빈 리뷰", float(stars) if i % 7 == 3 else stars])
        if i == 50:
            sheet.append([])
    book.save(path)
    config = path.parent.parent.parent / "config.yaml"
    text = config.read_text(encoding="utf-8")
    text = text.replace('  sheet_name: ""', '  sheet_name: "별점"').replace("  header_row: 1 ", "  header_row: 2 ")
    config.write_text(text, encoding="utf-8")


def excel_csv(texts: list[str], names: list[str], answers: dict) -> bytes:
    """A CSV as Korean Excel saves one: cp949, CRLF, an extra date column, quoted commas, quotes and line breaks
    inside cells, blank rows (empty lines and rows of empty cells) and a few labels with typos."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    id_column = answers["id_column"].strip()
    header = ([id_column] if id_column else []) + ["접수일", answers["text_column"], answers["label_column"]]
    writer.writerow(header)
    for i, text in enumerate(texts):
        if i % 9 == 4:
            text = f'{text}, "정말" 그래요'
        if i % 13 == 6:
            text = f"{text}\n두 번째 줄"
        label = names[i % len(names)] if answers["label_encoding"] == "name" else str(i % len(names))
        if i % 97 == 50:
            label = f"{label}요청"  # a typo: not a label
        writer.writerow(([str(100000 + i)] if id_column else []) + [f"2024-03-{1 + i % 28:02d}", text, label])
        if i % 61 == 30:
            buffer.write("\r\n" if i % 2 else "," * (len(header) - 1) + "\r\n")
    return buffer.getvalue().encode("cp949", errors="replace")


def run_suite(project: Path, *options: str) -> subprocess.CompletedProcess:
    """The baked project's own pytest with ``options``, offline, as a user runs it (full NSMC for its slow tests)."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONUTF8": "1"}
    if NSMC_DIR.is_dir():
        env["NSMC_DIR"] = str(NSMC_DIR)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", *options],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=900,
    )


ANSWER_FREE_TESTS = (  # no answer changes what they test (the NLI one builds and configures its own project)
    "tests/test_layout.py",
    "tests/evaluation/test_paired.py",
    "tests/data/test_repeated_texts.py",
)


def repeated_tests(answers: dict) -> list[str]:
    """--ignore options for a non-default bake: the tests no answer changes, and for another single-label bake the
    AWS tests (SageMaker's requests depend on the task and on pairs, never on the file format, columns or label
    names: the default bake runs them for single-label, the regression bake for pairs)."""
    if answers["project_slug"] == DEFAULT_SLUG:
        return []
    ignored = list(ANSWER_FREE_TESTS)
    if answers.get("task", "single_label") == "single_label":
        ignored.append("tests/aws")
    return [f"--ignore={path}" for path in ignored]


def test_baked_project_test_suite_passes_whatever_is_in_data_raw(baked):
    """The baked code tests test the code on data/sample/: the user's files in data/raw/ change nothing. The data
    test (marker ``data``) checks data/raw/ and agrees with `prepare`: green when prepare exits 0, else red naming
    the file.

    The default bake runs every code test (`make test-all`); the others run the default tier, which holds every test
    their answers change (data shape, format, labels): the slow tier trains and serves alike for any answers."""
    project, answers = baked
    replaced = users_data(project, answers)
    code_tests = "not data" if answers["project_slug"] == DEFAULT_SLUG else "not slow and not data"
    result = run_suite(project, "-x", "-m", code_tests, *repeated_tests(answers))
    tail = (result.stdout + result.stderr)[-4000:]
    assert result.returncode == 0, f"with {replaced} in data/raw:\n{tail}"
    assert " passed" in result.stdout and " failed" not in result.stdout
    prepared, checked = prepare(project), run_suite(project, "-m", "data", "-n0")
    output = checked.stdout + checked.stderr
    assert (checked.returncode == 0) == (prepared.returncode == 0), f"prepare exits {prepared.returncode}:\n{output}"
    if prepared.returncode:
        assert "1 failed" in checked.stdout and f"{answers['train_file']}:" in output, output
    else:
        assert "1 passed" in checked.stdout, output


def test_default_project_builds_a_wheel(baked, tmp_path):
    project, answers = baked
    if answers["project_slug"] != DEFAULT_SLUG:
        pytest.skip("one build is enough")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(project),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    wheel = next(tmp_path.glob("nsmc_sentiment-0.1.0-*.whl"))
    import zipfile

    names = zipfile.ZipFile(wheel).namelist()
    assert "nsmc_sentiment/serving/handler.py" in names and "nsmc_sentiment/serving/requirements.txt" in names
    metadata = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    assert "License-Expression: Apache-2.0" in metadata and "License-File: LICENSE" in metadata  # PEP 639, no table
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "nsmc-sentiment = nsmc_sentiment.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


def test_cruft_sees_the_bake_as_up_to_date(baked):
    project, answers = baked
    if answers["project_slug"] != DEFAULT_SLUG:
        pytest.skip("one cruft check is enough")
    record = json.loads((project / ".cruft.json").read_text(encoding="utf-8"))
    assert Path(record["template"]) == TEMPLATE and len(record["commit"] or "") == 40
    git = ["git", "-c", "user.email=ci@example.invalid", "-c", "user.name=ci"]
    for command in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "baked"]):
        subprocess.run([*git, *command], cwd=project, check=True, capture_output=True)
    result = subprocess.run(
        [str(Path(sys.executable).parent / "cruft"), "check"], cwd=project, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


class TestMakeContract:
    """`make contract`'s runs, a scope of their own: `make test` distributes by scope (``--dist loadscope``), so
    they run on one xdist worker while this module's other tests, the baked suites among them, run on the other."""

    def test_project_passes_make_contract(self, baked):
        """The container tests again under each SageMaker container's pinned transformers (needs the package index):
        the default bake, and the multi-label bake's answers, which run the toolkit in process (the real MMS server and
        the 50,000-line batch transform answer alike for every task: the default bake's). The regression bake's `make
        contract` (scores as sentence-pair bodies) passes too but is left to its own suite's container tests here, for
        the CI's 30 minutes."""
        project, answers = baked
        if answers["project_slug"] != DEFAULT_SLUG and answers.get("task", "single_label") != "multi_label":
            pytest.skip(
                "the CI's time: the default and multi-label bakes run it; pairs and scores pass the real toolkit in "
                "the regression bake's own suite (its container tests, under this environment's transformers)"
            )
        venv = Path(sys.executable).parent.parent  # this environment: the baked project needs no second one
        # the real MMS server and the 50,000-line batch transform answer alike for every task: the default bake's
        markers = [] if answers["project_slug"] == DEFAULT_SLUG else ["CONTRACT_MARKERS=container and not slow"]
        result = subprocess.run(
            ["make", "contract", f"VENV={venv}", *markers],
            cwd=project,
            capture_output=True,
            text=True,
            encoding="utf-8",
            timeout=1800,
        )
        assert result.returncode == 0, (result.stdout + result.stderr)[-5000:]
        assert result.stdout.count("as a SageMaker container pins it") == 2
        assert result.stdout.count(" passed") == 2 and " failed" not in result.stdout


def prepare(project: Path) -> subprocess.CompletedProcess:
    """The baked project's `prepare` on its data/raw/, as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", answers_of(project)["package_name"], "prepare"],
        cwd=project,
        capture_output=True,
        text=True,
        encoding="utf-8",
        env={**os.environ, "PYTHONPATH": str(project / "src")},
        timeout=120,
    )


@pytest.mark.parametrize("data_format", ["xlsx", "parquet"])
def test_a_binary_sample_holds_cell_for_cell_what_the_csv_sample_does(tmp_path, data_format):
    """A binary format's sample (written at bake by the format's own writer: Excel's uses the standard library only)
    holds the same rows as the CSV sample of the same answers, read back by the package's own reader: ids, texts,
    label names and a multi-label cell joined alike."""
    answers = {**KOREAN_CSV, "task": "multi_label", "train_file": "train", "test_file": "test"}
    tables = {}
    for fmt in ("csv", data_format):
        project = bake(tmp_path / fmt, {**answers, "data_format": fmt})
        readers = project_module(project, "data.readers")
        report = project_module(project, "data.report").LoadReport("sample")
        path = project / "data" / "sample" / "train"
        lines = path.read_text(encoding="utf-8").splitlines() if fmt == "csv" else None
        options = project_module(project, "data.validation").ReadOptions(fmt, answers["text_column"], "")
        tables[fmt] = list(
            readers.reader(fmt)(lines, report) if fmt == "csv" else readers.reader(fmt)(path, report, options)
        )
        assert report.problems == [] and len(tables[fmt]) == 2001
    assert [fields for _, fields in tables[data_format]] == [fields for _, fields in tables["csv"]]


def test_a_csv_without_an_id_column_loads_with_zero_edits(tmp_path):
    """The answered id_column is absent from the user's CSV: it still loads, rows are identified by line."""
    project = bake(tmp_path, KOREAN_CSV)
    for name, count in ((KOREAN_CSV["train_file"], 90), (KOREAN_CSV["test_file"], 30)):
        rows = [f"리뷰 {i} 정말,{['부정', '중립', '긍정'][i % 3]}" for i in range(count)]
        (project / "data" / "raw" / name).write_text(
            f"{KOREAN_CSV['text_column']},{KOREAN_CSV['label_column']}\n" + "\n".join(rows) + "\n", encoding="utf-8"
        )
    result = prepare(project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "data OK" in result.stdout and "read 90 rows, kept 90" in result.stdout
    assert "no '문의번호' column (data.id_column): rows are identified by their line number" in result.stdout


def test_prepare_lists_the_typos_of_a_korean_excel_csv_by_row_and_id(tmp_path):
    """The csv bake's users_data (cp949, quoted breaks, blank rows) with data.encoding: cp949 as advised."""
    project = bake(tmp_path, KOREAN_CSV)
    users_data(project, answers_of(project))
    result = prepare(project)
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    typos = [line for line in output.splitlines() if "error: unknown label" in line]
    assert typos and all(re.search(r":\d+ \(row \d+, id 1\d{5}\): error", line) for line in typos), output
    assert "train.csv:57 (row 53, id 100050): error: unknown label '긍정요청'" in output
    assert "(cp949)" in output and "dropped" in output and "Traceback" not in output


ONE_FILE = {  # an intent CSV that ships as one file: no test file, no id column, label names
    "project_name": "Intent One",
    "data_format": "csv",
    "text_column": "utterance",
    "label_column": "intent",
    "id_column": "",
    "label_names": "인사,주문,환불",
    "label_encoding": "name",
    "train_file": "intents.csv",
    "test_file": "",
}


def run_command(project: Path, *args: str) -> str:
    """One command of the baked project's CLI, as a user runs it; returns what it printed (it must exit 0)."""
    result = subprocess.run(
        [sys.executable, "-m", answers_of(project)["package_name"], *args],
        cwd=project,
        capture_output=True,
        text=True,
        encoding="utf-8",
        env={**os.environ, "PYTHONPATH": str(project / "src"), "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"},
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout + result.stderr


def test_a_one_file_dataset_bakes_and_every_command_scores_the_same_held_out_rows(tmp_path):
    """test_file empty: the sample keeps a test file for the tests, data/raw/ holds one file; prepare records the
    held-out rows, and baseline, train and evaluate each say so and print a test metric on them."""
    project = bake(tmp_path, ONE_FILE)
    assert baked_files(project) == expected_files(answers_of(project)["package_name"], "intents.csv", "")
    assert 'test_file: ""' in (project / "config.yaml").read_text(encoding="utf-8")
    held_out = "test split: 199 rows held out of this file"
    outputs = {
        "prepare": run_command(project, "prepare"),
        "baseline": run_command(project, "baseline"),
        "train": run_command(
            project, "train", "--base-model", "scratch:tiny", "--max-steps", "20", "--mlflow", "false"
        ),
        "evaluate": run_command(project, "evaluate"),
    }
    for command, output in outputs.items():
        assert held_out in output and "is the sample shipped with this project" in output, (command, output)
    assert "data OK" in outputs["prepare"]
    assert "baseline_test_accuracy=" in outputs["baseline"]
    assert "test_accuracy=" in outputs["train"] and "the baseline scored" in outputs["train"]
    assert "199 rows: always answering the most frequent class" in outputs["train"]
    assert "test_accuracy=" in outputs["evaluate"] and "the baseline scored" in outputs["evaluate"]
    recorded = (project / "data" / "prepared" / "held_out_test.tsv").read_text(encoding="utf-8").splitlines()
    assert len(recorded) == 2 + 199
    checked = run_suite(project, "-m", "data", "-n0", "-rs")
    assert "1 skipped" in checked.stdout and "holds the sample this project ships" in checked.stdout


def test_make_remembers_the_environment_given_once(tmp_path):
    """`make install VENV=<venv>` once, then plain `make test` uses that venv (and builds no second one)."""
    project = bake(tmp_path / "projects", {})
    venv = tmp_path / "venv"  # an installed environment, as make sees one: bin/python and the install stamp
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").symlink_to(sys.executable)
    (venv / ".installed").touch()
    make = ["make", "-n", "--no-print-directory"]
    subprocess.run([*make, "install", f"VENV={venv}"], cwd=project, check=True, capture_output=True)
    planned = subprocess.run([*make, "test"], cwd=project, check=True, capture_output=True, text=True).stdout
    assert f"{venv}/bin/python -m pytest" in planned and "-m venv" not in planned, planned
    assert ".venv-path" in (project / ".gitignore").read_text(encoding="utf-8").split()


def test_cruft_update_brings_a_template_change_into_a_baked_project(tmp_path):
    """A project baked from a clone of the template takes a later template commit with `cruft update`."""
    git = ["git", "-c", "user.email=ci@example.invalid", "-c", "user.name=ci"]
    clone = tmp_path / "template"
    subprocess.run(["git", "clone", "-q", str(TEMPLATE), str(clone)], check=True, capture_output=True)
    project = bake(tmp_path / "projects", template=clone)
    for command in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "baked"]):
        subprocess.run([*git, *command], cwd=project, check=True, capture_output=True)
    readme = clone / "{{cookiecutter.project_slug}}" / "README.md"
    readme.write_text(readme.read_text(encoding="utf-8") + "\nA line the template added later.\n", encoding="utf-8")
    subprocess.run([*git, "commit", "-qam", "template change"], cwd=clone, check=True, capture_output=True)
    cruft = str(Path(sys.executable).parent / "cruft")
    result = subprocess.run([cruft, "update", "-y"], cwd=project, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (project / "README.md").read_text(encoding="utf-8").endswith("A line the template added later.\n")
