"""A killed run resumes from its checkpoint: both loops, and every way a checkpoint can be damaged."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from {{ cookiecutter.package_name }}.config import locate
from {{ cookiecutter.package_name }}.errors import CheckpointError
from {{ cookiecutter.package_name }}.model.artifact import (
    CHECKPOINT_SETTINGS_FILE,
    CHECKPOINT_TOKENIZER_FILE,
    REQUIRED_FILES,
    SCRATCH_TOKENIZER_DIR,
    TORCH_LOOP_CHECKPOINT,
)
from {{ cookiecutter.package_name }}.training import run as run_module
from {{ cookiecutter.package_name }}.training.checkpoints import (
    PRETRAIN_RESUME_SETTINGS,
    RESUME_SETTINGS,
)
from {{ cookiecutter.package_name }}.training.run import train as run_training

from conftest import entry_arguments, subprocess_env


def launch_training(project_root: Path, *args: str) -> subprocess.Popen:
    command = [
        sys.executable,
        *entry_arguments(project_root / "config.yaml"),
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
@pytest.mark.slow
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


class Planted:
    """What someone with write access to the checkpoint bucket could plant: a pickle that runs code when loaded."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (exec, (f"open({self.marker!r}, 'w').write('it ran')",))


def artifact_complete(folder) -> bool:
    return all((folder / name).is_file() for name in REQUIRED_FILES)


@pytest.mark.slow
def test_a_planted_pickle_in_a_checkpoint_never_runs(project, capsys):
    checkpoints = project.path(project.train.checkpoint_dir)
    checkpoints.mkdir(parents=True)
    marker = project.root / "it-ran"
    torch.save({"model": Planted(marker)}, checkpoints / TORCH_LOOP_CHECKPOINT)
    run_training(project.override({"loop": "torch", "max_rows": 200, "epochs": 1}))
    out = capsys.readouterr().out
    assert not marker.exists()  # loaded with weights_only=True: refused, never executed
    assert "cannot be resumed from" in out and "set aside" in out
    assert "no usable checkpoint; starting from step 0" in out  # issue 26: said, not silent
    assert list(checkpoints.glob("unusable-*")) == []  # the run finished: what it set aside is gone
    assert f"removed the broken checkpoints set aside: unusable-{TORCH_LOOP_CHECKPOINT}" in out
    assert artifact_complete(project.path(project.train.output_dir))


def test_when_every_trainer_checkpoint_is_broken_the_run_says_it_starts_from_step_0(tmp_path):
    from {{ cookiecutter.package_name }}.training.checkpoints import (
        clear_checkpoints,
        resumable_trainer_checkpoint,
    )

    for step in (2, 4):
        (tmp_path / f"checkpoint-{step}").mkdir()  # no trainer_state.json: the saves never finished
    said: list[str] = []
    assert resumable_trainer_checkpoint(tmp_path, said.append) is None
    assert len(said) == 3 and said[-1] == "warning: no usable checkpoint; starting from step 0"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["unusable-checkpoint-2", "unusable-checkpoint-4"]
    (tmp_path / "notes.txt").write_text("mine", encoding="utf-8")
    assert clear_checkpoints(tmp_path) == ["unusable-checkpoint-2", "unusable-checkpoint-4"]
    assert [path.name for path in tmp_path.iterdir()] == ["notes.txt"]  # only what this project writes goes
    assert resumable_trainer_checkpoint(tmp_path, said.append) is None and len(said) == 3  # nothing to say


@pytest.mark.slow
@pytest.mark.parametrize("damaged", ["model.safetensors", "optimizer.pt", "trainer_state.json"])
def test_a_damaged_newest_trainer_checkpoint_falls_back_to_the_one_before(project, monkeypatch, capsys, damaged):
    monkeypatch.setattr(run_module, "clear_checkpoints", lambda folder: None)  # keep them, as a killed run would
    config = project.override({"loop": "trainer", "max_steps": 4, "save_steps": 2, "max_rows": 200, "batch_size": 8})
    run_training(config)
    folder = config.path(config.train.checkpoint_dir)
    newest = folder / "checkpoint-4" / damaged
    newest.write_bytes(newest.read_bytes()[: newest.stat().st_size // 2])  # cut off, as by a partial sync
    capsys.readouterr()
    second = project.root / "second"
    run_training(config.override({"max_steps": 6, "output_dir": str(second)}))
    out = capsys.readouterr().out
    assert f"checkpoint {folder / 'checkpoint-4'} cannot be resumed from" in out
    assert f"resuming from checkpoint {folder / 'checkpoint-2'}" in out
    assert artifact_complete(second)


@pytest.mark.slow
def test_a_damaged_torch_loop_checkpoint_falls_back_to_the_previous_one(project, monkeypatch, capsys):
    monkeypatch.setattr(run_module, "clear_checkpoints", lambda folder: None)
    config = project.override({"loop": "torch", "max_steps": 6, "save_steps": 2, "max_rows": 200, "batch_size": 8})
    run_training(config)
    newest = config.path(config.train.checkpoint_dir) / TORCH_LOOP_CHECKPOINT
    newest.write_bytes(newest.read_bytes()[:1000])
    capsys.readouterr()
    second = project.root / "second"
    run_training(config.override({"max_steps": 8, "output_dir": str(second)}))
    out = capsys.readouterr().out
    assert f"checkpoint {newest} cannot be resumed from" in out
    assert re.search(rf"resuming from checkpoint {re.escape(str(newest))}\.previous at step \d", out)
    assert artifact_complete(second)


@pytest.mark.slow
def test_resuming_weights_with_another_tokenizer_is_refused(project, monkeypatch, capsys):
    monkeypatch.setattr(run_module, "clear_checkpoints", lambda folder: None)
    config = project.override({"loop": "torch", "max_steps": 4, "save_steps": 2, "max_rows": 200, "batch_size": 8})
    run_training(config)
    tokenizer = config.path(config.train.checkpoint_dir) / SCRATCH_TOKENIZER_DIR
    shutil.rmtree(tokenizer)
    capsys.readouterr()
    run_training(config.override({"max_steps": 6}))  # same data: the same tokenizer is built again, safe to resume
    assert "resuming from checkpoint" in capsys.readouterr().out
    shutil.rmtree(tokenizer)
    with pytest.raises(CheckpointError, match="trained with another tokenizer"):
        run_training(config.override({"max_steps": 8, "max_rows": 120}))  # other texts: another vocabulary


def test_resuming_with_other_optimizer_settings_is_refused_but_training_further_is_not(project, monkeypatch, capsys):
    """Issue 32: a second run with another learning rate silently resumed the first run's checkpoint (and schedule);
    so did one on other rows (data.max_rows) or texts cut at another length (model.max_length)."""
    monkeypatch.setattr(run_module, "clear_checkpoints", lambda folder: None)  # as if the first run had stopped
    first = {"loop": "torch", "max_steps": 4, "save_steps": 2, "max_rows": 200, "batch_size": 8}
    run_training(project.override(first))
    length = project.model.max_length
    folder = project.path(project.train.checkpoint_dir)
    records = {name: (folder / name).read_bytes() for name in (CHECKPOINT_SETTINGS_FILE, CHECKPOINT_TOKENIZER_FILE)}
    with pytest.raises(CheckpointError, match=r"train\.learning_rate .* -> 0\.0001\b.*delete that folder"):
        run_training(project.override({**first, "max_steps": 6, "learning_rate": 1e-4}))
    assert {name: (folder / name).read_bytes() for name in records} == records  # a refusal leaves the folder as it was
    capsys.readouterr()
    further = {**first, "max_steps": 6, "learning_rate": 0, "output_dir": str(project.path("artifacts/further"))}
    run_training(project.override(further))  # override changes project in place: the learning rate back to auto
    assert "resuming from checkpoint" in capsys.readouterr().out
    # other rows with the tokenizer the checkpoints keep: it fits, the rows learned from do not
    with pytest.raises(CheckpointError, match=r"data\.max_rows 200 -> 120\b"):
        run_training(project.override({"max_steps": 8, "max_rows": 120}))
    with pytest.raises(CheckpointError, match=r"model\.max_length \d+ -> 32\b"):  # other token ids a text
        run_training(project.override({"max_steps": 8, "max_rows": 200, "max_length": 32}))
    with pytest.raises(CheckpointError, match=r"train\.distillation_alpha .* -> 0\.5\b"):  # another loss
        run_training(project.override({"max_steps": 8, "max_length": length, "distillation_alpha": 0.5}))


def test_every_setting_a_resume_compares_is_a_config_key():
    for name in RESUME_SETTINGS + PRETRAIN_RESUME_SETTINGS:
        assert locate(name).name == name
