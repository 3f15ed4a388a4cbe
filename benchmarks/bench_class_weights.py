"""train.class_weights none vs balanced on real, human-labelled imbalanced data, with the offline model (scratch:tiny).

Sets (each a baked project whose config points at the files; each arm is the project's own `train` command):
  hate  the Korean HateSpeech labelled set (3 classes: none/offensive/hate), train.tsv -> dev.tsv as the test file
  nsmc  NSMC made 1:N imbalanced (--nsmc-ratio N, 5 by default): a seeded sample of 5,000 training and 2,500 test
        negatives and one positive to N of them, in both files (results under "nsmc-1toN")

    python benchmarks/bench_class_weights.py --sets hate,nsmc --arms none,balanced --epochs 2 --seeds 42,1
    python benchmarks/bench_class_weights.py --sets nsmc --nsmc-ratio 20 --epochs 2

Each arm's test figures (macro-F1, each class's recall) come from the artifact's metrics.json; every result is kept in
benchmarks/results-class-weights.json (one entry a set and arm, replaced when rerun).
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

from common import BUILD, NSMC_DIR, TEMPLATE, bake, machine

HATE_DIR = TEMPLATE.parent / "shared" / "data" / "korean-hate-speech"
RESULTS = Path(__file__).resolve().parent / "results-class-weights.json"
HATE_ANSWERS = {
    "project_name": "Hate Speech",
    "dataset_name": "kor-hate",
    "data_format": "tsv",
    "text_column": "comments",
    "label_column": "hate",
    "id_column": "",
    "label_names": "none,offensive,hate",
    "label_encoding": "name",
    "train_file": "train.tsv",
    "test_file": "dev.tsv",
    "base_model": "scratch:tiny",
}
NSMC_ANSWERS = {"project_name": "NSMC Imbalanced", "base_model": "scratch:tiny"}
NSMC_NEGATIVES = {"ratings_train.txt": 5000, "ratings_test.txt": 2500}  # positives: one to --nsmc-ratio negatives
SEED = 13


def hate_project() -> Path:
    """The HateSpeech project, baked fresh, its train.tsv and dev.tsv copied into data/raw/."""
    project = bake(BUILD / "class-weights-hate", HATE_ANSWERS, overwrite=True)
    for name in ("train.tsv", "dev.tsv"):
        shutil.copyfile(HATE_DIR / name, project / "data" / "raw" / name)
    return project


def imbalanced_nsmc(source: Path, target: Path, negatives: int, ratio: int) -> dict:
    """``negatives`` seeded negatives of an NSMC file and one positive to ``ratio`` of them, written to ``target``
    (same header and columns, rows shuffled). Returns the counts by label."""
    lines = source.read_text(encoding="utf-8").splitlines()
    rows = [line for line in lines[1:] if line.count("\t") == 2 and line.split("\t")[1].strip()]
    by_label = {label: [r for r in rows if r.rsplit("\t", 1)[1] == label] for label in ("0", "1")}
    rng = random.Random(SEED)
    picked = rng.sample(by_label["0"], negatives) + rng.sample(by_label["1"], negatives // ratio)
    rng.shuffle(picked)
    target.write_text("\n".join([lines[0], *picked]) + "\n", encoding="utf-8")
    return {"negative": negatives, "positive": negatives // ratio}


def nsmc_project(ratio: int) -> tuple[Path, dict]:
    """The default (NSMC) project baked as scratch:tiny, its raw files NSMC samples at 1 positive to ``ratio``
    negatives."""
    project = bake(BUILD / f"class-weights-nsmc-1to{ratio}", NSMC_ANSWERS, overwrite=True)
    sizes = {
        name: imbalanced_nsmc(NSMC_DIR / name, project / "data" / "raw" / name, negatives, ratio)
        for name, negatives in NSMC_NEGATIVES.items()
    }
    return project, sizes


def package_name(project: Path) -> str:
    """The baked project's package (the one folder under src/)."""
    return next(p.name for p in (project / "src").iterdir() if (p / "__init__.py").is_file())


def train_arm(project: Path, arm: str, overrides: list[str]) -> dict:
    """Train one arm (train.class_weights=``arm``) with the project's CLI; returns its command, wall seconds, the
    class-weights line and record, and the test split's macro-F1, accuracy and per-class recall."""
    output = f"artifacts/cw-{arm}"
    shutil.rmtree(project / output, ignore_errors=True)
    shutil.rmtree(project / "artifacts" / "checkpoints", ignore_errors=True)
    sets = [f"train.class_weights={arm}", f"train.output_dir={output}", "tracking.mlflow=false", *overrides]
    command = [sys.executable, "-m", package_name(project), "train", *(a for s in sets for a in ("--set", s))]
    env = {**os.environ, "PYTHONPATH": "src", "HF_HUB_OFFLINE": "1"}
    started = time.perf_counter()
    done = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True, encoding="utf-8")
    seconds = time.perf_counter() - started
    if done.returncode:
        raise SystemExit(f"{arm}: train failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    metrics = json.loads((project / output / "metrics.json").read_text(encoding="utf-8"))
    test = metrics["test"]
    return {
        "command": "python -m " + " ".join(command[2:]),
        "wall_seconds": round(seconds, 1),
        "line": next((line for line in done.stdout.splitlines() if line.startswith("class weights:")), ""),
        "class_weights": metrics.get("class_weights"),
        "train_examples": metrics["train_examples"],
        "test_examples": test["num_examples"],
        "macro_f1": test["macro_f1"],
        "accuracy": test["accuracy"],
        "recall": {name: row["recall"] for name, row in test["per_class"].items()},
        "support": {name: row["support"] for name, row in test["per_class"].items()},
    }


def table(results: dict) -> str:
    """The results as markdown: one row a set, arm and seed (test macro-F1, accuracy, each class's recall), then
    each set's and arm's mean over its seeds."""
    lines = []
    for name, runs in results.items():
        classes = list(next(iter(runs.values()))["recall"])
        lines += [
            f"\n### {name}\n",
            "| weights | seed | macro-F1 | accuracy | " + " | ".join(f"recall {c}" for c in classes) + " | wall s |",
            "|---|---|---|---|" + "---|" * len(classes) + "---|",
        ]
        for key, run in sorted(runs.items()):
            arm, seed = key.split("/seed")
            recalls = " | ".join(f"{run['recall'][c]:.3f}" for c in classes)
            row = f"| {arm} | {seed} | {run['macro_f1']:.4f} | {run['accuracy']:.4f} | {recalls}"
            lines.append(f"{row} | {run['wall_seconds']:.0f} |")
        for arm in sorted({key.split("/seed")[0] for key in runs}):
            picked = [run for key, run in runs.items() if key.startswith(arm + "/")]
            mean = lambda values: sum(values) / len(values)  # noqa: E731
            recalls = " | ".join(f"{mean([r['recall'][c] for r in picked]):.3f}" for c in classes)
            f1, accuracy = mean([r["macro_f1"] for r in picked]), mean([r["accuracy"] for r in picked])
            lines.append(f"| **{arm}, mean of {len(picked)}** | | {f1:.4f} | {accuracy:.4f} | {recalls} | |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sets", default="hate,nsmc")
    parser.add_argument("--arms", default="none,balanced")
    parser.add_argument("--epochs", type=float, default=2)
    parser.add_argument("--max-rows", type=int, default=0, help="data.max_rows (0: every row)")
    parser.add_argument("--nsmc-ratio", type=int, default=5, help="nsmc: negatives to one positive")
    parser.add_argument("--seeds", default="42", help="train.seed values, comma separated: one run each")
    parser.add_argument("--table", action="store_true", help="print the kept results as markdown and stop")
    args = parser.parse_args()
    results = json.loads(RESULTS.read_text(encoding="utf-8")) if RESULTS.is_file() else {}
    if args.table:
        print(table(results))
        return 0
    overrides = [f"train.epochs={args.epochs:g}", f"data.max_rows={args.max_rows}"]
    for name in args.sets.split(","):
        project, sizes = (hate_project(), {}) if name == "hate" else nsmc_project(args.nsmc_ratio)
        name = name if name == "hate" else f"nsmc-1to{args.nsmc_ratio}"
        for seed in args.seeds.split(","):
            for arm in args.arms.split(","):
                run_arm(results, name, project, arm, [*overrides, f"train.seed={seed}"], sizes)
    return 0


def run_arm(results: dict, name: str, project: Path, arm: str, overrides: list[str], sizes: dict) -> None:
    """Train one arm, keep its result under results[set][arm/seed] (written to RESULTS at once) and print it."""
    seed = overrides[-1].split("=")[1]
    result = train_arm(project, arm, overrides)
    result.update(files=sizes, date=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), machine=machine())
    results.setdefault(name, {})[f"{arm}/seed{seed}"] = result
    RESULTS.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    recall = ", ".join(f"{k}={v:.3f}" for k, v in result["recall"].items())
    print(
        f"{name} {arm} seed {seed}: macro_f1={result['macro_f1']:.4f} recall {recall} ({result['wall_seconds']:.0f}s)"
    )
    print(f"  {result['line']}", flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
