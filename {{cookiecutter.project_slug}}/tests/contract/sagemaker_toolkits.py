"""Drive the real SageMaker toolkits from the package index: in this process, or as a server on 127.0.0.1.

- Inference: sagemaker-huggingface-inference-toolkit on Multi Model Server (MMS), what the Hugging Face inference
  containers run. The model is loaded the way the container's worker loads it (MMS's model loader with the
  toolkit's handler_service), and requests go through ``service.predict``, whose binary answer is decoded here.
- The PyPI toolkit (2.6.0) imports ``transformers.file_utils.is_tf_available``, which transformers 5 removed; the
  container installs a later toolkit commit that does not. ``shim_transformers`` adds that one attribute
  (answering False) before the toolkit is imported, and changes nothing else.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.request
from importlib.util import find_spec
from pathlib import Path

HANDLER_SERVICE = "sagemaker_huggingface_inference_toolkit.handler_service"
SIBLING_MODULES = (
    "batching",
    "ngram_scorer",
    "artifact_files",
    "answers",
    "request_rules",
)  # code/<name>.py, the handler's siblings in model.tar.gz
# Installed by `make install` with --no-deps: its declared audio libraries fight transformers 5, so the dev extra
# cannot carry it (the Makefile reads this line).
INFERENCE_TOOLKIT = "sagemaker-huggingface-inference-toolkit==2.6.0"


def inference_toolkit_missing() -> str | None:
    """Why the inference toolkit's tests cannot run in this environment, with the command that fixes it;
    None when the toolkit is installed."""
    if find_spec(HANDLER_SERVICE.split(".")[0]) is not None:
        return None
    return (
        "the Hugging Face inference toolkit is not installed (the dev extra leaves it out): "
        f"pip install --no-deps {INFERENCE_TOOLKIT}   (or: make install)"
    )


SHIM = """import transformers.file_utils as _file_utils
if not hasattr(_file_utils, "is_tf_available"):  # removed in transformers 5; the PyPI toolkit imports it
    _file_utils.is_tf_available = lambda: False
"""


def shim_transformers() -> None:
    import transformers.file_utils as file_utils

    if not hasattr(file_utils, "is_tf_available"):
        file_utils.is_tf_available = lambda: False


def unpack(tar_path: Path, destination: Path) -> Path:
    """What SageMaker does with model.tar.gz: extract it into the model folder."""
    destination.mkdir(parents=True, exist_ok=True)
    with tarfile.open(tar_path, "r:gz") as tar:
        tar.extractall(destination, filter="data")
    return destination


def load_service(model_dir: Path, environment: dict[str, str]):
    """The model as the container's worker loads it; ``environment`` is the model's Environment from deploy
    (set while the handler module is imported, which reads it then; restored afterwards)."""
    shim_transformers()
    saved = {key: os.environ.get(key) for key in environment}
    os.environ.update(environment)
    sys.modules.pop(Path(environment["SAGEMAKER_PROGRAM"]).stem, None)  # a fresh import of code/inference.py
    for name in SIBLING_MODULES:  # and of its siblings
        sys.modules.pop(name, None)
    try:
        from mms.model_loader import ModelLoaderFactory

        loader = ModelLoaderFactory.get_model_loader(str(model_dir))
        return loader.load("model", str(model_dir), HANDLER_SERVICE, None, 1)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _read(message: bytes, offset: int) -> tuple[bytes, int]:
    (length,) = struct.unpack_from("!i", message, offset)
    offset += 4
    if length < 0:
        return b"", offset
    return bytes(message[offset : offset + length]), offset + length


def decode_response(message: bytes) -> tuple[int, str, bytes]:
    """MMS's binary predict response -> (HTTP status, content type, body); an error's body is its message."""
    (code,) = struct.unpack_from("!i", message, 0)
    text, offset = _read(message, 4)
    _, offset = _read(message, offset)  # request id
    content_type, offset = _read(message, offset)
    (status,) = struct.unpack_from("!i", message, offset)
    _, offset = _read(message, offset + 4)  # reason phrase
    (headers,) = struct.unpack_from("!i", message, offset)
    offset += 4
    for _ in range(2 * headers):
        _, offset = _read(message, offset)
    body, _ = _read(message, offset)
    if code != 200:
        return code, "", text
    return status, content_type.decode("utf-8"), body


def invoke(service, body: bytes, content_type: str, accept: str | None = None) -> tuple[int, str, bytes]:
    headers = [{"name": b"Content-Type", "value": content_type.encode("utf-8")}]
    if accept is not None:
        headers.append({"name": b"Accept", "value": accept.encode("utf-8")})
    batch = [
        {
            "requestId": b"contract",
            "headers": headers,
            "parameters": [{"name": "body", "contentType": content_type, "value": body}],
        }
    ]
    return decode_response(service.predict(batch))


def free_port() -> int:
    """A free port MMS accepts: its configuration parser refuses ports above 32767."""
    for port in random.sample(range(20_000, 32_768), 200):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port between 20000 and 32767")


class MmsServer:
    """The real MMS server (Java) with the toolkit's handler service on 127.0.0.1, as the container starts it.

    Each server is isolated in ``work``: MMS keeps its pid file in Python's temp dir (``tempfile.gettempdir()``,
    from TMPDIR) and refuses to start while it names a live process, and its Java side puts the worker sockets in
    ``java.io.tmpdir`` (from TEMP). Both point to a temp dir of its own (beside its own config, ports and logs in
    ``work``), so two suites running at once cannot collide.
    """

    def __init__(self, model_dir: Path, work: Path, environment: dict[str, str], start_timeout: float = 120.0):
        self.model_dir, self.work, self.start_timeout = model_dir, work, start_timeout
        self.port = free_port()
        self.environment = environment
        self.process: subprocess.Popen | None = None
        self.temp_dir: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> MmsServer:
        self.work.mkdir(parents=True, exist_ok=True)
        self.temp_dir = Path(tempfile.mkdtemp(prefix="mms-"))  # short: a unix socket path holds 107 bytes
        (self.work / "shim").mkdir(exist_ok=True)
        (self.work / "shim" / "sitecustomize.py").write_text(SHIM, encoding="utf-8")
        properties = self.work / "mms.properties"
        properties.write_text(
            "enable_envvars_config=true\ndecode_input_request=false\nload_models=ALL\n"
            f"inference_address=http://127.0.0.1:{self.port}\nmanagement_address=http://127.0.0.1:{free_port()}\n"
            f"default_service_handler={HANDLER_SERVICE}\ndefault_workers_per_model=1\n",
            encoding="utf-8",
        )
        env = self.process_environment()
        command = [
            str(Path(sys.executable).parent / "multi-model-server"),
            "--start",
            "--foreground",
            "--model-store",
            "/",
            "--mms-config",
            str(properties),
            "--models",
            f"model={self.model_dir}",
            "--log-config",
            str(Path(find_spec("sagemaker_inference").origin).parent / "etc" / "log4j2.xml"),
        ]
        self.log = open(self.work / "mms.log", "wb")
        self.process = subprocess.Popen(
            command, cwd=self.work, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True
        )
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"MMS exited: {(self.work / 'mms.log').read_text(errors='replace')[-3000:]}")
            if self.answers():
                return self
            time.sleep(0.5)
        self.__exit__()
        raise RuntimeError(f"MMS did not answer within {self.start_timeout:.0f} s")

    def process_environment(self) -> dict[str, str]:
        """The server's environment: the model's, its own temp dir (pid file, worker sockets) and log folder."""
        return {
            **os.environ,
            **self.environment,
            "TMPDIR": str(self.temp_dir),  # Python's tempfile: MMS's .model_server.pid
            "TEMP": str(self.temp_dir),  # MMS passes it as -Djava.io.tmpdir: the workers' .mms.sock.* files
            "TMP": str(self.temp_dir),
            "LOG_LOCATION": str(self.work / "logs"),
            "PYTHONPATH": os.pathsep.join([str(self.work / "shim"), os.environ.get("PYTHONPATH", "")]),
            "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
        }

    def answers(self) -> bool:
        """True once a worker has loaded the model and classifies (/ping answers earlier than that)."""
        request = urllib.request.Request(
            f"{self.url}/invocations", data=b'{"inputs": "ready?"}', headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=5) as answer:
                return answer.status == 200
        except OSError:
            return False

    def __exit__(self, *exc) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        self.log.close()
        if self.temp_dir is not None:
            shutil.rmtree(self.temp_dir, ignore_errors=True)


def java_available() -> bool:
    return shutil.which("java") is not None
