"""Examples to classify, read from images (PNG, PGM, ... through Pillow), ``.npy`` arrays or IDX files."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from .data import as_features
from .data.idx import read_idx
from .data.npzfile import MALFORMED
from .errors import DataError, one_line

IMAGE_SUFFIXES = {".png", ".pgm", ".pnm", ".ppm", ".pbm", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp"}


def read_examples(path: Path, n_in: int) -> NDArray[np.floating]:
    """Rows of ``n_in`` features from one input file; raises :class:`DataError` naming the file.

    Images are converted to grey and resized to the model's square side (28 for 784 inputs).
    Byte pixels become ``x / 255``, as in training.
    """
    suffix = path.suffix.lower()
    if not path.is_file():
        raise DataError(f"{path}: {'is a folder, expected a file' if path.is_dir() else 'no such file'}")
    if suffix in IMAGE_SUFFIXES:
        rows = _read_image(path, n_in)
    elif suffix == ".npy":
        rows = _read_npy(path, n_in)
    elif "idx" in path.name or suffix == ".gz":
        rows = as_features(read_idx(path))
    else:
        raise DataError(f"{path}: unknown input type (expected an image, .npy, or an IDX file)")
    if rows.ndim == 1:
        rows = rows.reshape(1, -1)
    if rows.ndim != 2 or rows.shape[1] != n_in:
        raise DataError(f"{path}: examples have {rows.shape[1:] or rows.shape} features, the model expects {n_in}")
    if not np.isfinite(rows).all():
        raise DataError(f"{path}: contains NaN or Inf")
    return rows


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


def _read_image(path: Path, n_in: int) -> NDArray[np.floating]:
    try:
        from PIL import Image, UnidentifiedImageError
    except ImportError:
        raise DataError(f"{path}: reading images needs Pillow: pip install 'logistic-sgd[images]'") from None
    side = math.isqrt(n_in)
    if side * side != n_in:
        raise DataError(f"{path}: the model takes {n_in} features, not a square image")
    try:
        with Image.open(path) as img:
            grey = img.convert("L")
            if grey.size != (side, side):
                grey = grey.resize((side, side), Image.Resampling.LANCZOS)
            pixels = np.asarray(grey, dtype=np.uint8)
    except (UnidentifiedImageError, Image.DecompressionBombError, SyntaxError, *MALFORMED) as exc:
        raise DataError(f"{path}: not a readable image ({one_line(exc)})") from None
    return as_features(pixels.reshape(1, -1))
