"""A dataset ``.npz``: the six arrays ``{train,valid,test}_{x,y}``, or Keras' ``mnist.npz`` (``x_train,
y_train, x_test, y_test``, images n x 28 x 28, split as the IDX folder of the same images, so both give
the same arrays), loaded without pickles."""

from __future__ import annotations

import zipfile
from collections.abc import Collection
from pathlib import Path

from ...errors import DataError
from ..checks import SPLITS, Datasets, checked, five_sixths
from .npzfile import MALFORMED, read_npz

KERAS_KEYS = ("x_train", "y_train", "x_test", "y_test")


def read_dataset_npz(path: Path, keep_bytes: Collection[str] = ()) -> tuple[Datasets, str]:
    """The three splits of the ``.npz`` at ``path``, and what it held (``"Keras arrays"`` or ``"arrays"``)."""
    if {f"{k}.npy" for k in KERAS_KEYS} <= _members(path):
        arrays = read_npz(path, KERAS_KEYS, DataError, "Keras dataset .npz")
        for split in ("train", "test"):
            x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
            if x.ndim < 2 or y.shape != (len(x),):
                raise DataError(f"{path}: x_{split} of shape {x.shape} but y_{split} of shape {y.shape} "
                                f"(expected ({len(x)},))")
        renamed = {f"{split}_{k}": arrays[f"{k}_{split}"] for split in ("train", "test") for k in "xy"}
        return five_sixths(path, renamed, keep_bytes), "Keras arrays"
    keys = tuple(f"{s}_{k}" for s in SPLITS for k in "xy")
    return checked(path, read_npz(path, keys, DataError, "dataset .npz"), keep_bytes), "arrays"


def _members(path: Path) -> set[str]:
    """The member names of a zip archive (empty if it is not one: the reader then says why)."""
    try:
        with zipfile.ZipFile(path) as archive:
            return set(archive.namelist())
    except MALFORMED:
        return set()
