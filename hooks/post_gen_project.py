"""Finish the baked project: label schema, a sample in the user's own format, cruft record.

Runs wherever cookiecutter runs (standard library only, no formatter: the template's code is formatted for any
package name up to scripts/format_template.py's long one, so every bake is the same whatever is installed).

The sample is real NSMC text written in the answered format, columns, encoding and label encoding, under
data/sample/ (what the project's tests read) and, as a starting point the user replaces, under data/raw/.
For a binary schema the labels are NSMC's own; for more classes they are synthetic (negative reviews go to
the lower classes, positive ones to the upper classes, split by length quantiles) and say nothing about the
data. For task=multi_label the labels are synthetic too, but learnable from the text: label i follows rule
i (cycling) of MULTI_LABEL_RULES (NSMC's positive sentiment, laughter, mentions of 영화 or of actors and acting,
a long text, '!' or '?', '..'), so a row may have several labels or none. labels.json is written by the baked
package's own LabelSchema, so it has one writer.

Sentence pairs (text_pair_column answered): the second text is a fragment of another review with the same label(s)
(pair_fragments), so both texts carry evidence of the row's label: a model that reads both does better than one
that reads either, and swapping the second text moves its answer. The relation is additive (two witnesses of one
label), not a comparison of the texts: a scratch model cannot learn a comparison from a sample this size
(benchmarks/RESULTS.md).
"""

import csv
import importlib
import json
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

ANSWERS = json.loads(r"""{{ cookiecutter | tojson }}""")
PROJECT = Path.cwd()
SAMPLE_DIR = PROJECT / "data" / "sample"
RAW_DIR = PROJECT / "data" / "raw"
# The sample's test file: test_file, or for a one-file dataset a name derived from train_file (local_extensions).
SAMPLE_TEST_FILE = json.loads(
    r"""{{ [cookiecutter.test_file | sample_test_file(cookiecutter.train_file)] | tojson }}"""
)[0]
NSMC_SOURCES = {"train": "nsmc_train.tsv", "test": "nsmc_test.tsv"}  # shipped with the template, NSMC format
PAIR_SEEDS = {"train": 24, "test": 42}  # the second texts of each split are drawn with their own seed
MAX_FRAGMENT_WORDS = 6
REGRESSION_BINS = 5  # task=regression: the sample's length quintiles, each worth 0.375 of the synthetic score

# The baked package's own label schema writes labels.json: one writer. This hook runs in whatever environment
# cookiecutter runs in (pipx, uvx: nothing but cookiecutter), so it imports only baked modules that import nothing
# but the standard library: artifact_files (the file name) and data.labels (with errors and logs); the baked
# tests/test_layout.py keeps them so.
sys.dont_write_bytecode = True  # leave no __pycache__ in the new project
sys.path.insert(0, str(PROJECT / "src"))
LABELS_FILE = importlib.import_module(f"{ANSWERS['package_name']}.artifact_files").LABELS_FILE
LabelSchema = importlib.import_module(f"{ANSWERS['package_name']}.data.labels").LabelSchema
# The sample is written by the format's own writer (format_registry.py names it): data.readers imports the standard
# library only; a binary format's writer may import more (Parquet: pandas and pyarrow) when it runs.
sample_writer = importlib.import_module(f"{ANSWERS['package_name']}.data.readers").writer


def label_names():
    return [name.strip() for name in ANSWERS["label_names"].split(",")]


def read_nsmc(path):
    with open(path, encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        next(reader)
        return [(row_id, text, int(label)) for row_id, text, label in reader]


def class_for(nsmc_label, text, n_classes, length_cuts):
    if n_classes == 2:
        return nsmc_label
    lower = n_classes // 2
    first, size = (0, lower) if nsmc_label == 0 else (lower, n_classes - lower)
    bucket = sum(len(text) >= cut for cut in length_cuts[size])
    return first + min(bucket, size - 1)


def length_cuts(rows, n_classes):
    """Length quantiles that split a sentiment group into ``size`` classes of about equal size."""
    lengths = sorted(len(text) for _, text, _ in rows)
    return {size: [lengths[len(lengths) * i // size] for i in range(1, size)] for size in range(1, n_classes + 1)}


MULTI_LABEL_RULES = (  # (nsmc_label, text) -> whether the row has label i (i-th rule, cycling)
    lambda nsmc_label, text: nsmc_label == 1,  # positive review
    lambda nsmc_label, text: "ㅋ" in text or "ㅎ" in text,  # laughter
    lambda nsmc_label, text: "영화" in text,  # mentions the film
    lambda nsmc_label, text: "배우" in text or "연기" in text,  # mentions actors or acting
    lambda nsmc_label, text: len(text) >= 40,  # a long text
    lambda nsmc_label, text: "!" in text or "?" in text,
    lambda nsmc_label, text: ".." in text,
)


def multi_label_ids(nsmc_label, text, n_classes):
    """The synthetic class ids of one row: label i when rule i (cycling through MULTI_LABEL_RULES) holds."""
    return [i for i in range(n_classes) if MULTI_LABEL_RULES[i % len(MULTI_LABEL_RULES)](nsmc_label, text)]


def multi_label_cells(ids, names):
    """A multi-label row's label cells in the answered form: a 0/1 column per label name (no label_column), a JSON
    list (jsonl), or the labels joined by label_separator (csv, tsv); names or class ids as label_encoding says."""
    if not ANSWERS["label_column"].strip():
        return {name: int(i in ids) for i, name in enumerate(names)}
    values = [label_value(i, names) for i in ids]
    if ANSWERS["data_format"] == "jsonl":
        return {ANSWERS["label_column"]: values}
    return {ANSWERS["label_column"]: ANSWERS["label_separator"].join(str(value) for value in values)}


def regression_score(nsmc_label, text, cuts):
    """A synthetic score in [0.5, 5]: 3 points for a positive review and up to 1.5 by length (the text's length
    quintile among the sample's), so it is learnable from the text and says nothing about any real data."""
    quintile = sum(len(text) >= cut for cut in cuts[REGRESSION_BINS])
    return round(0.5 + 3.0 * nsmc_label + 0.375 * quintile, 3)


def label_cells(nsmc_label, text, names, cuts):
    """The label cell(s) of one sample row, column -> value, for the answered task."""
    if ANSWERS["task"] == "regression":
        return {ANSWERS["label_column"]: regression_score(nsmc_label, text, cuts)}
    if ANSWERS["task"] == "multi_label":
        return multi_label_cells(multi_label_ids(nsmc_label, text, len(names)), names)
    return {ANSWERS["label_column"]: label_value(class_for(nsmc_label, text, len(names), cuts), names)}


def label_value(class_id, names):
    if ANSWERS["label_encoding"] == "index":
        return class_id
    name = names[class_id]
    # Integer-like names (star ratings) are written as numbers (JSON, Excel, Parquet), as real files hold them.
    if name.lstrip("-").isdigit():
        return int(name)
    return name


def fragment(text, rng):
    """A run of consecutive words of ``text`` (about half of them, 1 to MAX_FRAGMENT_WORDS), or the text itself
    when it has one word."""
    words = text.split()
    if len(words) < 2:
        return text.strip()
    size = max(1, min(MAX_FRAGMENT_WORDS, len(words) // 2))
    start = rng.randrange(len(words) - size + 1)
    return " ".join(words[start : start + size])


def pair_fragments(rows, groups, seed):
    """One second text per row: a fragment of another review of the same group (``groups``: one hashable per row,
    the row's class), never one with the same text; a review alone in its group gets a fragment of its own."""
    rng = random.Random(seed)
    members = {}
    for (_, text, _), group in zip(rows, groups, strict=True):
        if text.split():
            members.setdefault(group, []).append(text)
    pairs = []
    for (_, text, _), group in zip(rows, groups, strict=True):
        others = [other for other in members.get(group, []) if other != text]
        pairs.append(fragment(others[rng.randrange(len(others))] if others else text, rng))
    return pairs


def write_rows(rows, path, names, split="train"):
    text_column = ANSWERS["text_column"]
    id_column, pair_column = ANSWERS["id_column"].strip(), ANSWERS["text_pair_column"].strip()
    cuts = length_cuts(rows, max(len(names), REGRESSION_BINS))
    label_rows = [label_cells(nsmc_label, text, names, cuts) for _, text, nsmc_label in rows]
    groups = [json.dumps(cells, ensure_ascii=False, sort_keys=True) for cells in label_rows]  # a row's label(s)
    pairs = pair_fragments(rows, groups, PAIR_SEEDS[split]) if pair_column else [None] * len(rows)
    records = []
    for (row_id, text, _), cells, pair in zip(rows, label_rows, pairs, strict=True):
        record = {}
        if id_column:
            record[id_column] = row_id
        record[text_column] = text
        if pair is not None:
            record[pair_column] = pair
        record.update(cells)
        records.append(record)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        sample_writer(ANSWERS["data_format"])(records, path)
    except ImportError as error:
        sys.exit(
            f"ERROR: data_format {ANSWERS['data_format']}: writing the sample needs {error.name}, which is not "
            "installed where cookiecutter runs; install it beside cookiecutter (e.g. pipx inject cookiecutter "
            "pandas pyarrow) or bake with data_format=csv"
        )


def write_samples(names):
    """data/sample/<train_file>, <test_file> in the answered format (a one-file dataset's sample still has a test
    file, SAMPLE_TEST_FILE, for the project's tests); copies under data/raw/ to start from (the training file alone
    for a one-file dataset)."""
    sources = {split: read_nsmc(SAMPLE_DIR / name) for split, name in NSMC_SOURCES.items()}
    for name in NSMC_SOURCES.values():
        (SAMPLE_DIR / name).unlink()
    for split, name in (("train", ANSWERS["train_file"].strip()), ("test", SAMPLE_TEST_FILE)):
        sample = SAMPLE_DIR / name
        write_rows(sources[split], sample, names, split)
        raw = RAW_DIR / sample.name
        if split == "test" and not ANSWERS["test_file"].strip():
            continue  # a one-file dataset: data/raw/ holds the training file alone
        if not raw.exists():
            raw.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(sample, raw)


def template_checkout():
    """The template's folder when baked from a local checkout, else None.

    Hooks run inside the new project, so a relative _repo_dir is resolved against the shell's PWD.
    """
    repo_dir = ANSWERS.get("_repo_dir")
    if not repo_dir:
        return None
    candidates = [Path(repo_dir)] if Path(repo_dir).is_absolute() else [Path(os.environ.get("PWD", ".")) / repo_dir]
    for candidate in candidates:
        if (candidate / "cookiecutter.json").is_file():
            return candidate.resolve()
    return None


def template_commit(checkout):
    if checkout is None:
        return None
    try:
        out = subprocess.run(
            ["git", "-C", str(checkout), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
        )
    except (OSError, subprocess.CalledProcessError):
        return None
    return out.stdout.strip() or None


def write_cruft_record():
    context = {key: value for key, value in ANSWERS.items() if not key.startswith("_") or key == "_template"}
    template = ANSWERS.get("_template", "")
    checkout = template_checkout()
    if checkout is not None and ":" not in template:  # a local checkout: record where it is
        template = str(checkout)
    record = {
        "template": template,
        "commit": template_commit(checkout),
        "checkout": None,
        "context": {"cookiecutter": context},
        "directory": None,
    }
    (PROJECT / ".cruft.json").write_text(json.dumps(record, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def main():
    names = label_names()
    LabelSchema(tuple(names), ANSWERS["label_encoding"], ANSWERS["task"]).save(PROJECT / LABELS_FILE)
    write_samples(names)
    write_cruft_record()
    return 0


if __name__ == "__main__":
    sys.exit(main())
