"""`tune --local`: the same search space as the SageMaker tuning job (training/search_space.py), searched on this
machine with Optuna (TPE, seeded). Each trial is a `train` run on the configured data (data.max_rows for a subset) into
its own folder, tracked as an MLflow run nested under one parent run; the best trial's settings are saved in
tuning/best.json as values and as the `train` command that uses them.
"""

from __future__ import annotations

import copy
import json
import shlex
from dataclasses import dataclass
from pathlib import Path

from .. import logs
from ..config import Config
from ..display import table
from ..errors import ConfigError
from ..metric_registry import METRICS
from .search_space import SearchRange, search_space

LOCAL_TUNING_DIR = "artifacts/tuning"
BEST_FILE = "best.json"


@dataclass
class Trial:
    """One finished trial: its number, the values it tried and the validation score train reported."""

    number: int
    values: dict
    score: float


def suggest(trial, space: list[SearchRange]) -> dict:
    """The values an Optuna ``trial`` picks from ``space``."""
    values = {}
    for item in space:
        if item.kind == "categorical":
            values[item.name] = trial.suggest_categorical(item.name, list(item.values))
        elif item.kind == "integer":
            values[item.name] = trial.suggest_int(item.name, int(item.low), int(item.high), log=item.log)
        else:
            values[item.name] = trial.suggest_float(item.name, item.low, item.high, log=item.log)
    return values


def trial_config(config: Config, number: int, values: dict) -> Config:
    """A copy of ``config`` with the trial's values, writing its model and checkpoints to its own folders, shipping the
    transformer alone (model.ship)."""
    folder = Path(LOCAL_TUNING_DIR) / f"trial-{number}"
    # the transformer alone: a trial's score is the tried settings' own, not a mix with the n-gram model
    overrides = {
        **values,
        "output_dir": str(folder / "model"),
        "checkpoint_dir": str(folder / "checkpoints"),
        "ship": "transformer",
    }
    return copy.deepcopy(config).override(overrides, origin="tune --local")


def run_local_search(config: Config, *, trials: int) -> list[Trial]:
    """Run ``trials`` training runs chosen by Optuna; print progress and a ranked table; write best.json.
    Returns the trials ranked best first. Raises ConfigError (search space, optuna missing), what train raises."""
    try:
        import optuna
    except ImportError:
        raise ConfigError(
            "tune --local needs Optuna: pip install 'optuna>=4,<5' (or the project's [tune] extra)"
        ) from None
    from .run import train
    from .tracking import Tracker

    space = search_space(config)
    metric = config.train.metric_for_best_model
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sign = 1 if METRICS[metric].higher_is_better else -1  # Hamming loss: lower is better
    sampler = optuna.samplers.TPESampler(seed=config.train.seed)
    study = optuna.create_study(direction="maximize" if sign > 0 else "minimize", sampler=sampler)
    finished: list[Trial] = []

    def objective(trial) -> float:
        values = suggest(trial, space)
        logs.result(f"trial {trial.number + 1}/{trials}: {format_values(values)}")
        metrics = train(trial_config(config, trial.number, values), quiet=True)
        score = float(metrics["validation"][metric])
        finished.append(Trial(trial.number, values, score))
        best = sign * max(sign * t.score for t in finished)
        logs.result(f"trial {trial.number + 1}/{trials}: validation {metric} {score:.4f} (best so far {best:.4f})")
        return score

    with Tracker(config) as parent:
        ranges = {f"range_{key}": spec for key, spec in config.aws.tuning_ranges.items()}
        parent.log_params({"tune_trials": trials, **ranges})
        study.optimize(objective, n_trials=trials)
        ranked = sorted(finished, key=lambda t: -sign * t.score)
        parent.log_metrics({f"best_validation_{metric}": ranked[0].score})
    logs.result(ranked_table(ranked, space, metric))
    write_best(config, ranked[0], metric)
    return ranked


def format_values(values: dict) -> str:
    """``learning_rate=0.0003 epochs=2 ...`` with floats at four significant digits."""
    return " ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in values.items())


def ranked_table(ranked: list[Trial], space: list[SearchRange], metric: str) -> str:
    """The trials, best first, as an aligned table."""
    names = [item.name for item in space]
    rows = [
        [
            str(rank),
            str(t.number + 1),
            f"{t.score:.4f}",
            *(format_values({n: t.values[n]}).split("=", 1)[1] for n in names),
        ]
        for rank, t in enumerate(ranked, 1)
    ]
    return table(["rank", "trial", f"validation {metric}", *names], rows, "<>>" + ">" * len(names))


def write_best(config: Config, best: Trial, metric: str) -> Path:
    """Save the best trial's values and the `train` command that uses them in tuning/best.json; returns its path."""
    arguments = [part for name, value in best.values.items() for part in (f"--{name.replace('_', '-')}", str(value))]
    command = shlex.join(["train", *arguments])
    path = config.path(LOCAL_TUNING_DIR) / BEST_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    content = {"trial": best.number + 1, f"validation_{metric}": best.score, "values": best.values, "train": command}
    path.write_text(json.dumps(content, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    logs.result(f"best trial {best.number + 1}: validation {metric} {best.score:.4f}; settings in {path}")
    logs.result(f"train with them: {command}")
    return path
