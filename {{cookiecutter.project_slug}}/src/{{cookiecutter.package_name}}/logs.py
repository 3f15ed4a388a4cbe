"""How chatty a command is: one place sets the project's and the libraries' logging and progress bars, and the one
path this package's own lines take (``say``: progress, silent under --quiet; ``result``: what a command is run
for, and warnings, always shown)."""

from __future__ import annotations

import logging
import os
import sys

QUIET, NORMAL, VERBOSE = 0, 1, 2
NOISY_LOGGERS = ("mlflow", "alembic", "botocore", "urllib3", "filelock", "httpx", "matplotlib", "PIL")
_current = [None]  # what the command line asked for, if it asked


def configured() -> int | None:
    """The verbosity the command line set (logs.QUIET, NORMAL, VERBOSE), or None when nothing set it yet."""
    return _current[0]


def configure(verbosity: int = NORMAL) -> None:
    """NORMAL: our own lines and progress bars; the libraries' loading bars and info logs are silenced.
    VERBOSE: everything, including the libraries' logs. QUIET: warnings and errors only."""
    _current[0] = verbosity
    verbose = verbosity == VERBOSE
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        force=True,
    )
    for name in NOISY_LOGGERS:
        logging.getLogger(name).setLevel(logging.INFO if verbose else logging.WARNING)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    # read by transformers when it is imported: its "Loading weights" / "Writing model shards" bars and info logs
    os.environ["TRANSFORMERS_VERBOSITY"] = "info" if verbose else "error"
    os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "0" if verbose else "1"
    os.environ["MLFLOW_LOGGING_LEVEL"] = "INFO" if verbose else "WARNING"  # read when mlflow is imported
    if "transformers" in sys.modules:  # already imported: tell it directly
        from transformers.utils import logging as hf_logging

        if verbose:
            hf_logging.set_verbosity_info()
            hf_logging.enable_progress_bar()
        else:
            hf_logging.set_verbosity_error()
            hf_logging.disable_progress_bar()


def bars(show: bool = True) -> bool:
    """Whether to draw a progress bar: asked for (``show``), and stderr is a terminal, or --verbose. A bar written
    into a log file or a pipe is a stream of carriage returns; the commands print a line at each stage instead."""
    return show and (sys.stderr.isatty() or _current[0] == VERBOSE)


def say(line: str, *, stderr: bool = False) -> None:
    """A progress line for people, flushed at once (logs follow a run as it goes): silent under --quiet.
    ``stderr``: for commands whose stdout carries data (predict)."""
    if _current[0] != QUIET:
        print(line, file=sys.stderr if stderr else sys.stdout, flush=True)


def result(line: str, *, stderr: bool = False) -> None:
    """A line the command is run for (metrics, a report, where files went) or a warning: shown even under
    --quiet, flushed at once. ``stderr``: as for ``say``."""
    print(line, file=sys.stderr if stderr else sys.stdout, flush=True)
