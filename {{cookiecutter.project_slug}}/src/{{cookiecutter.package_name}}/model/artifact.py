"""The model artifact: the one contract between train, evaluate, serve and deploy.

Every file and folder name of the artifact and of the training checkpoints is defined here, and only here, but
for the few the inference container reads too: artifact_files.py defines those (shipped beside the handler) and
they are imported here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import answers
from ..answers import HEADS, calibration_content, thresholds_content
from ..artifact_files import (
    CALIBRATION_FILE,
    INT8_MODEL_FILE,
    METRICS_FILE,
    MODEL_CONFIG_FILE,
    NGRAM_WEIGHTS_FILE,
    NO_MODEL_MAX_LENGTH,
    THRESHOLDS_FILE,
    TRAINING_CONFIG_FILE,
)
from ..artifact_files import INT8_DIR as INT8_DIR  # these names are defined once there (the container reads them)
from ..artifact_files import INT8_RECORD as INT8_RECORD  # metrics.json's key of the int8 check (defined there)
from ..config import LABELS_FILE
from ..data.labels import LabelSchema
from ..errors import ArtifactError
from ..metric_registry import METRICS, SINGLE_LABEL
from ..tasks import task_named

# The artifact (what `train` writes and `deploy` packs)
WEIGHTS_FILE = "model.safetensors"
TOKENIZER_FILE = "tokenizer.json"
TOKENIZER_CONFIG_FILE = "tokenizer_config.json"
HISTORY_FILE = "history.json"
MODEL_CARD_FILE = "README.md"
RESULTS_DIR = "evaluation"  # the model's results folder (evaluation/reports.py writes it)
REQUIRED_FILES = (MODEL_CONFIG_FILE, WEIGHTS_FILE, TOKENIZER_CONFIG_FILE, LABELS_FILE)
NGRAM_REQUIRED_FILES = (NGRAM_WEIGHTS_FILE, LABELS_FILE)

# Training checkpoints (under train.checkpoint_dir)
TRAINER_CHECKPOINT_PREFIX = "checkpoint-"  # the transformers Trainer's own folder naming
TRAINER_STATE_FILE = "trainer_state.json"
TORCH_LOOP_CHECKPOINT = "torch-loop-last.pt"
SCRATCH_TOKENIZER_DIR = "scratch-tokenizer"
CHECKPOINT_TOKENIZER_FILE = "tokenizer-fingerprint.txt"
CHECKPOINT_SETTINGS_FILE = "run-settings.json"  # the settings of the run the checkpoints belong to


def write_json(path: Path, content: Any) -> None:
    """Write ``content`` as indented UTF-8 JSON (Korean as characters) with a final newline."""
    path.write_text(json.dumps(content, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def read_json(path: Path) -> Any:
    """The JSON content of ``path``. Raises OSError or ValueError (json) as json.loads does."""
    return json.loads(path.read_text(encoding="utf-8"))


def save_artifact(
    output_dir: str | Path,
    model,
    tokenizer,
    schema: LabelSchema,
    metrics: dict,
    config_used: dict,
    history: list[dict],
    thresholds: list[float] | None = None,
    temperatures: list[float] | None = None,
    min_confidence: float = 0.0,
) -> Path:
    """Write the artifact into ``output_dir``: weights (safetensors), tokenizer (model_max_length = the training
    max_length), labels.json, metrics.json, training_config.json (``config_used``), history.json, the model card,
    multi-label thresholds.json (``thresholds``: one a label) and, for a calibrated task, calibration.json
    (``temperatures``, and ``min_confidence``: below it a single-label answer is UNSURE). A DistributedDataParallel
    model is unwrapped. Returns the folder."""
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    model = getattr(model, "module", model)  # unwrap DistributedDataParallel
    model.save_pretrained(output_dir, safe_serialization=True)
    tokenizer.save_pretrained(output_dir)
    schema.save(output_dir / LABELS_FILE)
    write_json(output_dir / METRICS_FILE, metrics)
    write_json(output_dir / TRAINING_CONFIG_FILE, config_used)
    write_json(output_dir / HISTORY_FILE, history)
    if thresholds is not None:
        write_thresholds(output_dir, schema, thresholds)
    (output_dir / CALIBRATION_FILE).unlink(missing_ok=True)  # a folder trained into again: no stale temperatures
    if temperatures is not None:
        write_json(output_dir / CALIBRATION_FILE, calibration_content(temperatures, min_confidence))
    (output_dir / MODEL_CARD_FILE).write_text(model_card(schema, metrics, config_used), encoding="utf-8")
    return output_dir


def write_thresholds(model_dir: Path, schema: LabelSchema, thresholds: list[float]) -> None:
    """thresholds.json: each label's decision threshold by name (answers.thresholds_content; the handler reads it
    with answers.read_thresholds)."""
    write_json(Path(model_dir) / THRESHOLDS_FILE, thresholds_content(list(schema.names), thresholds))


def read_thresholds(model_dir: str | Path, schema: LabelSchema) -> list[float] | None:
    """A thresholded task's decision thresholds in class-id order (answers.read_thresholds: the handler's rule);
    None for a task without them. Raises ArtifactError for a file that is not thresholds."""
    try:
        return answers.read_thresholds(model_dir, list(schema.names), HEADS[schema.task])
    except ValueError as error:
        raise ArtifactError(str(error)) from None


def read_temperatures(model_dir: str | Path, schema: LabelSchema) -> list[float] | None:
    """The temperatures that calibrate the artifact's scores (answers.read_temperatures: the handler's rule); None
    without calibration.json (an artifact written before calibration, served as it always was) or for a task that
    is not calibrated. Raises ArtifactError for a file that is not a calibration."""
    head = HEADS[schema.task]
    try:
        return answers.read_temperatures(model_dir, head.output_size(list(schema.names)), head)
    except ValueError as error:
        raise ArtifactError(str(error)) from None


def is_ngram(model_dir: str | Path) -> bool:
    """Whether ``model_dir`` serves an n-gram model alone: the baseline's artifact, or train's when it shipped the
    n-gram model (answers.read_transformer_weight 0; an unreadable ensemble.json counts as not)."""
    try:
        return answers.read_transformer_weight(model_dir) == 0
    except ValueError:
        return False


def check_artifact(model_dir: str | Path, transformer_only: bool = False) -> Path:
    """``model_dir`` as a Path once it holds every file a model needs: a transformer's, or an n-gram model's alone
    (``transformer_only``: that is refused too, for what only a transformer can do). Raises ArtifactError naming
    what is missing and how to get it."""
    model_dir = Path(model_dir)
    if model_dir.is_file():
        raise ArtifactError(f"{model_dir} is a file, not a model folder: give the folder that holds it")
    if not model_dir.is_dir():
        raise ArtifactError(f"model folder {model_dir} does not exist; run train first")
    if is_ngram(model_dir) and transformer_only:
        raise ArtifactError(
            f"{model_dir} holds an n-gram model (the baseline's artifact), not a transformer; use train's artifact"
        )
    required = NGRAM_REQUIRED_FILES if is_ngram(model_dir) else REQUIRED_FILES
    missing = [name for name in required if not (model_dir / name).is_file()]
    if missing and not (model_dir / MODEL_CONFIG_FILE).is_file() and (model_dir / LABELS_FILE).is_file():
        raise ArtifactError(
            f"model folder {model_dir} holds neither a transformer ({MODEL_CONFIG_FILE}, weights, tokenizer) nor an "
            f"n-gram model ({NGRAM_WEIGHTS_FILE}): run train or baseline into it"
        )
    if missing:
        inside = [path for path in sorted(model_dir.iterdir()) if (path / LABELS_FILE).is_file()]
        hint = f"; a model folder is inside it: {inside[0]}" if inside else ""
        raise ArtifactError(f"model folder {model_dir} is missing {', '.join(missing)}{hint}")
    return model_dir


def read_metrics(model_dir: Path) -> dict:
    """The metrics training recorded in an artifact (metrics.json: each split's scores, the int8 check), or {} for
    a folder without the file. Raises OSError or ValueError (json) for a file that cannot be read as JSON."""
    path = Path(model_dir) / METRICS_FILE
    recorded = read_json(path) if path.is_file() else {}
    return recorded if isinstance(recorded, dict) else {}


def int8_verdict(model_dir: Path) -> str | None:
    """Why int8 must not serve this artifact (None: it may), from the check train recorded."""
    metrics = read_metrics(model_dir)
    record = metrics.get(INT8_RECORD)
    if record is None:
        return f"{model_dir} records no int8 accuracy check (train again to make one, or use --precision fp32)"
    if not record["allowed"]:
        if "fp32_accuracy" in record:  # a single-label record written before tasks were objects
            measured, figures = "accuracy ", f"{record['fp32_accuracy']:.4f} -> {record['int8_accuracy']:.4f}"
        else:  # the drop is in the task's decisions (multi-label: (row, label) ones); the figures its metric's
            measured = "decisions "
            figures = f"{record['metric']} {record['fp32_score']:.4f} -> {record['int8_score']:.4f}"
        return (
            f"int8 loses {100 * record['drop']:.2f} points of validation {measured}on this model "
            f"({figures}), more than the "
            f"{100 * record['max_drop']:.2f} allowed (model.int8_max_drop"
            + (f"; {record['rule']}" if record.get("rule") else "")
            + "): use --precision fp32"
        )
    if not (model_dir / INT8_MODEL_FILE).is_file():
        return f"{model_dir} has no {INT8_MODEL_FILE} (train again to make it, or use --precision fp32)"
    return None


def read_history(model_dir: Path) -> list[dict]:
    """The training log an artifact keeps (history.json), or [] without one."""
    path = Path(model_dir) / HISTORY_FILE
    return read_json(path) if path.is_file() else []


def inference_max_length(tokenizer, model_config) -> int:
    """The length the model was trained with: the tokenizer's limit, else the model's position table."""
    if tokenizer.model_max_length < NO_MODEL_MAX_LENGTH:
        return int(tokenizer.model_max_length)
    return int(getattr(model_config, "max_position_embeddings", 512))


@dataclass
class LoadedArtifact:
    """An artifact ready to classify: network (eval mode, on ``device``), tokenizer, schema, length limit (what
    load_for_inference returns; the handler's LoadedModel is the served model)."""

    model: Any
    tokenizer: Any
    schema: LabelSchema
    max_length: int
    device: Any


def load_for_inference(model_dir: str | Path, device=None) -> LoadedArtifact:
    """A trained transformer ready to predict on ``device`` (default: the best available): the eval-mode model, its
    tokenizer, schema and the max_length it was trained with. Raises ArtifactError for an incomplete folder."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    model_dir = check_artifact(model_dir, transformer_only=True)
    device = device or torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        tokenizer = AutoTokenizer.from_pretrained(model_dir)
        model = AutoModelForSequenceClassification.from_pretrained(model_dir).to(device).eval()
    except (OSError, ValueError) as error:
        raise ArtifactError(f"cannot load the model in {model_dir}: {error.__class__.__name__}: {error}") from None
    schema = LabelSchema.load(model_dir / LABELS_FILE)
    return LoadedArtifact(model, tokenizer, schema, inference_max_length(tokenizer, model.config), device)


HUB_LICENSES = {"Apache-2.0": "apache-2.0", "MIT": "mit", "BSD-3-Clause": "bsd-3-clause"}  # others: "other"


def card_metadata(metrics: dict, config_used: dict, task: str = SINGLE_LABEL) -> dict:
    """The Hugging Face Hub's model card header: language, license, pipeline tag, dataset, base model, and the
    final split's value of every registered metric (metric_registry.METRICS; its name is the result's type) as a
    model-index result (what the Hub shows and huggingface_hub.ModelCard parses); ``task``'s metrics only."""
    from .. import DATASET_NAME, LICENSE, PROJECT_NAME

    base_model = config_used.get("model", {}).get("base_model", "")
    split = "test" if "test" in metrics else "validation" if "validation" in metrics else None
    header = {
        "language": ["ko"],
        "license": HUB_LICENSES.get(LICENSE, "other"),
        "library_name": "transformers",
        "pipeline_tag": "text-classification",
        "datasets": [DATASET_NAME],
        "metrics": list(task_named(task).metric_names),
    }
    if "/" in base_model and not base_model.startswith((".", "/", "~", "scratch:")):
        header["base_model"] = base_model
    if split:
        values = [
            {"type": name, "name": metric.title, "value": round(float(metrics[split][name]), 4)}
            for name, metric in METRICS.items()
            if name in metrics[split]
        ]
        result = {
            "task": {"type": "text-classification", "name": "Text Classification"},
            "dataset": {"type": DATASET_NAME, "name": DATASET_NAME, "split": split},
            "metrics": values,
        }
        header["model-index"] = [{"name": PROJECT_NAME, "results": [result]}]
    return header


def model_card(schema: LabelSchema, metrics: dict, config_used: dict) -> str:
    """The artifact's README.md: the Hub metadata header (YAML between --- lines: card_metadata), then labels,
    base model, max_length, loop and epochs, and a table of every registered metric (metric_registry.METRICS) on
    the validation and test splits."""
    import yaml

    model = config_used.get("model", {})
    train = config_used.get("train", {})
    header = yaml.safe_dump(card_metadata(metrics, config_used, schema.task), allow_unicode=True, sort_keys=False)
    shown = {name: METRICS[name] for name in task_named(schema.task).metric_names}
    lines = [
        "---",
        header.rstrip("\n"),
        "---",
        "",
        "# Model card",
        "",
        task_named(schema.task).card_line(list(schema.names)),
        f"Base model: `{model.get('base_model', '?')}`, max_length {model.get('max_length', '?')}, "
        f"training loop `{train.get('loop', '?')}`, {train.get('epochs', '?')} epoch(s).",
        "",
        "| split | " + " | ".join(metric.title for metric in shown.values()) + " | examples |",
        "|---" * (len(shown) + 2) + "|",
    ]
    for split in ("validation", "test"):
        if split in metrics:
            m = metrics[split]
            values = " | ".join(f"{m[name]:.4f}" if name in m else "-" for name in shown)
            lines.append(f"| {split} | {values} | {m['num_examples']} |")
    lines += [
        "",
        "Load with `AutoModelForSequenceClassification.from_pretrained` and `AutoTokenizer`;",
        f"`{LABELS_FILE}` holds the label names in output order and the task.",
        "",
    ]
    return "\n".join(lines)
