"""Bytes to text lines, the way real users' files arrive: UTF-8, UTF-8 with a BOM, UTF-16 (Excel "Unicode
text"), or cp949 / EUC-KR (Excel's Korean CSV). Undecodable lines are reported by line, never guessed at.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass, field

BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
KOREAN_LEGACY = "cp949"  # a superset of EUC-KR; what Excel writes for Korean on Windows
LEGACY_MAJORITY = 20  # cp949 when at most one non-ASCII line in this many (plus one) reads as UTF-8
SNIFF_BYTES = 1 << 16
# what a file that is not text starts with, and what to do about it
SIGNATURES = (
    (b"PK\x03\x04", "a zip archive (an Excel .xlsx is one): save it as CSV UTF-8, or unzip it"),
    (b"\x1f\x8b", "gzip-compressed: decompress it first"),
    (b"\x7fELF", "a program (ELF)"),
    (b"\x89PNG", "a PNG image"),
    (b"%PDF", "a PDF document"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"\xd0\xcf\x11\xe0", "an old Excel .xls or Word file: save it as CSV UTF-8"),
)
WIDE_ENCODINGS = ("utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "utf-32-be")


@dataclass
class DecodedFile:
    """A file's text as lines, the encoding it was read in, a note to show once (e.g. a detected cp949) and the lines
    that could not be decoded as (line, reason, message)."""

    lines: list[str]
    encoding: str
    note: str = ""  # said once, e.g. which encoding was detected
    problems: list[tuple[int, str, str]] = field(default_factory=list)  # (line, reason, message)
    binary: bool = False


def _split(raw: bytes) -> list[bytes]:
    """Lines of a byte-oriented encoding; CRLF and LF (and old Mac CR-only files) all end a line."""
    separator = b"\n" if b"\n" in raw or b"\r" not in raw else b"\r"
    lines = raw.split(separator)
    if lines and lines[-1] == b"":
        lines.pop()
    return [line[:-1] if line.endswith(b"\r") else line for line in lines]


def _split_text(text: str) -> list[str]:
    separator = "\n" if "\n" in text or "\r" not in text else "\r"
    lines = text.split(separator)  # not splitlines(): U+2028 and friends belong to the text
    if lines and lines[-1] == "":
        lines.pop()
    return [line[:-1] if line.endswith("\r") else line for line in lines]


def _looks_utf16_without_bom(sample: bytes) -> str | None:
    """UTF-16 without a BOM: every line ends in a two-byte newline (0A 00 or 00 0A) and the text is printable."""
    if b"\x00" not in sample:
        return None
    for encoding in ("utf-16-le", "utf-16-be"):
        text = sample[: len(sample) // 2 * 2].decode(encoding, errors="replace")
        newlines, raw_newlines = text.count("\n"), sample.count(b"\n")
        printable = sum(ch.isprintable() or ch in "\t\r\n" for ch in text) - text.count("\ufffd")
        if newlines and newlines >= raw_newlines / 2 and printable >= 0.95 * len(text):
            return encoding
    return None


def _decode_whole(raw: bytes, encoding: str) -> DecodedFile:
    """Wide encodings cannot be split into lines as bytes: decode the whole file, then report bad lines."""
    text = raw.decode(encoding, errors="replace")
    lines = _split_text(text)
    decoded = DecodedFile(lines, encoding)
    try:
        raw.decode(encoding)
    except UnicodeDecodeError:
        for number, line in enumerate(lines, start=1):
            if "\ufffd" in line:
                decoded.problems.append((number, "encoding", f"not valid {encoding.upper()} text"))
    return decoded


def _decode_lines(raw_lines: list[bytes], encoding: str) -> DecodedFile:
    decoded = DecodedFile([], encoding)
    for number, line in enumerate(raw_lines, start=1):
        try:
            decoded.lines.append(line.decode(encoding))
        except UnicodeDecodeError as error:
            bad = line[error.start : error.start + 1].hex()
            decoded.problems.append(
                (number, "encoding", f"not valid {encoding.upper()} (byte 0x{bad} at column {error.start + 1})")
            )
            decoded.lines.append(line.decode(encoding, errors="replace"))
    return decoded


def _legacy_hint(raw_lines: list[bytes], failed: list[int]) -> str:
    """When many lines fail as UTF-8, name the encoding they do decode as, and the fix."""
    fits = 0
    for number in failed:
        try:
            raw_lines[number - 1].decode(KOREAN_LEGACY)
            fits += 1
        except UnicodeDecodeError:
            pass
    if fits >= max(1, len(failed) // 2):
        return (  # the other lines are UTF-8: no one data.encoding reads this file, so none is advised
            f"{len(failed)} line(s) are not UTF-8 but decode as {KOREAN_LEGACY} (Korean Windows / Excel) while "
            "the others are UTF-8: the file mixes two encodings; save it again as UTF-8"
        )
    return f"{len(failed)} line(s) are not UTF-8: save the file as UTF-8, or set data.encoding to its encoding"


def decode(raw: bytes, configured: str = "auto") -> DecodedFile:
    """Text lines of ``raw`` in the configured encoding, or, with ``auto``, the one the bytes show."""
    for bom, name in BOMS:
        if raw.startswith(bom):  # a byte-order mark says what the file is, whatever was configured
            if name in WIDE_ENCODINGS:
                return _decode_whole(raw, name)  # these codecs consume the BOM themselves
            decoded = _decode_lines(_split(raw[len(bom) :]), "utf-8")
            decoded.encoding = name
            return decoded
    if configured != "auto":
        if codecs.lookup(configured).name in WIDE_ENCODINGS:
            return _decode_whole(raw, configured)
        return _decode_lines(_split(raw), configured)
    sample = raw[:SNIFF_BYTES]
    wide = _looks_utf16_without_bom(sample)
    if wide:
        decoded = _decode_whole(raw, wide)
        decoded.note = f"detected {wide} text without a byte-order mark"
        return decoded
    for signature, what in SIGNATURES:
        if sample.startswith(signature):
            return DecodedFile([], "binary", problems=[(1, "binary", f"this is not a text file: {what}")], binary=True)
    if sample.count(b"\x00") > max(8, len(sample) // 100):  # a stray NUL is one bad line; many mean binary
        line = sample[: sample.index(b"\x00")].count(b"\n") + 1
        message = "this is not a text file (it is full of NUL bytes); expected a text file"
        return DecodedFile([], "binary", problems=[(line, "binary", message)], binary=True)
    raw_lines = _split(raw)
    failed, fine = [], 0
    for number, line in enumerate(raw_lines, start=1):
        if line.isascii():
            continue
        try:
            line.decode("utf-8")
            fine += 1
        except UnicodeDecodeError:
            failed.append(number)
    if not failed:
        return DecodedFile([line.decode("utf-8") for line in raw_lines], "utf-8")
    # A legacy Korean file, if every line decodes as one and hardly any reads as UTF-8: a short cp949 line can be
    # valid UTF-8 by chance (a lead byte C0-C8 and a trail byte A1-BF form a UTF-8 pair), so "none" is too strict.
    if fine <= len(failed) // LEGACY_MAJORITY:
        legacy = _decode_lines(raw_lines, KOREAN_LEGACY)
        damaged = {number for number, _, _ in legacy.problems}
        if not damaged:
            legacy.note = (
                f"detected {KOREAN_LEGACY} (Korean Windows / Excel encoding), which auto reads; "
                f"set data.encoding: {KOREAN_LEGACY} only when every data file is {KOREAN_LEGACY}"
            )
            return legacy
        # cp949 with damaged lines (read as neither encoding; a UTF-8 line among them means two encodings): name them
        if damaged <= set(failed) and len(damaged) < len(failed):
            legacy.note = (
                f"the file reads as {KOREAN_LEGACY} (Korean Windows / Excel encoding) but for {len(damaged)} "
                "damaged line(s) that neither it nor UTF-8 reads: fix or remove them"
            )
            return legacy
    decoded = _decode_lines(raw_lines, "utf-8")
    if len(failed) > 1:
        decoded.note = _legacy_hint(raw_lines, failed)
    return decoded
