"""Shared fixtures. Everything runs offline on CPU: HF_HUB_OFFLINE=1, models built locally.

The tests read only the sample this project ships (data/sample/, in this project's format), never data/raw/:
they test the code, and stay green and equally fast whatever data the user puts in data/raw/.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from pathlib import Path

import pytest
import yaml

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TOKENIZERS_PARALLELISM"] = "false"
os.environ["MPLBACKEND"] = "Agg"
os.environ.setdefault("AWS_DEFAULT_REGION", "ap-northeast-2")
XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER")  # set in each worker of `pytest -n` (the default: pyproject)
if XDIST_WORKER:
    # one thread per worker: the workers already fill the cores, and torch's idle threads would spin against them
    os.environ.setdefault("OMP_NUM_THREADS", "1")

from {{ cookiecutter.package_name }}.answers import head_of  # noqa: E402
from {{ cookiecutter.package_name }}.config import (  # noqa: E402
    CONFIG_FILE,
    LABELS_FILE,
    Config,
    describe_fields,
    load_config,
)
from {{ cookiecutter.package_name }}.data.dataset import data_file, load_schema  # noqa: E402
from {{ cookiecutter.package_name }}.data.labels import LabelSchema  # noqa: E402
from {{ cookiecutter.package_name }}.data.normalize import Normalizer  # noqa: E402
from {{ cookiecutter.package_name }}.data.report import Record  # noqa: E402
from {{ cookiecutter.package_name }}.data.validation import ReadOptions, load_records  # noqa: E402
from {{ cookiecutter.package_name }}.format_registry import FORMATS  # noqa: E402
from {{ cookiecutter.package_name }}.tasks import task_named  # noqa: E402

PACKAGE = "{{ cookiecutter.package_name }}"


def entry_arguments(config_file: Path) -> list[str]:
    """``-m <package>.training.entry`` with ``config_file`` and the tests' fast settings: what follows ``python`` or
    ``torchrun ...`` in a command that trains as the SageMaker entry does (scratch:tiny, no MLflow, CPU)."""
    return ["-m", f"{PACKAGE}.training.entry", "--config", str(config_file), "--model", "scratch:tiny"] + [
        "--mlflow", "false", "--use_cpu", "true"
    ]  # fmt: skip


PROJECT_ROOT = Path(__file__).resolve().parent.parent
SRC = PROJECT_ROOT / "src"
SAMPLE_DIR = PROJECT_ROOT / "data" / "sample"
TRAINING_LOG = "training.log"
TASK = json.loads((PROJECT_ROOT / "labels.json").read_text(encoding="utf-8")).get("task", "single_label")
MULTI_LABEL, REGRESSION = TASK == "multi_label", TASK == "regression"
RESULTS_PICTURES = {"multi_label": "label_f1.png", "regression": "predicted_vs_true.png"}  # a results folder's first
RESULTS_PICTURE = RESULTS_PICTURES.get(TASK, "confusion_matrix.png")
COMPARED = task_named(TASK).compared_metric  # accuracy; micro F1 multi-label; Spearman regression


def answer(prediction: dict):
    """A served prediction's answer (its task's head reads it): its label's name, multi-label the tuple of its
    labels' names, regression its score."""
    return head_of(prediction).value(prediction)


def all_scores(predictions: list[dict]) -> list[float]:
    """Every label's score of every prediction (regression: each score), one flat list (pytest.approx compares flat
    lists only)."""
    return [s for p in predictions for s in (p["scores"].values() if "scores" in p else [p["score"]])]


def same_answers(first: list, second: list) -> bool:
    """Whether two lists of answers (``answer``'s) agree: scores (regression) to 1e-4, as padding changes float
    rounding only; names exactly."""
    if REGRESSION:
        return first == pytest.approx(second, abs=1e-4)
    return first == second


def rows_figure(rows: list[dict]) -> tuple[str, float]:
    """(metric name, value) that predict's output rows (with their true answers) give by themselves: the share
    answered right (accuracy; multi-label subset accuracy), regression the mean squared error."""
    if REGRESSION:
        return "mse", sum((answer(r) - true_answer(r)) ** 2 for r in rows) / len(rows)
    return "accuracy", sum(answer(r) == true_answer(r) for r in rows) / len(rows)


def true_answer(row: dict):
    """A predict output row's true answer (``true_label``, multi-label the tuple of ``true_labels``, regression
    ``true_score``)."""
    if "true_score" in row:
        return row["true_score"]
    return tuple(row["true_labels"]) if "true_labels" in row else row["true_label"]


# The shipped sample as post_gen wrote it at bake time. Tests read it with these settings (over the code's defaults),
# never with config.yaml's data section, which the user edits for the files in data/raw/ (data.encoding: cp949,
# other columns or file names, unknown_label: drop, ...): following the tool's advice never turns a test red.
SAMPLE_DATA = {
    "data_format": {{ cookiecutter.data_format | json_text }},
    "encoding": "auto",  # the sample is UTF-8, which auto reads as such; the corruption tests need the detection
    "train_file": {{ cookiecutter.train_file.strip() | json_text }},
    "test_file": {{ cookiecutter.test_file | sample_test_file(cookiecutter.train_file) | json_text }},
    "text_column": {{ cookiecutter.text_column.strip() | json_text }},
    "text_pair_column": {{ cookiecutter.text_pair_column.strip() | json_text }},
    "label_column": {{ cookiecutter.label_column.strip() | json_text }},
    "id_column": {{ cookiecutter.id_column.strip() | json_text }},
}
PAIRS = bool(SAMPLE_DATA["text_pair_column"])  # a sentence-pair project: each row holds a text and a second text
# ship: the transformer alone, which the serving tests exercise (the ensemble has tests of its own)
FAST = {
    "base_model": "scratch:tiny",
    "mlflow": False,
    "epochs": 2,
    "logging_steps": 10,
    "use_cpu": True,
    "ship": "transformer",
}


def find_nsmc_dir() -> Path | None:
    """The full NSMC files, for the slow tests only: $NSMC_DIR, or shared/data/nsmc beside a parent folder."""
    candidates = [Path(os.environ["NSMC_DIR"])] if os.environ.get("NSMC_DIR") else []
    for folder in (PROJECT_ROOT, *PROJECT_ROOT.parents):
        candidates += [folder / "shared" / "data" / "nsmc", folder.parent / "shared" / "data" / "nsmc"]
    for candidate in candidates:
        if (candidate / "ratings_train.txt").is_file() and (candidate / "ratings_test.txt").is_file():
            return candidate
    return None


NSMC_DIR = find_nsmc_dir()
CONTAINER_TRANSFORMERS = os.environ.get("CONTAINER_TRANSFORMERS")  # set by `make contract`


def pytest_report_header(config):
    import transformers

    return f"transformers {transformers.__version__}" + (
        " (a SageMaker container's pin)" if CONTAINER_TRANSFORMERS else ""
    )


def pytest_sessionstart(session):
    """Under `make contract` the pinned transformers must be the one imported, or the run proves nothing."""
    if CONTAINER_TRANSFORMERS:
        import transformers

        from contract.container_python import check

        if transformers.__version__ != CONTAINER_TRANSFORMERS:
            pytest.exit(f"transformers {transformers.__version__} was imported, not {CONTAINER_TRANSFORMERS}", 3)
        problems = check(CONTAINER_TRANSFORMERS)
        if problems:
            pytest.exit("not the container's recorded packages (make contract builds them): " + "; ".join(problems), 3)


def pytest_collection_modifyitems(config, items):
    """Tests that need the trained model run last, in collection order otherwise: under xdist, worksteal gives
    each worker a contiguous share, so the worker holding the model's tests trains it while the other runs
    tests that need no model, instead of both waiting for it."""
    items.sort(key=lambda item: bool({"trained_model", "text_model"} & set(getattr(item, "fixturenames", ()))))


def subprocess_env() -> dict:
    return {
        **os.environ,
        "PYTHONPATH": str(SRC),
        "HF_HUB_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
        "OMP_NUM_THREADS": "1",
        "PYTHONUNBUFFERED": "1",
    }


def sample_data_settings() -> dict[str, object]:
    """The data section that reads the shipped sample: the code's defaults, then SAMPLE_DATA."""
    defaults = {info.name: info.default for info in describe_fields() if info.section == "data"}
    return defaults | SAMPLE_DATA


def break_file(path: Path) -> str:
    """Break a data file of the sample's format: a text format's gets bytes that are no UTF-8 appended, a binary
    format's (Excel, Parquet) is cut in half. Returns what the error about it says."""
    if FORMATS[SAMPLE_DATA["data_format"]].text:
        with open(path, "ab") as handle:
            handle.write(b"\xff\xfe broken bytes\n")
        return "not valid UTF-8"
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    return "error: not a"


def sample_config(overrides: dict | None = None) -> Config:
    """This project's configuration reading the shipped sample in data/sample/ (whatever config.yaml's data says)."""
    data = {f"data.{key}": value for key, value in sample_data_settings().items()}
    return load_config(PROJECT_ROOT / CONFIG_FILE, {**data, "data.data_dir": str(SAMPLE_DIR), **(overrides or {})})


def copy_project(folder: Path) -> Path:
    """This project's config and labels, with the shipped sample as its data, in ``folder``; returns config.yaml.

    The copy's data section is the sample's own (sample_data_settings), so the CLI run there reads the sample.
    """
    shutil.copy(PROJECT_ROOT / LABELS_FILE, folder / LABELS_FILE)
    content = yaml.safe_load((PROJECT_ROOT / CONFIG_FILE).read_text(encoding="utf-8"))
    content["data"] = sample_data_settings()
    (folder / CONFIG_FILE).write_text(yaml.safe_dump(content, allow_unicode=True, sort_keys=False), encoding="utf-8")
    config = load_config(folder / CONFIG_FILE)
    shutil.copytree(SAMPLE_DIR, config.path(config.data.data_dir))
    return folder / CONFIG_FILE


def artifact_with_int8_record(trained_model: Path, folder: Path, allowed: bool | None) -> Path:
    """A copy of the trained artifact whose int8 check passed (True), failed (False) or is missing (None)."""
    from {{ cookiecutter.package_name }}.model.artifact import INT8_RECORD, METRICS_FILE

    copy = folder / "model"
    shutil.copytree(trained_model, copy)
    metrics = json.loads((copy / METRICS_FILE).read_text(encoding="utf-8"))
    if allowed is None:
        metrics.pop(INT8_RECORD)
    else:
        metrics[INT8_RECORD].update(
            allowed=allowed, fp32_accuracy=0.9, int8_accuracy=0.9 if allowed else 0.8, drop=0.0 if allowed else 0.1
        )
    (copy / METRICS_FILE).write_text(json.dumps(metrics), encoding="utf-8")
    return copy


@pytest.fixture()
def project(tmp_path) -> Config:
    """A copy of this project with the sample as its data, in a temp folder, quiet and fast to train."""
    return load_config(copy_project(tmp_path), FAST)


@pytest.fixture(scope="session")
def schema() -> LabelSchema:
    return LabelSchema.load(PROJECT_ROOT / LABELS_FILE)


@pytest.fixture(scope="session")
def sample() -> dict[str, list[Record]]:
    """The shipped sample, read with its own settings: real reviews in this project's format."""
    config = sample_config()
    options, normalizer = ReadOptions.from_config(config.data), Normalizer.from_config(config.data)
    return {
        split: load_records(
            data_file(config, getattr(config.data, f"{split}_file")), options, load_schema(config), normalizer
        ).records
        for split in ("train", "test")
    }


@pytest.fixture(scope="session")
def sample_texts(sample) -> list[str]:
    return [record.text for record in sample["train"]]


# Multi-label BCE needs more steps than 2 epochs of the sample to pass the best constant answer clearly (micro F1
# 0.53 after 2, 0.69 after 8, against 0.51): 8 is what epochs: auto picks there, about 5 s more.
MODEL_EPOCHS = 8 if MULTI_LABEL else 2
# Two epochs of the sample are far fewer steps than a real run's (min_steps 400): at scratch:tiny's default 1e-3 the
# sentence-pair regression model still scores two pairs that differ in the second text alike (0.006 apart), at
# 2e-3 it tells them apart, so the one trained model takes the larger step (no slower).
MODEL_LEARNING_RATE = 2e-3
# scratch:auto, the offline answer the README suggests: the sample is far below sources.SMALL_FROM_ROWS, so the
# trained model is scratch:tiny (FAST's), which its training_config.json and its log then say
AUTO_SOURCE = "scratch:auto"
# what FAST sets, through the command line: the tests' one trained model comes from the `train` command itself
TRAIN_COMMAND = ["train"] + [
    part
    for key, value in {
        **FAST,
        "base_model": AUTO_SOURCE,
        "epochs": MODEL_EPOCHS,
        "loop": "torch",
        "learning_rate": MODEL_LEARNING_RATE,
    }.items()
    for part in (f"--{key.replace('_', '-')}", str(value).lower() if isinstance(value, bool) else str(value))
]


@contextlib.contextmanager
def working_directory(folder: Path):
    """Run the block in ``folder``, then return to where it was (``contextlib.chdir`` is Python 3.11+; the project
    claims 3.10)."""
    previous = Path.cwd()
    os.chdir(folder)
    try:
        yield folder
    finally:
        os.chdir(previous)


def shared_model(tmp_path_factory, name: str, extra: list[str]) -> Path:
    """An artifact trained on the sample by the `train` command (``TRAIN_COMMAND`` plus ``extra``) in the folder
    ``name``: trained once per test run, by the first worker that needs it when pytest runs in parallel (the others
    wait for it, then read it: the xdist documentation's recipe). What the command printed is ``TRAINING_LOG``
    beside the project. Returns the artifact's folder."""
    from filelock import FileLock
    from typer.testing import CliRunner

    from {{ cookiecutter.package_name }}.cli import app

    # under xdist, the base temp's parent is this run's own folder, shared by its workers; alone, a fresh folder
    shared = tmp_path_factory.getbasetemp().parent if XDIST_WORKER else tmp_path_factory.getbasetemp() / "shared"
    shared.mkdir(exist_ok=True)
    folder, done = shared / name, shared / f"{name}.done"
    with FileLock(str(shared / f"{name}.lock")):
        if not done.exists():
            shutil.rmtree(folder, ignore_errors=True)  # a failed attempt's leftovers: each test reports the failure
            folder.mkdir()
            config_file = copy_project(folder)
            with working_directory(folder):
                result = CliRunner().invoke(app, TRAIN_COMMAND + extra)
            assert result.exit_code == 0, result.output
            (folder / TRAINING_LOG).write_text(result.output, encoding="utf-8")
            config = load_config(config_file)
            done.write_text(str(config.path(config.train.output_dir)), encoding="utf-8")
    return Path(done.read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def trained_model(tmp_path_factory) -> Path:
    """One scratch:tiny artifact trained on the sample by the `train` command (``TRAIN_COMMAND``), shared by the
    serving, evaluation and deploy tests (shared_model: once per test run). For sentence pairs (PAIRS) it
    classifies pairs. Tests copy the artifact before changing it."""
    return shared_model(tmp_path_factory, "trained", [])


@pytest.fixture(scope="session")
def text_model(tmp_path_factory) -> Path:
    """A model of one text a row: ``trained_model`` itself, except in a sentence-pair project, where it is trained
    on the sample's first texts alone (data.text_pair_column emptied). The serving contract's tests (limits,
    Unicode, CSV parsing, faults) send plain texts: they run on it; the pair tests run on ``trained_model``."""
    if not PAIRS:
        return shared_model(tmp_path_factory, "trained", [])
    return shared_model(tmp_path_factory, "text-only", ["--set", "data.text_pair_column="])


@pytest.fixture(scope="session")
def ensemble_model(text_model, sample, tmp_path_factory) -> Path:
    """``text_model`` with an n-gram model fitted on the sample's training texts, mixed in at weight 0.5: an artifact
    as train writes it when the mix wins on the validation split (training/ensemble.py's Shipped.save)."""
    import numpy as np

    from {{ cookiecutter.package_name }}.model.ngram import NgramClassifier, NgramFeatures
    from {{ cookiecutter.package_name }}.training.ensemble import Shipped

    folder = tmp_path_factory.mktemp("ensemble") / "model"
    shutil.copytree(text_model, folder)
    schema, records = LabelSchema.load(folder / LABELS_FILE), sample["train"]
    task = task_named(schema.task)
    features, x = NgramFeatures.fit([record.text for record in records])
    targets = np.asarray([task.target(schema, record.label) for record in records])
    Shipped(0.5, NgramClassifier.fit(features, x, targets, len(schema.names), 0.1, schema.task)).save(folder)
    return folder


@pytest.fixture(scope="session")
def training_log(trained_model) -> str:
    """What training ``trained_model`` printed: the lines SageMaker's metric regexes read."""
    return (trained_model.parent.parent / TRAINING_LOG).read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def model_server(text_model):
    """The server as `serve` starts it: auto precision (int8 on a CPU when train's check allowed it), serving
    ``text_model`` (one text a row)."""
    from {{ cookiecutter.package_name }}.serving.server import BackgroundServer, create_app

    with BackgroundServer(create_app(text_model)) as server:
        yield server


@pytest.fixture(scope="session")
def fp32_server(text_model):
    """The server in fp32, as a GPU endpoint runs it: tests compare it with evaluate in fp32 (``text_model``)."""
    from {{ cookiecutter.package_name }}.serving.server import BackgroundServer, create_app

    with BackgroundServer(create_app(text_model, precision="fp32")) as server:
        yield server
