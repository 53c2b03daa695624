"""Datasets in the seed's shape: ((train_x, train_y), (valid_x, valid_y), (test_x, test_y)).

Three on-disk forms are read, each checked before use:

- the seed's ``mnist.pkl.gz`` (a Python 2 pickle, read by an unpickler that only rebuilds arrays);
- a folder of IDX files (``train-images-idx3-ubyte[.gz]`` and friends): the first 5/6 of the
  training images train (50,000 of MNIST's 60,000), the last 1/6 validate, ``t10k`` tests;
- an ``.npz`` with ``train_x, train_y, valid_x, valid_y, test_x, test_y`` (no pickles allowed).

Pixels stored as bytes become float32 ``x / 255`` (rounded once, as float32 division), which is
bit-for-bit what the seed's pickle holds; the splits named in ``keep_bytes`` stay bytes, in a
:class:`ScaledArray` that hands out those floats (a quarter of the memory). Labels become int32.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..errors import DataError
from .idx import read_idx
from .memmap import MANIFEST, ScaledArray, read_layout
from .npzfile import read_npz
from .pickle_safe import load_pickle

Split = tuple[NDArray[np.floating], NDArray[np.int32]]
Datasets = tuple[Split, Split, Split]
SPLITS = ("train", "valid", "test")
IDX_FILES = {
    "train_x": "train-images-idx3-ubyte",
    "train_y": "train-labels-idx1-ubyte",
    "test_x": "t10k-images-idx3-ubyte",
    "test_y": "t10k-labels-idx1-ubyte",
}


@dataclass(frozen=True)
class LoadedData:
    """Arrays and where they came from (``description`` is one line for logs and model metadata)."""

    datasets: Datasets
    description: str
    path: Path


def load_data(dataset: str | os.PathLike[str] = "mnist") -> Datasets:
    """Load a dataset as the seed's three (x, y) splits.

    Parameters
    ----------
    dataset : str or path
        A file or folder in any supported form (see module docstring), or a dataset name:
        ``"mnist"`` (also the seed's ``"mnist.pkl.gz"``) or ``"fashion-mnist"``, looked up in
        the cache folder (``$LOGISTIC_SGD_DATA``) and downloaded when absent.

    Returns
    -------
    ((train_x, train_y), (valid_x, valid_y), (test_x, test_y))
        ``x`` float32 (or float64, if a ``.npz`` stores float64) of shape (n, n_features);
        ``y`` int32 of shape (n,).
    """
    return open_dataset(dataset).datasets


def open_dataset(dataset: str | os.PathLike[str], keep_bytes: Collection[str] = ()) -> LoadedData:
    """Like :func:`load_data`, keeping a one-line description of the source. The splits named in
    ``keep_bytes`` (of "train", "valid", "test") whose images are stored as bytes stay bytes: their
    ``x`` is then a :class:`ScaledArray` over them."""
    from .datasets import DATASETS, resolve

    name = os.fspath(dataset)
    if name in DATASETS or (name == "mnist.pkl.gz" and not Path(name).exists()):
        path, title = resolve("mnist" if name == "mnist.pkl.gz" else name)
        loaded = read_path(path, keep_bytes)
        return LoadedData(loaded.datasets, f"{title} ({loaded.description})", path)
    return read_path(Path(dataset), keep_bytes)


def read_path(path: Path, keep_bytes: Collection[str] = ()) -> LoadedData:
    """Read a dataset file or folder, choosing the reader from what is there."""
    if not path.exists():
        raise DataError(f"{path}: no such file or folder")
    if path.is_dir():
        if (path / MANIFEST).is_file():
            return LoadedData(read_layout(path), f"converted dataset in {path} (memory-mapped)", path)
        if any(_find(path, stem) for stem in IDX_FILES.values()):
            return LoadedData(read_idx_folder(path, keep_bytes), f"IDX files in {path}", path)
        for name in ("mnist.pkl.gz", "mnist.pkl"):
            if (path / name).is_file():
                return read_path(path / name)
        raise DataError(
            f"{path}: folder holds no dataset (expected {IDX_FILES['train_x']}[.gz] and the other "
            "IDX files, or mnist.pkl.gz)"
        )
    if path.name.endswith(".npz"):
        return LoadedData(read_dataset_npz(path, keep_bytes), f"arrays in {path}", path)
    if path.name.endswith((".pkl", ".pkl.gz", ".pickle")):
        return LoadedData(read_seed_pickle(path), f"pickle {path}", path)
    raise DataError(f"{path}: unknown dataset format (expected .pkl.gz, .npz, or a folder of IDX files)")


def read_seed_pickle(path: Path) -> Datasets:
    """The seed's pickle: a tuple of three (x, y) pairs, checked to hold nothing but arrays."""
    obj = load_pickle(path)
    if not (isinstance(obj, tuple | list) and len(obj) == 3 and all(
        isinstance(s, tuple | list) and len(s) == 2 for s in obj
    )):
        raise DataError(f"{path}: pickle does not hold ((train_x, train_y), (valid_x, valid_y), (test_x, test_y))")
    return _checked(path, {f"{split}_{k}": obj[i][j] for i, split in enumerate(SPLITS) for j, k in enumerate("xy")})


def read_idx_folder(folder: Path, keep_bytes: Collection[str] = ()) -> Datasets:
    """Four IDX files; the training file is split 5/6 train, 1/6 validation (50,000/10,000 for MNIST)."""
    arrays: dict[str, Any] = {}
    for key, stem in IDX_FILES.items():
        found = _find(folder, stem)
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
    n_valid = len(arrays["train_x"]) // 6
    n_train = len(arrays["train_x"]) - n_valid
    tx, ty = arrays["train_x"], arrays["train_y"]
    return _checked(folder, {
        "train_x": tx[:n_train], "train_y": ty[:n_train],
        "valid_x": tx[n_train:], "valid_y": ty[n_train:],
        "test_x": arrays["test_x"], "test_y": arrays["test_y"],
    }, keep_bytes)


def read_dataset_npz(path: Path, keep_bytes: Collection[str] = ()) -> Datasets:
    """An ``.npz`` with the six arrays ``{train,valid,test}_{x,y}``, loaded without pickles."""
    keys = tuple(f"{s}_{k}" for s in SPLITS for k in "xy")
    return _checked(path, read_npz(path, keys, DataError, "dataset .npz"), keep_bytes)


def n_classes(datasets: Datasets) -> int:
    """The number of classes the labels of ``datasets`` need: the largest label + 1, at least 2."""
    return max(2, max(int(np.max(y)) for _, y in datasets) + 1)


def fingerprint(datasets: Datasets) -> str:
    """SHA-256 over every split's shapes, dtypes and bytes: what a checkpoint must be resumed on.
    Bytes held in memory hash as the floats they stand for, so both forms of a dataset agree."""
    digest = hashlib.sha256()
    for x, y in datasets:
        if isinstance(x, ScaledArray) and x.checksum:  # the manifest's checksum stands for a memmapped file
            digest.update(f"{x.checksum}{x.shape}".encode())
            x = np.zeros(0)
        for a in (x, y):
            digest.update(f"{a.dtype.str}{a.shape}".encode())
            blocks = (a[i : i + 8192] for i in range(0, len(a), 8192)) if isinstance(a, ScaledArray) else (a,)
            for block in blocks:
                digest.update(memoryview(np.ascontiguousarray(block)).cast("B"))
    return digest.hexdigest()


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


def _checked(source: Path, arrays: dict[str, Any], keep_bytes: Collection[str] = ()) -> Datasets:
    out: list[Any] = []
    n_features = None
    for split in SPLITS:
        x, y = arrays[f"{split}_x"], arrays[f"{split}_y"]
        where = f"{source}: {split} split"
        if not isinstance(x, np.ndarray) or not isinstance(y, np.ndarray):
            raise DataError(f"{where} is not made of arrays")
        if x.dtype.kind not in "uif" or x.ndim < 2:
            raise DataError(f"{where}: x must be a numeric array of shape (n, features), got {x.dtype} {x.shape}")
        if y.ndim != 1 or len(y) != len(x):
            raise DataError(f"{where}: y must have shape ({len(x)},), got {y.shape}")
        if len(x) == 0:
            raise DataError(f"{where} is empty")
        if split in keep_bytes and x.dtype == np.uint8:  # a copy: a view would hold a larger buffer
            x = ScaledArray(np.array(x.reshape(len(x), -1)), 255)
        else:
            x = as_features(x)
        if not isinstance(x, ScaledArray) and not np.isfinite(x).all():
            raise DataError(f"{where}: x contains NaN or Inf")
        if n_features is None:
            n_features = x.shape[1]
        elif x.shape[1] != n_features:
            raise DataError(f"{where}: {x.shape[1]} features, but the train split has {n_features}")
        out.append((x, _labels(where, y)))
    return out[0], out[1], out[2]


def _labels(where: str, y: NDArray[Any]) -> NDArray[np.int32]:
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


def _find(folder: Path, stem: str) -> Path | None:
    for candidate in (folder / stem, folder / f"{stem}.gz", folder / stem.replace("-idx", ".idx")):
        if candidate.is_file():
            return candidate
    return None
