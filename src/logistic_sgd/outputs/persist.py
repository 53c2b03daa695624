"""Model files: pickle-free ``.npz`` archives (``W``, ``b`` and JSON metadata), written atomically.

Layout of a model file (format version 1, or 2 where ``W_rows`` is present)::

    W           float32|float64 (n_in, n_out); in format version 2, only its rows that are not all
                zero (bit for bit: a row holding -0.0 is kept), in order
    W_rows      int64 (k,)   format version 2 only: the indices of those rows, increasing. A wide
                             model whose inputs were never all seen in training (hashed text: many of
                             the 2^20 rows of a model of a few thousand documents) is written so when
                             it saves a quarter of W's bytes or more, and at least 1 MB
    b           float32|float64 (n_out,)
    metadata    uint8 (k,)   UTF-8 JSON: format, format_version, n_in, n_out, dtype, library
                             version, and whatever the writer adds (data source, class names,
                             image shape, hyperparameters, validation and test error)
    scale_mean  float64 (n_in,)  optional: the features' standardisation, fitted on the training
    scale_std   float64 (n_in,)  split, applied to inputs before the model (:mod:`logistic_sgd.data.scaling`)
    prep_columns uint8 (k,)      optional: a table's column pipeline as UTF-8 JSON, fitted on the
                                 training split, making named columns the n_in features
                                 (:mod:`logistic_sgd.data.preprocess`)

Files are read with ``allow_pickle=False``: opening a model never runs code.
"""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .._version import __version__
from ..core.model import FLOATX, LogisticRegression
from ..core.stopping import PatienceStopping
from ..data.checks import Datasets
from ..data.formats.npzfile import read_npz
from ..data.preprocess import Preprocessor
from ..data.rows import update_digest
from ..data.scaling import Standardizer
from ..data.vectorize import TextVectorizer
from ..errors import ModelFileError, one_line
from ..training.config import TrainConfig
from ..training.events import TrainState
from ..util.arrays import NUMPY_ARRAYS, Arrays
from ..util.atomic import atomic_write
from .classifier import Classifier

if TYPE_CHECKING:
    from ..backends import Backend

FORMAT = "logistic-sgd-model"
FORMAT_VERSION = 1
ROWS_FORMAT_VERSION = 2  # W stored as its rows that are not all zero, and W_rows
READ_VERSIONS = (FORMAT_VERSION, ROWS_FORMAT_VERSION)


def save_model(
    path: str | os.PathLike[str], model: LogisticRegression, metadata: dict[str, Any] | None = None,
    scaler: Standardizer | None = None, columns: Preprocessor | None = None,
    vectorizer: TextVectorizer | None = None,
) -> None:
    """Write ``model``, ``metadata``, the inputs' ``scaler``, a table's ``columns`` and the text
    ``vectorizer`` to ``path`` atomically (temp file beside it, then rename).

    The file is an ``.npz`` archive read without pickle: ``W`` (only its rows that are not all zero, and
    their indices as ``W_rows``, where that saves a quarter of it: format version 2), ``b``, the
    metadata as JSON and, with ``scaler``, its mean and scale; with ``columns``, the column pipeline
    as JSON; with ``vectorizer``, its ``text_*`` arrays.

    Parameters
    ----------
    path : str or os.PathLike
        Where to write (conventionally ``*.npz``).
    model : LogisticRegression
        The model.
    metadata : dict, optional
        JSON-ready facts to keep with it (class names, image shape, the run's figures).
    scaler : Standardizer, optional
        The scaling of the inputs the model was trained on, applied again by :func:`load_classifier`.
    columns : Preprocessor, optional
        A table's column pipeline, fitted on the training split, applied again by :func:`load_classifier`.
    vectorizer : TextVectorizer, optional
        The text vectoriser that made the inputs (:mod:`logistic_sgd.data.vectorize`), applied again
        by :func:`load_classifier`'s classifier to raw text.
    """
    W = model.arrays.to_numpy(model.W)
    weights = _rows_kept(W)  # the rows written, or None: all of W
    meta = {
        **(metadata or {}),
        "format": FORMAT, "format_version": FORMAT_VERSION if weights is None else ROWS_FORMAT_VERSION,
        "library_version": __version__, "n_in": model.n_in, "n_out": model.n_out, "dtype": model.dtype.name,
    }
    blob = np.frombuffer(json.dumps(meta, sort_keys=True).encode("utf-8"), dtype=np.uint8)
    scaling = {**({} if scaler is None else scaler.to_arrays()), **({} if columns is None else columns.to_arrays())}
    if vectorizer is not None:
        scaling |= vectorizer.to_arrays()
    arrays = {"b": model.arrays.to_numpy(model.b), "metadata": blob, **scaling}
    with atomic_write(path) as f:
        if weights is None:
            np.savez(f, W=W, **arrays)
        else:
            _savez_rows(f, W, weights, arrays)


_BLOCK_ROWS = 1 << 16  # rows of W looked at, or gathered, at a time: memory of a block, not of W


def _rows_kept(W: np.ndarray) -> np.ndarray | None:
    """The indices of ``W``'s rows that are not all zero bit for bit, where writing only those saves a
    quarter of ``W``'s bytes and at least 1 MB (format version 2); else None."""
    if W.nbytes < 4 << 20 or not W.flags.c_contiguous:
        return None
    bits = W.view(np.uint32 if W.dtype.itemsize == 4 else np.uint64)
    kept = np.concatenate([lo + np.flatnonzero(bits[lo : lo + _BLOCK_ROWS].any(axis=1))
                           for lo in range(0, len(W), _BLOCK_ROWS)])
    return kept.astype(np.int64) if 4 * len(kept) <= 3 * len(W) else None


def _savez_rows(f: Any, W: np.ndarray, rows: np.ndarray, arrays: dict[str, np.ndarray]) -> None:
    """``np.savez(f, W=W[rows], W_rows=rows, **arrays)``, the rows gathered a block at a time."""
    with zipfile.ZipFile(f, mode="w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
        with archive.open("W.npy", mode="w", force_zip64=True) as member:
            header = {"descr": np.lib.format.dtype_to_descr(W.dtype), "fortran_order": False,
                      "shape": (len(rows), W.shape[1])}
            np.lib.format.write_array_header_2_0(member, header)
            for lo in range(0, len(rows), _BLOCK_ROWS):
                member.write(W[rows[lo : lo + _BLOCK_ROWS]].tobytes())
        for name, array in {"W_rows": rows, **arrays}.items():
            with archive.open(f"{name}.npy", mode="w", force_zip64=True) as member:
                np.lib.format.write_array(member, array, allow_pickle=False)


def load_model(path: str | os.PathLike[str]) -> LogisticRegression:
    """Read a model file written by :func:`save_model`: the chapter's ``predict()`` read
    ``best_model.pkl`` the same way.

    Parameters
    ----------
    path : str or os.PathLike
        The model file.

    Returns
    -------
    LogisticRegression
        The model, its metadata in ``model.metadata``.

    Raises
    ------
    ModelFileError
        The file is missing, not a model file, corrupt, or of an incompatible format version.
    """
    model, _ = read_model(path)
    return model


def load_classifier(path: str | os.PathLike[str]) -> Classifier:
    """The model file at ``path`` as it is applied: the model, its class names, the scaling of its
    inputs and the shape of its images.

    Parameters
    ----------
    path : str or os.PathLike
        The model file.

    Returns
    -------
    Classifier
        What ``logistic-sgd predict`` applies to new inputs.

    Raises
    ------
    ModelFileError
        As :func:`load_model`, or the stored scaling or class names are malformed.
    """
    model, meta, arrays = _read(Path(path))
    try:
        scaler = Standardizer.from_arrays(arrays, model.n_in) if "scale_mean" in arrays else None
    except (ValueError, KeyError) as exc:
        raise ModelFileError(f"{path}: the stored scaling is malformed ({one_line(exc)})") from None
    try:
        columns = Preprocessor.from_arrays(arrays, model.n_in) if "prep_columns" in arrays else None
    except ValueError as exc:
        raise ModelFileError(f"{path}: the stored columns are malformed ({one_line(exc)})") from None
    names = meta.get("class_names") or [str(k) for k in range(model.n_out)]
    shape = meta.get("image_shape")
    if (not isinstance(names, list) or len(names) != model.n_out or not all(isinstance(n, str) for n in names)
            or not (shape is None or (isinstance(shape, list) and len(shape) == 2
                                      and shape[0] * shape[1] == model.n_in))):
        raise ModelFileError(f"{path}: class names or image shape disagree with the model's {model.n_out} classes "
                             f"and {model.n_in} inputs")
    zero_based = meta.get("zero_based")
    vectorizer = None
    if "text_config" in arrays:
        try:
            vectorizer = TextVectorizer.from_arrays(arrays)
        except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
            raise ModelFileError(f"{path}: the stored text vectoriser is malformed ({one_line(exc)})") from None
        if vectorizer.n_out != model.n_in:
            raise ModelFileError(f"{path}: the text vectoriser makes {vectorizer.n_out} features, the model takes "
                                 f"{model.n_in}")
    return Classifier(model, tuple(names), scaler, None if shape is None else (int(shape[0]), int(shape[1])),
                      zero_based if isinstance(zero_based, bool) else None, columns, vectorizer)


def read_model(path: str | os.PathLike[str]) -> tuple[LogisticRegression, dict[str, Any]]:
    """Like :func:`load_model`, and also return the metadata dict.

    Parameters
    ----------
    path : str or os.PathLike
        The model file.

    Returns
    -------
    model : LogisticRegression
        The model.
    metadata : dict
        Its metadata (format, version, sizes, class names, ...).

    Raises
    ------
    ModelFileError
        As :func:`load_model`.
    """
    model, meta, _ = _read(Path(path))
    return model, meta


def _read(path: Path) -> tuple[LogisticRegression, dict[str, Any], dict[str, np.ndarray]]:
    arrays = read_npz(path, ("W", "b", "metadata"), ModelFileError, "model file",
                      optional=("scale_", "prep_", "text_", "W_rows"))
    try:
        meta = json.loads(arrays["metadata"].tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ModelFileError(f"{path}: model metadata is not valid JSON") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ModelFileError(f"{path}: not a logistic-sgd model file")
    if meta.get("format_version") not in READ_VERSIONS:
        raise ModelFileError(
            f"{path}: model format version {meta.get('format_version')!r} is not supported "
            f"(this version reads {' and '.join(map(str, READ_VERSIONS))})"
        )
    W, b = arrays["W"], arrays["b"]
    if meta["format_version"] == ROWS_FORMAT_VERSION:
        W = _all_rows(path, W, arrays.get("W_rows"), meta.get("n_in"))
    if (
        W.dtype.name not in FLOATX or b.dtype != W.dtype or W.ndim != 2 or b.shape != (W.shape[1],)
        or W.shape[1] < 2 or (meta.get("n_in"), meta.get("n_out")) != W.shape
    ):
        raise ModelFileError(
            f"{path}: model arrays are inconsistent (W {W.dtype} {W.shape}, b {b.dtype} {b.shape}, "
            f"metadata says n_in={meta.get('n_in')}, n_out={meta.get('n_out')})"
        )
    if not (_all_finite(W) and _all_finite(b)):
        raise ModelFileError(f"{path}: model parameters contain NaN or Inf")
    model = LogisticRegression.from_params(W, b)
    model.metadata = meta
    return model, meta, arrays


def _all_rows(path: Path, W: np.ndarray, rows: np.ndarray | None, n_in: Any) -> np.ndarray:
    """The whole weight matrix of a format version 2 file: ``W``'s rows at ``rows``, zeros elsewhere."""
    if (rows is None or rows.dtype != np.int64 or rows.ndim != 1 or W.ndim != 2 or len(rows) != len(W)
            or not isinstance(n_in, int) or W.dtype.name not in FLOATX
            or (len(rows) and (rows[0] < 0 or rows[-1] >= n_in or np.any(np.diff(rows) <= 0)))):
        raise ModelFileError(f"{path}: model arrays are inconsistent (format version {ROWS_FORMAT_VERSION}: "
                             "W_rows must be increasing int64 row indices below n_in, one per row of W)")
    full = np.zeros((n_in, W.shape[1]), W.dtype)
    full[rows] = W
    return full


CHECKPOINT_FORMAT = "logistic-sgd-checkpoint"


def fingerprint(datasets: Datasets) -> str:
    """SHA-256 over every split's shapes, dtypes and values: what a checkpoint must be resumed on
    (:func:`logistic_sgd.data.rows.update_digest` says how each kind of rows is hashed)."""
    digest = hashlib.sha256()
    for x, y in datasets:
        update_digest(digest, x)
        update_digest(digest, y)
    return digest.hexdigest()


def save_checkpoint(path: str | os.PathLike[str], state: TrainState, config: TrainConfig, fingerprint: str) -> None:
    """Write the whole training state atomically: parameters, best model, optimiser and stopping
    state, position, RNG state, the data's fingerprint and the hyperparameters.

    Parameters
    ----------
    path : str or os.PathLike
        Where to write.
    state : TrainState
        The loop's state.
    config : TrainConfig
        The run's hyperparameters (a resumed run must have the same).
    fingerprint : str
        The data's fingerprint (a resumed run must read the same data).
    """
    be = state.model.arrays
    arrays = {"W": be.to_numpy(state.model.W), "b": be.to_numpy(state.model.b)}
    if state.best_model is not None:
        arrays |= {"best_W": be.to_numpy(state.best_model.W), "best_b": be.to_numpy(state.best_model.b)}
    meta = {
        "format": CHECKPOINT_FORMAT, "format_version": FORMAT_VERSION, "library_version": __version__,
        "config": config.as_dict(), "data_fingerprint": fingerprint,
        "n_in": state.model.n_in, "n_out": state.model.n_out, "dtype": state.model.dtype.name,
        "epoch": state.epoch, "minibatch": state.minibatch, "iteration": state.iteration,
        "test_score": state.test_score, "best_iteration": state.best_iteration, "elapsed": state.elapsed,
        "rng_state": state.rng_state, "stopping": state.stopping.state_dict(),
        "opt_state": _arrays_out(state.opt_state, arrays, be),
        "history": state.history,
    }
    arrays["metadata"] = np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)
    with atomic_write(path) as f:
        np.savez(f, **arrays)


def load_checkpoint(
    path: str | os.PathLike[str], config: TrainConfig, fingerprint: str, backend: Backend | None = None
) -> TrainState:
    """Read a checkpoint written by :func:`save_checkpoint`, refusing one made for other data or
    other hyperparameters.

    Parameters
    ----------
    path : str or os.PathLike
        The checkpoint.
    config : TrainConfig
        The hyperparameters of the run that resumes.
    fingerprint : str
        The fingerprint of the data it reads.
    backend : Backend, optional
        The backend whose arrays the state goes to (NumPy's by default).

    Returns
    -------
    TrainState
        The state to continue from.

    Raises
    ------
    ModelFileError
        The file is not such a checkpoint, or was made for other data or other hyperparameters
        (naming what differs).
    """
    path = Path(path)
    arrays = read_npz(path, ("W", "b", "metadata"), ModelFileError, "checkpoint", optional=("best_", "opt_"))
    try:
        meta = json.loads(arrays["metadata"].tobytes().decode("utf-8"))
        if meta.get("format") != CHECKPOINT_FORMAT or meta.get("format_version") != FORMAT_VERSION:
            raise ModelFileError(f"{path}: not a logistic-sgd checkpoint of format version {FORMAT_VERSION}")
        if meta["data_fingerprint"] != fingerprint:
            raise ModelFileError(f"{path}: checkpoint was made for other data; resume on the same data")
        saved = meta["config"]
        differ = [k for k, v in config.as_dict().items() if saved.get(k) != v]
        if differ:
            values = ", ".join(f"{k} {saved.get(k)!r} (now {getattr(config, k)!r})" for k in differ)
            raise ModelFileError(f"{path}: checkpoint was made with other hyperparameters: {values}", tuple(differ))
        best = (arrays["best_W"], arrays["best_b"]) if "best_W" in arrays else None
        state = TrainState(
            model=_model_from(arrays["W"], arrays["b"], backend),
            stopping=PatienceStopping(**meta["stopping"]),
            opt_state=_arrays_in(meta["opt_state"], arrays, NUMPY_ARRAYS if backend is None else backend.arrays),
            epoch=int(meta["epoch"]), minibatch=int(meta["minibatch"]),
            iteration=int(meta["iteration"]), test_score=float(meta["test_score"]),
            best_model=None if best is None else _model_from(*best, backend),
            best_iteration=meta["best_iteration"], elapsed=float(meta["elapsed"]),
            rng_state=meta["rng_state"], history=list(meta["history"]),
        )
    except ModelFileError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ModelFileError(f"{path}: checkpoint is corrupt ({one_line(exc)})") from None
    if state.model.dtype.name != config.floatx:
        raise ModelFileError(f"{path}: checkpoint holds {state.model.dtype.name} parameters, not {config.floatx}")
    return state


def _model_from(W: np.ndarray, b: np.ndarray, backend: Backend | None) -> LogisticRegression:
    if W.ndim != 2 or b.shape != (W.shape[1],) or W.dtype.name not in FLOATX or b.dtype != W.dtype:
        raise ValueError(f"inconsistent arrays W {W.dtype} {W.shape}, b {b.dtype} {b.shape}")
    model = LogisticRegression.from_params(W, b)
    return model if backend is None else backend.adopt(model)


def _all_finite(a: np.ndarray, chunk: int = 1 << 20) -> bool:
    """Whether every element of ``a`` is finite, checked a block at a time (no temporary as large as ``a``)."""
    flat = a.reshape(-1)
    return all(bool(np.isfinite(flat[i : i + chunk]).all()) for i in range(0, flat.size, chunk))


def _arrays_out(tree: Any, arrays: dict[str, np.ndarray], backend: Arrays) -> Any:
    """``tree`` (dicts, lists, numbers) with each array moved into ``arrays`` and replaced by its key."""
    if isinstance(tree, dict):
        return {k: _arrays_out(v, arrays, backend) for k, v in tree.items()}
    if isinstance(tree, list):
        return [_arrays_out(v, arrays, backend) for v in tree]
    if hasattr(tree, "shape"):
        key = f"opt_{len([k for k in arrays if k.startswith('opt_')])}"
        arrays[key] = backend.to_numpy(tree)
        return {"__array__": key}
    return tree


def _arrays_in(tree: Any, arrays: dict[str, np.ndarray], backend: Arrays) -> Any:
    if isinstance(tree, dict):
        if set(tree) == {"__array__"}:
            return backend.asarray(arrays[tree["__array__"]].copy())
        return {k: _arrays_in(v, arrays, backend) for k, v in tree.items()}
    if isinstance(tree, list):
        return [_arrays_in(v, arrays, backend) for v in tree]
    return tree
