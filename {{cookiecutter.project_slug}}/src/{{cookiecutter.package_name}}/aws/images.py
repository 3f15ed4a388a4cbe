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
    """One pinned Hugging Face container: its scope, the transformers / pytorch / Python versions, and the Python
    packages of the image that the project's code imports through transformers.

    ``python_packages`` (``name==version``, transformers included) are the Hugging Face stack the code meets in the
    image. The image's published files name only transformers, pytorch and Python; the rest was resolved with
    ``uv pip compile --exclude-newer <resolved_as_of>`` for ``transformers==<pin>`` and accelerate (Python 3.12,
    manylinux x86_64), as of the day the next transformers minor release came out: the latest the image could hold
    had it been built for this pin. ``absent`` are packages that transformers imports whenever they are importable
    and that the image does not hold (the pin does not require them): the dev environment's copies must not leak in.
    torch and numpy are the exception: the local CPU build of torch stands in for the image's CUDA build, and numpy
    stays the one torch was installed with.
    """

    scope: str  # training | inference
    transformers_version: str
    pytorch_version: str
    py_version: str
    resolved_as_of: str
    python_packages: tuple[str, ...]
    absent: tuple[str, ...] = ("kernels",)  # transformers < 5.25 imports it when present; kernels 0.19 breaks 5.3


TRAINING = ContainerPin(
    "training",
    transformers_version="5.3.0",
    pytorch_version="2.9.0",
    py_version="py312",
    resolved_as_of="2026-03-27",
    python_packages=(
        "transformers==5.3.0",
        "huggingface-hub==1.8.0",
        "tokenizers==0.22.2",
        "safetensors==0.7.0",
        "accelerate==1.13.0",
        "hf-xet==1.4.2",
        "httpx==0.28.1",
        "httpcore==1.0.9",
        "certifi==2026.2.25",
        "idna==3.11",
    ),
)
INFERENCE = ContainerPin(
    "inference",
    transformers_version="5.5.3",
    pytorch_version="2.6.0",
    py_version="py312",
    resolved_as_of="2026-04-22",
    python_packages=(
        "transformers==5.5.3",
        "huggingface-hub==1.11.0",
        "tokenizers==0.22.2",
        "safetensors==0.7.0",
        "accelerate==1.13.0",
        "hf-xet==1.4.3",
        "httpx==0.28.1",
        "httpcore==1.0.9",
        "certifi==2026.4.22",
        "idna==3.13",
    ),
)
PINS = (TRAINING, INFERENCE)


GPU_FAMILY = re.compile(r"ml\.(g|p)\d[a-z0-9]*\.\w+")  # g4dn, g5, g6, g6e, p3, p4d, p4de, p5, ...


def has_gpu(instance_type: str) -> bool:
    """Whether a SageMaker instance type (or local mode's "local_gpu") has a GPU; serverless never does."""
    return instance_type == "local_gpu" or bool(GPU_FAMILY.fullmatch(instance_type))


def container_pin(transformers_version: str) -> ContainerPin:
    """The pinned container whose transformers is ``transformers_version``.

    Raises:
        AwsSetupError: no container pins that version.
    """
    for pin in PINS:
        if pin.transformers_version == transformers_version:
            return pin
    pinned = ", ".join(pin.transformers_version for pin in PINS)
    raise AwsSetupError(f"no SageMaker container pins transformers {transformers_version} (pinned: {pinned})")


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
    """``python -m PACKAGE.aws.images``: the pinned transformers versions; ``--requirements V``: the container's
    recorded packages for that version, one per line."""
    if argv[:1] == ["--requirements"] and len(argv) == 2:
        print("\n".join(container_pin(argv[1]).python_packages))
    else:
        print(" ".join(sorted({pin.transformers_version for pin in PINS})))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
