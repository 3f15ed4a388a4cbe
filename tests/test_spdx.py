"""The licence check's stdlib SPDX parser (local_spdx.py) answers as packaging does, with packaging's list."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

TEMPLATE = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(TEMPLATE))
sys.path.insert(0, str(TEMPLATE / "scripts"))
from local_spdx import SPDX_FILE, InvalidLicenseExpression, canonicalize, spdx_ids  # noqa: E402
from spdx_ids import spdx_content  # noqa: E402

licenses_module = pytest.importorskip("packaging.licenses")  # packaging >= 24.2 (requirements-dev.txt brings it)

EXAMPLES = [
    "Apache-2.0",
    "apache-2.0",
    "MIT",
    "mit",
    "BSD-3-Clause",
    "Proprietary",
    "Apache 2",
    "Apache-2.0 OR MIT",
    "mit and (apache-2.0 or bsd-2-clause)",
    "(MIT",
    "MIT)",
    "()",
    "",
    " ",
    "GPL-2.0+",
    "GPL-2.0-or-later WITH Classpath-exception-2.0",
    "gpl-2.0-or-later with classpath-exception-2.0",
    "MIT WITH",
    "WITH MIT",
    "MIT WITH MIT",
    "MIT AND",
    "MIT OR OR Apache-2.0",
    "LicenseRef-Proprietary",
    "licenseref-my-license AND LicenseRef-My-License",
    "LicenseRef-",
    "LicenseRef-a+",
    "LicenseRef-회사",
    "LicenseRef-a_b",
    "Use-it-after-midnight",
    "MIT WITH LicenseRef-x",
    "((MIT))",
    "(" * 201 + "MIT" + ")" * 201,
    "AGPL-3.0",
    "mit+",
]
TOKENS = st.sampled_from(
    ["MIT", "mit", "Apache-2.0", "GPL-2.0", "GPL-2.0+", "bsd-3-clause", "AND", "or", "WITH", "with", "(", ")"]
    + ["Classpath-exception-2.0", "LLVM-exception", "LicenseRef-Ours", "licenseref-ours", "LicenseRef-", "nope", "+"]
)


def packaging_answer(expression: str) -> tuple[str, str]:
    try:
        return "ok", licenses_module.canonicalize_license_expression(expression)
    except licenses_module.InvalidLicenseExpression as error:
        return "invalid", str(error)


def our_answer(expression: str) -> tuple[str, str]:
    try:
        return "ok", canonicalize(expression)
    except InvalidLicenseExpression as error:
        return "invalid", str(error)


def test_the_identifiers_are_packagings():
    from packaging.licenses import _spdx

    assert json.loads(SPDX_FILE.read_text(encoding="utf-8")) == spdx_content(), "run scripts/spdx_ids.py"
    licenses, exceptions = spdx_ids()
    assert licenses == {key: entry["id"] for key, entry in _spdx.LICENSES.items()}, "run scripts/spdx_ids.py"
    assert exceptions == {key: entry["id"] for key, entry in _spdx.EXCEPTIONS.items()}, "run scripts/spdx_ids.py"


@pytest.mark.parametrize("expression", EXAMPLES)
def test_answers_equal_packagings_on_examples(expression):
    assert our_answer(expression) == packaging_answer(expression)


@settings(max_examples=1500, deadline=None)
@given(st.lists(TOKENS, max_size=8).map(" ".join))
def test_answers_equal_packagings_on_generated_expressions(expression):
    assert our_answer(expression) == packaging_answer(expression)
