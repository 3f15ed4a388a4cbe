"""Shared benchmark plumbing: bake the default project, find NSMC, describe the machine."""

from __future__ import annotations

import os
import platform
import sys
import time
from pathlib import Path

TEMPLATE = Path(__file__).resolve().parent.parent
NSMC_DIR = TEMPLATE.parent / "shared" / "data" / "nsmc"
BUILD = TEMPLATE / "build" / "bench"
PACKAGE = "nsmc_sentiment"

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("MPLBACKEND", "Agg")


def baked_project() -> Path:
    """The default project, baked fresh into build/bench and importable."""
    from cookiecutter.main import cookiecutter

    project = Path(cookiecutter(str(TEMPLATE), no_input=True, output_dir=str(BUILD), overwrite_if_exists=True))
    if str(project / "src") not in sys.path:
        sys.path.insert(0, str(project / "src"))
    return project


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
    return {"cpu": cpu, "cores": str(os.cpu_count()), "gpu": gpu, "python": platform.python_version(),
            "torch": torch.__version__, "transformers": transformers.__version__, "tokenizers": tokenizers.__version__}


class Timer:
    def __enter__(self):
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.start
