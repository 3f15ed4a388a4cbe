"""`make drift`: what the newest releases would change and break, reported while the lock keeps the CI green.

In a scratch venv (build/drift/venv, made anew each run) it installs torch, then requirements-dev.txt without the lock,
so pip takes the newest releases the ranges allow. It prints every package whose version differs from the lock,
imports each changed package on its own (a broken release is named by the import that fails), then bakes the
default project and runs its default tier and `make contract` in that venv, naming the tests that fail.
Exit status 0: the newest releases pass (`make lock` may take them); 1: something changed and broke.

``--quick`` stops after the imports; ``--requirements FILE`` resolves another file; ``--find-links DIR`` adds
wheels to choose from (how the template's test publishes a broken release without an index).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name as canonical

from bakery import BUILD, TEMPLATE, bake, package_of
from lock import LOCK, REQUIREMENTS, TORCH

INFERENCE_TOOLKIT = "sagemaker-huggingface-inference-toolkit==2.6.0"
# installed outside the lock: the venv's own tools, torch (first, pinned) and the toolkit (pinned, --no-deps)
NOT_LOCKED = ("pip", "torch", "setuptools", "wheel", INFERENCE_TOOLKIT.split("==")[0])
FAILED = re.compile(r"^(FAILED|ERROR) (\S+)", re.MULTILINE)


def locked_versions(lock: Path = LOCK) -> dict[str, str]:
    """{canonical name: version} the lock gives this Python (lines whose markers do not match are left out)."""
    versions = {}
    for line in lock.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        try:
            requirement = Requirement(line)
        except InvalidRequirement:
            continue
        if requirement.marker is None or requirement.marker.evaluate():
            versions[canonical(requirement.name)] = next(iter(requirement.specifier)).version
    return versions


def installed_versions(python: Path) -> dict[str, str]:
    """{canonical name: version} installed in the environment of ``python``."""
    listed = subprocess.run(
        [str(python), "-m", "pip", "list", "--format", "json"], capture_output=True, text=True, check=True
    ).stdout
    return {canonical(item["name"]): item["version"] for item in json.loads(listed)}


def differences(locked: dict[str, str], installed: dict[str, str]) -> list[tuple[str, str | None, str]]:
    """(name, locked version or None when the lock has none, installed version) for every package that moved."""
    return sorted(
        (name, locked.get(name), version)
        for name, version in installed.items()
        if locked.get(name) != version and name not in NOT_LOCKED
    )


def import_failures(python: Path, names: list[str]) -> list[str]:
    """``import <module>: <error>`` for each top-level module of the named distributions that fails to import."""
    probe = (
        "import importlib, importlib.metadata as m, sys\n"
        "for name in sys.argv[1:]:\n"
        "    dist = m.distribution(name)\n"
        "    top = (dist.read_text('top_level.txt') or '').split() or [name.replace('-', '_')]\n"
        "    for module in top:\n"
        "        if module.startswith('_'): continue\n"
        "        try: importlib.import_module(module)\n"
        "        except Exception as error:\n"
        "            print(f'{name}: import {module}: {type(error).__name__}: {error}'.splitlines()[0])\n"
    )
    result = subprocess.run([str(python), "-c", probe, *names], capture_output=True, text=True, encoding="utf-8")
    return [line for line in result.stdout.splitlines() if line.strip()]


def install(venv: Path, requirements: Path, find_links: list[str]) -> Path:
    """A new venv with torch and the newest releases ``requirements`` allows; returns its interpreter."""
    shutil.rmtree(venv, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    links = [argument for link in find_links for argument in ("--find-links", link)]
    pip = [str(python), "-m", "pip", "install", "--quiet", *links]
    print(f"installing the newest releases of {requirements.name} in {venv}", flush=True)
    if requirements == REQUIREMENTS:
        subprocess.run([*pip, TORCH], check=True)  # first, as every install route does
    subprocess.run([*pip, "-r", str(requirements)], check=True)
    if requirements == REQUIREMENTS:
        subprocess.run([*pip, "--no-deps", INFERENCE_TOOLKIT], check=True)
    return python


def run_suites(venv: Path) -> list[str]:
    """Bake the default project and run its default tier and `make contract` in ``venv``; the failures, named."""
    project = bake(BUILD / "drift", overwrite=True)
    failures = []
    for target in ("test", "contract"):
        print(f"make {target} in the baked project ({package_of(project)}) with the newest releases", flush=True)
        result = subprocess.run(
            ["make", target, f"VENV={venv}", "LOCK="], cwd=project, capture_output=True, text=True, encoding="utf-8"
        )
        named = [f"make {target}: {kind} {test}" for kind, test in FAILED.findall(result.stdout)]
        if result.returncode and not named:
            named = [f"make {target}: exit {result.returncode}: " + (result.stdout + result.stderr).strip()[-600:]]
        failures += named
    return failures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requirements", type=Path, default=REQUIREMENTS)
    parser.add_argument("--find-links", action="append", default=[])
    parser.add_argument("--venv", type=Path, default=BUILD / "drift" / "venv")
    parser.add_argument("--quick", action="store_true", help="stop after the imports (no bake, no tests)")
    options = parser.parse_args(argv)
    python = install(options.venv.resolve(), options.requirements.resolve(), options.find_links)
    moved = differences(locked_versions(), installed_versions(python))
    print(f"{len(moved)} package(s) differ from {LOCK.relative_to(TEMPLATE)}:")
    for name, locked, version in moved:
        print(f"  {name} {locked or '(not in the lock)'} -> {version}")
    broken = import_failures(python, [name for name, _, _ in moved])
    if not options.quick and not broken:
        broken = run_suites(options.venv.resolve())
    for line in broken:
        print(f"BROKEN {line}")
    if broken:
        print("the newest releases break the project: the lock stays (make test installs from it)")
        return 1
    print("the newest releases pass" + (" the imports" if options.quick else " the default tier and the contract"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
