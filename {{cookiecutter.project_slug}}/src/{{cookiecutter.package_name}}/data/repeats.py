"""Texts that repeat: within a file, between the training and the test file, and one text with conflicting labels.

Each finding becomes a note in the file's LoadReport (counts and the first cases as ``file:line``) that says what the
splits do about it: rows sharing a text stay on one side of every split of the training file (data/splits.py), but
nothing can separate two files the user wrote, so a test text also in the training file is named for removal.
"""

from __future__ import annotations

from collections import defaultdict

from .report import LoadReport, Record
from .splits import group_key

SHOWN_CASES = 3  # the first cases a note names


def lines_by_text(records: list[Record]) -> dict[str, list[Record]]:
    """group_key -> the records holding it, in file order, for the keys held by more than one record."""
    found: dict[str, list[Record]] = defaultdict(list)
    for record in records:
        found[group_key(record)].append(record)
    return {key: rows for key, rows in found.items() if len(rows) > 1}


def cases(report: LoadReport, groups: list[list[Record]]) -> str:
    """The first SHOWN_CASES groups as ``name:2 = name:5 = name:9`` (``report``'s places: LoadReport.place; at most
    three rows each), joined by ``; ``."""
    shown = [" = ".join(report.place(r.line) for r in rows[:3]) + (" ..." if len(rows) > 3 else "") for rows in groups]
    return "; ".join(shown[:SHOWN_CASES]) + ("; ..." if len(shown) > SHOWN_CASES else "")


def conflicting(rows: list[Record]) -> list[Record]:
    """The rows among ``rows`` whose input (text and, for pairs, second text) other rows hold with another label,
    in file order; [] when none."""
    by_input: dict[tuple[str, str | None], list[Record]] = defaultdict(list)
    for row in rows:
        by_input[(row.text, row.text_pair)].append(row)
    return [row for row in rows if len({r.label for r in by_input[(row.text, row.text_pair)]}) > 1]


def note_repeats(report: LoadReport, split_note: str) -> None:
    """Notes on ``report`` for texts held by more than one row (``split_note``: what the splits do about them) and
    for one input with conflicting labels. Nothing when every text is distinct."""
    repeated = lines_by_text(report.records)
    if not repeated:
        return
    groups = list(repeated.values())
    rows = sum(len(group) for group in groups)
    what = "first text" if any(r.text_pair is not None for r in report.records) else "text"
    counted = f"1 {what} appears" if len(groups) == 1 else f"{len(groups):,} {what}s appear"
    report.note(f"{counted} on more than one row ({rows:,} rows), e.g. {cases(report, groups)}; " + split_note)
    clashes = [found for found in map(conflicting, groups) if found]
    if clashes:
        report.note(
            f"{len(clashes):,} of them carry conflicting labels for the same input, e.g. "
            f"{cases(report, clashes)}: correct the labels, or keep them if both are right"
        )


def note_shared(train: LoadReport, test: LoadReport) -> None:
    """A note on ``test`` naming its rows whose input (the text and, for pairs, the second text) the training file
    holds too: a score on them measures memory."""
    in_train: dict[tuple[str, str | None], Record] = {}
    for record in train.records:
        in_train.setdefault((record.text, record.text_pair), record)
    shared = [(r, in_train[(r.text, r.text_pair)]) for r in test.records if (r.text, r.text_pair) in in_train]
    if not shared:
        return
    first = ", ".join(f"{test.place(t.line)} = {train.place(r.line)}" for t, r in shared[:SHOWN_CASES])
    what = "pair of texts" if any(r.text_pair is not None for r in test.records) else "text"
    test.note(
        f"{len(shared):,} row(s) hold a {what} the training file holds too, e.g. {first}"
        + (", ..." if len(shared) > SHOWN_CASES else "")
        + "; a score on them measures memory: no split can separate two files, remove them from one of them"
    )


def note_all(reports: dict[str, LoadReport], held_out_test: bool) -> None:
    """Repeat notes on every report (``reports``: "train", and "test" when a test file was read); ``held_out_test``:
    the test split is held out of the training file, grouped like the validation split."""
    splits = "the validation and held-out test splits keep" if held_out_test else "the validation split keeps"
    split_note = f"{splits} the rows sharing a text on one side, so none is scored on a text it was trained on"
    note_repeats(reports["train"], split_note)
    if "test" in reports:
        note_repeats(reports["test"], "they are scored as they are")
        note_shared(reports["train"], reports["test"])
