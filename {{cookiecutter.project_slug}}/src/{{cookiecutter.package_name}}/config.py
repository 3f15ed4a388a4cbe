"""One typed configuration: config.yaml, then overrides (command-line flags, ``--set``, SageMaker hyperparameters).

Every field has a flat, unique name, so ``--epochs 1`` (SageMaker passes hyperparameters that way) and
``train.epochs=1`` mean the same thing. Every field carries its help text, which feeds ``--help``, the
training entry point and ``config``. Values are checked when the configuration is loaded, before
any data is read: a wrong choice or an out-of-range number ends in one line naming the key and what is allowed.
"""

from __future__ import annotations

import codecs
import dataclasses
import difflib
import functools
import json
import math
import re
import typing
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from . import artifact_files
from .answers import LABEL_JOINER
from .artifact_files import LABELS_FILE as LABELS_FILE  # defined once there (the container reads it too)
from .errors import ConfigError
from .format_registry import FORMAT_NAMES, FORMATS
from .metric_registry import MACRO_F1, METRIC_NAMES

CONFIG_FILE = "config.yaml"
TRUE_WORDS = {"1", "true", "yes", "y", "on"}
FALSE_WORDS = {"0", "false", "no", "n", "off"}
MetricName = Literal[METRIC_NAMES]  # metric_registry.py: the metrics defined there
DataFormatName = Literal[FORMAT_NAMES]  # format_registry.py: the formats declared there
# train.class_weights=auto weighs classes from this largest/smallest class ratio (benchmarks/RESULTS-class-weights.md)
AUTO_CLASS_RATIO = 10.0
ShipChoice = Literal["auto", "transformer", "ngram", "ensemble"]  # what train ships (training/ensemble.py)
InferencePrecision = Literal[artifact_files.PRECISIONS]  # defined there: the container's handler reads them too
PRECISIONS = typing.get_args(InferencePrecision)


@dataclass(frozen=True)
class Bounds:
    """An allowed numeric range; open ends exclude the limit."""

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False

    def contains(self, value: float) -> bool:
        """Whether ``value`` lies in the range (an open end excludes its limit)."""
        if self.low is not None and (value < self.low or (self.low_open and value == self.low)):
            return False
        return not (self.high is not None and (value > self.high or (self.high_open and value == self.high)))

    def describe(self) -> str:
        """The range in words for error messages: ``in [0, 1]``, ``> 0``, ``<= 10``."""
        if self.low is not None and self.high is not None:
            return f"in {'(' if self.low_open else '['}{self.low:g}, {self.high:g}{')' if self.high_open else ']'}"
        if self.low is not None:
            return f"{'>' if self.low_open else '>='} {self.low:g}"
        return f"{'<' if self.high_open else '<='} {self.high:g}"


POSITIVE = Bounds(0, low_open=True)
AT_LEAST_ONE = Bounds(1)
NOT_NEGATIVE = Bounds(0)
FRACTION = Bounds(0, 1)


def valid_regex(value: str) -> str | None:
    """None when ``value`` compiles as a Python regular expression, else why not (data.remove_pattern's check)."""
    try:
        re.compile(value)
    except re.error as error:
        return f"not a valid regular expression ({error})"
    return None


def valid_separator(value: str) -> str | None:
    """None when ``value`` (data.label_separator) is visible characters with no space around them, else why not."""
    if not value.strip() or value != value.strip():
        return "not visible characters; a separator of labels in one cell is e.g. |"
    return None


def valid_encoding(value: str) -> str | None:
    """None for ``auto`` or a codec Python knows (codecs.lookup), else what to use instead."""
    if value == "auto":
        return None
    try:
        codecs.lookup(value)
    except LookupError:
        return "not an encoding Python knows; use auto, utf-8, utf-8-sig, utf-16, cp949 or euc-kr"
    return None


def valid_steps(value: int) -> str | None:
    """None for -1 (train for ``epochs``) or a positive step count, else the rule (train.max_steps' check)."""
    return None if value == -1 or value >= 1 else "not allowed; use -1 (train for `epochs`) or a positive number"


def valid_distillation_alpha(value: float) -> str | None:
    """None for -1 (auto) or a weight in [0, 1), else the rule (train.distillation_alpha's check)."""
    if value == -1 or 0 <= value < 1:
        return None
    return "not allowed; use -1 (auto), 0 (off) or a weight in [0, 1) such as 0.2"


def setting(
    default: Any, help: str, bounds: Bounds | None = None, check: Callable[[Any], str | None] | None = None
) -> Any:
    """A config field with its help text and the checks its values must pass."""
    if isinstance(default, dict):
        return field(default_factory=lambda: dict(default), metadata={"help": help, "bounds": bounds, "check": check})
    return field(default=default, metadata={"help": help, "bounds": bounds, "check": check})


@dataclass
class DataConfig:
    """The ``data`` section: where the files are, their format and columns, and the rules rows are read by."""

    data_format: DataFormatName = setting(
        "tsv", "file format: " + ", ".join(f"{fmt.name} ({fmt.help})" for fmt in FORMATS.values())
    )
    sheet_name: str = setting("", "xlsx: the sheet to read (empty: the first sheet)")
    header_row: int = setting(
        1,
        "xlsx: the spreadsheet row holding the column names (2 under a title row); rows above it are skipped",
        AT_LEAST_ONE,
    )
    encoding: str = setting(
        "auto",
        "text encoding of the data files: auto (UTF-8, UTF-8 with BOM, UTF-16 by BOM, "
        "cp949/EUC-KR detected) or any Python codec name",
        check=valid_encoding,
    )
    data_dir: str = setting("data/raw", "folder holding train_file and test_file")
    train_file: str = setting("train.tsv", "training file name under data_dir")
    test_file: str = setting(
        "test.tsv",
        "test file name under data_dir (empty: a one-file dataset; data.test_fraction of the training file is held "
        "out as the test split)",
    )
    text_column: str = setting("text", "column (or JSON key) holding the text")
    text_pair_column: str = setting(
        "", "column (or JSON key) holding a second text, for sentence-pair tasks (empty: one text a row)"
    )
    label_column: str = setting(
        "label",
        "column (or JSON key) holding the label; for a multi_label task (the label schema's) empty means one 0/1 "
        "column per label name",
    )
    label_separator: str = setting(
        LABEL_JOINER,  # the joiner predict's tables write multi-label answers with
        "multi_label: what separates the labels in one CSV/TSV cell (JSON Lines hold a list)",
        check=valid_separator,
    )
    id_column: str = setting("", "column (or JSON key) holding a row id; when absent, rows are identified by line")
    labels_file: str = setting(LABELS_FILE, "label schema: names in class-id order and how the files write them")
    normalize: Literal["nfc", "nfkc", "none"] = setting("nfc", "Unicode normalisation (Hangul-safe; deletes nothing)")
    collapse_whitespace: bool = setting(True, "turn runs of whitespace into one space and strip the ends")
    remove_pattern: str = setting(
        "", "opt-in regex of characters to delete, e.g. [^ㄱ-ㅎㅏ-ㅣ가-힣 ]", check=valid_regex
    )
    empty_text: Literal["drop", "error"] = setting(
        "drop", "rows with empty text: drop (counted in the report) or error"
    )
    unknown_label: Literal["error", "drop"] = setting(
        "error", "rows whose label is not in the schema: error, or drop (counted in the report)"
    )
    duplicate_ids: Literal["report", "drop", "error"] = setting(
        "report", "rows repeating an id seen earlier: report (warning), drop, or error"
    )
    empty_class: Literal["error", "warn"] = setting(
        "error", "a label with no training rows: error, or warn and train anyway"
    )
    validation_ratio: float = setting(
        0.1,
        "share of the training file held out for validation (stratified, rows sharing a text kept together, seeded)",
        Bounds(0, 1, high_open=True),
    )
    test_fraction: float = setting(
        0.1,
        "with an empty test_file: share of the training file held out as the test split (stratified, rows sharing a "
        "text kept together, seeded; its lines are recorded under prepared_dir)",
        Bounds(0, 1, low_open=True, high_open=True),
    )
    prepared_dir: str = setting("data/prepared", "where the held-out test split's rows are recorded (line and id)")
    split_seed: int = setting(42, "seed of the validation and held-out test splits and of subsets")
    max_rows: int = setting(0, "train on a stratified subset of at most this many rows (0 = all)", NOT_NEGATIVE)
    fraction: float = setting(1.0, "train on this stratified share of the rows (1 = all)", Bounds(0, 1, low_open=True))


@dataclass
class ModelConfig:
    """The ``model`` section: the base model, token length, caches and the precision inference runs in."""

    base_model: str = setting(
        "scratch:tiny",
        "Hugging Face hub id, local model folder, or scratch:auto / scratch:tiny / "
        "scratch:small (tokenizer and small ELECTRA built from your texts, offline; auto: the size for the number "
        "of training rows)",
    )
    max_length: int = setting(128, "maximum tokens per text; longer texts are truncated", Bounds(8, 8192))
    cache_dir: str = setting(".cache", "tokenised datasets are cached here")
    inference_precision: InferencePrecision = setting(
        "auto", "how evaluate, serve, predict and CPU endpoints run the model: auto (int8 on a CPU, fp32 on a GPU)"
    )
    int8_max_drop: float = setting(
        0.005,
        "what int8 may lose against fp32 on the validation split: accuracy (0.005 = half a point; multi-label "
        "micro F1), or for regression MSE added as a share of the mean answer's MSE; more, and int8 is refused",
        FRACTION,
    )
    min_confidence: float = setting(
        0.0,
        "single-label: a text whose most probable class has a calibrated probability below this is answered "
        "'unsure' (0 = always answer); train saves it in calibration.json, which every serving path reads",
        FRACTION,
    )
    target_accuracy: float = setting(
        0.0,
        "single-label, instead of min_confidence: the lowest cut-off at which the validation texts answered reach "
        "this accuracy (0 = off; 1 = only texts the model is never wrong about, if any)",
        FRACTION,
    )
    ship: ShipChoice = setting(
        "auto",
        "what train ships: auto (the transformer, the n-gram model fitted on the training split, or both mixed, "
        "whichever scores best on the validation split), or one of transformer, ngram, ensemble",
    )


@dataclass
class TrainConfig:
    """The ``train`` section: the loop, its output folders and every optimisation setting (flat names: SageMaker
    hyperparameters)."""

    loop: Literal["trainer", "torch"] = setting(
        "trainer", "training loop: the transformers Trainer, or a plain PyTorch loop; both write the same artifact"
    )
    output_dir: str = setting("artifacts/model", "where the model artifact goes")
    checkpoint_dir: str = setting("artifacts/checkpoints", "checkpoints; a restarted run resumes from here")
    epochs: float = setting(
        0.0,
        "passes over the training split (0 = auto: 3, or more on a small training split so that at least "
        "`min_steps` optimizer steps run; the best epoch on the validation split is kept)",
        NOT_NEGATIVE,
    )
    min_steps: int = setting(400, "with epochs 0 (auto): the fewest optimizer steps a run trains for", NOT_NEGATIVE)
    max_steps: int = setting(-1, "stop after this many optimizer steps (-1 = train for `epochs`)", check=valid_steps)
    batch_size: int = setting(32, "training examples per device and step", AT_LEAST_ONE)
    eval_batch_size: int = setting(64, "examples per batch when predicting", AT_LEAST_ONE)
    learning_rate: float = setting(
        0.0,
        "peak learning rate (0 = the model's default: 5e-5 pretrained, 1e-3 scratch:tiny, 2.5e-4 scratch:small)",
        NOT_NEGATIVE,
    )
    weight_decay: float = setting(0.01, "AdamW weight decay (not on biases and LayerNorm)", NOT_NEGATIVE)
    warmup_ratio: float = setting(0.1, "share of the steps spent warming the learning rate up", FRACTION)
    gradient_accumulation_steps: int = setting(1, "batches per optimizer step", AT_LEAST_ONE)
    max_grad_norm: float = setting(1.0, "gradient clipping norm", POSITIVE)
    precision: Literal["auto", "fp32", "fp16", "bf16"] = setting(
        "auto", "auto (bf16 or fp16 on CUDA, fp32 on CPU), fp32, fp16 or bf16"
    )
    seed: int = setting(42, "seed of initialisation, batch order and dropout")
    class_weights: Literal["auto", "none", "balanced"] = setting(
        "auto",
        "weigh the training loss by class: balanced (scikit-learn's class_weight: rows / (classes * a class's rows), "
        "from the training split; multi-label: BCE's pos_weight, a label's negatives / positives), none, or auto "
        f"(balanced when the largest class has {AUTO_CLASS_RATIO:g}x the rows of the smallest or more; multi-label: "
        f"when a label's negatives / positives reach {AUTO_CLASS_RATIO:g}; regression: none)",
    )
    distillation_alpha: float = setting(
        -1.0,
        "weight of the n-gram model's cross-fitted scores as soft targets in the training loss: (1 - alpha) x gold + "
        "alpha x teacher (0 = off; -1 = auto: 0.2 for a scratch: model, 0 otherwise; training/distillation.py)",
        check=valid_distillation_alpha,
    )
    metric_for_best_model: MetricName = setting(MACRO_F1, "validation metric that picks the best epoch")
    early_stopping_patience: int = setting(0, "stop after this many epochs without improvement (0 = off)", NOT_NEGATIVE)
    save_steps: int = setting(0, "checkpoint (and evaluate) every N steps (0 = once per epoch)", NOT_NEGATIVE)
    checkpoint_every_minutes: float = setting(
        15.0,
        "also save a checkpoint every N minutes of training (at the next optimizer step), so a lost machine loses at "
        "most that much work (0 = off)",
        NOT_NEGATIVE,
    )
    logging_steps: int = setting(
        50, "print and log the training loss every N steps (at most: at least 4 points an epoch)", AT_LEAST_ONE
    )
    group_by_length: bool = setting(True, "batch texts of similar length together (far less padding)")
    num_workers: int = setting(0, "data loader worker processes", NOT_NEGATIVE)
    use_cpu: bool = setting(False, "train on the CPU even when a GPU is present")


def valid_file_list(value: str) -> str | None:
    """None for an empty value or comma-separated file names with none empty, else the rule (pretrain.unlabeled_files'
    check)."""
    if value.strip() and not all(name.strip() for name in value.split(",")):
        return "not a comma-separated list of file names (one is empty)"
    return None


@dataclass
class PretrainConfig:
    """The ``pretrain`` section: continued masked-LM pre-training on your own texts (``pretrain``), which ``train``
    starts from with model.base_model set to pretrain_output_dir (flat names: SageMaker hyperparameters)."""

    unlabeled_files: str = setting(
        "",
        "extra unlabelled texts for pretrain, comma-separated (under data.data_dir unless a path): a .txt file holds "
        "one text a line; any other file is read in its suffix's data format, its data.text_column (no labels needed)",
        check=valid_file_list,
    )
    pretrain_output_dir: str = setting(
        "artifacts/pretrained", "where pretrain writes the model folder train starts from (model.base_model: it)"
    )
    pretrain_checkpoint_dir: str = setting(
        "artifacts/pretrain-checkpoints", "pretrain's checkpoints; a restarted pretrain resumes from here"
    )
    pretrain_epochs: float = setting(3.0, "passes of pretrain over its texts", POSITIVE)
    pretrain_max_steps: int = setting(
        -1, "stop pretrain after this many optimizer steps (-1 = `pretrain_epochs`)", check=valid_steps
    )
    mlm_probability: float = setting(
        0.15, "share of the tokens masked (BERT's 80% [MASK], 10% random, 10% kept)", Bounds(0, 1, True, True)
    )
    pretrain_learning_rate: float = setting(
        0.0, "pretrain's peak learning rate (0 = train.learning_rate's model default)", NOT_NEGATIVE
    )
    pretrain_held_out: float = setting(
        0.05,
        "share of the texts held out (seeded by data.split_seed) whose masked-LM loss is reported before and after",
        Bounds(0, 1, True, True),
    )


@dataclass
class TrackingConfig:
    """The ``tracking`` section: MLflow on or off, where it logs, the experiment's name."""

    mlflow: bool = setting(True, "log parameters and metrics to MLflow")
    tracking_uri: str = setting(
        "sqlite:///mlflow.db",
        "MLflow tracking URI: a SQLite file (opens with plain `mlflow ui`), a server URL, or a SageMaker MLflow ARN",
    )
    experiment_name: str = setting("default", "MLflow experiment")


@dataclass
class AwsConfig:
    """The ``aws`` section: region, bucket, role, instance types and limits for launch, deploy and batch transform."""

    # --- extend this: a new deploy option is a field here (it gets --help, `config`, checks), read where the
    # request is built in aws/deploy.py (container_environment, model_request, endpoint_config_request) ---

    region: str = setting("ap-northeast-2", "AWS region for SageMaker and S3")
    s3_prefix: str = setting("project", "S3 key prefix for data, code, models and checkpoints")
    bucket: str = setting("", "your S3 bucket (or pass --bucket)")
    role_arn: str = setting("", "SageMaker execution role ARN (or set SAGEMAKER_ROLE_ARN)")
    training_instance_type: str = setting("ml.g5.xlarge", "training instance type (the training image is GPU-only)")
    instance_count: int = setting(1, "training instances (torch distributed across them)", AT_LEAST_ONE)
    inference_instance_type: str = setting("ml.m5.xlarge", "endpoint instance type")
    inference_instance_count: int = setting(1, "endpoint instances", AT_LEAST_ONE)
    use_spot_instances: bool = setting(True, "managed spot training, resumed from checkpoints")
    max_run_seconds: int = setting(86400, "longest a training job may run", AT_LEAST_ONE)
    max_wait_seconds: int = setting(172800, "longest a spot job may wait and run in all", AT_LEAST_ONE)
    volume_size_gb: int = setting(30, "training instance disk", AT_LEAST_ONE)
    serverless_memory_mb: int = setting(
        4096, "serverless endpoint memory: 1024 to 6144 in steps of 1024", Bounds(1024, 6144)
    )
    serverless_max_concurrency: int = setting(5, "serverless endpoint concurrent invocations", Bounds(1, 200))
    transform_instance_count: int = setting(1, "batch transform instances", AT_LEAST_ONE)
    max_concurrent_transforms: int = setting(1, "batch transform requests in flight per instance", AT_LEAST_ONE)
    max_payload_mb: int = setting(6, "batch transform mini-batch size in MB", Bounds(1, 100))
    mlflow_tracking_arn: str = setting("", "SageMaker managed MLflow tracking server ARN for training jobs")
    tags: dict = setting({}, "tags for every SageMaker resource (JSON object or key=value,key=value)")
    tuning_max_jobs: int = setting(20, "tune: training jobs the search runs in all", AT_LEAST_ONE)
    tuning_max_parallel_jobs: int = setting(2, "tune: training jobs at a time", AT_LEAST_ONE)
    tuning_ranges: dict = setting(
        {
            "learning_rate": "1e-5:5e-3:log",
            "epochs": "1:5",
            "batch_size": "16,32,64",
            "warmup_ratio": "0:0.2",
            "weight_decay": "0:0.1",
        },
        "tune: search space, train key -> MIN:MAX (integer keys search integers), MIN:MAX:log, or A,B,C",
    )
    model_package_group: str = setting("", "register: Model Registry group (empty: named after s3_prefix)")
    autoscale_target_invocations: float = setting(
        100.0, "deploy --autoscale: invocations per instance per minute the policy holds", POSITIVE
    )
    autoscale_scale_in_cooldown: int = setting(300, "deploy --autoscale: seconds between scale-ins", NOT_NEGATIVE)
    autoscale_scale_out_cooldown: int = setting(60, "deploy --autoscale: seconds between scale-outs", NOT_NEGATIVE)
    async_max_concurrency: int = setting(4, "deploy --async: invocations in flight per instance", AT_LEAST_ONE)
    pipeline_min_metric: float = setting(
        0.7, "pipeline: registers the model only when train.metric_for_best_model on validation reaches this", FRACTION
    )


SECTIONS: dict[str, type] = {
    "data": DataConfig,
    "model": ModelConfig,
    "train": TrainConfig,
    "pretrain": PretrainConfig,
    "tracking": TrackingConfig,
    "aws": AwsConfig,
}


@dataclass(frozen=True)
class FieldInfo:
    """One configurable field as ``--help``, ``config`` and the checks see it: section, name, type, default, help,
    allowed choices or bounds, and an extra check (value -> problem or None)."""

    section: str
    name: str
    type: Any
    default: Any
    help: str
    choices: tuple[str, ...] = ()
    bounds: Bounds | None = None
    check: Callable[[Any], str | None] | None = None

    @property
    def key(self) -> str:
        """The dotted key users write: ``section.name`` (e.g. ``train.epochs``)."""
        return f"{self.section}.{self.name}"

    def describe_allowed(self) -> str:
        """What the field accepts, in words (its choices or its bounds); empty when anything of its type goes."""
        if self.choices:
            return "choose one of " + ", ".join(self.choices)
        if self.bounds is not None:
            return "use a number " + self.bounds.describe()
        return ""


@functools.cache
def type_hints(cls: type) -> dict[str, Any]:
    """``typing.get_type_hints`` of a config section, computed once: the annotations are strings (``from
    __future__ import annotations``) and evaluating them was most of what loading a config cost."""
    return typing.get_type_hints(cls)


def describe_fields() -> Iterator[FieldInfo]:
    """Every configurable field, section by section, in declaration order."""
    for section, cls in SECTIONS.items():
        hints = type_hints(cls)
        for f in dataclasses.fields(cls):
            kind = hints[f.name]
            choices = tuple(typing.get_args(kind)) if typing.get_origin(kind) is Literal else ()
            default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
            yield FieldInfo(
                section, f.name, kind, default, f.metadata["help"], choices, f.metadata["bounds"], f.metadata["check"]
            )


def field_index() -> dict[str, FieldInfo]:
    """Flat field name -> its description, for every configurable field."""
    index: dict[str, FieldInfo] = {}
    for info in describe_fields():
        if info.name in index:
            raise RuntimeError(f"config field {info.name!r} is defined twice")  # a programming error
        index[info.name] = info
    return index


@dataclass
class Config:
    """The whole configuration: one dataclass per section, the file it came from (``source``) and the project root paths
    resolve against."""

    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    pretrain: PretrainConfig = field(default_factory=PretrainConfig)
    tracking: TrackingConfig = field(default_factory=TrackingConfig)
    aws: AwsConfig = field(default_factory=AwsConfig)
    root: Path = field(default_factory=Path.cwd, compare=False)
    source: Path | None = field(default=None, compare=False)  # the config file these values came from

    def path(self, value: str | Path) -> Path:
        """Resolve a configured path against the project root (absolute paths stay as they are)."""
        path = Path(value)
        return path if path.is_absolute() else self.root / path

    def to_dict(self) -> dict[str, dict[str, Any]]:
        """Section -> key -> value, as config.yaml writes it (what training_config.json records)."""
        return {name: dataclasses.asdict(getattr(self, name)) for name in SECTIONS}

    def flat(self) -> dict[str, Any]:
        """Every key -> value under its flat name (the names are unique): what MLflow logs as parameters."""
        return {name: value for section in self.to_dict().values() for name, value in section.items()}

    def override(self, overrides: dict[str, Any], origin: str = "the command line") -> Config:
        """Apply ``{"epochs": "1"}`` or ``{"train.epochs": 1}`` style overrides, converting and checking types."""
        for key, raw in overrides.items():
            info = locate(key, origin)
            setattr(getattr(self, info.section), info.name, coerce(raw, info, origin))
        return self


def locate(key: str, origin: str = "the command line") -> FieldInfo:
    """The field a key names (``train.epochs``, ``epochs`` or ``epochs`` with dashes); ``origin`` says where the key was
    written. Raises ConfigError for an unknown key, with the close names."""
    index = field_index()
    key = key.strip().replace("-", "_")
    section, _, name = key.rpartition(".")
    info = index.get(name)
    if info is None or (section and section != info.section):
        similar = {*difflib.get_close_matches(name, list(index), n=3, cutoff=0.8)}  # a typo: lerning_rate
        similar |= {i.name for i in index.values() if name and (name in i.name or i.name in name)}
        close = [f"{i.section}.{i.name}" for i in index.values() if i.name in similar]
        hint = f"; did you mean {', '.join(close[:3])}?" if close else "; `config` lists every key"
        raise ConfigError(f"unknown config key {key!r} (in {origin}){hint}")
    return info


def parse_bool(raw: Any, key: str = "value") -> bool:
    """``raw`` as a boolean: a bool, or a word in TRUE_WORDS / FALSE_WORDS (case-insensitive). Raises ConfigError naming
    ``key`` otherwise."""
    if isinstance(raw, bool):
        return raw
    word = str(raw).strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ConfigError(f"{key}: {raw!r} is not a boolean (use true or false)")


def parse_mapping(raw: Any) -> dict:
    """A JSON object, or ``a=1,b=2`` (how the SageMaker training toolkit passes a dict hyperparameter)."""
    if isinstance(raw, dict):
        return dict(raw)
    text = str(raw).strip()
    if not text:
        return {}
    if text.startswith("{"):
        value = json.loads(text)
        if not isinstance(value, dict):
            raise ValueError
        return value
    pairs = [item.split("=", 1) for item in text.split(",")]
    if any(len(pair) != 2 or not pair[0].strip() for pair in pairs):
        raise ValueError
    return {key.strip(): value.strip() for key, value in pairs}


def _convert(raw: Any, kind: Any) -> Any:
    if kind is bool:
        return parse_bool(raw)
    if kind is int:
        if isinstance(raw, bool):
            raise ValueError
        if isinstance(raw, float):
            if not raw.is_integer():
                raise ValueError
            return int(raw)
        text = str(raw).strip()
        number = float(text) if re.fullmatch(r"-?\d+\.0*", text) else int(text)
        return int(number)
    if kind is float:
        if isinstance(raw, bool):
            raise ValueError
        value = float(raw)
        if not math.isfinite(value):
            raise ValueError
        return value
    if kind is str:
        return "" if raw is None else str(raw)
    if kind is dict:
        return parse_mapping(raw)
    raise TypeError(f"unsupported config type {kind!r}")  # a programming error


def coerce(raw: Any, info: FieldInfo, origin: str = "the command line") -> Any:
    """Convert ``raw`` to the field's type and check it; ConfigError names the key, value and what is allowed."""
    where = f" (in {origin})"
    if info.choices:
        value = str(raw).strip().lower() if raw is not None else ""
        if value not in info.choices:
            raise ConfigError(f"{info.key}: {raw!r} is not allowed{where}; {info.describe_allowed()}")
        return value
    try:
        value = _convert(raw, info.type)
    except ConfigError:
        raise ConfigError(f"{info.key}: {raw!r} is not a boolean{where}; use true or false") from None
    except (TypeError, ValueError, OverflowError, json.JSONDecodeError):
        kind = {int: "a whole number", float: "a number", dict: "a JSON object or key=value,key=value"}.get(
            info.type, getattr(info.type, "__name__", str(info.type))
        )
        allowed = info.describe_allowed() or f"what it sets: {info.help}"  # e.g. the help's "-1 = auto"
        raise ConfigError(f"{info.key}: {raw!r} is not {kind}{where}; {allowed}") from None
    if info.bounds is not None and not info.bounds.contains(value):
        raise ConfigError(f"{info.key}: {raw!r} is out of range{where}; {info.describe_allowed()}")
    if info.check is not None and (problem := info.check(value)):
        raise ConfigError(f"{info.key}: {raw!r} is {problem}{where}")
    return value


def parse_assignments(items: list[str]) -> dict[str, str]:
    """``["train.epochs=1", "loop=torch"]`` -> dict; each item must contain '='."""
    overrides = {}
    for item in items:
        if "=" not in item:
            raise ConfigError(f"--set {item!r} must look like key=value")
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


# PyYAML's safe loader on libyaml (C) where the wheel has it: the same documents, several times faster to read
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_config_file(path: Path) -> dict[str, dict[str, Any]]:
    """config.yaml's sections as nested dicts, checked for shape only (values are checked by load_config). Raises
    ConfigError for invalid YAML, a file that is not UTF-8, or an unknown or malformed section."""
    try:
        content = yaml.load(path.read_text(encoding="utf-8"), Loader=SAFE_LOADER) or {}
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: not valid YAML: {error}") from None
    except UnicodeDecodeError as error:
        raise ConfigError(f"{path}: not UTF-8 text (byte {error.start}); save it as UTF-8") from None
    if not isinstance(content, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of sections ({', '.join(SECTIONS)})")
    for section, values in content.items():
        if section not in SECTIONS:
            raise ConfigError(f"{path}: unknown section {section!r}; the sections are {', '.join(SECTIONS)}")
        if values is not None and not isinstance(values, dict):
            raise ConfigError(f"{path}: section {section!r} must be a mapping of keys to values")
    return content


def load_config(path: str | Path | None = None, overrides: dict[str, Any] | None = None) -> Config:
    """Read config.yaml (found upwards from the working directory unless given), apply and check overrides."""
    explicit = path is not None
    path = Path(path) if explicit else find_root() / CONFIG_FILE
    config = Config(root=path.resolve().parent)
    if path.is_file():
        config.source = path.resolve()
        for section, values in read_config_file(path).items():
            config.override({f"{section}.{key}": value for key, value in (values or {}).items()}, origin=str(path))
    elif explicit:
        raise ConfigError(f"config file {path} does not exist")
    config.override(overrides or {})
    check_consistency(config)
    return config


def check_consistency(config: Config) -> None:
    """Rules that involve more than one key."""
    data = config.data
    named = {}
    for key in ("text_column", "text_pair_column", "label_column", "id_column"):
        column = getattr(data, key)
        if column and column in named:
            raise ConfigError(f"data.{named[column]} and data.{key} are both {column!r}; each column holds one thing")
        named.setdefault(column, key)
    if not data.text_column:
        raise ConfigError("data.text_column must name the column holding the text")
    if config.aws.use_spot_instances and config.aws.max_wait_seconds < config.aws.max_run_seconds:
        raise ConfigError(
            f"aws.max_wait_seconds ({config.aws.max_wait_seconds}) must be at least "
            f"aws.max_run_seconds ({config.aws.max_run_seconds}) for spot training"
        )
    if config.aws.serverless_memory_mb % 1024:
        raise ConfigError(
            f"aws.serverless_memory_mb: {config.aws.serverless_memory_mb} is not allowed; "
            "use 1024, 2048, 3072, 4096, 5120 or 6144"
        )


def explain(config: Config) -> str:
    """Every key with its value and help text, section by section (``config``)."""
    lines = [f"# {config.source or 'defaults (no config file found)'}"]
    current = None
    for info in describe_fields():
        if info.section != current:
            lines.append(f"{info.section}:")
            current = info.section
        value = getattr(getattr(config, info.section), info.name)
        allowed = f" [{info.describe_allowed()}]" if info.describe_allowed() else ""
        lines.append(f"  {info.name}: {json.dumps(value, ensure_ascii=False)}  # {info.help}{allowed}")
    return "\n".join(lines)
