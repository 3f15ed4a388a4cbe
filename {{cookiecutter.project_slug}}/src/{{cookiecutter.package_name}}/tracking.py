"""Experiment tracking through MLflow: a local file store by default, any tracking URI (or a SageMaker
managed MLflow ARN) when configured. Both training loops log the same parameters and metrics."""

from __future__ import annotations

import logging
import os
from contextlib import AbstractContextManager

log = logging.getLogger(__name__)


class Tracker(AbstractContextManager):
    """Logs to MLflow when enabled and available; otherwise every call is a no-op by design."""

    def __init__(self, enabled: bool, tracking_uri: str, experiment: str, run_name: str | None = None,
                 is_main_process: bool = True):
        self.active = False
        if not (enabled and is_main_process):
            return
        try:
            import mlflow
        except ImportError:
            log.warning("tracking is on but mlflow is not installed; pip install mlflow-skinny "
                        "(metrics stay in metrics.json)")
            return
        self._mlflow = mlflow
        if tracking_uri.startswith("file:"):
            # MLflow 3 keeps the file store only behind this switch; it needs no database server
            os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
        mlflow.set_tracking_uri(tracking_uri)
        mlflow.set_experiment(experiment)
        mlflow.start_run(run_name=run_name)
        self.active = True

    def log_params(self, params: dict) -> None:
        if self.active:
            flat = {k: str(v)[:500] for k, v in params.items()}
            self._mlflow.log_params(flat)

    def log_metrics(self, metrics: dict, step: int | None = None) -> None:
        if self.active:
            numbers = {k: float(v) for k, v in metrics.items() if isinstance(v, (int, float))}
            self._mlflow.log_metrics(numbers, step=step)

    def log_artifact(self, path: str) -> None:
        if self.active:
            self._mlflow.log_artifact(path)

    def __exit__(self, *exc) -> None:
        if self.active:
            self._mlflow.end_run(status="FAILED" if exc[0] else "FINISHED")
            self.active = False
