"""Seeded, stratified splits and subsets of records.

Single-label records are split class by class. Multi-label records (tuples of class ids) are split by iterative
stratification (Sechidis, Tsoumakas and Vlahavas 2011, "On the stratification of multi-label data"): the rarest label
is dealt out first, each of its rows to the side that still wants most of that label, so every label's share holds
on both sides as closely as whole rows allow; rows with no label fill the sides to their sizes last.

Rows that share a text (the normalised text; for sentence pairs the first text) are a group and stay on one side of
every split (validation and held-out test): an NLI file repeats each premise with three hypotheses and three labels,
and a model scored on a premise it trained on measures memory. When texts repeat, the same iterative stratification
deals out whole groups instead of rows (``grouped_held_out``), so class shares hold as far as the groups allow; a file
whose texts are all distinct is split exactly as before.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from collections.abc import Callable

from ..errors import ConfigError
from .report import Record


def group_key(record: Record) -> str:
    """What makes two rows one group for the splits: the normalised text (for sentence pairs, the first text)."""
    return record.text


def stratified_split(
    records: list[Record],
    ratio: float,
    seed: int,
    key: str = "data.validation_ratio",
    strata: Callable[[list], list] | None = None,
) -> tuple[list[Record], list[Record]]:
    """Seeded, stratified split; returns (kept, held_out) with ``ratio`` of each stratum held out, rows sharing a
    text on one side (grouped_held_out). ``strata`` (the task's, Task.strata) maps the rows' labels to their strata:
    a class (one stratum a row) or a tuple (every one counts: iterative stratification); the labels without it.
    Raises ConfigError naming ``key`` when ``ratio`` is not in [0, 1)."""
    if not 0 <= ratio < 1:
        raise ConfigError(f"{key}: {ratio!r} is out of range; use a number in [0, 1)")
    labels = [record.label for record in records]
    keys = strata(labels) if strata else labels
    if ratio > 0 and len({group_key(record) for record in records}) < len(records):
        held = grouped_held_out(records, ratio, seed, keys)
        return [r for i, r in enumerate(records) if i not in held], [r for i, r in enumerate(records) if i in held]
    if any(isinstance(stratum, tuple) for stratum in keys):
        held = iterative_held_out([stratum or () for stratum in keys], ratio, seed)
        return [r for i, r in enumerate(records) if i not in held], [r for i, r in enumerate(records) if i in held]
    by_class: dict[int | None, list[int]] = defaultdict(list)
    for index, stratum in enumerate(keys):
        by_class[stratum].append(index)
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


def iterative_held_out(label_sets: list[tuple[int, ...]], ratio: float, seed: int) -> set[int]:
    """Indices of the rows to hold out, ``ratio`` of them, by iterative stratification of ``label_sets`` (one tuple
    of class ids a row): seeded, so the same rows give the same split."""
    if ratio <= 0:
        return set()
    rng = random.Random(seed)
    total_held = round(len(label_sets) * ratio)
    wanted = [total_held, len(label_sets) - total_held]  # rows each side still wants: held out, kept
    by_label: dict[int, list[int]] = defaultdict(list)
    for index, labels in enumerate(label_sets):
        for label in labels:
            by_label[label].append(index)
    label_wanted = {label: [len(rows) * ratio, len(rows) * (1 - ratio)] for label, rows in by_label.items()}
    side_of: dict[int, int] = {}
    remaining = {label: list(rows) for label, rows in by_label.items()}
    while remaining:
        label = min(remaining, key=lambda x: (len(remaining[x]), x))  # the rarest label still to deal out
        rows = remaining.pop(label)
        rng.shuffle(rows)
        for index in rows:
            if index in side_of:
                continue
            want = label_wanted[label]
            side = max((0, 1), key=lambda s: (want[s], wanted[s], rng.random()))
            side_of[index] = side
            wanted[side] -= 1
            for other in label_sets[index]:
                label_wanted[other][side] -= 1
        remaining = {x: [i for i in rows if i not in side_of] for x, rows in remaining.items()}
        remaining = {x: rows for x, rows in remaining.items() if rows}
    unlabelled = [i for i in range(len(label_sets)) if i not in side_of]
    rng.shuffle(unlabelled)
    for index in unlabelled:
        side = 0 if wanted[0] > 0 else 1
        side_of[index] = side
        wanted[side] -= 1
    return {index for index, side in side_of.items() if side == 0}


def label_ids(label: int | tuple[int, ...] | None) -> tuple[int, ...]:
    """A record's label as a tuple of class ids: () for no label or None."""
    if label is None:
        return ()
    return label if isinstance(label, tuple) else (label,)


def grouped_held_out(records: list[Record], ratio: float, seed: int, keys: list | None = None) -> set[int]:
    """Indices of the rows to hold out, about ``ratio`` of them: whole groups of rows sharing a text (group_key),
    dealt out by iterative stratification over the groups (each group counts every label of its rows), so each
    class's share holds as far as the groups allow. ``keys``: each row's stratum (its label without them).
    Seeded: the same rows give the same split."""
    keys = keys if keys is not None else [record.label for record in records]
    members: dict[str, list[int]] = defaultdict(list)
    for index, record in enumerate(records):
        members[group_key(record)].append(index)
    groups = list(members.values())
    counts = [Counter(label for i in group for label in label_ids(keys[i])) for group in groups]
    totals: Counter = Counter()
    for count in counts:
        totals.update(count)
    wanted = [len(records) * ratio, len(records) * (1 - ratio)]  # rows each side still wants: held out, kept
    label_wanted = {label: [n * ratio, n * (1 - ratio)] for label, n in totals.items()}
    by_label: dict[int, list[int]] = defaultdict(list)
    for number, count in enumerate(counts):
        for label in count:
            by_label[label].append(number)
    rng = random.Random(seed)
    side_of: dict[int, int] = {}

    def place(number: int, side: int) -> None:
        side_of[number] = side
        wanted[side] -= len(groups[number])
        for label, n in counts[number].items():
            label_wanted[label][side] -= n

    for label in sorted(by_label, key=lambda x: (totals[x], x)):  # the rarest label first
        numbers = [n for n in by_label[label] if n not in side_of]
        rng.shuffle(numbers)
        for number in numbers:
            want = label_wanted[label]
            place(number, max((0, 1), key=lambda s: (want[s], wanted[s], rng.random())))
    unlabelled = [n for n in range(len(groups)) if n not in side_of]
    rng.shuffle(unlabelled)
    for number in unlabelled:
        place(number, 0 if wanted[0] > 0 else 1)
    return {i for number, side in side_of.items() if side == 0 for i in groups[number]}


def subset(
    records: list[Record],
    max_rows: int = 0,
    fraction: float = 1.0,
    seed: int = 42,
    strata: Callable[[list], list] | None = None,
) -> list[Record]:
    """A stratified (by ``strata``, as stratified_split), seeded subset for quick runs: ``fraction`` of the rows,
    then at most ``max_rows`` (the stratified draw rounds each class's share: a row over is trimmed, and it may
    come out a row a class under)."""
    if not 0 < fraction <= 1:
        raise ConfigError(f"data.fraction: {fraction!r} is out of range; use a number in (0, 1]")
    target = round(len(records) * fraction)
    if max_rows > 0:
        target = min(target, max_rows)
    if target >= len(records):
        return records
    _, chosen = stratified_split(records, target / len(records), seed, strata=strata)
    return chosen[:target]
