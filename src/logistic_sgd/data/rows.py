"""The kinds of rows a dataset's ``x`` can be, besides a plain float array: bytes seen as floats
(:class:`ScaledArray`), and sparse rows (:class:`CSR`).

Both answer what the loop and the scores ask of rows: ``len``, ``shape``, ``dtype`` and slicing
``x[a:b]`` for a minibatch. What is computed on them is a backend's business (``backends/``); the
rest of the package never asks which kind it holds.

A :class:`CSR` is a compressed-sparse-row matrix as three plain arrays, readable without SciPy.
Row ``r`` holds the values ``data[indptr[r]:indptr[r + 1]]`` in the columns
``indices[indptr[r]:indptr[r + 1]]``, in increasing order; every other entry is zero. The arrays may
be in memory or memory-mapped. This is SciPy's CSR layout (``scipy.sparse.csr_array``), so
conversions either way share the arrays instead of copying them.
"""

from __future__ import annotations

import mmap
from dataclasses import dataclass
from typing import Any, TypeAlias

import numpy as np
from numpy.typing import NDArray

from ..util.arrays import Array
from ..util.extras import require


@dataclass(frozen=True)
class CSR:
    """A sparse matrix of shape ``(len(indptr) - 1, n_features)`` in compressed-sparse-row form.

    Parameters
    ----------
    data : array of shape (nnz,), float32 or float64
        The non-zero values, row after row.
    indices : array of shape (nnz,), int32 or int64
        The column of each value; increasing within a row, in ``[0, n_features)``.
    indptr : array of shape (n_rows + 1,), of ``indices``' dtype
        Where each row starts in ``data``; ``indptr[0] == 0`` and ``indptr[-1] == nnz``.
    n_features : int
        Number of columns.
    """

    data: NDArray[np.floating]
    indices: NDArray[np.integer]
    indptr: NDArray[np.integer]
    n_features: int

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.indptr) - 1, self.n_features

    @property
    def ndim(self) -> int:
        return 2

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def nnz(self) -> int:
        return int(self.indptr[-1])

    def __len__(self) -> int:
        return len(self.indptr) - 1

    def __getitem__(self, index: slice | NDArray[np.integer]) -> CSR:
        """Rows by a slice of step 1 (:meth:`read_rows`: views in memory, read from a memory map) or by
        an array of positions (:meth:`take`): what the training loop and the scores take."""
        if isinstance(index, slice):
            start, stop, step = index.indices(len(self))
            if step != 1:
                raise IndexError("CSR rows are taken by slices of step 1 or by arrays of positions")
            return self.read_rows(start, max(start, stop))
        return self.take(np.asarray(index))

    def rows(self, start: int, stop: int) -> CSR:
        """Rows ``start:stop`` (``0 <= start <= stop <= n_rows``): views of ``data`` and ``indices``, and a
        new ``indptr`` counted from zero."""
        lo, hi = int(self.indptr[start]), int(self.indptr[stop])
        return CSR(self.data[lo:hi], self.indices[lo:hi], self.indptr[start : stop + 1] - lo, self.n_features)

    def read_rows(self, start: int, stop: int) -> CSR:
        """Rows ``start:stop`` as :meth:`rows`, but read from memory-mapped files with ``pread`` into fresh
        arrays: the file's pages stay in the page cache, out of this process's resident memory, so a
        reader of window after window keeps its memory flat. Views, for arrays in memory."""
        if not isinstance(self.data, np.memmap):
            return self.rows(start, stop)
        indptr = _pread(self.indptr, start, stop + 1)
        lo, hi = int(indptr[0]), int(indptr[-1])
        return CSR(_pread(self.data, lo, hi), _pread(self.indices, lo, hi), indptr - lo, self.n_features)

    def take(self, rows: NDArray[np.integer]) -> CSR:
        """The rows at the integer positions ``rows``, in that order, as a new matrix."""
        rows = np.asarray(rows, dtype=np.int64)
        starts, stops = self.indptr[rows].astype(np.int64), self.indptr[rows + 1].astype(np.int64)
        lengths = stops - starts
        indptr = np.zeros(len(rows) + 1, dtype=self.indptr.dtype)
        np.cumsum(lengths, out=indptr[1:])
        # position k of the result reads starts[row of k] + (k - indptr[row of k])
        gather = np.repeat(starts - indptr[:-1], lengths) + np.arange(int(indptr[-1]))
        return CSR(self.data[gather], self.indices[gather], indptr, self.n_features)

    def astype(self, dtype: Any) -> CSR:
        """The same matrix with values of ``dtype`` (no copy when they already are)."""
        return CSR(self.data.astype(dtype, copy=False), self.indices, self.indptr, self.n_features)

    def to_scipy(self) -> Any:
        """A ``scipy.sparse.csr_array`` sharing these arrays (the ``[scipy]`` extra)."""
        return scipy_sparse().csr_array((self.data, self.indices, self.indptr), shape=self.shape, copy=False)

    def toarray(self) -> NDArray[np.floating]:
        """The dense matrix (for small matrices and tests; the training path never calls it)."""
        out = np.zeros(self.shape, dtype=self.dtype)
        rows = np.repeat(np.arange(len(self)), np.diff(self.indptr))
        out[rows, self.indices] = self.data
        return out

    @classmethod
    def from_scipy(cls, matrix: Any) -> CSR:
        """A SciPy sparse matrix or array as a :class:`CSR` (its arrays, when it is CSR with sorted
        indices already; else a converted copy)."""
        m = matrix.tocsr()
        if not m.has_sorted_indices:
            m = m.sorted_indices()
        m.sum_duplicates()
        return cls(m.data, m.indices, m.indptr, int(m.shape[1]))

    @classmethod
    def from_dense(cls, x: Any) -> CSR:
        """The non-zeros of the 2-D array ``x``."""
        x = np.asarray(x)
        rows, cols = np.nonzero(x)
        indptr = np.zeros(x.shape[0] + 1, dtype=np.int32)
        np.cumsum(np.bincount(rows, minlength=x.shape[0]), out=indptr[1:])
        return cls(x[rows, cols], cols.astype(np.int32), indptr, int(x.shape[1]))


def _pread(array: NDArray[Any], lo: int, hi: int) -> NDArray[Any]:
    """Elements ``lo:hi`` of a memory-mapped 1-D array, read from its file into a new array."""
    if not isinstance(array, np.memmap):
        return np.array(array[lo:hi])
    out = np.empty(hi - lo, array.dtype)
    with open(array.filename, "rb", buffering=0) as f:
        f.seek(array.offset + lo * array.itemsize)
        if f.readinto(memoryview(out).cast("B")) != out.nbytes:
            raise OSError(f"{array.filename}: shorter than its header says")
    return out


def scipy_sparse() -> Any:
    """``scipy.sparse``, or a :class:`~logistic_sgd.errors.MissingExtraError` naming the extra that brings it."""
    return require("scipy.sparse", "scipy", "sparse data on the numpy backend")


class ScaledArray:
    """A read-only 2-D array of stored values (e.g. ``uint8``, in memory or memory-mapped) seen as
    float32 ``stored / divisor``.

    Indexing (a slice, or an index array) returns the scaled float32 block; nothing else is read.
    The view from :meth:`unscaled` hands out its rows still stored, as ScaledArrays, for compiled
    kernels that scale bytes themselves (see :mod:`logistic_sgd.backends.numba.kernels`).
    """

    def __init__(
        self, stored: NDArray[Any], divisor: float, checksum: str = "", dtype: Any = np.float32,
        unscaled_rows: bool = False,
    ) -> None:
        self.stored = stored
        self.divisor = divisor
        self.checksum = checksum
        self.shape = stored.shape
        self.ndim = 2
        self.dtype = np.dtype(dtype)
        self.unscaled_rows = unscaled_rows

    def astype(self, dtype: Any) -> ScaledArray:
        """The same view, handing out ``dtype`` blocks (scaled in float32 first, as in-memory data are)."""
        return ScaledArray(self.stored, self.divisor, self.checksum, dtype, self.unscaled_rows)

    def unscaled(self) -> ScaledArray:
        """The same view, whose indexing returns the stored rows as a ScaledArray instead of floats."""
        return ScaledArray(self.stored, self.divisor, self.checksum, self.dtype, unscaled_rows=True)

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, index: Any) -> Any:
        block = self._read(index)
        if self.unscaled_rows:
            return ScaledArray(block, self.divisor, dtype=self.dtype, unscaled_rows=True)
        return self._scale(block)

    def _scale(self, block: NDArray[Any]) -> NDArray[np.floating]:
        scaled = block.astype(np.float32) if self.divisor == 1 else np.divide(
            block, np.float32(self.divisor), dtype=np.float32)
        return scaled if self.dtype == np.float32 else scaled.astype(self.dtype)

    def _read(self, index: Any) -> NDArray[Any]:
        """The stored rows at ``index`` (a view of stored data in memory, where indexing gives one).
        From a memory map, a run of rows is read with ``pread`` into a fresh buffer, so the
        pages stay in the page cache and out of this process's resident memory; other indices gather
        through the memory map, whose pages are then released every so often (``MADV_DONTNEED``)."""
        stored = self.stored
        if not isinstance(stored, np.memmap):
            return stored[index]
        if isinstance(index, slice) and index.step in (None, 1):
            lo, hi, _ = index.indices(len(stored))
            hi = max(lo, hi)
            row = stored.strides[0]
            out = np.empty((hi - lo, *stored.shape[1:]), dtype=stored.dtype)
            with open(stored.filename, "rb", buffering=0) as f:
                f.seek(stored.offset + lo * row)
                f.readinto(memoryview(out).cast("B"))
            return out
        block = np.array(stored[index])
        mapping = getattr(stored, "_mmap", None)
        self._gathers = getattr(self, "_gathers", 0) + 1
        if mapping is not None and self._gathers % 64 == 0 and hasattr(mmap, "MADV_DONTNEED"):
            mapping.madvise(mmap.MADV_DONTNEED)
        return block

    def __array__(self, dtype: Any = None, copy: Any = None) -> NDArray[Any]:
        full = self._scale(self._read(slice(None)))
        return full if dtype is None else full.astype(dtype, copy=False)


def is_sparse(x: Any) -> bool:
    """Whether ``x`` holds sparse rows (a :class:`CSR`), for code outside the data layer that must
    know (the defaults chosen for the data)."""
    return isinstance(x, CSR)


def in_dtype(x: Any, dtype: Any) -> Any:
    """The rows ``x`` in ``dtype``: sparse rows stay sparse (a :class:`CSR`), anything else becomes a
    NumPy array."""
    return x.astype(dtype) if isinstance(x, CSR) else np.asarray(x, dtype=dtype)


def update_digest(digest: Any, x: Any) -> None:
    """Feed the rows (or labels) ``x`` to ``digest`` (a :mod:`hashlib` object): dtype, shape and
    values. Bytes seen as floats hash as the floats they stand for, so both forms of a dataset
    agree, and a memory-mapped layout's checksum stands for its file; sparse rows hash as their
    shape and three arrays."""
    if isinstance(x, ScaledArray) and x.checksum:
        digest.update(f"{x.checksum}{x.shape}".encode())
        x = np.zeros(0)
    if isinstance(x, CSR):
        digest.update(f"csr{x.dtype.str}{x.shape}".encode())
        for a in (x.data, x.indices, x.indptr):
            digest.update(memoryview(np.ascontiguousarray(a)).cast("B"))
        return
    digest.update(f"{x.dtype.str}{x.shape}".encode())
    blocks = (x[i : i + 8192] for i in range(0, len(x), 8192)) if isinstance(x, ScaledArray) else (x,)
    for block in blocks:
        digest.update(memoryview(np.ascontiguousarray(block)).cast("B"))


Rows: TypeAlias = "Array | ScaledArray | CSR"
"""A dataset's ``x`` as a backend takes it: an array, bytes seen as floats (:class:`ScaledArray`) or
sparse rows (:class:`CSR`)."""
