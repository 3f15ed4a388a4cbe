"""What one request to the handler may hold, and which texts it classifies: the request limits, the environment
variables that set them, and the text rules (one Unicode form, no invisible-only text, a character limit).

Standard library only and importing nothing of ours, so every reader takes them from here: the handler (in the
package, and in the inference container, where ``deploy`` ships this file beside it as ``code/request_rules.py``:
the toolkit puts ``code/`` on ``sys.path``), the local server (its body limit), the predict client (it cuts its
requests to fit, without importing the handler and so torch) and deploy (the variables it sets).
"""

from __future__ import annotations

import os
import unicodedata

DEFAULT_MAX_ITEMS = 1024  # texts per real-time request
DEFAULT_MAX_TEXT_CHARS = 10_000  # characters per text, counted in NFC
MAX_BODY_BYTES = 6_291_456  # SageMaker's real-time payload limit: 6 MB
# Tokens per real-time request (after truncation): 1,024 texts of 128 tokens. The time this bounds on the
# default instance is in the README (SageMaker answers a real-time invocation within 60 s or not at all).
DEFAULT_MAX_TOKENS = 131_072
ITEMS_LIMIT_ENV = "MAX_ITEMS_PER_REQUEST"  # deploy sets it to 0 (no limit) for batch transform models
TOKENS_LIMIT_ENV = "MAX_TOKENS_PER_REQUEST"  # likewise
TEXT_CHARS_LIMIT_ENV = "MAX_TEXT_CHARS"
PRECISION_ENV = "INFERENCE_PRECISION"  # auto | int8 | fp32; deploy sets it from the instance type
# the limits this process serves with (0: no limit): the defaults unless the variables above say otherwise
MAX_ITEMS = int(os.environ.get(ITEMS_LIMIT_ENV, str(DEFAULT_MAX_ITEMS)))
MAX_TEXT_CHARS = int(os.environ.get(TEXT_CHARS_LIMIT_ENV, str(DEFAULT_MAX_TEXT_CHARS)))
MAX_TOKENS = int(os.environ.get(TOKENS_LIMIT_ENV, str(DEFAULT_MAX_TOKENS)))
TEXT_FORM = "NFC"  # what input_fn checks texts in; predict_fn then applies the model's own form (NFC or NFKC)
# Unicode general categories of characters that show nothing: separators (Zs space, Zl, Zp) and "other" (Cc
# control, Cf format such as U+200B and U+FEFF, Cs surrogate, Co private use, Cn unassigned)
INVISIBLE_CATEGORIES = ("Z", "C")
# letters (Lo) that render as blank space: the Hangul fillers, a common way to type an "empty" Korean message
HANGUL_FILLERS = frozenset("\u115f\u1160\u3164\uffa0")


def visible_text(text: str) -> bool:
    """Whether ``text`` holds a visible character: one whose Unicode general category is a letter, mark, number,
    punctuation or symbol (not Z*, separators, nor C*, control/format/surrogate/private/unassigned), other than
    the Hangul fillers (HANGUL_FILLERS, letters that render blank). A text without one is refused as empty:
    whitespace, zero-width spaces (U+200B), BOMs (U+FEFF) and control characters only."""
    return any(
        unicodedata.category(character)[0] not in INVISIBLE_CATEGORIES and character not in HANGUL_FILLERS
        for character in text
    )


def text_problem(text) -> str | None:
    """Why ``text`` cannot be classified ("is ..." / "has ..."), or None. Length counts characters in NFC, against
    MAX_TEXT_CHARS."""
    if not isinstance(text, str):
        return f"is a {type(text).__name__}, not a string"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        return f"is not valid text (unpaired surrogate {text[error.start]!r} at character {error.start})"
    if not visible_text(text):
        return "is empty"
    length = len(unicodedata.normalize(TEXT_FORM, text)) if len(text) > MAX_TEXT_CHARS else len(text)
    if length > MAX_TEXT_CHARS:
        return f"has {length} characters; the limit is {MAX_TEXT_CHARS}"
    return None


PAIR_PROBLEM_PREFIX = "text_pair "  # begins a refusal of a pair's second text (the predict client reads it)


def pair_problem(pair) -> str | None:
    """Why a sentence pair's second text ``pair`` cannot be classified (PAIR_PROBLEM_PREFIX, then text_problem's
    words), or None."""
    problem = text_problem(pair)
    return problem and PAIR_PROBLEM_PREFIX + problem


def normal_text(text: str, form: str = TEXT_FORM) -> str:
    """``text`` in Unicode normal ``form`` (NFC unless the model was trained on NFKC text)."""
    return text if unicodedata.is_normalized(form, text) else unicodedata.normalize(form, text)
