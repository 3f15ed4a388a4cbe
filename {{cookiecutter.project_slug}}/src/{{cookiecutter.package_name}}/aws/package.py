"""model.tar.gz for SageMaker hosting: the artifact's files plus code/ (the handler and its requirements).

SageMaker extracts model.tar.gz into /opt/ml/model and the inference container loads the model from there: the
model's files must sit at the archive's root (container_layout checks every archive before it goes to S3). An
archive whose files all sit under one top-level folder (``tar czf model.tar.gz model/``, the usual mistake) is
repacked without that folder; anything less clear is refused with the fix.
"""

from __future__ import annotations

import importlib.util
import io
import tarfile
from pathlib import Path

from ..errors import ArtifactError
from ..model.artifact import NGRAM_REQUIRED_FILES, REQUIRED_FILES, RESULTS_DIR, TOKENIZER_FILE

# found without importing it: the handler pulls in torch and transformers
HANDLER = Path(importlib.util.find_spec(f"{__package__.rpartition('.')[0]}.serving.handler").origin)
REQUIREMENTS = HANDLER.with_name("requirements.txt")
# the handler's siblings (micro-batches and int8's packed rows; the artifact's file names; the request limits and
# text rules): code/ is on sys.path
BATCHING = Path(importlib.util.find_spec(f"{__package__.rpartition('.')[0]}.model.batching").origin)
NGRAM_SCORER = Path(importlib.util.find_spec(f"{__package__.rpartition('.')[0]}.model.ngram_scorer").origin)
NAMES_MODULE = Path(importlib.util.find_spec(f"{__package__.rpartition('.')[0]}.artifact_files").origin)
ANSWERS = Path(importlib.util.find_spec(f"{__package__.rpartition('.')[0]}.answers").origin)  # tasks' answers
RULES_MODULE = Path(importlib.util.find_spec(f"{__package__.rpartition('.')[0]}.serving.request_rules").origin)
CODE_DIR = "code"  # SageMaker's inference toolkit imports code/inference.py
PACKED_HANDLER = f"{CODE_DIR}/inference.py"
PACKED_BATCHING = f"{CODE_DIR}/{BATCHING.name}"
PACKED_NGRAM = f"{CODE_DIR}/{NGRAM_SCORER.name}"
PACKED_NAMES = f"{CODE_DIR}/{NAMES_MODULE.name}"
PACKED_ANSWERS = f"{CODE_DIR}/{ANSWERS.name}"
PACKED_RULES = f"{CODE_DIR}/{RULES_MODULE.name}"
PACKED_REQUIREMENTS = f"{CODE_DIR}/requirements.txt"
CODE_FILES = {
    PACKED_HANDLER: HANDLER,
    PACKED_BATCHING: BATCHING,
    PACKED_NGRAM: NGRAM_SCORER,
    PACKED_NAMES: NAMES_MODULE,
    PACKED_ANSWERS: ANSWERS,
    PACKED_RULES: RULES_MODULE,
    PACKED_REQUIREMENTS: REQUIREMENTS,
}
SKIPPED_DIRS = {RESULTS_DIR, CODE_DIR}
CONTAINER_FILES = (*REQUIRED_FILES, TOKENIZER_FILE)  # what the handler loads: config, weights, tokenizer, labels
PACK_FIX = "pack the model's files at the root: tar -C <model folder> -czf model.tar.gz ."


def member_name(name: str) -> str:
    """A tar member's path without a leading "./" or "/"."""
    while name.startswith("./"):
        name = name[2:]
    return name.lstrip("/")


def container_layout(names: list[str], source: str) -> str:
    """The folder inside an archive that holds the model ("" for its root, where the container needs it: a
    transformer's files, or an n-gram model's), from the archive's file names; raises ArtifactError naming what is
    wrong and how to fix it."""
    files = [member_name(name) for name in names]
    files = [name for name in files if name and not name.startswith(f"{CODE_DIR}/")]
    missing = [name for name in CONTAINER_FILES if name not in files]
    if not missing or all(name in files for name in NGRAM_REQUIRED_FILES):  # a transformer, or an n-gram model
        return ""
    tops = {name.split("/", 1)[0] for name in files if "/" in name}
    at_root = [name for name in files if "/" not in name]
    if len(tops) == 1 and not at_root:
        (top,) = tops
        if all(f"{top}/{name}" in files for name in CONTAINER_FILES):
            return f"{top}/"
    holders = sorted({name.rsplit("/", 1)[0] + "/" for name in files if name.endswith(f"/{REQUIRED_FILES[0]}")})
    where = f"; the model's files are under {', '.join(holders)}" if holders else ""
    raise ArtifactError(
        f"{source} is not laid out for the inference container: {', '.join(missing)} missing at the archive's "
        f"root{where} (SageMaker extracts it into the container's model folder and loads them from there): "
        f"{PACK_FIX}"
    )


def artifact_files(model_dir: Path) -> list[Path]:
    """The artifact's files that go into model.tar.gz (results and code/ folders left out), sorted."""
    return sorted(
        p
        for p in model_dir.rglob("*")
        if p.is_file() and not SKIPPED_DIRS.intersection(p.relative_to(model_dir).parts[:-1])
    )


def model_tar_members(model_dir: str | Path) -> list[str]:
    """The member names model.tar.gz gets from ``model_dir`` (the artifact's files, then code/), without writing
    it. Raises ArtifactError (container_layout) when the folder lacks a file the container loads."""
    model_dir = Path(model_dir)
    names = [path.relative_to(model_dir).as_posix() for path in artifact_files(model_dir)]
    container_layout(names, f"model folder {model_dir}")
    return names + list(CODE_FILES)


def build_model_tar(model_dir: str | Path, destination: str | Path) -> list[str]:
    """Write model.tar.gz; returns the member names. The handler goes in as code/inference.py, byte for byte.
    Raises ArtifactError (container_layout) when the folder lacks a file the container loads."""
    model_dir, destination = Path(model_dir), Path(destination)
    names = model_tar_members(model_dir)
    sources = {**{name: model_dir / name for name in names if name not in CODE_FILES}, **CODE_FILES}
    with tarfile.open(destination, "w:gz") as tar:
        for name in names:
            tar.add(sources[name], arcname=name)
    return names


def repack_with_code(original: bytes, destination: str | Path, source_name: str = "model.tar.gz") -> list[str]:
    """A model.tar.gz (a training job's, or any) with code/ replaced by this project's handler, its files moved
    to the root when they all sit under one folder. Raises ArtifactError (container_layout) when the layout is
    wrong in a way a repack cannot settle, or the archive cannot be read."""
    try:
        source = tarfile.open(fileobj=io.BytesIO(original), mode="r:*")
        members = [member for member in source.getmembers() if member.isfile()]
    except (tarfile.TarError, EOFError, OSError) as error:
        raise ArtifactError(f"{source_name} is not a readable tar archive ({error}): {PACK_FIX}") from None
    prefix = container_layout([member.name for member in members], source_name)
    if prefix:
        print(f"{source_name}: the model's files sit under {prefix}; repacked at the archive's root")
    names = []
    with source, tarfile.open(destination, "w:gz") as tar:
        for member in members:
            name = member_name(member.name)
            if not name.startswith(prefix) or name.removeprefix(prefix).startswith(f"{CODE_DIR}/"):
                continue
            data = source.extractfile(member)
            member.name = name.removeprefix(prefix)
            tar.addfile(member, data)
            names.append(member.name)
        for name, path in CODE_FILES.items():
            tar.add(path, arcname=name)
        names += list(CODE_FILES)
    return names
