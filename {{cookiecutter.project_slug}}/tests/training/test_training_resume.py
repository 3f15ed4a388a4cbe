"""A killed run resumes from its checkpoint: both loops, and every way a checkpoint can be damaged."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import PACKAGE, subprocess_env


def launch_training(project_root: Path, *args: str) -> subprocess.Popen:
    command = [
        sys.executable,
        "-m",
        f"{PACKAGE}.training.entry",
        "--config",
        str(project_root / "config.yaml"),
        "--model",
        "scratch:tiny",
        "--mlflow",
        "false",
        "--use_cpu",
        "true",
        *args,
    ]
    return subprocess.Popen(
        command,
        cwd=project_root,
        env=subprocess_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        encoding="utf-8",
        start_new_session=True,
    )


@pytest.mark.parametrize(
    ("loop", "checkpoint_glob"), [("torch", "torch-loop-last.pt"), ("trainer", "checkpoint-*/trainer_state.json")]
)
def test_a_killed_run_resumes_from_its_checkpoint(project, loop, checkpoint_glob):
    root = project.root
    args = ("--loop", loop, "--max_steps", "120", "--save_steps", "5", "--max_rows", "400", "--batch_size", "8")
    first = launch_training(root, *args)
    checkpoints = root / "artifacts" / "checkpoints"
    deadline = time.monotonic() + 120
    while not list(checkpoints.glob(checkpoint_glob)):
        assert first.poll() is None, first.stdout.read()
        assert time.monotonic() < deadline, "no checkpoint appeared within 120 s"
        time.sleep(0.1)
    os.killpg(first.pid, signal.SIGKILL)  # a hard stop, as a spot interruption is
    first.wait(timeout=30)
    assert not (root / "artifacts" / "model" / "model.safetensors").exists()
    second = launch_training(root, *args)
    output, _ = second.communicate(timeout=300)
    assert second.returncode == 0, output
    resumed = re.search(r"resuming from checkpoint (\S+)(?: at step (\d+))?", output)
    assert resumed, output
    step = resumed.group(2) or re.search(r"checkpoint-(\d+)$", resumed.group(1)).group(1)
    assert 0 < int(step) < 120
    assert (root / "artifacts" / "model" / "model.safetensors").is_file()
