"""Model files: pickle-free ``.npz`` archives (``W``, ``b`` and JSON metadata), written atomically.

Layout of a model file (format version 1)::

    W         float32|float64 (n_in, n_out)
    b         float32|float64 (n_out,)
    metadata  uint8 (k,)   UTF-8 JSON: format, format_version, n_in, n_out, dtype, library
                           version, and whatever the writer adds (data source, hyperparameters,
                           validation and test error)

Files are read with ``allow_pickle=False``: opening a model never runs code.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from .atomic import atomic_write
from .data.npzfile import read_npz
from .errors import ModelFileError
from .model import FLOATX, LogisticRegression

FORMAT = "logistic-sgd-model"
FORMAT_VERSION = 1


def save_model(path: str | os.PathLike[str], model: LogisticRegression, metadata: dict[str, Any] | None = None) -> None:
    """Write ``model`` and ``metadata`` to ``path`` atomically (temp file beside it, then rename)."""
    from . import __version__

    meta = {
        **(metadata or {}),
        "format": FORMAT, "format_version": FORMAT_VERSION, "library_version": __version__,
        "n_in": model.n_in, "n_out": model.n_out, "dtype": model.dtype.name,
    }
    blob = np.frombuffer(json.dumps(meta, sort_keys=True).encode("utf-8"), dtype=np.uint8)
    with atomic_write(path) as f:
        np.savez(f, W=model.backend.to_numpy(model.W), b=model.backend.to_numpy(model.b), metadata=blob)


def load_model(path: str | os.PathLike[str]) -> LogisticRegression:
    """Read a model file written by :func:`save_model`; its metadata is in ``model.metadata``.

    Raises
    ------
    ModelFileError
        The file is missing, not a model file, corrupt, or of an incompatible format version.
    """
    model, _ = read_model(path)
    return model


def read_model(path: str | os.PathLike[str]) -> tuple[LogisticRegression, dict[str, Any]]:
    """Like :func:`load_model`, and also return the metadata dict."""
    path = Path(path)
    arrays = read_npz(path, ("W", "b", "metadata"), ModelFileError, "model file")
    try:
        meta = json.loads(arrays["metadata"].tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ModelFileError(f"{path}: model metadata is not valid JSON") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ModelFileError(f"{path}: not a logistic-sgd model file")
    if meta.get("format_version") != FORMAT_VERSION:
        raise ModelFileError(
            f"{path}: model format version {meta.get('format_version')!r} is not supported "
            f"(this version reads {FORMAT_VERSION})"
        )
    W, b = arrays["W"], arrays["b"]
    if (
        W.dtype.name not in FLOATX or b.dtype != W.dtype or W.ndim != 2 or b.shape != (W.shape[1],)
        or W.shape[1] < 2 or (meta.get("n_in"), meta.get("n_out")) != W.shape
    ):
        raise ModelFileError(
            f"{path}: model arrays are inconsistent (W {W.dtype} {W.shape}, b {b.dtype} {b.shape}, "
            f"metadata says n_in={meta.get('n_in')}, n_out={meta.get('n_out')})"
        )
    if not (np.isfinite(W).all() and np.isfinite(b).all()):
        raise ModelFileError(f"{path}: model parameters contain NaN or Inf")
    model = LogisticRegression(W.shape[0], W.shape[1], dtype=W.dtype)
    model.W[...] = W
    model.b[...] = b
    model.metadata = meta
    return model, meta

