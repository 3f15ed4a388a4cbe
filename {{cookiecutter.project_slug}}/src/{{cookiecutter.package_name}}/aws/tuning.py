"""Hyperparameter search on SageMaker: Automatic Model Tuning of the job `launch` runs over the search space
(training/search_space.py: aws.tuning_ranges), and the ranked trials of a tuning job.

The tuning job's training jobs are `launch`'s own (same image, entry, data channels, spot, metric definitions);
the objective is the validation value of train.metric_for_best_model, read from the log line training prints.
No CheckpointConfig: trials would share one S3 checkpoint prefix, and a trial must not resume another's weights.
"""

from __future__ import annotations

import json

from ..config import Config
from ..display import table
from ..evaluation.metrics import metric_regex
from ..metric_registry import METRICS
from ..training.search_space import SearchRange, search_space
from .launch import (
    SOURCE_STAGING_DIR,
    metric_definitions,
    project_task,
    source_tarball,
    stage_source,
    training_job_request,
)
from .session import Step, aws_clients, boto_session, name_base, print_plan, run_plan, s3_uri, split_s3, stamp

MAX_TUNING_NAME = 32  # SageMaker's limit for a tuning job's name


def parameter_ranges(space: list[SearchRange]) -> dict:
    """The search space as CreateHyperParameterTuningJob's ParameterRanges."""
    ranges: dict[str, list] = {
        "ContinuousParameterRanges": [],
        "IntegerParameterRanges": [],
        "CategoricalParameterRanges": [],
    }
    for item in space:
        if item.kind == "categorical":
            ranges["CategoricalParameterRanges"].append({"Name": item.name, "Values": list(item.values)})
            continue
        low, high = (
            (str(int(item.low)), str(int(item.high))) if item.kind == "integer" else (f"{item.low:g}", f"{item.high:g}")
        )
        entry = {"Name": item.name, "MinValue": low, "MaxValue": high}
        entry["ScalingType"] = "Logarithmic" if item.log else "Auto"
        key = "IntegerParameterRanges" if item.kind == "integer" else "ContinuousParameterRanges"
        ranges[key].append(entry)
    return ranges


def objective_metric(config: Config) -> str:
    """The tuning objective's metric name, as the metric definitions name it (validation:macro_f1)."""
    return f"validation:{config.train.metric_for_best_model}"


def tuning_definitions(config: Config) -> list[dict]:
    """launch's metric definitions, plus the objective's when it is not among them (macro precision, recall)."""
    definitions = metric_definitions(project_task(config))
    name = objective_metric(config)
    if name not in {d["Name"] for d in definitions}:
        definitions.append({"Name": name, "Regex": metric_regex(name.replace(":", "_", 1))})
    return definitions


def tuning_request(config: Config, *, tuning_name: str, region: str, source_uri: str) -> dict:
    """CreateHyperParameterTuningJob: Bayesian search of the configured space over launch's training job, with
    the configured job limits and automatic early stopping. Raises ConfigError, AwsSetupError (launch's checks)."""
    space = search_space(config)
    job = training_job_request(config, tuning_name, region, source_uri)
    tuned = [item.name for item in space]
    static = {key: value for key, value in job["HyperParameters"].items() if key not in tuned}
    algorithm = {**job["AlgorithmSpecification"], "MetricDefinitions": tuning_definitions(config)}
    definition = {
        "StaticHyperParameters": static,
        "AlgorithmSpecification": algorithm,
        "RoleArn": job["RoleArn"],
        "InputDataConfig": job["InputDataConfig"],
        "OutputDataConfig": {"S3OutputPath": s3_uri(config, "tuning", tuning_name)},
        "ResourceConfig": job["ResourceConfig"],
        "StoppingCondition": job["StoppingCondition"],
        "EnableManagedSpotTraining": job["EnableManagedSpotTraining"],
        "Environment": job["Environment"],
    }
    limits = {
        "MaxNumberOfTrainingJobs": config.aws.tuning_max_jobs,
        "MaxParallelTrainingJobs": min(config.aws.tuning_max_parallel_jobs, config.aws.tuning_max_jobs),
    }
    return {
        "HyperParameterTuningJobName": tuning_name,
        "HyperParameterTuningJobConfig": {
            "Strategy": "Bayesian",
            "HyperParameterTuningJobObjective": {
                "Type": "Maximize" if METRICS[config.train.metric_for_best_model].higher_is_better else "Minimize",
                "MetricName": objective_metric(config),
            },
            "ResourceLimits": limits,
            "ParameterRanges": parameter_ranges(space),
            "TrainingJobEarlyStoppingType": "Auto",
        },
        "TrainingJobDefinition": definition,
        "Tags": job["Tags"],
    }


def default_tuning_name(config: Config) -> str:
    """A tuning job name within SageMaker's 32 characters: the S3 prefix's start and a time stamp."""
    return f"{name_base(config, MAX_TUNING_NAME - 16) or 'tuning'}-{stamp()}"[:MAX_TUNING_NAME]


def start_tuning(config: Config, *, tuning_name: str | None = None, dry_run: bool = False, clients=None) -> dict:
    """Upload the source bundle and create the tuning job (or print both requests with ``dry_run``). The data
    is the S3 data `launch --upload` put there. Returns the CreateHyperParameterTuningJob request; raises
    ConfigError, AwsSetupError, or botocore's error."""
    boto = boto_session(config.aws.region)
    tuning_name = tuning_name or default_tuning_name(config)
    source_uri = s3_uri(config, "code", tuning_name, "sourcedir.tar.gz")
    request = tuning_request(config, tuning_name=tuning_name, region=boto.region_name, source_uri=source_uri)
    source_bytes = source_tarball(stage_source(config, config.path(SOURCE_STAGING_DIR)))
    bucket_name, key = split_s3(source_uri)
    body = f"<sourcedir.tar.gz, {len(source_bytes)} bytes>"
    plan = [
        Step(
            "s3",
            "PutObject",
            {"Bucket": bucket_name, "Key": key, "Body": body},
            run=lambda clients: clients["s3"].put_object(Bucket=bucket_name, Key=key, Body=source_bytes),
        ),
        Step("sagemaker", "CreateHyperParameterTuningJob", request),
    ]
    if dry_run:
        print_plan(plan)
        return request
    run_plan(plan, aws_clients(boto, clients))
    limits = request["HyperParameterTuningJobConfig"]["ResourceLimits"]
    print(
        f"tuning job {tuning_name} created: up to {limits['MaxNumberOfTrainingJobs']} training jobs, "
        f"{limits['MaxParallelTrainingJobs']} at a time, maximizing {objective_metric(config)}; "
        f"follow it with `tune --status {tuning_name}`"
    )
    return request


def tuning_status(config: Config, tuning_name: str, clients=None) -> list[dict]:
    """Print the tuning job's state, its training jobs ranked by the objective, and the best one's
    hyperparameters. Returns the ranked job summaries; raises botocore's error for an unknown job."""
    sagemaker = aws_clients(boto_session(config.aws.region), clients)["sagemaker"]
    job = sagemaker.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=tuning_name)
    summaries = sagemaker.list_training_jobs_for_hyper_parameter_tuning_job(
        HyperParameterTuningJobName=tuning_name, SortBy="FinalObjectiveMetricValue", SortOrder="Descending"
    )["TrainingJobSummaries"]
    objective = job["HyperParameterTuningJobConfig"]["HyperParameterTuningJobObjective"]["MetricName"]
    print(f"{tuning_name}: {job['HyperParameterTuningJobStatus']}; objective {objective} (higher is better)")
    names = sorted({key for s in summaries for key in s.get("TunedHyperParameters", {})})
    rows = [
        [
            str(rank),
            s["TrainingJobName"],
            s["TrainingJobStatus"],
            f"{s['FinalHyperParameterTuningJobObjectiveMetric']['Value']:.4f}"
            if "FinalHyperParameterTuningJobObjectiveMetric" in s
            else "-",
            *(str(s.get("TunedHyperParameters", {}).get(name, "")) for name in names),
        ]
        for rank, s in enumerate(summaries, 1)
    ]
    if rows:
        print(table(["rank", "training job", "status", "objective", *names], rows, "<<<>" + ">" * len(names)))
    best = job.get("BestTrainingJob")
    if best:
        print(f"best: {best['TrainingJobName']} {json.dumps(best.get('TunedHyperParameters', {}))}")
    return summaries
