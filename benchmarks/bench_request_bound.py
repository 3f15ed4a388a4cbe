"""The worst real-time request in fp32: what the handler's token bound (serving/request_rules.py's
DEFAULT_MAX_TOKENS: 1,024 texts of 128 tokens) costs per text and per request, for each model shape a baked
project may serve: scratch:tiny, scratch:small and the default base model's shape
(monologg/koelectra-small-v3-discriminator: its config's sizes with random weights, which cost the same). Every
text is max_length long (no padding to save), in the handler's 64-row micro-batches, torch pinned to one thread;
the figure is CPU-seconds, the best of a few rounds.

    python benchmarks/bench_request_bound.py            # writes benchmarks/RESULTS-request-bound.md
"""

from __future__ import annotations

import time
from pathlib import Path

import common
from common import machine, pkg

HERE = Path(__file__).resolve().parent
MAX_LENGTH = 128
ROUNDS = 3
KOELECTRA_SMALL_V3 = {  # the hub config of monologg/koelectra-small-v3-discriminator
    "vocab_size": 35000,
    "embedding_size": 128,
    "hidden_size": 256,
    "num_hidden_layers": 12,
    "num_attention_heads": 4,
    "intermediate_size": 1024,
}


def cpu_seconds_per_text(size: dict, batching) -> float:
    """Best-of-ROUNDS CPU-seconds per max_length text in one micro-batch of batching.MICRO_BATCH rows."""
    import torch
    from transformers import ElectraConfig, ElectraForSequenceClassification

    torch.manual_seed(0)
    model = ElectraForSequenceClassification(ElectraConfig(**size, max_position_embeddings=512, num_labels=2))
    model.eval()
    rows = [torch.randint(5, size["vocab_size"], (MAX_LENGTH,)).tolist() for _ in range(batching.MICRO_BATCH)]
    input_ids, attention_mask = batching.padded(rows, 0)
    best = float("inf")
    with torch.inference_mode():
        model(input_ids=input_ids, attention_mask=attention_mask)  # warm-up
        for _ in range(ROUNDS):
            start = time.process_time()
            model(input_ids=input_ids, attention_mask=attention_mask)
            best = min(best, (time.process_time() - start) / len(rows))
    return best


def main() -> None:
    import torch

    common.baked_project()
    rules, batching, sources = pkg("serving.request_rules"), pkg("model.batching"), pkg("model.sources")
    torch.set_num_threads(1)
    shapes = {
        "scratch:tiny": sources.SCRATCH_SIZES["tiny"],
        "scratch:small": sources.SCRATCH_SIZES["small"],
        "koelectra-small-v3 shape (the default base model)": KOELECTRA_SMALL_V3,
    }
    texts = rules.DEFAULT_MAX_TOKENS // MAX_LENGTH
    lines = [
        "# The worst real-time request (fp32, CPU)",
        "",
        f"Written by `python benchmarks/bench_request_bound.py` on {time.strftime('%Y-%m-%d')}. "
        f"Machine: {machine()['cpu']}, {machine()['cores']} cores; torch {torch.__version__}, pinned to 1 thread.",
        "",
        f"The handler bounds a request to {rules.DEFAULT_MAX_TOKENS:,} tokens ({texts:,} texts of {MAX_LENGTH}). "
        f"Each row: every text {MAX_LENGTH} tokens, {batching.MICRO_BATCH}-row micro-batches, best of {ROUNDS}.",
        "",
        "| model | CPU-ms per text | CPU-s per worst request |",
        "|---|---|---|",
    ]
    for name, size in shapes.items():
        per_text = cpu_seconds_per_text(size, batching)
        lines.append(f"| {name} | {per_text * 1000:.1f} | {per_text * texts:.1f} |")
        print(lines[-1], flush=True)
    (HERE / "RESULTS-request-bound.md").write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
