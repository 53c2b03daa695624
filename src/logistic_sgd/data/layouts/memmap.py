"""A memory-mappable dataset layout, for data larger than memory.

A folder holds ``{train,valid,test}_{x,y}.npy`` and ``manifest.json``. Pixels that were bytes stay
``uint8`` (4x smaller than float32) and are divided by their divisor (255, or 256 for the original
tutorial's pickle: :mod:`..byte_grid`) one minibatch at a time, as float32 division, so training
reads the same numbers as from the in-memory float32 arrays, bit for bit.
Labels are int16 (or int32 beyond 32,767 classes). The manifest, written last, records shapes,
dtypes, the scale and each file's SHA-256.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ...errors import DataError, UsageError, one_line
from ...util.atomic import atomic_write
from ..byte_grid import find_bytes
from ..checks import SPLITS
from ..rows import ScaledArray

MANIFEST = "manifest.json"
FORMAT = "logistic-sgd-memmap"


def convert(datasets: tuple, out: Path) -> Path:
    """Write ``datasets`` in the memory-mappable layout at ``out``: each split's ``x`` and ``y`` as
    ``.npy`` files (images as bytes) and a manifest with their SHA-256.

    Parameters
    ----------
    datasets : tuple of three (x, y) pairs
        The train, validation and test splits, as :func:`~logistic_sgd.data.load_data` returns them.
    out : Path
        The folder to write (created if needed).

    Returns
    -------
    Path
        The manifest's path.

    Raises
    ------
    UsageError
        The folder cannot be created.
    """
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"out {out}: cannot create the folder ({exc.strerror})", "out") from None
    (train_x, _), _, _ = datasets
    found = [_bytes_of(x) for x, _ in datasets]
    divisors = {f[1] for f in found if f is not None}
    as_bytes = None not in found and len(divisors) == 1
    n_classes = max(int(np.max(y)) for _, y in datasets) + 1
    label_dtype = np.int16 if n_classes <= np.iinfo(np.int16).max else np.int32
    manifest: dict[str, Any] = {
        "format": FORMAT, "format_version": 1, "divisor": divisors.pop() if as_bytes else 1,
        "n_features": int(train_x.shape[1]), "n_classes": n_classes, "splits": {},
    }
    for split, (x, y), kept in zip(SPLITS, datasets, found, strict=True):
        xs = kept[0] if as_bytes else np.asarray(x, np.float32)
        manifest["splits"][split] = write_split(out, split, {"x": xs, "y": np.asarray(y).astype(label_dtype)})
    return write_manifest(out, manifest)


def write_split(out: Path, split: str, arrays: dict[str, NDArray[Any]]) -> dict[str, Any]:
    """Each array as ``{split}_{name}.npy`` in ``out``, written atomically, and the split's manifest
    entry: each file's name, dtype, shape and SHA-256."""
    from pooch import file_hash  # imported on first use: reading a layout never hashes

    entry = {}
    for name, array in arrays.items():
        path = out / f"{split}_{name}.npy"
        with atomic_write(path) as f:
            np.save(f, np.ascontiguousarray(array))
        entry[name] = {"file": path.name, "dtype": array.dtype.str, "shape": list(array.shape),
                       "sha256": file_hash(str(path), alg="sha256")}
    return entry


def write_manifest(out: Path, manifest: dict[str, Any]) -> Path:
    """The manifest, written last (atomically): a folder without one is not a dataset."""
    with atomic_write(out / MANIFEST) as f:
        f.write(json.dumps(manifest, indent=2).encode())
    return out


def read_layout(folder: Path) -> tuple:
    """The three splits of a converted folder: x as :class:`ScaledArray` over a read-only memmap, y in memory."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
        if manifest.get("format") != FORMAT:
            raise DataError(f"{folder / MANIFEST}: not a logistic-sgd dataset manifest")
        splits = []
        for split in SPLITS:
            entry = manifest["splits"][split]
            x = np.load(folder / entry["x"]["file"], mmap_mode="r", allow_pickle=False)
            y = np.load(folder / entry["y"]["file"], allow_pickle=False)
            for key, array in (("x", x), ("y", y)):
                if array.dtype.str != entry[key]["dtype"] or list(array.shape) != entry[key]["shape"]:
                    raise DataError(f"{folder / entry[key]['file']}: shape or dtype differs from {MANIFEST}")
            if len(x) != len(y) or (len(y) and (y.min() < 0 or y.max() >= manifest["n_classes"])):
                raise DataError(f"{folder}: {split} labels disagree with {MANIFEST}")
            splits.append((ScaledArray(x, manifest["divisor"], entry["x"]["sha256"]), y.astype(np.int32)))
    except DataError:
        raise
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DataError(f"{folder}: unreadable converted dataset ({one_line(exc)})") from None
    return tuple(splits)


def _bytes_of(x: Any) -> tuple[NDArray[np.uint8], int] | None:
    """The bytes ``u`` and divisor ``d`` that ``x`` stands for (``float32(u) / d``, bit for bit:
    :func:`..byte_grid.find_bytes`), or None."""
    if isinstance(x, ScaledArray) and x.stored.dtype == np.uint8 and x.divisor == int(x.divisor):
        return np.asarray(x.stored), int(x.divisor)
    x = np.asarray(x)
    return (x.reshape(len(x), -1), 255) if x.dtype == np.uint8 else find_bytes(x)
