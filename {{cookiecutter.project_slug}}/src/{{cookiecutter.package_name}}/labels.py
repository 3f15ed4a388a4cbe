"""The label schema: names in class-id order, and how labels are written in the data files."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

LABELS_FILE = "labels.json"


class LabelError(ValueError):
    """A raw label value does not belong to the schema."""


@dataclass(frozen=True)
class LabelSchema:
    names: tuple[str, ...]
    encoding: str = "index"  # index: files hold 0..n-1; name: files hold the names themselves

    def __post_init__(self) -> None:
        if len(self.names) < 2:
            raise ValueError(f"a label schema needs at least two labels, got {list(self.names)}")
        if len(set(self.names)) != len(self.names):
            raise ValueError(f"label names must be unique, got {list(self.names)}")
        if self.encoding not in ("index", "name"):
            raise ValueError(f"label encoding must be 'index' or 'name', got {self.encoding!r}")

    @property
    def num_labels(self) -> int:
        return len(self.names)

    @property
    def id2label(self) -> dict[int, str]:
        return dict(enumerate(self.names))

    @property
    def label2id(self) -> dict[str, int]:
        return {name: i for i, name in enumerate(self.names)}

    def to_id(self, raw: object) -> int:
        """Map one raw file value to a class id, or raise LabelError naming the value."""
        if raw is None or (isinstance(raw, float) and math.isnan(raw)):
            raise LabelError("label is empty")
        if isinstance(raw, bool):
            raise LabelError(f"label {raw!r} is a boolean, not a label")
        if self.encoding == "name":
            # Names compare as strings, so a JSON 5 and a CSV "5" both match the name "5".
            text = str(raw).strip()
            if isinstance(raw, float) and raw.is_integer():
                text = str(int(raw))
            if text not in self.label2id:
                raise LabelError(f"unknown label {text!r}; expected one of {list(self.names)}")
            return self.label2id[text]
        text = str(raw).strip()
        if isinstance(raw, float) and raw.is_integer():
            text = str(int(raw))
        if not text.lstrip("-").isdigit():
            raise LabelError(f"label {text!r} is not a class id 0..{self.num_labels - 1}")
        value = int(text)
        if not 0 <= value < self.num_labels:
            raise LabelError(f"label id {value} is out of range 0..{self.num_labels - 1}")
        return value

    def to_dict(self) -> dict:
        return {
            "label_names": list(self.names),
            "id2label": {str(i): name for i, name in enumerate(self.names)},
            "label2id": self.label2id,
            "label_encoding": self.encoding,
        }

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> LabelSchema:
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"label schema {path} does not exist")
        content = json.loads(path.read_text(encoding="utf-8"))
        return cls(names=tuple(content["label_names"]), encoding=content.get("label_encoding", "index"))
