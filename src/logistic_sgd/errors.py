"""Errors a user can cause, each rendered by the CLI as one line and exit status 2.

One hierarchy: :class:`LogisticSGDError` is the base of every error caused by input. Errors about
an argument are also :class:`ValueError` (or :class:`TypeError`) and name the Python parameter
(``learning_rate must be ...``); the CLI rewrites that name as its flag (``--learning-rate``).
"""

from __future__ import annotations


def one_line(text: object, limit: int = 160) -> str:
    """``text`` with all white space (newlines included) folded to single spaces, cut to ``limit``.

    Parameters
    ----------
    text : object
        Anything; its ``str`` is folded.
    limit : int, default 160
        The most characters returned (a longer text ends in ``...``).

    Returns
    -------
    str
        One line.
    """
    folded = " ".join(str(text).split())
    return folded if len(folded) <= limit else folded[: limit - 3] + "..."


class LogisticSGDError(Exception):
    """Base class for every error caused by input: a file, an argument, the network.

    The message is one line that names the file (or argument) and says what is wrong.
    The CLI prints it to stderr and exits with status 2; nothing else prints a traceback.
    Parameters
    ----------
    message : str
        The one line.
    params : tuple of str
        The Python parameters the message names, which the CLI shows as its flags.
    """

    def __init__(self, message: str = "", params: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.params = params


class DataError(LogisticSGDError):
    """A dataset file or folder is missing, unreadable or malformed."""


class DownloadError(DataError):
    """No mirror delivered a file with the expected checksum."""


class ModelFileError(LogisticSGDError):
    """A model file is missing, corrupt or of an incompatible version."""


class UsageError(LogisticSGDError, ValueError):
    """An argument is out of range or does not fit the others (also a ``ValueError``).

    Parameters
    ----------
    message : str
        The one line, naming the parameter (``learning_rate must be > 0, got -1``).
    param : str or tuple of str, optional
        The Python parameter (or parameters) named.
    """

    def __init__(self, message: str, param: str | tuple[str, ...] | None = None) -> None:
        super().__init__(message, () if param is None else (param,) if isinstance(param, str) else param)


class UsageTypeError(UsageError, TypeError):
    """An argument is of the wrong type (a string where a number belongs, say)."""


class MissingExtraError(LogisticSGDError, ImportError):
    """An optional dependency is not installed; the message names the extra that installs it."""


class DivergenceError(LogisticSGDError):
    """Training produced NaN or Inf parameters (usually: the learning rate is far too large)."""


class OutputError(LogisticSGDError):
    """An output file could not be written during a run (a full disk, a folder removed meanwhile)."""
