"""The container environments of `make contract` hold each pin's recorded packages and nothing the image lacks."""

from __future__ import annotations

import pytest
from container_python import canonical, set_problems

from {{ cookiecutter.package_name }}.aws.images import PINS, container_pin
from {{ cookiecutter.package_name }}.errors import AwsSetupError


@pytest.mark.parametrize("pin", PINS, ids=lambda pin: pin.scope)
def test_each_pin_records_exact_versions_with_its_own_transformers(pin):
    packages = dict(requirement.split("==") for requirement in pin.python_packages)
    assert packages["transformers"] == pin.transformers_version
    assert all(version and version[0].isdigit() for version in packages.values())
    assert "torch" not in packages  # the local CPU build stands in for the image's CUDA build
    assert not set(map(canonical, packages)) & set(map(canonical, pin.absent))


def test_a_leaked_package_or_version_is_named():
    packages = {"transformers": "5.3.0", "tokenizers": "0.22.2"}
    installed = {"transformers": "5.3.0", "tokenizers": "0.23.3", "kernels": "0.19.1"}
    assert set_problems(packages, ("kernels",), installed) == [
        "tokenizers 0.23.3 is installed, the container holds 0.22.2",
        "kernels 0.19.1 is installed, the container holds none",
    ]
    assert set_problems(packages, ("kernels",), {"transformers": "5.3.0", "tokenizers": "0.22.2"}) == []


def test_an_unpinned_version_is_one_error():
    with pytest.raises(
        AwsSetupError, match=r"no SageMaker container pins transformers 9\.9\.9 \(pinned: 5\.3\.0, 5\.5\.3\)"
    ):
        container_pin("9.9.9")
