"""SPDX license expressions, checked and spelled as ``packaging.licenses.canonicalize_license_expression`` does.

Standard library only, so the pre-generation hook's licence check is the same wherever cookiecutter runs (with or
without ``packaging`` installed). The identifiers are packaging's own vendored SPDX list, written to
local_spdx.json by scripts/spdx_ids.py; the parser follows packaging's (Apache-2.0 OR BSD-2-Clause, adapted there
from hatchling, MIT). tests/test_spdx.py checks both against packaging.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

SPDX_FILE = Path(__file__).resolve().parent / "local_spdx.json"
LICENSE_REF = "LicenseRef-"
LICENSE_REF_ID = re.compile(r"^[A-Za-z0-9.-]+$")
OPERATORS = frozenset({"or", "and", "with", "(", ")"})
MAX_PARENTHESIS_DEPTH = 200  # CPython's tokenizer limit, as packaging has it


class InvalidLicenseExpression(ValueError):
    """An expression that is not valid SPDX: an unknown identifier or broken syntax (packaging's messages)."""


def spdx_ids() -> tuple[dict[str, str], dict[str, str]]:
    """(licenses, exceptions): each lowercase SPDX identifier -> its spelling, from local_spdx.json.

    Raises OSError or ValueError when the file is missing or broken (a broken template checkout).
    """
    content = json.loads(SPDX_FILE.read_text(encoding="utf-8"))
    return (
        {name.lower(): name for name in content["licenses"]},
        {name.lower(): name for name in content["exceptions"]},
    )


def _check_syntax(tokens: list[str], source: str) -> None:
    """Raises InvalidLicenseExpression unless names and operators alternate and parentheses balance."""
    depth, expect_operand = 0, True
    for token in tokens:
        if token == "(":
            if not expect_operand or depth >= MAX_PARENTHESIS_DEPTH:
                break
            depth += 1
        elif token == ")":
            if expect_operand or depth == 0:
                break
            depth -= 1
        elif token in ("or", "and", "with"):
            if expect_operand:
                break
            expect_operand = True
        else:
            if not expect_operand:
                break
            expect_operand = False
    else:
        if not expect_operand and depth == 0:
            return
    raise InvalidLicenseExpression(f"Invalid license expression: {source!r}")


def _tokens(expression: str) -> tuple[list[str], dict[str, str]]:
    """Lowercase tokens, and each LicenseRef- spelled as it first appears. Raises InvalidLicenseExpression."""
    tokens, refs = [], {}
    for word in expression.replace("(", " ( ").replace(")", " ) ").split():
        token = word.lower()
        tokens.append(token)
        if token.startswith("licenseref-"):
            if not word.isascii():
                raise InvalidLicenseExpression(f"Invalid licenseref (non-ASCII): {word!r}")
            refs.setdefault(token, LICENSE_REF + word[len(LICENSE_REF) :])
    return tokens, refs


def _name(token: str, refs: dict[str, str], licenses: dict[str, str]) -> str:
    """A license identifier (with an optional trailing +) in its SPDX spelling. Raises InvalidLicenseExpression."""
    base, suffix = (token[:-1], "+") if token.endswith("+") else (token, "")
    if base.startswith("licenseref-"):
        if suffix or not LICENSE_REF_ID.match(base[len("licenseref-") :]):
            raise InvalidLicenseExpression(f"Invalid licenseref: {token!r}")
        return refs[base]
    if base not in licenses:
        raise InvalidLicenseExpression(f"Unknown license: {base!r}")
    return licenses[base] + suffix


def canonicalize(expression: str) -> str:
    """``expression`` in its canonical SPDX spelling (``mit and apache-2.0`` -> ``MIT AND Apache-2.0``).

    Raises InvalidLicenseExpression (with packaging's message) for an unknown identifier or broken syntax.
    """
    if not expression:
        raise InvalidLicenseExpression(f"Invalid license expression: {expression!r}")
    licenses, exceptions = spdx_ids()
    tokens, refs = _tokens(expression)
    _check_syntax(tokens, expression)
    out, after_license = [], False
    for index, token in enumerate(tokens):
        if token in OPERATORS:
            following = tokens[index + 1] if index + 1 < len(tokens) else None
            if token == "with" and (not after_license or following is None or following in OPERATORS):
                raise InvalidLicenseExpression(f"Invalid license expression: {expression!r}")
            out.append(token.upper())
            after_license = False
        elif out and out[-1] == "WITH":
            if token not in exceptions:
                raise InvalidLicenseExpression(f"Unknown license exception: {token!r}")
            out.append(exceptions[token])
            after_license = False
        else:
            out.append(_name(token, refs, licenses))
            after_license = True
    return " ".join(out).replace("( ", "(").replace(" )", ")")
