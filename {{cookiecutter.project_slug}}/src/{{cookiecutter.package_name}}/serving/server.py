"""Local server with the SageMaker container contract and the runtime route.

GET /ping, POST /invocations (what the container serves) and POST /endpoints/{name}/invocations (what
the sagemaker-runtime API serves), so boto3's ``sagemaker-runtime`` client with ``endpoint_url`` pointed
here works unchanged. Client errors come back as 4xx with a JSON message; the server keeps serving.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

import uvicorn
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from . import handler

log = logging.getLogger("serving")


def create_app(model_dir: str | Path) -> Starlette:
    model = handler.model_fn(str(model_dir))
    lock = threading.Lock()  # one forward pass at a time: torch already uses every core

    def classify(body: bytes, content_type: str | None, accept: str | None) -> tuple[str, str]:
        with lock:
            return handler.handle(body, content_type, accept, model)

    async def ping(request: Request) -> Response:
        return JSONResponse({"status": "healthy"})

    async def invocations(request: Request) -> Response:
        started = time.perf_counter()
        body = await request.body()
        content_type = request.headers.get("content-type")
        accept = request.headers.get("accept")
        try:
            payload, media = await run_in_threadpool(classify, body, content_type, accept)
            response = Response(payload.encode("utf-8"), media_type=media)
        except handler.RequestError as error:
            response = JSONResponse({"error": type(error).__name__, "message": error.message}, status_code=error.status)
        except Exception as error:  # a model failure must not take the server down
            log.exception("invocation failed")
            response = JSONResponse({"error": "ModelError", "message": str(error)}, status_code=500)
        log.info(
            "%s %s %d %dB %.1fms",
            request.method,
            request.url.path,
            response.status_code,
            len(body),
            (time.perf_counter() - started) * 1000,
        )
        return response

    routes = [
        Route("/ping", ping, methods=["GET"]),
        Route("/invocations", invocations, methods=["POST"]),
        Route("/endpoints/{name}/invocations", invocations, methods=["POST"]),
    ]
    return Starlette(routes=routes)


class BackgroundServer:
    """The server on 127.0.0.1 in a background thread (tests, notebooks, benchmarks); a context manager."""

    def __init__(self, app, host: str = "127.0.0.1", port: int = 0, start_timeout: float = 20.0):
        import socket

        if port == 0:
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
                probe.bind((host, 0))
                port = probe.getsockname()[1]
        self.host, self.port, self.start_timeout = host, port, start_timeout
        self.server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def __enter__(self) -> BackgroundServer:
        self.thread.start()
        deadline = time.monotonic() + self.start_timeout
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError(f"server on {self.url} did not start within {self.start_timeout:.0f}s")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def run_server(model_dir: str | Path, host: str = "127.0.0.1", port: int = 8080) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    app = create_app(model_dir)
    print(f"serving {model_dir} on http://{host}:{port} (GET /ping, POST /invocations)", flush=True)
    uvicorn.run(app, host=host, port=port, log_level="warning")
