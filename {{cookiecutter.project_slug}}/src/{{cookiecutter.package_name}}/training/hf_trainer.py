"""The transformers ``Trainer`` loop (``--loop trainer``): same config, same artifact as the PyTorch loop.

Checkpoints: each epoch (or every train.save_steps), every train.checkpoint_every_minutes, and at the next optimizer
step after SIGINT or SIGTERM (StopOnSignal; interrupts.py). A resumed run continues mid-epoch with the Trainer's own
resume: ``resume_from_checkpoint`` skips the batches of the epoch already trained on (the length-grouped order
depends on the seed and the epoch only) and puts back each process's random states (``ignore_data_skip`` stays off).
"""

from __future__ import annotations

import math
from pathlib import Path

from transformers import EarlyStoppingCallback, Trainer, TrainerCallback, TrainingArguments
from transformers.trainer_callback import PrinterCallback, ProgressCallback

from .. import logs
from ..evaluation.metrics import metric_line, scalars, score_logits
from ..metric_registry import METRICS
from ..model.artifact import TRAINER_CHECKPOINT_PREFIX
from ..tasks import task_named
from .checkpoints import resumable_trainer_checkpoint, trainer_checkpoints
from .context import TrainingRun
from .distillation import distilled_loss
from .interrupts import TrainingInterrupted
from .row_log import take_row_ids
from .runtime import Ranks, barrier, collator_for, logging_interval, total_optimizer_steps, train_sampler


class GroupedTrainer(Trainer):
    """Trainer whose training batches come from the project's sampler (length-grouped, or shuffled by seed and
    epoch), and whose training loss is the task's, weighted by train.class_weights when they are set."""

    project_sampler = None
    task = None  # the project's Task: its loss takes the class weights
    class_weights = None  # float32 (num_outputs,) on the model's device, or None: the model's own loss
    teacher = None  # distillation.py's SoftTargets, or None: no teacher's targets in the loss

    def _get_train_sampler(self, *args, **kwargs):  # signature differs across transformers versions
        return self.project_sampler if self.project_sampler is not None else super()._get_train_sampler(*args, **kwargs)

    def compute_loss(self, model, inputs, *args, **kwargs):
        """The Trainer's loss (a scalar; with ``return_outputs``, (loss, outputs)), once the batch's row indices (the
        debug hook's, row_log.py, and the teacher's) are taken out. Training with class weights or a teacher: the
        task's loss mixed with the teacher's (distillation.py's ``distilled_loss``), as the torch loop computes it;
        evaluation keeps the model's unweighted loss."""
        rows = take_row_ids(inputs)
        if (self.class_weights is None and self.teacher is None) or not model.training:
            return super().compute_loss(model, inputs, *args, **kwargs)
        return_outputs = kwargs.get("return_outputs", args[0] if args else False)
        labels = inputs.pop("labels")
        outputs = model(**inputs)
        loss = distilled_loss(self.task, outputs.logits, labels, self.class_weights, self.teacher, rows)
        return (loss, outputs) if return_outputs else loss


class BarOnly(ProgressCallback):
    """The Trainer's progress bar without its own print of every log dict (MetricLines prints one line)."""

    def on_log(self, args, state, control, logs=None, **kwargs):
        """Print nothing: MetricLines prints the log lines; the bar alone shows progress."""
        pass


def one_line_per_log(trainer: Trainer) -> None:
    """Leave the console to MetricLines: the Trainer prints each log dict itself (PrinterCallback without a bar,
    ProgressCallback.on_log with one), which doubled every line (``step=50; loss=0.6109;`` and ``{'loss': ...}``).
    Its printer is removed; its bar, when drawn, stays without the print (BarOnly). Returns nothing."""
    trainer.remove_callback(PrinterCallback)
    if not trainer.args.disable_tqdm:
        trainer.remove_callback(ProgressCallback)
        trainer.add_callback(BarOnly())


class MetricLines(TrainerCallback):
    """One ``name=value;`` line per logging step (SageMaker's metric regexes read them) and the tracker."""

    def __init__(self, run: TrainingRun):
        self.run = run

    def on_log(self, args, state, control, logs=None, **kwargs):
        """The Trainer logged: print the evaluation's metric line or the training loss line (the main process only) and
        track it."""
        if not logs or not state.is_world_process_zero:
            return
        if "eval_loss" in logs:
            self.run.say(
                f"epoch={logs.get('epoch', 0):.2f}; "
                + metric_line({k.removeprefix("eval_"): v for k, v in logs.items()}, prefix="eval_")
            )
        elif "loss" in logs:
            rate = logs.get("learning_rate", 0)
            self.run.say(f"step={state.global_step}; loss={logs['loss']:.4f}; learning_rate={rate:.3e};")
        self.run.tracker.log_metrics(logs, step=state.global_step)


class SamplerEpoch(TrainerCallback):
    """Tells the project's sampler the epoch as each begins (its order depends on the seed and the epoch). The Trainer
    does so itself except in a run resumed mid-epoch under torchrun: accelerate's batch-skipping loader does not pass
    set_epoch on to the sampler inside its sharded batch sampler, and the resumed epoch replayed epoch 0's order."""

    def __init__(self, sampler):
        self.sampler = sampler

    def on_epoch_begin(self, args, state, control, **kwargs):
        """Set the sampler's epoch: the whole part of the Trainer's epoch count (1.16 when resumed mid-epoch 1)."""
        self.sampler.set_epoch(int(state.epoch or 0))
        return control


class StopOnSignal(TrainerCallback):
    """After each optimizer step, on every process: ask the Trainer for a checkpoint when a signal asked to stop or the
    time-based one is due (StopSignals.poll); once a signal's checkpoint is written, raise TrainingInterrupted, so the
    Trainer neither evaluates nor loads the best model on its way out."""

    def __init__(self, run: TrainingRun):
        self.run = run
        self.signum: int | None = None

    def on_step_end(self, args, state, control, **kwargs):
        """Poll the signals and the clock; a checkpoint at this step when either asks."""
        save, self.signum = self.run.stops.poll(args.device)
        if save:
            control.should_save = True
        return control

    def on_save(self, args, state, control, **kwargs):
        """A checkpoint was written: restart the clock; stop here when a signal asked. Raises TrainingInterrupted."""
        self.run.stops.saved()
        if self.signum is not None:
            folder = Path(args.output_dir) / f"{TRAINER_CHECKPOINT_PREFIX}{state.global_step}"
            raise TrainingInterrupted(self.signum, state.global_step, folder)
        return control


def training_arguments(run: TrainingRun) -> TrainingArguments:
    """The Trainer's arguments from the train section: steps, batches, schedule, evaluation and checkpoints (every
    epoch, or every save_steps), the best epoch by train.metric_for_best_model in the registry's direction, precision
    and device."""
    train = run.config.train
    total_steps = total_optimizer_steps(len(run.train_ds), train, run.ranks.world_size)
    has_validation = len(run.val_ds) > 0
    every_steps = train.save_steps > 0
    return TrainingArguments(
        output_dir=str(run.checkpoint_dir),
        num_train_epochs=train.epochs,
        max_steps=train.max_steps,
        per_device_train_batch_size=train.batch_size,
        per_device_eval_batch_size=train.eval_batch_size,
        gradient_accumulation_steps=train.gradient_accumulation_steps,
        learning_rate=train.learning_rate,
        weight_decay=train.weight_decay,
        warmup_steps=math.ceil(train.warmup_ratio * total_steps),
        max_grad_norm=train.max_grad_norm,
        eval_strategy=("steps" if every_steps else "epoch") if has_validation else "no",
        eval_steps=train.save_steps or None,
        save_strategy="steps" if every_steps else "epoch",
        save_steps=train.save_steps or 500,
        save_total_limit=2,
        save_on_each_node=True,  # every node resumes from its own disk
        load_best_model_at_end=has_validation,
        metric_for_best_model=train.metric_for_best_model if has_validation else None,
        greater_is_better=METRICS[train.metric_for_best_model].higher_is_better,
        logging_steps=logging_interval(len(run.train_ds), train, run.ranks.world_size),
        seed=train.seed,
        bf16=run.precision == "bf16",
        fp16=run.precision == "fp16",
        use_cpu=run.device.type == "cpu",
        dataloader_num_workers=train.num_workers,
        report_to=[],
        remove_unused_columns=False,
        disable_tqdm=not logs.bars(not run.say.quiet),
    )


def train_with_trainer(run: TrainingRun):
    """Train with the transformers Trainer (length-grouped batches, early stopping when configured), resuming from the
    last usable checkpoint. Returns (the model with the best epoch's weights, the Trainer's log history)."""
    train = run.config.train
    args = training_arguments(run)
    has_validation = len(run.val_ds) > 0
    callbacks = [MetricLines(run), StopOnSignal(run)]
    if train.early_stopping_patience > 0 and has_validation:
        callbacks.append(EarlyStoppingCallback(early_stopping_patience=train.early_stopping_patience))

    def compute_metrics(prediction):
        logits = prediction.predictions[0] if isinstance(prediction.predictions, tuple) else prediction.predictions
        return scalars(score_logits(prediction.label_ids, logits, run.schema.names, task=task_named(run.schema.task)))

    trainer = GroupedTrainer(
        model=run.model,
        args=args,
        train_dataset=run.train_ds,
        eval_dataset=run.val_ds if has_validation else None,
        data_collator=collator_for(run.tokenizer),
        processing_class=run.tokenizer,
        compute_metrics=compute_metrics,
        callbacks=callbacks,
    )
    one_line_per_log(trainer)
    trainer.task, trainer.class_weights = task_named(run.schema.task), run.loss_weights()
    trainer.teacher = run.teacher.on(run.device)
    # length-grouped or shuffled, one global order: under torchrun the Trainer's accelerate dataloader shards its
    # batches across ranks
    trainer.project_sampler = train_sampler(train, run.train_ds.lengths, Ranks())
    trainer.add_callback(SamplerEpoch(trainer.project_sampler))
    if run.ranks.local_rank == 0:
        resumable_trainer_checkpoint(run.checkpoint_dir, run.say.always)  # sets broken ones aside
    barrier()
    last = next(iter(trainer_checkpoints(run.checkpoint_dir)), None)
    if last:
        run.say(f"resuming from checkpoint {last}")
    trainer.train(resume_from_checkpoint=str(last) if last else None)
    return trainer.model, trainer.state.log_history
