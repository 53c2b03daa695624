"""Property tests: random and mutated bytes fed to every loader end in a clean load or a clean error.

Bounded for CI; set LOGISTIC_SGD_FUZZ_EXAMPLES (e.g. 20000) for a longer run.
"""

from __future__ import annotations

import gzip
import io
import os
import pickle
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from logistic_sgd import LogisticRegression, load_data, save_model
from logistic_sgd.data.idx import read_idx
from logistic_sgd.errors import LogisticSGDError
from logistic_sgd.persist import load_model

EXAMPLES = int(os.environ.get("LOGISTIC_SGD_FUZZ_EXAMPLES", "150"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _seeds() -> dict[str, bytes]:
    rng = np.random.default_rng(0)
    x = rng.integers(0, 255, size=(12, 4, 4), dtype=np.uint8)
    y = rng.integers(0, 3, size=12, dtype=np.uint8)
    idx = b"\x00\x00\x08\x03" + np.array([12, 4, 4], ">u4").tobytes() + x.tobytes()
    buf = io.BytesIO()
    np.savez(buf, train_x=x, train_y=y, valid_x=x, valid_y=y, test_x=x, test_y=y)
    splits = tuple((x.reshape(12, -1).astype(np.float32) / 255, y.astype(np.int64)) for _ in range(3))
    model = LogisticRegression(16, 3)
    model_buf = io.BytesIO()
    save_model_path = Path(os.environ.get("TMPDIR", "/tmp")) / f"fuzz-seed-{os.getpid()}.npz"
    save_model(save_model_path, model, {"data": "fuzz"})
    model_buf.write(save_model_path.read_bytes())
    save_model_path.unlink()
    return {
        "idx": idx,
        "npz": buf.getvalue(),
        "pickle": gzip.compress(pickle.dumps(splits, protocol=2)),
        "model": model_buf.getvalue(),
    }


SEEDS = _seeds()


def mutated(kind: str) -> st.SearchStrategy[bytes]:
    """Random bytes, or the valid file with bytes flipped, cut short, or extended."""
    base = SEEDS[kind]
    flips = st.lists(st.tuples(st.integers(0, len(base) - 1), st.integers(0, 255)), min_size=1, max_size=8)

    def flip(changes: list[tuple[int, int]]) -> bytes:
        data = bytearray(base)
        for i, v in changes:
            data[i] = v
        return bytes(data)

    return st.one_of(
        st.binary(max_size=2048),
        flips.map(flip),
        st.integers(0, len(base)).map(lambda n: base[:n]),
        st.binary(min_size=1, max_size=64).map(lambda tail: base + tail),
    )


def _only_clean(load, path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` and load it: a clean load or a one-line error naming the file."""
    path.write_bytes(data)
    try:
        load(path)
    except LogisticSGDError as exc:
        assert "\n" not in str(exc) and str(path) in str(exc)


@FUZZ
@given(data=mutated("idx"))
def test_idx_reader(tmp_path: Path, data: bytes) -> None:
    _only_clean(read_idx, tmp_path / "x-idx3-ubyte", data)


@FUZZ
@given(data=mutated("npz"))
def test_npz_loader(tmp_path: Path, data: bytes) -> None:
    _only_clean(load_data, tmp_path / "d.npz", data)


@FUZZ
@given(data=mutated("pickle"))
def test_pickle_loader(tmp_path: Path, data: bytes) -> None:
    _only_clean(load_data, tmp_path / "mnist.pkl.gz", data)


@FUZZ
@given(data=mutated("pickle").map(lambda d: gzip.compress(d) if d[:2] != b"\x1f\x8b" else d))
def test_pickle_loader_on_gzipped_garbage(tmp_path: Path, data: bytes) -> None:
    _only_clean(load_data, tmp_path / "mnist.pkl.gz", data)


@FUZZ
@given(data=mutated("model"))
def test_model_loader(tmp_path: Path, data: bytes) -> None:
    _only_clean(load_model, tmp_path / "m.npz", data)
