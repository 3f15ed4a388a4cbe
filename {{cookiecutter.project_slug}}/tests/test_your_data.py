"""Your data in data/raw/, checked with this project's rules (marker ``data``, in the default tier).

Red exactly when ``prepare`` would exit non-zero, with prepare's own lines: the file, the counts, the first problems
as ``file:line``. Skipped, saying why, while data/raw/ holds only the sample this project ships. Every other test
reads only data/sample/, so it stays green whatever you put in data/raw/.
"""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from {{ cookiecutter.package_name }}.cli import app
from {{ cookiecutter.package_name }}.config import CONFIG_FILE, load_config
from {{ cookiecutter.package_name }}.data.dataset import data_file
from {{ cookiecutter.package_name }}.data.sample import SAMPLE_DIR, shipped_sample
from {{ cookiecutter.package_name }}.errors import ProjectError

from conftest import PROJECT_ROOT

pytestmark = pytest.mark.data


def configured_files() -> list:
    """The files config.yaml names (the training file, and the test file when data.test_file is set); [] when the
    configuration itself does not load (prepare then says why, and so does the test)."""
    try:
        config = load_config(PROJECT_ROOT / CONFIG_FILE)
    except ProjectError:
        return []
    names = [config.data.train_file] + ([config.data.test_file] if config.data.test_file else [])
    return [data_file(config, name) for name in names]


def test_the_data_in_data_raw_passes_prepare():
    files = configured_files()
    if files and all(shipped_sample(path, PROJECT_ROOT) for path in files):
        pytest.skip(f"data/raw/ holds the sample this project ships ({SAMPLE_DIR}/), not your data")
    result = CliRunner().invoke(app, ["prepare", "--config", str(PROJECT_ROOT / CONFIG_FILE)])
    if result.exit_code != 0:
        pytest.fail(f"`prepare` exits {result.exit_code} on your data:\n{result.output}", pytrace=False)
