"""Training entry point: locally, under torchrun, and inside a SageMaker training container.

SageMaker contract: SM_MODEL_DIR receives the artifact, SM_CHANNEL_TRAIN / SM_CHANNEL_TEST hold the data,
SM_OUTPUT_DATA_DIR receives plots and reports, checkpoints go to /opt/ml/checkpoints (synced to S3, so a
spot interruption resumes). Hyperparameters arrive as ``--name value``. This module never imports the
``sagemaker`` SDK: it runs inside the Hugging Face training container as it is.

    python -m PACKAGE.train --config config.yaml --loop torch --epochs 1
    torchrun --nproc_per_node 2 -m PACKAGE.train --max_steps 10
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DistributedSampler, RandomSampler

from .artifact import save_artifact
from .config import Config, ConfigError, field_index, load_config, parse_assignments
from .data import DataError, data_file, load_schema, load_splits
from .features import DynamicPaddingCollator, LengthGroupedSampler, build_dataset
from .labels import LabelSchema
from .metrics import classification_metrics, metric_line
from .modeling import ModelSourceError, default_learning_rate, is_scratch, load_model, shared_scratch_tokenizer
from .predict_local import best_device, predict_dataset
from .tracking import Tracker

log = logging.getLogger(__name__)
SAGEMAKER_CHECKPOINT_DIR = "/opt/ml/checkpoints"


def distributed_context() -> tuple[int, int, int]:
    """(rank, local_rank, world_size) from torchrun's environment; (0, 0, 1) otherwise."""
    return (int(os.environ.get("RANK", 0)), int(os.environ.get("LOCAL_RANK", 0)),
            int(os.environ.get("WORLD_SIZE", 1)))


def is_main_process() -> bool:
    return distributed_context()[0] == 0


def init_distributed(use_cpu: bool) -> None:
    """Join the torchrun process group (gloo on CPU, nccl on GPU); nothing to do in a single process."""
    import torch.distributed as dist

    if distributed_context()[2] > 1 and not dist.is_initialized():
        dist.init_process_group(backend="nccl" if torch.cuda.is_available() and not use_cpu else "gloo")


def barrier() -> None:
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.barrier()


def apply_sagemaker_environment(config: Config, explicit: set[str]) -> dict[str, str | None]:
    """Point outputs at the SageMaker folders when running in a training container."""
    env = os.environ
    if "SM_MODEL_DIR" in env and "output_dir" not in explicit:
        config.train.output_dir = env["SM_MODEL_DIR"]
    if "SM_MODEL_DIR" in env and "checkpoint_dir" not in explicit:
        config.train.checkpoint_dir = SAGEMAKER_CHECKPOINT_DIR
    return {"train": env.get("SM_CHANNEL_TRAIN"), "test": env.get("SM_CHANNEL_TEST"),
            "output_data": env.get("SM_OUTPUT_DATA_DIR")}


def resolve_precision(precision: str, device: torch.device) -> str:
    if precision not in ("auto", "fp32", "fp16", "bf16"):
        raise ConfigError(f"precision must be auto, fp32, fp16 or bf16; got {precision!r}")
    if device.type != "cuda":
        return "fp32"
    if precision == "auto":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    return precision


def set_seed(seed: int) -> None:
    import random

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.cuda.manual_seed_all(seed)


def emit(line: str) -> None:
    """Metric lines go to stdout, unbuffered, for SageMaker's metric regexes and for people."""
    if is_main_process():
        print(line, flush=True)


def run_training(config: Config, channels: dict[str, str | None] | None = None) -> dict:
    """Load data, build/load the model, train with the configured loop, evaluate, write the artifact."""
    channels = channels or {}
    set_seed(config.train.seed)
    init_distributed(config.train.use_cpu)
    if config.train.learning_rate <= 0:
        config.train.learning_rate = default_learning_rate(config.model.model)
    schema = load_schema(config)
    train_path = data_file(config, config.data.train_file, channels.get("train"))
    test_name = config.data.test_file
    test_path = data_file(config, test_name, channels.get("test")) if test_name else None
    if test_path is not None and not test_path.exists() and not channels.get("test"):
        emit(f"no test file at {test_path}: the model is evaluated on the validation split only")
        test_path = None
    splits = load_splits(config, schema, train_path, test_path)
    for report in splits.reports.values():
        emit(report.summary())
    emit(f"split: train={len(splits.train)} validation={len(splits.validation)} test={len(splits.test)}")

    texts = [r.text for r in splits.train]
    tokenizer = None
    if is_scratch(config.model.model):
        folder = config.path(config.train.checkpoint_dir) / "scratch-tokenizer"
        tokenizer = shared_scratch_tokenizer(config.model.model, texts, folder, is_main_process(), barrier)
    tokenizer, model = load_model(config.model.model, schema, config.model.max_length, texts, tokenizer)
    cache_dir = config.path(config.model.cache_dir)
    show = is_main_process()
    train_ds = build_dataset(tokenizer, splits.train, config.model.max_length, cache_dir, show)
    val_ds = build_dataset(tokenizer, splits.validation, config.model.max_length, cache_dir, show)
    test_ds = build_dataset(tokenizer, splits.test, config.model.max_length, cache_dir, show)

    started = time.perf_counter()
    with Tracker(config.tracking.tracking, config.tracking.tracking_uri, config.tracking.experiment_name,
                 is_main_process=is_main_process()) as tracker:
        tracker.log_params({k: v for section in config.to_dict().values() for k, v in section.items()})
        if config.train.loop == "trainer":
            from .trainer_path import train_with_trainer

            model, history = train_with_trainer(config, model, tokenizer, train_ds, val_ds, schema, tracker, emit)
        elif config.train.loop == "torch":
            from .loop import train_with_torch_loop

            model, history = train_with_torch_loop(config, model, tokenizer, train_ds, val_ds, schema, tracker, emit)
        else:
            raise ConfigError(f"loop must be 'trainer' or 'torch', got {config.train.loop!r}")
        train_seconds = time.perf_counter() - started
        if not is_main_process():
            return {}
        metrics: dict = {"train_seconds": round(train_seconds, 2), "train_examples": len(train_ds)}
        device = best_device(config.train.use_cpu)
        model = getattr(model, "module", model).to(device)
        for split, dataset in (("validation", val_ds), ("test", test_ds)):
            if len(dataset) == 0:
                continue
            logits, loss = predict_dataset(model, dataset, config.train.eval_batch_size, tokenizer.pad_token_id, device)
            result = classification_metrics(dataset.labels, logits.argmax(axis=1).tolist(), schema.names)
            result["loss"] = loss
            metrics[split] = result
            emit(metric_line(result, prefix=f"{split}_"))
            tracker.log_metrics({f"{split}_{k}": v for k, v in result.items() if isinstance(v, float)})
        output_dir = config.path(config.train.output_dir)
        save_artifact(output_dir, model, tokenizer, schema, metrics, config.to_dict(), history)
        emit(f"model artifact written to {output_dir}")
        clear_checkpoints(config.path(config.train.checkpoint_dir))
        if channels.get("output_data"):
            write_reports(output_dir, Path(channels["output_data"]), metrics, history, schema)
        tracker.log_artifact(str(output_dir / "metrics.json"))
    return metrics


def clear_checkpoints(folder: Path) -> None:
    """A finished run's checkpoints go once its artifact is safe, so the next `train` starts fresh
    instead of resuming a run that already ended. Only files this project writes are removed."""
    import shutil

    from .loop import CHECKPOINT_NAME

    for path in [folder / CHECKPOINT_NAME, folder / "scratch-tokenizer", *folder.glob("checkpoint-*")]:
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        elif path.exists():
            path.unlink()


def write_reports(model_dir: Path, out_dir: Path, metrics: dict, history: list[dict], schema: LabelSchema) -> None:
    """Plots and the report next to the artifact's outputs (SageMaker's output data folder)."""
    from .plots import plot_confusion_matrix, plot_learning_curves

    out_dir.mkdir(parents=True, exist_ok=True)
    for split in ("validation", "test"):
        if split in metrics:
            plot_confusion_matrix(metrics[split]["confusion_matrix"], list(schema.names),
                                  out_dir / f"confusion_matrix_{split}.png", title=f"{split} confusion matrix")
    plot_learning_curves(history, out_dir / "learning_curves.png")
    (out_dir / "metrics.json").write_text(json.dumps(metrics, ensure_ascii=False, indent=2), encoding="utf-8")


def total_optimizer_steps(num_examples: int, config: Config, world_size: int) -> int:
    per_step = config.train.batch_size * config.train.gradient_accumulation_steps * world_size
    steps_per_epoch = max(1, math.ceil(num_examples / per_step))
    if config.train.max_steps > 0:
        return config.train.max_steps
    return max(1, math.ceil(steps_per_epoch * config.train.epochs))


def make_train_sampler(config: Config, lengths: list[int], num_replicas: int = 1, rank: int = 0):
    if config.train.group_by_length:
        return LengthGroupedSampler(lengths, config.train.batch_size, config.train.seed,
                                    num_replicas=num_replicas, rank=rank)
    if num_replicas > 1:
        return DistributedSampler(range(len(lengths)), num_replicas, rank, shuffle=True, seed=config.train.seed)
    return RandomSampler(range(len(lengths)), generator=torch.Generator().manual_seed(config.train.seed))


def collator_for(tokenizer) -> DynamicPaddingCollator:
    return DynamicPaddingCollator(tokenizer.pad_token_id)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="Train a text classifier (local, torchrun or SageMaker).")
    parser.add_argument("--config", default=None, help="config.yaml (default: found upwards from here)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="any config override")
    for name in sorted(field_index()):
        parser.add_argument(f"--{name}", dest=f"hp_{name}", default=None, metavar="VALUE")
    return parser


def config_from_args(argv: list[str] | None) -> tuple[Config, set[str]]:
    args = build_parser().parse_args(argv)
    overrides = {key.removeprefix("hp_"): value for key, value in vars(args).items()
                 if key.startswith("hp_") and value is not None}
    overrides.update(parse_assignments(args.set))
    config_path = args.config
    if config_path is None and "SM_MODEL_DIR" in os.environ:
        staged = Path(__file__).resolve().parent.parent / "config.yaml"  # staged next to the package by launch
        config_path = str(staged) if staged.is_file() else None
    config = load_config(config_path, overrides)
    return config, {key.split(".")[-1] for key in overrides}


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        config, explicit = config_from_args(argv)
        channels = apply_sagemaker_environment(config, explicit)
        run_training(config, channels)
    except (ConfigError, DataError, FileNotFoundError, ModelSourceError) as error:
        print(f"error: {error}", file=sys.stderr, flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
