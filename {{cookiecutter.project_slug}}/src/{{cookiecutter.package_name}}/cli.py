"""Command line: prepare | baseline | pretrain | train | evaluate | serve | predict | launch | deploy | destroy | tune |
register | pipeline | push | config.

Commands only: each loads the configuration, calls one function of the stage that does the work, and turns a
ProjectError into one ``error: ...`` line (exit 1). Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import functools
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from . import DATASET_NAME, PROJECT_NAME, logs
from .config import CONFIG_FILE, PRECISIONS, Config, explain, load_config, locate, parse_assignments
from .errors import ConfigError, DataError, ProjectError, print_error
from .evaluation.verdict import BASELINE_DIR

app = typer.Typer(help=f"{PROJECT_NAME}: Korean text classification.", no_args_is_help=True, add_completion=False)

ConfigOption = Annotated[Path | None, typer.Option("--config", help=f"{CONFIG_FILE} (default: found upwards)")]
SetOption = Annotated[list[str] | None, typer.Option("--set", help="config override KEY=VALUE (repeatable)")]
DryRun = Annotated[bool, typer.Option("--dry-run", help="print the exact requests as JSON and call nothing")]
ModelDir = Annotated[Path | None, typer.Option(help="model artifact folder (default: train.output_dir)")]


def friendly(command):
    """A ProjectError ends the command with its own lines and exit 1, never a traceback."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except ProjectError as error:
            raise typer.Exit(print_error(error)) from None

    return wrapper


def get_config(config: Path | None, assignments: list[str] | None, **overrides) -> Config:
    """The configuration the command runs with: ``config`` (or config.yaml found upwards), then ``--set`` assignments
    and the command's own flags (``overrides``; None values are left out). Raises ConfigError."""
    values = {key: value for key, value in overrides.items() if value is not None}
    values.update(parse_assignments(assignments or []))
    return load_config(config, values)


ARTIFACT_SETTINGS = ("model.min_confidence", "model.target_accuracy")
"""Settings train fixes in the artifact (calibration.json's cut-off): a command that reads an artifact keeps its."""


def artifact_settings_note(assignments: list[str] | None, cfg: Config) -> None:
    """Say (stderr, under --quiet too) which ``--set`` assignments name settings the artifact fixed
    (ARTIFACT_SETTINGS): evaluate, serve and predict answer with the cut-off train chose, and a task that never
    abstains (the project's labels.json: multi-label, regression) has none; none is dropped unsaid."""
    from .answers import head_for
    from .data.dataset import load_schema
    from .errors import LabelError

    named = {f"{info.section}.{info.name}" for info in map(locate, parse_assignments(assignments or []))}
    fixed = ", ".join(key for key in ARTIFACT_SETTINGS if key in named)
    if not fixed:
        return
    try:
        task = load_schema(cfg).task
    except LabelError:  # the command itself says what is wrong with labels.json
        return
    if head_for(task).abstains:
        why = "the artifact's calibration.json holds the abstention cut-off train chose; train again with it"
    else:
        why = f"a {task} task never abstains"
    logs.result(f"note: {fixed} not used here: {why}", stderr=True)


def model_dir_or_default(cfg: Config, model_dir: Path | None) -> Path:
    """The model folder a command reads: ``--model-dir`` when given, else train.output_dir, resolved against the project
    root."""
    return cfg.path(model_dir if model_dir is not None else cfg.train.output_dir)


@app.callback()
def options(
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="only warnings, errors and results")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="the libraries' own logs and bars too")] = False,
) -> None:
    """Options for every command: how much this run prints (--quiet, --verbose; logs.py)."""
    logs.configure(logs.VERBOSE if verbose else logs.QUIET if quiet else logs.NORMAL)


Precision = Enum("Precision", {name: name for name in PRECISIONS}, type=str)  # typer >= 0.12 reads Enum choices
PrecisionOption = Annotated[
    Precision | None,
    typer.Option(
        "--precision",
        help="auto: int8 on a CPU when train's accuracy check allowed it, fp32 on a GPU "
        "(default: model.inference_precision)",
    ),
]


def precision_or_default(cfg: Config, precision: Precision | None) -> str:
    """The ``--precision`` given, else model.inference_precision: auto, int8 or fp32."""
    return precision.value if precision is not None else cfg.model.inference_precision


def check_the_data(config: Path | None, assignments: list[str] | None, download: bool = False) -> None:
    """Validate the train and test files against the label schema; report problems with file:line."""
    from .data.dataset import check_data

    cfg = get_config(config, assignments)
    if download:
        from .data.download import download_nsmc

        for path in download_nsmc(cfg.path(cfg.data.data_dir)):
            logs.say(f"downloaded {path}")
    reports = check_data(cfg)
    for report in reports:
        logs.result(report.summary())
        for line in report.problem_lines(kinds=("warning",)):
            logs.result(line, stderr=True)
    if any(report.errors for report in reports):
        raise DataError(reports, summaries=False)
    logs.result("data OK")


OFFERS_DOWNLOAD = DATASET_NAME.lower() == "nsmc"  # only NSMC projects are offered NSMC's official files


@app.command(help=check_the_data.__doc__)
@friendly
def prepare(
    config: ConfigOption = None,
    set_: SetOption = None,
    download: Annotated[
        bool, typer.Option("--download", help="fetch the official NSMC files (online)", hidden=not OFFERS_DOWNLOAD)
    ] = False,
) -> None:
    """Validate the train and test files against the label schema; report problems with file:line (prepare's help is
    check_the_data's docstring)."""
    if download and not OFFERS_DOWNLOAD:
        raise ConfigError(f"--download fetches NSMC's files; {DATASET_NAME}'s files are yours to put in data.data_dir")
    check_the_data(config, set_, download)


@app.command()
@friendly
def baseline(
    config: ConfigOption = None,
    set_: SetOption = None,
    out: Annotated[Path, typer.Option(help="the baseline artifact: weights, labels, metrics, report, plots")] = Path(
        BASELINE_DIR
    ),
) -> None:
    """The model to beat: a linear model on word and character n-grams (naive-Bayes-weighted logistic regression;
    ridge regression for scores), C chosen on the validation split, fitted on the training and validation rows,
    scored on the test split. Saved as an artifact evaluate and predict accept."""
    from .evaluation.baseline import baseline_from_config

    cfg = get_config(config, set_)
    baseline_from_config(cfg, cfg.path(out))


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True, "help_option_names": []})
def train(ctx: typer.Context) -> None:
    """Train locally (CPU or GPU) with the Trainer or the plain PyTorch loop; writes the model artifact.
    Every config key is an option: `train --help` lists them with their help."""
    from .training.entry import main as train_main

    code = train_main(ctx.args, prog=f"{ctx.find_root().info_name} train")
    if code:
        raise typer.Exit(code)


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True, "help_option_names": []})
def pretrain(ctx: typer.Context) -> None:
    """Continued pre-training: masked-LM on your own texts (the training file's and pretrain.unlabeled_files'),
    resumable like train; writes pretrain.pretrain_output_dir, which train starts from with model.base_model set to
    it. Takes train's options (`pretrain --help`)."""
    from .training.pretrain import main as pretrain_main

    code = pretrain_main(ctx.args, prog=f"{ctx.find_root().info_name} pretrain")
    if code:
        raise typer.Exit(code)


@app.command()
@friendly
def evaluate(
    model_dir: ModelDir = None,
    test_file: Annotated[
        Path | None,
        typer.Option(
            help="labelled file (default: the configured test file; with data.test_file empty, the rows held out "
            "of the training file)"
        ),
    ] = None,
    out: Annotated[Path | None, typer.Option(help="output folder (default: MODEL_DIR/evaluation)")] = None,
    precision: PrecisionOption = None,
    config: ConfigOption = None,
    set_: SetOption = None,
) -> None:
    """Metrics, classification report, confusion-matrix and learning-curve PNGs, errors.tsv."""
    from .data.dataset import data_file
    from .evaluation.evaluate import evaluate_model

    cfg = get_config(config, set_)
    artifact_settings_note(set_, cfg)
    if test_file is None and cfg.data.test_file:
        test_file = data_file(cfg, cfg.data.test_file)
    evaluate_model(
        cfg,
        model_dir_or_default(cfg, model_dir),
        test_file,  # None: the held-out test split of a one-file dataset
        out,
        precision=precision_or_default(cfg, precision),
    )


@app.command()
@friendly
def serve(
    model_dir: ModelDir = None,
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8080,
    precision: PrecisionOption = None,
    config: ConfigOption = None,
    set_: SetOption = None,
) -> None:
    """Local HTTP server with the SageMaker container contract (/ping, /invocations) and runtime route."""
    from .serving.server import run_server

    cfg = get_config(config, set_)  # run_server checks the artifact (serving/loading.py) before it binds the port
    artifact_settings_note(set_, cfg)
    run_server(model_dir_or_default(cfg, model_dir), host, port, precision_or_default(cfg, precision))


AsyncOption = Annotated[bool, typer.Option("--async", help="an async endpoint: S3 in and out (aws.bucket)")]


def async_target(cfg: Config, endpoint_name: str | None, policy):
    """predict --async's target (aws/asynchronous.py): requests and answers through S3."""
    from .aws.asynchronous import async_target as target

    return target(cfg, endpoint_name, policy)


@app.command()
@friendly
def predict(
    input_file: Annotated[Path | None, typer.Argument(help="file in the configured format; '-' or none: stdin")] = None,
    model_dir: Annotated[Path | None, typer.Option(help="classify in-process with this artifact")] = None,
    url: Annotated[str | None, typer.Option(help="a local server, e.g. http://127.0.0.1:8080")] = None,
    endpoint_name: Annotated[str | None, typer.Option(help="a SageMaker endpoint")] = None,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help=".csv or .tsv (a spreadsheet opens them), .jsonl (default: stdout)"),
    ] = None,
    output_encoding: Annotated[
        str | None,
        typer.Option(
            help="a .csv/.tsv output's encoding: utf-8-sig (UTF-8 with a BOM, what Excel needs; the default), "
            "input (the input file's own, e.g. cp949) or a codec name"
        ),
    ] = None,
    resume: Annotated[bool, typer.Option("--resume", help="finish an interrupted run: keep the rows in -o")] = False,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="replace an existing -o file")] = False,
    batch_size: Annotated[int, typer.Option(help="most texts per request; bodies stay under the limit", min=1)] = 64,
    concurrency: Annotated[int, typer.Option(help="requests in flight", min=1)] = 4,
    retry_budget: Annotated[float, typer.Option(help="seconds a request keeps retrying (outages)", min=0)] = 120.0,
    timeout: Annotated[float, typer.Option(help="seconds one attempt may take", min=0.1)] = 60.0,
    max_attempts: Annotated[int, typer.Option(help="attempts per request (0: as the budget allows)", min=0)] = 0,
    precision: PrecisionOption = None,
    config: ConfigOption = None,
    set_: SetOption = None,
    asynchronous: AsyncOption = False,
) -> None:
    """Classify texts from a file or stdin against a model folder, a local server or an endpoint.
    Exit status 2 when rows finally failed (they are listed), 130 when interrupted (rerun with --resume)."""
    from .model.artifact import check_artifact
    from .serving.client import PredictInterrupted, PredictRequest, RetryPolicy, run_predict

    cfg = get_config(config, set_)
    artifact_settings_note(set_, cfg)
    targets = [t for t in (model_dir, url, endpoint_name) if t]
    if len(targets) != 1:
        raise ConfigError("give exactly one of --model-dir, --url, --endpoint-name")
    policy = RetryPolicy(budget_seconds=retry_budget, attempt_timeout=timeout, max_attempts=max_attempts)
    request = PredictRequest(
        input_file=input_file,
        output=output,
        model_dir=check_artifact(cfg.path(model_dir)) if model_dir else None,  # a missing folder named as one
        url=url,
        endpoint_name=endpoint_name,
        precision=precision_or_default(cfg, precision),
        target=async_target(cfg, endpoint_name, policy) if asynchronous else None,
        batch_size=batch_size,
        concurrency=concurrency,
        policy=policy,
        resume=resume,
        overwrite=overwrite,
        encoding=output_encoding,
    )
    try:
        summary = run_predict(cfg, request)
    except PredictInterrupted:
        raise typer.Exit(130) from None
    if summary.failed:
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
    pretrain: Annotated[
        bool, typer.Option("--pretrain", help="run `pretrain` (masked-LM on your texts) instead of train")
    ] = False,
    dry_run: DryRun = False,
) -> None:
    """Run the project's training entry point (or with --pretrain its continued pre-training) as a SageMaker training
    job."""
    from .aws.launch import launch_training

    cfg = get_config(
        config,
        set_,
        bucket=bucket,
        use_spot_instances=spot,
        instance_count=instance_count,
        training_instance_type=instance_type,
    )
    launch_training(cfg, upload=upload, wait=wait, job_name=job_name, local=local, dry_run=dry_run, pretrain=pretrain)


@app.command()
@friendly
def deploy(
    model_dir: Annotated[Path | None, typer.Option(help="local model artifact to package")] = None,
    training_job: Annotated[str | None, typer.Option(help="use the model of this finished training job")] = None,
    model_data: Annotated[str | None, typer.Option(help="use this s3:// model.tar.gz (checked, repacked)")] = None,
    endpoint_name: Annotated[str | None, typer.Option(help="endpoint name (default: project slug)")] = None,
    bucket: Annotated[str | None, typer.Option(help="S3 bucket (default: aws.bucket in config)")] = None,
    serverless: Annotated[bool, typer.Option("--serverless", help="serverless endpoint instead of instances")] = False,
    batch_transform: Annotated[str | None, typer.Option(help="S3 input: run a batch transform job instead")] = None,
    wait: Annotated[bool, typer.Option("--wait/--no-wait", help="wait until the endpoint is in service")] = True,
    precision: PrecisionOption = None,
    config: ConfigOption = None,
    set_: SetOption = None,
    dry_run: DryRun = False,
    model_package: Annotated[str | None, typer.Option(help="deploy this registered model package (ARN)")] = None,
    autoscale: Annotated[
        str | None, typer.Option(help="MIN:MAX instances, target tracking on invocations per instance")
    ] = None,
    asynchronous: Annotated[
        bool, typer.Option("--async", help="asynchronous inference: requests and answers through S3")
    ] = False,
    data_capture: Annotated[
        int | None, typer.Option(help="capture this percentage of requests and responses to S3", min=1, max=100)
    ] = None,
) -> None:
    """Package model.tar.gz (weights, tokenizer, labels, code/), create or update the endpoint."""
    from .aws.deploy import EndpointSpec, ModelSource, deploy_model

    cfg = get_config(config, set_, bucket=bucket)
    if sum(source is not None for source in (model_dir, training_job, model_data, model_package)) != 1:
        raise ConfigError("give exactly one of --model-dir, --training-job or --model-data, or --model-package")
    source = ModelSource(
        model_dir=cfg.path(model_dir) if model_dir else None,
        training_job=training_job,
        model_data=model_data,
        model_package=model_package,
    )
    spec = EndpointSpec(
        endpoint_name=endpoint_name,
        serverless=serverless,
        batch_input=batch_transform,
        precision=precision_or_default(cfg, precision),
        autoscale=autoscale,
        asynchronous=asynchronous,
        data_capture=data_capture,
        wait=wait,
    )
    deploy_model(cfg, source, spec, dry_run=dry_run)


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


@app.command()
@friendly
def tune(
    config: ConfigOption = None,
    set_: SetOption = None,
    bucket: Annotated[str | None, typer.Option(help="S3 bucket (default: aws.bucket in config)")] = None,
    max_jobs: Annotated[int | None, typer.Option(help="training jobs in all (default: aws.tuning_max_jobs)")] = None,
    max_parallel_jobs: Annotated[
        int | None, typer.Option(help="training jobs at a time (default: aws.tuning_max_parallel_jobs)")
    ] = None,
    tuning_job: Annotated[str | None, typer.Option(help="tuning job name (default: generated)")] = None,
    status: Annotated[str | None, typer.Option("--status", help="show this tuning job's trials, ranked")] = None,
    local: Annotated[bool, typer.Option("--local", help="search on this machine with Optuna instead")] = False,
    trials: Annotated[int, typer.Option(help="--local: training runs", min=1)] = 10,
    dry_run: DryRun = False,
) -> None:
    """Hyperparameter search over aws.tuning_ranges: SageMaker Automatic Model Tuning (Bayesian, early stopping)
    of the job launch runs, or with --local the same space on this machine (Optuna, MLflow runs per trial)."""
    cfg = get_config(config, set_, bucket=bucket, tuning_max_jobs=max_jobs, tuning_max_parallel_jobs=max_parallel_jobs)
    if local:
        from .training.local_search import run_local_search
        from .training.search_space import search_space

        if dry_run:
            print("\n".join(f"{r.name}: {r.kind} {r.values or (r.low, r.high)}" for r in search_space(cfg)))
            return
        run_local_search(cfg, trials=trials)
        return
    from .aws.tuning import start_tuning, tuning_status

    if status:
        tuning_status(cfg, status)
        return
    start_tuning(cfg, tuning_name=tuning_job, dry_run=dry_run)


@app.command()
@friendly
def register(
    model_dir: Annotated[Path | None, typer.Option(help="local model artifact to package")] = None,
    training_job: Annotated[str | None, typer.Option(help="use the model of this finished training job")] = None,
    model_data: Annotated[str | None, typer.Option(help="use this s3:// model.tar.gz (checked, repacked)")] = None,
    approve: Annotated[bool, typer.Option("--approve", help="register as Approved, not PendingManualApproval")] = False,
    bucket: Annotated[str | None, typer.Option(help="S3 bucket (default: aws.bucket in config)")] = None,
    config: ConfigOption = None,
    set_: SetOption = None,
    dry_run: DryRun = False,
) -> None:
    """Register the model as a package in the project's Model Registry group, with its evaluation metrics."""
    from .aws.deploy import ModelSource
    from .aws.registry import register_model

    cfg = get_config(config, set_, bucket=bucket)
    if sum(source is not None for source in (model_dir, training_job, model_data)) != 1:
        raise ConfigError("give exactly one of --model-dir, --training-job or --model-data")
    source = ModelSource(
        model_dir=cfg.path(model_dir) if model_dir else None, training_job=training_job, model_data=model_data
    )
    register_model(cfg, source=source, approve=approve, dry_run=dry_run)


@app.command()
@friendly
def pipeline(
    start: Annotated[bool, typer.Option("--start", help="start an execution after the upsert")] = False,
    bucket: Annotated[str | None, typer.Option(help="S3 bucket (default: aws.bucket in config)")] = None,
    config: ConfigOption = None,
    set_: SetOption = None,
    dry_run: DryRun = False,
) -> None:
    """Create or update the project's SageMaker Pipeline: train, evaluate, register when the validation metric
    reaches aws.pipeline_min_metric. --dry-run prints its definition JSON."""
    from .aws.pipeline import upsert_pipeline

    upsert_pipeline(get_config(config, set_, bucket=bucket), start=start, dry_run=dry_run)


@app.command()
@friendly
def push(
    repo_id: Annotated[str, typer.Option(help="Hugging Face Hub repository, ORG/NAME")],
    model_dir: ModelDir = None,
    public: Annotated[bool, typer.Option("--public", help="create the repository public (default: private)")] = False,
    config: ConfigOption = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="print what would be uploaded and call nothing")] = False,
) -> None:
    """Upload the model artifact (weights, tokenizer, labels, model card with the Hub's metadata) to the Hub."""
    from .hub import push_model

    cfg = get_config(config, None)
    push_model(model_dir_or_default(cfg, model_dir), repo_id=repo_id, private=not public, dry_run=dry_run)


@app.command("config")
@friendly
def show_config(config: ConfigOption = None, set_: SetOption = None) -> None:
    """Every config key with its value and help text, after overrides (what a command would use)."""
    logs.result(explain(get_config(config, set_)))


def main() -> None:
    """The console script's entry point: runs the typer app (exits with the command's status)."""
    app()


if __name__ == "__main__":
    main()
