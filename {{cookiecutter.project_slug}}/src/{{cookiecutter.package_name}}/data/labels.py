"""The label schema: names in class-id order, and how labels are written in the data files.

Standard library only: the template's post-generation hook writes the baked project's labels.json with it.
"""

from __future__ import annotations

import difflib
import json
import math
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from ..answers import HEADS, LABEL_JOINER, MULTI_LABEL, SINGLE_LABEL
from ..errors import LabelError

ENCODINGS = ("index", "name")
FLAG_WORDS = ("true", "false")  # a 0/1 column's cells as pandas writes a bool column
CLASS_ID = re.compile(r"-?[0-9]+")  # an integer written as one, ASCII digits only ('²'.isdigit() is True)
DECIMAL = re.compile(r"[-+]?([0-9]+\.[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?|[-+]?[0-9]+[eE][-+]?[0-9]+")  # 3.800, 1.0, 1e3


class ScoreLabelError(LabelError):
    """A label cell holding a decimal number (``3.800``, ``1.0``): a score, not a class. Always an error, never
    dropped by data.unknown_label: drop (that would keep the rows whose score happens to read as a class)."""


def multi_hot(ids: tuple[int, ...], size: int) -> list[float]:
    """Class ids as a multi-label target: 1.0 at each id, 0.0 elsewhere, ``size`` long (the model's BCE targets)."""
    target = [0.0] * size
    for class_id in ids:
        target[class_id] = 1.0
    return target


@dataclass(frozen=True)
class LabelSchema:
    """The label names in class-id order, how data files write labels (``index``: 0..n-1, or ``name``: the names
    themselves) and the task: ``single_label`` (exactly one label a row) or ``multi_label`` (any number, none
    included). Names are kept in NFC; raw values are matched in NFC. Raises LabelError for fewer than two or repeated
    names, or an unknown encoding or task."""

    names: tuple[str, ...]
    encoding: str = "index"  # index: files hold 0..n-1; name: files hold the names themselves
    task: str = SINGLE_LABEL

    def __post_init__(self) -> None:
        # one normal form (NFC), as for texts: a name typed in NFD matches the same name in NFC
        names = tuple(unicodedata.normalize("NFC", n) if isinstance(n, str) else n for n in self.names)
        object.__setattr__(self, "names", names)
        if any(not isinstance(name, str) or not name.strip() for name in self.names):
            raise LabelError(f"label names must be non-empty strings, got {list(self.names)}")
        if len(set(self.names)) != len(self.names):
            raise LabelError(f"label names must be unique, got {list(self.names)}")
        if self.encoding not in ENCODINGS:
            raise LabelError(f"label encoding must be one of {', '.join(ENCODINGS)}, got {self.encoding!r}")
        if self.task not in HEADS:
            raise LabelError(f"task must be one of {', '.join(HEADS)}, got {self.task!r}")
        problem = HEADS[self.task].names_problem(list(self.names))
        if problem:
            raise LabelError(problem)

    @property
    def multi_label(self) -> bool:
        """Whether a row may carry any number of labels (multi-hot targets, a sigmoid per label)."""
        return self.task == MULTI_LABEL

    @property
    def problem_type(self) -> str:
        """The model config's ``problem_type`` (transformers picks the loss by it: cross-entropy or BCE)."""
        return HEADS[self.task].problem_type

    @property
    def num_labels(self) -> int:
        """How many classes."""
        return len(self.names)

    @property
    def id2label(self) -> dict[int, str]:
        """Class id -> name (the model config's id2label)."""
        return dict(enumerate(self.names))

    @property
    def label2id(self) -> dict[str, int]:
        """Name -> class id."""
        return {name: i for i, name in enumerate(self.names)}

    def to_id(self, raw: object) -> int:
        """Map one raw file value to a class id. A class id is an integer written as one (``1``; never ``1.0`` or
        ``1.000``). Raises LabelError naming the value: empty, not a label, out of range, or a decimal number (one
        message for every float cell: it looks like a score, which is the regression task's)."""
        text = self.cell_text(raw)
        shown = text if len(text) <= 40 else text[:40] + "..."
        if self.encoding == "name":
            # Names compare as strings, so a JSON 5 and a CSV "5" both match the name "5".
            if text in self.label2id:
                return self.label2id[text]
            if DECIMAL.fullmatch(text):
                raise ScoreLabelError(self.score_message(shown))
            close = difflib.get_close_matches(text, self.names, n=1, cutoff=0.5)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise LabelError(f"unknown label {shown!r}{hint}; expected one of {list(self.names)}")
        if DECIMAL.fullmatch(text):
            raise ScoreLabelError(self.score_message(shown))
        if not CLASS_ID.fullmatch(text):
            raise LabelError(f"label {shown!r} is not a class id 0..{self.num_labels - 1}")
        value = int(text) if len(text) <= 18 else None  # int() refuses very long digit strings
        if value is None or not 0 <= value < self.num_labels:
            raise LabelError(f"label id {shown} is out of range 0..{self.num_labels - 1}")
        return value

    @staticmethod
    def cell_text(raw: object) -> str:
        """One label cell as text in NFC, stripped (a JSON float as Python writes it: ``1.0``). Raises LabelError for
        an empty cell, a boolean, a JSON array or object."""
        if raw is None or (isinstance(raw, float) and math.isnan(raw)):
            raise LabelError("label is empty")
        if isinstance(raw, bool):
            raise LabelError(f"label {raw!r} is a boolean, not a label")
        if isinstance(raw, (list, dict)):
            raise LabelError(f"label is a JSON {'array' if isinstance(raw, list) else 'object'}, not a label")
        text = unicodedata.normalize("NFC", str(raw).strip())
        if not text:
            raise LabelError("label is empty")
        return text

    def score_message(self, shown: str) -> str:
        """The one message for a decimal number in a label cell (``3.800``, ``1.0``): it looks like a score; class
        labels are integers written as one (or the label names); scores are the regression task's."""
        if self.encoding == "name":
            written = f"the names {list(self.names)}"
        else:
            written = f"the class ids 0..{self.num_labels - 1}, integers written without a decimal point"
        return (
            f"label {shown!r} is a decimal number: it looks like a score, not a class (labels are {written}); "
            f"scores (e.g. STS similarity) are a regression task: bake the project with task=regression"
        )

    def to_ids(self, raw: object, separator: str = LABEL_JOINER) -> tuple[int, ...]:
        """A multi-label cell as the sorted tuple of its class ids (duplicates once): a JSON list of names or ids,
        or a string of them joined by ``separator``; an empty list or cell is a row with no label, ``()``. Raises
        LabelError naming the value that is not a label (``to_id``'s rules for each item)."""
        if raw is None or (isinstance(raw, float) and math.isnan(raw)):
            raise LabelError("label is missing; a row with no label holds an empty cell or an empty JSON list []")
        if isinstance(raw, dict):
            raise LabelError("label is a JSON object, not a list of labels")
        if isinstance(raw, list):
            items = raw
        elif isinstance(raw, str):
            items = raw.split(separator) if raw.strip() else []
        else:
            items = [raw]  # a single JSON number (a class id) or a boolean, which to_id refuses
        return tuple(sorted({self.to_id(item) for item in items}))

    def to_flag(self, raw: object, name: str) -> bool:
        """One 0/1 label column's cell (label ``name``): True for 1, False for 0, also as a spreadsheet or pandas
        writes them (``1.0``, ``0.0``; ``True``, ``False`` in any case; JSON true/false): a flag has no other
        reading. Raises LabelError for anything else (another decimal number with the score message)."""
        if isinstance(raw, bool):
            return raw
        text = "" if raw is None or (isinstance(raw, float) and math.isnan(raw)) else str(raw).strip()
        if text in ("0", "1") or text.lower() in FLAG_WORDS:
            return text == "1" or text.lower() == "true"
        shown = text if len(text) <= 40 else text[:40] + "..."
        if DECIMAL.fullmatch(text):
            if float(text) in (0.0, 1.0):
                return float(text) == 1.0
            raise ScoreLabelError(f"the {name!r} column holds {shown!r}, not 0 or 1: " + self.score_message(shown))
        raise LabelError(f"the {name!r} column holds {shown!r}, not 0 or 1 (whether the row has label {name!r})")

    def multi_hot(self, ids: tuple[int, ...]) -> list[float]:
        """Class ids as the model's multi-label target (``multi_hot``), ``num_labels`` long."""
        return multi_hot(ids, self.num_labels)

    def to_dict(self) -> dict:
        """What labels.json holds: the names, both mappings, the encoding and the task."""
        return {
            "label_names": list(self.names),
            "id2label": {str(i): name for i, name in enumerate(self.names)},
            "label2id": self.label2id,
            "label_encoding": self.encoding,
            "task": self.task,
        }

    def save(self, path: str | Path) -> None:
        """Write labels.json (UTF-8, Korean as characters)."""
        Path(path).write_text(json.dumps(self.to_dict(), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> LabelSchema:
        """The schema in a labels.json. Raises LabelError when the file is missing, not JSON, or not a valid schema."""
        path = Path(path)
        if not path.is_file():
            raise LabelError(f"label schema {path} does not exist")
        try:
            content = json.loads(path.read_text(encoding="utf-8"))
            names, encoding = tuple(content["label_names"]), content.get("label_encoding", "index")
            task = content.get("task", SINGLE_LABEL)  # written before multi-label existed: single-label
        except (ValueError, KeyError, TypeError) as error:
            raise LabelError(
                f"{path}: not a label schema ({error.__class__.__name__}: {error}); it needs "
                '"label_names": [...], "label_encoding": "index" or "name" and "task": one of ' + ", ".join(HEADS)
            ) from None
        return cls(names=names, encoding=encoding, task=task)
