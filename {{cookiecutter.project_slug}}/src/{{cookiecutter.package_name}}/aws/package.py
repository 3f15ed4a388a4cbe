"""model.tar.gz for SageMaker hosting: the artifact's files plus code/ (the handler and its requirements)."""

from __future__ import annotations

import importlib.util
import io
import tarfile
from pathlib import Path

from ..model.artifact import RESULTS_DIR

# found without importing it: the handler pulls in torch and transformers
HANDLER = Path(importlib.util.find_spec(f"{__package__.rpartition('.')[0]}.serving.handler").origin)
REQUIREMENTS = HANDLER.with_name("requirements.txt")
CODE_DIR = "code"  # SageMaker's inference toolkit imports code/inference.py
PACKED_HANDLER = f"{CODE_DIR}/inference.py"
PACKED_REQUIREMENTS = f"{CODE_DIR}/requirements.txt"
SKIPPED_DIRS = {RESULTS_DIR, CODE_DIR}


def artifact_files(model_dir: Path) -> list[Path]:
    return sorted(
        p
        for p in model_dir.rglob("*")
        if p.is_file() and not SKIPPED_DIRS.intersection(p.relative_to(model_dir).parts[:-1])
    )


def build_model_tar(model_dir: str | Path, destination: str | Path) -> list[str]:
    """Write model.tar.gz; returns the member names. The handler goes in as code/inference.py, byte for byte."""
    model_dir, destination = Path(model_dir), Path(destination)
    names = []
    with tarfile.open(destination, "w:gz") as tar:
        for path in artifact_files(model_dir):
            name = path.relative_to(model_dir).as_posix()
            tar.add(path, arcname=name)
            names.append(name)
        tar.add(HANDLER, arcname=PACKED_HANDLER)
        tar.add(REQUIREMENTS, arcname=PACKED_REQUIREMENTS)
        names += [PACKED_HANDLER, PACKED_REQUIREMENTS]
    return names


def repack_with_code(original: bytes, destination: str | Path) -> list[str]:
    """A training job's model.tar.gz with code/ replaced by this project's handler."""
    names = []
    with tarfile.open(fileobj=io.BytesIO(original), mode="r:gz") as source, tarfile.open(destination, "w:gz") as tar:
        for member in source.getmembers():
            if member.isfile() and not member.name.lstrip("./").startswith(f"{CODE_DIR}/"):
                tar.addfile(member, source.extractfile(member))
                names.append(member.name)
        tar.add(HANDLER, arcname=PACKED_HANDLER)
        tar.add(REQUIREMENTS, arcname=PACKED_REQUIREMENTS)
        names += [PACKED_HANDLER, PACKED_REQUIREMENTS]
    return names
