"""Each loader on small files the tests write: IDX, the seed's pickle (safely), .npz."""

from __future__ import annotations

import gzip
import os
import pickle
from pathlib import Path

import numpy as np
import pytest

from logistic_sgd import load_data
from logistic_sgd.data.formats.idx import read_idx
from logistic_sgd.errors import DataError

from conftest import make_images, write_idx, write_seed_pickle


def test_idx_folder_split_and_scaling(idx_folder: Path) -> None:
    (tx, ty), (vx, vy), (sx, _) = load_data(idx_folder)
    assert tx.shape == (1000, 784) and vx.shape == (200, 784) and sx.shape == (300, 784)
    assert tx.dtype == np.float32 and ty.dtype == np.int32
    raw = read_idx(idx_folder / "train-images-idx3-ubyte.gz")
    labels = read_idx(idx_folder / "train-labels-idx1-ubyte.gz")
    # first 5/6 train, last 1/6 validate, in file order; pixels are float32 x / 255
    np.testing.assert_array_equal(tx, raw[:1000].reshape(1000, -1).astype(np.float32) / np.float32(255))
    np.testing.assert_array_equal(vx, raw[1000:].reshape(200, -1).astype(np.float32) / np.float32(255))
    np.testing.assert_array_equal(vy, labels[1000:])


def test_idx_uncompressed_and_dotted_names(tmp_path: Path) -> None:
    x, y = make_images(60, seed=3)
    write_idx(tmp_path / "train-images.idx3-ubyte", x, gz=False)
    write_idx(tmp_path / "train-labels.idx1-ubyte", y, gz=False)
    write_idx(tmp_path / "t10k-images-idx3-ubyte", x[:12], gz=False)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", y[:12], gz=False)
    (tx, _), (vx, _), (sx, _) = load_data(tmp_path)
    assert (len(tx), len(vx), len(sx)) == (50, 10, 12)


def test_idx_and_pickle_forms_are_bit_identical(tmp_path: Path, idx_folder: Path) -> None:
    from_idx = load_data(idx_folder)
    # The seed's pickle holds float32 x / 255 and int64 labels; build it from the same bytes.
    splits = tuple((x.copy(), y.astype(np.int64)) for x, y in from_idx)
    from_pickle = load_data(write_seed_pickle(tmp_path / "mnist.pkl.gz", splits))
    for (a, b), (c, d) in zip(from_idx, from_pickle, strict=True):
        assert a.dtype == c.dtype and np.array_equal(a.view(np.uint32), c.view(np.uint32))
        np.testing.assert_array_equal(b, d)


def test_pickle_written_by_python3_also_loads(tmp_path: Path, idx_folder: Path) -> None:
    splits = load_data(idx_folder)
    path = tmp_path / "data.pkl.gz"
    path.write_bytes(gzip.compress(pickle.dumps(splits, protocol=2), compresslevel=1))
    (tx, _), _, _ = load_data(path)
    np.testing.assert_array_equal(tx, splits[0][0])


class _Payload:
    def __init__(self, target: str) -> None:
        self.target = target

    def __reduce__(self):
        return (os.system, (f"touch {self.target}",))


def test_pickle_with_code_is_refused_without_running_it(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    path = tmp_path / "mnist.pkl.gz"
    path.write_bytes(gzip.compress(pickle.dumps(_Payload(str(marker)), protocol=2)))
    with pytest.raises(DataError, match=r"refers to (posix|os)\.system; only NumPy arrays"):
        load_data(path)
    assert not marker.exists()
    # the same payload really would have run under a plain pickle.load
    pickle.loads(gzip.decompress(path.read_bytes()))
    assert marker.exists()


def test_npz(tmp_path: Path, idx_folder: Path) -> None:
    splits = load_data(idx_folder)
    path = tmp_path / "d.npz"
    np.savez(path, **{f"{s}_{k}": a for s, split in zip(("train", "valid", "test"), splits, strict=True)
                      for k, a in zip("xy", split, strict=True)})
    loaded = load_data(path)
    for (a, b), (c, d) in zip(splits, loaded, strict=True):
        np.testing.assert_array_equal(a, c)
        np.testing.assert_array_equal(b, d)


def test_npz_with_uint8_images_and_object_arrays(tmp_path: Path) -> None:
    x, y = make_images(30, seed=4)
    good = tmp_path / "u8.npz"
    np.savez(good, train_x=x, train_y=y, valid_x=x, valid_y=y, test_x=x, test_y=y)
    (tx, _), _, _ = load_data(good)
    assert tx.shape == (30, 784) and tx.dtype == np.float32 and tx.max() <= 1
    bad = tmp_path / "obj.npz"
    np.savez(bad, train_x=np.array([None, 1], dtype=object), train_y=y, valid_x=x, valid_y=y, test_x=x, test_y=y)
    with pytest.raises(DataError, match="object arrays"):
        load_data(bad)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: b"", "empty"),
        (lambda d: d[:100], "payload has 84 bytes"),
        (lambda d: b"\x12\x34" + d[2:], "not an IDX file"),
    ],
)
def test_bad_idx_files(tmp_path: Path, mutate, message: str) -> None:
    x, _ = make_images(5, seed=5)
    path = write_idx(tmp_path / "f-idx3-ubyte", x, gz=False)
    path.write_bytes(mutate(path.read_bytes()))
    with pytest.raises(DataError, match=message):
        read_idx(path)


def test_bad_gzip_and_missing_things(tmp_path: Path, idx_folder: Path) -> None:
    gz = idx_folder / "train-images-idx3-ubyte.gz"
    gz.write_bytes(gz.read_bytes()[:1000])
    with pytest.raises(DataError, match="gzip"):
        load_data(idx_folder)
    with pytest.raises(DataError, match="no such file"):
        load_data(tmp_path / "nothing.npz")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="holds no dataset"):
        load_data(tmp_path / "empty")


def test_mismatched_counts_and_bad_labels(idx_folder: Path) -> None:
    _, y = make_images(1199, seed=1)
    write_idx(idx_folder / "train-labels-idx1-ubyte.gz", y)
    with pytest.raises(DataError, match="1200 images but train-labels"):
        load_data(idx_folder)


def test_labels_checked(tmp_path: Path) -> None:
    x, y = make_images(30, seed=6)
    for labels, message in ((y.astype(np.int64) - 5, ">= 0"), (y + 0.5, "whole numbers")):
        path = tmp_path / "bad.npz"
        np.savez(path, train_x=x, train_y=labels, valid_x=x, valid_y=y, test_x=x, test_y=y)
        with pytest.raises(DataError, match=message):
            load_data(path)
    nan = x.astype(np.float32)
    nan[0, 0, 0] = np.nan
    np.savez(tmp_path / "nan.npz", train_x=nan, train_y=y, valid_x=x, valid_y=y, test_x=x, test_y=y)
    with pytest.raises(DataError, match="NaN"):
        load_data(tmp_path / "nan.npz")


@pytest.mark.parametrize("form", ["idx", "npz"])
def test_held_out_bytes_stay_bytes_and_stand_for_the_same_floats(idx_folder: Path, tmp_path: Path, form: str) -> None:
    """What the experiment loads: validation and test images as bytes (a quarter of the memory), in
    copies that hold nothing else; the floats they hand out, and the checkpoint fingerprint, are the
    float32 loader's."""
    from logistic_sgd.data import open_dataset
    from logistic_sgd.data.rows import ScaledArray
    from logistic_sgd.outputs.persist import fingerprint

    source: Path = idx_folder
    if form == "npz":
        images, labels = make_images(100, seed=3)
        source = tmp_path / "d.npz"
        splits = ("train", "valid", "test")
        np.savez(source, **{f"{s}_{k}": a for s in splits for k, a in (("x", images), ("y", labels))})
    floats = load_data(source)
    kept = open_dataset(source, keep_bytes=("valid", "test")).datasets
    assert isinstance(kept[0][0], np.ndarray) and kept[0][0].dtype == np.float32
    for (x, y), (xf, yf) in zip(kept[1:], floats[1:], strict=True):
        assert isinstance(x, ScaledArray) and x.stored.dtype == np.uint8 and x.stored.base is None
        np.testing.assert_array_equal(np.asarray(x), xf)
        np.testing.assert_array_equal(x[3:9], xf[3:9])
        np.testing.assert_array_equal(y, yf)
    assert fingerprint(kept) == fingerprint(floats)
