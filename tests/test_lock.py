"""The lock: every install route takes the versions the CI tested, and a newer release cannot break them.

`make lock` (scripts/lock.py) writes the constraints file every bake carries; `make drift` (scripts/drift.py) tries
the newest releases in a scratch venv and names what breaks. These tests need the package index (as `make test`'s
install does): a fresh venv installs from it.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement

TEMPLATE = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(TEMPLATE / "scripts"))
from bakery import bake, package_of  # noqa: E402
from drift import canonical, installed_versions, locked_versions  # noqa: E402
from lock import LOCK, REQUIREMENTS, recorded_digest, requirements_digest  # noqa: E402

LOCKED_ROUTE = re.compile(r'`(pip install -e "\.\[dev\]" -c\s+constraints\.txt)`')
NOT_LOCKED = {"pip", "setuptools", "wheel", "torch"}  # torch is installed first; the rest come with the venv


def requirements_dev() -> dict[str, Requirement]:
    lines = (line.split("#", 1)[0].strip() for line in REQUIREMENTS.read_text(encoding="utf-8").splitlines())
    return {canonical(req.name): req for req in map(Requirement, filter(None, lines))}


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    return bake(tmp_path_factory.mktemp("locked"))


def fresh_venv(folder: Path) -> Path:
    subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True)
    return folder / "bin" / "python"


def test_the_lock_is_resolved_from_the_requirements_as_they_are():
    assert recorded_digest() == requirements_digest(), "requirements-dev.txt changed: run `make lock`"


def test_every_requirement_of_the_baked_project_is_locked_with_the_same_range(project):
    pyproject = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    declared = [
        *pyproject["dependencies"],
        *(r for extra in pyproject["optional-dependencies"].values() for r in extra),
    ]
    ours, locked = requirements_dev(), locked_versions()
    for requirement in map(Requirement, declared):
        name = canonical(requirement.name)
        if name == "torch":
            continue
        assert name in ours, f"{name} is not in requirements-dev.txt, so the lock does not pin it"
        assert ours[name].specifier == requirement.specifier, f"{name}: {ours[name]} here, {requirement} baked"
        assert name in locked and locked[name] in requirement.specifier


def test_the_baked_readme_route_installs_the_locked_versions(project, tmp_path):
    """The README's own command, in a fresh venv on this machine's Python, after torch as the README says."""
    readme = (project / "README.md").read_text(encoding="utf-8")
    route = LOCKED_ROUTE.search(readme)
    assert route, "the README names no locked install route"
    korean = LOCKED_ROUTE.search((project / "README.ko.md").read_text(encoding="utf-8"))
    assert korean and korean.group(1) == route.group(1), "README.ko.md names another install route"
    command = shlex.split(route.group(1))
    python = fresh_venv(tmp_path / "venv")
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "torch==2.13.0"], check=True)
    install = subprocess.run(
        [str(python), "-m", *command], cwd=project, capture_output=True, text=True, encoding="utf-8"
    )
    assert install.returncode == 0, install.stderr[-3000:]
    locked, installed = locked_versions(project / "constraints.txt"), installed_versions(python)
    moved = {name: (locked.get(name), version) for name, version in installed.items() if locked.get(name) != version}
    assert set(moved) <= NOT_LOCKED | {canonical(package_of(project))}, moved
    help_text = subprocess.run(
        [str(python), "-m", package_of(project), "--help"], cwd=project, capture_output=True, text=True
    )
    assert help_text.returncode == 0, help_text.stderr[-2000:]


def broken_wheel(folder: Path, name: str, version: str) -> Path:
    """A release of ``name`` whose import fails, as a broken upload would."""
    module = name.replace("-", "_")
    wheel = folder / f"{module}-{version}-py3-none-any.whl"
    dist_info = f"{module}-{version}.dist-info"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr(f"{module}/__init__.py", 'raise ImportError("simulated broken release")\n')
        archive.writestr(f"{dist_info}/METADATA", f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
        archive.writestr(
            f"{dist_info}/WHEEL", "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        )
        archive.writestr(f"{dist_info}/top_level.txt", f"{module}\n")
        archive.writestr(f"{dist_info}/RECORD", "")
    return wheel


def test_a_broken_release_leaves_the_locked_install_alone_and_drift_names_it(tmp_path):
    """safetensors 99.0.0, published beside the index, breaks at import; transformers pulls it in (transitively)."""
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    broken_wheel(wheels, "safetensors", "99.0.0")
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("transformers\n", encoding="utf-8")
    python = fresh_venv(tmp_path / "locked")
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--find-links", str(wheels), "-r", str(requirements),
         "-c", str(LOCK)],
        check=True,
    )  # fmt: skip
    assert installed_versions(python)["safetensors"] == locked_versions()["safetensors"]
    drift = subprocess.run(
        [sys.executable, str(TEMPLATE / "scripts" / "drift.py"), "--quick", "--requirements", str(requirements),
         "--find-links", str(wheels), "--venv", str(tmp_path / "drift")],
        capture_output=True, text=True, encoding="utf-8",
    )  # fmt: skip
    assert drift.returncode == 1, drift.stdout + drift.stderr
    assert f"safetensors {locked_versions()['safetensors']} -> 99.0.0" in drift.stdout
    assert "BROKEN safetensors: import safetensors: ImportError: simulated broken release" in drift.stdout
