"""Classify many texts through a model folder, a local server or a SageMaker endpoint, losing nothing.

A request is one unit: connect, send, status, body read, JSON decode and count check either all succeed or the
whole request is sent again, with exponential backoff and full jitter, until it succeeds or its time budget
(enough to ride out a server restart) runs out; then its rows fail with the reason. Every re-sent request is
counted. Texts go out in windows over a bounded thread pool, sorted by length inside each window; results are
written in input order as soon as their window is done, keyed by input line, so a killed run leaves only
complete rows and ``--resume`` finishes it. An existing output is never overwritten silently.

Requests stay inside the server's limits (SERVER_LIMITS, from serving/request_rules.py): at most ``batch_size``
and the server's item limit of texts, and a JSON body well under its byte limit, by encoded size. A text over
the server's character limit (or not encodable as UTF-8) fails alone without being sent. A request the server
refuses for one text's content (its message names ``inputs[k]``) is sent again without that text, which fails
alone with the server's reason; a refusal that names no text (400/413) is split in halves until the bad rows
stand alone.
"""

from __future__ import annotations

import json
import random
import re
import shlex
import sys
import threading
import time
import unicodedata
from collections.abc import Callable, Collection, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Protocol

from tqdm.auto import tqdm

from .. import logs
from ..answers import HEADS, head_of
from ..config import LABELS_FILE, Config
from ..data.labels import LabelSchema
from ..data.normalize import Normalizer
from ..data.report import Record
from ..data.validation import ReadOptions, load_records
from ..errors import DataError, PredictError
from ..evaluation.metrics import classification_report, metric_line, score
from ..tasks import task_named
from .output import OutputFile, output_encoding, output_row
from .request_rules import DEFAULT_MAX_ITEMS, DEFAULT_MAX_TEXT_CHARS, MAX_BODY_BYTES, PAIR_PROBLEM_PREFIX
from .seen import warn_training_rows

RETRY_STATUSES = {408, 429}  # besides 5xx: a timeout or throttling, not a bad request
SPLIT_STATUSES = {400, 413}  # a refusal that may come from one text's content: isolate it
BODY_MARGIN = 0.75  # share of the server's byte limit a request body may use (headers, proxies, estimate slack)
REFUSED_INPUT = re.compile(r"inputs\[(\d+)\] (.+)", re.DOTALL)  # the handler's message for one bad text
SHOWN_FAILURES = 20


def refused_row(reason: str) -> str:
    """The client's words for one refused row from the handler's ``reason`` ("is empty", "text_pair is empty", ...):
    said of the text, or of the second text when the reason names text_pair."""
    if reason.startswith(PAIR_PROBLEM_PREFIX):
        return f"the second text (text_pair) {reason[len(PAIR_PROBLEM_PREFIX) :]}"
    return f"the text {reason}"


class RetryableError(Exception):
    """A transient failure: the server is down, slow, cut the response, or answered 5xx/429."""


class FinalError(Exception):
    """The request itself is wrong (a 4xx): sending it again cannot help."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class RequestLimits:
    """What one request to the server may hold: texts, characters per text, bytes of JSON body."""

    max_items: int
    max_text_chars: int
    max_body_bytes: int

    def local_problem(self, text: str | dict) -> str:
        """Why ``text`` (a text, or a sentence pair: {"text", "text_pair"}) cannot be sent ("" when it can): over the
        character limit, or not encodable as UTF-8."""
        if isinstance(text, dict):
            return next(filter(None, (self.local_problem(part) for part in text.values())), "")
        if len(text) > self.max_text_chars:
            return f"not sent: the text has {len(text)} characters; the server's limit is {self.max_text_chars}"
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as error:
            return f"not sent: the text holds an unpaired surrogate at character {error.start}"
        return ""


# what the handler takes with its default limits (serving/request_rules.py), the body with a margin (BODY_MARGIN)
SERVER_LIMITS = RequestLimits(DEFAULT_MAX_ITEMS, DEFAULT_MAX_TEXT_CHARS, int(MAX_BODY_BYTES * BODY_MARGIN))


def item_of(record: Record) -> str | dict:
    """What a request carries for ``record``: its text, or for a sentence pair {"text": ..., "text_pair": ...}
    (the handler's and the transformers pipeline's form)."""
    return record.text if record.text_pair is None else {"text": record.text, "text_pair": record.text_pair}


def item_length(item: str | dict) -> int:
    """The characters of a request item (both texts of a pair): what requests are sorted by."""
    return sum(map(len, item.values())) if isinstance(item, dict) else len(item)


def body_bytes(text: str | dict) -> int:
    """What ``text`` (a text or a pair) adds to a JSON body {"inputs": [...]}, encoded as RuntimeTarget sends it."""
    return len(json.dumps(text, ensure_ascii=False).encode("utf-8", "surrogatepass")) + 2


EMPTY_BODY_BYTES = len(b'{"inputs": []}')


def cut_requests(rows: list[int], texts: Sequence[str], batch_size: int, limits: RequestLimits) -> list[list[int]]:
    """``rows`` (in order) cut into requests of at most ``batch_size`` and ``limits.max_items`` texts and
    ``limits.max_body_bytes`` bytes of body; a text alone over the byte limit still goes alone."""
    most = max(1, min(batch_size, limits.max_items))
    requests: list[list[int]] = []
    current: list[int] = []
    size = EMPTY_BODY_BYTES
    for row in rows:
        added = body_bytes(texts[row])
        if current and (len(current) >= most or size + added > limits.max_body_bytes):
            requests.append(current)
            current, size = [], EMPTY_BODY_BYTES
        current.append(row)
        size += added
    return [*requests, current] if current else requests


class Target(Protocol):
    """Where predictions come from: a local server or endpoint (RuntimeTarget) or a model in this process
    (InProcessTarget). ``who`` names it in a refusal ("the server", "the model")."""

    who: str

    def send(self, texts: list[str]) -> list[dict]:
        """One attempt: predictions for ``texts`` in order, or RetryableError / FinalError."""


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to retry one request: a time budget in seconds from its first attempt, jittered exponential backoff
    between ``base_delay`` and ``max_delay`` seconds, and a read timeout per attempt (seconds)."""

    budget_seconds: float = 120.0  # per request, from its first attempt: rides out a restart of a minute or two
    base_delay: float = 0.5
    max_delay: float = 10.0
    attempt_timeout: float = 60.0  # read timeout of one attempt
    max_attempts: int = 0  # 0: as many as the budget allows

    def delay(self, attempt: int, rng: random.Random) -> float:
        """Full jitter: uniform in [0, min(max_delay, base * 2^attempt)]."""
        return rng.uniform(0, min(self.max_delay, self.base_delay * 2**attempt))


class InProcessTarget:
    """A model folder classified in this process (no network) through the serving handler, at the precision the
    server would use: a trained model, an n-gram model, or both mixed."""

    who = "the model"  # no server: the handler's own checks refuse in this process

    def __init__(self, model_dir: str | Path, precision: str = "auto"):
        from . import handler
        from .loading import load_served_model

        self._handler = handler
        self.model = load_served_model(model_dir, precision)

    def send(self, texts: list[str | dict]) -> list[dict]:
        """Predictions for ``texts`` (texts, or pairs {"text", "text_pair"}); FinalError for a text the server would
        refuse (the server's message)."""
        firsts, pairs = [], []
        for index, item in enumerate(texts):
            text, pair, problem = self._handler.split_item(item)
            if problem:
                raise FinalError(f"inputs[{index}] {problem}", 400)
            firsts.append(text)
            pairs.append(pair)
        data = {"inputs": firsts, "pairs": pairs, "whole": True}
        try:
            return self._handler.predict_fn(data, self.model)  # the handler's token bound; no wire, no bytes
        except self._handler.RequestError as error:
            raise FinalError(error.message, error.status) from None


class RuntimeTarget:
    """A SageMaker endpoint, or the local server at ``url``, through boto3's sagemaker-runtime client.

    botocore's own retries are off: the retry loop here covers the whole request, body read included.
    """

    who = "the server"

    def __init__(
        self,
        endpoint_name: str,
        url: str | None = None,
        region: str = "ap-northeast-2",
        policy: RetryPolicy | None = None,
        concurrency: int = 4,
    ):
        import boto3
        from botocore.config import Config as BotoConfig

        policy = policy or RetryPolicy()
        self.endpoint_name = endpoint_name
        settings = BotoConfig(
            retries={"mode": "standard", "total_max_attempts": 1},
            max_pool_connections=max(10, concurrency),
            read_timeout=policy.attempt_timeout,
            connect_timeout=min(10.0, policy.attempt_timeout),
        )
        session = boto3.Session(region_name=region)
        if url and session.get_credentials() is None:
            # a local server needs no credentials, but botocore signs every request
            session = boto3.Session(region_name=region, aws_access_key_id="local", aws_secret_access_key="local")
        self.client = session.client("sagemaker-runtime", endpoint_url=url, config=settings)

    def send(self, texts: list[str]) -> list[dict]:
        """One attempt: predictions for ``texts`` in order. Raises RetryableError for throttling, 5xx, 408 and
        connection problems, FinalError for other refusals."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            response = self.client.invoke_endpoint(
                EndpointName=self.endpoint_name,
                ContentType="application/json",
                Accept="application/json",
                Body=json.dumps({"inputs": texts}, ensure_ascii=False).encode("utf-8"),
            )
            body = response["Body"].read()
        except ClientError as error:
            raise classify_client_error(error) from None
        except BotoCoreError as error:  # refused, reset, timed out, or the body cut short
            raise RetryableError(f"{error.__class__.__name__}: {error}") from None
        return parse_predictions(body, texts, "the response body")


def parse_predictions(body: bytes, texts: list[str], what: str) -> list:
    """The endpoint's answer to ``texts``: a JSON list with one prediction per text. Raises RetryableError when
    ``body`` (named ``what`` in the message) is not JSON, or holds another number of predictions (cut short?)."""
    try:
        rows = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise RetryableError(f"{what} is not valid JSON ({len(body)} bytes; cut short?)") from None
    if not isinstance(rows, list) or len(rows) != len(texts):
        raise RetryableError(f"{len(rows) if isinstance(rows, list) else 'no'} predictions for {len(texts)} texts")
    return rows


def classify_client_error(error) -> Exception:
    """4xx (a bad request) is final; 5xx, 408 and 429 are worth another try. A real endpoint wraps the
    container's answer in a ModelError that carries the container's own status."""
    response = error.response
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode", 500)
    details = response.get("Error", {})
    original = response.get("OriginalStatusCode") or details.get("OriginalStatusCode")
    status = int(original) if str(original or "").isdigit() else status
    message = details.get("Message") or response.get("OriginalMessage") or str(error)
    if (
        status >= 500
        or status in RETRY_STATUSES
        or details.get("Code") in ("ThrottlingException", "ServiceUnavailable")
    ):
        return RetryableError(f"HTTP {status}: {message}")
    return FinalError(f"HTTP {status}: {message}", status)


@dataclass
class Outcome:
    """What sending one request came to: its rows (None when it failed), retries used, the error and a final refusal's
    HTTP status."""

    rows: list[dict] | None
    retries: int
    error: str = ""
    status: int = 0  # the status of a final (4xx) refusal; 0 otherwise


def send_with_retries(
    target: Target, texts: list[str], policy: RetryPolicy, rng: random.Random, stop: threading.Event
) -> Outcome:
    """Send ``texts`` to ``target`` until it answers, a final error, ``stop``, or ``policy``'s budget runs out; waits
    with jittered backoff (``rng``) between attempts. Returns the Outcome."""
    started = time.monotonic()
    attempt = 0
    while True:
        attempt += 1
        try:
            return Outcome(target.send(texts), attempt - 1)
        except FinalError as error:
            return Outcome(None, attempt - 1, str(error), error.status)
        except RetryableError as error:
            pause = policy.delay(attempt, rng)
            spent = time.monotonic() - started
            out_of_attempts = policy.max_attempts and attempt >= policy.max_attempts
            if out_of_attempts or spent + pause > policy.budget_seconds or stop.is_set():
                return Outcome(None, attempt - 1, f"{error} (gave up after {attempt} attempt(s) in {spent:.0f} s)")
            stop.wait(pause)


def refusal_message(error: str) -> str:
    """The handler's own message inside ``error``: an endpoint wraps the container's JSON body
    ({"code", "type", "message"}) in its own text, quotes escaped; a local server or the model gives it as it is."""
    start, end = error.find("{"), error.rfind("}")
    if 0 <= start < end:
        for candidate in (error[start : end + 1], error[start : end + 1].replace('\\"', '"')):
            try:
                body = json.loads(candidate)
            except ValueError:
                continue
            if isinstance(body, dict) and isinstance(body.get("message"), str):
                return body["message"]
    return error


@dataclass
class Sent:
    """One planned request's results, after any refused text was isolated: a prediction or an error per text."""

    predictions: list[dict | None]
    errors: list[str]
    retries: int = 0
    requests: int = 0


def send_isolating(
    target: Target, texts: list[str], policy: RetryPolicy, rng: random.Random, stop: threading.Event
) -> Sent:
    """Send ``texts`` (with retries); when the server refuses the request for one text's content, that text fails
    alone with the server's reason and the others are sent again (module docstring)."""
    sent = Sent([None] * len(texts), [""] * len(texts))
    pending = [list(range(len(texts)))]
    while pending:
        group = pending.pop()
        outcome = send_with_retries(target, [texts[i] for i in group], policy, rng, stop)
        sent.retries += outcome.retries
        sent.requests += 1
        if outcome.rows is not None:
            for index, row in zip(group, outcome.rows, strict=True):
                sent.predictions[index] = row
            continue
        refused = REFUSED_INPUT.search(refusal_message(outcome.error)) if outcome.status else None
        if refused and int(refused.group(1)) < len(group):
            bad = group[int(refused.group(1))]
            reason = refused.group(2).strip()
            status = f" (HTTP {outcome.status})" if target.who == RuntimeTarget.who else ""
            sent.errors[bad] = f"refused by {target.who}{status}: {refused_row(reason)}"
            pending.append([index for index in group if index != bad])
        elif outcome.status in SPLIT_STATUSES and len(group) > 1 and not stop.is_set():
            half = len(group) // 2
            pending += [group[half:], group[:half]]
        else:
            for index in group:
                sent.errors[index] = outcome.error
        pending = [group for group in pending if group]
    return sent


@dataclass
class Window:
    """Consecutive input rows from ``start``: a prediction (or None and an error) per row."""

    start: int
    predictions: list[dict | None]
    errors: list[str]
    retries: int = 0
    requests: int = 0


def classify(
    texts: Sequence[str],
    target: Target,
    batch_size: int = 64,
    concurrency: int = 4,
    policy: RetryPolicy | None = None,
    stop: threading.Event | None = None,
    done: Collection[int] = (),
    window: int | None = None,
    show_progress: bool = True,
    limits: RequestLimits | None = None,
) -> Iterator[Window]:
    """Yield results in input order, one Window of rows at a time, with ``concurrency`` requests in flight.

    Inside each window (``batch_size * concurrency * 4`` rows by default) texts are sorted by length before they
    are cut into requests, so each request pads little. A window whose rows are all in ``done`` (indices) is
    skipped; any other is classified whole, so each request holds exactly the texts it holds in an uninterrupted
    run, and a resumed run's results equal that run's to the last digit. Requests keep to ``limits`` (the
    handler's: cut_requests); a text over its character limit fails without being sent.
    """
    policy, stop = policy or RetryPolicy(), stop or threading.Event()
    limits = limits or SERVER_LIMITS
    window = window or batch_size * max(1, concurrency) * 4
    rng = random.Random()
    done = set(done)
    with (
        ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool,
        tqdm(total=len(texts) - len(done), unit="text", desc="classifying", disable=not show_progress) as bar,
    ):
        for start in range(0, len(texts), window):
            end = min(start + window, len(texts))
            pending = sum(index not in done for index in range(start, end))
            if not pending:
                continue
            send = partial(send_isolating, target, policy=policy, rng=rng, stop=stop)
            result = classify_window(
                texts, range(start, end), send=send, stop=stop, pool=pool, batch_size=batch_size, limits=limits
            )
            bar.update(pending)
            yield result


def classify_window(
    texts: Sequence[str],
    rows: range,
    *,
    send: Callable[[list[str]], Sent],
    stop: threading.Event,
    pool: ThreadPoolExecutor,
    batch_size: int,
    limits: RequestLimits,
) -> Window:
    """One window of ``classify``: the ``rows`` (indices into ``texts``) sorted by length, cut into requests
    (cut_requests), each sent on ``pool`` with ``send``; a text over the limits fails without being sent. On any
    exception ``stop`` is set (requests in flight give up) and every request not yet started is cancelled."""
    start = rows.start
    result = Window(start, [None] * len(rows), [""] * len(rows))
    to_send = []
    for index in sorted(rows, key=lambda i: item_length(texts[i])):
        result.errors[index - start] = limits.local_problem(texts[index])
        if not result.errors[index - start]:
            to_send.append(index)
    futures = {
        pool.submit(send, [texts[i] for i in request]): request
        for request in cut_requests(to_send, texts, batch_size, limits)
    }
    try:
        wait(futures)
    except BaseException:
        stop.set()
        for future in futures:
            future.cancel()
        raise
    for future, request in futures.items():
        sent = future.result()
        result.retries += sent.retries
        result.requests += sent.requests
        for offset, row in enumerate(request):
            result.predictions[row - start] = sent.predictions[offset]
            result.errors[row - start] = sent.errors[offset]
    return result


@dataclass
class PredictSummary:
    """What a predict run did: rows, rows skipped (already in the output), failed rows with their reason, retries,
    requests, and each row's answered label by input line."""

    rows: int = 0
    skipped: int = 0  # already in the output (--resume)
    failed: list[tuple[int, str]] = field(default_factory=list)  # (input line, reason)
    retries: int = 0
    requests: int = 0
    labels: dict[int, str | tuple[str, ...]] = field(default_factory=dict)  # input line -> predicted name(s)

    def line(self) -> str:
        """The run in one line: rows answered, requests, retries and failures."""
        done = self.rows - len(self.failed) - self.skipped
        text = (
            f"answered {done}/{self.rows - self.skipped} rows in {self.requests} request(s), "
            f"{self.retries} retried, {len(self.failed)} failed"
        )
        return text + (f"; {self.skipped} already done" if self.skipped else "")


class PredictInterrupted(Exception):
    """Predict stopped early (Ctrl-C); ``summary`` says what was done, every finished row is in the output."""

    def __init__(self, summary: PredictSummary):
        super().__init__("interrupted")
        self.summary = summary


def predict_records(
    records: list[Record],
    target: Target,
    request: PredictRequest,
    names: tuple[str, ...] | None = None,
    show_progress: bool = True,
    input_encoding: str = "",
    task: str = "",
) -> PredictSummary:
    """Classify every record not already in ``request.output`` through ``target``, as ``request`` says (its
    batch size, concurrency, retry policy, resume or overwrite; the output written as its extension says, in
    ``request.encoding`` for a table, or ``input_encoding``, the input file's, on request: serving/output.py); a
    Ctrl-C stops cleanly with PredictInterrupted. ``task``: the model's (labels.json), whose head reads the answers;
    without it each answer's shape says."""
    summary = PredictSummary(rows=len(records))
    pairs = any(record.text_pair is not None for record in records)
    out = None
    if request.output is not None:
        out = OutputFile(request.output, request.resume, request.overwrite, request.encoding, input_encoding, pairs)
    done = {index for index, record in enumerate(records) if out is not None and record.line in out.kept}
    if out is not None:
        summary.skipped = len(done)
        summary.labels.update({line: kept_answer(row, task) for line, row in out.kept.items()})
    table = out.table if out is not None else False
    stop = threading.Event()
    try:
        texts = [item_of(record) for record in records]
        windows = classify(
            texts,
            target,
            request.batch_size,
            request.concurrency,
            request.policy,
            stop,
            done,
            show_progress=show_progress,
        )
        for window in windows:
            summary.retries += window.retries
            summary.requests += window.requests
            for offset, (prediction, error) in enumerate(zip(window.predictions, window.errors, strict=True)):
                if window.start + offset in done:
                    continue
                record = records[window.start + offset]
                row = output_row(record, prediction, error, names, table, task)
                if out is not None:
                    out.write(row)
                else:
                    sys.stdout.write(json.dumps(row, ensure_ascii=False) + "\n")
                if prediction is None:
                    summary.failed.append((record.line, error))
                else:
                    summary.labels[record.line] = (HEADS[task] if task else head_of(prediction)).value(prediction)
            (out if out is not None else sys.stdout).flush()
    except KeyboardInterrupt:
        raise PredictInterrupted(summary) from None
    finally:
        if out is not None:
            out.close()
    return summary


def read_inputs(config: Config, input_file: Path | None, schema: LabelSchema | None) -> tuple[list[Record], str]:
    """The rows to classify, and the encoding their file was read in ("" for stdin). Raises DataError, PredictError."""
    normalizer = Normalizer.from_config(config.data)  # one normal form (NFC) for files and stdin alike
    if input_file is None or str(input_file) == "-":
        data = sys.stdin.buffer.read() if hasattr(sys.stdin, "buffer") else sys.stdin.read().encode("utf-8")
        try:  # UTF-8 whatever the terminal's locale; lines end at "\n" only, as in the handler
            lines = data.decode("utf-8").removeprefix("\ufeff").split("\n")
        except UnicodeDecodeError as error:
            raise PredictError(f"standard input is not valid UTF-8 (byte {error.start})") from None
        return stdin_records(lines, config, normalizer), ""
    report = load_records(
        input_file,
        ReadOptions.from_config(config.data, require_labels=False),
        schema,
        normalizer,
        show_progress=True,
    )
    logs.say(report.summary(), stderr=True)
    if report.errors:
        raise DataError([report])
    return report.records, report.encoding


def stdin_line(line: str, keys: tuple[str, str], pairs: bool) -> tuple[str, str | None]:
    """A line of standard input as (text, second text or None): a JSON object with the project's text keys (or
    ``text`` / ``text_pair``, the handler's); for a pair project, two tab-separated columns; otherwise the line."""
    if line.lstrip().startswith("{"):
        try:
            item = json.loads(line)
        except ValueError:
            item = None
        if isinstance(item, dict):
            text = item.get(keys[0], item.get("text"))
            pair = item.get(keys[1], item.get("text_pair")) if pairs else None
            if isinstance(text, str) and (pair is None or isinstance(pair, str)):
                return text, pair
    if pairs:
        text, tab, pair = line.partition("\t")
        return text, (pair if tab else None)
    return line, None


def stdin_records(lines: list[str], config: Config, normalizer: Normalizer) -> list[Record]:
    """Rows to classify from standard input, one a line (see stdin_line); a first line that holds the column names
    (``text_column``, or with the pair column tab-separated; or ``text`` / ``text_pair``) is a header: skipped, and
    said. Blank lines are skipped, and counted aloud (the newline ending the input is no line); a pair line without
    its second text keeps None (the model refuses it, named)."""
    pairs = bool(config.data.text_pair_column)
    keys = (config.data.text_column, config.data.text_pair_column)
    headers = {"\t".join(keys) if pairs else keys[0], "\t".join(("text", "text_pair")) if pairs else "text"}
    had_header = bool(lines) and unicodedata.normalize("NFC", lines[0].strip()) in headers
    if had_header:  # compared before the normalizer, which would join the tab
        logs.say(f"standard input: line 1 ({lines[0].strip()!r}) is the column names: read as a header", stderr=True)
        lines = ["", *lines[1:]]
    records = []
    for number, line in enumerate(lines, 1):
        text, pair = stdin_line(line, keys, pairs)
        text = normalizer(text)
        if text or (pair and pair.strip()):
            records.append(
                Record(text=text, label=None, line=number, text_pair=None if pair is None else normalizer(pair))
            )
    blank = len(lines[: -1 if lines and not lines[-1].strip() else None]) - len(records) - had_header
    if blank:
        logs.say(f"standard input: {blank} blank line(s) skipped", stderr=True)
    return records


def project_schema(config: Config) -> LabelSchema | None:
    """The project's label schema when labels.json exists (scoring labelled input), else None."""
    path = config.path(config.data.labels_file)
    return LabelSchema.load(path) if path.is_file() else None


def report_failures(summary: PredictSummary) -> None:
    """The first SHOWN_FAILURES failed rows with their reason on stderr, and how many more."""
    for line, reason in summary.failed[:SHOWN_FAILURES]:
        logs.result(f"line {line}: failed: {reason}", stderr=True)
    if len(summary.failed) > SHOWN_FAILURES:
        logs.result(f"... and {len(summary.failed) - SHOWN_FAILURES} more failed rows", stderr=True)


def resume_command() -> str:
    """This command line again with ``--resume`` (and without ``--overwrite``): what continues an interrupted run."""
    words = [word for word in sys.argv if word not in ("--resume", "--overwrite")]
    return shlex.join([Path(words[0]).name, *words[1:], "--resume"]) if words else "--resume"


def report_interrupted(stopped: PredictInterrupted, output: Path | None) -> None:
    """Say what an interrupted predict finished, and the command that continues it (or that nothing was saved)."""
    logs.result(f"interrupted: {stopped.summary.line()}", stderr=True)
    logs.result(
        f"every finished row is in {output}; continue with:\n  {resume_command()}"
        if output
        else "nothing was saved (no -o)",
        stderr=True,
    )


@dataclass
class PredictRequest:
    """One predict run, as the predict command's options give it: what it reads (``input_file``; None or "-":
    stdin) and writes (``output``; None: stdout; ``resume`` keeps its rows, ``overwrite`` replaces it, ``encoding``
    is a table's: serving/output.py); where the rows go (``model_dir``: in this process at ``precision``, else the
    server at ``url`` or the endpoint ``endpoint_name``; ``target``: any other Target, such as an async endpoint:
    aws/asynchronous.py); and how (at most ``batch_size`` texts a request, ``concurrency`` requests in flight,
    retried as ``policy`` says)."""

    input_file: Path | None = None
    output: Path | None = None
    model_dir: Path | None = None
    url: str | None = None
    endpoint_name: str | None = None
    precision: str = "auto"
    target: Target | None = None
    batch_size: int = 64
    concurrency: int = 4
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    resume: bool = False
    overwrite: bool = False
    encoding: str | None = None


def default_target(config: Config, request: PredictRequest) -> Target:
    """Where predict sends its rows: the model in this process (``request.model_dir``), else a running server or
    endpoint (``url``, ``endpoint_name``; "local" when neither is given)."""
    if request.model_dir is not None:
        return InProcessTarget(request.model_dir, request.precision)
    return RuntimeTarget(
        request.endpoint_name or "local",
        url=request.url,
        region=config.aws.region,
        policy=request.policy,
        concurrency=request.concurrency,
    )


def run_predict(config: Config, request: PredictRequest) -> PredictSummary:
    """Classify every input row of ``request``; prints the summary (and metrics when the input has labels).
    Raises PredictError for an output it cannot write, before any work."""
    output = request.output
    if request.resume and output is None:
        raise PredictError("--resume needs an output file (-o)")
    if output is not None:
        output_encoding(output, request.encoding)  # an unknown extension or encoding: refused before any reading
    schema = LabelSchema.load(request.model_dir / LABELS_FILE) if request.model_dir else project_schema(config)
    records, input_encoding = read_inputs(config, request.input_file, schema)
    target = request.target or default_target(config, request)
    try:
        summary = predict_records(
            records,
            target,
            request,
            schema.names if schema else None,
            show_progress=logs.bars(),  # a bar only on a terminal: none in a log file
            input_encoding=input_encoding,
            task=schema.task if schema else "",
        )
    except PredictInterrupted as stopped:
        report_interrupted(stopped, output)
        raise
    logs.result(summary.line() + (f"; results in {output}" if output else ""), stderr=True)
    report_failures(summary)
    warn_training_rows(config, records, request.input_file)  # a file or stdin: rows it was trained on are no test
    report_scores(records, summary, schema)
    return summary


def kept_answer(row: dict, task: str = ""):
    """The answer of a row already in the output file, as its task reads it back (answers.Head.kept_value: a label
    name, multi-label the tuple of names or a table's joined cell); without ``task``, the one whose answers have
    the row's shape."""
    return (HEADS[task] if task else head_of(row)).kept_value(row)


def answered_label(answered, schema: LabelSchema):
    """An answer in the form the schema's labels are kept (Task.label_of_answer: a class id, or multi-label the
    sorted tuple of ids), or None when it names a label the schema does not know."""
    return task_named(schema.task).label_of_answer(answered, schema)


def report_scores(records: Sequence[Record], summary: PredictSummary, schema: LabelSchema | None) -> None:
    """When every labelled input row got an answer the schema knows, the metrics of the answers against the
    labels (hard answers: metrics that need probabilities are left out), on stderr (stdout may carry rows)."""
    labelled = [(r.label, summary.labels.get(r.line)) for r in records if r.label is not None]
    if schema is None or not labelled:
        return
    answers = [answered_label(answered, schema) for _, answered in labelled]
    if any(answered is None for answered in answers):
        return
    metrics = score([truth for truth, _ in labelled], answers, schema.names, task=task_named(schema.task))
    logs.result(metric_line(metrics), stderr=True)
    logs.result(classification_report(metrics), stderr=True)
