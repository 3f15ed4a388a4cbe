"""Multi-label: bake the UnSmile-style multi-label project, then, side by side in one run on its shipped sample
(NSMC reviews with synthetic, text-rule labels): the one-vs-rest n-gram baseline and `scratch:small` in micro F1
against answering the most frequent label set, and the trained model's int8 handler against its fp32 handler
(speed per CPU-second, agreement of every (text, label) decision).

    python benchmarks/bench_multi_label.py [--quick] [--epochs E]   # writes benchmarks/RESULTS-multi-label.md
`make bench` (run_all.py) runs it too and puts its line in RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

from common import BUILD, CpuTimer, bake, machine, project_module

HERE = Path(__file__).resolve().parent
TESTS = HERE.parent / "tests"
REPEATS = 3


def baked_multi_label() -> Path:
    """The template's multi-label bake (tests/test_bake.py's unsmile-multi-label-tsv), fresh under build/bench."""
    sys.path.insert(0, str(TESTS))
    from test_bake import UNSMILE_MULTI_LABEL

    return bake(BUILD / "multi-label", UNSMILE_MULTI_LABEL, overwrite=True)


def train_and_baseline(project: Path, epochs: float) -> dict:
    """The baseline and scratch:small on the project's sample: their test metrics and the trivial answer's."""
    module = lambda name: project_module(project, name)  # noqa: E731
    overrides = {"mlflow": False, "data_dir": str(project / "data" / "sample")}
    config = module("config").load_config(project / "config.yaml", overrides)
    dataset = module("data.dataset")
    schema = dataset.load_schema(config)
    train_file = dataset.data_file(config, config.data.train_file)
    splits = dataset.load_splits(config, schema, train_file, dataset.data_file(config, config.data.test_file))
    with CpuTimer() as fit:
        baseline = module("evaluation.baseline").run_baseline(config, schema, splits, BUILD / "multi-label-baseline")
    for folder in ("multi-label-small", "multi-label-ckpt"):
        shutil.rmtree(BUILD / folder, ignore_errors=True)
    small = config.override(
        {
            "base_model": "scratch:small",
            "ship": "transformer",  # its int8 against fp32 is measured, whatever train would ship
            "loop": "torch",
            "epochs": epochs,
            "use_cpu": True,
            "output_dir": str(BUILD / "multi-label-small"),
            "checkpoint_dir": str(BUILD / "multi-label-ckpt"),
        }
    )
    with CpuTimer() as training:
        trained = module("training.run").train(small, quiet=True)
    name = module("tasks").task_named(schema.task).compared_metric
    return {
        "metric": name,
        "trivial": trained["test"]["trivial"],
        "baseline": baseline["test"][name],
        "baseline_cpu_seconds": fit.cpu_seconds,
        "small": trained["test"][name],
        "small_cpu_seconds": training.cpu_seconds,
        "int8_check": trained.get("int8"),
        "train_examples": trained["train_examples"],
        "test_examples": trained["test"]["num_examples"],
        "epochs": small.train.epochs,  # 0 (auto) is settled by train: at least train.min_steps steps
        "model_dir": str(BUILD / "multi-label-small"),
    }


def int8_against_fp32(project: Path, model_dir: Path, texts: list[str]) -> dict:
    """The handler at int8 and at fp32 on ``texts``, one thread each, REPEATS rounds in turn: texts per CPU-second
    (the median round) and the share of (text, label) decisions they agree on."""
    import torch

    handler = project_module(project, "serving.handler")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # OpenVINO takes torch's thread count when the int8 model loads
    models = {precision: handler.load(model_dir, precision) for precision in ("fp32", "int8")}
    answers, rates = {}, {precision: [] for precision in models}
    handler.predict_fn(texts[:64], models["fp32"]), handler.predict_fn(texts[:64], models["int8"])  # warm-up
    for _ in range(REPEATS):
        for precision, model in models.items():
            with CpuTimer() as timer:
                answers[precision] = handler.predict_fn(texts, model)
            rates[precision].append(len(texts) / timer.cpu_seconds)
    torch.set_num_threads(threads)
    names = list(answers["fp32"][0]["scores"])
    agree = sum(
        (name in a["labels"]) == (name in b["labels"])
        for a, b in zip(answers["fp32"], answers["int8"], strict=True)
        for name in names
    )
    median = {precision: sorted(values)[len(values) // 2] for precision, values in rates.items()}
    return {"texts": len(texts), "per_cpu_s": median, "agreement": agree / (len(texts) * len(names))}


def run(quick: bool = False, epochs: float = 0.0) -> dict:
    """Bake, train, measure; returns the results (run_all.py keeps them in results.json)."""
    project = baked_multi_label()
    quality = train_and_baseline(project, 1.0 if quick else epochs)
    texts = [
        line.split("\t")[0]
        for line in (project / "data" / "sample" / "unsmile_valid.tsv").read_text(encoding="utf-8").splitlines()[1:]
    ]
    speed = int8_against_fp32(project, Path(quality["model_dir"]), texts[: 200 if quick else len(texts)])
    return {"quality": quality, "int8": speed}


def line(r: dict) -> str:
    """The multi-label result as one Markdown paragraph of ratios measured side by side."""
    q, s = r["quality"], r["int8"]
    fp32, int8 = s["per_cpu_s"]["fp32"], s["per_cpu_s"]["int8"]
    trivial = (
        f"the most frequent label set for every row ({', '.join(q['trivial']['label_set'])}) scores "
        f"{q['trivial']['f1']:.4f}, no label at all 0"
        if q["trivial"]["label_set"]
        else "the most frequent label set is no label at all: it scores 0"
    )
    return (
        f"Multi-label (the UnSmile-style bake's sample: {q['train_examples']} training / {q['test_examples']} test "
        f"reviews, synthetic labels from text rules): test {q['metric']} of the one-vs-rest baseline "
        f"**{q['baseline']:.4f}**, of `scratch:small` after {q['epochs']:g} epoch(s) **{q['small']:.4f}**; {trivial}. "
        f"int8 handler: **{int8 / fp32:.2f}x** the fp32 handler's texts per CPU-second ({int8:.0f} against "
        f"{fp32:.0f}, one thread, median of {REPEATS} rounds over {s['texts']} texts), agreeing on "
        f"{100 * s['agreement']:.2f}% of the (text, label) decisions."
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="one epoch, 200 texts: checks the benchmark only")
    parser.add_argument("--epochs", type=float, default=0.0, help="0: auto, as train (at least train.min_steps)")
    args = parser.parse_args()
    started = time.time()
    results = run(args.quick, args.epochs)
    m = machine()
    text = (
        "# Multi-label benchmark\n\n"
        f"Written by `benchmarks/bench_multi_label.py` on {time.strftime('%Y-%m-%d')}"
        f"{' (--quick: too small to prove anything)' if args.quick else ''}. Machine: {m['cpu']}, {m['cores']} "
        f"cores. Every ratio compares measurements taken side by side in this one run "
        f"({(time.time() - started) / 60:.1f} min).\n\n{line(results)}\n"
    )
    (HERE / "RESULTS-multi-label.md").write_text(text, encoding="utf-8")
    (HERE / "results-multi-label.json").write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", "utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
