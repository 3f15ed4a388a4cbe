"""`make demo`: bake the default project and run it end to end, offline: prepare, baseline, train (a small model
built locally), evaluate, serve, classify. Then what to do next.

Every `$` line it prints is a shell command that runs as printed, in order, from the folder the `$ cd` line
names (a test runs them). The project is baked into build/demo/<slug>; a demo project someone has edited is
never overwritten.

    python scripts/demo.py [--into build/demo]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shlex
import shutil
import socket
import subprocess
import sys
from pathlib import Path

from bakery import BUILD, TEMPLATE, answers_of, bake, default_answers

DEMO_DIR = BUILD / "demo"
MANIFEST = ".demo-manifest.json"  # the files as baked, to tell the demo's own outputs from a user's edits
# what the demo and the commands it prints write (make installs the project: its egg-info; prepare's records)
PRODUCED = ("artifacts", ".cache", "mlflow.db", "mlruns", "__pycache__", ".venv-path", "prepared")
NEW_BAKE_EXAMPLE = (  # answers for another label schema, as the hand-over shows them
    "label_names=배송,환불,상품문의,기타 label_encoding=name data_format=csv "
    "text_column=문의내용 label_column=분류 id_column=문의번호"
)
PING = 'import urllib.request; urllib.request.urlopen("{url}/ping", timeout=2)'  # fails until the server is up
REVIEWS = ["이 영화 진짜 재밌어요 강추합니다", "시간이 아까운 최악의 영화", "배우들 연기는 좋았는데 스토리가 별로"]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def project_files(project: Path) -> dict[str, str]:
    return {
        p.relative_to(project).as_posix(): digest(p)
        for p in sorted(project.rglob("*"))
        if p.is_file()
        and p.name != MANIFEST
        and not set(p.relative_to(project).parts) & set(PRODUCED)
        and not any(part.endswith(".egg-info") for part in p.relative_to(project).parts)
    }


def edits(project: Path) -> list[str]:
    """Files a person changed, added or removed since the demo baked the project (all of them without a
    manifest: then it is not a demo folder)."""
    manifest = project / MANIFEST
    if not manifest.is_file():
        return ["(no demo manifest: not a folder the demo made)"]
    baked, now = json.loads(manifest.read_text(encoding="utf-8")), project_files(project)
    return sorted(name for name in baked.keys() | now.keys() if baked.get(name) != now.get(name))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def steps(project: Path, package: str, test_file: str, port: int) -> list[tuple[str, list[str]]]:
    python = shlex.quote(sys.executable)
    cli = f"{python} -m {package}"
    url = f"http://127.0.0.1:{port}"
    reviews = " ".join(shlex.quote(review) for review in REVIEWS)
    return [
        (
            "go to the project (baked from the template's defaults: NSMC, negative/positive)",
            [f"cd {shlex.quote(str(project))}", "export PYTHONPATH=src HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false"],
        ),
        ("prepare: validate every row of data/raw", [f"{cli} prepare"]),
        (
            "baseline: naive-Bayes-weighted logistic regression on word and character n-grams, the number to beat",
            [f"{cli} baseline"],
        ),
        (
            "train: WordPiece tokenizer + small ELECTRA built from the training texts (offline), PyTorch loop",
            [f"{cli} train --model scratch:tiny --loop torch --epochs 4"],
        ),
        (
            "evaluate: metrics, report, confusion matrix, learning curves, misclassified rows; vs the baseline "
            "(int8 on this CPU when train's check allowed it)",
            [f"{cli} evaluate"],
        ),
        (
            f"serve on {url} (wait until /ping answers) and classify through it",
            [
                f"{cli} serve --port {port} &",
                f"until {python} -c {shlex.quote(PING.format(url=url))} 2>/dev/null; do sleep 0.5; done",
                f"printf '%s\\n' {reviews} | {cli} predict --url {url}",
                f"{cli} predict data/raw/{test_file} --url {url} -o artifacts/predictions.jsonl --overwrite",
                "kill $!",
            ],
        ),
    ]


def script(plan: list[tuple[str, list[str]]]) -> str:
    """One bash script that prints each step and each command exactly as it then runs it."""
    lines = ["set -e", "trap 'kill $(jobs -p) 2>/dev/null || true' EXIT"]
    for title, commands in plan:
        lines.append(f"printf '\\n=== %s\\n' {shlex.quote(title)}")
        for command in commands:
            lines += [f"printf '$ %s\\n' {shlex.quote(command)}", command]
    return "\n".join(lines) + "\n"


def next_steps(project: Path, package: str, answers: dict) -> str:
    venv = Path(sys.executable).parent.parent
    labels = "/".join(name.strip() for name in answers["label_names"].split(","))
    other = "names" if answers["label_encoding"] == "index" else "class ids"
    return f"""
=== next: carry on in the project
Everything above ran in {project}, with this template's environment ({venv}): the project needs no second
install. Its README says the rest; the usual next steps (each runs as printed, from that folder):
$ cd {shlex.quote(str(project))}
$ make check-data VENV={shlex.quote(str(venv))}
$ PYTHONPATH=src {shlex.quote(sys.executable)} -m {package} --help
Then: put your files in data/raw/ (the names config.yaml gives) and `make check-data` them; `train --model
scratch:small` (or a pretrained hub model, online); `evaluate`; `serve`. `make test` runs the project's own
tests (the VENV= above is remembered); `make install` gives it its own .venv instead (several minutes). The
demo never overwrites this folder once you have edited it.
Your files have other columns, file names, format or encoding? Set them in config.yaml (data.*); check-data
names each. Another label schema (other classes than {labels}, or labels written as {other})
needs a new bake:
  {shlex.quote(sys.executable)} -m cookiecutter {shlex.quote(str(TEMPLATE))} {NEW_BAKE_EXAMPLE}
(an example: use your label names, format and columns; it asks the remaining questions, Enter keeps each default).
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--into", type=Path, default=DEMO_DIR, help="folder to bake into")
    args = parser.parse_args()
    target = args.into / default_answers()["project_slug"]
    if target.exists():
        changed = edits(target)
        if changed:
            print(
                f"error: {target} has edits the demo did not make ({', '.join(changed[:5])}"
                f"{' ...' if len(changed) > 5 else ''}): it is yours now, and the demo will not overwrite it. "
                f"Keep working there, or run the demo elsewhere: python scripts/demo.py --into build/demo-2",
                file=sys.stderr,
            )
            return 1
        shutil.rmtree(target)
    print(f"=== bake the default project into {args.into}", flush=True)
    project = bake(args.into)
    (project / MANIFEST).write_text(json.dumps(project_files(project), indent=1) + "\n", encoding="utf-8")
    answers = answers_of(project)
    plan = steps(project, answers["package_name"], answers["test_file"], free_port())
    result = subprocess.run(["bash", "-c", script(plan)], cwd=project)
    if result.returncode:
        print(f"error: the demo stopped at the step above (exit status {result.returncode})", file=sys.stderr)
        return result.returncode
    print(next_steps(project, answers["package_name"], answers), flush=True)
    print(f"results: {project / 'artifacts'} (model/, model/evaluation/*.png, baseline/, predictions.jsonl)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
