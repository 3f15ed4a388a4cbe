"""A Python environment per SageMaker container pin, for `make contract`: the container's recorded packages
(aws/images.py) over this environment's other packages, and nothing the container lacks.

Installing the pinned transformers over this environment (``pip install --target`` on PYTHONPATH) let whatever the
dev environment resolved that day leak in: kernels 0.19, pulled by a newer transformers, broke transformers 5.3.0 at
import, which the container never holds. Here each pin gets its own venv under ``.cache/container-python/<version>``:
every distribution of this environment is linked in except the pin's recorded packages and its ``absent`` ones, then
the recorded packages are installed (``--no-deps``: the set is complete). Console scripts are copied with their
``#!`` line pointing at the new interpreter, so servers the tests start (multi-model-server) run there too.

Usage: ``python tests/contract/container_python.py VERSION DEST`` (prints DEST/bin/python);
``python tests/contract/container_python.py --check VERSION`` checks the running interpreter (the conftest does).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import sysconfig
from importlib import metadata
from importlib.util import find_spec
from pathlib import Path

STAMP = ".recorded.json"
SOURCE = Path(__file__).resolve().parents[2] / "src"  # the package, installed or not
if str(SOURCE) not in sys.path:
    sys.path.insert(0, str(SOURCE))


def canonical(name: str) -> str:
    """A distribution name as PEP 503 compares them (``HF_Xet`` and ``hf-xet`` are one)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def recorded(version: str) -> tuple[dict[str, str], tuple[str, ...]]:
    """The pin's recorded packages ({canonical name: version}) and its absent ones."""
    from {{ cookiecutter.package_name }}.aws.images import container_pin

    pin = container_pin(version)
    packages = dict(requirement.split("==") for requirement in pin.python_packages)
    return {canonical(name): pinned for name, pinned in packages.items()}, tuple(map(canonical, pin.absent))


def set_problems(packages: dict[str, str], absent: tuple[str, ...], installed: dict[str, str]) -> list[str]:
    """What differs between the recorded set and ``installed`` ({canonical name: version}), one line each."""
    problems = [
        f"{name} {installed.get(name, 'missing')} is installed, the container holds {version}"
        for name, version in packages.items()
        if installed.get(name) != version
    ]
    problems += [
        f"{name} {installed[name]} is installed, the container holds none" for name in absent if name in installed
    ]
    return problems


def installed_versions() -> dict[str, str]:
    """{canonical name: version} of every distribution this interpreter sees (the first one found of a name)."""
    found: dict[str, str] = {}
    for dist in metadata.distributions():
        found.setdefault(canonical(dist.metadata["Name"]), dist.version)
    return found


def check(version: str) -> list[str]:
    """Problems of the running interpreter against the pin's recorded set: versions, absent packages importable."""
    packages, absent = recorded(version)
    problems = set_problems(packages, absent, installed_versions())
    problems += [f"{name} is importable, the container holds none" for name in absent if find_spec(name) is not None]
    return problems


def top_levels(dist: metadata.Distribution) -> set[str]:
    """The site-packages entries a distribution owns (packages, modules, .pth files, its dist-info)."""
    names = set()
    for file in dist.files or ():
        parts = Path(file).parts
        if parts and parts[0] not in ("..", "__pycache__"):
            names.add(parts[0])
    return names


def link_site_packages(source: Path, target: Path, leave_out: set[str]) -> None:
    """Link every distribution of ``source`` into ``target`` but those named in ``leave_out``.

    Raises:
        SystemExit: an entry is owned both by a distribution left out and by one linked (a shared namespace).
    """
    kept: dict[str, str] = {}
    dropped: dict[str, str] = {}
    for dist in metadata.distributions(path=[str(source)]):
        name = canonical(dist.metadata["Name"])
        for entry in top_levels(dist):
            (dropped if name in leave_out else kept).setdefault(entry, name)
    shared = sorted(set(kept) & set(dropped))
    if shared:
        raise SystemExit(f"cannot leave out {', '.join(dropped[e] for e in shared)}: {shared} is shared")
    for entry in kept:
        if (source / entry).exists() and not (target / entry).exists():
            (target / entry).symlink_to(source / entry)


def copy_scripts(source_bin: Path, target_bin: Path) -> None:
    """Console scripts of this environment, their ``#!`` line pointing at the new interpreter."""
    interpreter = f"#!{target_bin / 'python'}\n"
    for script in source_bin.iterdir():
        if script.name.startswith(("python", "activate", "Activate")) or (target_bin / script.name).exists():
            continue
        try:
            lines = script.read_text(encoding="utf-8").splitlines(keepends=True)
        except (UnicodeDecodeError, IsADirectoryError):
            continue
        if lines and lines[0].startswith("#!") and "python" in lines[0]:
            (target_bin / script.name).write_text(interpreter + "".join(lines[1:]), encoding="utf-8")
            (target_bin / script.name).chmod(0o755)


def build(version: str, destination: Path) -> Path:
    """Create (or reuse, when its stamp matches) the container environment; returns its interpreter."""
    packages, absent = recorded(version)
    stamp = {"packages": packages, "absent": list(absent)}
    python = destination / "bin" / "python"
    if python.exists() and (destination / STAMP).exists():
        if json.loads((destination / STAMP).read_text(encoding="utf-8")) == stamp:
            return python
    shutil.rmtree(destination, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(destination)], check=True)
    version_dir = f"python{sys.version_info[0]}.{sys.version_info[1]}"
    target = destination / "lib" / version_dir / "site-packages"
    link_site_packages(Path(sysconfig.get_paths()["purelib"]), target, set(packages) | set(absent))
    copy_scripts(Path(sys.executable).parent, destination / "bin")
    requirements = [f"{name}=={pinned}" for name, pinned in packages.items()]
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--no-deps", "--no-compile", *requirements], check=True
    )
    problems = subprocess.run(
        [str(python), __file__, "--check", version], capture_output=True, text=True, encoding="utf-8"
    )
    if problems.returncode:
        raise SystemExit(
            f"the container environment for transformers {version} is not its recorded set:\n"
            + problems.stdout
            + problems.stderr
        )
    (destination / STAMP).write_text(json.dumps(stamp, indent=1) + "\n", encoding="utf-8")
    return python


def main(argv: list[str]) -> int:
    if argv[:1] == ["--check"] and len(argv) == 2:
        problems = check(argv[1])
        print("\n".join(problems))
        return 1 if problems else 0
    if len(argv) != 2:
        print(__doc__.strip().splitlines()[-2], file=sys.stderr)
        return 2
    print(build(argv[0], Path(argv[1]).resolve()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
