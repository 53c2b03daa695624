"""A memory-mappable layout for sparse datasets: three CSR arrays per split, as ``.npy`` files.

A folder holds ``{train,valid,test}_{data,indices,indptr,y}.npy`` and ``manifest.json`` (written last,
so a folder without one is not a dataset). Opened, a split's ``data``, ``indices`` and ``indptr`` are
read-only memory maps and its labels are in memory; :meth:`CSR.read_rows` then reads a run of rows
with ``pread`` into fresh arrays, so that training that reads the rows window by window keeps its
resident memory flat, whatever the size of the files (the pages stay in the page cache, outside the
process). The manifest records the width, the number of classes, each file's shape, dtype and SHA-256.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ...errors import DataError, UsageError
from ..rows import CSR
from .memmap import MANIFEST, SPLITS, write_manifest, write_split

FORMAT = "logistic-sgd-csr"
PARTS = ("data", "indices", "indptr", "y")
SparseSplit = tuple[CSR, NDArray[np.integer]]


def convert_sparse(datasets: tuple[SparseSplit, SparseSplit, SparseSplit], out: str | os.PathLike[str]) -> Path:
    """Write the three (CSR, labels) splits in the memory-mappable layout at ``out`` (created if needed).

    Labels are stored as int16 (int32 beyond 32,767 classes); every file is written atomically and the
    manifest last."""
    out = Path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"out {out}: cannot create the folder ({exc.strerror})", "out") from None
    n_features = {x.n_features for x, _ in datasets}
    if len(n_features) != 1:
        raise ValueError(f"the splits must have one width, got {sorted(n_features)}")
    n_classes = max(int(np.max(y)) for _, y in datasets) + 1
    label_dtype = np.int16 if n_classes <= np.iinfo(np.int16).max else np.int32
    manifest: dict[str, Any] = {"format": FORMAT, "format_version": 1, "n_features": n_features.pop(),
                                "n_classes": n_classes, "splits": {}}
    for split, (x, y) in zip(SPLITS, datasets, strict=True):
        arrays = {"data": x.data, "indices": x.indices, "indptr": x.indptr, "y": np.asarray(y).astype(label_dtype)}
        manifest["splits"][split] = write_split(out, split, arrays)
    return write_manifest(out, manifest)


def is_sparse_layout(folder: Path) -> bool:
    """Whether ``folder``'s manifest is this layout's (rather than :mod:`.memmap`'s dense one)."""
    try:
        return json.loads((folder / MANIFEST).read_text()).get("format") == FORMAT
    except (OSError, ValueError, AttributeError):
        return False


def read_sparse_layout(folder: str | os.PathLike[str]) -> tuple[SparseSplit, SparseSplit, SparseSplit]:
    """The three splits of a converted folder: CSR over read-only memory maps, labels (int32) in memory.

    Raises
    ------
    DataError
        No manifest, another format, a file that disagrees with the manifest, or a broken CSR structure.
    """
    folder = Path(folder)
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
        if manifest.get("format") != FORMAT:
            raise DataError(f"{folder / MANIFEST}: not a logistic-sgd sparse dataset manifest")
        width, n_classes = int(manifest["n_features"]), int(manifest["n_classes"])
        splits = []
        for split in SPLITS:
            entry = manifest["splits"][split]
            arrays = {}
            for part in PARTS:
                path = folder / entry[part]["file"]
                array = np.load(path, mmap_mode=None if part == "y" else "r", allow_pickle=False)
                if array.dtype.str != entry[part]["dtype"] or list(array.shape) != entry[part]["shape"]:
                    raise DataError(f"{path}: shape or dtype differs from {MANIFEST}")
                arrays[part] = array
            _check(folder, split, arrays, width, n_classes)
            x = CSR(arrays["data"], arrays["indices"], arrays["indptr"], width)
            splits.append((x, arrays["y"].astype(np.int32)))
    except DataError:
        raise
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DataError(f"{folder}: unreadable converted sparse dataset ({' '.join(str(exc).split())[:160]})") from None
    return splits[0], splits[1], splits[2]


def _check(folder: Path, split: str, a: dict[str, NDArray[Any]], width: int, n_classes: int) -> None:
    """The structure a CSR needs (cheap checks only: the ends of ``indptr``, the labels' range); the
    index range is checked by the readers of the rows they use."""
    indptr, y = a["indptr"], a["y"]
    if indptr.ndim != 1 or len(indptr) != len(y) + 1 or indptr[0] != 0 or indptr[-1] != len(a["data"]) \
            or len(a["indices"]) != len(a["data"]):
        raise DataError(f"{folder}: {split} split: indptr, indices and data disagree")
    if len(y) and (y.min() < 0 or y.max() >= n_classes):
        raise DataError(f"{folder}: {split} labels disagree with {MANIFEST}")
    if a["data"].dtype.kind != "f" or a["indices"].dtype.kind not in "iu" or width < 1:
        raise DataError(f"{folder}: {split} split: data must be floats and indices integers")
