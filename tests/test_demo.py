"""`make demo` hands over: every command it prints runs as printed, and it never overwrites a user's edits."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

TEMPLATE = Path(__file__).resolve().parent.parent
DEMO = TEMPLATE / "scripts" / "demo.py"


def run_demo(into: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(DEMO), "--into", str(into)],
        cwd=TEMPLATE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,  # as a terminal shows it: the steps' summaries go to stderr
        text=True,
        encoding="utf-8",
        timeout=900,
    )


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    into = tmp_path_factory.mktemp("demo")
    result = run_demo(into)
    assert result.returncode == 0, result.stdout[-4000:]
    return into, result.stdout


def test_the_demo_runs_end_to_end_and_hands_over(demo):
    _, out = demo
    for step in ("prepare", "baseline", "train", "evaluate", "serve"):
        assert f"=== {step}" in out
    assert "data OK" in out and "model artifact written" in out and "answered 998/998 rows" in out
    assert ", 0 retried, 0 failed" in out  # the demo waits for the server: nothing is retried
    assert "=== next: carry on in the project" in out and "make check-data VENV=" in out
    assert "Another label schema" in out and "needs a new bake" in out and " -m cookiecutter " in out


def test_every_command_the_demo_prints_runs_as_printed(demo, tmp_path):
    _, out = demo
    commands = [line[2:] for line in out.splitlines() if line.startswith("$ ")]
    assert commands[0].startswith("cd ") and any(c.endswith("&") for c in commands)
    script = "set -e\n" + "\n".join(commands) + "\n"  # pasted in order into a fresh shell elsewhere
    shell = subprocess.Popen(
        ["bash", "-c", script],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        encoding="utf-8",
        start_new_session=True,
    )
    try:
        output, _ = shell.communicate(timeout=900)
    finally:
        if shell.poll() is None:
            os.killpg(shell.pid, signal.SIGKILL)
    assert shell.returncode == 0, output[-4000:]
    assert "data OK" in output and "Usage:" in output


def test_the_demo_never_overwrites_a_project_someone_edited(demo):
    into, _ = demo
    project = next(p for p in into.iterdir() if p.is_dir())
    readme = project / "README.md"
    readme.write_text(readme.read_text(encoding="utf-8") + "\nmy notes\n", encoding="utf-8")
    again = run_demo(into)
    assert again.returncode == 1
    assert "has edits the demo did not make (README.md)" in again.stdout and "will not overwrite it" in again.stdout
    assert readme.read_text(encoding="utf-8").endswith("my notes\n")
