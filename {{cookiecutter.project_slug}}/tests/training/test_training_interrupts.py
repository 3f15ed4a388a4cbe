"""SIGINT and SIGTERM lose at most one optimizer step: a checkpoint at the next step, the command that resumes, exit
128 + the signal; the resumed run continues from that step in the same batch order (issue 32). Checkpoints also come
every train.checkpoint_every_minutes. Which rows each batch trained on comes from the TRAIN_ROW_LOG debug hook."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from {{ cookiecutter.package_name }}.model.artifact import WEIGHTS_FILE
from {{ cookiecutter.package_name }}.training import interrupts, torch_loop
from {{ cookiecutter.package_name }}.training import run as run_module
from {{ cookiecutter.package_name }}.training.checkpoints import has_checkpoints
from {{ cookiecutter.package_name }}.training.interrupts import (
    StoppedAtOnce,
    StopSignals,
    TrainingInterrupted,
    report_stop,
)
from {{ cookiecutter.package_name }}.training.row_log import ROW_LOG_ENV
from {{ cookiecutter.package_name }}.training.run import train as run_training
from {{ cookiecutter.package_name }}.training.runtime import Ranks

from conftest import entry_arguments, subprocess_env

ROWS, BATCH = 400, 8  # 50 optimizer steps an epoch; no validation split or test file: the run ends with the artifact
ARGS = ("--max_rows", str(ROWS), "--batch_size", str(BATCH), "--validation_ratio", "0", "--test_file=")
STEPS_PER_EPOCH = ROWS // BATCH


def trained_batches(rows_file: Path) -> list[list[int]]:
    """The row indices of each batch trained on so far, in order (the TRAIN_ROW_LOG hook's lines)."""
    if not rows_file.is_file():
        return []
    lines = rows_file.read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["rows"] for line in lines if line.endswith("}")]  # a line being written is not counted


def entry_command(root: Path, *args: str) -> list[str]:
    return [
        sys.executable,
        *entry_arguments(root / "config.yaml"),
        *args,
    ]


def start(command: list[str], root: Path, rows_file: Path) -> subprocess.Popen:
    return subprocess.Popen(
        command,
        cwd=root,
        env={**subprocess_env(), ROW_LOG_ENV: str(rows_file)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        encoding="utf-8",
        start_new_session=True,  # the test's own process group never gets the signal
    )


@pytest.mark.slow
@pytest.mark.parametrize("loop", ["torch", "trainer"])
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_mid_epoch_saves_at_the_next_step_and_the_same_command_resumes_there(project, loop, signum):
    root, rows_file = project.root, project.root / "rows.jsonl"
    command = entry_command(root, "--loop", loop, "--epochs", "2", *ARGS)
    first = start(command, root, rows_file)
    deadline = time.monotonic() + 180
    while len(trained_batches(rows_file)) < STEPS_PER_EPOCH + 5:  # the marker: a few steps into the second epoch
        assert first.poll() is None, first.stdout.read()
        assert time.monotonic() < deadline, "the second epoch did not start within 180 s"
        time.sleep(0.02)
    sent = time.monotonic()
    first.send_signal(signum)
    output, _ = first.communicate(timeout=60)
    stopped_in = time.monotonic() - sent
    assert first.returncode == 128 + signum, output  # 130 for SIGINT, 143 for SIGTERM
    assert stopped_in < 30, f"{stopped_in:.1f} s from the signal to the exit"
    assert "Traceback" not in output
    assert f"{signal.Signals(signum).name}: saving a checkpoint at the next optimizer step" in output
    stopped = re.search(r"stopped at step (\d+): checkpoint saved in (\S+)", output)
    assert stopped, output
    step = int(stopped.group(1))
    assert STEPS_PER_EPOCH < step < 2 * STEPS_PER_EPOCH  # mid-epoch: the second epoch's step, not its end
    assert len(trained_batches(rows_file)) == step  # nothing trained after the checkpoint (one batch a step)
    assert Path(stopped.group(2)).exists()
    assert not (root / "artifacts" / "model" / "model.safetensors").exists()
    printed = shlex.split(re.search(r"resume with: (.+)", output).group(1))
    assert printed == ["python", *command[1:]]  # the command that started it
    second = start([sys.executable, *printed[1:]], root, rows_file)
    resumed, _ = second.communicate(timeout=300)
    assert second.returncode == 0, resumed
    assert re.search(rf"resuming from checkpoint \S+?(-{step}| at step {step} )", resumed), resumed
    batches = trained_batches(rows_file)
    assert len(batches) == 2 * STEPS_PER_EPOCH
    second_epoch = sorted(row for batch in batches[STEPS_PER_EPOCH:] for row in batch)
    assert second_epoch == list(range(ROWS))  # across both runs, each row of that epoch exactly once
    assert (root / "artifacts" / "model" / "model.safetensors").is_file()


@pytest.mark.slow
@pytest.mark.parametrize("loop", ["torch", "trainer"])
def test_torchrun_forwards_sigterm_and_every_process_stops_at_the_same_step(project, loop):
    """SIGTERM to torchrun (as a spot interruption or `kill` sends it): torchrun passes it to each process, they
    agree on one step, rank 0 says so once, and the same torchrun command resumes there, each row once."""
    root, rows_file = project.root, project.root / "rows.jsonl"
    torchrun = shutil.which("torchrun") or str(Path(sys.executable).parent / "torchrun")
    entry = entry_command(root, "--loop", loop, "--epochs", "2", *ARGS)
    command = [torchrun, "--standalone", "--nproc_per_node", "2", *entry[1:]]
    per_epoch = STEPS_PER_EPOCH // 2  # two processes: each step trains two batches
    first = start(command, root, rows_file)
    deadline = time.monotonic() + 180
    while len(trained_batches(rows_file)) < 2 * (per_epoch + 3):
        assert first.poll() is None, first.stdout.read()
        assert time.monotonic() < deadline, "the second epoch did not start within 180 s"
        time.sleep(0.02)
    first.send_signal(signal.SIGTERM)
    output, _ = first.communicate(timeout=60)
    assert first.returncode != 0, output
    stopped = re.findall(r"stopped at step (\d+): checkpoint saved in", output)
    assert len(stopped) == 1, output  # rank 0 speaks for both
    step = int(stopped[0])
    assert per_epoch < step < 2 * per_epoch
    assert len(trained_batches(rows_file)) == 2 * step  # both processes stopped at that step
    printed = shlex.split(re.search(r"resume with: (.+)", output).group(1))
    assert printed == ["torchrun", *command[1:]]  # the launcher's command, not a worker's
    second = start([torchrun, *printed[1:]], root, rows_file)
    resumed, _ = second.communicate(timeout=300)
    assert second.returncode == 0, resumed
    batches = trained_batches(rows_file)
    assert len(batches) == 2 * 2 * per_epoch
    second_epoch = sorted(row for batch in batches[2 * per_epoch :] for row in batch)
    assert second_epoch == list(range(ROWS))


class LostMachine(Exception):
    """The machine went away right after a checkpoint (no signal: nothing else is saved)."""


def test_a_checkpoint_every_n_minutes_is_resumed_like_any_other(project, monkeypatch, capsys):
    """A time-based checkpoint lands mid-epoch; a run lost right after it resumes there, each row once. The clock is
    the test's: 20 s a reading, so with checkpoint_every_minutes 1 one is due every few steps."""
    readings = iter(range(0, 10**6, 20))
    monkeypatch.setattr(StopSignals, "clock", staticmethod(lambda: next(readings)))
    rows_file = project.root / "rows.jsonl"
    monkeypatch.setenv(ROW_LOG_ENV, str(rows_file))
    saved_at: list[tuple[int, int]] = []
    real_save = torch_loop.save_torch_checkpoint

    def save_then_vanish(folder, state):
        path = real_save(folder, state)
        saved_at.append((state["state"]["global_step"], state["state"]["batches_done"]))
        if len(saved_at) == 2:
            raise LostMachine
        return path

    monkeypatch.setattr(torch_loop, "save_torch_checkpoint", save_then_vanish)
    settings = {"loop": "torch", "epochs": 1, "max_rows": 200, "batch_size": BATCH, "validation_ratio": 0.0}
    config = project.override({**settings, "test_file": "", "checkpoint_every_minutes": 1.0})
    with pytest.raises(LostMachine):
        run_training(config)
    step, batches_done = saved_at[-1]
    assert 0 < step == batches_done < 200 // BATCH  # mid-epoch, by the clock (save_steps is 0: once an epoch)
    monkeypatch.setattr(torch_loop, "save_torch_checkpoint", real_save)
    trained = int(re.search(r"split: train=([\d,]+)", capsys.readouterr().out).group(1).replace(",", ""))
    run_training(config)
    assert f"at step {step} (epoch 0, batch {batches_done})" in capsys.readouterr().out
    rows = sorted(row for batch in trained_batches(rows_file) for row in batch)
    assert rows == list(range(trained)) and trained > 150  # every training row once (the held-out test rows aside)


def test_the_first_signal_asks_for_a_checkpoint_and_a_second_stops_at_once(capfd):
    before = signal.getsignal(signal.SIGINT)
    with StopSignals(0, Ranks()) as stops:
        assert stops.poll(device=None) == (False, None)
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.01)  # Python runs the handler between bytecodes
        assert stops.poll(device=None) == (True, signal.SIGINT)
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.01)
    assert signal.getsignal(signal.SIGINT) is before  # put back on the way out
    err = capfd.readouterr().err
    assert "SIGINT: saving a checkpoint at the next optimizer step, then stopping (press Ctrl-C again" in err
    assert "SIGINT again: stopping at once, without a checkpoint" in err


def test_a_signal_after_the_loop_stops_at_once_and_the_rerun_finishes_from_the_last_checkpoint(
    project, monkeypatch, capfd
):
    """The n-gram fit, calibration and int8 export come after the loop: a signal there (SIGTERM: a spot stop)
    stops at once, keeps the checkpoints, and the next run resumes from the last one and writes the artifact."""

    def not_ours(signum, frame):
        raise AssertionError("the run's own handler was not installed after the loop")

    def signalled(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.05)  # Python runs the handler between bytecodes
        raise AssertionError("the signal after the loop did not stop the run")

    settings = {"loop": "torch", "max_steps": 4, "save_steps": 2, "max_rows": 200, "batch_size": 8}
    config = project.override({**settings, "output_dir": str(project.path("artifacts/after-the-loop"))})
    finish = run_module.finish
    monkeypatch.setattr(run_module, "finish", signalled)
    before = signal.signal(signal.SIGTERM, not_ours)  # what a wrong handler would run, instead of killing pytest
    try:
        with pytest.raises(StoppedAtOnce) as stopped:
            run_training(config)
    finally:
        signal.signal(signal.SIGTERM, before)
    assert report_stop(stopped.value) == 143
    assert "SIGTERM after the training loop: stopping at once" in capfd.readouterr().err
    assert has_checkpoints(config.path(config.train.checkpoint_dir))
    assert not (config.path(config.train.output_dir) / WEIGHTS_FILE).exists()
    monkeypatch.setattr(run_module, "finish", finish)
    run_training(config)
    assert "resuming from checkpoint" in capfd.readouterr().out
    assert (config.path(config.train.output_dir) / WEIGHTS_FILE).is_file()


def test_the_clock_asks_for_a_checkpoint_every_n_minutes(monkeypatch):
    now = [0.0]
    monkeypatch.setattr(StopSignals, "clock", staticmethod(lambda: now[0]))
    with StopSignals(2, Ranks()) as stops:
        now[0] = 119.0
        assert stops.poll(device=None) == (False, None)
        now[0] = 120.0
        assert stops.poll(device=None) == (True, None)
        stops.saved()
        now[0] = 200.0
        assert stops.poll(device=None) == (False, None)
    with StopSignals(0, Ranks()) as never:
        now[0] = 10**9
        assert never.poll(device=None) == (False, None)


def test_an_interrupted_run_says_where_it_stopped_and_the_command_that_resumes(monkeypatch, capsys, tmp_path):
    monkeypatch.delenv("SM_MODEL_DIR", raising=False)
    monkeypatch.delenv("TORCHELASTIC_RUN_ID", raising=False)
    monkeypatch.setattr(sys, "argv", ["/venv/bin/project-cli", "train", "--loop", "torch", "--set", "x=a b"])
    monkeypatch.setattr(sys.modules["__main__"], "__spec__", None)
    checkpoint = tmp_path / "checkpoint-7"
    assert report_stop(TrainingInterrupted(signal.SIGTERM, 7, checkpoint)) == 143
    assert capsys.readouterr().err.splitlines() == [
        f"stopped at step 7: checkpoint saved in {checkpoint}",
        "resume with: project-cli train --loop torch --set 'x=a b'",
    ]
    assert report_stop(KeyboardInterrupt()) == 130  # Ctrl-C before the loop: Python's own
    assert "stopped at once" in capsys.readouterr().err
    assert report_stop(StoppedAtOnce(signal.SIGTERM)) == 143  # a second signal, or one after the loop
    assert "stopped at once" in capsys.readouterr().err
    monkeypatch.setenv("SM_MODEL_DIR", str(tmp_path))  # a SageMaker job: SageMaker restarts it after a spot stop
    assert interrupts.resume_line().startswith("SageMaker resumes from these checkpoints")
