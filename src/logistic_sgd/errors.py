"""Errors a user can cause, each rendered by the CLI as one line and exit status 2."""

from __future__ import annotations


def one_line(text: object, limit: int = 160) -> str:
    """``text`` with all white space (newlines included) folded to single spaces, cut to ``limit``."""
    folded = " ".join(str(text).split())
    return folded if len(folded) <= limit else folded[: limit - 3] + "..."


class LogisticSGDError(Exception):
    """Base class for every error caused by input: a file, a flag, the network.

    The message is one line that names the file (or flag) and says what is wrong.
    The CLI prints it to stderr and exits with status 2; nothing else prints a traceback.
    """


class DataError(LogisticSGDError):
    """A dataset file or folder is missing, unreadable or malformed."""


class DownloadError(DataError):
    """No mirror delivered a file with the expected checksum."""


class ModelFileError(LogisticSGDError):
    """A model file is missing, corrupt or of an incompatible version."""


class UsageError(LogisticSGDError):
    """A flag or argument is out of range."""


class DivergenceError(LogisticSGDError):
    """Training produced NaN or Inf parameters (usually: the learning rate is far too large)."""


class OutputError(LogisticSGDError):
    """An output file could not be written during a run (a full disk, a folder removed meanwhile)."""
