"""Training throughput: dynamic padding + length-grouped batches vs padding to the split's longest text
(what the workshop did) vs padding to max_length. Same model, data, seed and number of steps."""

from __future__ import annotations

import random

import torch

from common import Timer, pkg

BATCH = 32
STEPS = 20
WARMUP = 3


class FixedWidthCollator:
    """Pads every batch to one width: the longest text of the split, or max_length."""

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


def run(records, model_source: str = "scratch:small", max_length: int = 128) -> dict:
    features, LabelSchema = pkg("model.features"), pkg("data.labels").LabelSchema
    DynamicPaddingCollator, LengthGroupedSampler = features.DynamicPaddingCollator, features.LengthGroupedSampler
    build_dataset, build_scratch = features.build_dataset, pkg("model.sources").build_scratch

    torch.manual_seed(0)
    schema = LabelSchema(("negative", "positive"))
    texts = [r.text for r in records]
    tokenizer, model = build_scratch(model_source, texts, schema, max_length)
    dataset = build_dataset(tokenizer, records, max_length, show_progress=False)
    longest = max(dataset.lengths)
    initial = {k: v.clone() for k, v in model.state_dict().items()}
    needed = BATCH * (STEPS + WARMUP)
    rng = random.Random(0)
    shuffled = list(range(len(dataset)))
    rng.shuffle(shuffled)
    grouped = list(LengthGroupedSampler(dataset.lengths, BATCH, seed=0))
    variants = {
        "dynamic padding + length-grouped batches (project)": (DynamicPaddingCollator(tokenizer.pad_token_id), grouped),
        f"pad to the longest text of the split ({longest} tokens, workshop)": (
            FixedWidthCollator(tokenizer.pad_token_id, longest),
            shuffled,
        ),
        f"pad to max_length ({max_length} tokens)": (FixedWidthCollator(tokenizer.pad_token_id, max_length), shuffled),
    }
    results = {}
    for name, (collator, order) in variants.items():
        model.load_state_dict(initial)
        model.train()
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
        batches = [collator([dataset[i] for i in order[s : s + BATCH]]) for s in range(0, needed, BATCH)]
        tokens = 0
        for step, batch in enumerate(batches):
            if step == WARMUP:
                timer = Timer().__enter__()
            model(**batch).loss.backward()
            optimizer.step()
            optimizer.zero_grad()
            if step >= WARMUP:
                tokens += int(batch["input_ids"].numel())
        timer.__exit__()
        results[name] = {
            "samples_per_s": BATCH * STEPS / timer.seconds,
            "seconds": timer.seconds,
            "padded_tokens_per_sample": tokens / (BATCH * STEPS),
        }
    return {"model": model_source, "batch": BATCH, "steps": STEPS, "longest": longest, "variants": results}
