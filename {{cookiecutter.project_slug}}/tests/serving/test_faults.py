"""predict through a fault-injecting proxy on 127.0.0.1 in front of a real server process: every row comes back
exactly once, in order; a killed run resumes to the same output; Ctrl-C stops cleanly."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest
from fault_proxy import FaultProxy, ServerProcess, free_port

from {{ cookiecutter.package_name }}.data.report import Record
from {{ cookiecutter.package_name }}.serving.client import (
    InProcessTarget,
    PredictRequest,
    RetryPolicy,
    RuntimeTarget,
    classify,
    predict_records,
)

from conftest import PACKAGE, PAIRS, answer, subprocess_env

ALL_FAULTS = {"status_503": 0.2, "cut_body": 0.05, "cut_headers": 0.05, "close_before_answer": 0.03, "delay": 0.03}
SEED = 14  # its first 16 draws already hold every fault, so each run sees all of them


@pytest.fixture()
def server(project, text_model):
    process = ServerProcess(project.root, text_model, subprocess_env(), free_port())
    process.start()
    yield process
    process.kill()


def rows_of(sample, count: int) -> list[Record]:
    texts = [record.text for record in sample["test"]]
    return [Record(texts[i % len(texts)], None, i + 1) for i in range(count)]


def through_faults(server, sample, text_model, tmp_path, rows: int, outage: float, batch_size: int = 64):
    """All faults at once, and the server killed a few seconds in and started again ``outage`` s later."""
    records = rows_of(sample, rows)
    policy = RetryPolicy(budget_seconds=120, base_delay=0.2, max_delay=2.0, attempt_timeout=1.5)
    restarts = []

    def restart():
        time.sleep(2)
        server.kill()
        time.sleep(outage)
        server.start()
        restarts.append(time.monotonic())

    with FaultProxy(server.port, ALL_FAULTS, seed=SEED, delay_seconds=3.0) as proxy:
        chaos = threading.Thread(target=restart)
        chaos.start()
        target = RuntimeTarget("local", url=proxy.url, policy=policy, concurrency=4)
        summary = predict_records(
            records,
            target,
            PredictRequest(output=tmp_path / "out.jsonl", batch_size=batch_size, concurrency=4, policy=policy),
            show_progress=False,
        )
        chaos.join()
    rows = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()]
    assert summary.failed == [] and restarts
    assert [row["line"] for row in rows] == [record.line for record in records]  # each once, in order
    # the same requests in this process, without faults (int8 scales activations per batch: same batches)
    texts = [record.text for record in records]
    windows = classify(texts, InProcessTarget(text_model), batch_size, concurrency=4, show_progress=False)
    expected = [prediction for window in windows for prediction in window.predictions]
    assert [answer(row) for row in rows] == [answer(p) for p in expected]
    assert proxy.requests == summary.requests + summary.retries  # every re-sent request is counted
    assert all(proxy.injected[fault] for fault in ALL_FAULTS), proxy.injected
    return summary, proxy


@pytest.mark.slow
def test_every_row_once_in_order_through_all_faults_and_a_restart(server, sample, text_model, tmp_path):
    through_faults(server, sample, text_model, tmp_path, rows=800, outage=3.0, batch_size=16)


@pytest.mark.slow
def test_5000_rows_through_all_faults_and_a_15_second_restart(server, sample, text_model, tmp_path):
    summary, proxy = through_faults(server, sample, text_model, tmp_path, rows=5000, outage=15.0)
    print(
        f"5,000 rows: {summary.requests} requests, {summary.retries} retried, proxy saw {proxy.requests}, "
        f"injected {dict(proxy.injected)}"
    )


def predict_command(project, proxy, output, *extra: str) -> list[str]:
    """predict of the project's test file through ``proxy``; in a sentence-pair project of its first texts alone,
    as the server's ``text_model`` was trained."""
    test_file = project.path(project.data.data_dir) / project.data.test_file
    one_text = ["--set", "data.text_pair_column="] if PAIRS else []
    return [
        sys.executable,
        "-m",
        PACKAGE,
        "predict",
        str(test_file),
        "--url",
        proxy.url,
        "-o",
        str(output),
        "--batch-size",
        "8",
        "--concurrency",
        "2",
        *one_text,
        *extra,
    ]


def wait_for_lines(path, count: int, process: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not (path.exists() and path.read_bytes().count(b"\n") >= count):
        assert process.poll() is None, "predict ended before it could be interrupted"
        assert time.monotonic() < deadline, f"fewer than {count} rows after {timeout:.0f} s"
        time.sleep(0.02)


@pytest.mark.slow
def test_kill_9_half_way_then_resume_equals_an_uninterrupted_run(project, server, tmp_path):
    env = subprocess_env()
    with FaultProxy(server.port, latency_seconds=0.03) as proxy:
        full = tmp_path / "full.jsonl"
        done = subprocess.run(
            predict_command(project, proxy, full), cwd=project.root, env=env, capture_output=True, timeout=300
        )
        assert done.returncode == 0, done.stderr[-2000:]
        partial = tmp_path / "partial.jsonl"
        first = subprocess.Popen(
            predict_command(project, proxy, partial),
            cwd=project.root,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        wait_for_lines(partial, 300, first)
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(timeout=30)
        kept = partial.read_bytes().count(b"\n")
        assert 0 < kept < full.read_bytes().count(b"\n")
        again = subprocess.run(
            predict_command(project, proxy, partial),
            cwd=project.root,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert again.returncode == 1 and "pass --resume to finish it" in again.stderr  # never overwritten
        resumed = subprocess.run(
            predict_command(project, proxy, partial, "--resume"),
            cwd=project.root,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert resumed.returncode == 0, resumed.stderr[-2000:]
        assert "already done" in resumed.stderr
    assert partial.read_bytes() == full.read_bytes()  # line for line, score for score


def sigint_as_in_a_terminal() -> None:
    """A job started in the background (``nohup make bench &``) ignores SIGINT, and its children inherit that;
    a command typed in a terminal gets the default, which Python turns into KeyboardInterrupt."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.slow
def test_ctrl_c_stops_cleanly_with_the_summary_and_the_resume_command(project, server, tmp_path):
    output = tmp_path / "out.jsonl"
    with FaultProxy(server.port, latency_seconds=0.03) as proxy:
        process = subprocess.Popen(
            predict_command(project, proxy, output),
            cwd=project.root,
            env=subprocess_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            preexec_fn=sigint_as_in_a_terminal,
        )
        wait_for_lines(output, 100, process)
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=120)
    assert process.returncode == 130, err[-2000:]
    assert "interrupted: answered" in err and "--resume" in err and "Traceback" not in err
    lines = output.read_text(encoding="utf-8").splitlines()
    assert lines and all(json.loads(line)["line"] for line in lines)  # only complete rows
