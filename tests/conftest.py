"""`make test` runs these tests on two xdist workers with ``--dist loadgroup``. Each test file is one group, so its
module-scoped bakes, its demo and the bare cookiecutter venv are made by one worker, once; the `make contract` runs
(test_bake.py's) are a group of their own, so they run beside the baked suites instead of after them: the CI's
30 minutes on 2 cores. Every server these tests start listens on a free port, so the two workers never collide."""

from __future__ import annotations

import pytest

OWN_GROUP = {"test_project_passes_make_contract": "make-contract"}  # test function -> its group, apart from its file


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        name = getattr(item, "originalname", item.name)
        item.add_marker(pytest.mark.xdist_group(OWN_GROUP.get(name, item.path.stem)))
