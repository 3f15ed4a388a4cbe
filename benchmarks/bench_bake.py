"""Cost of the template loop: bake the default project, then run its own test suite."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from common import NSMC_DIR, Timer, bake


def run() -> dict:
    with tempfile.TemporaryDirectory() as out:
        with Timer() as baking:
            project = bake(Path(out))
        env = {**os.environ, "HF_HUB_OFFLINE": "1"}
        if NSMC_DIR.is_dir():
            env["NSMC_DIR"] = str(NSMC_DIR)
        with Timer() as tests:
            result = subprocess.run(
                [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
                cwd=project,
                env=env,
                capture_output=True,
                text=True,
            )
    lines = result.stdout.strip().splitlines()
    summary = lines[-1] if lines else result.stderr[-500:]
    failed = [line for line in lines if line.startswith(("FAILED", "ERROR"))]
    if failed:  # which ones: the run's output is not kept
        summary += "; " + "; ".join(failed)
    return {
        "bake_seconds": baking.seconds,
        "tests_seconds": tests.seconds,
        "total_seconds": baking.seconds + tests.seconds,
        "passed": result.returncode == 0,
        "summary": summary,
    }
