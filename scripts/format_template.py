"""`make format`: ruff-fix (imports) and ruff-format the template's own code and the project template.

The project template is not valid Python or TOML until it is baked (pyproject.toml and the tests hold Jinja
placeholders), so it is formatted through a bake, with the baked project's own ruff settings, and copied back:
src/ files as they are (they are copied without rendering; the rendered __init__.py excepted), tests with the
package placeholder restored. The bake has the longest package name a project plausibly gets (LONG_NAME_ANSWERS):
a line that would overflow with it is split, with a magic trailing comma that keeps it split for shorter names,
so every bake is formatted as made and no formatting step runs at bake time (ruff need not be installed).
"""

from __future__ import annotations

import difflib
import subprocess
import sys
import tempfile
from pathlib import Path

from bakery import TEMPLATE, bake, package_of

PROJECT_TEMPLATE = TEMPLATE / "{{cookiecutter.project_slug}}"
PACKAGE_TEMPLATE = "{{cookiecutter.package_name}}"
PLACEHOLDER = "{{ cookiecutter.package_name }}"
RENDERED_FILES = {f"src/{PACKAGE_TEMPLATE}/__init__.py"}  # its lines are answers
# the longest name the formatting holds for: package korean_customer_service_inquiry_intent_classification (52)
LONG_NAME_ANSWERS = {"project_name": "Korean Customer Service Inquiry Intent Classification"}


def ruff_format(*paths: Path, cwd: Path) -> None:
    """Sort imports and drop unused ones, then format."""
    subprocess.run([sys.executable, "-m", "ruff", "check", "--fix-only", "--quiet", *map(str, paths)], cwd=cwd)
    subprocess.run([sys.executable, "-m", "ruff", "format", "--quiet", *map(str, paths)], cwd=cwd, check=True)


def copy_back(rendered: str, formatted: str, target: Path, package: str) -> None:
    """Carry ruff's changes (``rendered`` -> ``formatted``, one baked file) into its template file ``target``.

    Rendering keeps lines (no ``{% %}`` blocks in these files), so baked line i is template line i: changed lines
    are written back with the package placeholder restored; a change that touches a line with another placeholder
    is left for a person, with a note (its rendered value cannot be told from code).
    """
    template_lines = target.read_text(encoding="utf-8").splitlines(keepends=True)
    before, after = rendered.splitlines(keepends=True), formatted.splitlines(keepends=True)
    if len(before) != len(template_lines):
        print(f"NOT formatted {target.relative_to(TEMPLATE)}: rendering changed its line count")
        return
    out = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, before, after, autojunk=False).get_opcodes():
        original = template_lines[i1:i2]
        if tag == "equal":
            out += original
        elif any("{{" in line.replace(PLACEHOLDER, "") or "{%" in line for line in original):
            print(f"NOT formatted {target.relative_to(TEMPLATE)}:{i1 + 1}: a placeholder; format it by hand")
            out += original
        else:
            out += [line.replace(package, PLACEHOLDER) for line in after[j1:j2]]
    text = "".join(out)
    if text != "".join(template_lines):
        target.write_text(text, encoding="utf-8")
        print(f"formatted {target.relative_to(TEMPLATE)}")


def main() -> int:
    ruff_format(*(TEMPLATE / name for name in ("hooks", "tests", "scripts", "benchmarks")), cwd=TEMPLATE)
    with tempfile.TemporaryDirectory() as scratch:
        project = bake(Path(scratch), LONG_NAME_ANSWERS)
        package = package_of(project)
        baked = {
            path: path.read_text(encoding="utf-8")
            for path in sorted([*(project / "src" / package).rglob("*.py"), *(project / "tests").rglob("*.py")])
        }
        ruff_format(project / "src", project / "tests", cwd=project)
        for path, rendered in baked.items():
            relative = path.relative_to(project)
            if relative.parts[0] == "src":
                relative = Path("src", PACKAGE_TEMPLATE, *relative.parts[2:])
            if relative.as_posix() not in RENDERED_FILES:
                copy_back(rendered, path.read_text(encoding="utf-8"), PROJECT_TEMPLATE / relative, package)
    return 0


if __name__ == "__main__":
    sys.exit(main())
