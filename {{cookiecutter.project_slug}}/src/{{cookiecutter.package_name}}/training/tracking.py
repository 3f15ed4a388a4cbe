"""Experiment tracking through MLflow: by default MLflow's own default store, a SQLite file ``mlflow.db`` in the
project folder, which plain ``mlflow ui`` opens from there; any tracking URI or a SageMaker managed MLflow ARN
when configured. Both training loops log the same parameters and metrics."""

from __future__ import annotations

import logging
import time
from contextlib import AbstractContextManager
from pathlib import Path

from ..config import Config
from ..model.artifact import METRICS_FILE

log = logging.getLogger(__name__)
SQLITE_PREFIX = "sqlite:///"
ARTIFACTS_DIR = "mlruns"  # MLflow's default artifact folder next to its default database


def resolved_tracking_uri(config: Config) -> str:
    """A relative SQLite path means the project folder, wherever the command runs from."""
    uri = config.tracking.tracking_uri
    if uri.startswith(SQLITE_PREFIX) and not uri.startswith(SQLITE_PREFIX + "/"):
        return SQLITE_PREFIX + str(config.path(uri.removeprefix(SQLITE_PREFIX)))
    return uri


def run_name(config: Config) -> str:
    """What ran and when: ``scratch:tiny-torch-20261125-143000``."""
    model = (
        Path(config.model.base_model).name
        if not config.model.base_model.startswith("scratch:")
        else config.model.base_model
    )
    return f"{model}-{config.train.loop}-{time.strftime('%Y%m%d-%H%M%S')}"


class Tracker(AbstractContextManager):
    """Logs to MLflow when enabled and available; otherwise every call is a no-op by design."""

    def __init__(self, config: Config, is_main_process: bool = True):
        self.active = False
        if not (config.tracking.mlflow and is_main_process):
            return
        try:
            import mlflow
        except ImportError:
            log.warning(
                "tracking is on but mlflow is not installed; pip install mlflow-skinny "
                f"(metrics stay in {METRICS_FILE})"
            )
            return
        self._mlflow = mlflow
        uri = resolved_tracking_uri(config)
        mlflow.set_tracking_uri(uri)
        name = config.tracking.experiment_name
        if uri.startswith(SQLITE_PREFIX) and mlflow.get_experiment_by_name(name) is None:
            # artifacts beside the database, not in whatever folder the command ran from
            mlflow.create_experiment(name, artifact_location=config.path(ARTIFACTS_DIR).as_uri())
        mlflow.set_experiment(name)
        mlflow.start_run(run_name=run_name(config), nested=mlflow.active_run() is not None)  # tune --local: trials
        self.active = True

    def log_params(self, params: dict) -> None:
        """Log ``params`` to MLflow (values as strings of at most 500 characters) when tracking is on."""
        if self.active:
            self._mlflow.log_params({k: str(v)[:500] for k, v in params.items()})

    def log_metrics(self, metrics: dict, step: int | None = None) -> None:
        """Log the numeric entries of ``metrics`` (at ``step``) to MLflow when tracking is on; others are skipped."""
        if self.active:
            numbers = {
                k: float(v) for k, v in metrics.items() if isinstance(v, (int, float)) and not isinstance(v, bool)
            }
            self._mlflow.log_metrics(numbers, step=step)

    def log_artifact(self, path: str) -> None:
        """Upload the file at ``path`` to the MLflow run when tracking is on."""
        if self.active:
            self._mlflow.log_artifact(path)

    def __exit__(self, *exc) -> None:
        if self.active:
            self._mlflow.end_run(status="FAILED" if exc[0] else "FINISHED")
            self.active = False
