"""model.tar.gz for SageMaker hosting: the artifact's files plus code/ (the handler and its requirements)."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

SERVING_DIR = Path(__file__).resolve().parent.parent / "serving"
HANDLER = SERVING_DIR / "handler.py"
REQUIREMENTS = SERVING_DIR / "requirements.txt"
SKIPPED_DIRS = {"evaluation", "checkpoints", "code"}


def artifact_files(model_dir: Path) -> list[Path]:
    return sorted(p for p in model_dir.rglob("*")
                  if p.is_file() and not SKIPPED_DIRS.intersection(p.relative_to(model_dir).parts[:-1]))


def build_model_tar(model_dir: str | Path, destination: str | Path) -> list[str]:
    """Write model.tar.gz; returns the member names. The handler goes in as code/inference.py, byte for byte."""
    model_dir, destination = Path(model_dir), Path(destination)
    names = []
    with tarfile.open(destination, "w:gz") as tar:
        for path in artifact_files(model_dir):
            name = path.relative_to(model_dir).as_posix()
            tar.add(path, arcname=name)
            names.append(name)
        tar.add(HANDLER, arcname="code/inference.py")
        tar.add(REQUIREMENTS, arcname="code/requirements.txt")
        names += ["code/inference.py", "code/requirements.txt"]
    return names


def repack_with_code(original: bytes, destination: str | Path) -> list[str]:
    """A training job's model.tar.gz with code/ replaced by this project's handler."""
    names = []
    with tarfile.open(fileobj=io.BytesIO(original), mode="r:gz") as source, tarfile.open(destination, "w:gz") as tar:
        for member in source.getmembers():
            if member.isfile() and not member.name.lstrip("./").startswith("code/"):
                tar.addfile(member, source.extractfile(member))
                names.append(member.name)
        tar.add(HANDLER, arcname="code/inference.py")
        tar.add(REQUIREMENTS, arcname="code/requirements.txt")
        names += ["code/inference.py", "code/requirements.txt"]
    return names
