"""Shared fixtures: small datasets written in every supported form."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest

FASHION = Path("/usr/share/datasets/fashion-mnist")


def write_idx(path: Path, array: np.ndarray, gz: bool = True) -> Path:
    """Write ``array`` (uint8) as an IDX file, gzipped when ``gz``."""
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    data = header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def make_images(n: int, seed: int, n_classes: int = 10, side: int = 28) -> tuple[np.ndarray, np.ndarray]:
    """Learnable synthetic images: each class lights up its own band of pixels, plus noise."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, n_classes, size=n).astype(np.uint8)
    x = rng.integers(0, 90, size=(n, side, side)).astype(np.int32)
    band = side // n_classes
    for k in range(n_classes):
        x[y == k, k * band : (k + 1) * band, :] += 140
    return np.clip(x, 0, 255).astype(np.uint8), y


@pytest.fixture
def idx_folder(tmp_path: Path) -> Path:
    """A small MNIST-like IDX folder: 1,200 training images (1,000 train + 200 valid), 300 test."""
    folder = tmp_path / "idx"
    folder.mkdir()
    tx, ty = make_images(1200, seed=1)
    sx, sy = make_images(300, seed=2)
    write_idx(folder / "train-images-idx3-ubyte.gz", tx)
    write_idx(folder / "train-labels-idx1-ubyte.gz", ty)
    write_idx(folder / "t10k-images-idx3-ubyte.gz", sx)
    write_idx(folder / "t10k-labels-idx1-ubyte.gz", sy)
    return folder
