"""IDX files (MNIST, Fashion-MNIST, KMNIST): a big-endian header, then a dense array.

Header: two zero bytes, a type code (0x08 = unsigned byte, ...), the number of dimensions ``d``,
then ``d`` big-endian uint32 sizes. The payload must hold exactly ``prod(sizes)`` items.
Files may be gzip-compressed (``.gz``).
"""

from __future__ import annotations

import gzip
import os
import struct
import zlib
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from ..errors import DataError, one_line

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
    """The file's bytes, gunzipped when it starts with the gzip magic; errors become DataError."""
    try:
        with path.open("rb") as f:
            raw = f.read()
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise DataError(f"{path}: is a folder, expected a file") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror})") from None
    if not raw:
        raise DataError(f"{path}: file is empty")
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            raise DataError(f"{path}: corrupt or truncated gzip data ({one_line(exc)})") from None
    elif path.suffix == ".gz":
        raise DataError(f"{path}: named .gz but is not gzip data")
    return raw
