"""Where and how a training process runs: ranks, seeds, precision, step counts, batch order, printing."""

from __future__ import annotations

import math
import os
import random
from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import DistributedSampler

from .. import logs
from ..config import Config, TrainConfig
from ..model.features import DynamicPaddingCollator, LengthGroupedSampler
from ..model.inference import best_device
from ..model.sources import settled_source
from ..tasks import Task

LOSS_POINTS_PER_EPOCH = 4  # the fewest training-loss points an epoch logs


@dataclass(frozen=True)
class Ranks:
    """This process's place in a torchrun job; (0, 0, 1) in a single process."""

    rank: int = 0
    local_rank: int = 0
    world_size: int = 1

    @property
    def is_main(self) -> bool:
        """Whether this process is global rank 0 (the one that prints, tracks and writes the artifact)."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        """Whether more than one process trains."""
        return self.world_size > 1


def current_ranks() -> Ranks:
    """This process's ranks from torchrun's environment (RANK, LOCAL_RANK, WORLD_SIZE); one process without it."""
    env = os.environ
    return Ranks(int(env.get("RANK", 0)), int(env.get("LOCAL_RANK", 0)), int(env.get("WORLD_SIZE", 1)))


def init_distributed(use_cpu: bool) -> None:
    """Join the torchrun process group (gloo on CPU, nccl on GPU); nothing to do in a single process."""
    import torch.distributed as dist

    if current_ranks().distributed and not dist.is_initialized():
        dist.init_process_group(backend="nccl" if torch.cuda.is_available() and not use_cpu else "gloo")


def barrier() -> None:
    """Wait for every process when torch.distributed is initialised; a no-op otherwise."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.barrier()


def all_equal(value: str) -> bool:
    """True when every process holds the same ``value`` (always true in a single process)."""
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()):
        return True
    values: list[str | None] = [None] * dist.get_world_size()
    dist.all_gather_object(values, value)
    return len(set(values)) == 1


def set_seed(seed: int) -> None:
    """Seed Python's, NumPy's and torch's (CUDA included) random generators with ``seed``."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.cuda.manual_seed_all(seed)


def training_device(use_cpu: bool, ranks: Ranks) -> torch.device:
    """The GPU of this process's local rank, else the CPU."""
    device = best_device(use_cpu)
    return torch.device("cuda", ranks.local_rank) if device.type == "cuda" else device


def resolve_precision(precision: str, device: torch.device) -> str:
    """The precision training runs in: fp32 off CUDA; on CUDA ``auto`` is bf16 where supported, else fp16; an explicit
    choice stays."""
    if device.type != "cuda":
        return "fp32"
    if precision == "auto":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    return precision


def optimizer_steps_per_epoch(num_examples: int, train: TrainConfig, world_size: int) -> int:
    """Optimizer steps in one pass over ``num_examples`` rows (batch x accumulation x processes per step)."""
    per_step = train.batch_size * train.gradient_accumulation_steps * world_size
    return max(1, math.ceil(num_examples / per_step))


def resolve_epochs(num_examples: int, train: TrainConfig, world_size: int, task: Task) -> float:
    """The epochs a run trains for: ``train.epochs`` when set; with 0 (auto), the task's ``auto_epochs`` (3; 6 for
    multi-label) raised to whole epochs until at least ``train.min_steps`` optimizer steps run. A model built from
    scratch needs a few hundred steps before it learns anything: on a 600-row split three epochs are 51 steps and it
    predicts one class (measured across set sizes and class counts: benchmarks/RESULTS-small-data.md)."""
    if train.epochs > 0:
        return train.epochs
    steps = optimizer_steps_per_epoch(num_examples, train, world_size)
    return max(task.auto_epochs, float(math.ceil(train.min_steps / steps)))


def total_optimizer_steps(num_examples: int, train: TrainConfig, world_size: int) -> int:
    """Optimizer steps of the whole run: train.max_steps when set, else steps per epoch times epochs (at least 1)."""
    if train.max_steps > 0:
        return train.max_steps
    return max(1, math.ceil(optimizer_steps_per_epoch(num_examples, train, world_size) * train.epochs))


def logging_interval(num_examples: int, train: TrainConfig, world_size: int) -> int:
    """Steps between training-loss points: train.logging_steps, but at least LOSS_POINTS_PER_EPOCH an epoch, so
    a small data set's learning curve has a shape (17 steps an epoch and logging every 50 gave one point)."""
    per_epoch = optimizer_steps_per_epoch(num_examples, train, world_size)
    return max(1, min(train.logging_steps, per_epoch // LOSS_POINTS_PER_EPOCH))


def train_sampler(train: TrainConfig, lengths: list[int], ranks: Ranks):
    """Length-grouped batches (the default), or plain shuffling; sharded across ranks under torchrun. Either order
    depends on the seed and the epoch (set_epoch) only, so a resumed run sees the interrupted epoch's order again."""
    if train.group_by_length:
        return LengthGroupedSampler(
            lengths, train.batch_size, train.seed, num_replicas=ranks.world_size, rank=ranks.rank
        )
    return DistributedSampler(range(len(lengths)), ranks.world_size, ranks.rank, shuffle=True, seed=train.seed)


def collator_for(tokenizer) -> DynamicPaddingCollator:
    """The dynamic-padding collator for ``tokenizer``'s pad token."""
    return DynamicPaddingCollator(tokenizer.pad_token_id)


class Printer:
    """Lines for people and for SageMaker's metric regexes: main process only, flushed at once."""

    def __init__(self, ranks: Ranks, quiet: bool = False):
        self.ranks, self.quiet = ranks, quiet

    def __call__(self, line: str) -> None:
        if self.ranks.is_main and not self.quiet:
            logs.say(line)

    def always(self, line: str) -> None:
        """Lines that matter even in quiet mode (warnings, where the artifact went)."""
        if self.ranks.is_main:
            logs.result(line)


def settle_source(config: Config, rows: int, say: Printer) -> str:
    """model.base_model made the model it stands for with ``rows`` texts to learn from (sources.settled_source:
    ``scratch:auto`` becomes a size, said in one line); written back to the config, so the run's settings, its
    checkpoints and the artifact name the model that trained. Returns it."""
    given, settled = config.model.base_model, settled_source(config.model.base_model, rows)
    if settled != given:
        say(f"model: {given} for {rows:,} training texts: {settled}")
        config.model.base_model = settled
    return settled
