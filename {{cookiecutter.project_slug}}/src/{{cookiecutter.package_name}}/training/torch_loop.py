"""The plain PyTorch loop (``--loop torch``): same config, same artifact as the Trainer loop.

AdamW with linear warmup/decay, gradient accumulation, clipping, AMP on CUDA (bf16 where supported, else
fp16 with a grad scaler), a seed, evaluation each epoch with best-model keeping, early stopping, and
checkpoints (tensors and plain data only) that a restarted run, say after a spot interruption, resumes from: each
epoch, every train.save_steps, every train.checkpoint_every_minutes, and at the next optimizer step after SIGINT or
SIGTERM (interrupts.py). A checkpoint records the epoch and the batches of it done; the resumed run skips that many
batches of the same seeded order and puts the random generators back where they were before the next one.
"""

from __future__ import annotations

import math
import random
from contextlib import nullcontext
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader
from tqdm.auto import tqdm
from transformers import get_linear_schedule_with_warmup

from .. import logs
from ..evaluation.evaluate import evaluate_dataset
from ..evaluation.metrics import metric_line, scalars
from ..metric_registry import is_better
from ..model.artifact import TORCH_LOOP_CHECKPOINT
from ..tasks import task_named
from .checkpoints import load_on_every_process, restore_training_state, save_torch_checkpoint
from .context import TrainingRun
from .distillation import distilled_loss
from .interrupts import TrainingInterrupted
from .row_log import take_row_ids
from .runtime import barrier, collator_for, logging_interval, total_optimizer_steps, train_sampler

NO_DECAY = ("bias", "LayerNorm.weight", "layer_norm.weight")


def optimizer_and_schedule(model, train, learning_rate: float, total_steps: int) -> tuple:
    """AdamW at ``learning_rate`` with train.weight_decay on every trained parameter but biases and layer norms (the
    Trainer's grouping, NO_DECAY), and transformers' linear schedule: train.warmup_ratio of ``total_steps`` warming
    up, then down to 0 at ``total_steps``. Returns (optimizer, scheduler)."""
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(
        [
            {"params": [p for n, p in named if not n.endswith(NO_DECAY)], "weight_decay": train.weight_decay},
            {"params": [p for n, p in named if n.endswith(NO_DECAY)], "weight_decay": 0.0},
        ],
        lr=learning_rate,
    )
    scheduler = get_linear_schedule_with_warmup(optimizer, math.ceil(train.warmup_ratio * total_steps), total_steps)
    return optimizer, scheduler


def rng_state() -> dict:
    """Every random generator's state as tensors and plain numbers (loadable with weights_only=True)."""
    name, keys, position, has_gauss, cached = np.random.get_state()
    return {
        "python": random.getstate(),
        "torch": torch.get_rng_state(),
        "numpy": {
            "name": name,
            "keys": torch.from_numpy(keys.astype(np.int64)),
            "position": int(position),
            "has_gauss": int(has_gauss),
            "cached": float(cached),
        },
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }


def restore_rng(state: dict) -> None:
    """Put Python's, torch's, NumPy's (and CUDA's, when saved) random states back from a checkpoint's ``state``."""
    random.setstate(state["python"])
    torch.set_rng_state(state["torch"])
    numpy = state["numpy"]
    np.random.set_state(
        (numpy["name"], numpy["keys"].numpy().astype(np.uint32), numpy["position"], numpy["has_gauss"], numpy["cached"])
    )
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def fresh_state() -> dict:
    """The progress of a run that has not started: step, epoch, batches done, history, and the best metric (-inf:
    none yet; metric_registry.is_better) with its epoch."""
    return {
        "global_step": 0,
        "epoch": 0,
        "batches_done": 0,
        "best_metric": -math.inf,
        "best_epoch": -1,
        "epochs_without_improvement": 0,
        "history": [],
    }


class TorchLoop:
    """The plain PyTorch loop: AdamW with linear warm-up and decay, gradient accumulation, mixed precision on CUDA, DDP
    under torchrun, evaluation each epoch keeping the best weights, checkpoints to resume from."""

    def __init__(self, run: TrainingRun):
        self.run, self.train = run, run.config.train
        self.device = run.device
        if self.device.type == "cuda":
            torch.cuda.set_device(self.device)
        self.amp_dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(run.precision)
        self.scaler = torch.amp.GradScaler("cuda", enabled=run.precision == "fp16")
        self.core = run.model.to(self.device)
        self.model = self.core
        if run.ranks.distributed:
            ids = [run.ranks.local_rank] if self.device.type == "cuda" else None
            self.model = DistributedDataParallel(self.core, device_ids=ids)
        self.sampler = train_sampler(self.train, run.train_ds.lengths, run.ranks)
        self.loader = DataLoader(
            run.train_ds,
            batch_size=self.train.batch_size,
            sampler=self.sampler,
            collate_fn=collator_for(run.tokenizer),
            num_workers=self.train.num_workers,
            pin_memory=self.device.type == "cuda",
        )
        self.total_steps = total_optimizer_steps(len(run.train_ds), self.train, run.ranks.world_size)
        self.steps_per_epoch = max(1, math.ceil(len(self.loader) / self.train.gradient_accumulation_steps))
        self.logging_steps = logging_interval(len(run.train_ds), self.train, run.ranks.world_size)
        self.optimizer, self.scheduler = optimizer_and_schedule(
            self.core, self.train, self.train.learning_rate, self.total_steps
        )
        self.state = fresh_state()
        self.best_weights: dict | None = None
        self.pending_rng: dict | None = None  # a mid-epoch checkpoint's random states, put back after the skip
        self.saved_step = -1  # the step of the last checkpoint written
        self.running_loss, self.running_count = 0.0, 0
        self.task, self.class_weights = task_named(run.schema.task), run.loss_weights()
        self.teacher = run.teacher.on(self.device)

    def resume(self) -> None:
        """Continue from the last usable checkpoint when there is one (local rank 0 reads it and sets broken files
        aside; every process loads the same state)."""
        folder, first = self.run.checkpoint_dir, self.run.ranks.local_rank == 0
        found = load_on_every_process(folder, first, self.run.say.always)
        if found is None:
            return
        saved, path = found
        parts = {"model": self.core, "optimizer": self.optimizer, "scheduler": self.scheduler, "scaler": self.scaler}
        self.state, self.best_weights = restore_training_state(saved, parts), saved.get("best_weights")
        self.saved_step = self.state["global_step"]
        if self.state["batches_done"]:  # mid-epoch: after the batches already trained on are skipped
            self.pending_rng = saved["rng"]
        else:
            restore_rng(saved["rng"])
        self.run.say(
            f"resuming from checkpoint {path} at step {self.state['global_step']} "
            f"(epoch {self.state['epoch']}, batch {self.state['batches_done']})"
        )

    def checkpoint(self) -> Path:
        """Save weights, optimizer, scheduler, scaler, random states and progress (local rank 0 on each node: every node
        resumes from its own disk). Returns the checkpoint file's path."""
        path = self.run.checkpoint_dir / TORCH_LOOP_CHECKPOINT
        if self.run.ranks.local_rank == 0:  # every node keeps its own copy on its own disk
            path = save_torch_checkpoint(
                self.run.checkpoint_dir,
                {
                    "model": self.core.state_dict(),
                    "optimizer": self.optimizer.state_dict(),
                    "scheduler": self.scheduler.state_dict(),
                    "scaler": self.scaler.state_dict(),
                    "rng": rng_state(),
                    "state": self.state,
                    "best_weights": self.best_weights,
                },
            )
        barrier()
        self.saved_step = self.state["global_step"]
        self.run.stops.saved()
        return path

    def batch_loss(self, batch: dict, rows=None):
        """The training loss (a scalar) of one batch on the device: the model's own, or with class weights or a
        teacher the task's loss mixed with the teacher's (distillation.py's ``distilled_loss``; ``rows``: the batch's
        row indices), as the Trainer computes it."""
        if self.class_weights is None and self.teacher is None:
            return self.model(**batch).loss
        labels = batch.pop("labels")
        logits = self.model(**batch).logits
        return distilled_loss(self.task, logits, labels, self.class_weights, self.teacher, rows)

    def forward_backward(self, batch: dict, boundary: bool) -> None:
        """Forward and backward pass of one batch, the loss divided by the accumulation steps; DDP syncs gradients only
        at an accumulation ``boundary``."""
        rows = take_row_ids(batch)
        batch = {k: v.to(self.device, non_blocking=True) for k, v in batch.items()}
        accumulation = self.train.gradient_accumulation_steps
        sync = nullcontext() if (boundary or not self.run.ranks.distributed) else self.model.no_sync()
        with sync, torch.autocast(self.device.type, dtype=self.amp_dtype, enabled=self.amp_dtype is not None):
            loss = self.batch_loss(batch, rows) / accumulation
            self.scaler.scale(loss).backward()
        self.running_loss += float(loss.detach()) * accumulation
        self.running_count += 1

    def optimizer_step(self) -> None:
        """Unscale, clip the gradient norm to train.max_grad_norm, step optimizer and scheduler, count the step."""
        self.scaler.unscale_(self.optimizer)
        torch.nn.utils.clip_grad_norm_(self.core.parameters(), self.train.max_grad_norm)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        self.state["global_step"] += 1

    def log_step(self, epoch: int, batch_index: int) -> None:
        """Every logging interval (and at the last step): the mean training loss since the last line, printed, kept in
        the history and tracked."""
        step = self.state["global_step"]
        if step % self.logging_steps and step != self.total_steps:
            return
        entry = {
            "step": step,
            "epoch": round(epoch + (batch_index + 1) / len(self.loader), 3),
            "loss": self.running_loss / max(self.running_count, 1),
            "learning_rate": self.scheduler.get_last_lr()[0],
        }
        self.state["history"].append(entry)
        self.run.say(f"step={step}; loss={entry['loss']:.4f}; learning_rate={entry['learning_rate']:.3e};")
        self.run.tracker.log_metrics(entry, step=step)
        self.running_loss, self.running_count = 0.0, 0

    def train_epoch(self, epoch: int, progress) -> bool:
        """One pass over the batches not yet trained on; True when the step budget is reached."""
        if hasattr(self.sampler, "set_epoch"):
            self.sampler.set_epoch(epoch)
        self.optimizer.zero_grad(set_to_none=True)
        accumulation = self.train.gradient_accumulation_steps
        for batch_index, batch in enumerate(self.loader):
            if batch_index < self.state["batches_done"]:
                continue  # already trained on before the interruption
            if self.state["global_step"] >= self.total_steps:
                break  # resumed from the run's last step, saved before its last evaluation
            if self.pending_rng is not None:  # the random states the interrupted run had before this batch
                restore_rng(self.pending_rng)
                self.pending_rng = None
            boundary = (batch_index + 1) % accumulation == 0 or batch_index + 1 == len(self.loader)
            self.forward_backward(batch, boundary)
            self.state["batches_done"] = batch_index + 1
            if not boundary:
                continue
            self.optimizer_step()
            progress.update(1)
            self.log_step(epoch, batch_index)
            if self.train.save_steps > 0 and self.state["global_step"] % self.train.save_steps == 0:
                self.checkpoint()
            self.save_if_asked()
            if self.state["global_step"] >= self.total_steps:
                return True
        if self.pending_rng is not None:  # resumed after the epoch's last step: the evaluation comes next
            restore_rng(self.pending_rng)
            self.pending_rng = None
        return self.state["global_step"] >= self.total_steps

    def save_if_asked(self) -> None:
        """After an optimizer step: a checkpoint when the time-based one is due or a signal asked to stop (unless this
        step's is already written). Raises TrainingInterrupted after saving for a signal."""
        save, signum = self.run.stops.poll(self.device)
        if not save:
            return
        written = self.saved_step == self.state["global_step"]
        path = self.run.checkpoint_dir / TORCH_LOOP_CHECKPOINT if written else self.checkpoint()
        if signum is not None:
            raise TrainingInterrupted(signum, self.state["global_step"], path)

    def evaluate_epoch(self) -> bool:
        """Validation metrics for the epoch just finished; keeps a copy of the best weights. True = improved."""
        run, state = self.run, self.state
        result, _ = evaluate_dataset(
            self.core, run.val_ds, run.schema, self.train.eval_batch_size, run.tokenizer.pad_token_id, self.device
        )
        entry = {"step": state["global_step"], "epoch": state["epoch"], "eval_loss": result["loss"]}
        entry.update((f"eval_{name}", value) for name, value in scalars(result).items())
        state["history"].append(entry)
        run.say(f"epoch={state['epoch']:.2f}; " + metric_line(result, prefix="eval_"))
        run.tracker.log_metrics(entry, step=state["global_step"])
        improved = is_better(
            self.train.metric_for_best_model, result[self.train.metric_for_best_model], state["best_metric"]
        )
        if improved:
            state["best_metric"], state["best_epoch"] = result[self.train.metric_for_best_model], state["epoch"] - 1
            self.best_weights = {k: v.detach().to("cpu", copy=True) for k, v in self.core.state_dict().items()}
        return improved

    def fit(self):
        """Train to the step budget, evaluating each epoch (early stopping when configured), then restore the best
        epoch's weights. Returns (the model, the history)."""
        self.resume()
        self.model.train()
        epochs = math.ceil(self.total_steps / self.steps_per_epoch)
        progress = tqdm(
            total=self.total_steps,
            initial=self.state["global_step"],
            desc="training",
            unit="step",
            disable=not self.run.ranks.is_main or not logs.bars(not self.run.say.quiet),
        )
        stop = self.state["global_step"] >= self.total_steps and not self.state["batches_done"]
        while not stop and self.state["epoch"] < epochs:
            stop = self.train_epoch(self.state["epoch"], progress)
            self.state["epoch"] += 1
            self.state["batches_done"] = 0
            if len(self.run.val_ds) > 0:
                improved = self.evaluate_epoch()
                self.state["epochs_without_improvement"] = (
                    0 if improved else self.state["epochs_without_improvement"] + 1
                )
                patience = self.train.early_stopping_patience
                if patience > 0 and self.state["epochs_without_improvement"] >= patience:
                    self.run.say(f"early stopping: no improvement in {patience} epoch(s)")
                    stop = True
            self.checkpoint()
        progress.close()
        if self.best_weights is not None:
            self.core.load_state_dict(self.best_weights)
            self.run.say(
                f"restored best model from epoch {self.state['best_epoch'] + 1} "
                f"({self.train.metric_for_best_model}={self.state['best_metric']:.4f})"
            )
        if self.run.ranks.distributed:
            dist.barrier()
        return self.core, self.state["history"]


def train_with_torch_loop(run: TrainingRun):
    """Train with the plain PyTorch loop. Returns (the trained model, its history)."""
    return TorchLoop(run).fit()
