"""`make bench`: bake the default project, measure it side by side, write benchmarks/RESULTS.md.

Every claim is a ratio of two measurements taken in this one run on this one machine.
    python benchmarks/run_all.py [--quick] [--small-rows N] [--small-epochs E]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from common import Timer, baked_project, machine, nsmc_files, pkg

HERE = Path(__file__).resolve().parent


def load(path: Path):
    validation = pkg("data.validation")
    report = validation.load_records(
        path,
        validation.ReadOptions("tsv", "document", "label", "id"),
        pkg("data.labels").LabelSchema(("negative", "positive")),
        pkg("data.normalize").Normalizer(),
    )
    return report.records


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes: checks the benchmark, proves nothing")
    parser.add_argument("--small-rows", type=int, default=30_000, help="training rows for scratch:small")
    parser.add_argument("--small-epochs", type=float, default=1.0)
    parser.add_argument("--speed-texts", type=int, default=3000, help="test reviews each inference path times")
    parser.add_argument("--epoch-rows", type=int, default=3200, help="rows of the training-throughput epoch")
    args = parser.parse_args()

    import bench_multi_label

    import bench_accuracy
    import bench_bake
    import bench_inference
    import bench_training

    started = time.time()
    project = baked_project()
    train_path, test_path, data_source = nsmc_files(project)
    train_records, test_records = load(train_path), load(test_path)
    if args.quick:
        test_records = test_records[:2000]
    results: dict = {"machine": machine(), "data": data_source, "date": time.strftime("%Y-%m-%d")}

    print("== accuracy: the n-gram baseline", flush=True)
    results["baseline"] = bench_accuracy.baseline(project, train_path, test_path)
    if not args.quick:
        print("== accuracy: the baseline with kiwipiepy morphemes (when installed)", flush=True)
        results["morphemes"] = bench_accuracy.baseline_with_morphemes(
            train_records, test_records, results["baseline"]["c"]
        )
    print("== accuracy: scratch:small", flush=True)
    with Timer() as small:
        results["scratch_small"] = bench_accuracy.scratch_small(
            project, train_path, test_path, 3000 if args.quick else args.small_rows, args.small_epochs
        )
    results["scratch_small"]["wall_seconds"] = small.seconds
    print("== inference, the trained scratch:small", flush=True)
    results["inference"] = bench_inference.run(
        Path(results["scratch_small"]["model_dir"]),
        [r.text for r in test_records],
        [r.label for r in test_records],
        speed_texts=500 if args.quick else args.speed_texts,
    )
    print("== training throughput", flush=True)
    results["training"] = bench_training.run(train_records, 640 if args.quick else args.epoch_rows)
    print("== multi-label: baseline, scratch:small, int8 against fp32", flush=True)
    results["multi_label"] = bench_multi_label.run(args.quick)
    print("== sentence pairs: the pair bake, int8 against fp32, learnability (benchmarks/bench_pairs.py)", flush=True)
    import bench_pairs

    results["pairs"] = bench_pairs.run_all(args.quick)
    print("== real sets: what train ships against the baseline (benchmarks/bench_real_sets.py)", flush=True)
    subprocess.run([sys.executable, str(HERE / "real_sets_data.py")], check=True)  # skips a set with no mirror
    import ratings_data

    if not (HERE / ".data/ratings5/train.tsv").is_file() and ratings_data.MIRROR.exists():
        subprocess.run([sys.executable, str(HERE / "ratings_data.py")], check=True)
    real = ["--sets", "hate,nsmc,ratings5,bias,chatbot,unsmile,xnli,korsts", "--model", "scratch:tiny", "--pretrain"]
    subprocess.run(
        [sys.executable, str(HERE / "bench_real_sets.py"), *real, *(["--nsmc-train", "5000"] if args.quick else [])],
        check=True,
    )
    results["real_sets"] = (HERE / "RESULTS-real-sets.md").read_text(encoding="utf-8").split("\n\n", 2)[-1]
    print("== template loop: bake + baked tests", flush=True)
    results["bake"] = bench_bake.run()
    results["wall_seconds"] = time.time() - started
    results["quick"] = args.quick
    (HERE / "results.json").write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    (HERE / "RESULTS.md").write_text(render(results), encoding="utf-8")
    print(render(results))
    return 0


QUICK_NOTE = " (--quick: sizes too small to prove anything)"


def render(r: dict) -> str:
    from bench_inference import HANDLER_FP32, HANDLER_INT8, PIPELINE, PIPELINE_PER_TEXT

    m = r["machine"]
    lines = [
        "# Benchmark results",
        "",
        f"Written by `make bench` on {r['date']}{QUICK_NOTE if r['quick'] else ''}. "
        f"Machine: {m['cpu']}, {m['cores']} cores, GPU: {m['gpu']}. Python {m['python']}, torch {m['torch']}, "
        f"transformers {m['transformers']}, tokenizers {m['tokenizers']}. Data: {r['data']}. "
        "Every ratio compares measurements taken side by side in this one run.",
        "",
    ]
    if r.get("note"):
        lines += [r["note"], ""]
    i = r["inference"]
    paths = i["paths"]
    fp32, int8, pipe = paths[HANDLER_FP32], paths[HANDLER_INT8], paths[PIPELINE]
    lines += [
        "## Inference (CPU)",
        "",
        f"`scratch:small` trained below; after a warm-up on as many other reviews, {i.get('repeats', 1)} rounds "
        f"over every path, each round on {i['texts']} NSMC test reviews no path has seen (the one-call-per-text "
        f"pipeline: {paths[PIPELINE_PER_TEXT]['texts']}); each figure is the path's median round; torch and "
        f"OpenVINO pinned to {i['threads']} thread, "
        f"reviews per CPU-second of the whole process (the server thread included) and per wall second. "
        f"Accuracy: the whole test file ({i['accuracy_texts']} reviews) through that path.",
        "",
        "| path | reviews / CPU-s | reviews / s | vs fp32 handler | vs `pipeline(batch_size=64)` | accuracy |",
        "|---|---|---|---|---|---|",
    ]
    for name, p in paths.items():
        accuracy = f"{p['accuracy']:.4f}" if "accuracy" in p else "(same numbers as above)"
        lines.append(
            f"| {name} | {p['per_cpu_s']:.0f} | {p['per_s']:.0f} | {p['per_cpu_s'] / fp32['per_cpu_s']:.2f}x | "
            f"{p['per_cpu_s'] / pipe['per_cpu_s']:.1f}x | {accuracy} |"
        )
    drop = 100 * (fp32["accuracy"] - int8["accuracy"])
    lines += [
        "",
        f"int8 handler: **{int8['per_cpu_s'] / fp32['per_cpu_s']:.2f}x** the fp32 handler and "
        f"**{int8['per_cpu_s'] / pipe['per_cpu_s']:.1f}x** `pipeline(batch_size=64)` per CPU-second; accuracy "
        f"{int8['accuracy']:.4f} against fp32 {fp32['accuracy']:.4f} ({drop:+.2f} points lost).",
    ]
    if "per_cpu_s_each" in int8:
        each = zip(int8["per_cpu_s_each"], fp32["per_cpu_s_each"], strict=True)
        rounds = ", ".join(f"{a / b:.2f}x" for a, b in each)
        lines.append(f"Round by round, int8 handler / fp32 handler: {rounds}.")
    check = r["scratch_small"].get("int8_check")
    if check:
        lines.append(
            f"The check `train` recorded in the artifact (validation split, {check['metric']}): fp32 "
            f"{check['fp32_score']:.4f}, int8 {check['int8_score']:.4f}, agreement {check['agreement']:.4f}, "
            f"{'allowed' if check['allowed'] else 'refused'}."
        )
    t = r["training"]
    variants = list(t["variants"].items())
    project_rate = variants[0][1]["samples_per_cpu_s"]
    lines += [
        "",
        "## Training throughput (CPU)",
        "",
        f"Model `{t['model']}`, batch {t['batch']}, forward + backward + AdamW step, torch pinned to "
        f"{t['threads']} thread. Each row is one whole epoch over the same random {t['rows']} rows of the "
        f"training file; the last column is what a whole epoch over all {t['file_rows']} rows pads to, computed "
        "from the token lengths: the subset pads like the file.",
        "",
        "| batching | padded tokens / sample | samples / CPU-s | samples / s | project speed-up | "
        "whole-file epoch: padded tokens / sample |",
        "|---|---|---|---|---|---|",
    ]
    for name, v in variants:
        lines.append(
            f"| {name} | {v['padded_tokens_per_sample']:.1f} | {v['samples_per_cpu_s']:.1f} | "
            f"{v['samples_per_s']:.1f} | {project_rate / v['samples_per_cpu_s']:.2f}x | "
            f"{v['full_file_padded_tokens_per_sample']:.1f} |"
        )
    b, s = r["baseline"], r["scratch_small"]
    grid = ", ".join(f"C={c}: {a:.4f}" for c, a in b["validation_score_by_c"].items())
    lines += [
        "",
        "## Accuracy on the NSMC test file",
        "",
        "| model | train examples | test accuracy | macro-F1 | time |",
        "|---|---|---|---|---|",
        f"| `baseline`: NB-weighted logistic regression, word 1-2 + char 1-5 grams ({b['features']:,} n-grams), "
        f"C={b['c']} | {b['train_examples']} | {b['accuracy']:.4f} | {b['macro_f1']:.4f} | "
        f"{b['fit_seconds']:.0f} s ({b['fit_cpu_seconds']:.0f} CPU-s) |",
        f"| `scratch:small` (offline tokenizer + 4-layer ELECTRA), {s['epochs']:g} epoch on CPU | "
        f"{s['train_examples']} | {s['accuracy']:.4f} | {s['macro_f1']:.4f} | "
        f"train {s['train_seconds']:.0f} s (whole run {s['cpu_seconds']:.0f} CPU-s) |",
    ]
    morph = r.get("morphemes")
    if morph:
        lines.append(
            f"| the baseline + morpheme 1-2 grams from `kiwipiepy` {morph['version']} ({morph['installed_mb']:.0f} MB "
            f"installed), same C | {b['train_examples']} | {morph['accuracy']:.4f} | | "
            f"{morph['cpu_seconds']:.0f} CPU-s |"
        )
    lines += [
        "",
        f"The baseline chose C on the validation split ({grid}), then fitted on the whole training file; "
        f"its artifact scores any file: `evaluate --model-dir {Path(b['artifact']).name} --test-file FILE`.",
    ]
    if not morph:
        lines.append("Morphemes: `kiwipiepy` is not installed here; install it and rerun to measure what it adds.")
    if r.get("multi_label"):
        from bench_multi_label import line

        lines += ["", "## Multi-label", "", line(r["multi_label"])]
    if r.get("real_sets"):  # bench_real_sets.py's table: trivial, baseline, transformer, pretrain, shipped, ECE, speed
        lines += ["", "## What `train` ships on real sets", "", r["real_sets"].strip()]
    k = r["bake"]
    lines += [
        "",
        "## Template loop",
        "",
        f"Bake the default project: {k['bake_seconds']:.1f} s; its test suite: {k['tests_seconds']:.1f} s "
        f"({k['summary']}); total {k['total_seconds']:.1f} s.",
        "",
        f"Whole benchmark run: {r['wall_seconds'] / 60:.1f} min.",
        "",
    ]
    if r.get("pairs"):
        from bench_pairs import render as render_pairs

        lines += ["#" + line if line.startswith("#") else line for line in render_pairs(r["pairs"]).splitlines()]
    lines += [
        "",
        "GPU figures (training on the whole file, the handler against `pipeline` on a GPU) come from "
        "`benchmarks/bench_gpu.py`, run where a GPU is: `benchmarks/RESULTS-gpu.md`.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
