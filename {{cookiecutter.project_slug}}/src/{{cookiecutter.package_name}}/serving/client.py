"""Classify many texts through a model folder, a local server or a SageMaker endpoint.

Texts go out in chunks over a bounded thread pool; botocore's standard retry mode retries throttling,
5xx and dropped connections with backoff; input order is kept; results stream to the output as soon
as every earlier chunk is done; rows that still fail are written with their error and counted.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from tqdm.auto import tqdm

from ..config import LABELS_FILE, Config
from ..data.labels import LabelSchema
from ..data.normalize import Normalizer
from ..data.report import Record
from ..data.validation import ReadOptions, load_records
from ..errors import DataError
from ..evaluation.metrics import classification_report, metric_line, score


@dataclass
class ChunkResult:
    """One window of consecutive input rows: a prediction (or None and an error) per row."""

    predictions: list[dict | None]
    retries: int = 0
    errors: list[str] = field(default_factory=list)


@dataclass
class PredictSummary:
    rows: int = 0
    failed: int = 0
    retries: int = 0
    predictions: list[dict | None] = field(default_factory=list)


class RuntimeTarget:
    """A SageMaker endpoint (or the local server at ``url``) through boto3's sagemaker-runtime client."""

    def __init__(
        self,
        endpoint_name: str,
        url: str | None = None,
        region: str = "ap-northeast-2",
        max_attempts: int = 5,
        concurrency: int = 4,
        timeout: float = 60.0,
    ):
        import boto3
        from botocore.config import Config as BotoConfig

        self.endpoint_name = endpoint_name
        settings = BotoConfig(
            retries={"mode": "standard", "total_max_attempts": max_attempts},
            max_pool_connections=max(10, concurrency),
            read_timeout=timeout,
            connect_timeout=10,
        )
        session = boto3.Session(region_name=region)
        if url and session.get_credentials() is None:
            # a local server needs no credentials, but botocore signs every request
            session = boto3.Session(region_name=region, aws_access_key_id="local", aws_secret_access_key="local")
        self.client = session.client("sagemaker-runtime", endpoint_url=url, config=settings)

    def __call__(self, texts: list[str]) -> tuple[list[dict], int]:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            response = self.client.invoke_endpoint(
                EndpointName=self.endpoint_name,
                ContentType="application/json",
                Accept="application/json",
                Body=json.dumps({"inputs": texts}, ensure_ascii=False).encode("utf-8"),
            )
        except ClientError as error:
            retries = error.response.get("ResponseMetadata", {}).get("RetryAttempts", 0)
            raise TargetError(f"{error.response.get('Error', {}).get('Message') or error}", retries) from None
        except BotoCoreError as error:
            raise TargetError(str(error), 0) from None
        retries = response["ResponseMetadata"].get("RetryAttempts", 0)
        return json.loads(response["Body"].read().decode("utf-8")), retries


class LocalTarget:
    """The serving handler in this process (no network)."""

    def __init__(self, model_dir: str | Path):
        from . import handler

        self._handler = handler
        self.model = handler.model_fn(str(model_dir))

    def __call__(self, texts: list[str]) -> tuple[list[dict], int]:
        return self._handler.predict_fn(texts, self.model), 0


class TargetError(RuntimeError):
    def __init__(self, message: str, retries: int):
        super().__init__(message)
        self.retries = retries


def classify(
    texts: list[str],
    target: Callable[[list[str]], tuple[list[dict], int]],
    batch_size: int = 64,
    concurrency: int = 4,
    window: int | None = None,
    show_progress: bool = True,
) -> Iterator[ChunkResult]:
    """Yield results in input order, one ChunkResult per window of rows, with ``concurrency`` requests in flight.

    Inside each window (``batch_size * concurrency * 4`` rows by default) texts are sorted by length before
    they are cut into requests, so each request pads little; each window is written out as soon as it is done.
    """
    window = window or batch_size * max(1, concurrency) * 4

    def run(indices: list[int]) -> tuple[list[int], list[dict] | None, int, str]:
        try:
            predictions, retries = target([texts[i] for i in indices])
        except TargetError as error:
            return indices, None, error.retries, str(error)
        if len(predictions) != len(indices):
            return indices, None, retries, f"{len(predictions)} predictions for {len(indices)} texts"
        return indices, predictions, retries, ""

    with (
        ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool,
        tqdm(total=len(texts), unit="text", desc="classifying", disable=not show_progress) as bar,
    ):
        for start in range(0, len(texts), window):
            rows = sorted(range(start, min(start + window, len(texts))), key=lambda i: len(texts[i]))
            requests = [rows[i : i + batch_size] for i in range(0, len(rows), batch_size)]
            predictions: list[dict | None] = [None] * len(rows)
            errors = [""] * len(rows)
            retries = 0
            for future in as_completed([pool.submit(run, request) for request in requests]):
                indices, answer, attempts, error = future.result()
                retries += attempts
                for offset, row in enumerate(indices):
                    predictions[row - start] = answer[offset] if answer is not None else None
                    errors[row - start] = error
                bar.update(len(indices))
            yield ChunkResult(predictions, retries, errors)


def read_inputs(config: Config, input_file: Path | None, schema: LabelSchema | None) -> list[Record]:
    if input_file is None or str(input_file) == "-":
        lines = sys.stdin.read().splitlines()
        return [Record(text=line.strip(), label=None, line=n) for n, line in enumerate(lines, 1) if line.strip()]
    report = load_records(
        input_file,
        ReadOptions.from_config(config.data, require_labels=False),
        schema,
        Normalizer.from_config(config.data),
    )
    print(report.summary(), file=sys.stderr)
    if report.errors:
        raise DataError([report])
    return report.records


def write_prediction(
    handle: TextIO, kind: str, record: Record, prediction: dict | None, error: str, names: tuple[str, ...] | None
) -> None:
    if kind == "tsv":
        if prediction is None:
            handle.write(f"{record.line}\t{record.row_id}\tERROR\t\t{error}\n")
        else:
            handle.write(
                f"{record.line}\t{record.row_id}\t{prediction['label']}\t{prediction['score']:.6f}\t{record.text}\n"
            )
        return
    row = {"line": record.line, "id": record.row_id, "text": record.text}
    row.update(prediction if prediction is not None else {"error": error})
    if record.label is not None and names:
        row["true_label"] = names[record.label]
    handle.write(json.dumps(row, ensure_ascii=False) + "\n")


def run_predict(
    config: Config,
    input_file: Path | None,
    output: Path | None,
    model_dir: Path | None = None,
    url: str | None = None,
    endpoint_name: str | None = None,
    batch_size: int = 64,
    concurrency: int = 4,
    max_attempts: int = 5,
) -> int:
    """Classify every input row; returns the number of rows that finally failed (0 = all done)."""
    schema = LabelSchema.load(model_dir / LABELS_FILE) if model_dir else _project_schema(config)
    records = read_inputs(config, input_file, schema)
    if model_dir is not None:
        target = LocalTarget(model_dir)
    else:
        target = RuntimeTarget(
            endpoint_name or "local",
            url=url,
            region=config.aws.region,
            max_attempts=max_attempts,
            concurrency=concurrency,
        )
    summary = predict_records(records, target, output, batch_size, concurrency, schema.names if schema else None)
    print(
        f"classified {summary.rows - summary.failed}/{summary.rows} rows, {summary.retries} retries, "
        f"{summary.failed} failed" + (f"; results in {output}" if output else ""),
        file=sys.stderr,
    )
    labelled = [
        (r.label, p) for r, p in zip(records, summary.predictions, strict=True) if r.label is not None and p is not None
    ]
    if labelled and schema is not None:
        truth = [label for label, _ in labelled]
        guesses = [schema.label2id[p["label"]] for _, p in labelled]
        metrics = score(truth, guesses, schema.names)
        print(metric_line(metrics), file=sys.stderr)
        print(classification_report(metrics), file=sys.stderr)
    return summary.failed


def _project_schema(config: Config) -> LabelSchema | None:
    path = config.path(config.data.labels_file)
    return LabelSchema.load(path) if path.is_file() else None


def predict_records(
    records: list[Record], target, output: Path | None, batch_size: int, concurrency: int, names: tuple[str, ...] | None
) -> PredictSummary:
    summary = PredictSummary(rows=len(records), predictions=[None] * len(records))
    kind = "tsv" if output is not None and output.suffix.lower() == ".tsv" else "jsonl"
    handle = open(output, "w", encoding="utf-8", newline="") if output else sys.stdout
    try:
        if kind == "tsv":
            handle.write("line\tid\tlabel\tscore\ttext\n")
        row = 0
        for chunk in classify([r.text for r in records], target, batch_size, concurrency):
            summary.retries += chunk.retries
            for prediction, error in zip(chunk.predictions, chunk.errors, strict=True):
                summary.predictions[row] = prediction
                summary.failed += prediction is None
                write_prediction(handle, kind, records[row], prediction, error, names)
                row += 1
            handle.flush()
    finally:
        if output:
            handle.close()
    return summary
