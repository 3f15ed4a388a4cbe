"""An HTTP proxy on 127.0.0.1 that injects what real networks and servers do, and a server it can kill.

Each request the proxy reads is counted, then either forwarded or answered with a fault drawn from a seeded
generator: a 503, a response cut in the middle of its body or inside its headers, a connection closed before
any answer, or an answer delayed past the client's timeout. While the upstream is down the proxy answers 502.
Everything is bounded: the proxy serves until the test leaves its ``with`` block.
"""

from __future__ import annotations

import os
import random
import signal
import socket
import socketserver
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter
from pathlib import Path

FAULTS = ("status_503", "cut_body", "cut_headers", "close_before_answer", "delay")
HEAD_END = b"\r\n\r\n"


def read_head(connection: socket.socket, buffer: bytearray) -> bytes | None:
    while HEAD_END not in buffer:
        chunk = connection.recv(65536)
        if not chunk:
            return None
        buffer += chunk
    end = buffer.index(HEAD_END) + len(HEAD_END)
    head = bytes(buffer[:end])
    del buffer[:end]
    return head


def content_length(head: bytes) -> int:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value.strip())
    return 0


def read_exactly(connection: socket.socket, buffer: bytearray, size: int) -> bytes:
    while len(buffer) < size:
        chunk = connection.recv(65536)
        if not chunk:
            break
        buffer += chunk
    body = bytes(buffer[:size])
    del buffer[:size]
    return body


def closing_head(head: bytes) -> bytes:
    """The request head with ``Connection: close``, so the upstream's answer ends at EOF."""
    lines = [line for line in head[: -len(HEAD_END)].split(b"\r\n") if not line.lower().startswith(b"connection:")]
    return b"\r\n".join([*lines, b"Connection: close"]) + HEAD_END


def plain_response(status: int, reason: str, body: bytes) -> bytes:
    return (
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body


class FaultProxy:
    def __init__(
        self,
        upstream_port: int,
        faults: dict[str, float] | None = None,
        seed: int = 0,
        delay_seconds: float = 3.0,
        latency_seconds: float = 0.0,
    ):
        unknown = set(faults or {}) - set(FAULTS)
        assert not unknown, f"unknown faults {unknown}"
        self.upstream_port, self.faults = upstream_port, dict(faults or {})
        self.delay_seconds, self.latency_seconds = delay_seconds, latency_seconds
        self.rng, self.lock = random.Random(seed), threading.Lock()
        self.requests, self.injected = 0, Counter()
        proxy = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self):
                proxy.serve_connection(self.request)

        socketserver.ThreadingTCPServer.allow_reuse_address = True
        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> FaultProxy:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def draw(self) -> str | None:
        with self.lock:
            self.requests += 1
            roll, total = self.rng.random(), 0.0
            for fault, probability in self.faults.items():
                total += probability
                if roll < total:
                    self.injected[fault] += 1
                    return fault
        return None

    def forward(self, head: bytes, body: bytes) -> bytes:
        try:
            with socket.create_connection(("127.0.0.1", self.upstream_port), timeout=120) as upstream:
                upstream.sendall(closing_head(head) + body)
                chunks = []
                while chunk := upstream.recv(65536):
                    chunks.append(chunk)
                return b"".join(chunks) or plain_response(502, "Bad Gateway", b'{"message": "empty answer"}')
        except OSError:
            return plain_response(502, "Bad Gateway", b'{"message": "upstream is down"}')

    def serve_connection(self, connection: socket.socket) -> None:
        buffer = bytearray()
        try:
            while (head := read_head(connection, buffer)) is not None:
                body = read_exactly(connection, buffer, content_length(head))
                fault = self.draw()
                if fault == "close_before_answer":
                    return
                if fault == "delay":
                    time.sleep(self.delay_seconds)  # past the client's timeout: it has given up on this one
                    return
                if fault == "status_503":
                    connection.sendall(plain_response(503, "Service Unavailable", b'{"message": "try again"}'))
                    continue
                answer = self.forward(head, body)
                time.sleep(self.latency_seconds)
                split = answer.index(HEAD_END) + len(HEAD_END) if HEAD_END in answer else len(answer)
                if fault == "cut_body":
                    connection.sendall(answer[: split + max(1, (len(answer) - split) // 2)])
                    return
                if fault == "cut_headers":
                    connection.sendall(answer[: max(1, split // 2)])
                    return
                connection.sendall(answer)
        except OSError:
            return
        finally:
            connection.close()


class ServerProcess:
    """`<cli> serve` in its own process, so a test can kill -9 it and start it again on the same port."""

    def __init__(self, project_root: Path, model_dir: Path, env: dict[str, str], port: int):
        self.root, self.model_dir, self.env, self.port = project_root, model_dir, env, port
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 90.0) -> None:
        from conftest import PACKAGE

        command = [sys.executable, "-m", PACKAGE, "serve", "--model-dir", str(self.model_dir), "--port", str(self.port)]
        self.process = subprocess.Popen(
            command,
            cwd=self.root,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{self.url}/ping", timeout=2):
                    return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"the server did not start within {timeout:.0f} s")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        raise RuntimeError("no VmRSS")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
