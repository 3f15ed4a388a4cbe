"""Jinja filters for cookiecutter.json and the template files (cookiecutter's ``_extensions``).

cookiecutter puts the template folder on ``sys.path`` while it bakes (cruft does the same), so this module is
found by name, and so is its sibling local_romanization.py. Both need nothing but the standard library (and Jinja,
which cookiecutter brings), so a bake gives the same answers in every environment cookiecutter runs in.
"""

from __future__ import annotations

import json
import keyword
import re
import sys
import unicodedata

from jinja2.ext import Extension

from local_romanization import romanize
from local_spdx import InvalidLicenseExpression, canonicalize

SLUG_PATTERN = re.compile(r"^[a-z][a-z0-9-]*$")
# Import names of the baked project's dependencies (its pyproject.toml): a package named like one shadows it.
SHADOWED_IMPORTS = (
    "torch transformers tokenizers safetensors accelerate numpy yaml typer tqdm matplotlib koreanize_matplotlib "
    "sklearn starlette uvicorn boto3 botocore sagemaker moto mlflow requests pytest ruff build anyio huggingface_hub "
    "sagemaker_training sagemaker_inference mms onnxruntime onnx openvino nncf scipy pandas click jinja2 "
    "cookiecutter cruft setuptools pip tests src"
).split()


def ascii_slug(name: str) -> str:
    """A project slug for any project name: ASCII lowercase letters, digits and '-', starting with a letter.

    Korean is romanized (쇼핑몰 문의 분류 -> syopingmol-munui-bullyu); other letters lose their accents; whatever
    has no ASCII form is dropped. A name that leaves nothing (or starts with a digit) gets a ``project`` prefix.
    """
    ascii_name = unicodedata.normalize("NFKD", romanize(str(name))).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")
    return slug if slug[:1].isalpha() else f"project-{slug}".strip("-")


def package_name_for(slug: str) -> str:
    """A Python package name for a slug: ``-`` becomes ``_``; a name that would shadow the standard library, a
    keyword or one of the project's dependencies gets a ``_project`` suffix. Always a valid identifier."""
    package = (slug if SLUG_PATTERN.match(str(slug)) else ascii_slug(slug)).replace("-", "_")
    shadows = keyword.iskeyword(package) or keyword.issoftkeyword(package) or package in sys.stdlib_module_names
    return f"{package}_project" if shadows or package in SHADOWED_IMPORTS else package


def json_text(value: object) -> str:
    """``value`` as a JSON literal with non-ASCII kept as characters (Jinja's tojson writes \\uXXXX escapes).

    A JSON string is also a YAML double-quoted scalar, a TOML basic string and a Python literal.
    """
    return json.dumps(value, ensure_ascii=False)


def spdx_canonical(expression: str) -> str:
    """``expression`` in its SPDX spelling (``mit`` -> ``MIT``), or "" when it is not an SPDX license expression."""
    try:
        return canonicalize(str(expression))
    except InvalidLicenseExpression:
        return ""


def sample_test_file(test_file: str, train_file: str) -> str:
    """The shipped sample's test file name: ``test_file``, or for a one-file dataset (``test_file`` empty) the
    training file's name with ``_test`` before its extension (``intents.csv`` -> ``intents_test.csv``); the sample
    keeps a test file so the project's tests read the same kind of sample whatever the answers."""
    test_file, train_file = str(test_file).strip(), str(train_file).strip()
    if test_file:
        return test_file
    stem, dot, extension = train_file.rpartition(".")
    return f"{stem}_test.{extension}" if dot and stem else f"{train_file}_test"


class TemplateFilters(Extension):
    """Registers ascii_slug, package_name_for, json_text, spdx_canonical and sample_test_file, and the
    shadowed_imports list (pre_gen)."""

    def __init__(self, environment):
        super().__init__(environment)
        environment.filters.update(
            ascii_slug=ascii_slug,
            package_name_for=package_name_for,
            json_text=json_text,
            spdx_canonical=spdx_canonical,
            sample_test_file=sample_test_file,
        )
        environment.globals["shadowed_imports"] = list(SHADOWED_IMPORTS)
