"""Cutting token rows into micro-batches: padded rows of similar length, or several texts packed into each row.

Shared by the handler (serving/handler.py) and int8's export and evaluation (model/int8.py): the int8 model is
exported for, calibrated on and checked with the batches the handler sends. It imports only the standard library
and torch, so ``deploy`` ships it beside the handler in model.tar.gz as ``code/batching.py`` (the Hugging Face
inference toolkit puts ``code/`` on ``sys.path``, where the handler imports it).

Shapes: a batch is a dict of ``torch.long`` tensors: ``input_ids`` and ``attention_mask`` ``(rows, longest)``
for padded rows; ``input_ids`` and ``segment_ids`` ``(rows, width)`` and ``first_tokens`` ``(texts,)`` for
packed rows (PACKED_INPUTS). Sentence pairs add ``token_type_ids`` of the same shape as ``input_ids`` (each
token's segment in its pair: 0 for the first text, 1 for the second, 0 for padding): every function that takes
token rows takes their segment rows as ``types`` (None: one text a row). Why these numbers: the template's
benchmarks/RESULTS-batching.md.
"""

from __future__ import annotations

import os

import torch

MICRO_BATCH = int(os.environ.get("INFERENCE_BATCH_SIZE", "64"))
# fp32 on a CPU: a micro-batch stops growing where padding would pass this share of its real tokens (even sorted
# by length, a request's long texts spread widely). A GPU keeps whole batches, and so does an int8 model that
# cannot pack (below): OpenVINO prepares kernels for each new input shape. The measurements behind both choices:
# benchmarks/RESULTS-batching.md.
CPU_MAX_PADDING = float(os.environ.get("INFERENCE_MAX_PADDING", "0.1"))
# int8 packs several texts into each row (model/int8.py's PackedClassifier: each text sees only its own tokens),
# so almost no slot is padding, in rows of a few fixed widths: OpenVINO prepares kernels for each new input shape.
# Texts up to PACK_WIDTH tokens share rows that wide, longer ones rows twice as wide, and so on up to max_length;
# a micro-batch holds about PACK_TOKENS slots (its speed against whole 64-row batches: benchmarks/RESULTS-batching.md).
PACK_WIDTH = 64
PACK_TOKENS = 2048
PACKED_INPUTS = ("input_ids", "segment_ids", "first_tokens")
PAIR_INPUT = "token_type_ids"  # what a sentence-pair model takes besides the rest


def takes_packed_rows(compiled) -> bool:
    """Whether a compiled OpenVINO model takes PACKED_INPUTS (model/int8.py's PackedClassifier), not one padded
    text per row."""
    return {name for port in compiled.inputs for name in port.get_names()} >= set(PACKED_INPUTS)


def takes_pairs(compiled) -> bool:
    """Whether a compiled OpenVINO model takes the segment ids of sentence pairs (PAIR_INPUT)."""
    return PAIR_INPUT in {name for port in compiled.inputs for name in port.get_names()}


def padded(rows: list[list[int]], pad_token_id: int, types: list[list[int]] | None = None) -> tuple[torch.Tensor, ...]:
    """input_ids and attention_mask (rows, longest) for token-id rows, right-padded to the longest; with ``types``
    (sentence pairs) their token_type_ids too, padded with 0."""
    lengths = torch.tensor([len(ids) for ids in rows])
    attention_mask = torch.arange(int(lengths.max())) < lengths[:, None]
    input_ids = torch.full(attention_mask.shape, pad_token_id, dtype=torch.long)
    input_ids[attention_mask] = torch.tensor([token for ids in rows for token in ids], dtype=torch.long)
    if types is None:
        return input_ids, attention_mask.long()
    token_type_ids = torch.zeros(attention_mask.shape, dtype=torch.long)
    token_type_ids[attention_mask] = torch.tensor([kind for row in types for kind in row], dtype=torch.long)
    return input_ids, attention_mask.long(), token_type_ids


def micro_batches(lengths: list[int], max_padding: float | None) -> list[tuple[int, int]]:
    """(start, end) spans of ascending ``lengths``: at most MICRO_BATCH rows each and, unless ``max_padding`` is
    None, padded to the longest at most ``max_padding`` more tokens than the rows hold (a single row always makes
    a batch)."""
    bound = float("inf") if max_padding is None else 1 + max_padding
    spans, start = [], 0
    while start < len(lengths):
        end, tokens = start + 1, lengths[start]
        while (
            end < len(lengths)
            and end - start < MICRO_BATCH
            and (end - start + 1) * lengths[end] <= bound * (tokens + lengths[end])
        ):
            tokens += lengths[end]
            end += 1
        spans.append((start, end))
        start = end
    return spans


def pack_widths(max_length: int) -> list[int]:
    """The row widths int8 packs texts into: PACK_WIDTH, doubled while shorter than max_length, then max_length."""
    widths, width = [], PACK_WIDTH
    while width < max_length:
        widths.append(width)
        width *= 2
    return [*widths, max_length]


def pack(lengths: list[int], width: int) -> list[list[int]]:
    """Rows of indices into ``lengths`` (each at most ``width``) whose lengths add up to at most ``width``: best fit,
    longest first, which leaves a few percent of the slots empty."""
    rows: list[list[int]] = []
    free_rows: list[list[int]] = [[] for _ in range(width + 1)]  # free slots -> rows with that many free
    for index in sorted(range(len(lengths)), key=lambda i: -lengths[i]):
        length = lengths[index]
        free = next((f for f in range(length, width + 1) if free_rows[f]), None)
        if free is None:
            row, free = len(rows), width
            rows.append([])
        else:
            row = free_rows[free].pop()
        rows[row].append(index)
        free_rows[free - length].append(row)
    return rows


def packed(
    rows: list[list[list[int]]], width: int, pad_token_id: int, types: list[list[list[int]]] | None = None
) -> dict[str, torch.Tensor]:
    """PACKED_INPUTS for rows of token-id lists: the ids side by side, each text's segment number (1, 2, ...;
    0 is padding), and where each text starts in the flattened batch, in row order; with ``types`` (the same
    shape as ``rows``: each pair's segment ids) PAIR_INPUT too, (rows, width), 0 in padding. A batch of one row
    is cut to the tokens it holds."""
    if len(rows) == 1:
        width = sum(len(ids) for ids in rows[0])
    input_ids = torch.full((len(rows), width), pad_token_id, dtype=torch.long)
    segment_ids = torch.zeros((len(rows), width), dtype=torch.long)
    token_type_ids = torch.zeros((len(rows), width), dtype=torch.long)
    first_tokens = []
    for row, texts in enumerate(rows):
        start = 0
        for segment, ids in enumerate(texts, start=1):
            input_ids[row, start : start + len(ids)] = torch.tensor(ids, dtype=torch.long)
            segment_ids[row, start : start + len(ids)] = segment
            if types is not None:
                token_type_ids[row, start : start + len(ids)] = torch.tensor(types[row][segment - 1], dtype=torch.long)
            first_tokens.append(row * width + start)
            start += len(ids)
    batch = {"input_ids": input_ids, "segment_ids": segment_ids, "first_tokens": torch.tensor(first_tokens)}
    return batch | ({PAIR_INPUT: token_type_ids} if types is not None else {})


def packed_batches(tokens: list[list[int]], max_length: int, pad_token_id: int, types: list[list[int]] | None = None):
    """(indices into ``tokens``, PACKED_INPUTS, and PAIR_INPUT with ``types``) per micro-batch: texts packed into
    rows of pack_widths."""
    shorter = 0
    for width in pack_widths(max(max_length, max(map(len, tokens)))):
        group = [k for k, ids in enumerate(tokens) if shorter < len(ids) <= width]
        shorter = width
        rows = [[group[i] for i in row] for row in pack([len(tokens[k]) for k in group], width)]
        per_batch = max(1, PACK_TOKENS // width)
        for start in range(0, len(rows), per_batch):
            batch = rows[start : start + per_batch]
            kinds = None if types is None else [[types[k] for k in row] for row in batch]
            yield (
                [k for row in batch for k in row],
                packed([[tokens[k] for k in row] for row in batch], width, pad_token_id, kinds),
            )


def padded_batches(
    tokens: list[list[int]], max_padding: float | None, pad_token_id: int, types: list[list[int]] | None = None
):
    """(indices into ``tokens``, input_ids and attention_mask, and PAIR_INPUT with ``types``) per micro-batch of
    similar length (micro_batches)."""
    order = sorted(range(len(tokens)), key=lambda k: len(tokens[k]))
    for start, end in micro_batches([len(tokens[k]) for k in order], max_padding):
        chunk = order[start:end]
        kinds = None if types is None else [types[k] for k in chunk]
        tensors = padded([tokens[k] for k in chunk], pad_token_id, kinds)
        yield chunk, dict(zip(("input_ids", "attention_mask", PAIR_INPUT), tensors, strict=False))


def batches_for(
    tokens: list[list[int]],
    *,
    packed_rows: bool,
    max_length: int,
    pad_token_id: int,
    cpu_fp32: bool,
    types: list[list[int]] | None = None,
):
    """How a model classifies ``tokens`` fastest: packed rows for a model that takes them (``packed_rows``: a
    packed int8 model); else one text per row, with the padding bound for fp32 on a CPU (``cpu_fp32``:
    CPU_MAX_PADDING) and whole batches elsewhere. ``types``: the segment ids of sentence pairs (None: one text).
    Yields (indices into ``tokens``, batch tensors)."""
    if packed_rows:
        return packed_batches(tokens, max_length, pad_token_id, types)
    return padded_batches(tokens, CPU_MAX_PADDING if cpu_fp32 else None, pad_token_id, types)
