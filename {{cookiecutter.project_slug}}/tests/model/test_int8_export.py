"""The int8 export: packed where the model allows it, padded where it does not, and it phones nobody.

NNCF and OpenVINO's converter send usage data unless told not to. Under pytest NNCF silences itself, so that
export runs in a plain Python process whose sockets refuse (and log) every address that is not loopback, forked
children included.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

from {{ cookiecutter.package_name }}.model import batching, int8
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


@pytest.mark.slow
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


def tiny_rows(count: int = 80) -> list[list[int]]:
    generator = np.random.default_rng(0)
    return [[2, *generator.integers(5, 200, size=int(n)).tolist(), 3] for n in generator.integers(1, 40, size=count)]


def tiny_bert():
    from transformers import BertConfig, BertForSequenceClassification

    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=200, hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64, num_labels=3
    )
    return BertForSequenceClassification(config).eval()


def classify(model_dir, model, rows):
    network = int8.Int8Model(model_dir, model.config)
    input_ids, attention_mask = batching.padded(rows, pad_token_id=0)
    with torch.no_grad():
        expected = model(input_ids=input_ids, attention_mask=attention_mask).logits
    return network, network(input_ids=input_ids, attention_mask=attention_mask).logits, expected


def test_nncf_draws_its_bars_only_where_the_commands_draw_bars(tmp_path, capsys, monkeypatch):
    """NNCF's rich bars written into a log file or a pipe are blocks of bar lines; there the stage lines say it."""
    import io

    from {{ cookiecutter.package_name }} import logs

    monkeypatch.setattr(sys, "stderr", io.StringIO())  # not a terminal
    model, rows = tiny_bert(), tiny_rows()
    int8.export_int8(model, rows, 0, tmp_path / "piped")
    assert "Statistics collection" not in capsys.readouterr().out
    logs.configure(logs.VERBOSE)
    try:
        int8.export_int8(model, rows, 0, tmp_path / "verbose")
    finally:
        logs.configure(logs.NORMAL)
    assert "Statistics collection" in capsys.readouterr().out


@pytest.mark.container
def test_a_head_packing_does_not_fit_gets_the_padded_model(tmp_path):
    """BERT's head reads a pooled first token: PackedClassifier's logits differ, so the export pads."""
    model, rows = tiny_bert(), tiny_rows()
    assert not int8.packing_matches(model, rows, 0)
    int8.export_int8(model, rows, 0, tmp_path)
    network, logits, expected = classify(tmp_path, model, rows[:20])
    assert not network.packed
    assert logits.shape == expected.shape and torch.allclose(logits, expected, atol=0.2)


@pytest.mark.container  # the export runs in the training container, under its transformers
@pytest.mark.parametrize("conversion_holds", [True, False])
def test_electra_packs_unless_the_conversion_gives_other_numbers(
    trained_model, tmp_path, monkeypatch, conversion_holds
):
    from transformers import AutoModelForSequenceClassification

    model, rows = AutoModelForSequenceClassification.from_pretrained(trained_model).eval(), tiny_rows()
    assert int8.packing_matches(model, rows, 0)
    if not conversion_holds:
        monkeypatch.setattr(int8, "converted_matches", lambda *args: False)
    int8.export_int8(model, rows, 0, tmp_path)
    network, logits, expected = classify(tmp_path, model, rows[:70])
    assert network.packed == conversion_holds
    assert (logits.argmax(dim=1) == expected.argmax(dim=1)).float().mean() >= 0.9
