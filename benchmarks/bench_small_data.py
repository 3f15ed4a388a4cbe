"""Do the offline defaults learn on small multi-class data? `scratch:tiny`, every training setting at its default.

The sets are NSMC reviews with labels drawn from their content, so they can be learnt: a topic by the words a
review uses (acting, story, music, directing, visuals, or none of them: "기타"), and, harder, topic x polarity
(NSMC's own label). Classes are unbalanced like real data; each set has its own held-out test file. For every
set the table gives the majority-class share (what a model that learnt nothing scores), accuracy, macro recall and
what the verdict said.

    python benchmarks/bench_small_data.py [--quick] [--set train.epochs=3 ...]
"""

from __future__ import annotations

import argparse
import json
import random
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from common import BUILD, NSMC_DIR, bake, project_module

HERE = Path(__file__).resolve().parent
TOPICS = {
    "연기": r"연기|배우",
    "스토리": r"스토리|내용|전개|결말",
    "음악": r"음악|OST|ost|노래",
    "감독": r"감독|연출",
    "영상": r"영상|CG|화면",
}
OTHER = "기타"  # a review that names none of the topics
TEST_ROWS = 400


@dataclass(frozen=True)
class Shape:
    name: str
    classes: tuple[str, ...]
    shares: tuple[float, ...]  # class shares of the training file, in class order
    polarity: bool = False  # topic x NSMC polarity: a class is "topic-부정" or "topic-긍정"


SHAPES = [
    Shape("4 topics (inquiry-like)", ("연기", "스토리", "음악", OTHER), (0.31, 0.27, 0.21, 0.21)),
    Shape("5 topics", tuple(TOPICS), (0.28, 0.26, 0.18, 0.16, 0.12)),
    Shape("topic x polarity", ("연기-부정", "연기-긍정", "스토리-부정", "스토리-긍정"), (0.34, 0.26, 0.22, 0.18), True),
]
SIZES = {"4 topics (inquiry-like)": (600, 2000), "5 topics": (1500, 6000), "topic x polarity": (2000, 6000)}


def nsmc_rows() -> list[tuple[str, int]]:
    """(text, polarity) of every NSMC review, training and test files, in file order."""
    rows = []
    for name in ("ratings_train.txt", "ratings_test.txt"):
        for line in (NSMC_DIR / name).read_text(encoding="utf-8").splitlines()[1:]:
            _, text, label = line.split("\t")
            if text.strip():
                rows.append((text, int(label)))
    return rows


def class_of(text: str, polarity: int, shape: Shape) -> str | None:
    topics = [topic for topic, pattern in TOPICS.items() if re.search(pattern, text)]
    topic = topics[0] if len(topics) == 1 else (OTHER if not topics else None)
    name = f"{topic}-{'긍정' if polarity else '부정'}" if shape.polarity else topic
    return name if name in shape.classes else None


def draw(shape: Shape, rows: list[tuple[str, int]], size: int, seed: int = 7) -> tuple[list, list]:
    """(train, test) rows of (text, class name): the training file in the shape's shares, a test file the same."""
    pools: dict[str, list[str]] = {name: [] for name in shape.classes}
    for text, polarity in rows:
        name = class_of(text, polarity, shape)
        if name is not None:
            pools[name].append(text)
    rng = random.Random(seed)
    train, test = [], []
    for name, share in zip(shape.classes, shape.shares, strict=True):
        texts = rng.sample(pools[name], round(share * size) + round(share * TEST_ROWS))
        train += [(t, name) for t in texts[: round(share * size)]]
        test += [(t, name) for t in texts[round(share * size) :]]
    rng.shuffle(train)
    rng.shuffle(test)
    return train, test


def write_csv(path: Path, rows: list[tuple[str, str]]) -> None:
    import csv

    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["text", "label"])
        writer.writerows(rows)


def run_one(shape: Shape, size: int, rows, overrides: dict) -> dict:
    slug = re.sub(r"[^a-z0-9]+", "-", f"small {len(shape.classes)} {int(shape.polarity)} {size}").strip("-")
    answers = {
        "project_name": slug,
        "label_names": ",".join(shape.classes),
        "data_format": "csv",
        "text_column": "text",
        "label_column": "label",
        "id_column": "",
        "label_encoding": "name",
        "train_file": "train.csv",
        "test_file": "test.csv",
        "base_model": "scratch:tiny",
    }
    folder = (
        BUILD
        / "small-data"
        / (re.sub(r"[^a-z0-9]+", "-", " ".join(f"{k} {v}" for k, v in overrides.items())) or "defaults")
    )
    shutil.rmtree(folder / slug, ignore_errors=True)
    project = bake(folder, answers, overwrite=True)
    train, test = draw(shape, rows, size)
    write_csv(project / "data" / "raw" / "train.csv", train)
    write_csv(project / "data" / "raw" / "test.csv", test)
    config_module = project_module(project, "config")
    config = config_module.load_config(project / "config.yaml", {"mlflow": False, "use_cpu": True, **overrides})
    started = time.perf_counter()
    metrics = project_module(project, "training.run").train(config, quiet=True)
    seconds = time.perf_counter() - started
    test_metrics = metrics["test"]
    history = json.loads((config.path(config.train.output_dir) / "history.json").read_text(encoding="utf-8"))
    epochs_run = max((entry.get("epoch", 0) for entry in history), default=0)
    lines = project_module(project, "evaluation.verdict").verdict(test_metrics, None)
    return {
        "shape": shape.name,
        "classes": len(shape.classes),
        "train_rows": size,
        "majority_share": max(row["support"] for row in test_metrics["per_class"].values())
        / test_metrics["num_examples"],
        "accuracy": test_metrics["accuracy"],
        "macro_recall": test_metrics["macro_recall"],
        "macro_f1": test_metrics["macro_f1"],
        "epochs_run": f"{epochs_run:g} of {config.train.epochs:g}",
        "seconds": round(seconds, 1),
        "verdict": " ".join(lines) or "(no warning)",
    }


def render(results: dict) -> str:
    lines = [
        "# Small multi-class data: do the offline defaults learn?",
        "",
        f"`python benchmarks/bench_small_data.py`, {results['date']}, {results['machine']}. "
        "`scratch:tiny` with every training setting at its default"
        + (f" and {results['overrides']}" if results["overrides"] else "")
        + ". Labels come from the reviews' content (see the script's docstring); each set is tested on its own "
        f"held-out {TEST_ROWS} rows.",
        "",
        "| set | classes | training rows | majority share | accuracy | macro recall | macro-F1 | epochs run | train s "
        "| verdict |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in results["runs"]:
        lines.append(
            f"| {row['shape']} | {row['classes']} | {row['train_rows']:,} | {row['majority_share']:.3f} "
            f"| {row['accuracy']:.3f} | {row['macro_recall']:.3f} | {row['macro_f1']:.3f} | {row['epochs_run']} "
            f"| {row['seconds']:.0f} | {row['verdict']} |"
        )
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="the smallest size of each set only")
    parser.add_argument("--set", action="append", default=[], help="a config override (key=value), for experiments")
    parser.add_argument("--output", default=str(HERE / "RESULTS-small-data.md"))
    args = parser.parse_args()
    if not (NSMC_DIR / "ratings_train.txt").is_file():
        print(f"needs the NSMC files in {NSMC_DIR}")
        return 1
    overrides = dict(item.split("=", 1) for item in args.set)
    rows = nsmc_rows()
    runs = []
    for shape in SHAPES:
        for size in SIZES[shape.name][:1] if args.quick else SIZES[shape.name]:
            print(f"== {shape.name}, {size} rows", flush=True)
            runs.append(run_one(shape, size, rows, overrides))
            print(json.dumps(runs[-1], ensure_ascii=False), flush=True)
    from common import machine

    info = machine()
    results = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{info['cpu']} ({info['cores']} cores), torch {info['torch']}",
        "overrides": " ".join(args.set),
        "runs": runs,
    }
    Path(args.output).write_text(render(results), encoding="utf-8")
    Path(args.output).with_suffix(".json").write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    print(render(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
