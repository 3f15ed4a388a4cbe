"""Reject template answers that would bake a broken project.

Answers arrive as JSON data (rendered through ``tojson``), never pasted into code. Each problem prints one
``ERROR: ...`` line; then the one command that bakes again with every answer given, so the user fixes one value
instead of answering every question again. Any problem exits 1 and cookiecutter removes the half-made folder.
"""

import json
import keyword
import re
import shlex
import sys
import unicodedata

ANSWERS = json.loads(r"""{{ cookiecutter | tojson }}""")

# cookiecutter.json's _data_formats: the baked format_registry.py's names (tests/test_answers.py checks they agree)
DATA_FORMATS = tuple(ANSWERS["_data_formats"])
LABEL_ENCODINGS = ("index", "name")
# cookiecutter.json's _tasks: the baked answers.py's task names (tests/test_answers.py checks they agree)
TASKS = tuple(ANSWERS["_tasks"])
YES_NO = {
    "yes": True,
    "y": True,
    "true": True,
    "1": True,
    "on": True,
    "no": False,
    "n": False,
    "false": False,
    "0": False,
    "off": False,
}
# cookiecutter.json's _max_labels: the baked answers.py's MAX_LABELS (tests/test_answers.py checks they agree)
MAX_LABELS = ANSWERS["_max_labels"]
SLUG_PATTERN = re.compile(r"^[a-z][a-z0-9-]*$")
PACKAGE_PATTERN = re.compile(r"^[a-z_][a-z0-9_]*$")
AWS_REGION_PATTERN = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")
INSTANCE_PATTERN = re.compile(r"^ml\.[a-z][a-z0-9-]*\d[a-z0-9-]*\.[a-z0-9]+$")  # ml.g5.xlarge, ml.p4d.24xlarge
GPU_INSTANCE_PATTERN = re.compile(r"^ml\.(g|p)\d[a-z0-9-]*\.[a-z0-9]+$")
S3_PREFIX_PATTERN = re.compile(r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$")
# Import names of the baked project's dependencies: a package named like one shadows it (local_extensions.py).
DEPENDENCIES = set(json.loads(r"""{{ shadowed_imports | tojson }}"""))
# What cookiecutter.json derives from these answers (rendered by the same filters, so always in step with it).
DEFAULTS = json.loads(
    r"""{{ {
        "project_slug": cookiecutter.project_name | ascii_slug,
        "package_name": cookiecutter.project_slug | package_name_for,
        "slug_of_the_slug": cookiecutter.project_slug | ascii_slug,
    } | tojson }}"""
)
# The license answer in its SPDX spelling, "" when it is none (local_extensions.spdx_canonical, stdlib only).
LICENSE_SPDX = json.loads(r"""{{ [cookiecutter.license | spdx_canonical] | tojson }}""")[0]
KEYS_THAT_NAME_FILES = ("train_file", "test_file")


def derived(answers):
    """What cookiecutter.json derives when these answers are left at their defaults (kept in step with it)."""
    return {
        "project_slug": DEFAULTS["project_slug"],
        "package_name": DEFAULTS["package_name"],
        "s3_prefix": answers["project_slug"],
        "description": f"Korean text classification on {answers['project_name']}",
        "author": f"{answers['project_name']} authors",
    }


def split_label_names(raw):
    return [name.strip() for name in str(raw).split(",")]


def control_characters(answers):
    found, defaults = [], derived(answers)
    for key, value in answers.items():
        if key.startswith("_") or not isinstance(value, str) or value == defaults.get(key):
            continue  # a derived answer repeats the one it was made from
        bad = [ch for ch in value if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp")]
        if bad:
            found.append(f"{key} contains a control character ({bad[0]!r}); answer it on one plain line")
    return found


def label_problems(raw, task):
    if any(quote in str(raw) for quote in "\"'`"):
        return [f"label_names {raw!r} contains quotes; write the names plain and comma separated, e.g. 부정,중립,긍정"]
    labels = split_label_names(raw)
    found = []
    if any(not name for name in labels):
        found.append(f"label_names has an empty label name: {raw!r}")
    elif task == "regression":
        if len(labels) != 1:
            found.append(f"task=regression takes one label name, what the score measures (e.g. 유사도), got {raw!r}")
    elif len(labels) < 2:
        found.append(f"label_names needs at least two labels, got {len(labels)}: {raw!r}")
    elif len(labels) > MAX_LABELS:
        found.append(f"label_names has {len(labels)} labels; at most {MAX_LABELS} are supported")
    duplicates = sorted({name for name in labels if name and labels.count(name) > 1})
    if duplicates:
        found.append(f"label_names has duplicate label(s): {', '.join(duplicates)}")
    return found


def name_problems(answers):
    found = []
    slug, package = answers["project_slug"], answers["package_name"]
    if not SLUG_PATTERN.match(slug):
        hint = DEFAULTS["slug_of_the_slug"]
        found.append(
            f"project_slug {slug!r} must be ASCII lowercase letters, digits and '-', starting with a letter; "
            f"answer e.g. project_slug={hint} (or press Enter for {DEFAULTS['project_slug']})"
        )
    elif not PACKAGE_PATTERN.match(package) or not package.isidentifier():
        found.append(f"package_name {package!r} is not a valid Python identifier (lowercase letters, digits, '_')")
    elif keyword.iskeyword(package) or keyword.issoftkeyword(package):
        found.append(f"package_name {package!r} is a Python keyword")
    elif package in sys.stdlib_module_names:
        found.append(f"package_name {package!r} would shadow the standard library module {package!r}")
    elif package in DEPENDENCIES:
        found.append(f"package_name {package!r} would shadow {package!r}, which the project imports")
    return found


def choice_problems(answers):
    found = []
    if answers["data_format"] not in DATA_FORMATS:
        found.append(f"data_format {answers['data_format']!r} is unknown; choose one of {', '.join(DATA_FORMATS)}")
    if answers["label_encoding"] not in LABEL_ENCODINGS:
        found.append(
            f"label_encoding {answers['label_encoding']!r} is unknown; choose one of {', '.join(LABEL_ENCODINGS)}"
        )
    if answers["task"] not in TASKS:
        found.append(f"task {answers['task']!r} is unknown; choose one of {', '.join(TASKS)}")
    if str(answers["use_spot_instances"]).strip().lower() not in YES_NO:
        found.append(f"use_spot_instances {answers['use_spot_instances']!r} is not yes or no")
    try:
        max_length = int(str(answers["max_length"]).strip())
    except ValueError:
        found.append(f"max_length {answers['max_length']!r} is not an integer")
    else:
        if max_length <= 0:
            found.append(f"max_length must be positive, got {max_length}")
        elif max_length < 8:
            found.append(f"max_length {max_length} is too small to hold a text (at least 8)")
        elif max_length > 8192:
            found.append(f"max_length {max_length} is larger than any supported model (8192)")
    return found


def license_problem(license):
    """None for Proprietary or a valid SPDX license expression (what pyproject.toml's ``license`` takes) in its
    SPDX spelling; else the problem. LICENSE_SPDX is the answer's spelling by packaging's rules (local_spdx.py)."""
    if license == "Proprietary":  # written as LicenseRef-Proprietary
        return None
    if not LICENSE_SPDX:
        return (
            f"license {license!r} is not an SPDX license expression such as Apache-2.0, MIT or BSD-3-Clause "
            "(or Proprietary)"
        )
    return None if LICENSE_SPDX == license else f"license {license!r} is spelled {LICENSE_SPDX!r} in SPDX; answer that"


def package_problems(answers):
    found = []
    if not answers["author"].strip():
        found.append("author must not be empty (a person or a team)")
    problem = license_problem(answers["license"])
    if problem:
        found.append(problem)
    url = answers["repository_url"].strip()
    if url and not re.fullmatch(r"https?://\S+", url):
        found.append(f"repository_url {url!r} must be an http(s) URL, or empty")
    return found


def column_problems(answers):
    """Columns that are missing or named twice; multi_label may leave label_column empty (a 0/1 column per label)."""
    found = []
    text_column, label_column = answers["text_column"].strip(), answers["label_column"].strip()
    pair_column, id_column = answers["text_pair_column"].strip(), answers["id_column"].strip()
    label_columns_wanted = answers["task"] == "multi_label" and not label_column
    if not text_column:
        found.append("text_column must not be empty")
    if not label_column and answers["task"] != "multi_label":
        found.append("label_column must not be empty (task=multi_label may leave it empty: a 0/1 column per label)")
    named = [("text_column", text_column), ("text_pair_column", pair_column), ("label_column", label_column)]
    named += [("id_column", id_column)]
    if label_columns_wanted:
        named += [(f"the 0/1 column of label {name!r}", name) for name in split_label_names(answers["label_names"])]
    seen = {}
    for key, column in named:
        if column and column in seen:
            found.append(f"{key} and {seen[column]} are both {column!r}; each column holds one thing")
        seen.setdefault(column, key)
    return found


def separator_problems(answers):
    """label_separator: needed where a multi_label CSV/TSV column holds several labels; never inside a name."""
    separator = answers["label_separator"]
    if answers["task"] != "multi_label" or not answers["label_column"].strip():
        return []
    if answers["data_format"] == "jsonl":
        return []  # JSON Lines hold a list of labels
    if not separator.strip() or separator != separator.strip():
        return [f"label_separator {separator!r} must be visible characters (e.g. |)"]
    if answers["data_format"] == "tsv" and "\t" in separator:
        return ["label_separator must not be a tab in a TSV file (a tab separates the columns)"]
    if answers["label_encoding"] == "index" and any(character.isdigit() for character in separator):
        return [
            f"label_separator {separator!r} has a digit, but the files hold class ids (label_encoding=index); "
            "choose another (e.g. |)"
        ]
    inside = [name for name in split_label_names(answers["label_names"]) if separator in name]
    if inside:
        return [f"label_separator {separator!r} appears inside label name(s) {', '.join(inside)}; choose another"]
    return []


def file_problems(answers):
    found = []
    for key in KEYS_THAT_NAME_FILES:
        name = answers[key].strip()
        if key == "test_file" and not name:
            continue  # a one-file dataset: part of the training file is held out as the test split
        if not name or "/" in name or "\\" in name or name.startswith("."):
            found.append(f"{key} {answers[key]!r} must be a plain file name (it is looked up under data/raw/)")
    if answers["train_file"].strip() == answers["test_file"].strip():
        found.append(
            f"train_file and test_file are the same file: {answers['train_file']!r}; for a one-file dataset leave "
            "test_file empty (part of the training file is held out as the test split)"
        )
    return found


def aws_problems(answers):
    found = []
    if not AWS_REGION_PATTERN.match(answers["aws_region"]):
        found.append(f"aws_region {answers['aws_region']!r} does not look like an AWS region (e.g. ap-northeast-2)")
    prefix = answers["s3_prefix"]
    made_from_bad_slug = prefix == derived(answers)["s3_prefix"] and not SLUG_PATTERN.match(answers["project_slug"])
    bad_prefix = not S3_PREFIX_PATTERN.match(prefix) or any(part in (".", "..") for part in prefix.split("/"))
    if bad_prefix and not made_from_bad_slug:  # a slug problem is already reported, with its fix
        found.append(
            f"s3_prefix {prefix!r} must be key parts of letters, digits, '.', '_' and '-' joined by '/', "
            "with no '..' and no leading or trailing '/'"
        )
    for key in ("training_instance_type", "inference_instance_type"):
        if not INSTANCE_PATTERN.match(answers[key]):
            found.append(f"{key} {answers[key]!r} must be a SageMaker instance type such as ml.g5.xlarge")
    if INSTANCE_PATTERN.match(answers["training_instance_type"]) and not GPU_INSTANCE_PATTERN.match(
        answers["training_instance_type"]
    ):
        found.append(
            f"training_instance_type {answers['training_instance_type']!r} has no GPU; the Hugging Face "
            "training image needs one (ml.g5.xlarge, ml.g6.xlarge, ml.p4d.24xlarge, ...)"
        )
    return found


def problems(answers):
    found = control_characters(answers)
    if found:
        return found  # other checks would only repeat the same broken value
    return (
        label_problems(answers["label_names"], answers["task"])
        + name_problems(answers)
        + choice_problems(answers)
        + package_problems(answers)
        + column_problems(answers)
        + separator_problems(answers)
        + file_problems(answers)
        + aws_problems(answers)
    )


def rerun_command(answers):
    """The cookiecutter command that bakes again with every answer already given."""
    template = answers.get("_template") or "<template>"
    defaults = derived(answers)
    given = [
        f"{key}={value}" for key, value in answers.items() if not key.startswith("_") and value != defaults.get(key)
    ]  # derived answers follow the new values
    return shlex.join(["cookiecutter", template, "--no-input", *given])


def main():
    found = problems(ANSWERS)
    for problem in found:
        print(f"ERROR: {problem}", file=sys.stderr)
    if found:
        print("Fix the value(s) above in this command and run it again:\n  " + rerun_command(ANSWERS), file=sys.stderr)
        print(
            "(cookiecutter now reports the stop with a traceback of its own: nothing else went wrong)", file=sys.stderr
        )
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
