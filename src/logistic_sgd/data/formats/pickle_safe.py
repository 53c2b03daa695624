"""The original tutorial's ``mnist.pkl.gz``, read without running the pickle's code.

A pickle is a program: unpickling can call any importable function. This reader admits only the
globals needed to rebuild NumPy arrays (``_reconstruct``, ``ndarray``, ``dtype``, and
``_codecs.encode``, which Python 3 uses for bytes in protocol-2 pickles); any other global
raises :class:`DataError` before it is called. The original tutorial's file is a Python 2 pickle, so strings
are decoded as latin-1, the encoding that keeps every byte as it was.
"""

from __future__ import annotations

import codecs
import os
import pickle
from collections.abc import Collection
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import DataError, one_line
from ..checks import SPLITS, Datasets, checked
from .idx import open_bytes

_RECONSTRUCT = np.ndarray.__reduce__(np.zeros(1))[0]
_ALLOWED: dict[tuple[str, str], Any] = {
    ("numpy.core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy._core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("_codecs", "encode"): codecs.encode,
}


class _ArrayOnlyUnpickler(pickle.Unpickler):
    def __init__(self, stream: Any, path: Path) -> None:
        super().__init__(stream, encoding="latin1")
        self.path = path

    def find_class(self, module: str, name: str) -> Any:
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise DataError(
                f"{self.path}: pickle refers to {module}.{name}; only NumPy arrays are allowed"
            ) from None

    def persistent_load(self, pid: Any) -> Any:
        raise DataError(f"{self.path}: pickle uses persistent ids; only NumPy arrays are allowed")


def load_pickle(path: str | os.PathLike[str]) -> Any:
    """Unpickle ``path`` (gzipped or not) admitting only NumPy array reconstruction.

    Raises
    ------
    DataError
        The file is missing, not a pickle, truncated, or refers to any other global.
    """
    path = Path(path)
    with open_bytes(path) as stream:  # read as it is unpickled: the file is never held whole
        try:
            return _ArrayOnlyUnpickler(stream, path).load()
        except DataError:
            raise
        except Exception as exc:  # a malformed pickle can raise almost anything; all mean "corrupt"
            raise DataError(f"{path}: not a valid pickle ({type(exc).__name__}: {one_line(exc)})") from None


def read_tutorial_pickle(path: Path, keep_bytes: Collection[str] = ()) -> Datasets:
    """The original tutorial's pickle: a tuple of three (x, y) pairs, checked to hold nothing but arrays;
    the splits named in ``keep_bytes`` whose pixels are bytes in disguise are kept as those bytes."""
    obj = load_pickle(path)
    if not (isinstance(obj, tuple | list) and len(obj) == 3 and all(
        isinstance(s, tuple | list) and len(s) == 2 for s in obj
    )):
        raise DataError(f"{path}: pickle does not hold ((train_x, train_y), (valid_x, valid_y), (test_x, test_y))")
    return checked(path, {f"{split}_{k}": obj[i][j] for i, split in enumerate(SPLITS) for j, k in enumerate("xy")},
                   keep_bytes)
