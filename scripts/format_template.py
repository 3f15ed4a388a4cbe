"""`make format`: ruff-fix (imports) and ruff-format the template's own code and the project template.

The project template is not valid Python or TOML until it is baked (pyproject.toml and the tests hold Jinja
placeholders), so it is formatted through a bake of the default answers, with the baked project's own ruff
settings, and copied back: src/ files as they are (they are copied without rendering; the rendered
__init__.py excepted), tests with the package placeholder restored.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from bakery import TEMPLATE, bake, package_of

PROJECT_TEMPLATE = TEMPLATE / "{{cookiecutter.project_slug}}"
PACKAGE_TEMPLATE = "{{cookiecutter.package_name}}"
PLACEHOLDER = "{{ cookiecutter.package_name }}"
RENDERED = {"__init__.py"}


def ruff_format(*paths: Path, cwd: Path) -> None:
    """Sort imports and drop unused ones, then format."""
    subprocess.run([sys.executable, "-m", "ruff", "check", "--fix-only", "--quiet", *map(str, paths)], cwd=cwd)
    subprocess.run([sys.executable, "-m", "ruff", "format", "--quiet", *map(str, paths)], cwd=cwd, check=True)


def copy_back(baked: Path, target: Path, package: str, placeholder: bool) -> None:
    text = baked.read_text(encoding="utf-8")
    if placeholder:
        text = text.replace(package, PLACEHOLDER)
    if target.read_text(encoding="utf-8") != text:
        target.write_text(text, encoding="utf-8")
        print(f"formatted {target.relative_to(TEMPLATE)}")


def main() -> int:
    ruff_format(*(TEMPLATE / name for name in ("hooks", "tests", "scripts", "benchmarks")), cwd=TEMPLATE)
    with tempfile.TemporaryDirectory() as scratch:
        project = bake(Path(scratch))
        package = package_of(project)
        ruff_format(project / "src", project / "tests", cwd=project)
        for baked in sorted((project / "src" / package).rglob("*.py")):
            relative = baked.relative_to(project / "src" / package)
            if relative.as_posix() not in RENDERED:
                copy_back(baked, PROJECT_TEMPLATE / "src" / PACKAGE_TEMPLATE / relative, package, placeholder=False)
        for baked in sorted((project / "tests").rglob("*.py")):
            copy_back(baked, PROJECT_TEMPLATE / "tests" / baked.relative_to(project / "tests"), package, True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
