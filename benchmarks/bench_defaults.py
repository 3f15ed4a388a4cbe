"""Do the offline defaults learn on real human labels? Candidate training settings side by side, `scratch:tiny`.

Three real sets, each baked as its own project (issue 34): 1-5 star ratings (`ratings_data.py`: NSMC's raw crawl,
balanced, 5,000 train / 1,000 test), Korean HateSpeech's `hate` column (3 classes, train 7,896 / dev 471 as the
test file) and an NSMC subset (seeded 20,000 train / 5,000 test rows of the published split). A variant is a list
of `--set KEY=VALUE` overrides on the baked config (nothing: the defaults of the template as it was when the set's
project was baked: build/bench/defaults-<set> is kept between runs, --rebake bakes it again); each run trains with the
`train` command itself and reads the test split's scores from the artifact's metrics.json. One JSON line per run
is appended to the results file.

    python benchmarks/bench_defaults.py --sets ratings5,hate,nsmc20k --seeds 42,43 \
        --variant base= --variant lr1e-3=train.learning_rate=0.001 [--out benchmarks/results-defaults.jsonl]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

from common import BUILD, NSMC_DIR, bake

HERE = Path(__file__).resolve().parent
RATINGS = HERE / ".data" / "ratings5"
HATE_DIR = NSMC_DIR.parent / "korean-hate-speech"
NSMC_TRAIN, NSMC_TEST = 20_000, 5_000

SETS = {
    "ratings5": {
        "project_name": "Ratings Five",
        "dataset_name": "ratings",
        "label_names": "1,2,3,4,5",
        "label_encoding": "name",
        "train_file": "train.tsv",
        "test_file": "test.tsv",
    },
    "hate": {
        "project_name": "Hate Speech",
        "dataset_name": "hate",
        "text_column": "comments",
        "label_column": "hate",
        "label_names": "none,offensive,hate",
        "label_encoding": "name",
        "train_file": "train.tsv",
        "test_file": "dev.tsv",
    },
    "nsmc20k": {"project_name": "Nsmc Subset", "dataset_name": "nsmc-subset"},
}


def _subset(source: Path, rows: int, target: Path, seed: int = 7) -> None:
    lines = source.read_text(encoding="utf-8").splitlines()
    body = random.Random(seed).sample(lines[1:], rows)
    target.write_text("\n".join([lines[0], *body]) + "\n", encoding="utf-8")


def project_for(name: str, rebake: bool) -> Path:
    """The set's project, baked into build/bench/defaults-<set> (kept until --rebake) with its data in data/raw."""
    out = BUILD / f"defaults-{name}"
    found = sorted(p for p in out.glob("*") if (p / "config.yaml").is_file()) if out.is_dir() else []
    if found and not rebake:
        return found[0]
    shutil.rmtree(out, ignore_errors=True)
    project = bake(out, {**SETS[name], "base_model": "scratch:tiny"}, overwrite=True)
    raw = project / "data" / "raw"
    if name == "ratings5":
        for f in ("train.tsv", "test.tsv"):
            shutil.copy(RATINGS / f, raw / f)
    elif name == "hate":
        for f in ("train.tsv", "dev.tsv"):
            shutil.copy(HATE_DIR / f, raw / f)
    else:
        _subset(NSMC_DIR / "ratings_train.txt", NSMC_TRAIN, raw / "ratings_train.txt")
        _subset(NSMC_DIR / "ratings_test.txt", NSMC_TEST, raw / "ratings_test.txt")
    return project


def run(project: Path, overrides: list[str], seed: int) -> dict:
    """Train once with the overrides; the test split's scores, the loss curve and the wall time."""
    shutil.rmtree(project / "artifacts", ignore_errors=True)
    package = next(p.name for p in (project / "src").iterdir() if (p / "__main__.py").is_file())
    sets = ["tracking.mlflow=false", f"train.seed={seed}", *overrides]
    command = [sys.executable, "-m", package, "train", "--quiet"] + [a for s in sets for a in ("--set", s)]
    env = {**os.environ, "PYTHONPATH": "src", "HF_HUB_OFFLINE": "1"}
    start = time.perf_counter()
    done = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if done.returncode:
        return {"error": done.stderr[-2000:], "wall_s": round(wall, 1)}
    model = project / "artifacts" / "model"
    metrics = json.loads((model / "metrics.json").read_text())
    history = json.loads((model / "history.json").read_text())
    test = metrics["test"]
    return {
        "accuracy": round(test["accuracy"], 4),
        "macro_f1": round(test["macro_f1"], 4),
        "recall": {k: round(v["recall"], 3) for k, v in test["per_class"].items()},
        "test_loss": round(test["loss"], 4),
        "loss_curve": [round(h["loss"], 3) for h in history if "loss" in h],
        "eval_f1": [round(h["eval_macro_f1"], 3) for h in history if "eval_macro_f1" in h],
        "train_s": metrics["train_seconds"],
        "wall_s": round(wall, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", default="ratings5,hate,nsmc20k")
    parser.add_argument("--seeds", default="42,43")
    parser.add_argument("--variant", action="append", default=[], help="NAME=KEY=VALUE,KEY=VALUE (empty: defaults)")
    parser.add_argument("--rebake", action="store_true", help="bake the sets' projects again (template changed)")
    parser.add_argument("--out", type=Path, default=HERE / "results-defaults.jsonl")
    args = parser.parse_args()
    variants = [(v.split("=", 1)[0], [s for s in v.split("=", 1)[1].split(",") if s]) for v in args.variant]
    for name in args.sets.split(","):
        project = project_for(name, args.rebake)
        for variant, overrides in variants or [("base", [])]:
            for seed in (int(s) for s in args.seeds.split(",")):
                scores = run(project, overrides, seed)
                row = {"set": name, "variant": variant, "sets": overrides, "seed": seed, **scores}
                print(json.dumps(row, ensure_ascii=False), flush=True)
                with args.out.open("a", encoding="utf-8") as f:
                    f.write(json.dumps(row, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
