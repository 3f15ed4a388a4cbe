"""The plain PyTorch loop (``--loop torch``): same config, same artifact as the Trainer path.

AdamW with linear warmup/decay, gradient accumulation, clipping, AMP on CUDA (bf16 where supported,
else fp16 with a grad scaler), a seed, evaluation each epoch with best-model keeping, early stopping,
and checkpoints that a restarted run (say after a spot interruption) resumes from.
"""

from __future__ import annotations

import copy
import math
import os
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

from .metrics import classification_metrics, metric_line
from .predict_local import best_device, predict_dataset
from .train import collator_for, distributed_context, make_train_sampler, resolve_precision, total_optimizer_steps

CHECKPOINT_NAME = "torch-loop-last.pt"


def _optimizer(model, learning_rate: float, weight_decay: float) -> torch.optim.Optimizer:
    no_decay = ("bias", "LayerNorm.weight", "layer_norm.weight")
    decay = [p for n, p in model.named_parameters() if p.requires_grad and not n.endswith(no_decay)]
    rest = [p for n, p in model.named_parameters() if p.requires_grad and n.endswith(no_decay)]
    return torch.optim.AdamW([{"params": decay, "weight_decay": weight_decay},
                              {"params": rest, "weight_decay": 0.0}], lr=learning_rate)


def _save_checkpoint(path: Path, state: dict) -> None:
    """Write atomically: an interruption mid-write leaves the previous checkpoint intact."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    torch.save(state, partial)
    os.replace(partial, path)


def _rng_state() -> dict:
    return {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}


def _restore_rng(state: dict) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])


def train_with_torch_loop(config, model, tokenizer, train_ds, val_ds, schema, tracker, emit):
    train = config.train
    rank, local_rank, world_size = distributed_context()
    distributed = world_size > 1
    device = best_device(train.use_cpu)
    if device.type == "cuda":
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    precision = resolve_precision(train.precision, device)
    amp_dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(precision)
    scaler = torch.amp.GradScaler("cuda", enabled=precision == "fp16")

    model.to(device)
    core = model
    if distributed:
        model = DistributedDataParallel(model, device_ids=[local_rank] if device.type == "cuda" else None)
    sampler = make_train_sampler(config, train_ds.lengths, world_size, rank)
    loader = DataLoader(train_ds, batch_size=train.batch_size, sampler=sampler, collate_fn=collator_for(tokenizer),
                        num_workers=train.num_workers, pin_memory=device.type == "cuda")
    accumulation = train.gradient_accumulation_steps
    total_steps = total_optimizer_steps(len(train_ds), config, world_size)
    steps_per_epoch = max(1, math.ceil(len(loader) / accumulation))
    optimizer = _optimizer(core, train.learning_rate, train.weight_decay)
    scheduler = get_linear_schedule_with_warmup(optimizer, math.ceil(train.warmup_ratio * total_steps), total_steps)

    checkpoint_path = config.path(train.checkpoint_dir) / CHECKPOINT_NAME
    state = {"global_step": 0, "epoch": 0, "batches_done": 0, "best_metric": -math.inf, "best_epoch": -1,
             "epochs_without_improvement": 0, "history": []}
    best_weights = None
    if checkpoint_path.is_file():
        saved = torch.load(checkpoint_path, map_location="cpu", weights_only=False)
        core.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        scheduler.load_state_dict(saved["scheduler"])
        scaler.load_state_dict(saved["scaler"])
        _restore_rng(saved["rng"])
        state = saved["state"]
        best_weights = saved.get("best_weights")
        emit(f"resuming from checkpoint {checkpoint_path} at step {state['global_step']} "
             f"(epoch {state['epoch']}, batch {state['batches_done']})")

    def checkpoint() -> None:
        if rank == 0:
            _save_checkpoint(checkpoint_path, {
                "model": core.state_dict(), "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                "scaler": scaler.state_dict(), "rng": _rng_state(), "state": state, "best_weights": best_weights,
            })
        if distributed:
            dist.barrier()

    model.train()
    epochs = math.ceil(total_steps / steps_per_epoch)
    progress = tqdm(total=total_steps, initial=state["global_step"], desc="training", unit="step",
                    disable=rank != 0)
    running_loss, running_count = 0.0, 0
    stop = state["global_step"] >= total_steps
    while not stop and state["epoch"] < epochs:
        epoch = state["epoch"]
        if hasattr(sampler, "set_epoch"):
            sampler.set_epoch(epoch)
        optimizer.zero_grad(set_to_none=True)
        for batch_index, batch in enumerate(loader):
            if batch_index < state["batches_done"]:
                continue  # already trained on before the interruption
            batch = {k: v.to(device, non_blocking=True) for k, v in batch.items()}
            boundary = (batch_index + 1) % accumulation == 0 or batch_index + 1 == len(loader)
            sync = nullcontext() if (boundary or not distributed) else model.no_sync()
            with sync, torch.autocast(device.type, dtype=amp_dtype, enabled=amp_dtype is not None):
                loss = model(**batch).loss / accumulation
                scaler.scale(loss).backward()
            running_loss += float(loss.detach()) * accumulation
            running_count += 1
            state["batches_done"] = batch_index + 1
            if not boundary:
                continue
            scaler.unscale_(optimizer)
            torch.nn.utils.clip_grad_norm_(core.parameters(), train.max_grad_norm)
            scaler.step(optimizer)
            scaler.update()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            state["global_step"] += 1
            progress.update(1)
            step = state["global_step"]
            if step % train.logging_steps == 0 or step == total_steps:
                entry = {"step": step, "epoch": round(epoch + (batch_index + 1) / len(loader), 3),
                         "loss": running_loss / max(running_count, 1), "learning_rate": scheduler.get_last_lr()[0]}
                state["history"].append(entry)
                emit(f"step={step}; loss={entry['loss']:.4f}; learning_rate={entry['learning_rate']:.3e};")
                tracker.log_metrics(entry, step=step)
                running_loss, running_count = 0.0, 0
            if train.save_steps > 0 and step % train.save_steps == 0:
                checkpoint()
            if step >= total_steps:
                stop = True
                break
        state["epoch"] = epoch + 1
        state["batches_done"] = 0
        if len(val_ds) > 0:
            best_weights, improved = _evaluate_epoch(config, core, tokenizer, val_ds, schema, state, device,
                                                     tracker, emit, best_weights, rank)
            patience = train.early_stopping_patience
            state["epochs_without_improvement"] = 0 if improved else state["epochs_without_improvement"] + 1
            if patience > 0 and state["epochs_without_improvement"] >= patience:
                emit(f"early stopping: no improvement in {patience} epoch(s)")
                stop = True
        checkpoint()
    progress.close()
    if best_weights is not None:
        core.load_state_dict(best_weights)
        emit(f"restored best model from epoch {state['best_epoch'] + 1} "
             f"({train.metric_for_best_model}={state['best_metric']:.4f})")
    if distributed:
        dist.barrier()
    return core, state["history"]


def _evaluate_epoch(config, core, tokenizer, val_ds, schema, state, device, tracker, emit, best_weights, rank):
    """Validation metrics for the epoch just finished; keeps a copy of the best weights."""
    logits, loss = predict_dataset(core, val_ds, config.train.eval_batch_size, tokenizer.pad_token_id, device)
    result = classification_metrics(val_ds.labels, logits.argmax(axis=1).tolist(), schema.names)
    entry = {"step": state["global_step"], "epoch": state["epoch"], "eval_loss": loss}
    entry.update((f"eval_{k}", result[k]) for k in ("accuracy", "macro_f1", "macro_precision", "macro_recall"))
    state["history"].append(entry)
    emit(f"epoch={state['epoch']:.2f}; " + metric_line({**result, "loss": loss}, prefix="eval_"))
    tracker.log_metrics(entry, step=state["global_step"])
    score = result[config.train.metric_for_best_model]
    improved = score > state["best_metric"]
    if improved:
        state["best_metric"], state["best_epoch"] = score, state["epoch"] - 1
        best_weights = {k: v.detach().to("cpu", copy=True) for k, v in copy.copy(core.state_dict()).items()}
    return best_weights, improved
