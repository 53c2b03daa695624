"""Shared fixtures: small datasets written in every supported form."""

from __future__ import annotations

import bz2
import functools
import gzip
import io
import lzma
import os
import pickle
import struct
from pathlib import Path

import numpy as np
import pytest


def _threads_per_worker() -> int | None:
    """The cores per pytest-xdist worker; None outside a pool of several workers."""
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "0"))
    if workers < 2:
        return None
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, cores // workers)


THREADS = _threads_per_worker()


def _share_cores_between_workers() -> None:
    """In a pytest-xdist worker, use this worker's share of the cores: each BLAS, OpenMP, Numba and
    PyTorch pool as many threads as cores per worker (programs the tests start: see
    :func:`child_environment`).

    Two workers of two threads each on two cores stall every step of a multithreaded kernel whose
    thread is descheduled. The Numba kernels' results for a given number of threads are checked by
    ``test_kernels`` at one thread and at several."""
    if THREADS is None:
        return
    share = str(THREADS)
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = share
    try:  # Numba keeps its pool at the core count (test_kernels asks for more threads), using the share
        import numba
    except ImportError:
        pass
    else:
        numba.set_num_threads(min(THREADS, numba.config.NUMBA_NUM_THREADS))
    from threadpoolctl import threadpool_limits  # BLAS already loaded in this process

    threadpool_limits(THREADS)


_share_cores_between_workers()


def pytest_sessionstart(session: pytest.Session) -> None:
    """Before a run on several workers (``scripts/test``), compile every kernel variant the suite uses
    once, shared out between the cores, into the cache all its processes read (``compile_ahead.py``;
    nothing to do once they are cached). A run on one process compiles what its tests meet."""
    if hasattr(session.config, "workerinput") or not session.config.getoption("numprocesses", None):
        return
    from compile_ahead import compile_ahead

    compile_ahead()


# The files that take longest, first: scripts/test hands the workers whole files in this order
# (--no-loadscope-reorder; xdist would otherwise hand out first the files with the most tests), so
# that the short files come last and the workers finish together.
LONGEST_FIRST = ("test_parity.py", "test_kernels.py", "test_resume.py", "test_docs.py", "test_distributed.py",
                 "test_sparse_cli.py", "test_fuzz.py", "test_report.py", "test_cli.py", "test_text.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: each file's tests stay in order


def child_environment() -> dict[str, str]:
    """The environment for a program a test starts: in an xdist worker, its Numba pool the worker's
    share of the cores too (this process's own pool cannot change once Numba has started it)."""
    env = dict(os.environ)
    if THREADS is not None:
        env["NUMBA_NUM_THREADS"] = str(THREADS)
    return env


FASHION = Path("/usr/share/datasets/fashion-mnist")


def seed_environment() -> dict[str, str]:
    """The environment the seed's program runs in: PyTensor with its BLAS rewrites off, so that the
    seed's matrix products stay ``Dot`` ops computed by NumPy's BLAS, the library this package's
    products use too. Float32 sums then come out in the same order on both sides and the lines
    agree to the last digit (with PyTensor's own Gemm linked to Debian's OpenBLAS 0.3.21, one test
    error at epoch 48 differs by one image of 9,600); without a BLAS to link, PyTensor's Gemm is a
    C loop, 20 times slower. BLAS in one thread: the suite's other worker has the other core (two
    threads took half as much CPU again for the same wall time, and printed the same lines). Its C
    code compiled without debug information (``-g0`` after PyTensor's ``-g``: the same machine code),
    which a machine that has never run PyTensor compiles first (a first epoch in each dtype, from an
    empty cache: 38.1 s with debug information, 31.6 s without)."""
    flags = "optimizer_excluding=BlasOpt:InplaceBlasOpt:c_blas_destructive,gcc__cxxflags=-g0"
    env = dict(os.environ)
    env["PYTENSOR_FLAGS"] = ",".join(filter(None, [env.get("PYTENSOR_FLAGS"), flags]))
    env["OPENBLAS_NUM_THREADS"] = "1"
    return env


def write_idx(path: Path, array: np.ndarray, gz: bool = True) -> Path:
    """Write ``array`` (uint8) as an IDX file, gzipped when ``gz``."""
    path.write_bytes(_idx_bytes(array, gz))
    return path


def _idx_bytes(array: np.ndarray, gz: bool = True) -> bytes:
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    data = header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()
    return gzip.compress(data, compresslevel=1) if gz else data  # gzip's default level 9: seconds


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
    for name, data in _idx_folder_files().items():
        (folder / name).write_bytes(data)
    return folder


@functools.cache
def _idx_folder_files() -> dict[str, bytes]:
    """The files of :func:`idx_folder`, made once per process (about a hundred tests take a copy)."""
    tx, ty = make_images(1200, seed=1)
    sx, sy = make_images(300, seed=2)
    arrays = {"train-images-idx3-ubyte.gz": tx, "train-labels-idx1-ubyte.gz": ty, "t10k-images-idx3-ubyte.gz": sx,
              "t10k-labels-idx1-ubyte.gz": sy}
    return {name: _idx_bytes(a) for name, a in arrays.items()}


@functools.cache
def _fashion_arrays() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    from logistic_sgd.data.formats.idx import read_idx

    return tuple(read_idx(FASHION / f"{stem}.gz") for stem in (  # type: ignore[return-value]
        "train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"))


def fashion(n_train: int, n_test: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The first ``n_train`` training and ``n_test`` test images (n x 28 x 28 uint8) and labels of
    Debian's Fashion-MNIST; the test is skipped where it is absent (and fails in CI)."""
    if not (FASHION / "t10k-labels-idx1-ubyte.gz").is_file():
        if os.environ.get("CI"):
            pytest.fail(f"{FASHION} is missing (scripts/setup installs Debian's dataset-fashion-mnist)")
        pytest.skip(f"needs Debian's dataset-fashion-mnist in {FASHION}")
    tx, ty, sx, sy = _fashion_arrays()
    return tx[:n_train], ty[:n_train], sx[:n_test], sy[:n_test]


class _Py2Pickler(pickle._Pickler):  # type: ignore[name-defined]
    """Writes bytes as Python 2 ``str`` (BINSTRING), as cPickle did when the seed's file was made."""

    dispatch = pickle._Pickler.dispatch.copy()  # type: ignore[attr-defined]

    def save_bytes(self, obj: bytes) -> None:
        if len(obj) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(obj)]) + obj)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(obj)) + obj)
        self.memoize(obj)

    dispatch[bytes] = save_bytes


def write_seed_pickle(path: Path, splits: tuple) -> Path:
    """A gzipped protocol-2 pickle of ((x, y), (x, y), (x, y)) laid out as Python 2 wrote the seed's file."""
    buf = io.BytesIO()
    _Py2Pickler(buf, protocol=2).dump(splits)
    data = buf.getvalue().replace(b"numpy._core.multiarray", b"numpy.core.multiarray")
    path.write_bytes(gzip.compress(data, compresslevel=1))
    return path


def write_kaggle_csv(path: Path, images: np.ndarray, labels: np.ndarray, header: bool = True) -> Path:
    """Kaggle's MNIST CSV layout: ``label,pixel0,...,pixel783``, one image a row (compressed by the suffix)."""
    flat = images.reshape(len(images), -1)
    lines = [",".join(["label", *(f"pixel{i}" for i in range(flat.shape[1]))])] if header else []
    lines += [",".join(map(str, [int(y), *row.tolist()])) for y, row in zip(labels, flat, strict=True)]
    data = ("\n".join(lines) + "\n").encode()
    openers = {".gz": gzip.compress, ".bz2": bz2.compress, ".xz": lzma.compress}
    path.write_bytes(openers.get(path.suffix, bytes)(data))
    return path


def png_bytes(image: np.ndarray, mode: str = "L") -> bytes:
    """An image (h x w uint8) encoded as PNG by Pillow, converted to ``mode`` first."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(image).convert(mode).save(buf, format="PNG")
    return buf.getvalue()


def write_image_folder(root: Path, images: np.ndarray, labels: np.ndarray, names: list[str]) -> Path:
    """torchvision's ImageFolder: ``root/<names[label]>/<i>.png``."""
    for i, (image, label) in enumerate(zip(images, labels, strict=True)):
        folder = root / names[int(label)]
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{i:05d}.png").write_bytes(png_bytes(image))
    return root


def write_hf_parquet(path: Path, images: np.ndarray, labels: np.ndarray, names: list[str] | None) -> Path:
    """A Hugging Face ``datasets`` parquet file: ``image`` {bytes, path} and ``label``, with the
    ``ClassLabel`` names in the schema's ``huggingface`` metadata."""
    import json

    import pyarrow as pa
    import pyarrow.parquet as pq

    image = pa.array([{"bytes": png_bytes(x), "path": None} for x in images],
                     type=pa.struct([("bytes", pa.binary()), ("path", pa.string())]))
    table = pa.table({"image": image, "label": pa.array(labels.astype(np.int64))})
    if names is not None:
        features = {"image": {"_type": "Image"}, "label": {"names": names, "_type": "ClassLabel"}}
        table = table.replace_schema_metadata({"huggingface": json.dumps({"info": {"features": features}})})
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path)
    return path
