"""Text that lines up in a terminal: Hangul and other wide characters take two columns."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence


def width(text: str) -> int:
    """Columns ``text`` takes in a terminal: East Asian wide and full-width characters count two."""
    return sum(
        2 if unicodedata.east_asian_width(ch) in ("W", "F") else 0 if unicodedata.combining(ch) else 1 for ch in text
    )


def pad(text: str, columns: int, align: str = "<") -> str:
    """``text`` padded with spaces to ``columns`` display columns (``align``: < left, > right)."""
    space = " " * max(0, columns - width(text))
    return text + space if align == "<" else space + text


def table(header: Sequence[str], rows: Sequence[Sequence[str]], align: str = "") -> str:
    """Rows of cells as aligned text; ``align`` holds one '<' or '>' per column (default: first left, rest right)."""
    align = align or "<" + ">" * (len(header) - 1)
    columns = [max(width(str(cell)) for cell in column) for column in zip(header, *rows, strict=True)]
    lines = []
    for row in (header, *rows):
        cells = [pad(str(cell), columns[i], align[i]) for i, cell in enumerate(row)]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)
