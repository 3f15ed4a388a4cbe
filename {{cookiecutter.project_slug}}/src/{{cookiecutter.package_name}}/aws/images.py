"""The one place that pins the Hugging Face container versions used on SageMaker.

Code that runs inside these containers (training/ and what it imports, serving/handler.py) is written for
the transformers major version pinned here, and never imports the sagemaker SDK.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass

from ..errors import AwsSetupError


@dataclass(frozen=True)
class ContainerPin:
    """One pinned Hugging Face container: its scope and the transformers / pytorch / Python versions."""

    scope: str  # training | inference
    transformers_version: str
    pytorch_version: str
    py_version: str


TRAINING = ContainerPin("training", transformers_version="5.3.0", pytorch_version="2.9.0", py_version="py312")
INFERENCE = ContainerPin("inference", transformers_version="5.5.3", pytorch_version="2.6.0", py_version="py312")
# What else the pinned transformers needs at the versions it accepts (both pins: tokenizers <= 0.23.0, hub 1.x).
# `make contract` installs these over the project's environment to run the container tests there.
CONTAINER_PYTHON = (
    "tokenizers>=0.22,<=0.23.0",
    "huggingface-hub>=1.5,<2",
    "httpx<1",
    "httpcore<2",
    "certifi",
    "idna",
    "sniffio",
    "hf-xet>=1.6,<2",
)


GPU_FAMILY = re.compile(r"ml\.(g|p)\d[a-z0-9]*\.\w+")  # g4dn, g5, g6, g6e, p3, p4d, p4de, p5, ...


def has_gpu(instance_type: str) -> bool:
    """Whether a SageMaker instance type (or local mode's "local_gpu") has a GPU; serverless never does."""
    return instance_type == "local_gpu" or bool(GPU_FAMILY.fullmatch(instance_type))


def container_requirements(transformers_version: str) -> list[str]:
    """What to pip install to reproduce a container's Python side for ``transformers_version``."""
    return [f"transformers=={transformers_version}", *CONTAINER_PYTHON]


def image_uri(pin: ContainerPin, region: str, instance_type: str) -> str:
    """Resolve a pin to the image URI for ``region`` through the SDK's image-URI lookup."""
    try:
        from sagemaker.core import image_uris
    except ImportError as error:
        raise AwsSetupError("the sagemaker SDK is needed for AWS commands: pip install 'sagemaker>=3'") from error
    lookup_type = "ml.c5.xlarge" if instance_type in ("local", "serverless") else instance_type
    if instance_type == "local_gpu":
        lookup_type = "ml.g5.xlarge"
    try:
        return image_uris.retrieve(
            "huggingface",
            region=region,
            version=pin.transformers_version,
            base_framework_version=f"pytorch{pin.pytorch_version}",
            py_version=pin.py_version,
            instance_type=lookup_type,
            image_scope=pin.scope,
        )
    except ValueError as error:
        raise AwsSetupError(
            f"no Hugging Face {pin.scope} image for transformers {pin.transformers_version} / "
            f"pytorch {pin.pytorch_version} in {region} on {instance_type}: {error}"
        ) from error


def main(argv: list[str]) -> int:
    """``python -m PACKAGE.aws.images``: the pinned transformers versions; ``--requirements V``: what to install."""
    if argv[:1] == ["--requirements"] and len(argv) == 2:
        print(" ".join(container_requirements(argv[1])))
    else:
        print(" ".join(sorted({TRAINING.transformers_version, INFERENCE.transformers_version})))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
