"""Generate a synthetic dataset directly in the memory-mappable layout, in chunks (memory stays flat).

Images are uint8 noise with one bright band per class (a learnable linear problem), so the data
behave like MNIST-sized rows at any scale: 0.5 M rows of 784 bytes is 392 MB, 5 M is 3.9 GB.

Usage: python benchmarks/make_synthetic.py OUT_DIR N_TRAIN [--features 784] [--classes 10] [--seed 0]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from pooch import file_hash

CHUNK = 65536


def write_synthetic(out: Path, n_train: int, n_features: int = 784, n_classes: int = 10, seed: int = 0) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    n_eval = max(600, n_train // 50)
    manifest = {"format": "logistic-sgd-memmap", "format_version": 1, "divisor": 255, "n_features": n_features,
                "n_classes": n_classes, "splits": {}}
    band = max(1, n_features // n_classes)
    for split, n in (("train", n_train), ("valid", n_eval), ("test", n_eval)):
        x = np.lib.format.open_memmap(out / f"{split}_x.npy", mode="w+", dtype=np.uint8, shape=(n, n_features))
        y = np.empty(n, dtype=np.int16)
        for lo in range(0, n, CHUNK):
            hi = min(n, lo + CHUNK)
            labels = rng.integers(0, n_classes, size=hi - lo)
            block = rng.integers(0, 160, size=(hi - lo, n_features), dtype=np.uint8)
            cols = labels[:, None] * band + np.arange(band)[None, :]
            np.put_along_axis(block, cols, np.minimum(255, np.take_along_axis(block, cols, 1) + 90).astype(np.uint8), 1)
            x[lo:hi] = block
            y[lo:hi] = labels
        x.flush()
        del x
        np.save(out / f"{split}_y.npy", y)
        manifest["splits"][split] = {
            key: {"file": f"{split}_{key}.npy", "dtype": dt, "shape": shape,
                  "sha256": file_hash(str(out / f"{split}_{key}.npy"), alg="sha256")}
            for key, dt, shape in (("x", "|u1", [n, n_features]), ("y", "<i2", [n]))
        }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("n_train", type=int)
    parser.add_argument("--features", type=int, default=784)
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    a = parser.parse_args()
    write_synthetic(a.out, a.n_train, a.features, a.classes, a.seed)
    print(f"wrote {a.out}: {a.n_train} x {a.features} uint8 training rows")
