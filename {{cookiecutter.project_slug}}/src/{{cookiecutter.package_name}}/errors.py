"""The problems a user can cause and fix. Each one ends a command with one clear ``error: ...`` line.

Anything else that goes wrong is a bug in this project and keeps its traceback.
"""

from __future__ import annotations

from .logs import result

EXIT_STATUS = 1  # what a command that failed on a ProjectError exits with


class ProjectError(Exception):
    """A problem the user can fix; the message names it (file, line, key, value) and, where known, the fix."""

    def user_lines(self) -> list[str]:
        """What the command line prints for this error, one problem per line."""
        return [f"error: {self}"]


class ConfigError(ProjectError):
    """A configuration file, key or value is wrong."""


class LabelError(ProjectError):
    """A label schema is invalid, or a raw label value does not belong to it."""


class DataError(ProjectError):
    """A data file has problems; ``reports`` hold every one of them, by file and line."""

    def __init__(self, reports, summaries: bool = True):
        self.reports = list(reports)
        self.summaries = summaries  # False when the command has printed each file's summary already
        failing = [report for report in self.reports if report.errors]
        count = sum(len(report.errors) for report in failing)
        files = ", ".join(report.file for report in failing)
        super().__init__(f"{count} problem(s) in {files}; each is listed above as file:line")

    def user_lines(self) -> list[str]:
        """Each file's summary (unless already printed), its error lines by file:line, then the count."""
        lines = []
        for report in self.reports:
            if self.summaries:
                lines.append(report.summary())
            lines.extend(report.problem_lines(kinds=("error",)))
        return [*lines, f"error: {self}"]


class ArtifactError(ProjectError):
    """A folder is not a complete, loadable model artifact."""


class ModelSourceError(ProjectError):
    """The base model cannot be loaded or built."""


class CheckpointError(ProjectError):
    """A checkpoint cannot be resumed safely (for example it was trained with another tokenizer)."""


class DownloadError(ProjectError):
    """A download failed or did not verify."""


class AwsSetupError(ProjectError):
    """Something the AWS commands need is missing or wrong (credentials, role, region, bucket, instance type)."""


class PredictError(ProjectError):
    """A prediction run cannot start or continue (for example an output file that would be overwritten)."""


def print_error(error: ProjectError) -> int:
    """The one place a ProjectError becomes output: its ``user_lines`` on stderr. Returns the exit status the
    command ends with (EXIT_STATUS); the CLI's commands and the training entry point both end through here."""
    for line in error.user_lines():
        result(line, stderr=True)
    return EXIT_STATUS
