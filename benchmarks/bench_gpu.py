"""GPU figures, side by side on one GPU: scratch:small trained on the whole NSMC training file, the handler
(fp32: what `serve`/deploy pick on a GPU) against `pipeline(texts, batch_size=64)` on the whole test file, and
the training-throughput epoch of bench_training on the GPU. `train` chooses what ships as users get it (model.ship
auto): the accuracy line names the transformer, the n-gram model and what shipped.

Runs where a GPU and an already baked default project are (no cookiecutter needed there):

    python benchmarks/bench_gpu.py --project PROJECT --nsmc NSMC_DIR --out DIR

and writes DIR/results-gpu.json and DIR/RESULTS-gpu.md.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import common
from common import Timer, machine, pkg

BATCH = 64


def gpu_inference(model_dir: Path, texts: list[str], labels: list[int]) -> dict:
    import numpy as np
    import torch
    from transformers import pipeline

    from bench_inference import handler_answers

    handler = pkg("serving.handler")
    names = list(pkg("data.labels").LabelSchema.load(model_dir / "labels.json").names)
    served = handler.load(model_dir, "auto")  # fp32 on a GPU; what train shipped (a mix scores n-grams on the CPU)
    pipe = pipeline(
        "text-classification", model=str(model_dir), device=0, truncation=True, max_length=served["max_length"]
    )

    paths = {
        "`pipeline(texts, batch_size=64)` on the GPU": lambda t: pipe(t, batch_size=BATCH),
        f"handler `predict_fn`, {served.precision}": lambda t: handler_answers(handler, served, t),
    }
    results = {}
    for name, run in paths.items():
        run(texts[:2000])  # warm-up: kernels, allocator
        torch.cuda.synchronize()
        with Timer() as timer:
            answers = run(texts)
            torch.cuda.synchronize()
        predicted = np.array([names.index(answer["label"]) for answer in answers])
        results[name] = {
            "per_s": len(texts) / timer.seconds,
            "seconds": timer.seconds,
            "accuracy": float((predicted == np.asarray(labels)).mean()),
        }
        print(f"  {name}: {results[name]['per_s']:.0f} reviews/s, accuracy {results[name]['accuracy']:.4f}")
    return {"texts": len(texts), "paths": results}


def shipped_line(ensemble: dict | None) -> str:
    """What train shipped and the three test figures behind it (metrics.json's ensemble record)."""
    if not ensemble or "test" not in ensemble:
        return "the transformer; no n-gram model fitted"
    figures = ensemble["test"]
    return (
        f"the {ensemble['shipped']}, transformer weight {ensemble['transformer_weight']:.1f}; "
        f"test {ensemble['metric']}: transformer {figures['transformer']:.4f}, n-gram {figures['ngram']:.4f}, "
        f"shipped {figures['shipped']:.4f}"
    )


def render(r: dict) -> str:
    m, s = r["machine"], r["scratch_small"]
    lines = [
        "# GPU benchmark results",
        "",
        f"Written by `benchmarks/bench_gpu.py` on {r['date']}. Device: {m['gpu']} ({m['cores']} CPU cores), "
        f"torch {m['torch']}, transformers {m['transformers']}. Every ratio compares measurements taken side by "
        "side in this one run.",
        "",
        "## Training `scratch:small` on the whole NSMC training file",
        "",
        f"{s['train_examples']} examples, {s['epochs']:g} epoch, batch 64: train {s['train_seconds']:.0f} s "
        f"({s['train_examples'] * s['epochs'] / s['train_seconds']:.0f} samples/s), whole run "
        f"{s['wall_seconds']:.0f} s (tokenizer, int8 check on the CPU, test). Test accuracy "
        f"**{s['accuracy']:.4f}** (macro-F1 {s['macro_f1']:.4f}) on {s['test_examples']} reviews: what `train` "
        f"ships ({shipped_line(s.get('ensemble'))}).",
        "",
        "## Inference on the GPU, the whole test file",
        "",
        "| path | reviews / s | vs pipeline | accuracy |",
        "|---|---|---|---|",
    ]
    paths = r["inference"]["paths"]
    pipe = next(iter(paths.values()))
    for name, p in paths.items():
        lines.append(f"| {name} | {p['per_s']:.0f} | {p['per_s'] / pipe['per_s']:.1f}x | {p['accuracy']:.4f} |")
    t = r["training"]
    variants = t["variants"]
    project_row = next(iter(variants.values()))
    lines += [
        "",
        f"## Training throughput on the GPU (one epoch over the same random {t['rows']} rows, batch {t['batch']})",
        "",
        "| batching | padded tokens / sample | samples / s | project speed-up |",
        "|---|---|---|---|",
    ]
    for name, v in variants.items():
        lines.append(
            f"| {name} | {v['padded_tokens_per_sample']:.1f} | {v['samples_per_s']:.0f} | "
            f"{project_row['samples_per_s'] / v['samples_per_s']:.2f}x |"
        )
    lines += ["", f"Whole run: {r['wall_seconds'] / 60:.1f} min.", ""]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--project", type=Path, required=True, help="a baked default project")
    parser.add_argument("--nsmc", type=Path, required=True, help="folder with ratings_train.txt, ratings_test.txt")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--epochs", type=float, default=1.0)
    parser.add_argument("--epoch-rows", type=int, default=32_000, help="rows of the training-throughput epoch")
    args = parser.parse_args()
    import torch

    if not torch.cuda.is_available():
        print("error: no GPU here (bench_gpu.py measures a GPU)", file=sys.stderr)
        return 1
    args.project = args.project.resolve()
    common._baked[:] = [args.project]
    from run_all import load

    import bench_accuracy
    import bench_training

    started = time.time()
    nsmc = args.nsmc.resolve()
    train_path, test_path = nsmc / "ratings_train.txt", nsmc / "ratings_test.txt"
    results: dict = {"machine": machine(), "date": time.strftime("%Y-%m-%d")}
    print("== train scratch:small on the GPU", flush=True)
    with Timer() as small:
        results["scratch_small"] = bench_accuracy.scratch_small(
            args.project, train_path, test_path, 0, args.epochs, ship="auto"
        )
    results["scratch_small"]["wall_seconds"] = small.seconds
    test_records = load(test_path)
    print("== inference on the GPU", flush=True)
    results["inference"] = gpu_inference(
        Path(results["scratch_small"]["model_dir"]),
        [r.text for r in test_records],
        [r.label for r in test_records],
    )
    print("== training throughput on the GPU", flush=True)
    results["training"] = bench_training.run(load(train_path), args.epoch_rows, device="cuda")
    results["wall_seconds"] = time.time() - started
    args.out.mkdir(parents=True, exist_ok=True)
    text = json.dumps(results, indent=2, ensure_ascii=False) + "\n"
    (args.out / "results-gpu.json").write_text(text, encoding="utf-8")
    (args.out / "RESULTS-gpu.md").write_text(render(results), encoding="utf-8")
    print(render(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
