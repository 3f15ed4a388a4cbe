"""One typed configuration: config.yaml, then overrides (CLI ``--set`` or SageMaker hyperparameters).

Every field has a flat, unique name, so ``--epochs 1`` (SageMaker passes hyperparameters that way)
and ``train.epochs=1`` mean the same thing. Booleans parse from strings: ``--fp16 false`` is False.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

CONFIG_FILE = "config.yaml"
TRUE_WORDS = {"1", "true", "yes", "y", "on"}
FALSE_WORDS = {"0", "false", "no", "n", "off"}


class ConfigError(ValueError):
    """A configuration value or file is wrong; the message names it."""


@dataclass
class DataConfig:
    data_format: str = "tsv"
    data_dir: str = "data/raw"
    train_file: str = "train.tsv"
    test_file: str = "test.tsv"
    text_column: str = "text"
    label_column: str = "label"
    id_column: str = ""
    labels_file: str = "labels.json"
    normalize: str = "nfc"  # nfc | nfkc | none
    collapse_whitespace: bool = True
    remove_pattern: str = ""  # opt-in regex of characters to delete, e.g. "[^ㄱ-ㅎㅏ-ㅣ가-힣 ]"
    empty_text: str = "drop"  # drop | error
    unknown_label: str = "error"  # error | drop
    duplicate_ids: str = "report"  # report | error | drop
    validation_ratio: float = 0.1
    split_seed: int = 42
    max_rows: int = 0  # 0 = all rows
    fraction: float = 1.0


@dataclass
class ModelConfig:
    model: str = "scratch:tiny"
    max_length: int = 128
    cache_dir: str = ".cache"


@dataclass
class TrainConfig:
    loop: str = "trainer"  # trainer | torch
    output_dir: str = "artifacts/model"
    checkpoint_dir: str = "artifacts/checkpoints"
    epochs: float = 3.0
    max_steps: int = -1
    batch_size: int = 32
    eval_batch_size: int = 64
    learning_rate: float = 0.0  # 0 = the model's default (see modeling.default_learning_rate)
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1
    gradient_accumulation_steps: int = 1
    max_grad_norm: float = 1.0
    precision: str = "auto"  # auto | fp32 | fp16 | bf16 (auto: bf16 or fp16 on CUDA, fp32 on CPU)
    seed: int = 42
    metric_for_best_model: str = "macro_f1"
    early_stopping_patience: int = 0  # 0 = off
    save_steps: int = 0  # 0 = once per epoch
    logging_steps: int = 50
    group_by_length: bool = True
    num_workers: int = 0
    use_cpu: bool = False


@dataclass
class TrackingConfig:
    tracking: bool = True
    tracking_uri: str = "file:./mlruns"
    experiment_name: str = "default"


@dataclass
class AwsConfig:
    region: str = "ap-northeast-2"
    s3_prefix: str = "project"
    bucket: str = ""
    role_arn: str = ""
    training_instance_type: str = "ml.g5.xlarge"
    instance_count: int = 1
    inference_instance_type: str = "ml.g5.xlarge"
    inference_instance_count: int = 1
    use_spot_instances: bool = True
    max_run_seconds: int = 86400
    max_wait_seconds: int = 172800
    volume_size_gb: int = 30
    serverless_memory_mb: int = 4096
    serverless_max_concurrency: int = 5
    mlflow_tracking_arn: str = ""
    tags: dict = field(default_factory=dict)


SECTIONS = {"data": DataConfig, "model": ModelConfig, "train": TrainConfig, "tracking": TrackingConfig,
            "aws": AwsConfig}


@dataclass
class Config:
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    tracking: TrackingConfig = field(default_factory=TrackingConfig)
    aws: AwsConfig = field(default_factory=AwsConfig)
    root: Path = field(default_factory=Path.cwd, compare=False)

    def path(self, value: str | Path) -> Path:
        """Resolve a configured path against the project root (absolute paths stay as they are)."""
        path = Path(value)
        return path if path.is_absolute() else self.root / path

    def to_dict(self) -> dict[str, dict[str, Any]]:
        return {name: dataclasses.asdict(getattr(self, name)) for name in SECTIONS}

    def override(self, overrides: dict[str, Any]) -> Config:
        """Apply ``{"epochs": "1"}`` or ``{"train.epochs": 1}`` style overrides, converting types."""
        for key, raw in overrides.items():
            section_name, field_name = _locate(key)
            section = getattr(self, section_name)
            field_type = _field_types(type(section))[field_name]
            setattr(section, field_name, coerce(raw, field_type, key))
        return self


def _field_types(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def field_index() -> dict[str, str]:
    """Flat field name -> section name, for every configurable field."""
    index: dict[str, str] = {}
    for section_name, cls in SECTIONS.items():
        for f in dataclasses.fields(cls):
            if f.name in index:
                raise RuntimeError(f"config field {f.name!r} is defined twice")  # a programming error
            index[f.name] = section_name
    return index


def _locate(key: str) -> tuple[str, str]:
    key = key.replace("-", "_")
    if "." in key:
        section, name = key.split(".", 1)
        if section in SECTIONS and name in {f.name for f in dataclasses.fields(SECTIONS[section])}:
            return section, name
        raise ConfigError(f"unknown config key {key!r}")
    index = field_index()
    if key not in index:
        raise ConfigError(f"unknown config key {key!r}; known keys: {', '.join(sorted(index))}")
    return index[key], key


def parse_bool(raw: Any, key: str = "value") -> bool:
    if isinstance(raw, bool):
        return raw
    word = str(raw).strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ConfigError(f"{key}: {raw!r} is not a boolean (use true or false)")


def coerce(raw: Any, field_type: Any, key: str) -> Any:
    if isinstance(field_type, types.UnionType) or typing.get_origin(field_type) is typing.Union:
        field_type = next(t for t in typing.get_args(field_type) if t is not type(None))
    try:
        if field_type is bool:
            return parse_bool(raw, key)
        if field_type is int:
            if isinstance(raw, float) and not raw.is_integer():
                raise ValueError
            return int(float(raw)) if isinstance(raw, str) and "." in raw else int(raw)
        if field_type is float:
            return float(raw)
        if field_type is str:
            return "" if raw is None else str(raw)
        if field_type is dict or typing.get_origin(field_type) is dict:
            return json.loads(raw) if isinstance(raw, str) else dict(raw)
    except (TypeError, ValueError) as error:
        raise ConfigError(f"{key}: {raw!r} is not a valid {getattr(field_type, '__name__', field_type)}") from error
    return raw


def parse_assignments(items: list[str]) -> dict[str, str]:
    """``["train.epochs=1", "loop=torch"]`` -> dict; each item must contain '='."""
    overrides = {}
    for item in items:
        if "=" not in item:
            raise ConfigError(f"override {item!r} must look like key=value")
        key, value = item.split("=", 1)
        overrides[key.strip()] = value.strip()
    return overrides


def find_root(start: Path | None = None) -> Path:
    """The nearest folder at or above ``start`` that holds config.yaml (else ``start`` itself)."""
    start = (start or Path.cwd()).resolve()
    for folder in (start, *start.parents):
        if (folder / CONFIG_FILE).is_file():
            return folder
    return start


def load_config(path: str | Path | None = None, overrides: dict[str, Any] | None = None) -> Config:
    """Read config.yaml (found upwards from the working directory unless given) and apply overrides."""
    explicit = path is not None
    path = Path(path) if explicit else find_root() / CONFIG_FILE
    config = Config(root=path.resolve().parent)
    if path.is_file():
        try:
            content = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as error:
            raise ConfigError(f"{path}: not valid YAML: {error}") from error
        if not isinstance(content, dict):
            raise ConfigError(f"{path}: top level must be a mapping of sections")
        for section_name, values in content.items():
            if section_name not in SECTIONS:
                raise ConfigError(f"{path}: unknown section {section_name!r}; known: {', '.join(SECTIONS)}")
            for key, value in (values or {}).items():
                config.override({f"{section_name}.{key}": value})
    elif explicit:
        raise ConfigError(f"config file {path} does not exist")
    return config.override(overrides or {})
