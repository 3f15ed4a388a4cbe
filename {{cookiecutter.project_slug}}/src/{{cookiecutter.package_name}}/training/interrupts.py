"""Stopping a training run on SIGINT or SIGTERM without losing its work, and the clock of time-based checkpoints.

The first signal asks the loop to save a checkpoint after the optimizer step under way and stop: the loop raises
TrainingInterrupted, the entry point prints the command that resumes and exits with 128 + the signal's number (130
for Ctrl-C, 143 for SIGTERM: what SageMaker sends two minutes before a spot interruption, and what torchrun sends
each process when it is stopped). A second signal stops at once (KeyboardInterrupt): the last checkpoint saved stays
the one the next run resumes from. So does any signal after the loop (its checkpoints are kept until the artifact is
written): the stages after it (n-gram fit, calibration, int8 export) have no step to stop at, and a rerun does them
again from the last checkpoint. Under torchrun every process stops at the same optimizer step: they agree with one
all-reduce per step (StopSignals.poll), as they do on when the time-based checkpoint is due.
"""

from __future__ import annotations

import os
import shlex
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from .. import logs

if TYPE_CHECKING:  # the entry point imports this module before it knows it will train: no torch at import
    import torch

    from .runtime import Ranks

HANDLED = (signal.SIGINT, signal.SIGTERM)


class TrainingInterrupted(Exception):
    """Training stopped on a signal after saving a checkpoint: the signal's number ``signum``, the optimizer ``step``
    the checkpoint holds and where it went (``checkpoint``)."""

    def __init__(self, signum: int, step: int, checkpoint: Path):
        super().__init__(f"{signal.Signals(signum).name} at step {step}")
        self.signum, self.step, self.checkpoint = signum, step, checkpoint

    @property
    def exit_status(self) -> int:
        """128 + the signal's number: 130 for SIGINT, 143 for SIGTERM (the shell's convention)."""
        return 128 + self.signum


class StoppedAtOnce(KeyboardInterrupt):
    """A signal that stops the run at once (a second one, or one after the loop): its number ``signum``."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


class StopSignals:
    """While entered: SIGINT and SIGTERM set ``signum`` (the loop saves and stops at its next optimizer step) and the
    time-based checkpoint's clock runs. ``every_minutes``: minutes between time-based checkpoints (0 = none);
    ``ranks``: this process's place (only global rank 0 prints). Outside the main thread signals cannot be caught:
    entering then changes nothing."""

    clock: Callable[[], float] = staticmethod(time.monotonic)  # seconds (a test replaces it)

    def __init__(self, every_minutes: float, ranks: Ranks):
        self.every_seconds = every_minutes * 60
        self.ranks = ranks
        self.signum: int | None = None
        self.at_once = False  # after the loop: no optimizer step is left to stop at
        self.last_save = self.clock()
        self.previous: dict[int, object] = {}

    def __enter__(self) -> StopSignals:
        if threading.current_thread() is threading.main_thread():
            self.previous = {signum: signal.signal(signum, self.handle) for signum in HANDLED}
        self.last_save = self.clock()
        return self

    def __exit__(self, *exc) -> None:
        for signum, handler in self.previous.items():
            signal.signal(signum, handler)
        self.previous = {}

    def handle(self, signum: int, frame) -> None:
        """The signal handler: the first signal in the loop is noted (one line); a second, or one after the loop
        (``loop_done``), raises StoppedAtOnce, which stops the run at once."""
        name = signal.Signals(signum).name
        if self.at_once:
            self.tell(f"{name} after the training loop: stopping at once; its checkpoints are kept")
            raise StoppedAtOnce(signum)
        if self.signum is not None:
            self.tell(f"{name} again: stopping at once, without a checkpoint")
            raise StoppedAtOnce(signum)
        self.signum = signum
        again = "press Ctrl-C again" if signum == signal.SIGINT else "send it again"
        self.tell(f"{name}: saving a checkpoint at the next optimizer step, then stopping ({again} to stop at once)")

    def loop_done(self) -> None:
        """The loop is over: from now on a signal stops the run at once (the stages after the loop have no step to
        stop at; the loop's checkpoints stay until the artifact is written, so the next run resumes from the last)."""
        self.at_once = True

    def tell(self, line: str) -> None:
        """One line on stderr (file descriptor 2) from global rank 0, written straight to the descriptor: a signal
        handler may run while Python's own stream is in the middle of a write."""
        if self.ranks.is_main:
            try:
                os.write(2, (line + "\n").encode("utf-8"))
            except OSError:  # no stderr (a closed descriptor): the stop itself still happens
                pass

    def poll(self, device: torch.device) -> tuple[bool, int | None]:
        """After an optimizer step, on every process: (whether to save a checkpoint now, the signal to stop on or
        None). Under torchrun the processes agree (the largest signal number any of them got; due when rank 0's clock
        says so), so they all save and stop at the same step."""
        due = self.every_seconds > 0 and self.clock() - self.last_save >= self.every_seconds
        signum = self.signum or 0
        import torch
        import torch.distributed as dist

        if dist.is_available() and dist.is_initialized():
            flags = torch.tensor([signum, int(due and self.ranks.is_main)], device=device)
            dist.all_reduce(flags, op=dist.ReduceOp.MAX)
            signum, due = int(flags[0]), bool(flags[1])
            self.signum = self.signum or signum or None
        return due or signum > 0, signum or None

    def saved(self) -> None:
        """A checkpoint was just written: the next time-based one is ``every_minutes`` from now."""
        self.last_save = self.clock()


def launch_command() -> str:
    """The command line that started this run, which is also what resumes it (a run resumes from train.checkpoint_dir
    by itself): under torchrun the launcher's own (read from /proc where there is one), else this process's, with
    ``python -m MODULE`` for a module run with -m and the script's bare name for a console script."""
    if "TORCHELASTIC_RUN_ID" in os.environ:
        launcher = Path(f"/proc/{os.getppid()}/cmdline")
        try:
            words = launcher.read_bytes().decode("utf-8").split("\0")[:-1]
        except (OSError, UnicodeDecodeError):
            words = []
        if words:
            if Path(words[0]).name.startswith("python") and len(words) > 1 and not words[1].startswith("-"):
                words = words[1:]  # a console script (torchrun) started by its interpreter
            return shlex.join([Path(words[0]).name, *words[1:]])
    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    if spec is not None and spec.name:
        return shlex.join(["python", "-m", spec.name.removesuffix(".__main__"), *sys.argv[1:]])
    return shlex.join([Path(sys.argv[0]).name, *sys.argv[1:]]) if sys.argv and sys.argv[0] else "the same command"


def resume_line() -> str:
    """How an interrupted run continues: the command that started it, or in a SageMaker job what SageMaker does."""
    if "SM_MODEL_DIR" in os.environ:
        return "SageMaker resumes from these checkpoints (synced to S3) when it restarts the job"
    return f"resume with: {launch_command()}"


def report_stop(stopped: TrainingInterrupted | KeyboardInterrupt) -> int:
    """Say on stderr (global rank 0 only) where an interrupted run stopped and how it resumes: ``stopped`` after a
    checkpoint at the next step (TrainingInterrupted), or a stop at once (StoppedAtOnce, or Python's own
    KeyboardInterrupt outside our handler). Returns the exit status: 128 + the signal's number (SIGINT's for a plain
    KeyboardInterrupt)."""
    from .runtime import current_ranks

    if isinstance(stopped, TrainingInterrupted):
        line, status = f"stopped at step {stopped.step}: checkpoint saved in {stopped.checkpoint}", stopped.exit_status
    else:
        line = "stopped at once: the next run resumes from the last checkpoint saved, if any"
        status = 128 + getattr(stopped, "signum", signal.SIGINT)
    if current_ranks().is_main:
        logs.result(line, stderr=True)
        logs.result(resume_line(), stderr=True)
    return status
