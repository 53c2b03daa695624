"""IDX files (MNIST, Fashion-MNIST, KMNIST): a big-endian header, then a dense array.

Header: two zero bytes, a type code (0x08 = unsigned byte, ...), the number of dimensions ``d``,
then ``d`` big-endian uint32 sizes. The payload must hold exactly ``prod(sizes)`` items.
Files may be gzip-compressed (``.gz``).
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import os
import struct
import zlib
from collections.abc import Collection
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ...errors import DataError, one_line
from ..checks import Datasets, five_sixths

_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: str | os.PathLike[str]) -> NDArray[np.generic]:
    """Read an IDX file (optionally gzipped) into an array of its declared type and shape.

    Raises
    ------
    DataError
        Missing file, bad gzip stream, wrong magic, or a payload that disagrees with the header.
    """
    path = Path(path)
    raw = read_bytes(path)
    if len(raw) < 4:
        raise DataError(f"{path}: too short to be an IDX file ({len(raw)} bytes)")
    zero, code, ndim = struct.unpack(">HBB", raw[:4])
    if zero != 0 or code not in _TYPES or ndim == 0:
        raise DataError(f"{path}: not an IDX file (magic bytes {raw[:4].hex()})")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(f"{path}: IDX header is truncated")
    shape = struct.unpack(f">{ndim}I", raw[4:header])
    dtype = np.dtype(_TYPES[code])
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) - header != expected:
        raise DataError(
            f"{path}: IDX header says {'x'.join(map(str, shape))} items ({expected} bytes) "
            f"but the payload has {len(raw) - header} bytes"
        )
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


def read_bytes(path: Path) -> bytes:
    """The file's bytes, decompressed when they start with the gzip, bzip2 or xz magic; errors become DataError
    (those of :func:`open_bytes`)."""
    with open_bytes(path) as f:
        try:
            return f.read()
        except OSError as exc:
            raise DataError(f"{path}: cannot read ({exc.strerror})") from None


def open_bytes(path: Path) -> Any:
    """The file as a stream of its bytes, decompressed as it is read when it starts with the gzip, bzip2
    or xz magic (so a large file is never held whole, compressed and not); the same checks and
    messages as :func:`read_bytes` (which reads it whole), a decompression error while reading included.
    Close it after use."""
    f = _open(path)
    head = f.peek(8)[:8]  # not consumed: a pipe is read as a file is
    if not head:
        f.close()
        raise DataError(f"{path}: file is empty")
    for name, (magic, suffix) in _COMPRESSIONS.items():
        if head.startswith(magic):
            return _Decompressing(_OPENERS[name](f), f, path, name)
        if path.suffix == suffix:
            f.close()
            raise DataError(f"{path}: named {suffix} but is not {name} data")
    return f


def _open(path: Path) -> Any:
    """``path`` opened for reading bytes; what stops it is a DataError naming the file."""
    try:
        return path.open("rb")
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise DataError(f"{path}: is a folder, expected a file") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror})") from None


class _Decompressing:
    """A decompressing stream whose errors are DataErrors naming the file, for :func:`open_bytes`."""

    def __init__(self, stream: Any, raw: Any, path: Path, name: str) -> None:
        self.stream, self.raw, self.path, self.name = stream, raw, path, name

    def _call(self, method: str, *args: Any) -> Any:
        try:
            return getattr(self.stream, method)(*args)
        except (OSError, EOFError, ValueError, zlib.error, lzma.LZMAError) as exc:
            raise DataError(f"{self.path}: corrupt or truncated {self.name} data ({one_line(exc)})") from None

    def read(self, size: int = -1) -> bytes:
        return self._call("read", size)

    def readline(self, size: int = -1) -> bytes:
        return self._call("readline", size)

    def readinto(self, buffer: Any) -> int:
        return self._call("readinto", buffer)

    def close(self) -> None:
        self.stream.close()
        self.raw.close()

    def __enter__(self) -> _Decompressing:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_OPENERS = {"gzip": lambda f: gzip.GzipFile(fileobj=f), "bzip2": bz2.BZ2File, "xz": lzma.LZMAFile}

_COMPRESSIONS = {"gzip": (b"\x1f\x8b", ".gz"), "bzip2": (b"BZh", ".bz2"), "xz": (b"\xfd7zXZ\x00", ".xz")}


IDX_FILES = {
    "train_x": "train-images-idx3-ubyte",
    "train_y": "train-labels-idx1-ubyte",
    "test_x": "t10k-images-idx3-ubyte",
    "test_y": "t10k-labels-idx1-ubyte",
}


def read_idx_folder(folder: Path, keep_bytes: Collection[str] = ()) -> Datasets:
    """Four IDX files; the training file is split 5/6 train, 1/6 validation (50,000/10,000 for MNIST)."""
    arrays: dict[str, Any] = {}
    for key, stem in IDX_FILES.items():
        found = find_idx(folder, stem)
        if found is None:
            raise DataError(f"{folder}: missing {stem} (or {stem}.gz)")
        arrays[key] = read_idx(found)
        arrays[key + "_file"] = found
    for split in ("train", "test"):
        x, y = arrays[f"{split}_x"], arrays[f"{split}_y"]
        if y.ndim != 1:
            raise DataError(f"{arrays[split + '_y_file']}: labels must be one-dimensional, got shape {y.shape}")
        if len(x) != len(y):
            raise DataError(
                f"{arrays[split + '_x_file']}: {len(x)} images but {arrays[split + '_y_file'].name} "
                f"has {len(y)} labels"
            )
    return five_sixths(folder, arrays, keep_bytes)


def find_idx(folder: Path, stem: str) -> Path | None:
    """The IDX file ``stem`` in ``folder``: plain, gzipped, or named with a dot (``t10k-images.idx3-ubyte``)."""
    for candidate in (folder / stem, folder / f"{stem}.gz", folder / stem.replace("-idx", ".idx")):
        if candidate.is_file():
            return candidate
    return None
