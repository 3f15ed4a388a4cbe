"""The int8 export phones nobody: NNCF and OpenVINO's converter send usage data unless told not to.

Under pytest NNCF silences itself, so the export runs in a plain Python process whose sockets refuse (and log)
every address that is not loopback, forked children included.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

from {{ cookiecutter.package_name }}.model.artifact import INT8_MODEL_FILE

from conftest import subprocess_env

GUARDED_EXPORT = textwrap.dedent(
    """
    import socket, sys
    log = sys.argv[2]

    def refuse(what):
        with open(log, "a", encoding="utf-8") as f:
            f.write(what + "\\n")
        raise OSError("no network in this test")

    real_connect, real_lookup = socket.socket.connect, socket.getaddrinfo

    def connect(self, address):
        if isinstance(address, tuple) and address[0] not in ("127.0.0.1", "::1"):
            refuse(f"connect {address!r}")
        return real_connect(self, address)

    def lookup(host, *args, **kwargs):
        if host not in (None, "127.0.0.1", "::1", "localhost"):
            refuse(f"lookup {host}")
        return real_lookup(host, *args, **kwargs)

    socket.socket.connect, socket.getaddrinfo = connect, lookup

    import time
    from pathlib import Path
    from transformers import AutoModelForSequenceClassification
    from {{ cookiecutter.package_name }}.model.int8 import export_int8

    model = AutoModelForSequenceClassification.from_pretrained(sys.argv[1])
    export_int8(model, [[2, 10, 11, 3], [2, 12, 3]], 0, Path(sys.argv[3]))
    time.sleep(2)  # the senders run in forked processes
    """
)


def test_the_int8_export_sends_no_telemetry(trained_model, tmp_path):
    log = tmp_path / "attempts.log"
    result = subprocess.run(
        [sys.executable, "-c", GUARDED_EXPORT, str(trained_model), str(log), str(tmp_path / "out")],
        env=subprocess_env(),
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert (tmp_path / "out" / INT8_MODEL_FILE).is_file()
    assert not log.exists(), log.read_text(encoding="utf-8")
