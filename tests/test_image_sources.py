"""The image layouts people already have, built from Fashion-MNIST: Keras' npz, torchvision's raw
folders and ImageFolder trees, Hugging Face parquet files."""

from __future__ import annotations

import numpy as np
import pytest

from logistic_sgd.cli import main
from logistic_sgd.data import open_dataset
from logistic_sgd.data.labels import FASHION_MNIST_CLASSES
from logistic_sgd.data.rows import ScaledArray
from logistic_sgd.errors import DataError
from logistic_sgd.outputs.persist import fingerprint

from conftest import fashion, png_bytes, write_hf_parquet, write_idx, write_image_folder

FOLDER_NAMES = [name.replace("/", "-") for name in FASHION_MNIST_CLASSES]  # a folder name holds no slash


def _idx_folder(folder, tx, ty, sx, sy):
    folder.mkdir(parents=True)
    for stem, array in (("train-images-idx3-ubyte", tx), ("train-labels-idx1-ubyte", ty),
                        ("t10k-images-idx3-ubyte", sx), ("t10k-labels-idx1-ubyte", sy)):
        write_idx(folder / f"{stem}.gz", array)
    return folder


def _same(a, b) -> None:
    for (x1, y1), (x2, y2) in zip(a, b, strict=True):
        assert type(x1) is type(x2)
        np.testing.assert_array_equal(np.asarray(x1), np.asarray(x2))
        np.testing.assert_array_equal(y1, y2)
        assert np.asarray(x1).dtype == np.asarray(x2).dtype and y1.dtype == y2.dtype


@pytest.mark.parametrize("keep", [(), ("valid", "test"), ("train", "valid", "test")])
def test_keras_npz_gives_the_idx_folder_arrays(tmp_path, keep) -> None:
    tx, ty, sx, sy = fashion(600, 100)
    keras = tmp_path / "mnist.npz"
    np.savez(keras, x_train=tx, y_train=ty, x_test=sx, y_test=sy)
    idx = _idx_folder(tmp_path / "idx", tx, ty, sx, sy)
    from_keras, from_idx = open_dataset(keras, keep_bytes=keep), open_dataset(idx, keep_bytes=keep)
    _same(from_keras.datasets, from_idx.datasets)
    assert [len(y) for _, y in from_keras.datasets] == [500, 100, 100]  # validation: the last 1/6 of training
    assert all(isinstance(x, ScaledArray) == (s in keep) for s, (x, _) in zip(("train", "valid", "test"),
                                                                             from_keras.datasets, strict=True))
    assert fingerprint(from_keras.datasets) == fingerprint(from_idx.datasets)
    assert from_keras.image_shape == from_idx.image_shape == (28, 28)
    assert from_keras.class_names == tuple(str(k) for k in range(10))
    assert from_keras.description == f"Keras arrays in {keras}"


def test_keras_npz_prints_the_idx_folder_lines(tmp_path, capsys) -> None:
    tx, ty, sx, sy = fashion(1200, 300)
    keras = tmp_path / "mnist.npz"
    np.savez(keras, x_train=tx, y_train=ty, x_test=sx, y_test=sy)
    idx = _idx_folder(tmp_path / "idx", tx, ty, sx, sy)
    outputs = []
    for data in (keras, idx):
        assert main(["train", "--data", str(data), "--n-epochs", "2", "--batch-size", "50"]) == 0
        lines = capsys.readouterr().out.splitlines()
        outputs.append([line for line in lines if not line.startswith(("... data:", "The code run for"))])
    assert outputs[0] == outputs[1]
    assert sum(line.startswith("epoch ") for line in outputs[0]) == 2


def test_keras_fashion_file_is_named_and_a_broken_one_is_one_line(tmp_path) -> None:
    tx, ty, sx, sy = fashion(60, 12)
    named = tmp_path / "fashion-mnist.npz"
    np.savez(named, x_train=tx, y_train=ty, x_test=sx, y_test=sy)
    assert open_dataset(named).class_names == FASHION_MNIST_CLASSES
    short = tmp_path / "short.npz"
    np.savez(short, x_train=tx, y_train=ty[:-1], x_test=sx, y_test=sy)
    with pytest.raises(DataError, match=r"short.npz: x_train of shape \(60, 28, 28\) but y_train of shape \(59,\)"):
        open_dataset(short)


@pytest.mark.parametrize("where", ["root", "dataset", "raw"])
def test_torchvision_raw_folders(tmp_path, where) -> None:
    tx, ty, sx, sy = fashion(120, 30)
    raw = _idx_folder(tmp_path / "FashionMNIST" / "raw", tx, ty, sx, sy)
    path = {"root": tmp_path, "dataset": tmp_path / "FashionMNIST", "raw": raw}[where]
    loaded = open_dataset(path)
    _same(loaded.datasets, open_dataset(_idx_folder(tmp_path / "plain", tx, ty, sx, sy)).datasets)
    assert loaded.class_names == FASHION_MNIST_CLASSES and loaded.description == f"IDX files in {raw}"


def test_torchvision_root_with_two_datasets_is_ambiguous(tmp_path) -> None:
    tx, ty, sx, sy = fashion(12, 6)
    _idx_folder(tmp_path / "MNIST" / "raw", tx, ty, sx, sy)
    _idx_folder(tmp_path / "FashionMNIST" / "raw", tx, ty, sx, sy)
    with pytest.raises(DataError, match=rf"^{tmp_path}: holds several datasets \(MNIST, FashionMNIST\)"):
        open_dataset(tmp_path)
    assert open_dataset(tmp_path / "MNIST").class_names == tuple(str(k) for k in range(10))


def test_debian_folder_has_fashion_names() -> None:
    fashion(1, 1)  # skips without the Debian package
    from logistic_sgd.data import read_path
    from logistic_sgd.data.datasets import DATASETS

    folder = DATASETS["fashion-mnist"].system_folders[0]
    assert read_path.__name__ and open_dataset(folder).class_names == FASHION_MNIST_CLASSES


def test_image_folder_tree(tmp_path) -> None:
    pytest.importorskip("PIL")
    tx, ty, sx, sy = fashion(300, 60)
    root = tmp_path / "fashion"
    write_image_folder(root / "train", tx, ty, FOLDER_NAMES)
    write_image_folder(root / "test", sx, sy, FOLDER_NAMES)
    loaded = open_dataset(root, keep_bytes=("test",))
    assert loaded.class_names == tuple(sorted(FOLDER_NAMES)) and loaded.image_shape == (28, 28)
    (x, y), (vx, vy), (test_x, test_y) = loaded.datasets
    assert len(x) + len(vx) == 300 and len(test_y) == 60 and isinstance(test_x, ScaledArray)
    assert "ImageFolder" in loaded.description and "grey 28x28 (the most common size; all of that size)" \
        in loaded.description and "validation cut from train by a stratified split 0.889/0.111" in loaded.description
    # the test split keeps the files' order (class folders sorted, then file names): compare with the originals
    order = sorted(range(60), key=lambda i: (FOLDER_NAMES[sy[i]], i))
    np.testing.assert_array_equal(test_x.stored, sx[order].reshape(60, -1))
    np.testing.assert_array_equal(np.array(loaded.class_names)[test_y], np.array(FOLDER_NAMES)[sy[order]])
    assert set(vy) == set(y)  # every class in validation


def test_image_folder_converts_colour_and_sizes(tmp_path) -> None:
    pytest.importorskip("PIL")
    from PIL import Image

    tx, ty, _, _ = fashion(40, 0)
    root = write_image_folder(tmp_path / "data", tx, ty % 2, ["even", "odd"])
    folder = ["even", "odd"]
    (root / folder[ty[1] % 2] / "00001.png").write_bytes(png_bytes(tx[1], "RGB"))  # colour, same pixels
    Image.fromarray(tx[3]).resize((56, 56)).save(root / folder[ty[3] % 2] / "00003.png")
    loaded = open_dataset(root)
    assert "grey 28x28 (the most common size; 1 resized to it)" in loaded.description
    assert loaded.class_names == ("even", "odd")
    assert "validation and test cut from data by a stratified split 0.8/0.1/0.1 (seed 0)" in loaded.description
    every = np.concatenate([np.asarray(x) for x, _ in loaded.datasets])
    assert len(every) == 40
    assert any(np.array_equal(row, tx[1].reshape(-1) / np.float32(255)) for row in every)  # RGB of grey is grey


def test_image_folder_trains_from_the_command_line(tmp_path, capsys) -> None:
    pytest.importorskip("PIL")
    tx, ty, sx, sy = fashion(400, 100)
    write_image_folder(tmp_path / "train", tx, ty, FOLDER_NAMES)
    write_image_folder(tmp_path / "val", sx[:50], sy[:50], FOLDER_NAMES)
    write_image_folder(tmp_path / "test", sx[50:], sy[50:], FOLDER_NAMES)
    assert main(["train", "--data", str(tmp_path), "--n-epochs", "2", "--batch-size", "20"]) == 0
    out = capsys.readouterr().out
    assert "400 train, 50 valid, 50 test images" in out and "cut" not in out
    assert "training examples in a random order (seed 0)" in out
    assert float(out.split("test error of best model ")[-1].split(" %")[0]) < 50


def test_image_folder_test_class_unseen_in_training(tmp_path) -> None:
    pytest.importorskip("PIL")
    tx, ty, sx, sy = fashion(60, 10)
    write_image_folder(tmp_path / "train", tx, ty % 3, ["a", "b", "c"])
    write_image_folder(tmp_path / "test", sx, sy % 4, ["a", "b", "c", "d"])
    with pytest.raises(DataError, match=rf"^{tmp_path / 'test'}: class 'd' does not occur in the training data"):
        open_dataset(tmp_path)


@pytest.mark.parametrize(("name", "content", "message"), [
    ("notes.txt", b"hello", r"notes.txt: not an image file \(expected "),
    ("broken.png", b"\x89PNG\r\n\x1a\n not really", "broken.png: not a readable image"),
])
def test_image_folder_with_a_file_that_is_no_image(tmp_path, name, content, message) -> None:
    pytest.importorskip("PIL")
    tx, ty, _, _ = fashion(30, 0)
    write_image_folder(tmp_path, tx, ty % 2, ["a", "b"])
    (tmp_path / "b" / name).write_bytes(content)
    (tmp_path / "a" / ".DS_Store").write_bytes(b"\0")  # hidden files are skipped
    with pytest.raises(DataError, match=message):
        open_dataset(tmp_path)


@pytest.mark.parametrize("sub", ["mnist", "data", "."])
def test_hugging_face_parquet(tmp_path, sub) -> None:
    pytest.importorskip("pyarrow")
    pytest.importorskip("PIL")
    tx, ty, sx, sy = fashion(200, 50)
    folder = tmp_path / sub
    write_hf_parquet(folder / "train-00000-of-00001.parquet", tx, ty, list(FASHION_MNIST_CLASSES))
    write_hf_parquet(folder / "test-00000-of-00001.parquet", sx, sy, list(FASHION_MNIST_CLASSES))
    loaded = open_dataset(tmp_path, keep_bytes=("test",))
    assert loaded.class_names == FASHION_MNIST_CLASSES and loaded.image_shape == (28, 28)
    (x, _), (vx, _), (test_x, test_y) = loaded.datasets
    np.testing.assert_array_equal(test_x.stored, sx.reshape(50, -1))
    np.testing.assert_array_equal(test_y, sy)
    assert len(x) + len(vx) == 200 and "validation cut from" in loaded.description


def test_hugging_face_parquet_without_names_and_in_several_files(tmp_path, capsys) -> None:
    pytest.importorskip("pyarrow")
    pytest.importorskip("PIL")
    tx, ty, sx, sy = fashion(600, 100)
    write_hf_parquet(tmp_path / "train-00000-of-00002.parquet", tx[:300], ty[:300], None)
    write_hf_parquet(tmp_path / "train-00001-of-00002.parquet", tx[300:], ty[300:], None)
    write_hf_parquet(tmp_path / "test-00000-of-00001.parquet", sx, sy, None)
    loaded = open_dataset(tmp_path)
    assert loaded.class_names == tuple(str(k) for k in range(10))
    assert sum(len(y) for y in (loaded.datasets[0][1], loaded.datasets[1][1])) == 600
    assert main(["train", "--data", str(tmp_path), "--n-epochs", "2", "--batch-size", "20"]) == 0
    assert "Hugging Face parquet files in" in capsys.readouterr().out


def test_parquet_without_the_expected_columns(tmp_path) -> None:
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    path = tmp_path / "train-00000-of-00001.parquet"
    pq.write_table(pa.table({"img": [b"x"], "label": [0]}), path)
    with pytest.raises(DataError, match=r"train-00000-of-00001.parquet: no 'image' column"):
        open_dataset(tmp_path)
    pq.write_table(pa.table({"image": [b"x"], "label": [0]}), path)
    with pytest.raises(DataError, match="the 'image' column is binary, expected a struct"):
        open_dataset(tmp_path)
