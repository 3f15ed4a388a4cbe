"""Revised Romanization of Korean, exactly as koroman 1.0.16 writes it with its defaults (stdlib only).

Vendored from koroman (https://github.com/daissue/koroman, MIT License, Copyright (c) 2025 Donghe Youn) so that a
bake gives the same slug whether koroman is installed or not: the pronunciation rules (assimilation, liaison,
consonant-cluster simplification, palatalization, aspiration) are koroman's regular expressions over conjoining
jamo, in koroman's order. Only ``romanize(text)`` with koroman's defaults is kept (no hyphens, no casing options,
no custom dictionary); tests/test_romanization.py checks it equals ``koroman.romanize`` on generated Hangul.
"""

from __future__ import annotations

import re

HANGUL_FIRST, HANGUL_LAST = 0xAC00, 0xD7A3
VOWEL_COUNT, FINAL_COUNT = 21, 28
INITIAL_IEUNG, INITIAL_NIEUN = 11, 2
INITIALS = [chr(code) for code in range(0x1100, 0x1113)]  # ᄀ .. ᄒ (19)
VOWELS = [chr(code) for code in range(0x1161, 0x1176)]  # ᅡ .. ᅵ (21)
FINALS = [""] + [chr(code) for code in range(0x11A8, 0x11C3)]  # none, ᆨ .. ᇂ (27)

ROMAN = {  # koroman's ROMAN_MAP_STD: finals by their representative sound (ㄷ ㅈ ㅊ ㅌ ㅎ -> t)
    **dict(zip(INITIALS, "g kk n d tt r m b pp s ss _ j jj ch k t p h".split(), strict=True)),
    INITIALS[INITIAL_IEUNG]: "",  # ᄋ: silent at the start of a syllable
    **dict(zip(VOWELS, "a ae ya yae eo e yeo ye o wa wae oe yo u wo we wi yu eu ui i".split(), strict=True)),
    **dict(zip(FINALS[1:], "k k k n n n t l k m p t t p l m p p t t ng t t k t p t".split(), strict=True)),
}
N_INSERTION_TRIGGERS = frozenset("잎")  # a final consonant + 잎 reads [닙] (꽃잎, 깻잎)

# koroman's rules, in its order: (pattern, replacement) over conjoining jamo.
PRONUNCIATION_RULES = [
    (r"\u11a7", ""),
    # nasalization
    (r"[\u11b8\u11c1\u11b9\u11b2\u11b5](?=[\u1102\u1106])", "\u11b7"),
    (r"[\u11ae\u11c0\u11bd\u11be\u11ba\u11bb\u11c2](?=[\u1102\u1106])", "\u11ab"),
    (r"[\u11a8\u11a9\u11bf\u11aa\u11b0](?=[\u1102\u1106])", "\u11bc"),
    # liaison and ㄹ/ㄴ assimilation
    (r"\u11a8\u110b(?=[\u1163\u1164\u1167\u1168\u116d\u1172])", "\u11bc\u1102"),
    (r"\u11af\u110b(?=[\u1163\u1164\u1167\u1168\u116d\u1172])", "\u11af\u1105"),
    (r"[\u11a8\u11bc]\u1105", "\u11bc\u1102"),
    (r"\u11ab\u1105(?=\u1169)", "\u11ab\u1102"),
    (r"\u11af\u1102|\u11ab\u1105", "\u11af\u1105"),
    (r"[\u11b7\u11b8]\u1105", "\u11b7\u1102"),
    (r"\u11b0\u1105", "\u11a8\u1105"),
    # aspirated consonants after a final: kept apart
    (r"\u11a8\u110f", "\u11a8-\u110f"),
    (r"\u11b8\u1111", "\u11b8-\u1111"),
    (r"\u11ae\u1110", "\u11ae-\u1110"),
    # a consonant cluster before ᄋ: its second consonant moves on
    (r"\u11aa\u110b", "\u11a8\u1109"),
    (r"\u11ac\u110b", "\u11ab\u110c"),
    (r"\u11ad\u110b", "\u11ab\u110b"),
    (r"\u11b0\u110b", "\u11af\u1100"),
    (r"\u11b1\u110b", "\u11af\u1106"),
    (r"\u11b2\u110b", "\u11af\u1107"),
    (r"\u11b3\u110b", "\u11af\u1109"),
    (r"\u11b4\u110b", "\u11af\u1110"),
    (r"\u11b5\u110b", "\u11af\u1111"),
    (r"\u11b6\u110b", "\u11af\u110b"),
    (r"\u11b9\u110b", "\u11b8\u1109"),
    # 밟- before a consonant reads [밥]
    (r"\u1107\u1161\u11b2(?=[\u1100-\u110A\u110C-\u1112])", "\u1107\u1161\u11b8"),
    # consonant clusters: the consonant that is pronounced first
    (r"\u11aa", "\u11a8\u11ba"),
    (r"\u11ac", "\u11ab\u11bd"),
    (r"\u11ad", "\u11ab\u11c2"),
    (r"\u11b0", "\u11a8\u11af"),
    (r"\u11b1", "\u11b7\u11af"),
    (r"\u11b2", "\u11af\u11b8"),
    (r"\u11b3", "\u11af\u11ba"),
    (r"\u11b4", "\u11af\u11c0"),
    (r"\u11b5", "\u11c1\u11af"),
    (r"\u11b6", "\u11af\u11c2"),
    (r"\u11b9", "\u11b8\u11ba"),
    # palatalization
    (r"\u11ae\u110b\u1175", "\u110c\u1175"),
    (r"\u11c0\u110b\u1175", "\u110e\u1175"),
    (r"\u11ae\u1112\u1175", "\u110e\u1175"),
    # liaison: a final before ᄋ starts the next syllable
    (r"\u11a8\u110b", "\u1100"),
    (r"\u11a9\u110b", "\u1101"),
    (r"\u11ae\u110b", "\u1103"),
    (r"\u11af\u110b", "\u1105"),
    (r"\u11b8\u110b", "\u1107"),
    (r"\u11ba\u110b", "\u1109"),
    (r"\u11bb\u110b", "\u110a"),
    (r"\u11bd\u110b", "\u110c"),
    (r"\u11be\u110b", "\u110e"),
    (r"\u11c2\u110b", ""),
    # aspiration
    (r"\u11c2\u1100|\u11a8\u1112", "\u110f"),
    (r"\u11c2\u1103|\u11ae\u1112", "\u1110"),
    (r"\u11c2\u110c|\u11bd\u1112", "\u110e"),
    (r"\u11c2\u1107", "\u1107"),
    (r"\u11b8\u1112", "\u1111"),
    # last: ㄹㄹ, a lone ㅎ final, the second final of a cluster
    (r"\u11af\u1105", "ll"),
    (r"\u11c2(?!\s|$)", ""),
    (r"([\u11a8-\u11c2])([\u11a8-\u11c2])", r"\1"),
]
COMPILED_RULES = [(re.compile(pattern), replacement) for pattern, replacement in PRONUNCIATION_RULES]
HANGUL_WORD = re.compile(r"[\uAC00-\uD7A3]+")


def _n_insertion(match: re.Match) -> str:
    """A Hangul word whose last syllable is a trigger (잎) after a final consonant, with that ᄋ read as ᄂ."""
    word = match.group(0)
    if len(word) < 2 or word[-1] not in N_INSERTION_TRIGGERS:
        return word
    previous, last = ord(word[-2]) - HANGUL_FIRST, ord(word[-1]) - HANGUL_FIRST
    per_initial = VOWEL_COUNT * FINAL_COUNT
    if previous % FINAL_COUNT == 0 or last // per_initial != INITIAL_IEUNG:
        return word
    return word[:-1] + chr(HANGUL_FIRST + INITIAL_NIEUN * per_initial + last % per_initial)


def _jamo(text: str) -> str:
    """``text`` with each Hangul syllable split into its conjoining jamo; other characters kept."""
    out = []
    for character in text:
        code = ord(character)
        if HANGUL_FIRST <= code <= HANGUL_LAST:
            index = code - HANGUL_FIRST
            vowel_final = index % (VOWEL_COUNT * FINAL_COUNT)
            out.append(
                INITIALS[index // (VOWEL_COUNT * FINAL_COUNT)]
                + VOWELS[vowel_final // FINAL_COUNT]
                + FINALS[vowel_final % FINAL_COUNT]
            )
        else:
            out.append(character)
    return "".join(out)


def romanize(text: str) -> str:
    """``text`` with its Hangul in the Revised Romanization, lowercased (koroman's ``romanize(text)``).

    Characters that are not Hangul are kept (and lowercased). Never raises for a ``str``.
    """
    jamo = _jamo(HANGUL_WORD.sub(_n_insertion, text))
    for pattern, replacement in COMPILED_RULES:
        jamo = pattern.sub(replacement, jamo)
    return "".join(ROMAN.get(character, character) for character in jamo).lower()
