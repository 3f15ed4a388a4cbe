"""Bake the template: the one helper the demo, the benchmarks and the template tests use."""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path
from types import ModuleType

TEMPLATE = Path(__file__).resolve().parent.parent
BUILD = TEMPLATE / "build"
CRUFT_RECORD = ".cruft.json"


def bake(output_dir: Path, answers: dict | None = None, overwrite: bool = False, template: Path = TEMPLATE) -> Path:
    """Bake with the given answers (the defaults otherwise) into ``output_dir``; returns the project folder."""
    from cookiecutter.main import cookiecutter

    return Path(
        cookiecutter(
            str(template),
            no_input=True,
            output_dir=str(output_dir),
            extra_context=answers or {},
            overwrite_if_exists=overwrite,
        )
    )


def default_answers(template: Path = TEMPLATE) -> dict:
    """The answers a bake with no input gets (the user's cookiecutter config applied, as bake applies it), the
    derived ones (project_slug, package_name, ...) rendered by cookiecutter itself from cookiecutter.json."""
    from cookiecutter.config import get_user_config
    from cookiecutter.generate import generate_context
    from cookiecutter.prompt import prompt_for_config

    context = generate_context(
        str(template / "cookiecutter.json"), default_context=get_user_config()["default_context"]
    )
    sys.path.insert(0, str(template))  # its local_extensions (cookiecutter.json's _extensions), as cookiecutter does
    try:
        return dict(prompt_for_config(context, no_input=True))
    finally:
        sys.path.remove(str(template))


def answers_of(project: Path) -> dict:
    """The answers a baked project was made with (its cruft record)."""
    return json.loads((project / CRUFT_RECORD).read_text(encoding="utf-8"))["context"]["cookiecutter"]


def package_of(project: Path) -> str:
    return answers_of(project)["package_name"]


def project_module(project: Path, name: str) -> ModuleType:
    """``project_module(project, "data.labels")`` imports that module of the baked package."""
    src = str(project / "src")
    if src not in sys.path:
        sys.path.insert(0, src)
    return importlib.import_module(f"{package_of(project)}.{name}")
