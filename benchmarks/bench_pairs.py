"""Sentence pairs: what the pair bake's models score, int8 against fp32, and what the offline model can learn.

(a) The pair bake (a JSON Lines project with a second text) on its shipped sample: the n-gram baseline (pair
    features) and `scratch:small`, then the handler's int8 against its fp32 on the sample's test pairs: pairs per
    second and agreement.
(b) Learnability, on sets built from NSMC (review + claim) where one text alone says nothing:
    - ``polarity``: the claim is "긍정적인 리뷰다" or "부정적인 리뷰다", the label says whether it is true of the
      review (each text alone is at chance: the label is the review's polarity XOR the claim's);
    - ``lexical``: the claim is a run of words from this review or from another one; the label says which.
    For each: the baseline on the joined texts (one bag of n-grams) and with pair features, and `scratch:tiny`
    trained on growing row counts, encoded as pairs (segment ids) or joined into one text.

    python benchmarks/bench_pairs.py [--quick] [--rows 2000,8000] [--epochs 3]

Writes benchmarks/RESULTS-pairs.md and results-pairs.json.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import time
from pathlib import Path

from common import BUILD, NSMC_DIR, bake, machine, project_module

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
from test_bake import PAIR_JSONL  # noqa: E402

CLAIMS = ("부정적인 리뷰다", "긍정적인 리뷰다")  # claim k says: the review's NSMC label is k
LABELS = ("아니다", "맞다")  # the claim is false / true
TEST_ROWS = 2000


def nsmc(split: str) -> list[tuple[str, int]]:
    """(review, label) of an NSMC file, reviews of at least two words."""
    rows = []
    with open(NSMC_DIR / f"ratings_{split}.txt", encoding="utf-8") as handle:
        next(handle)
        for line in handle:
            _, text, label = line.rstrip("\n").split("\t")
            if len(text.split()) >= 2:
                rows.append((text, int(label)))
    return rows


def polarity_pairs(rows, rng) -> list[dict]:
    """A claim about each review's polarity, true for half of them."""
    found = []
    for text, label in rows:
        claim = rng.randrange(2)
        found.append({"review": text, "claim": CLAIMS[claim], "label": LABELS[int(claim == label)]})
    return found


def lexical_pairs(rows, rng) -> list[dict]:
    """A run of half the words (at most 6) of this review (true) or of another (false)."""
    found = []
    for text, _ in rows:
        own = rng.randrange(2)
        source = text if own else rows[rng.randrange(len(rows))][0]
        words = source.split()
        size = max(1, min(6, len(words) // 2))
        start = rng.randrange(len(words) - size + 1)
        found.append({"review": text, "claim": " ".join(words[start : start + size]), "label": LABELS[own]})
    return found


SETS = {"polarity": polarity_pairs, "lexical": lexical_pairs}


def write_jsonl(path: Path, rows: list[dict], joined: bool) -> None:
    """``rows`` as JSON Lines; ``joined``: the claim appended to the review, one text."""
    with open(path, "w", encoding="utf-8") as handle:
        for row in rows:
            if joined:
                row = {"review": f"{row['review']} {row['claim']}", "label": row["label"]}
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")


def learn_project(name: str, joined: bool) -> Path:
    """A project for a learnability set: pairs (review, claim) or one joined text, labels 아니다/맞다."""
    answers = {
        "project_name": f"pairs {name} {'joined' if joined else 'pair'}",
        "data_format": "jsonl",
        "text_column": "review",
        "text_pair_column": "" if joined else "claim",
        "label_column": "label",
        "id_column": "",
        "label_names": ",".join(LABELS),
        "label_encoding": "name",
        "train_file": "train.jsonl",
        "test_file": "test.jsonl",
        "base_model": "scratch:tiny",
    }
    folder = BUILD / "pairs" / f"{name}-{'joined' if joined else 'pair'}"
    shutil.rmtree(folder, ignore_errors=True)
    return bake(folder, answers, overwrite=True)


def run_set(
    name: str, sizes: list[int], epochs: float, overrides: dict, encodings: tuple[str, ...] = ("pair", "joined")
) -> dict:
    """Baselines and scratch:tiny (``overrides``: other settings) on set ``name`` at each training size, in each of
    ``encodings`` (pair: segment ids; joined: one text)."""
    rng = random.Random(24)
    train_rows, test_rows = nsmc("train"), nsmc("test")
    rng.shuffle(train_rows)
    rng.shuffle(test_rows)
    train = SETS[name](train_rows[: max(sizes)], rng)
    test = SETS[name](test_rows[:TEST_ROWS], rng)
    results: dict = {"set": name, "test_rows": len(test), "settings": overrides, "models": []}
    for joined in [encoding == "joined" for encoding in encodings]:
        project = learn_project(name, joined)
        for size in sizes:
            write_jsonl(project / "data" / "raw" / "train.jsonl", train[:size], joined)
            write_jsonl(project / "data" / "raw" / "test.jsonl", test, joined)
            config = project_module(project, "config").load_config(
                project / "config.yaml",
                {"mlflow": False, "use_cpu": True, "epochs": epochs, "ship": "transformer", **overrides},
            )
            baseline = project_module(project, "evaluation.baseline").baseline_from_config(
                config, project / "artifacts" / "baseline"
            )
            started = time.perf_counter()
            metrics = project_module(project, "training.run").train(config, quiet=True)
            results["models"].append(
                {
                    "encoding": ("joined" if joined else "pair")
                    + "".join(f", {key}={value}" for key, value in overrides.items()),
                    "rows": size,
                    "baseline_accuracy": baseline["test"]["accuracy"],
                    "accuracy": metrics["test"]["accuracy"],
                    "macro_f1": metrics["test"]["macro_f1"],
                    "train_seconds": round(time.perf_counter() - started, 1),
                }
            )
            print(name, results["models"][-1], flush=True)
    return results


def pair_bake(quick: bool) -> dict:
    """(a): the pair bake's baseline and scratch:small on its sample; the handler's int8 against fp32."""
    folder = BUILD / "pairs" / "bake"
    shutil.rmtree(folder, ignore_errors=True)
    project = bake(folder, {**PAIR_JSONL, "base_model": "scratch:small"}, overwrite=True)
    load_config = project_module(project, "config").load_config
    config = load_config(
        project / "config.yaml", {"mlflow": False, "use_cpu": True, "epochs": 1 if quick else 3, "ship": "transformer"}
    )
    baseline = project_module(project, "evaluation.baseline").baseline_from_config(
        config, project / "artifacts" / "baseline"
    )
    metrics = project_module(project, "training.run").train(config, quiet=True)
    handler = project_module(project, "serving.handler")
    validation = project_module(project, "data.validation")
    schema = project_module(project, "data.labels").LabelSchema.load(project / "labels.json")
    report = validation.load_records(
        project / "data" / "raw" / "test.jsonl", validation.ReadOptions.from_config(config.data), schema
    )
    items = [{"text": r.text, "text_pair": r.text_pair} for r in report.records]
    speed = {}
    answers = {}
    for precision in ("fp32", "int8"):
        model = handler.load(config.path(config.train.output_dir), precision)
        handler.predict_fn(items[:200], model)  # warm-up
        started = time.perf_counter()
        for _ in range(3):
            answers[precision] = handler.predict_fn(items, model)
        speed[precision] = 3 * len(items) / (time.perf_counter() - started)
    agree = sum(a["label"] == b["label"] for a, b in zip(answers["fp32"], answers["int8"], strict=True))
    truth = [schema.names[r.label] for r in report.records]
    return {
        "rows": {"train": metrics["train_examples"] if "train_examples" in metrics else None, "test": len(items)},
        "baseline_accuracy": baseline["test"]["accuracy"],
        "small_accuracy": metrics["test"]["accuracy"],
        "int8_accuracy": sum(a["label"] == t for a, t in zip(answers["int8"], truth, strict=True)) / len(truth),
        "fp32_accuracy": sum(a["label"] == t for a, t in zip(answers["fp32"], truth, strict=True)) / len(truth),
        "pairs_per_s": speed,
        "agreement": agree / len(items),
        "int8_check": metrics.get("int8"),
    }


def render(results: dict) -> str:
    """RESULTS-pairs.md."""
    m, a = results["machine"], results["bake"]
    lines = [
        "# Sentence pairs",
        "",
        f"Written by `python benchmarks/bench_pairs.py` on {results['date']}. Machine: {m['cpu']}, {m['cores']} "
        f"cores. Every figure in a table comes from this one run.",
        "",
        "## The pair bake on its sample (synthetic labels: a same-class fragment of another review)",
        "",
        f"Test pairs: {a['rows']['test']}. Baseline (pair features): {a['baseline_accuracy']:.4f}; "
        f"`scratch:small`: {a['small_accuracy']:.4f}. Handler on the CPU: fp32 {a['pairs_per_s']['fp32']:.0f} "
        f"pairs/s, int8 {a['pairs_per_s']['int8']:.0f} pairs/s "
        f"(**{a['pairs_per_s']['int8'] / a['pairs_per_s']['fp32']:.2f}x**), agreement {a['agreement']:.4f}, "
        f"accuracy fp32 {a['fp32_accuracy']:.4f} / int8 {a['int8_accuracy']:.4f}.",
        "",
        "## Learnability: one text alone is at chance",
        "",
        f"Sets built from the NSMC training file, tested on {results['sets'][0]['test_rows']} pairs from its test file "
        "(half of each set's labels true). `polarity`: the claim 긍정적인 리뷰다 / 부정적인 리뷰다, true when it "
        "matches the review's NSMC label (the label is the review's polarity XOR the claim's: either text alone is "
        "at chance). "
        "`lexical`: the claim is a run of words from this review or from another one. `pair`: the project's pair "
        "encoding (segment ids; the baseline with pair features: each text's n-grams, shared n-grams, overlap ratios, "
        "hashed crossed words); `joined`: the claim appended to the review as one text (the baseline: one bag of "
        f"n-grams). `scratch:tiny`, {results.get('epochs', 3):g} epochs, every other setting at its default. "
        "`train s`: wall seconds on a machine other jobs shared (a record, not a speed figure; the pairs/s above too).",
        "",
        "| set | encoding | train rows | baseline accuracy | scratch:tiny accuracy | macro-F1 | train s |",
        "|---|---|---|---|---|---|---|",
    ]
    for found in results["sets"]:
        for row in found["models"]:
            lines.append(
                f"| {found['set']} | {row['encoding']} | {row['rows']} | {row['baseline_accuracy']:.4f} | "
                f"{row['accuracy']:.4f} | {row['macro_f1']:.4f} | {row['train_seconds']:.0f} |"
            )
    return "\n".join(lines) + "\n"


def run_all(quick: bool, sizes: tuple[int, ...] = (2000, 8000), epochs: float = 3) -> dict:
    """Every measurement of this file (what ``make bench`` runs): the learnability sets, then the pair bake."""
    sizes = (500,) if quick else sizes
    results: dict = {"machine": machine(), "date": time.strftime("%Y-%m-%d"), "sets": [], "epochs": epochs}
    for name in SETS:
        results["sets"].append(run_set(name, list(sizes), 1 if quick else epochs, {}))
    results["bake"] = pair_bake(quick)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--rows", default="2000,8000", help="training sizes, comma separated")
    parser.add_argument("--epochs", type=float, default=3)
    parser.add_argument("--sets", default="polarity,lexical")
    parser.add_argument("--skip-bake", action="store_true", help="only the learnability sets")
    parser.add_argument("--encodings", default="pair,joined")
    parser.add_argument("--set", action="append", default=[], help="a training setting for the sets: key=value")
    parser.add_argument("--out", default="results-pairs.json", help="the JSON file written (benchmarks/)")
    args = parser.parse_args()
    sizes = [500] if args.quick else [int(size) for size in args.rows.split(",")]
    results: dict = {"machine": machine(), "date": time.strftime("%Y-%m-%d"), "sets": [], "epochs": args.epochs}
    for name in args.sets.split(","):
        overrides = dict(setting.split("=", 1) for setting in args.set)
        encodings = tuple(args.encodings.split(","))
        results["sets"].append(run_set(name, sizes, 1 if args.quick else args.epochs, overrides, encodings))
        (HERE / args.out).write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", "utf-8")
    if not args.skip_bake:
        results["bake"] = pair_bake(args.quick)
    (HERE / args.out).write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", "utf-8")
    if "bake" in results:
        (HERE / "RESULTS-pairs.md").write_text(render(results), encoding="utf-8")
    print(json.dumps(results, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
