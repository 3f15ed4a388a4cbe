"""`make bench`: bake the default project, measure it side by side, write benchmarks/RESULTS.md.

Every claim is a ratio of two measurements taken in this one run on this one machine.
    python benchmarks/run_all.py [--quick] [--small-rows N] [--small-epochs E] [--skip-accuracy]
"""

from __future__ import annotations

import argparse
import json
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
    parser.add_argument("--quick", action="store_true", help="small sizes, no full-data accuracy runs")
    parser.add_argument("--small-rows", type=int, default=30_000, help="training rows for scratch:small")
    parser.add_argument("--small-epochs", type=float, default=1.0)
    parser.add_argument("--skip-accuracy", action="store_true")
    args = parser.parse_args()

    import bench_accuracy
    import bench_bake
    import bench_inference
    import bench_training

    started = time.time()
    project = baked_project()
    train_path, test_path, data_source = nsmc_files(project)
    subset = pkg("data.splits").subset
    train_records, test_records = load(train_path), load(test_path)
    results: dict = {"machine": machine(), "data": data_source}

    print("== training throughput", flush=True)
    results["training"] = bench_training.run(subset(train_records, max_rows=2000 if args.quick else 4000, seed=1))
    print("== inference throughput", flush=True)
    texts = [r.text for r in test_records[: 1000 if args.quick else 5000]]
    results["inference"] = {}
    for source in ("scratch:tiny", "scratch:small"):
        model_dir = bench_inference.save_model(
            project / "artifacts" / source.replace(":", "-"), [r.text for r in train_records[:20000]], source
        )
        results["inference"][source] = bench_inference.run(model_dir, texts)
    if not (args.quick or args.skip_accuracy):
        print("== accuracy: baseline", flush=True)
        results["baseline"] = bench_accuracy.baseline(project, train_path, test_path)
        print("== accuracy: scratch:small", flush=True)
        with Timer() as small:
            results["scratch_small"] = bench_accuracy.scratch_small(
                project, train_path, test_path, args.small_rows, args.small_epochs
            )
        results["scratch_small"]["wall_seconds"] = small.seconds
    print("== template loop: bake + baked tests", flush=True)
    results["bake"] = bench_bake.run()
    results["wall_seconds"] = time.time() - started
    (HERE / "results.json").write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    (HERE / "RESULTS.md").write_text(render(results), encoding="utf-8")
    print(render(results))
    return 0


def render(r: dict) -> str:
    m = r["machine"]
    lines = [
        "# Benchmark results",
        "",
        f"Written by `make bench` ({time.strftime('%Y-%m-%d')}). Machine: {m['cpu']}, {m['cores']} cores, "
        f"GPU: {m['gpu']}. Python {m['python']}, torch {m['torch']}, transformers {m['transformers']}, "
        f"tokenizers {m['tokenizers']}. Data: {r['data']}. Ratios compare runs made side by side in this run.",
        "",
        "## Training throughput",
        "",
    ]
    t = r["training"]
    variants = list(t["variants"].items())
    base = variants[0][1]["samples_per_s"]
    lines += [
        f"Model `{t['model']}`, batch {t['batch']}, {t['steps']} optimizer steps each, same seed and data "
        "(forward + backward + AdamW step on CPU).",
        "",
        "| batching | padded tokens / sample | samples/s | project speed-up |",
        "|---|---|---|---|",
    ]
    for name, v in variants:
        lines.append(
            f"| {name} | {v['padded_tokens_per_sample']:.1f} | {v['samples_per_s']:.1f} | "
            f"{base / v['samples_per_s']:.1f}x |"
        )
    lines += [
        "",
        "## Inference throughput",
        "",
        f"{r['inference']['scratch:small']['texts']} NSMC test reviews (pipeline: the first 300, one call each); "
        "CPU, same process, one run.",
        "",
        "| model | path | reviews/s | vs pipeline |",
        "|---|---|---|---|",
    ]
    for model, i in r["inference"].items():
        rows = [
            ("handler `predict_fn`, length-sorted micro-batches", i["batched_per_s"]),
            ("transformers `pipeline`, one text per call", i["pipeline_per_s"]),
            ("`predict` client, in-process target", i["client_in_process_per_s"]),
            ("`predict` client → local server (HTTP, 4 in flight, 64 per request)", i["client_server_per_s"]),
        ]
        for name, rate in rows:
            lines.append(f"| `{model}` | {name} | {rate:.0f} | {rate / i['pipeline_per_s']:.1f}x |")
    if "baseline" in r:
        b, s = r["baseline"], r["scratch_small"]
        lines += [
            "",
            "## Accuracy on NSMC test",
            "",
            "| model | train examples | test accuracy | macro-F1 | time |",
            "|---|---|---|---|---|",
            f"| `baseline` (TF-IDF char 1-3-grams + logistic regression) | {b['train_examples']} | "
            f"{b['accuracy']:.4f} | {b['macro_f1']:.4f} | fit {b['fit_seconds']:.0f} s |",
            f"| `scratch:small` (offline tokenizer + 4-layer ELECTRA), {s['epochs']:g} epoch on CPU | "
            f"{s['train_examples']} | {s['accuracy']:.4f} | {s['macro_f1']:.4f} | "
            f"train {s['train_seconds']:.0f} s |",
        ]
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
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
