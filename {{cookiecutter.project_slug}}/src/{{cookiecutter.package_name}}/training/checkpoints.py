"""Checkpoints a restarted run resumes from: only complete, readable ones, and only with the same tokenizer.

A spot interruption, a kill or a partial S3 sync can leave a newest checkpoint that is incomplete or
corrupted. It is set aside with one warning line and the previous complete one is used; when every one is
broken the run says "no usable checkpoint; starting from step 0". A run that finishes removes what it set aside
(clear_checkpoints). Torch-loop checkpoints hold tensors and plain data only and are read with ``weights_only=True``:
a checkpoint folder synced from S3 must never be able to run code.
"""

from __future__ import annotations

import json
import os
import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path

import torch

from ..config import locate
from ..errors import CheckpointError
from ..model.artifact import (
    CHECKPOINT_SETTINGS_FILE,
    CHECKPOINT_TOKENIZER_FILE,
    SCRATCH_TOKENIZER_DIR,
    TORCH_LOOP_CHECKPOINT,
    TRAINER_CHECKPOINT_PREFIX,
    TRAINER_STATE_FILE,
)
from .runtime import barrier

SET_ASIDE_PREFIX = "unusable-"
PREVIOUS_SUFFIX = ".previous"
NO_USABLE_CHECKPOINT = "no usable checkpoint; starting from step 0"


def _step(path: Path) -> int:
    return int(path.name.removeprefix(TRAINER_CHECKPOINT_PREFIX))


def trainer_checkpoints(folder: Path) -> list[Path]:
    """checkpoint-N folders, newest first."""
    if not folder.is_dir():
        return []
    found = [
        p
        for p in folder.glob(f"{TRAINER_CHECKPOINT_PREFIX}*")
        if p.is_dir() and p.name.removeprefix(TRAINER_CHECKPOINT_PREFIX).isdigit()
    ]
    return sorted(found, key=_step, reverse=True)


def trainer_checkpoint_problem(path: Path) -> str | None:
    """Why the Trainer could not resume from ``path``, or None. Reads files without unpickling anything."""
    state = path / TRAINER_STATE_FILE
    if not state.is_file():
        return f"no {TRAINER_STATE_FILE} (the save did not finish)"
    try:
        json.loads(state.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as error:
        return f"{TRAINER_STATE_FILE} is not valid JSON ({error.__class__.__name__})"
    weights = sorted(path.glob("model*.safetensors"))
    if not weights:
        return "no model weights"
    for file in weights:
        problem = safetensors_problem(file)
        if problem:
            return f"{file.name}: {problem}"
    for file in sorted(path.glob("*.pt")) + sorted(path.glob("*.pth")):
        problem = torch_file_problem(file)
        if problem:
            return f"{file.name}: {problem}"
    return None


def safetensors_problem(path: Path) -> str | None:
    """None when every tensor in the safetensors file reads back, else why not (a truncated upload from S3, a damaged
    disk)."""
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as handle:
            for key in handle.keys():  # noqa: SIM118 - safe_open is not a mapping
                handle.get_tensor(key)
    except Exception as error:  # any failure to read means the file cannot be resumed from
        return f"unreadable ({error.__class__.__name__})"
    return None


def torch_file_problem(path: Path) -> str | None:
    """torch.save writes a zip archive: a truncated or damaged one fails its checksums."""
    try:
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
    except (zipfile.BadZipFile, OSError, EOFError) as error:
        return f"truncated or damaged ({error.__class__.__name__})"
    return f"damaged member {bad}" if bad else None


def set_aside(path: Path, reason: str, warn: Callable[[str], None]) -> None:
    """Rename an unusable checkpoint ``path`` with SET_ASIDE_PREFIX (replacing an older one so named) and ``warn`` with
    the reason, so resuming tries the one before it."""
    target = path.with_name(SET_ASIDE_PREFIX + path.name)
    if target.exists():
        shutil.rmtree(target) if target.is_dir() else target.unlink()
    path.rename(target)
    warn(
        f"warning: checkpoint {path} cannot be resumed from ({reason}); set aside as {target.name}, "
        "trying the one before it"
    )


def resumable_trainer_checkpoint(folder: Path, warn: Callable[[str], None]) -> str | None:
    """The newest checkpoint the Trainer can resume from; broken newer ones are set aside (and when all were
    broken, ``warn`` says the run starts from step 0)."""
    candidates = trainer_checkpoints(folder)
    for candidate in candidates:
        problem = trainer_checkpoint_problem(candidate)
        if problem is None:
            return str(candidate)
        set_aside(candidate, problem, warn)
    if candidates:
        warn(f"warning: {NO_USABLE_CHECKPOINT}")
    return None


def save_torch_checkpoint(folder: Path, state: dict) -> Path:
    """Write atomically and keep the one before it, so a damaged newest file still leaves a way back."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / TORCH_LOOP_CHECKPOINT
    partial = path.with_name(path.name + ".partial")
    torch.save(state, partial)
    if path.exists():
        os.replace(path, path.with_name(path.name + PREVIOUS_SUFFIX))
    os.replace(partial, path)
    return path


def load_on_every_process(folder: Path, first: bool, warn: Callable[[str], None]) -> tuple[dict, Path] | None:
    """load_torch_checkpoint on every process of a run: the ``first`` of a machine's processes loads first (it sets
    broken files aside), the others once it is done, so all load the same state."""
    found = load_torch_checkpoint(folder, warn) if first else None
    barrier()
    return found if first else load_torch_checkpoint(folder, warn)


def restore_training_state(saved: dict, parts: dict) -> dict:
    """Load each of ``parts`` (its name in the checkpoint -> the model, optimizer, scheduler or gradient scaler) from
    a loaded checkpoint ``saved`` (load_torch_checkpoint's); returns the loop's own state (``saved["state"]``)."""
    for name, part in parts.items():
        part.load_state_dict(saved[name])
    return saved["state"]


def load_torch_checkpoint(folder: Path, warn: Callable[[str], None]) -> tuple[dict, Path] | None:
    """The newest torch-loop checkpoint that loads as plain tensors and data, or None (when every file there was
    broken, ``warn`` says the run starts from step 0)."""
    path = folder / TORCH_LOOP_CHECKPOINT
    broken = 0
    for candidate in (path, path.with_name(path.name + PREVIOUS_SUFFIX)):
        if not candidate.is_file():
            continue
        try:
            return torch.load(candidate, map_location="cpu", weights_only=True), candidate
        except Exception as error:  # truncated, damaged, or holding objects other than tensors and plain data
            set_aside(candidate, f"{error.__class__.__name__}: {str(error).splitlines()[0][:120]}", warn)
            broken += 1
    if broken:
        warn(f"warning: {NO_USABLE_CHECKPOINT}")
    return None


def check_tokenizer(folder: Path, fingerprint: str, resuming: bool) -> None:
    """Refuse to resume weights trained with other token ids (the folder's recorded tokenizer fingerprint)."""
    record = folder / CHECKPOINT_TOKENIZER_FILE
    if resuming and record.is_file():
        recorded = record.read_text(encoding="utf-8").strip()
        if recorded != fingerprint:
            raise CheckpointError(
                f"the checkpoints in {folder} were trained with another tokenizer ({recorded}, now {fingerprint}): "
                "the training data or the base model changed since. Delete that folder to start fresh, or "
                "train with the data and model they were made with"
            )


# What a checkpoint's optimizer, scheduler and batch order were made with, and the rows it learned from: resuming
# under other values would mix two runs. max_steps, epochs and output_dir may change (training a run further is a
# resume); so may data_dir (a SageMaker job reads the same files from its channel).
OPTIMIZER_SETTINGS = (
    "loop",
    "batch_size",
    "learning_rate",
    "weight_decay",
    "warmup_ratio",
    "gradient_accumulation_steps",
    "max_grad_norm",
    "seed",
    "group_by_length",
)
MODEL_SETTINGS = ("base_model", "max_length")  # the weights a run started from and the token ids it saw
TEXT_SETTINGS = (
    "train_file",
    "text_column",
    "text_pair_column",
    "normalize",
    "collapse_whitespace",
    "remove_pattern",
    "empty_text",
    "split_seed",
    "max_rows",
    "fraction",
)
LOSS_SETTINGS = ("class_weights", "distillation_alpha")  # what the training loss is made of
RESUME_SETTINGS = (
    *OPTIMIZER_SETTINGS,
    *LOSS_SETTINGS,
    *MODEL_SETTINGS,
    *TEXT_SETTINGS,
    "label_column",
    "unknown_label",
    "duplicate_ids",
    "validation_ratio",
    "test_fraction",
)
PRETRAIN_RESUME_SETTINGS = (
    *(name for name in OPTIMIZER_SETTINGS if name != "learning_rate"),
    "pretrain_learning_rate",
    *MODEL_SETTINGS,
    *TEXT_SETTINGS,
    "unlabeled_files",
    "mlm_probability",
    "pretrain_held_out",
)


def check_run_settings(folder: Path, settings: dict, resuming: bool, names: tuple[str, ...] = RESUME_SETTINGS) -> dict:
    """Refuse to resume checkpoints made by a run with other settings of ``names`` (train's RESUME_SETTINGS,
    pretrain's PRETRAIN_RESUME_SETTINGS; ``settings``: Config.flat()'s names and values). A record from before a
    setting was checked does not hold it: that setting is not compared. Returns the settings to record.

    Raises:
        CheckpointError: naming each setting that differs (section.key), its recorded and its new value.
    """
    record = folder / CHECKPOINT_SETTINGS_FILE
    chosen = {key: settings[key] for key in names if key in settings}
    if resuming and record.is_file():
        recorded = json.loads(record.read_text(encoding="utf-8"))
        changed = [
            f"{locate(key).section}.{key} {recorded[key]!r} -> {value!r}"
            for key, value in chosen.items()
            if key in recorded and recorded[key] != value
        ]
        if changed:
            raise CheckpointError(
                f"the checkpoints in {folder} belong to a run with other settings ({'; '.join(changed)}): resuming "
                "would mix two runs. Run again with that run's settings to finish it, or delete that folder to "
                "start this run fresh"
            )
    return chosen


def check_resume(folder: Path, fingerprint: str, settings: dict, names: tuple[str, ...] = RESUME_SETTINGS) -> None:
    """Before a run writes checkpoints into ``folder``: when it holds some, refuse to resume them with another
    tokenizer (check_tokenizer) or other settings of ``names`` (check_run_settings); then record this run's
    tokenizer fingerprint and settings for later runs. Both checks come before either record is written, so a
    refused resume leaves the folder as it was and the run it belongs to can still finish.

    Raises:
        CheckpointError: from either check.
    """
    resuming = has_checkpoints(folder)
    check_tokenizer(folder, fingerprint, resuming)
    chosen = check_run_settings(folder, settings, resuming, names)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / CHECKPOINT_TOKENIZER_FILE).write_text(fingerprint + "\n", encoding="utf-8")
    (folder / CHECKPOINT_SETTINGS_FILE).write_text(json.dumps(chosen, sort_keys=True) + "\n", encoding="utf-8")


def has_checkpoints(folder: Path) -> bool:
    """Whether ``folder`` holds a checkpoint either loop can resume from."""
    return bool(trainer_checkpoints(folder)) or (folder / TORCH_LOOP_CHECKPOINT).is_file()


def set_aside_checkpoints(folder: Path) -> list[Path]:
    """What set_aside left in ``folder``: unusable-checkpoint-N folders and unusable torch-loop files."""
    if not folder.is_dir():
        return []
    return sorted(
        [
            *folder.glob(f"{SET_ASIDE_PREFIX}{TRAINER_CHECKPOINT_PREFIX}*"),
            *folder.glob(f"{SET_ASIDE_PREFIX}{TORCH_LOOP_CHECKPOINT}*"),
        ]
    )


def clear_checkpoints(folder: Path) -> list[str]:
    """A finished run's checkpoints go once its artifact is safe, so the next `train` starts fresh instead of
    resuming a run that already ended; so do the broken ones it set aside. Only files this project writes are
    removed. Returns the names of the set-aside ones removed."""
    set_aside_ones = set_aside_checkpoints(folder)
    targets = [
        folder / SCRATCH_TOKENIZER_DIR,
        folder / CHECKPOINT_TOKENIZER_FILE,
        folder / CHECKPOINT_SETTINGS_FILE,
        *folder.glob(f"{TORCH_LOOP_CHECKPOINT}*"),
        *trainer_checkpoints(folder),
        *set_aside_ones,
    ]
    for path in targets:
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        elif path.exists():
            path.unlink()
    return [path.name for path in set_aside_ones]
