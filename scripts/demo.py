"""`make demo`: bake the default project into build/ and run it end to end, offline.

prepare -> baseline -> train (a small model built locally) -> evaluate -> serve -> classify.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from bakery import BUILD, bake, package_of

REVIEWS = ["이 영화 진짜 재밌어요 강추합니다", "시간이 아까운 최악의 영화", "배우들 연기는 좋았는데 스토리가 별로"]


def step(title: str) -> None:
    print(f"\n=== {title}", flush=True)


def run(command: list[str], cwd: Path, env: dict, **kwargs) -> subprocess.CompletedProcess:
    print("$ " + " ".join(command), flush=True)
    return subprocess.run(command, cwd=cwd, env=env, check=True, **kwargs)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(url: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{url} did not answer within {seconds:.0f}s") from None
            time.sleep(0.3)


def main() -> int:
    step("bake the default project (NSMC, negative/positive)")
    project = bake(BUILD, overwrite=True)
    print(f"baked {project}")
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
        "PYTHONUTF8": "1",
        "PYTHONPATH": str(project / "src"),
    }
    package = package_of(project)
    cli = [sys.executable, "-m", package]

    step("prepare: validate every row of data/raw")
    run([*cli, "prepare"], project, env)
    step("baseline: TF-IDF character n-grams + logistic regression")
    run([*cli, "baseline"], project, env)
    step("train: WordPiece tokenizer + small ELECTRA built from the training texts (offline), PyTorch loop")
    run([*cli, "train", "--model", "scratch:tiny", "--loop", "torch", "--epochs", "4"], project, env)
    step("evaluate: metrics, report, confusion matrix and learning curves")
    run([*cli, "evaluate"], project, env)

    port = free_port()
    step(f"serve on http://127.0.0.1:{port} and classify through it")
    server = subprocess.Popen([*cli, "serve", "--port", str(port)], cwd=project, env=env)
    try:
        wait_for(f"http://127.0.0.1:{port}/ping")
        run(
            [*cli, "predict", "--url", f"http://127.0.0.1:{port}"],
            project,
            env,
            input="\n".join(REVIEWS),
            text=True,
            encoding="utf-8",
        )
        run(
            [
                *cli,
                "predict",
                "data/raw/ratings_test.txt",
                "--url",
                f"http://127.0.0.1:{port}",
                "-o",
                "artifacts/predictions.jsonl",
            ],
            project,
            env,
        )
    finally:
        server.terminate()
        server.wait(timeout=30)

    step("done")
    print(f"project:      {project}")
    print(f"model:        {project / 'artifacts/model'}")
    print(
        f"evaluation:   {project / 'artifacts/model/evaluation'} (report.txt, confusion_matrix.png, "
        "learning_curves.png, errors.tsv)"
    )
    print(f"baseline:     {project / 'artifacts/baseline'}")
    print(f"predictions:  {project / 'artifacts/predictions.jsonl'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
