"""Reading ``.npz`` archives from strangers: no pickles, and any malformation becomes one clean error."""

from __future__ import annotations

import struct
import zipfile
import zlib
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from ...errors import LogisticSGDError, one_line

# What a malformed zip or .npy member can raise from zipfile, zlib and numpy.lib.format.
MALFORMED = (
    OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error, struct.error, RuntimeError,
    NotImplementedError, KeyError, UnicodeDecodeError, TypeError, OverflowError, MemoryError,
)


def read_npz(
    path: Path, names: tuple[str, ...], error: type[LogisticSGDError], what: str, optional: tuple[str, ...] = ()
) -> dict[str, NDArray]:
    """The arrays ``names`` (and any whose name starts with one of ``optional``) of the archive at
    ``path``, loaded with ``allow_pickle=False``.

    Raises ``error`` (one line naming ``path``) when the file is missing, is not a readable
    archive of ``what``, lacks one of ``names``, or holds object arrays.
    """
    if path.is_dir():
        raise error(f"{path}: is a folder, expected {what}")
    try:
        with path.open("rb") as f:
            magic = f.read(4)
    except FileNotFoundError:
        raise error(f"{path}: no such file") from None
    except OSError as exc:
        raise error(f"{path}: cannot read ({exc.strerror})") from None
    if magic != b"PK\x03\x04":
        raise error(f"{path}: not a readable {what} ({'empty file' if not magic else 'not an .npz archive'})")
    try:
        with np.load(path, allow_pickle=False) as archive:
            missing = [n for n in names if n not in archive.files]
            if missing:
                raise error(f"{path}: not {what} (missing {', '.join(missing)})")
            extra = [n for n in archive.files if optional and n.startswith(optional) and n not in names]
            return {n: archive[n] for n in (*names, *extra)}
    except FileNotFoundError:
        raise error(f"{path}: no such file") from None
    except LogisticSGDError:
        raise
    except MALFORMED as exc:
        if "Object arrays" in str(exc):
            raise error(f"{path}: holds object arrays (pickles), which are not loaded") from None
        raise error(f"{path}: not a readable {what} ({one_line(exc) or type(exc).__name__})") from None
