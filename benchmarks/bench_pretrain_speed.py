"""`pretrain`'s training step: the vocabulary head on the masked positions alone (training/masked_lm_loss.py)
against the model's own masked-LM loss (every position through the head: what transformers' run_mlm.py and the
Trainer compute), side by side in one run.

Two copies of the same ElectraForMaskedLM (the project's scratch sizes, its WordPiece tokenizer trained on the
texts), the same batches and masks (DataCollatorForLanguageModeling, drawn once a batch), the same step (forward,
backward, gradient clipping, AdamW), timed in alternating blocks so that other load on the machine falls on both.
The two copies' losses are compared too: they must stay equal (the same loss, computed on fewer positions).

    python benchmarks/bench_pretrain_speed.py [--texts 20000] [--steps 60] [--sizes tiny,small]

Writes benchmarks/RESULTS-pretrain-speed.md.
"""

from __future__ import annotations

import argparse
import copy
import os
import time
from pathlib import Path

from common import baked_project, machine, nsmc_files, pkg

HERE = Path(__file__).resolve().parent
BLOCK = 5  # steps a block; the arms alternate block by block
BATCH = 32  # train.batch_size's default


def texts_of(path: Path, rows: int) -> list[str]:
    """The first ``rows`` texts of an NSMC-format TSV (id, document, label), NFC as the project reads them."""
    normalize = pkg("data.normalize").Normalizer()
    lines = path.read_text(encoding="utf-8").splitlines()[1 : rows + 1]
    return [text for line in lines if (text := normalize(line.split("\t")[1]))]


def step(model, optimizer, loss_of, batch, seed: int) -> float:
    """pretrain.Pretraining.step's work on one batch, dropout drawn from ``seed`` (both arms drop the same units);
    returns its loss."""
    import torch

    torch.manual_seed(seed)
    loss = loss_of(batch)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    return float(loss.detach())


def measure(size: str, texts: list[str], steps: int) -> dict:
    """Seconds a step of each arm and the largest loss difference between them, for scratch:``size``."""
    import torch
    from transformers import DataCollatorForLanguageModeling, ElectraConfig, ElectraForMaskedLM

    sources = pkg("model.sources")
    shape = sources.SCRATCH_SIZES[size]
    tokenizer = sources.train_tokenizer(texts, shape["vocab_size"])
    torch.manual_seed(0)
    config = ElectraConfig(**{**shape, "vocab_size": len(tokenizer)}, pad_token_id=tokenizer.pad_token_id)
    own = ElectraForMaskedLM(config).train()
    masked = copy.deepcopy(own)
    scorer = pkg("training.masked_lm_loss").MaskedPositionsLoss(masked)
    arms = {
        "model's own loss": (own, lambda batch: own(**batch).loss),
        "masked positions only": (masked, lambda batch: scorer(**batch)),
    }
    optimizers = {name: torch.optim.AdamW(model.parameters(), lr=2.5e-4) for name, (model, _) in arms.items()}
    collator = DataCollatorForLanguageModeling(tokenizer, mlm_probability=0.15)
    dataset = pkg("training.pretrain").TextDataset(tokenizer, texts, 128)  # what pretrain batches, unpadded
    rows = [dataset[i] for i in range(len(dataset))]
    batches = [collator(rows[start : start + BATCH]) for start in range(0, steps * BATCH, BATCH)]
    seconds, losses = dict.fromkeys(arms, 0.0), {name: [] for name in arms}
    warm = collator(rows[-BATCH:])
    for model, loss_of in arms.values():  # warm-up, untimed, without an optimizer step: the copies stay equal
        loss_of(warm).backward()
        model.zero_grad(set_to_none=True)
    for start in range(0, steps, BLOCK):
        for name, (model, loss_of) in arms.items():
            began = time.perf_counter()
            for index in range(start, min(start + BLOCK, steps)):
                losses[name].append(step(model, optimizers[name], loss_of, batches[index], seed=index))
            seconds[name] += time.perf_counter() - began
    own_losses, masked_losses = losses.values()
    return {
        "size": size,
        "vocabulary": len(tokenizer),
        "steps": steps,
        "seconds_a_step": {name: seconds[name] / steps for name in arms},
        "speedup": seconds["model's own loss"] / seconds["masked positions only"],
        "largest_loss_difference": max(abs(a - b) for a, b in zip(own_losses, masked_losses, strict=True)),
        "last_loss": masked_losses[-1],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--texts", type=int, default=20_000, help="NSMC training texts (tokenizer and batches)")
    parser.add_argument("--steps", type=int, default=60, help="timed steps of each arm")
    parser.add_argument("--sizes", default="tiny,small")
    args = parser.parse_args()
    load = os.getloadavg()[0]  # other jobs share the cores: alternating blocks put their load on both arms
    project = baked_project()
    train_file, _, where = nsmc_files(project)
    texts = texts_of(train_file, args.texts)
    results = [measure(size, texts, args.steps) for size in args.sizes.split(",")]
    m = machine()
    lines = [
        "# `pretrain`'s step: the head on the masked positions alone against the model's own loss\n",
        f"Written by `benchmarks/bench_pretrain_speed.py` on {time.strftime('%Y-%m-%d')}. Machine: {m['cpu']}, "
        f"{m['cores']} cores, GPU: {m['gpu']}; torch {m['torch']}, transformers {m['transformers']}. Texts: the "
        f"first {len(texts):,} of {where}; batch {BATCH}, masking 15%, {args.steps} timed steps an arm in "
        f"alternating blocks of {BLOCK}; load average {load:.1f} when it started.\n",
        "| model (vocabulary) | model's own loss: s a step | masked positions only: s a step | speed-up | largest "
        "loss difference over the steps |",
        "|---|---|---|---|---|",
    ]
    for r in results:
        own, masked = r["seconds_a_step"].values()
        lines.append(
            f"| scratch:{r['size']} ({r['vocabulary']:,}) | {own:.3f} | {masked:.3f} | **{r['speedup']:.2f}x** | "
            f"{r['largest_loss_difference']:.2e} |"
        )
    text = "\n".join(lines) + "\n"
    (HERE / "RESULTS-pretrain-speed.md").write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
