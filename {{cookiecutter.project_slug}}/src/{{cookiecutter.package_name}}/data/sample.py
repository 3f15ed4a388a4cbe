"""The sample shipped with the project (data/sample/, copied to data/raw/ at bake): recognised by its content wherever
it could be taken for the user's data, so every command that reads it says so in one line.

Its texts are real NSMC reviews, but for any schema other than NSMC's binary sentiment its labels are synthetic:
scores on it say nothing about the user's task.
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

SAMPLE_DIR = "data/sample"  # relative to the project root (the config file's folder)


@cache
def digest(path: Path, size: int, modified: int) -> str:
    """The SHA-256 of the file at ``path`` (``size`` and ``modified`` key the cache: a changed file is read again)."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def file_digest(path: Path) -> str | None:
    """The SHA-256 of a readable file; None when it is not one."""
    try:
        stat = path.stat()
        return digest(path.resolve(), stat.st_size, stat.st_mtime_ns) if path.is_file() else None
    except OSError:
        return None


def shipped_sample(path: str | Path, project_root: Path) -> bool:
    """Whether the file at ``path`` holds exactly one of the shipped sample's files (``project_root``/data/sample/)."""
    path = Path(path)
    sample_dir = project_root / SAMPLE_DIR
    if not sample_dir.is_dir():
        return False
    try:
        size = path.stat().st_size
    except OSError:
        return False
    same_size = [file for file in sample_dir.iterdir() if file.is_file() and file.stat().st_size == size]
    return bool(same_size) and file_digest(path) in {file_digest(file) for file in same_size}


def sample_note(path: str | Path) -> str:
    """The one line a command says about a file that is the shipped sample."""
    return (
        f"{Path(path).name} is the sample shipped with this project ({SAMPLE_DIR}/: NSMC reviews, labels synthetic "
        "unless the schema is NSMC's), not your data: put your file there under this name, or change "
        "data.train_file / data.test_file (an empty test_file holds out part of your training file)"
    )
