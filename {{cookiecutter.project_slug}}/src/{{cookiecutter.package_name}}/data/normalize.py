"""Text normalisation that is safe for Korean: nothing is deleted unless the user asks for it."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cached_property

from ..config import DataConfig
from ..errors import ConfigError

WHITESPACE = re.compile(r"\s+")
FORMS = {"nfc": "NFC", "nfkc": "NFKC"}


@dataclass(frozen=True)
class Normalizer:
    """The one text clean-up applied wherever text enters: Unicode normal form (nfc, nfkc or none), optional whitespace
    collapsing, an opt-in regex of characters to delete. Called with a text, returns the cleaned text."""

    form: str = "nfc"  # nfc | nfkc | none
    collapse_whitespace: bool = True
    remove_pattern: str = ""

    def __post_init__(self) -> None:
        if self.form not in (*FORMS, "none"):
            raise ConfigError(f"data.normalize: {self.form!r} is not allowed; choose one of nfc, nfkc, none")
        if self.remove_pattern:
            try:
                re.compile(self.remove_pattern)
            except re.error as error:
                raise ConfigError(
                    f"data.remove_pattern: {self.remove_pattern!r} is not a valid regular expression ({error})"
                ) from None

    @cached_property
    def _remove(self) -> re.Pattern[str] | None:
        return re.compile(self.remove_pattern) if self.remove_pattern else None

    def __call__(self, text: str) -> str:
        if self.form in FORMS:
            text = unicodedata.normalize(FORMS[self.form], text)
        if self._remove is not None:
            text = self._remove.sub("", text)
        if self.collapse_whitespace:
            text = WHITESPACE.sub(" ", text).strip()
        return text

    @classmethod
    def from_config(cls, data: DataConfig) -> Normalizer:
        """The normalizer the data section describes (data.normalize, collapse_whitespace, remove_pattern)."""
        return cls(data.normalize, data.collapse_whitespace, data.remove_pattern)
