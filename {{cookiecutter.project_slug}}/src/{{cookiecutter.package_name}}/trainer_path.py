"""The transformers ``Trainer`` path (``--loop trainer``)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from transformers import EarlyStoppingCallback, Trainer, TrainerCallback, TrainingArguments

from .metrics import SCALARS, classification_metrics, metric_line
from .predict_local import best_device
from .train import collator_for, distributed_context, make_train_sampler, resolve_precision, total_optimizer_steps


def last_complete_checkpoint(folder: Path) -> str | None:
    """The newest checkpoint-N that was fully written (trainer_state.json is saved last).

    A run killed mid-save (spot interruption) leaves a partial newest folder; resuming from it would fail.
    """
    if not folder.is_dir():
        return None
    candidates = [p for p in folder.glob("checkpoint-*") if p.name.split("-")[-1].isdigit()]
    for candidate in sorted(candidates, key=lambda p: int(p.name.split("-")[-1]), reverse=True):
        if (candidate / "trainer_state.json").is_file() and any(candidate.glob("model*.safetensors")):
            return str(candidate)
    return None


class GroupedTrainer(Trainer):
    """Trainer whose training batches come from the project's length-grouped sampler."""

    project_sampler = None

    def _get_train_sampler(self, *args, **kwargs):  # signature differs across transformers versions
        return self.project_sampler if self.project_sampler is not None else super()._get_train_sampler(*args, **kwargs)


class MetricLineCallback(TrainerCallback):
    """Prints ``name=value;`` lines for SageMaker metric regexes and forwards logs to the tracker."""

    def __init__(self, tracker, emit):
        self.tracker, self.emit = tracker, emit

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not logs or not state.is_world_process_zero:
            return
        if "eval_loss" in logs:
            self.emit(f"epoch={logs.get('epoch', 0):.2f}; " + metric_line(
                {k.removeprefix("eval_"): v for k, v in logs.items()}, prefix="eval_"))
        elif "loss" in logs:
            rate = logs.get("learning_rate", 0)
            self.emit(f"step={state.global_step}; loss={logs['loss']:.4f}; learning_rate={rate:.3e};")
        self.tracker.log_metrics(logs, step=state.global_step)


def train_with_trainer(config, model, tokenizer, train_ds, val_ds, schema, tracker, emit):
    train = config.train
    device = best_device(train.use_cpu)
    precision = resolve_precision(train.precision, device)
    _, _, world_size = distributed_context()
    total_steps = total_optimizer_steps(len(train_ds), config, world_size)
    has_validation = len(val_ds) > 0
    save_strategy = "steps" if train.save_steps > 0 else "epoch"
    args = TrainingArguments(
        output_dir=str(config.path(train.checkpoint_dir)),
        num_train_epochs=train.epochs,
        max_steps=train.max_steps,
        per_device_train_batch_size=train.batch_size,
        per_device_eval_batch_size=train.eval_batch_size,
        gradient_accumulation_steps=train.gradient_accumulation_steps,
        learning_rate=train.learning_rate,
        weight_decay=train.weight_decay,
        warmup_steps=math.ceil(train.warmup_ratio * total_steps),
        max_grad_norm=train.max_grad_norm,
        eval_strategy=("steps" if train.save_steps > 0 else "epoch") if has_validation else "no",
        eval_steps=train.save_steps or None,
        save_strategy=save_strategy,
        save_steps=train.save_steps or 500,
        save_total_limit=2,
        load_best_model_at_end=has_validation,
        metric_for_best_model=train.metric_for_best_model if has_validation else None,
        greater_is_better=True,
        logging_steps=train.logging_steps,
        seed=train.seed,
        bf16=precision == "bf16",
        fp16=precision == "fp16",
        use_cpu=train.use_cpu or device.type == "cpu",
        dataloader_num_workers=train.num_workers,
        report_to=[],
        remove_unused_columns=False,
        disable_tqdm=False,
    )
    callbacks = [MetricLineCallback(tracker, emit)]
    if train.early_stopping_patience > 0 and has_validation:
        callbacks.append(EarlyStoppingCallback(early_stopping_patience=train.early_stopping_patience))

    def compute_metrics(prediction):
        logits = prediction.predictions[0] if isinstance(prediction.predictions, tuple) else prediction.predictions
        result = classification_metrics(prediction.label_ids, np.argmax(logits, axis=1), schema.names)
        return {name: result[name] for name in SCALARS}

    trainer = GroupedTrainer(
        model=model, args=args, train_dataset=train_ds, eval_dataset=val_ds if has_validation else None,
        data_collator=collator_for(tokenizer), processing_class=tokenizer,
        compute_metrics=compute_metrics, callbacks=callbacks,
    )
    if train.group_by_length:
        trainer.project_sampler = make_train_sampler(config, train_ds.lengths)
    last = last_complete_checkpoint(config.path(train.checkpoint_dir))
    if last:
        emit(f"resuming from checkpoint {last}")
    trainer.train(resume_from_checkpoint=last)
    return trainer.model, trainer.state.log_history
