"""Float32 pixels that are bytes (the original tutorial's pickle): found bit for bit, kept as bytes,
and trained on with the same printed lines and the same model file as the float rows give."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from logistic_sgd.cli import main
from logistic_sgd.data import byte_grid, open_dataset
from logistic_sgd.data.byte_grid import find_bytes
from logistic_sgd.data.rows import ScaledArray

from conftest import fashion, write_seed_pickle

TIMING = re.compile(r"epochs/sec|ran for [\d.]+m|^\.\.\. (training|validation) took")


def _grid(u: np.ndarray, divisor: int) -> np.ndarray:
    return np.divide(u, np.float32(divisor), dtype=np.float32)


@pytest.mark.parametrize("divisor", [255, 256])
def test_every_byte_is_found_back(divisor: int) -> None:
    u = np.arange(256, dtype=np.uint8).repeat(3).reshape(-1, 8)
    found = find_bytes(_grid(u, divisor))
    assert found is not None
    assert found[1] == divisor and found[0].dtype == np.uint8 and np.array_equal(found[0], u)


@pytest.mark.parametrize("divisor", [255, 256])
@pytest.mark.parametrize("spoil", ["one ulp", "negative zero", "nan", "inf", "above one", "below zero"])
def test_one_value_off_the_grid_keeps_the_floats(divisor: int, spoil: str) -> None:
    rng = np.random.default_rng(0)
    x = _grid(rng.integers(0, 256, size=(700, 784), dtype=np.uint8), divisor)  # several blocks of values
    value = {"one ulp": np.nextafter(x[-1, -1], np.float32(2)), "negative zero": np.float32(-0.0),
             "nan": np.float32("nan"), "inf": np.float32("inf"), "above one": np.float32(256 / divisor),
             "below zero": np.float32(-1 / divisor)}[spoil]
    x[-1, -1] = value  # in the last block: the whole array is checked
    assert find_bytes(x) is None


def test_only_float32_is_taken() -> None:
    u = np.arange(256, dtype=np.uint8).reshape(16, 16)
    assert find_bytes(_grid(u, 255).astype(np.float64)) is None
    assert find_bytes(np.zeros((0, 4), np.float32)) is None


def _pickle(tmp_path: Path, divisor: int, n_train: int = 3000, n_valid: int = 600, n_test: int = 600) -> Path:
    """The original tutorial's layout (float32 rows, int64 labels, a Python 2 pickle, gzipped) of the
    first Fashion-MNIST images, each pixel ``u / divisor``."""
    tx, ty, sx, sy = fashion(n_train + n_valid, n_test)
    rows = [(tx[:n_train], ty[:n_train]), (tx[n_train:], ty[n_train:]), (sx, sy)]
    splits = tuple((_grid(x.reshape(len(x), -1), divisor), y.astype(np.int64)) for x, y in rows)
    return write_seed_pickle(tmp_path / f"grid{divisor}.pkl.gz", splits)


@pytest.mark.parametrize("divisor", [255, 256])
def test_the_pickle_is_read_as_bytes_standing_for_its_floats(tmp_path: Path, divisor: int) -> None:
    path = _pickle(tmp_path, divisor)
    floats = open_dataset(path).datasets
    kept = open_dataset(path, keep_bytes=("train", "valid", "test"))
    assert kept.images and kept.image_shape == (28, 28)
    for (x, y), (k, ky) in zip(floats, kept.datasets, strict=True):
        assert isinstance(k, ScaledArray) and k.stored.dtype == np.uint8 and k.divisor == divisor
        assert x.dtype == np.float32 and np.array_equal(np.asarray(k).view(np.uint32), x.view(np.uint32))
        np.testing.assert_array_equal(y, ky)


def _train(path: Path, out: Path, backend: str, floatx: str, capsys: pytest.CaptureFixture[str]) -> list[str]:
    capsys.readouterr()
    assert main(["train", "--data", str(path), "--backend", backend, "--floatx", floatx, "--n-epochs", "25",
                 "--batch-size", "200", "--model-out", str(out)]) == 0
    return [line for line in capsys.readouterr().out.splitlines() if not TIMING.search(line)]


@pytest.mark.parametrize("divisor", [255, 256])
@pytest.mark.parametrize(("backend", "floatx"), [("numba", "float32"), ("numba", "float64"), ("numpy", "float32")])
def test_bytes_and_floats_print_the_same_lines_and_save_the_same_model(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
    divisor: int, backend: str, floatx: str,
) -> None:
    if backend == "numba":
        pytest.importorskip("numba")
    path = _pickle(tmp_path, divisor)
    found = []

    def spy(x: np.ndarray) -> object:
        found.append(find_bytes(x))
        return found[-1]

    monkeypatch.setattr(byte_grid, "find_bytes", spy)
    as_bytes = _train(path, tmp_path / "bytes.npz", backend, floatx, capsys)
    kept = 3 if backend == "numba" else 2  # the numpy backend makes the training split floats once
    assert len(found) == kept and all(f is not None and f[1] == divisor for f in found)
    monkeypatch.setattr(byte_grid, "find_bytes", lambda x: None)  # the float rows' path
    as_floats = _train(path, tmp_path / "floats.npz", backend, floatx, capsys)
    assert sum(line.startswith("epoch ") for line in as_bytes) == 25
    assert as_bytes == as_floats
    with np.load(tmp_path / "bytes.npz") as a, np.load(tmp_path / "floats.npz") as b:
        assert sorted(a.files) == sorted(b.files)
        for name in set(a.files) - {"metadata"}:
            assert a[name].dtype == b[name].dtype and a[name].tobytes() == b[name].tobytes(), name
        assert _untimed(a["metadata"]) == _untimed(b["metadata"])


def _untimed(blob: np.ndarray) -> dict:
    """A model file's metadata without the seconds each validation came at."""
    meta = json.loads(blob.tobytes())
    for record in meta.get("history", []):
        record.pop("elapsed")
    return meta


@pytest.mark.parametrize("divisor", [255, 256])
def test_the_converted_layout_stores_the_pickles_bytes(tmp_path: Path, divisor: int) -> None:
    from logistic_sgd.data.layouts.convert import convert_dataset
    from logistic_sgd.data.layouts.memmap import read_layout

    floats = open_dataset(_pickle(tmp_path, divisor)).datasets
    out = convert_dataset(floats, tmp_path / "converted")
    assert json.loads((out / "manifest.json").read_text())["divisor"] == divisor
    for (x, y), (k, ky) in zip(floats, read_layout(out), strict=True):
        assert k.stored.dtype == np.uint8 and k.divisor == divisor
        assert np.array_equal(np.asarray(k).view(np.uint32), x.view(np.uint32))
        np.testing.assert_array_equal(y, ky)
    spoiled = [(x.copy(), y) for x, y in floats]
    spoiled[1][0][0, 0] = np.nextafter(spoiled[1][0][0, 0], np.float32(1))  # one split off the grid: floats
    out = convert_dataset(tuple(spoiled), tmp_path / "floats")
    assert json.loads((out / "manifest.json").read_text())["divisor"] == 1
