"""The hyperparameter search space (aws.tuning_ranges): one SearchRange per train key, read from the config.

Both searches take it from here: SageMaker Automatic Model Tuning (aws/tuning.py) and the local Optuna search
(training/local_search.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..config import Config, field_index
from ..errors import ConfigError


@dataclass(frozen=True)
class SearchRange:
    """One hyperparameter's range: ``kind`` is continuous, integer or categorical; ``values`` the choices of a
    categorical one; ``log`` a logarithmic scale."""

    name: str
    kind: str
    low: float = 0.0
    high: float = 0.0
    log: bool = False
    values: tuple[str, ...] = ()


def parse_range(name: str, spec: str) -> SearchRange:
    """``MIN:MAX``, ``MIN:MAX:log`` or ``A,B,C`` for the train key ``name`` -> a SearchRange (integer when the key
    is an integer). Raises ConfigError naming aws.tuning_ranges for an unknown key or a malformed range."""
    fields = field_index()
    where = f"aws.tuning_ranges.{name}"
    if name not in fields or fields[name].section != "train":
        raise ConfigError(f"{where}: {name!r} is not a train key (see `config`)")
    spec = str(spec).strip()
    if "," in spec:
        return SearchRange(name, "categorical", values=tuple(v.strip() for v in spec.split(",") if v.strip()))
    parts = spec.split(":")
    try:
        low, high = float(parts[0]), float(parts[1])
    except (IndexError, ValueError):
        raise ConfigError(f"{where}: {spec!r} is not MIN:MAX, MIN:MAX:log or A,B,C") from None
    log = parts[2:] == ["log"]
    if len(parts) > 3 or (len(parts) == 3 and not log) or low > high or (log and low <= 0):
        raise ConfigError(f"{where}: {spec!r} is not MIN:MAX (MIN <= MAX), MIN:MAX:log (MIN > 0) or A,B,C")
    kind = "integer" if fields[name].type is int or name == "epochs" else "continuous"
    return SearchRange(name, kind, low, high, log)


def search_space(config: Config) -> list[SearchRange]:
    """Every configured range (aws.tuning_ranges), in the file's order; raises ConfigError when one is wrong."""
    if not config.aws.tuning_ranges:
        raise ConfigError("aws.tuning_ranges is empty: give at least one train key to search")
    return [parse_range(name, spec) for name, spec in config.aws.tuning_ranges.items()]
