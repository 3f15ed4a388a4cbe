"""Training entry point: locally (``<cli> train``), under torchrun, and inside a SageMaker training container.

SageMaker contract: SM_MODEL_DIR receives the artifact, SM_CHANNEL_TRAIN / SM_CHANNEL_TEST hold the data,
SM_OUTPUT_DATA_DIR receives the results folder, checkpoints go to /opt/ml/checkpoints (synced to S3, so a
spot interruption resumes). Hyperparameters arrive as ``--name value``. This module never imports the
``sagemaker`` SDK: it runs inside the Hugging Face training container as it is.

    python -m PACKAGE.training.entry --config config.yaml --loop torch --epochs 1
    torchrun --nproc_per_node 2 -m PACKAGE.training.entry --max_steps 10
"""

from __future__ import annotations

import argparse
import os
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

from .. import logs
from ..config import CONFIG_FILE, Config, describe_fields, load_config, parse_assignments
from ..errors import ProjectError, print_error
from .interrupts import TrainingInterrupted, report_stop

SAGEMAKER_BASE = "/opt/ml"
SAGEMAKER_CHECKPOINT_DIR = f"{SAGEMAKER_BASE}/checkpoints"  # synced to the job's CheckpointConfig S3 URI
BASE_DIR_ENV = "SAGEMAKER_BASE_DIR"  # the training toolkit's own way to move /opt/ml (tests use it)
ENTRY_SCRIPT = "train_entry.py"  # what `launch` stages next to the package; it calls main()
PRETRAIN_ENTRY_SCRIPT = "pretrain_entry.py"  # what `launch --pretrain` stages; it calls pretrain.main()
TRAINING_SECTIONS = ("data", "model", "train", "pretrain", "tracking")
PACKAGE_DIR = Path(__file__).resolve().parent.parent
ALIASES = {"base_model": ["--model"]}  # the short spelling people type


def project_defaults(argv: list[str]) -> dict[str, object]:
    """The values this project's config file gives (``--config``, else found upwards), for ``--help`` to show;
    the code's defaults where there is no readable config file."""
    probe = argparse.ArgumentParser(add_help=False)
    probe.add_argument("--config", default=None)
    known, _ = probe.parse_known_args(argv)
    try:
        return load_config(known.config).flat()
    except (ProjectError, OSError):
        return {info.name: info.default for info in describe_fields()}


class WholeNamesFormatter(argparse.HelpFormatter):
    """argparse's help wrapped without breaking at hyphens: a file name such as ``sts-train.tsv`` stays whole."""

    def _split_lines(self, text: str, width: int) -> list[str]:
        return textwrap.wrap(" ".join(text.split()), width, break_on_hyphens=False)


TRAIN_DESCRIPTION = "Train a text classifier (locally, under torchrun, or in a SageMaker job)."


def build_parser(
    prog: str | None = None, defaults: dict[str, object] | None = None, description: str = TRAIN_DESCRIPTION
) -> argparse.ArgumentParser:
    """The options: one per config key, each help ending with the value it has now (``defaults``: the project's
    config file, else the code's default); ``description``: what the command does, one sentence."""
    parser = argparse.ArgumentParser(
        prog=prog,
        formatter_class=WholeNamesFormatter,
        description=f"{description} Every option overrides the key of the same name in {CONFIG_FILE}.",
    )
    parser.add_argument("--config", default=None, help=f"{CONFIG_FILE} (default: found upwards from here)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="any config override")
    parser.add_argument("--quiet", action="store_true", help="only warnings, errors and where the artifact went")
    parser.add_argument("--verbose", action="store_true", help="the libraries' own logs and progress bars too")
    groups = {section: parser.add_argument_group(f"{section} options") for section in TRAINING_SECTIONS}
    for info in describe_fields():
        if info.section not in groups:
            continue
        names = [f"--{info.name}"] + ([f"--{info.name.replace('_', '-')}"] if "_" in info.name else [])
        names += ALIASES.get(info.name, [])
        metavar = "{" + ",".join(info.choices) + "}" if info.choices else type(info.default).__name__.upper()
        value = (defaults or {}).get(info.name, info.default)
        default = value if value != "" else '""'
        groups[info.section].add_argument(
            *names,
            dest=f"hp_{info.name}",
            default=None,
            metavar=metavar,
            help=f"{info.help} (default: {default})".replace("%", "%%"),
        )
    return parser


def value_options(parser: argparse.ArgumentParser) -> set[str]:
    """The option strings of ``parser`` that take one value (not flags): those whose value may start with ``-`` and is
    joined to its option (join_values)."""
    return {
        option
        for action in parser._actions
        if action.nargs is None and action.option_strings and not isinstance(action, argparse._StoreTrueAction)
        for option in action.option_strings
    }


def join_values(argv: list[str], options: set[str]) -> list[str]:
    """``--remove_pattern -[0-9]`` -> ``--remove_pattern=-[0-9]``: argparse would take a value starting with '-'
    for an option, and the SageMaker training toolkit passes every hyperparameter as two separate words."""
    joined, index = [], 0
    while index < len(argv):
        word = argv[index]
        if word in options and index + 1 < len(argv):
            joined.append(f"{word}={argv[index + 1]}")
            index += 2
        else:
            joined.append(word)
            index += 1
    return joined


def config_from_args(
    argv: list[str] | None, prog: str | None = None, description: str = TRAIN_DESCRIPTION
) -> tuple[Config, set[str], argparse.Namespace]:
    """The configuration from command-line words (``argv``; sys.argv without): the config file (``--config``, the staged
    one in SageMaker, else config.yaml), then every ``--KEY VALUE`` and ``--set``. Returns (config, the keys given
    explicitly, the parsed namespace); raises ConfigError."""
    words = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(prog, project_defaults(words) if "--help" in words or "-h" in words else None, description)
    args = parser.parse_args(join_values(words, value_options(parser)))
    overrides = {
        key.removeprefix("hp_"): value
        for key, value in vars(args).items()
        if key.startswith("hp_") and value is not None
    }
    overrides.update(parse_assignments(args.set))
    config_path = args.config
    if config_path is None and "SM_MODEL_DIR" in os.environ:
        staged = PACKAGE_DIR.parent / CONFIG_FILE  # `launch` stages the config next to the package
        config_path = str(staged) if staged.is_file() else None
    config = load_config(config_path, overrides)
    return config, {key.split(".")[-1] for key in overrides}, args


def apply_sagemaker_environment(config: Config, explicit: set[str]) -> dict[str, str | None]:
    """Point outputs at the SageMaker folders when running in a training container (train's and pretrain's: a job
    runs one of them). Returns the channel folders: train, test, unlabeled (pretrain.unlabeled_files), and
    output_data."""
    env = os.environ
    checkpoints = SAGEMAKER_CHECKPOINT_DIR.replace(SAGEMAKER_BASE, env.get(BASE_DIR_ENV, SAGEMAKER_BASE), 1)
    for section, output_key, checkpoint_key in (
        (config.train, "output_dir", "checkpoint_dir"),
        (config.pretrain, "pretrain_output_dir", "pretrain_checkpoint_dir"),
    ):
        if "SM_MODEL_DIR" in env and output_key not in explicit:
            setattr(section, output_key, env["SM_MODEL_DIR"])
        if "SM_MODEL_DIR" in env and checkpoint_key not in explicit:
            setattr(section, checkpoint_key, checkpoints)
    return {
        "train": env.get("SM_CHANNEL_TRAIN"),
        "test": env.get("SM_CHANNEL_TEST"),
        "unlabeled": env.get("SM_CHANNEL_UNLABELED"),
        "output_data": env.get("SM_OUTPUT_DATA_DIR"),
    }


def main(
    argv: list[str] | None = None,
    prog: str | None = None,
    command: Callable | None = None,
    description: str = TRAIN_DESCRIPTION,
) -> int:
    """The training entry point (``<cli> train`` and SageMaker's train_entry.py): sets the verbosity, reads the config,
    points outputs at SageMaker's folders in a container, trains. Returns the exit status: 0; 1 after printing a
    ProjectError's lines; 128 + the signal's number (130 SIGINT, 143 SIGTERM) after an interrupt, with the command
    that resumes (training/interrupts.py). ``command``: what runs instead of training.run.train, with the same
    (config, channels, quiet) arguments (pretrain.pretrain), which ``description`` (one sentence) names in --help."""
    words = list(sys.argv[1:] if argv is None else argv)
    asked = logs.VERBOSE if "--verbose" in words else logs.QUIET if "--quiet" in words else None
    verbosity = asked if asked is not None else logs.configured()  # `<cli> --quiet train` counts too
    logs.configure(logs.NORMAL if verbosity is None else verbosity)
    try:
        config, explicit, args = config_from_args(words, prog, description)
        channels = apply_sagemaker_environment(config, explicit)
        if command is None:
            from .run import train as command

        command(config, channels, quiet=logs.configured() == logs.QUIET)
    except ProjectError as error:
        return print_error(error)
    except TrainingInterrupted as stopped:
        return report_stop(stopped)
    except KeyboardInterrupt as stopped:  # a second signal, one after the loop, or Ctrl-C before it
        return report_stop(stopped)
    return 0


if __name__ == "__main__":
    sys.exit(main())
