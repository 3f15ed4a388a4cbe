"""`make lock`: the versions every install route uses, resolved once for every Python the project claims.

One constraints file (pip's ``-c``; uv reads it too) serves the template's dev environment and each baked project:
it lies in the project template, so each bake carries the lock it was tested with. uv resolves it universally
(``uv pip compile --universal``): one line per package, or one per Python range where the newest release of a
package needs a newer Python than the oldest one claimed (transformers 5.25 needs 3.11; 3.10 gets 5.20.2).
torch stays out of it: it is installed first, as the README says, from a local CPU build that exists for one Python
only. The header records a digest of what was resolved, so a test notices a requirement changed without a new lock.

Run it when a requirement changes, and whenever the dependencies should move on: then `make drift` first shows
what the newest releases would change and break, `make lock` takes them, and `make test` (the CI) proves them.
"""

from __future__ import annotations

import datetime
import hashlib
import subprocess
import sys
import tempfile
from pathlib import Path

from bakery import TEMPLATE

REQUIREMENTS = TEMPLATE / "requirements-dev.txt"
LOCK = TEMPLATE / "{{cookiecutter.project_slug}}" / "constraints.txt"
OLDEST_PYTHON = "3.10"  # the baked pyproject.toml's requires-python
TORCH = "torch==2.13.0"  # resolved beside, so that its own requirements agree; not written
DIGEST_PREFIX = "# requirements digest: "


def requirements_digest() -> str:
    """sha256 of what the lock is resolved from (requirements-dev.txt and the torch pin), hex."""
    return hashlib.sha256((REQUIREMENTS.read_text(encoding="utf-8") + TORCH).encode("utf-8")).hexdigest()


def recorded_digest(lock: Path = LOCK) -> str | None:
    """The digest in the lock's header; None when it has none."""
    for line in lock.read_text(encoding="utf-8").splitlines():
        if line.startswith(DIGEST_PREFIX):
            return line.removeprefix(DIGEST_PREFIX).strip()
    return None


def compile_lock(extra_arguments: list[str] | None = None) -> str:
    """Resolve the requirements with uv; returns the constraints text (header included).

    Raises:
        subprocess.CalledProcessError: uv could not resolve them (its message is on stderr).
    """
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "lock.in"
        source.write_text(f"-r {REQUIREMENTS}\n{TORCH}\n", encoding="utf-8")
        resolved = subprocess.run(
            [sys.executable, "-m", "uv", "pip", "compile", str(source), "--universal",
             "--python-version", OLDEST_PYTHON, "--no-emit-package", "torch", "--no-header", "--no-annotate",
             "--quiet", *(extra_arguments or [])],
            check=True, capture_output=True, text=True, encoding="utf-8",
        ).stdout  # fmt: skip
    header = (
        f"# The versions every install route uses (pip install ... -c constraints.txt), Python {OLDEST_PYTHON}+.\n"
        f"# Written by the template's `make lock` on {datetime.date.today().isoformat()} (uv pip compile);\n"
        "# torch is installed first and is not in here. Do not edit: change requirements-dev.txt and run make lock.\n"
        f"{DIGEST_PREFIX}{requirements_digest()}\n"
    )
    return header + resolved


def main() -> int:
    LOCK.write_text(compile_lock(sys.argv[1:]), encoding="utf-8")
    pinned = sum(1 for line in LOCK.read_text(encoding="utf-8").splitlines() if "==" in line)
    print(f"wrote {LOCK.relative_to(TEMPLATE)}: {pinned} pins")
    return 0


if __name__ == "__main__":
    sys.exit(main())
