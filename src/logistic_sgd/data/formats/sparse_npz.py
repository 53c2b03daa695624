"""CSR matrices in SciPy's ``.npz`` form (``scipy.sparse.save_npz``), read and written without SciPy.

The archive holds ``format`` (``b"csr"``), ``shape``, ``data``, ``indices`` and ``indptr`` (and
``_is_array`` for a ``csr_array``); :func:`write_csr_npz` may add the labels as ``y``, which
``scipy.sparse.load_npz`` ignores. Nothing is unpickled. A matrix whose indices are not sorted and
unique along each row is refused (SciPy allows them; :meth:`CSR.from_scipy` makes them so).
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from ...errors import DataError
from ...util.atomic import atomic_write
from ..rows import CSR
from .npzfile import MALFORMED, read_npz

KEYS = ("format", "shape", "data", "indices", "indptr")


def is_csr_npz(path: Path) -> bool:
    """Whether the ``.npz`` at ``path`` holds a matrix written by ``scipy.sparse.save_npz`` (its
    ``format``, ``shape``, ``data``, ``indices`` and ``indptr`` members)."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = set(archive.namelist())
    except MALFORMED:  # not a readable zip: the reader says why
        return False
    return {"format.npy", "shape.npy", "data.npy", "indices.npy", "indptr.npy"} <= members


def read_csr_npz(path: str | os.PathLike[str]) -> tuple[CSR, NDArray[np.int64] | None]:
    """The CSR matrix of a ``scipy.sparse.save_npz`` file, and its labels ``y`` when the archive holds them.

    Raises
    ------
    DataError
        A missing or unreadable file, another sparse format, or arrays that do not form a CSR matrix
        (one line naming the file and the problem).
    """
    path = Path(path)
    a = read_npz(path, KEYS, DataError, "SciPy sparse matrix (.npz)", optional=("y",))
    fmt = a["format"].item()
    fmt = fmt.decode("ascii", "replace") if isinstance(fmt, bytes) else str(fmt)
    if fmt != "csr":
        raise DataError(f"{path}: a {fmt!r} sparse matrix; save it as CSR (matrix.tocsr())")
    shape, data, indices, indptr = a["shape"], a["data"], a["indices"], a["indptr"]
    if shape.shape != (2,) or shape.dtype.kind not in "iu" or min(shape) < 0:
        raise DataError(f"{path}: shape must be two counts, got {shape.tolist()}")
    n_rows, width = int(shape[0]), int(shape[1])
    if data.dtype.kind != "f" or indices.dtype.kind not in "iu" or indptr.dtype.kind not in "iu":
        raise DataError(f"{path}: data must be floats and indices, indptr integers, got "
                        f"{data.dtype}, {indices.dtype}, {indptr.dtype}")
    if not (data.ndim == indices.ndim == indptr.ndim == 1 and len(indptr) == n_rows + 1 and len(indices) == len(data)
            and indptr[0] == 0 and indptr[-1] == len(data) and np.all(np.diff(indptr) >= 0)):
        raise DataError(f"{path}: indptr, indices and data do not form a CSR matrix of shape {n_rows} x {width}")
    if len(indices) and (indices.min() < 0 or indices.max() >= width):
        raise DataError(f"{path}: a column index lies outside [0, {width})")
    increasing = np.diff(indices.astype(np.int64)) > 0
    starts = indptr[1:-1][(indptr[1:-1] > 0) & (indptr[1:-1] < len(indices))]
    increasing[starts - 1] = True  # a new row may start lower
    if not increasing.all():
        row = int(np.searchsorted(indptr, np.argmin(increasing) + 1, side="right")) - 1
        raise DataError(f"{path}: row {row} has unsorted or repeated column indices (matrix.sum_duplicates() and "
                        "matrix.sort_indices() make them sorted and unique)")
    if not np.isfinite(data).all():
        raise DataError(f"{path}: the matrix holds NaN or Inf")
    y = a.get("y")
    if y is not None:
        if y.shape != (n_rows,) or y.dtype.kind not in "iu":
            raise DataError(f"{path}: y must hold {n_rows} integer labels, got {y.dtype} {y.shape}")
        y = y.astype(np.int64)
    index_type = np.int32 if max(width, len(indices)) < np.iinfo(np.int32).max else np.int64
    return CSR(data, indices.astype(index_type, copy=False), indptr.astype(index_type, copy=False), width), y


def write_csr_npz(path: str | os.PathLike[str], X: CSR, y: NDArray[np.integer] | None = None) -> None:
    """Write ``X`` (and the labels ``y``) as ``scipy.sparse.save_npz`` does, atomically."""
    arrays = {"indices": X.indices, "indptr": X.indptr, "format": np.array(b"csr"), "shape": np.array(X.shape),
              "data": X.data}
    if y is not None:
        arrays["y"] = np.asarray(y)
    with atomic_write(path) as f:
        np.savez(f, **arrays)
