"""The model artifact: the one contract between train, evaluate, serve and deploy.

Layout: config.json (with id2label), model.safetensors, tokenizer files, labels.json, metrics.json,
training_config.json, history.json (training log), README.md (model card).
"""

from __future__ import annotations

import json
from pathlib import Path

from .labels import LABELS_FILE, LabelSchema

METRICS_FILE = "metrics.json"
CONFIG_USED_FILE = "training_config.json"
HISTORY_FILE = "history.json"
REQUIRED_FILES = ("config.json", "model.safetensors", "tokenizer_config.json", LABELS_FILE)


class ArtifactError(ValueError):
    """A folder is not a complete model artifact."""


def write_json(path: Path, content) -> None:
    path.write_text(json.dumps(content, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def read_json(path: Path):
    return json.loads(path.read_text(encoding="utf-8"))


def save_artifact(output_dir: str | Path, model, tokenizer, schema: LabelSchema, metrics: dict,
                  config_used: dict, history: list[dict]) -> Path:
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    model = getattr(model, "module", model)  # unwrap DistributedDataParallel
    model.save_pretrained(output_dir, safe_serialization=True)
    tokenizer.save_pretrained(output_dir)
    schema.save(output_dir / LABELS_FILE)
    write_json(output_dir / METRICS_FILE, metrics)
    write_json(output_dir / CONFIG_USED_FILE, config_used)
    write_json(output_dir / HISTORY_FILE, history)
    (output_dir / "README.md").write_text(model_card(schema, metrics, config_used), encoding="utf-8")
    return output_dir


def check_artifact(model_dir: str | Path) -> Path:
    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        raise ArtifactError(f"model folder {model_dir} does not exist; run train first")
    missing = [name for name in REQUIRED_FILES if not (model_dir / name).is_file()]
    if missing:
        raise ArtifactError(f"model folder {model_dir} is missing {', '.join(missing)}")
    return model_dir


def model_card(schema: LabelSchema, metrics: dict, config_used: dict) -> str:
    model = config_used.get("model", {})
    train = config_used.get("train", {})
    lines = [
        "# Model card",
        "",
        f"Sequence classifier for labels: {', '.join(schema.names)}.",
        f"Base model: `{model.get('model', '?')}`, max_length {model.get('max_length', '?')}, "
        f"training loop `{train.get('loop', '?')}`, {train.get('epochs', '?')} epoch(s).",
        "",
        "| split | accuracy | macro-F1 | examples |",
        "|---|---|---|---|",
    ]
    for split in ("validation", "test"):
        if split in metrics:
            m = metrics[split]
            lines.append(f"| {split} | {m['accuracy']:.4f} | {m['macro_f1']:.4f} | {m['num_examples']} |")
    lines += ["", "Load with `AutoModelForSequenceClassification.from_pretrained` and `AutoTokenizer`;",
              "`labels.json` maps class ids to names.", ""]
    return "\n".join(lines)
