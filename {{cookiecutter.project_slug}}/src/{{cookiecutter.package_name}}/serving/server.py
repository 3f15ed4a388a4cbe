"""Local server with the SageMaker container contract and the runtime route.

GET /ping, POST /invocations (what the container serves) and POST /endpoints/{name}/invocations (what the
sagemaker-runtime API serves), so boto3's ``sagemaker-runtime`` client with ``endpoint_url`` pointed here works
unchanged. Bodies are the Hugging Face inference container's: predictions as output_fn writes them, errors as
``{"code", "type", "message"}`` (the container answers 400 to every handler error; this server keeps the more
precise 4xx). Requests are guarded: the request head and the body must arrive within time limits, Content-Length
is checked before the body is read and a streamed body is capped while it arrives, and a large request yields
to small ones between its micro-batches.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import deque
from pathlib import Path

import anyio
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from uvicorn.protocols.http.h11_impl import H11Protocol

from .. import logs
from . import handler
from .loading import load_served_model
from .request_rules import MAX_BODY_BYTES

log = logging.getLogger("serving")
READ_TIMEOUT_SECONDS = 30.0  # the whole body must arrive within this
HEAD_TIMEOUT_SECONDS = 10.0  # the request line and headers must arrive within this
KEEP_ALIVE_SECONDS = 5
WORKER_THREADS = 4  # requests handled at once (they take turns per micro-batch); few threads, few malloc arenas


class FairLock:
    """A lock granted in arrival order, so one busy client cannot starve the others."""

    def __init__(self):
        self._condition = threading.Condition()
        self._queue: deque[object] = deque()

    def __enter__(self):
        ticket = object()
        with self._condition:
            self._queue.append(ticket)
            self._condition.wait_for(lambda: self._queue[0] is ticket)
        return self

    def __exit__(self, *exc):
        with self._condition:
            self._queue.popleft()
            self._condition.notify_all()


class GuardedH11Protocol(H11Protocol):
    """uvicorn sets no time limit on a request's line and headers, so a client that sends half a request holds a
    connection open forever: close a connection whose request head is not in within ``head_timeout``."""

    head_timeout = HEAD_TIMEOUT_SECONDS

    def connection_made(self, transport) -> None:
        """A new connection: its request head must arrive within ``head_timeout`` seconds."""
        super().connection_made(transport)
        self.head_timer = None
        self._arm_head_timer()

    def _waiting_for_head(self) -> bool:
        return self.cycle is None or self.cycle.response_complete

    def _arm_head_timer(self) -> None:
        if self.head_timer is None:
            self.head_timer = self.loop.call_later(self.head_timeout, self._head_timed_out)

    def _disarm_head_timer(self) -> None:
        if self.head_timer is not None:
            self.head_timer.cancel()
            self.head_timer = None

    def _head_timed_out(self) -> None:
        self.head_timer = None
        if self._waiting_for_head() and not self.transport.is_closing():
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        """Bytes arrived: the head timer runs on while the head is incomplete and stops once it is in."""
        super().data_received(data)
        if self._waiting_for_head():
            self._arm_head_timer()
        else:
            self._disarm_head_timer()

    def connection_lost(self, exc) -> None:
        """The connection closed: its head timer goes."""
        self._disarm_head_timer()
        super().connection_lost(exc)


def error_response(status: int, message: str, kind: str = "RequestError") -> JSONResponse:
    """The container's error body {code, type, message} with HTTP ``status``; 408 and 413 also close the connection (the
    rest of the body is not read)."""
    headers = {"connection": "close"} if status in (408, 413) else None  # do not read the rest of that body
    return JSONResponse({"code": status, "type": kind, "message": message}, status_code=status, headers=headers)


async def read_body(request: Request, limit: int, timeout: float) -> bytes:
    """The request body, at most ``limit`` bytes, each chunk within ``timeout`` seconds. Raises RequestError: 400 for a
    bad Content-Length, 413 over the limit, 408 when the body stops arriving."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.strip().isdigit():
            raise handler.RequestError(400, f"invalid Content-Length {declared[:40]!r}")
        if int(declared) > limit:
            raise handler.RequestError(413, f"request body of {int(declared):,} bytes; the limit is {limit:,} bytes")
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    chunks, size = [], 0
    stream = request.stream().__aiter__()
    while True:
        try:
            chunk = await asyncio.wait_for(stream.__anext__(), timeout=max(0.01, deadline - loop.time()))
        except StopAsyncIteration:
            break
        except asyncio.TimeoutError:  # an alias of TimeoutError only from Python 3.11
            raise handler.RequestError(408, f"request body not received within {timeout:.0f} s") from None
        size += len(chunk)
        if size > limit:
            raise handler.RequestError(413, f"request body over the limit of {limit:,} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def create_app(
    model_dir: str | Path,
    max_body_bytes: int = MAX_BODY_BYTES,
    read_timeout: float = READ_TIMEOUT_SECONDS,
    precision: str = "auto",
) -> Starlette:
    """The local server as a Starlette app: GET /ping, POST /invocations (and SageMaker's /endpoints/<name>/invocations)
    with the handler's model at ``precision``; one forward pass at a time (a fair lock), bodies over ``max_body_bytes``
    or slower than ``read_timeout`` seconds refused. Raises ArtifactError for a folder that is not a transformer
    artifact."""
    model = load_served_model(model_dir, precision)
    model.lock = FairLock()  # one forward pass at a time (torch already uses every core), in arrival order
    workers = anyio.CapacityLimiter(WORKER_THREADS)

    async def ping(request: Request) -> Response:
        return JSONResponse({"status": "Healthy"})

    async def invocations(request: Request) -> Response:
        started = time.perf_counter()
        size = 0
        try:
            body = await read_body(request, max_body_bytes, read_timeout)
            size = len(body)
            headers = request.headers
            payload, media = await anyio.to_thread.run_sync(
                handler.handle, body, headers.get("content-type"), headers.get("accept"), model, limiter=workers
            )
            response = Response(payload.encode("utf-8"), media_type=media)
        except handler.RequestError as error:
            response = error_response(error.status, error.message)
        except Exception as error:  # a model failure must not take the server down
            log.exception("invocation failed")
            response = error_response(500, str(error), "InternalServerException")
        elapsed = (time.perf_counter() - started) * 1000
        log.info("%s %s %d %dB %.1fms", request.method, request.url.path, response.status_code, size, elapsed)
        return response

    routes = [
        Route("/ping", ping, methods=["GET"]),
        Route("/invocations", invocations, methods=["POST"]),
        Route("/endpoints/{name}/invocations", invocations, methods=["POST"]),
    ]
    app = Starlette(routes=routes)
    app.state.precision = model.precision
    return app


def server_config(app, host: str, port: int, head_timeout: float = HEAD_TIMEOUT_SECONDS) -> uvicorn.Config:
    """uvicorn's settings for ``app`` on ``host``:``port`` with the request-head timeout (``head_timeout`` seconds) and
    keep-alive."""
    protocol = type("GuardedH11", (GuardedH11Protocol,), {"head_timeout": head_timeout})
    return uvicorn.Config(
        app, host=host, port=port, log_level="warning", timeout_keep_alive=KEEP_ALIVE_SECONDS, http=protocol
    )


class BackgroundServer:
    """The server on 127.0.0.1 in a background thread (tests, notebooks, benchmarks); a context manager."""

    def __init__(
        self,
        app,
        host: str = "127.0.0.1",
        port: int = 0,
        start_timeout: float = 20.0,
        head_timeout: float = HEAD_TIMEOUT_SECONDS,
    ):
        import socket

        if port == 0:
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
                probe.bind((host, 0))
                port = probe.getsockname()[1]
        self.host, self.port, self.start_timeout = host, port, start_timeout
        self.server = uvicorn.Server(server_config(app, host, port, head_timeout))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        """The server's base URL, ``http://host:port``."""
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


def run_server(model_dir: str | Path, host: str = "127.0.0.1", port: int = 8080, precision: str = "auto") -> None:
    """Serve ``model_dir`` at ``precision`` on ``host``:``port`` until interrupted, logging one line per request."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    app = create_app(model_dir, precision=precision)
    logs.result(f"serving {model_dir} ({app.state.precision}) on http://{host}:{port} (GET /ping, POST /invocations)")
    uvicorn.Server(server_config(app, host, port)).run()
