"""Seeded, stratified splits and subsets of records."""

from __future__ import annotations

import random
from collections import defaultdict

from ..errors import ConfigError
from .report import Record


def stratified_split(records: list[Record], ratio: float, seed: int) -> tuple[list[Record], list[Record]]:
    """Seeded, per-class split; returns (kept, held_out) with ``ratio`` of each class held out."""
    if not 0 <= ratio < 1:
        raise ConfigError(f"data.validation_ratio: {ratio!r} is out of range; use a number in [0, 1)")
    by_class: dict[int | None, list[int]] = defaultdict(list)
    for index, record in enumerate(records):
        by_class[record.label].append(index)
    rng = random.Random(seed)
    held: set[int] = set()
    for label in sorted(by_class, key=lambda x: (x is None, x)):
        indices = by_class[label]
        rng.shuffle(indices)
        count = round(len(indices) * ratio)
        if ratio > 0 and count == 0 and len(indices) >= 2:
            count = 1
        held.update(indices[:count])
    kept = [r for i, r in enumerate(records) if i not in held]
    held_out = [r for i, r in enumerate(records) if i in held]
    return kept, held_out


def subset(records: list[Record], max_rows: int = 0, fraction: float = 1.0, seed: int = 42) -> list[Record]:
    """A stratified, seeded subset for quick runs: ``fraction`` of the rows, then at most ``max_rows``."""
    if not 0 < fraction <= 1:
        raise ConfigError(f"data.fraction: {fraction!r} is out of range; use a number in (0, 1]")
    target = round(len(records) * fraction)
    if max_rows > 0:
        target = min(target, max_rows)
    if target >= len(records):
        return records
    _, chosen = stratified_split(records, target / len(records), seed)
    return chosen
