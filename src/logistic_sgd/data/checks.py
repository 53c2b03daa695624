"""The checks every dataset passes, whatever its source: the original tutorial's three ``(x, y)``
splits, numeric rows of one width (or sparse rows), finite features and whole non-negative labels.

Pixels stored as bytes become float32 ``x / 255`` (rounded once, as float32 division), which is
bit-for-bit what the original tutorial's pickle holds; the splits named in ``keep_bytes`` stay
bytes, in a :class:`.rows.ScaledArray` that hands out those floats (a quarter of the memory).
Float32 pixels that are bytes in disguise (every value ``u / 255`` or ``u / 256`` for a byte ``u``,
bit for bit, as in the original tutorial's pickle: :mod:`.byte_grid`) are kept as those bytes in
the same way. Other features stay as read (float64 from a CSV); :mod:`.scaling` standardises them. Labels become int32
class indices.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..errors import DataError
from . import byte_grid
from .documents import Documents
from .rows import CSR, ScaledArray

Split = tuple[NDArray[np.floating], NDArray[np.int32]]
Datasets = tuple[Split, Split, Split]
SPLITS = ("train", "valid", "test")


def n_classes(datasets: Datasets) -> int:
    """The number of classes the labels of ``datasets`` need: the largest label + 1, at least 2."""
    return max(2, max(int(np.max(y)) for _, y in datasets) + 1)


def as_features(x: NDArray[Any]) -> NDArray[np.floating]:
    """Images or feature rows as float rows: uint8 becomes float32 ``x / 255``; (n, h, w) becomes (n, h*w)."""
    x = np.asarray(x)
    if x.ndim > 2:
        x = x.reshape(len(x), -1)
    if x.dtype == np.uint8:
        return np.divide(x, np.float32(255), dtype=np.float32)
    if x.dtype in (np.float32, np.float64):
        return np.ascontiguousarray(x)
    return x.astype(np.float32)


def checked(source: Path, arrays: dict[str, Any], keep_bytes: Collection[str] = ()) -> Datasets:
    out = [checked_split(f"{source}: {split} split", arrays[f"{split}_x"], arrays[f"{split}_y"], split in keep_bytes)
           for split in SPLITS]
    n_features = out[0][0].shape[1]
    for split, (x, _) in zip(SPLITS, out, strict=True):
        if x.shape[1] != n_features:
            raise DataError(f"{source}: {split} split: {x.shape[1]} features, but the train split has {n_features}")
    return out[0], out[1], out[2]


def checked_split(where: str, x: Any, y: Any, keep_bytes: bool = False) -> Split:
    """One split checked: numeric x (n, features...) made float rows (or kept bytes; sparse rows stay
    sparse, raw text stays text), y whole labels."""
    if isinstance(x, CSR | Documents) and isinstance(y, np.ndarray):
        if y.ndim != 1 or len(y) != len(x) or len(x) == 0:
            raise DataError(f"{where}: {len(x)} rows but labels of shape {y.shape}")
        return x, checked_labels(where, y)
    if not isinstance(x, np.ndarray) or not isinstance(y, np.ndarray):
        raise DataError(f"{where} is not made of arrays")
    if x.dtype.kind not in "uif" or x.ndim < 2:
        raise DataError(f"{where}: x must be a numeric array of shape (n, features), got {x.dtype} {x.shape}")
    if y.ndim != 1 or len(y) != len(x):
        raise DataError(f"{where}: y must have shape ({len(x)},), got {y.shape}")
    if len(x) == 0:
        raise DataError(f"{where} is empty")
    rows = x.reshape(len(x), -1)
    if keep_bytes and x.dtype == np.uint8:
        x = ScaledArray(np.array(rows), 255)  # a copy: a view would hold a larger buffer
    elif keep_bytes and (found := byte_grid.find_bytes(rows)) is not None:
        x = ScaledArray(*found)  # float32 pixels u / divisor, bit for bit (the original tutorial's pickle)
    else:
        x = as_features(x)
    if not isinstance(x, ScaledArray) and not np.isfinite(x).all():
        raise DataError(f"{where}: x contains NaN or Inf")
    return x, checked_labels(where, y)


def checked_labels(where: str, y: NDArray[Any]) -> NDArray[np.int32]:
    if y.dtype.kind == "f":
        if not np.isfinite(y).all() or (y != np.round(y)).any():
            raise DataError(f"{where}: labels must be whole numbers")
    elif y.dtype.kind not in "ui":
        raise DataError(f"{where}: labels must be integers, got {y.dtype}")
    if y.min() < 0:
        raise DataError(f"{where}: labels must be >= 0, found {y.min()}")
    if y.max() > 100_000:
        raise DataError(f"{where}: label {y.max()} is implausibly large (expected class indices 0..K-1)")
    return y.astype(np.int32)


def five_sixths(source: Path, arrays: dict[str, Any], keep_bytes: Collection[str] = ()) -> Datasets:
    """The original tutorial's split of MNIST's training images: the first 5/6 train, the last 1/6 validate."""
    tx, ty = arrays["train_x"], arrays["train_y"]
    n_train = len(tx) - len(tx) // 6
    return checked(source, {
        "train_x": tx[:n_train], "train_y": ty[:n_train],
        "valid_x": tx[n_train:], "valid_y": ty[n_train:],
        "test_x": arrays["test_x"], "test_y": arrays["test_y"],
    }, keep_bytes)
