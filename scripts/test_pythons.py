"""`make test-pythons`: the default bake's default tier (plain `pytest`) on every Python the baked project claims.

Each version gets its own environment under build/pythons/ (the baked Makefile's `make test VENV=...`), kept
between runs: off Python 3.11 torch comes from the package index with its CUDA libraries, several GB. The
interpreter is `pythonX.Y` on PATH (not a pyenv shim), else the newest pyenv build of that version. Prints one
line per version (passed, failed, errors, seconds) and exits 1 when a version is missing or not green.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

from bakery import BUILD, bake

CLAIMED = ("3.10", "3.11", "3.12", "3.13")  # the baked pyproject.toml's requires-python = ">=3.10"
ROOT = BUILD / "pythons"
SUMMARY = re.compile(r"=+ (.*\d+ (?:passed|failed|errors?).*) in ([\d.]+)s")


def interpreter(version: str) -> str | None:
    """The path of a Python ``version`` (``"3.10"``) interpreter, or None when this machine has none."""
    found = shutil.which(f"python{version}")
    if found and "/shims/" not in found:  # a pyenv shim answers only for the versions pyenv has made active
        return found
    builds = sorted(
        (Path.home() / ".pyenv" / "versions").glob(f"{version}.*/bin/python"),
        key=lambda path: [int(part) for part in re.findall(r"\d+", path.parent.parent.name)],
    )
    return str(builds[-1]) if builds else None


def run_tier(project: Path, version: str) -> tuple[bool, str]:
    """Install (once) and run the default tier on ``version``; returns (green, the summary line or the error)."""
    python = interpreter(version)
    if python is None:
        return False, f"no python{version} on PATH or in ~/.pyenv/versions"
    venv = ROOT / f"venv-{version}"
    started = time.monotonic()
    result = subprocess.run(
        ["make", "-C", str(project), "test", f"VENV={venv}", f"PYTHON={python}"],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env={**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONUTF8": "1"},
    )
    output = result.stdout + result.stderr
    (ROOT / f"pytest-{version}.log").write_text(output, encoding="utf-8")
    found = SUMMARY.findall(output)
    summary = found[-1][0] if found else output.strip().splitlines()[-1] if output.strip() else "no output"
    return result.returncode == 0, f"{summary} ({time.monotonic() - started:.0f} s with install)"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("versions", nargs="*", default=list(CLAIMED), help=f"default: {' '.join(CLAIMED)}")
    versions = parser.parse_args().versions
    ROOT.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(ROOT / "bake", ignore_errors=True)
    project = bake(ROOT / "bake")
    results = {version: run_tier(project, version) for version in versions}
    for version, (green, summary) in results.items():
        log = ROOT / f"pytest-{version}.log"
        print(f"Python {version}: {'green' if green else 'NOT GREEN'}: {summary}   (log: {log})")
    return 0 if all(green for green, _ in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
