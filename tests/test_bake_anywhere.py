"""Bake where a user's cookiecutter runs: a venv holding nothing but cookiecutter (what pipx and uvx give), from a
path and from a git URL, gives the same project, byte for byte, as a bake in the dev venv, and so does `cruft
create`. The hooks and local_*.py use the standard library and Jinja only; nothing depends on what else is
installed (romanization, the SPDX check, formatting)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

TEMPLATE = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(TEMPLATE / "scripts"))
from bakery import BUILD, CRUFT_RECORD, bake  # noqa: E402
from test_bake import KOREAN_CSV, PAIR_JSONL, UNSMILE_MULTI_LABEL  # noqa: E402

BARE_VENV = BUILD / "bare-cookiecutter"  # kept between runs: pip install cookiecutter once
NOT_IN_A_BARE_VENV = ("numpy", "ruff", "koroman", "torch")  # what the dev venv has and a user's cookiecutter lacks
ANSWER_SETS = {
    "defaults": {},
    "korean-name-and-columns": {**KOREAN_CSV, "project_name": "쇼핑몰 문의 분류"},
    "multi-label": UNSMILE_MULTI_LABEL,
    "pairs": PAIR_JSONL,
}
GIT = ["git", "-c", "user.email=ci@example.invalid", "-c", "user.name=ci", "-c", "init.defaultBranch=main"]


@pytest.fixture(scope="session")
def bare_cookiecutter() -> Path:
    """The cookiecutter command of a venv made with `python -m venv` + `pip install cookiecutter` (and no more)."""
    python, command = BARE_VENV / "bin" / "python", BARE_VENV / "bin" / "cookiecutter"
    if not command.exists():
        shutil.rmtree(BARE_VENV, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(BARE_VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "cookiecutter"], check=True)
    for module in NOT_IN_A_BARE_VENV:
        found = subprocess.run([str(python), "-c", f"import {module}"], capture_output=True).returncode == 0
        assert not found, f"{BARE_VENV} holds {module}: delete it to rebuild it"
    return command


@pytest.fixture(scope="session")
def template_commit(tmp_path_factory) -> Path:
    """A git repository holding the template's working tree as it is now (committed or not) in one commit."""
    repo = tmp_path_factory.mktemp("template") / "kornlp-template"
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=TEMPLATE,
        capture_output=True,
        check=True,
    ).stdout.decode("utf-8")
    for name in filter(None, listed.split("\0")):
        if (TEMPLATE / name).is_file():  # a deleted but still tracked file is not in the tree
            (repo / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(TEMPLATE / name, repo / name)
    for command in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "the template as tested"]):
        subprocess.run([*GIT, *command], cwd=repo, check=True, capture_output=True)
    return repo


def files_of(project: Path) -> dict[str, bytes]:
    """Every file of a baked project by its relative path, with its bytes (the cruft record aside)."""
    return {
        path.relative_to(project).as_posix(): path.read_bytes()
        for path in sorted(project.rglob("*"))
        if path.is_file() and path.name != CRUFT_RECORD
    }


def differences(expected: dict[str, bytes], got: dict[str, bytes]) -> list[str]:
    return sorted(
        f"{name}: {'missing' if name not in got else 'extra' if name not in expected else 'differs'}"
        for name in expected.keys() | got.keys()
        if expected.get(name) != got.get(name)
    )


def run_bake(command: list[str], output: Path, answers: dict, tmp_path: Path) -> Path:
    """Run a cookiecutter command line (no input, these answers) into ``output``; returns the one project made."""
    config = tmp_path / "cookiecutter-config.yaml"  # clones and replays under tmp_path, not the user's home
    config.write_text(
        f"cookiecutters_dir: {json.dumps(str(tmp_path / 'clones'))}\nreplay_dir: {json.dumps(str(tmp_path / 'rp'))}\n",
        encoding="utf-8",
    )
    output.mkdir(parents=True)
    result = subprocess.run(
        [*command, "--no-input", "--config-file", str(config), "-o", str(output)]
        + [f"{key}={value}" for key, value in answers.items()],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=300,
    )
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stdout + result.stderr
    (project,) = output.iterdir()
    return project


@pytest.mark.parametrize("name", list(ANSWER_SETS))
def test_a_bare_cookiecutter_bakes_the_same_project_from_a_path_and_a_git_url(
    name, bare_cookiecutter, template_commit, tmp_path
):
    answers = ANSWER_SETS[name]
    expected = files_of(bake(tmp_path / "dev", answers, template=template_commit))
    for way, source in (("path", str(template_commit)), ("git-url", f"git+file://{template_commit}")):
        (tmp_path / f"{way}-config").mkdir()
        project = run_bake([str(bare_cookiecutter), source], tmp_path / way, answers, tmp_path / f"{way}-config")
        assert differences(expected, files_of(project)) == [], f"{way}: {source}"


def test_cruft_create_bakes_the_same_project(template_commit, tmp_path):
    answers = ANSWER_SETS["korean-name-and-columns"]
    expected = files_of(bake(tmp_path / "dev", answers, template=template_commit))
    cruft = str(Path(sys.executable).parent / "cruft")
    result = subprocess.run(
        [cruft, "create", f"file://{template_commit}", "--no-input", "--output-dir", str(tmp_path / "cruft")]
        + ["--extra-context", json.dumps(answers, ensure_ascii=False)],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=300,
    )
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stdout + result.stderr
    (project,) = (tmp_path / "cruft").iterdir()
    assert differences(expected, files_of(project)) == []
