"""The vendored romanizer (local_romanization.py) writes exactly what koroman writes, so a slug is the same
whether or not koroman is installed where cookiecutter runs."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

TEMPLATE = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(TEMPLATE))  # as cookiecutter does while it bakes
from local_extensions import ascii_slug  # noqa: E402
from local_romanization import romanize  # noqa: E402

koroman = pytest.importorskip("koroman")  # the reference: requirements-dev.txt

SYLLABLES = st.characters(min_codepoint=0xAC00, max_codepoint=0xD7A3)
JAMO = st.characters(min_codepoint=0x1100, max_codepoint=0x11FF)  # conjoining jamo typed as such
OTHER = st.sampled_from(list(" -_.,!?0123456789abcXYZéÅ漢字ㅋㅎㅠ\u3000"))
NAMES = st.text(st.one_of(SYLLABLES, SYLLABLES, SYLLABLES, JAMO, OTHER), max_size=24)
WORDS = [
    "쇼핑몰 문의 분류",
    "영화 리뷰",
    "꽃잎",
    "깻잎",
    "닭이",
    "밟다",
    "밟는",
    "같이",
    "굳히다",
    "좋고",
    "놓다",
    "신라",
    "종로",
    "읽는",
    "값이",
    "넋이",
    "앉아",
    "삶이",
    "잃어",
    "읊어",
    "핥아",
    "흙",
    "독립",
    "백마",
    "왕십리",
    "별내",
]


@pytest.mark.parametrize("text", WORDS)
def test_romanize_equals_koroman_on_words_with_every_rule(text):
    assert romanize(text) == koroman.romanize(text)


@settings(max_examples=3000, deadline=None)
@given(NAMES)
def test_romanize_equals_koroman(text):
    assert romanize(text) == koroman.romanize(text)


def test_the_readme_example_slug():
    assert ascii_slug("쇼핑몰 문의 분류") == "syopingmol-munui-bullyu"
