"""Shared fixtures. Everything runs offline on CPU: HF_HUB_OFFLINE=1, models built locally."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TOKENIZERS_PARALLELISM"] = "false"
os.environ["MPLBACKEND"] = "Agg"
os.environ.setdefault("AWS_DEFAULT_REGION", "ap-northeast-2")

from {{ cookiecutter.package_name }}.config import Config, load_config  # noqa: E402
from {{ cookiecutter.package_name }}.labels import LabelSchema  # noqa: E402

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def find_nsmc_dir() -> Path | None:
    """The full NSMC files: $NSMC_DIR, or a shared/data/nsmc folder beside any parent of the project."""
    candidates = [Path(os.environ["NSMC_DIR"])] if os.environ.get("NSMC_DIR") else []
    for folder in (PROJECT_ROOT, *PROJECT_ROOT.parents):
        candidates += [folder / "shared" / "data" / "nsmc", folder.parent / "shared" / "data" / "nsmc"]
    for candidate in candidates:
        if (candidate / "ratings_train.txt").is_file() and (candidate / "ratings_test.txt").is_file():
            return candidate
    return None


NSMC_DIR = find_nsmc_dir()
SAMPLE_DIR = PROJECT_ROOT / "data" / "sample"


def read_nsmc(path: Path, limit: int | None = None, skip_empty: bool = True) -> list[tuple[str, str, int]]:
    rows = []
    with open(path, encoding="utf-8", newline="") as handle:
        next(handle)
        for line in handle:
            row_id, text, label = line.rstrip("\n").split("\t")
            if skip_empty and not text.strip():
                continue
            rows.append((row_id, text, int(label)))
            if limit and len(rows) >= limit:
                break
    return rows


@pytest.fixture(scope="session")
def nsmc_reviews() -> dict[str, list[tuple[str, str, int]]]:
    """Real NSMC reviews: 2,000 train / 1,000 test from the full files when present, else the sample."""
    if NSMC_DIR is not None:
        return {"train": read_nsmc(NSMC_DIR / "ratings_train.txt", 2000),
                "test": read_nsmc(NSMC_DIR / "ratings_test.txt", 1000)}
    return {"train": read_nsmc(SAMPLE_DIR / "nsmc_train.tsv"), "test": read_nsmc(SAMPLE_DIR / "nsmc_test.tsv")}


def copy_project(folder: Path) -> Path:
    """This project's config, labels and data, copied into ``folder``; returns its config.yaml."""
    for name in ("config.yaml", "labels.json"):
        shutil.copy(PROJECT_ROOT / name, folder / name)
    shutil.copytree(PROJECT_ROOT / "data", folder / "data")
    return folder / "config.yaml"


@pytest.fixture()
def project(tmp_path) -> Config:
    """A copy of this project's config, labels and data in a temp folder, quiet and fast to train."""
    return load_config(copy_project(tmp_path), {
        "model": "scratch:tiny", "tracking": False, "epochs": 2, "logging_steps": 10, "use_cpu": True,
    })


@pytest.fixture(scope="session")
def schema() -> LabelSchema:
    return LabelSchema.load(PROJECT_ROOT / "labels.json")


@pytest.fixture(scope="session")
def trained_model(tmp_path_factory) -> Path:
    """One scratch:tiny artifact trained on the project's own data, shared by serving/eval/deploy tests."""
    from {{ cookiecutter.package_name }}.train import run_training

    folder = tmp_path_factory.mktemp("trained")
    config = load_config(copy_project(folder), {"model": "scratch:tiny", "tracking": False, "epochs": 3,
                                                  "loop": "torch", "use_cpu": True, "logging_steps": 10})
    run_training(config)
    return folder / "artifacts" / "model"


@pytest.fixture(scope="session")
def model_server(trained_model):
    from {{ cookiecutter.package_name }}.serving.server import BackgroundServer, create_app

    with BackgroundServer(create_app(trained_model)) as server:
        yield server
