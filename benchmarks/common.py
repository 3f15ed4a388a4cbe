"""Shared benchmark plumbing: bake the default project, find NSMC, describe the machine."""

from __future__ import annotations

import os
import platform
import sys
import time
from pathlib import Path

TEMPLATE = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(TEMPLATE / "scripts"))
from bakery import BUILD as BUILD_ROOT  # noqa: E402
from bakery import bake, project_module  # noqa: E402

NSMC_DIR = TEMPLATE.parent / "shared" / "data" / "nsmc"
BUILD = BUILD_ROOT / "bench"
_baked: list[Path] = []

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("MPLBACKEND", "Agg")


def baked_project() -> Path:
    """The default project, baked fresh into build/bench; its modules come from pkg()."""
    project = bake(BUILD, overwrite=True)
    _baked[:] = [project]
    return project


def pkg(name: str):
    """A module of the baked default package: pkg("data.labels")."""
    return project_module(_baked[0], name)


def nsmc_files(project: Path) -> tuple[Path, Path, str]:
    """(train, test, where): the full NSMC files when present, else the project's shipped sample."""
    if (NSMC_DIR / "ratings_train.txt").is_file():
        return NSMC_DIR / "ratings_train.txt", NSMC_DIR / "ratings_test.txt", "full NSMC (150K/50K)"
    return project / "data/raw/ratings_train.txt", project / "data/raw/ratings_test.txt", "shipped sample (2K/1K)"


def machine() -> dict[str, str]:
    import tokenizers
    import torch
    import transformers

    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none"
    return {
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "gpu": gpu,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "tokenizers": tokenizers.__version__,
    }


class Timer:
    def __enter__(self):
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.start


class CpuTimer(Timer):
    """Wall seconds and this process's CPU seconds (every thread of it, a server thread included)."""

    def __enter__(self):
        self.cpu_start = time.process_time()
        return super().__enter__()

    def __exit__(self, *exc):
        super().__exit__(*exc)
        self.cpu_seconds = time.process_time() - self.cpu_start
