"""Examples to classify: images (PNG, PGM, JPEG... through Pillow), CSV/TSV rows, ``.npy`` arrays,
IDX files. Each becomes rows of the model's features, as in training: pixels ``x / 255`` at the
model's image size, table columns as read (the model's scaling is applied afterwards, by
:class:`~logistic_sgd.outputs.classifier.Classifier`)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from ..errors import DataError, one_line
from . import as_features
from .columns import Frame
from .formats.idx import read_idx
from .formats.images import IMAGE_SUFFIXES, pillow_image, read_grey
from .formats.npzfile import MALFORMED
from .formats.svmlight import is_svmlight, read_svmlight
from .formats.tabular import is_table, read_table
from .preprocess import Preprocessor
from .rows import CSR


def read_examples(
    path: Path, n_in: int, image_shape: tuple[int, int] | None = None, label_column: str | int | None = None,
    zero_based: bool | str = "auto", columns: Preprocessor | None = None,
) -> NDArray[np.floating] | CSR | Frame:
    """Rows of ``n_in`` features from one input file; raises :class:`DataError` naming the file.

    A model with ``columns`` (a table's column pipeline) takes a CSV/TSV file's rows as named
    columns (a :class:`Frame`), found by name in any order (the label column and others ignored),
    which ``columns`` makes its features.

    Images are converted to grey and resized to ``image_shape`` (by default the square of ``n_in``
    pixels: 28 x 28 for 784 inputs); byte pixels become ``x / 255``. A CSV/TSV file's label column
    (``label_column``, or one with a label's name), if it has one, is left out. An svmlight file's
    rows stay sparse (a :class:`CSR`), its indices counting from 0 or 1 as ``zero_based`` says (the
    training files' convention, which model files keep).
    """
    if not path.is_file():
        raise DataError(f"{path}: {'is a folder, expected a file' if path.is_dir() else 'no such file'}")
    suffix = path.suffix.lower()
    if suffix in IMAGE_SUFFIXES:
        rows = _read_image(path, n_in, image_shape)
    elif is_table(path) and columns is not None:
        from .tables import rows_to_classify

        return rows_to_classify(path, columns, label_column)
    elif is_table(path):
        rows = as_features(read_table(path, label_column, require_label=False).x)
    elif is_svmlight(path):
        return _read_svmlight(path, n_in, zero_based)
    elif suffix == ".npy":
        rows = _read_npy(path, n_in)
    elif "idx" in path.name or suffix == ".gz":
        rows = as_features(read_idx(path))
    else:
        raise DataError(f"{path}: unknown input type (expected an image, a CSV/TSV file, .npy, or an IDX file)")
    if rows.ndim == 1:
        rows = rows.reshape(1, -1)
    if rows.ndim != 2 or rows.shape[1] != n_in:
        raise DataError(f"{path}: examples have {rows.shape[1:] or rows.shape} features, the model expects {n_in}")
    if not np.isfinite(rows).all():
        raise DataError(f"{path}: contains NaN or Inf")
    return rows


def _read_svmlight(path: Path, n_in: int, zero_based: bool | str) -> CSR:
    """An svmlight file's rows (their labels ignored), as wide as the model: features the model never
    saw in training have no weights, so they are left out."""
    x, _ = read_svmlight(path, zero_based=zero_based)
    if x.n_features <= n_in:
        return CSR(x.data, x.indices, x.indptr, n_in)
    keep = x.indices < n_in
    row_of = np.repeat(np.arange(len(x)), np.diff(x.indptr))
    indptr = np.zeros_like(x.indptr)
    np.cumsum(np.bincount(row_of[keep], minlength=len(x)), out=indptr[1:])
    return CSR(x.data[keep], x.indices[keep], indptr, n_in)


def _read_npy(path: Path, n_in: int) -> NDArray[np.floating]:
    try:
        arr = np.load(path, allow_pickle=False)
    except MALFORMED as exc:
        raise DataError(f"{path}: not a readable .npy array ({one_line(exc)})") from None
    if not isinstance(arr, np.ndarray):
        arr.close()
        raise DataError(f"{path}: is an .npz archive, expected a single .npy array")
    if arr.dtype.kind not in "uif":
        raise DataError(f"{path}: array of {arr.dtype} is not numeric")
    if arr.ndim == 1 or (arr.ndim == 2 and arr.shape[1] != n_in and arr.size == n_in):
        arr = arr.reshape(1, -1)  # one example, flat or as an image
    return as_features(arr)


def _read_image(path: Path, n_in: int, image_shape: tuple[int, int] | None) -> NDArray[np.floating]:
    pillow = pillow_image(path)
    if image_shape is None:
        side = math.isqrt(n_in)
        if side * side != n_in:
            raise DataError(f"{path}: the model takes {n_in} features, not a square image")
        image_shape = (side, side)
    grey = read_grey(pillow, path)
    if grey.shape != image_shape:
        grey = np.asarray(pillow.fromarray(grey).resize(image_shape[::-1], pillow.Resampling.LANCZOS), dtype=np.uint8)
    return as_features(grey.reshape(1, -1))
