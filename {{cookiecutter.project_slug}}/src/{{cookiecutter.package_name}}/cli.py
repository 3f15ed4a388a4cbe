"""Command line: prepare | baseline | train | evaluate | serve | predict | launch | deploy | destroy."""

from __future__ import annotations

import functools
import sys
from pathlib import Path
from typing import Annotated

import typer

from . import PROJECT_NAME
from .config import Config, ConfigError, load_config, parse_assignments

app = typer.Typer(help=f"{PROJECT_NAME}: Korean text classification.", no_args_is_help=True, add_completion=False)

ConfigOption = Annotated[Path | None, typer.Option("--config", help="config.yaml (default: found upwards)")]
SetOption = Annotated[list[str] | None, typer.Option("--set", help="config override KEY=VALUE (repeatable)")]
DryRun = Annotated[bool, typer.Option("--dry-run", help="print the exact requests as JSON and call nothing")]


def known_errors() -> tuple[type[BaseException], ...]:
    from .artifact import ArtifactError
    from .aws.common import AwsSetupError
    from .data import DataError
    from .download import DownloadError
    from .labels import LabelError
    from .modeling import ModelSourceError

    return (ConfigError, DataError, ArtifactError, DownloadError, LabelError, ModelSourceError, AwsSetupError,
            FileNotFoundError)


def friendly(command):
    """Known problems end in one clear line and exit 1, not a traceback."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        from .data import DataError

        try:
            return command(*args, **kwargs)
        except known_errors() as error:
            if isinstance(error, DataError):
                print(error.report.summary(), file=sys.stderr)
                for line in error.report.problem_lines(kinds=("error",)):
                    print(line, file=sys.stderr)
                print(f"error: {len(error.report.errors)} problem(s) in {error.report.file}", file=sys.stderr)
            else:
                print(f"error: {error}", file=sys.stderr)
            raise typer.Exit(1) from None

    return wrapper


def get_config(config: Path | None, assignments: list[str] | None, **overrides) -> Config:
    values = {key: value for key, value in overrides.items() if value is not None}
    values.update(parse_assignments(assignments or []))
    return load_config(config, values)


@app.command()
@friendly
def prepare(
    config: ConfigOption = None,
    set_: SetOption = None,
    download: Annotated[bool, typer.Option("--download", help="fetch the official NSMC files first (online)")] = False,
) -> None:
    """Validate the train and test files against the label schema; report problems with file:line."""
    from .data import ReadOptions, data_file, load_records, load_schema
    from .normalize import Normalizer

    cfg = get_config(config, set_)
    if download:
        from .download import download_nsmc

        for path in download_nsmc(cfg.path(cfg.data.data_dir)):
            print(f"downloaded {path}")
    schema = load_schema(cfg)
    options, normalizer = ReadOptions.from_config(cfg.data), Normalizer.from_config(cfg.data)
    failed = 0
    for name in (cfg.data.train_file, cfg.data.test_file):
        report = load_records(data_file(cfg, name), options, schema, normalizer)
        print(report.summary())
        for line in report.problem_lines(kinds=("error", "warning")):
            print(line, file=sys.stderr)
        failed += len(report.errors)
    if failed:
        print(f"error: {failed} problem(s) found; fix them or change the policy in config.yaml", file=sys.stderr)
        raise typer.Exit(1)
    print("data OK")


@app.command()
@friendly
def baseline(
    config: ConfigOption = None,
    set_: SetOption = None,
    out: Annotated[Path, typer.Option(help="where metrics, report and plots go")] = Path("artifacts/baseline"),
) -> None:
    """TF-IDF (character n-grams) + logistic regression on the same data and splits."""
    from .baseline import run_baseline
    from .data import data_file, load_schema, load_splits

    cfg = get_config(config, set_)
    schema = load_schema(cfg)
    splits = load_splits(cfg, schema, data_file(cfg, cfg.data.train_file), data_file(cfg, cfg.data.test_file))
    for report in splits.reports.values():
        print(report.summary())
    run_baseline(cfg, schema, splits, cfg.path(out))


@app.command()
@friendly
def train(
    config: ConfigOption = None,
    set_: SetOption = None,
    loop: Annotated[str | None, typer.Option(help="trainer | torch")] = None,
    model: Annotated[str | None, typer.Option(help="hub id, local folder, scratch:tiny or scratch:small")] = None,
    epochs: Annotated[float | None, typer.Option()] = None,
    max_rows: Annotated[int | None, typer.Option(help="train on at most this many rows (quick runs)")] = None,
    output_dir: Annotated[str | None, typer.Option(help="where the model artifact goes")] = None,
) -> None:
    """Train locally (CPU or GPU) with the Trainer or the plain PyTorch loop; writes the model artifact."""
    from .train import run_training

    cfg = get_config(config, set_, loop=loop, model=model, epochs=epochs, max_rows=max_rows, output_dir=output_dir)
    run_training(cfg)


@app.command()
@friendly
def evaluate(
    model_dir: Annotated[Path, typer.Option(help="model artifact folder")] = Path("artifacts/model"),
    test_file: Annotated[Path | None, typer.Option(help="labelled file (default: the configured test file)")] = None,
    out: Annotated[Path | None, typer.Option(help="output folder (default: MODEL_DIR/evaluation)")] = None,
    config: ConfigOption = None,
    set_: SetOption = None,
) -> None:
    """Metrics, classification report, confusion-matrix and learning-curve PNGs, errors.tsv."""
    from .data import data_file
    from .evaluate import evaluate_model

    cfg = get_config(config, set_)
    evaluate_model(cfg, cfg.path(model_dir), test_file or data_file(cfg, cfg.data.test_file), out)


@app.command()
@friendly
def serve(
    model_dir: Annotated[Path, typer.Option(help="model artifact folder")] = Path("artifacts/model"),
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8080,
    config: ConfigOption = None,
) -> None:
    """Local HTTP server with the SageMaker container contract (/ping, /invocations) and runtime route."""
    from .artifact import check_artifact
    from .serving.server import run_server

    cfg = get_config(config, None)
    run_server(check_artifact(cfg.path(model_dir)), host, port)


@app.command()
@friendly
def predict(
    input_file: Annotated[Path | None, typer.Argument(help="file in the configured format; '-' or none: stdin")] = None,
    model_dir: Annotated[Path | None, typer.Option(help="classify in-process with this artifact")] = None,
    url: Annotated[str | None, typer.Option(help="a local server, e.g. http://127.0.0.1:8080")] = None,
    endpoint_name: Annotated[str | None, typer.Option(help="a SageMaker endpoint")] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help=".jsonl or .tsv (default: stdout)")] = None,
    batch_size: Annotated[int, typer.Option(help="texts per request")] = 64,
    concurrency: Annotated[int, typer.Option(help="requests in flight")] = 4,
    max_attempts: Annotated[int, typer.Option(help="attempts per request (retries with backoff)")] = 5,
    config: ConfigOption = None,
    set_: SetOption = None,
) -> None:
    """Classify texts from a file or stdin against a model folder, a local server or an endpoint."""
    from .aws.client import run_predict

    cfg = get_config(config, set_)
    targets = [t for t in (model_dir, url, endpoint_name) if t]
    if len(targets) != 1:
        raise ConfigError("give exactly one of --model-dir, --url, --endpoint-name")
    failed = run_predict(cfg, input_file, output, model_dir=cfg.path(model_dir) if model_dir else None, url=url,
                         endpoint_name=endpoint_name, batch_size=batch_size, concurrency=concurrency,
                         max_attempts=max_attempts)
    if failed:
        raise typer.Exit(2)


@app.command()
@friendly
def launch(
    config: ConfigOption = None,
    set_: SetOption = None,
    upload: Annotated[bool, typer.Option("--upload", help="upload the local data files to S3 first")] = False,
    bucket: Annotated[str | None, typer.Option(help="S3 bucket (default: aws.bucket in config)")] = None,
    wait: Annotated[bool, typer.Option("--wait", help="stream the job status until it ends")] = False,
    spot: Annotated[bool | None, typer.Option("--spot/--no-spot", help="managed spot training")] = None,
    instance_count: Annotated[int | None, typer.Option(help="instances (torch distributed across them)")] = None,
    instance_type: Annotated[str | None, typer.Option(help="training instance type")] = None,
    job_name: Annotated[str | None, typer.Option(help="training job name (default: generated)")] = None,
    local: Annotated[bool, typer.Option("--local", help="SageMaker local container mode (needs Docker)")] = False,
    dry_run: DryRun = False,
) -> None:
    """Run the project's training entry point as a SageMaker training job."""
    from .aws.launch import launch_training

    cfg = get_config(config, set_, bucket=bucket, use_spot_instances=spot, instance_count=instance_count,
                     training_instance_type=instance_type)
    launch_training(cfg, upload=upload, wait=wait, job_name=job_name, local=local, dry_run=dry_run)


@app.command()
@friendly
def deploy(
    model_dir: Annotated[Path | None, typer.Option(help="local model artifact to package")] = None,
    training_job: Annotated[str | None, typer.Option(help="use the model of this finished training job")] = None,
    endpoint_name: Annotated[str | None, typer.Option(help="endpoint name (default: project slug)")] = None,
    bucket: Annotated[str | None, typer.Option(help="S3 bucket (default: aws.bucket in config)")] = None,
    serverless: Annotated[bool, typer.Option("--serverless", help="serverless endpoint instead of instances")] = False,
    batch_transform: Annotated[str | None, typer.Option(help="S3 input: run a batch transform job instead")] = None,
    wait: Annotated[bool, typer.Option("--wait/--no-wait", help="wait until the endpoint is in service")] = True,
    config: ConfigOption = None,
    set_: SetOption = None,
    dry_run: DryRun = False,
) -> None:
    """Package model.tar.gz (weights, tokenizer, labels, code/), create or update the endpoint."""
    from .aws.deploy import deploy_model

    cfg = get_config(config, set_, bucket=bucket)
    if (model_dir is None) == (training_job is None):
        raise ConfigError("give exactly one of --model-dir or --training-job")
    deploy_model(cfg, model_dir=cfg.path(model_dir) if model_dir else None, training_job=training_job,
                 endpoint_name=endpoint_name, serverless=serverless, batch_input=batch_transform, wait=wait,
                 dry_run=dry_run)


@app.command()
@friendly
def destroy(
    endpoint_name: Annotated[str, typer.Option(help="endpoint to delete with its configs and models")],
    config: ConfigOption = None,
    dry_run: DryRun = False,
) -> None:
    """Delete the endpoint, its endpoint config(s) and model(s) recorded at deploy time; safe to repeat."""
    from .aws.deploy import destroy_endpoint

    destroy_endpoint(get_config(config, None), endpoint_name, dry_run=dry_run)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
