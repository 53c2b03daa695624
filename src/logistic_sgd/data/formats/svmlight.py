"""svmlight / libsvm text files, read into a :class:`~logistic_sgd.data.rows.CSR` without densifying.

One example a line: ``label index:value index:value ... # comment``. The label is a whole number (a
class); the indices are whole numbers, strictly increasing along a line; an optional ``qid:N`` after
the label is skipped; a ``#`` starts a comment; blank lines are skipped. Indices are one-based (the
libsvm convention) or zero-based: ``zero_based="auto"`` decides as scikit-learn's
``load_svmlight_file`` does, zero-based when some file read together holds an index 0, else
one-based. A file read for testing or prediction may use indices the training file never did:
read them together (:func:`read_svmlight_files`), or pass the model's ``n_features``.

The file is read in chunks; the Numba scanner (:mod:`logistic_sgd.data.formats.svmlight_scan`, when Numba
is installed) reads the common lines, and the Python parser of this module every other line, so both
give the same numbers (Python's ``float``, rounded to ``dtype``). Any malformed line is a
:class:`~logistic_sgd.errors.DataError` of one line naming the file and the line.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
from numpy.typing import DTypeLike, NDArray

from ...errors import DataError, one_line
from ...util.atomic import atomic_write
from ..rows import CSR

CHUNK = 1 << 24  # bytes read at a time (a line longer than this is read whole)
ZeroBased = bool | Literal["auto"]
Labeled = tuple[CSR, NDArray[np.int64]]


SUFFIXES = (".svm", ".svmlight", ".libsvm")


def is_svmlight(path: Path) -> bool:
    """Whether ``path`` is named as an svmlight/libsvm file (``.svm``, ``.svmlight``, ``.libsvm``)."""
    return path.suffix.lower() in SUFFIXES


def read_svmlight(
    path: str | os.PathLike[str], n_features: int | None = None, zero_based: ZeroBased = "auto",
    dtype: DTypeLike = "float32",
) -> Labeled:
    """Read one svmlight/libsvm file.

    Parameters
    ----------
    path : path
        The text file.
    n_features : int, optional
        Columns of the matrix; by default one more than the largest index found. An index at or past
        ``n_features`` is an error.
    zero_based : bool or "auto"
        Whether index 0 is the first column (True) or index 1 is (False); "auto" (default): zero-based
        exactly when the file holds an index 0.
    dtype : {"float32", "float64"}
        Type of the values.

    Returns
    -------
    (CSR, labels)
        The matrix (indices and indptr int32 when they fit, else int64) and the int64 label of each row.

    Raises
    ------
    DataError
        A missing, unreadable, empty or malformed file, naming the file and the line.
    """
    return read_svmlight_files([path], n_features, zero_based, dtype)[0]


def read_svmlight_files(
    paths: Sequence[str | os.PathLike[str]], n_features: int | None = None, zero_based: ZeroBased = "auto",
    dtype: DTypeLike = "float32",
) -> list[Labeled]:
    """Read several svmlight files with one convention and one width: see :func:`read_svmlight_set`."""
    return read_svmlight_set(paths, n_features, zero_based, dtype)[0]


def read_svmlight_set(
    paths: Sequence[str | os.PathLike[str]], n_features: int | None = None, zero_based: ZeroBased = "auto",
    dtype: DTypeLike = "float32",
) -> tuple[list[Labeled], int]:
    """Read several svmlight files with one convention and one width (as scikit-learn's
    ``load_svmlight_files``): "auto" is zero-based when any file holds an index 0, and the width is one
    more than the largest index of all files unless ``n_features`` is given. Parameters, returns and
    errors as :func:`read_svmlight`, and the index the files' features count from (0 or 1)."""
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise ValueError(f"dtype must be float32 or float64, got {dtype}")
    if zero_based not in (True, False, "auto"):
        raise ValueError(f"zero_based must be True, False or 'auto', got {zero_based!r}")
    parsed = [(Path(p), *_parse_file(Path(p), dtype)) for p in paths]
    if zero_based == "auto":
        zero_based = any(len(idx) and idx.min() == 0 for _, _, idx, _, _ in parsed)
    out: list[Labeled] = []
    widest = 1  # a file without any feature has one column, as in scikit-learn
    for path, labels, idx, indptr, data in parsed:
        if not zero_based and len(idx):
            if idx.min() == 0:
                row = int(np.searchsorted(indptr, np.argmin(idx), side="right")) - 1
                raise DataError(f"{path}: line {_line_of_row(path, row)}: index 0, but the files are read as "
                                "counting from 1 (see zero_based)", ("zero_based",))
            idx -= 1
        widest = max(widest, int(idx.max()) + 1 if len(idx) else 0)
        out.append((path, labels, idx, indptr, data))
    width = widest if n_features is None else int(n_features)
    result = []
    for path, labels, idx, indptr, data in out:
        finite = np.isfinite(data)
        if not finite.all():
            row = int(np.searchsorted(indptr, np.argmin(finite), side="right")) - 1
            raise DataError(f"{path}: line {_line_of_row(path, row)}: a value overflows {data.dtype} "
                            "(read with dtype float64)")
        if len(idx) and idx.max() >= width:
            row = int(np.searchsorted(indptr, np.argmax(idx), side="right")) - 1
            first = 0 if zero_based else 1
            raise DataError(f"{path}: line {_line_of_row(path, row)}: feature index {int(idx.max()) + first} "
                            f"is past the {width} features given (n_features)")
        index_type = np.int32 if max(width, len(idx)) < np.iinfo(np.int32).max else np.int64
        matrix = CSR(data, idx.astype(index_type), indptr.astype(index_type), width)
        result.append((matrix, _whole_labels(path, labels)))
    return result, 0 if zero_based else 1


def write_svmlight(
    path: str | os.PathLike[str], X: CSR, y: NDArray[np.integer], zero_based: bool = False
) -> None:
    """Write ``X`` and the labels ``y`` as an svmlight file (one-based indices unless ``zero_based``),
    values in the shortest form that reads back to the same number; atomically."""
    first = 0 if zero_based else 1
    with atomic_write(path) as f:
        for r in range(len(X)):
            lo, hi = int(X.indptr[r]), int(X.indptr[r + 1])
            pairs = "".join(f" {k + first}:{v!r}" for k, v in zip(
                X.indices[lo:hi].tolist(), X.data[lo:hi].tolist(), strict=True))
            f.write(f"{int(y[r])}{pairs}\n".encode())


def _parse_file(path: Path, dtype: np.dtype) -> tuple[NDArray[np.float64], NDArray[np.int64], NDArray[np.int64],
                                                       NDArray[Any]]:
    """Labels, raw indices (as written), indptr and values of every example line of ``path``."""
    try:
        size = path.stat().st_size
        if path.is_dir():
            raise DataError(f"{path}: is a folder, expected an svmlight file")
        lines, colons = _count(path)
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror})") from None
    labels = np.empty(lines, np.float64)
    indptr = np.zeros(lines + 1, np.int64)
    indices = np.empty(colons, np.int64)
    data = np.empty(colons, dtype)
    state = np.zeros(3, np.int64)  # lines read, rows written, values written
    scan = _scanner()
    with path.open("rb") as f:
        carry = b""
        offset = 0
        while offset < size or carry:
            chunk = carry + f.read(CHUNK)
            offset += len(chunk) - len(carry)
            last = chunk.rfind(b"\n") + 1 if offset < size else len(chunk)
            if last == 0:  # no newline yet: a line longer than a chunk
                carry = chunk
                continue
            buf = np.frombuffer(chunk, np.uint8)
            pos = 0
            while pos < last:
                stop = scan(buf, pos, last, state, labels, indptr, indices, data) if scan else pos
                if stop < 0:
                    break
                eol = chunk.find(b"\n", stop, last)
                eol = last if eol < 0 else eol
                _python_line(path, chunk[stop:eol], state, labels, indptr, indices, data)
                pos = eol + 1
            carry = chunk[last:]
            if offset >= size and not carry:
                break
    rows, nnz = int(state[1]), int(state[2])
    if rows == 0:
        raise DataError(f"{path}: no examples (the file is empty or holds only comments)")
    return labels[:rows], indices[:nnz], indptr[: rows + 1], data[:nnz]


def _count(path: Path) -> tuple[int, int]:
    """Lines (an upper bound on rows) and colons (on values) of the file, counted a chunk at a time."""
    lines = 1
    colons = 0
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            lines += chunk.count(b"\n")
            colons += chunk.count(b":")
    return lines, colons


_INDEX = re.compile(rb"\+?[0-9]+")


class _LineError(Exception):
    pass


def _python_line(
    path: Path, line: bytes, state: NDArray[np.int64], labels: Any, indptr: Any, indices: Any, data: Any
) -> None:
    """Read one line into the arrays at ``state``'s position (and count it), or raise its DataError."""
    state[0] += 1
    try:
        parsed = _parse_line(line)
    except _LineError as exc:
        raise DataError(f"{path}: line {int(state[0])}: {exc}") from None
    if parsed is None:
        return
    label, keys, values = parsed
    row, nnz = int(state[1]), int(state[2])
    labels[row] = label
    indices[nnz : nnz + len(keys)] = keys
    with np.errstate(over="ignore"):  # a float64 beyond float32's range: reported once the file is read
        data[nnz : nnz + len(keys)] = values
    state[1] = row + 1
    state[2] = nnz + len(keys)
    indptr[row + 1] = state[2]


def _parse_line(line: bytes) -> tuple[float, list[int], list[float]] | None:
    """``(label, indices, values)`` of one line, or None for a blank or comment line."""
    parts = line.split(b"#", 1)[0].split()
    if not parts:
        return None
    label = _float(parts[0], "label")
    features = parts[1:]
    if features and features[0].startswith(b"qid:"):
        if not _INDEX.fullmatch(features[0][4:]):
            raise _LineError(f"query id {_show(features[0])} is not a whole number")
        features = features[1:]
    keys: list[int] = []
    values: list[float] = []
    prev = -1
    for token in features:
        key, colon, value = token.partition(b":")
        if not colon:
            raise _LineError(f"expected index:value, got {_show(token)}")
        if not _INDEX.fullmatch(key):
            if key.startswith(b"-") and _INDEX.fullmatch(key[1:]):
                raise _LineError(f"feature index {_show(key)} is negative")
            raise _LineError(f"feature index {_show(key)} is not a whole number")
        k = int(key)
        if k == prev:
            raise _LineError(f"duplicate feature index {k}")
        if k < prev:
            raise _LineError(f"feature indices must increase along a line ({prev} then {k})")
        keys.append(k)
        values.append(_float(value, "value"))
        prev = k
    return label, keys, values


def _float(token: bytes, what: str) -> float:
    try:
        value = float(token)
    except ValueError:
        raise _LineError(f"{what} {_show(token)} is not a number") from None
    if not np.isfinite(value) or b"_" in token:
        raise _LineError(f"{what} {_show(token)} is not a finite decimal number")
    return value


def _show(token: bytes) -> str:
    return repr(one_line(token.decode("utf-8", "replace"), 40))


def _whole_labels(path: Path, labels: NDArray[np.float64]) -> NDArray[np.int64]:
    whole = (labels == np.round(labels)) & (np.abs(labels) <= 2**53)  # NaN and infinities fail both
    if not whole.all():
        row = int(np.argmin(whole))
        problem = "is not a whole number" if labels[row] != np.round(labels[row]) else "is too large"
        raise DataError(f"{path}: line {_line_of_row(path, row)}: label {labels[row]:g} {problem} "
                        "(class labels are integers)")
    return labels.astype(np.int64)


def _line_of_row(path: Path, row: int) -> int:
    """The 1-based line number of example ``row`` (blank and comment lines are not examples)."""
    seen = -1
    with path.open("rb") as f:
        for number, line in enumerate(f, 1):
            if line.split(b"#", 1)[0].split():
                seen += 1
                if seen == row:
                    return number
    return 0


def _scanner() -> Any:
    """The compiled scanner, or None without Numba (every line is then read by :func:`_parse_line`)."""
    try:
        from .svmlight_scan import scan
    except ImportError:
        return None
    return scan
