"""Training throughput per CPU-second: the project's length-grouped dynamic padding against what people run
otherwise: transformers' default (``DataCollatorWithPadding``, random batches) and the workshop's
``padding='max_length'`` (128). Same model, data, seed and optimizer; one thread in every row.

Each variant runs one whole epoch over the same random subset of the training file, so the padding it pays is
the padding of a full epoch (a short window of steps is not: its batches are not a fair sample). The padded
tokens per sample of a full epoch over the *whole* file are computed too, from the token lengths alone, to show
that the subset stands for it.
"""

from __future__ import annotations

import random

import torch

from common import CpuTimer, pkg

BATCH = 32


class FixedWidthCollator:
    """Pads every batch to one width (the workshop's tokenizer(..., padding='max_length', max_length=128))."""

    def __init__(self, pad_token_id: int, width: int):
        self.pad_token_id, self.width = pad_token_id, width

    def __call__(self, features):
        input_ids = torch.full((len(features), self.width), self.pad_token_id, dtype=torch.long)
        attention_mask = torch.zeros_like(input_ids)
        for row, feature in enumerate(features):
            ids = feature["input_ids"][: self.width]
            input_ids[row, : len(ids)] = torch.as_tensor(ids)
            attention_mask[row, : len(ids)] = 1
        labels = torch.tensor([f["labels"] for f in features])
        return {"input_ids": input_ids, "attention_mask": attention_mask, "labels": labels}


def epoch_batches(order: list[int], batch: int) -> list[list[int]]:
    return [order[start : start + batch] for start in range(0, len(order), batch)]


def padded_tokens_per_sample(lengths: list[int], batches: list[list[int]], width: int | None) -> float:
    """What a whole epoch pads to: each batch to its longest item, or every item to ``width``."""
    total = sum(len(b) * (width or max(lengths[i] for i in b)) for b in batches)
    return total / sum(len(b) for b in batches)


def orders(lengths: list[int], seed: int = 0) -> dict[str, list[int]]:
    shuffled = list(range(len(lengths)))
    random.Random(seed).shuffle(shuffled)
    grouped = list(pkg("model.features").LengthGroupedSampler(lengths, BATCH, seed=seed))
    return {"grouped": grouped, "random": shuffled}


def run(
    train_records, subset_rows: int, model_source: str = "scratch:small", max_length: int = 128, device: str = "cpu"
) -> dict:
    """One epoch per variant; on a CPU torch is pinned to one thread, on a GPU the clock stops after a sync."""
    from transformers import DataCollatorWithPadding

    features, LabelSchema = pkg("model.features"), pkg("data.labels").LabelSchema
    build_dataset, build_scratch = features.build_dataset, pkg("model.sources").build_scratch
    on_gpu = device.startswith("cuda")
    if not on_gpu:
        torch.set_num_threads(1)
    torch.manual_seed(0)
    schema = LabelSchema(("negative", "positive"))
    tokenizer, model = build_scratch(model_source, [r.text for r in train_records[:20_000]], schema, max_length)
    whole = build_dataset(tokenizer, train_records, max_length, show_progress=False)
    rows = random.Random(1).sample(range(len(whole)), min(subset_rows, len(whole)))
    subset = [train_records[i] for i in rows]
    dataset = build_dataset(tokenizer, subset, max_length, show_progress=False)
    model.to(device)
    initial = {k: v.clone() for k, v in model.state_dict().items()}
    hf_default = DataCollatorWithPadding(tokenizer)
    dynamic = features.DynamicPaddingCollator(tokenizer.pad_token_id)
    variants = {
        "length-grouped batches, dynamic padding (project)": (dynamic, "grouped", None),
        "random batches, `DataCollatorWithPadding` (transformers default)": (hf_default, "random", None),
        f"random batches, `padding='max_length'` ({max_length}, the workshop)": (
            FixedWidthCollator(tokenizer.pad_token_id, max_length),
            "random",
            max_length,
        ),
    }
    full_orders, subset_orders = orders(whole.lengths), orders(dataset.lengths)
    results = {}
    for name, (collator, order_name, width) in variants.items():
        model.load_state_dict(initial)
        model.train()
        optimizer = torch.optim.AdamW(model.parameters(), lr=5e-4)
        batches = epoch_batches(subset_orders[order_name], BATCH)
        print(f"  {name}: one epoch of {len(dataset)} rows ({len(batches)} steps) ...", flush=True)
        with CpuTimer() as timer:
            for batch_rows in batches:
                batch = collator([dataset[i] for i in batch_rows])
                model(**{key: value.to(device) for key, value in batch.items()}).loss.backward()
                optimizer.step()
                optimizer.zero_grad()
            if on_gpu:
                torch.cuda.synchronize()
        results[name] = {
            "samples_per_cpu_s": len(dataset) / timer.cpu_seconds,
            "samples_per_s": len(dataset) / timer.seconds,
            "cpu_seconds": timer.cpu_seconds,
            "padded_tokens_per_sample": padded_tokens_per_sample(dataset.lengths, batches, width),
            "full_file_padded_tokens_per_sample": padded_tokens_per_sample(
                whole.lengths, epoch_batches(full_orders[order_name], BATCH), width
            ),
        }
    return {
        "model": model_source,
        "batch": BATCH,
        "rows": len(dataset),
        "file_rows": len(whole),
        "threads": 1 if not on_gpu else torch.get_num_threads(),
        "device": torch.cuda.get_device_name(0) if on_gpu else "cpu",
        "variants": results,
    }
