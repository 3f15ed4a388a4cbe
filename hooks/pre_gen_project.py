"""Reject template answers that would bake a broken project.

Answers arrive as JSON data (rendered through ``tojson``), never pasted into code.
Each problem prints one ``ERROR: ...`` line; any problem exits 1 and cookiecutter
removes the half-made project folder.
"""

import json
import keyword
import re
import sys

ANSWERS = json.loads(r"""{{ cookiecutter | tojson }}""")

DATA_FORMATS = ("tsv", "csv", "jsonl")
LABEL_ENCODINGS = ("index", "name")
SLUG_PATTERN = re.compile(r"^[a-z][a-z0-9-]*$")
AWS_REGION_PATTERN = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")


def split_label_names(raw):
    return [name.strip() for name in str(raw).split(",")]


def problems(answers):
    found = []
    labels = split_label_names(answers["label_names"])
    if any(not name for name in labels):
        found.append(f"label_names has an empty label name: {answers['label_names']!r}")
    elif len(labels) < 2:
        found.append(f"label_names needs at least two labels, got {len(labels)}: {answers['label_names']!r}")
    duplicates = sorted({name for name in labels if name and labels.count(name) > 1})
    if duplicates:
        found.append(f"label_names has duplicate label(s): {', '.join(duplicates)}")

    package = answers["package_name"]
    if not package.isidentifier() or keyword.iskeyword(package) or not package.isascii():
        found.append(f"package_name {package!r} is not a valid Python identifier")
    slug = answers["project_slug"]
    if not SLUG_PATTERN.match(slug):
        found.append(f"project_slug {slug!r} must be lowercase letters, digits and '-', starting with a letter")

    if answers["data_format"] not in DATA_FORMATS:
        found.append(f"data_format {answers['data_format']!r} is unknown; choose one of {', '.join(DATA_FORMATS)}")
    if answers["label_encoding"] not in LABEL_ENCODINGS:
        found.append(
            f"label_encoding {answers['label_encoding']!r} is unknown; choose one of {', '.join(LABEL_ENCODINGS)}"
        )

    try:
        max_length = int(str(answers["max_length"]).strip())
    except ValueError:
        found.append(f"max_length {answers['max_length']!r} is not an integer")
    else:
        if max_length <= 0:
            found.append(f"max_length must be positive, got {max_length}")
        elif max_length > 8192:
            found.append(f"max_length {max_length} is larger than any supported model (8192)")

    text_column, label_column = answers["text_column"].strip(), answers["label_column"].strip()
    if not text_column or not label_column:
        found.append("text_column and label_column must not be empty")
    elif text_column == label_column:
        found.append(f"text_column and label_column are both {text_column!r}")
    if answers["id_column"].strip() in (text_column, label_column) and answers["id_column"].strip():
        found.append(f"id_column {answers['id_column']!r} is also the text or label column")

    for key in ("train_file", "test_file"):
        name = answers[key].strip()
        if not name or "/" in name or "\\" in name or name.startswith("."):
            found.append(f"{key} {answers[key]!r} must be a plain file name (it is looked up under data/raw/)")
    if answers["train_file"].strip() == answers["test_file"].strip():
        found.append(f"train_file and test_file are the same file: {answers['train_file']!r}")

    if not AWS_REGION_PATTERN.match(answers["aws_region"]):
        found.append(f"aws_region {answers['aws_region']!r} does not look like an AWS region (e.g. ap-northeast-2)")
    if not answers["s3_prefix"].strip() or answers["s3_prefix"].startswith("/"):
        found.append(f"s3_prefix {answers['s3_prefix']!r} must be a non-empty key prefix without a leading '/'")
    for key in ("training_instance_type", "inference_instance_type"):
        if not str(answers[key]).startswith("ml."):
            found.append(f"{key} {answers[key]!r} must be a SageMaker instance type such as ml.g5.xlarge")
    return found


def main():
    found = problems(ANSWERS)
    for problem in found:
        print(f"ERROR: {problem}", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
