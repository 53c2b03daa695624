"""CSV and TSV files: Kaggle's MNIST layout built from Fashion-MNIST, sklearn's tables with named
classes, both parsers (pyarrow and Python's csv module), and every malformation as one clean line."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np
import pytest

from logistic_sgd.cli import main
from logistic_sgd.data import open_dataset
from logistic_sgd.data.formats.tabular import read_table
from logistic_sgd.data.labels import FASHION_MNIST_CLASSES
from logistic_sgd.errors import DataError

from conftest import fashion, write_kaggle_csv

pytest.importorskip("pyarrow")


@pytest.fixture(params=["pyarrow", "python"])
def parser(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Each test runs with pyarrow, and with pyarrow made unimportable (Python's csv module)."""
    if request.param == "python":
        monkeypatch.setitem(sys.modules, "pyarrow", None)
    return request.param


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


@pytest.mark.parametrize("suffix", [".csv", ".csv.gz", ".csv.bz2", ".csv.xz"])
def test_kaggle_layout_is_image_bytes(tmp_path: Path, parser: str, suffix: str) -> None:
    tx, ty, _, _ = fashion(300, 0)
    table = read_table(write_kaggle_csv(tmp_path / f"train{suffix}", tx, ty))
    assert table.pixels and table.x.dtype == np.uint8
    np.testing.assert_array_equal(table.x, tx.reshape(300, -1))
    np.testing.assert_array_equal(table.labels, ty)
    assert table.label_name == "label" and table.feature_names[:2] == ("pixel0", "pixel1")


def test_kaggle_csv_trains_from_the_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tx, ty, _, _ = fashion(1000, 0)
    path = write_kaggle_csv(tmp_path / "train.csv", tx, ty)
    assert main(["train", "--data", str(path), "--n-epochs", "2", "--batch-size", "50"]) == 0
    out = capsys.readouterr().out
    counts = re.search(r"stratified split 0.8/0.1/0.1 \(seed 0\): (\d+) training, (\d+) validation, (\d+) test", out)
    assert "... data: CSV file" in out and counts, out
    assert sum(map(int, counts.groups())) == 1000 and abs(int(counts[2]) - 100) <= 5  # rounded class by class
    error = float(out.split("test error of best model ")[-1].split(" %")[0])
    assert error < 40, out  # ten classes: chance is 90 %


def test_same_images_as_idx_scaled_the_same(tmp_path: Path) -> None:
    """A pixel CSV holds bytes, scaled x / 255 exactly as IDX images are; class names are the digits of its labels."""
    tx, ty, _, _ = fashion(500, 0)
    loaded = open_dataset(write_kaggle_csv(tmp_path / "train.csv", tx, ty))
    assert loaded.image_shape == (28, 28) and loaded.class_names == tuple(str(k) for k in range(10))
    (x, y), _, _ = loaded.datasets
    assert x.dtype == np.float32
    flat = tx.reshape(500, -1)
    rows = [int(np.flatnonzero((flat == np.rint(row * 255)).all(axis=1))[0]) for row in x[:20]]
    np.testing.assert_array_equal(x[:20], np.divide(flat[rows], np.float32(255), dtype=np.float32))
    np.testing.assert_array_equal(y[:20], ty[rows])


def test_pixels_beyond_a_byte_are_plain_features(tmp_path: Path, parser: str) -> None:
    path = _write(tmp_path / "p.csv", "label,pixel0,pixel1\n0,1,300\n1,2.5,3\n")
    table = read_table(path)
    assert not table.pixels and table.x.dtype == np.float64
    np.testing.assert_array_equal(table.x, [[1, 300], [2.5, 3]])


def test_string_labels_and_unscaled_features_train_with_standardisation(tmp_path: Path) -> None:
    """sklearn's wine table (features from 0.1 to 1,680) with its classes named: standardised on
    the training split as phase 2 will do, SGD separates the three cultivars."""
    from sklearn.datasets import load_wine

    from logistic_sgd.data.scaling import fit_scaling
    from logistic_sgd.training.loop import TrainConfig, fit

    wine = load_wine()
    names = np.array(["barbera", "barolo", "grignolino"])[wine.target]
    lines = [",".join([*wine.feature_names, "Class"])]
    lines += [",".join([*map(repr, row.tolist()), name]) for row, name in zip(wine.data, names, strict=True)]
    loaded = open_dataset(_write(tmp_path / "wine.csv", "\n".join(lines) + "\n"))
    assert loaded.class_names == ("barbera", "barolo", "grignolino") and not loaded.images
    assert loaded.feature_names == tuple(wine.feature_names)
    (tx, _), (vx, _), (sx, _) = loaded.datasets
    assert tx.dtype == np.float64 and tx.max() > 1000  # features as read
    assert [len(tx), len(vx), len(sx)] == [142, 18, 18]
    scaling = fit_scaling("auto", tx, loaded.images)
    assert scaling is not None
    splits = tuple((scaling.transform(x), y) for x, y in loaded.datasets)
    result = fit(splits, TrainConfig(n_epochs=30, batch_size=10, learning_rate=0.1), [])
    assert result.test_error < 0.12, result


def test_iris_with_named_classes_trains_from_the_command_line(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    from sklearn.datasets import load_iris

    iris = load_iris()
    lines = ["sepal length,sepal width,petal length,petal width,class"]
    lines += [",".join([*map(str, row.tolist()), iris.target_names[k]]) for row, k in
              zip(iris.data, iris.target, strict=True)]
    path = _write(tmp_path / "iris.csv", "\n".join(lines) + "\n")
    assert main(["train", "--data", str(path), "--n-epochs", "2", "--batch-size", "10"]) == 0
    assert "120 training, 15 validation, 15 test" in capsys.readouterr().out
    assert open_dataset(path, label_column=-1).class_names == ("setosa", "versicolor", "virginica")


def test_mlxtend_layout_without_header_label_last(tmp_path: Path, parser: str) -> None:
    tx, ty, _, _ = fashion(50, 0)
    rows = [",".join(map(str, [*x.tolist(), int(y)])) for x, y in zip(tx.reshape(50, -1), ty, strict=True)]
    path = _write(tmp_path / "mnist_5k.csv", "\n".join(rows) + "\n")
    with pytest.raises(DataError, match="has no header row; give the label column"):
        read_table(path)
    with pytest.raises(DataError, match="has no header row; give the label column by number, not 'label'"):
        read_table(path, "label")
    table = read_table(path, label_column=-1)
    assert table.feature_names is None and not table.pixels  # no pixel names: plain features
    np.testing.assert_array_equal(table.x, tx.reshape(50, -1))
    np.testing.assert_array_equal(table.labels, ty)
    np.testing.assert_array_equal(read_table(path, label_column=784).labels, ty)


def test_label_column_by_name_number_or_default(tmp_path: Path, parser: str) -> None:
    path = _write(tmp_path / "t.tsv", "a\tTarget\tb\n1\tx\t2\n3\ty\t4\n")
    assert read_table(path).labels.tolist() == ["x", "y"]
    assert read_table(path, "target").label_name == "Target"
    with pytest.raises(DataError, match=r"line 2, column 2 \('Target'\): 'x' is not a number"):
        read_table(path, label_column=0)
    with pytest.raises(DataError, match=r"no column is named 'kind' \(columns: a, Target, b\)"):
        read_table(path, "kind")
    with pytest.raises(DataError, match="has 3 columns, so label_column -4 does not exist"):
        read_table(path, -4)
    numbers = _write(tmp_path / "n.csv", "a;b;c\n1;2;3\n4;5;6\n")
    by_number = read_table(numbers, label_column=-2)
    assert by_number.labels.tolist() == [2, 5] and by_number.feature_names == ("a", "c")
    assert by_number.x.tolist() == [[1, 3], [4, 6]]
    unlabelled = read_table(numbers, require_label=False)
    assert unlabelled.labels is None and unlabelled.x.tolist() == [[1, 2, 3], [4, 5, 6]]


def test_numbered_classes_are_sorted_as_numbers(tmp_path: Path) -> None:
    rows = "\n".join(f"{k},{k * 0.5}" for k in [10, 2, 3, 2, 10, 3] * 4)
    loaded = open_dataset(_write(tmp_path / "n.csv", "y,f\n" + rows + "\n"))
    assert loaded.class_names == ("2", "3", "10")
    (x, y), _, _ = loaded.datasets
    np.testing.assert_array_equal(y, np.searchsorted([2, 3, 10], x[:, 0] * 2))


def test_explicit_validation_and_test_files(tmp_path: Path) -> None:
    train = _write(tmp_path / "train.csv", "f,label\n" + "".join(f"{i},{'ab'[i % 2]}\n" for i in range(40)))
    valid = _write(tmp_path / "valid.csv", "f,label\n1,a\n2,b\n")
    test = _write(tmp_path / "test.csv", "f,label\n3,b\n")
    both = open_dataset(train, valid=valid, test=test)
    assert [len(y) for _, y in both.datasets] == [40, 2, 1]
    assert both.datasets[2][1].tolist() == [1] and "test from" in both.description
    only_test = open_dataset(train, test=test, split=(0.5, 0.25, 0.25))
    assert [len(y) for _, y in only_test.datasets] == [26, 14, 1]  # train:valid = 0.5:0.25 of the 40
    assert "validation cut from train.csv by a stratified split 0.667/0.333" in only_test.description
    unseen = _write(tmp_path / "unseen.csv", "f,label\n3,c\n")
    with pytest.raises(DataError, match=rf"^{unseen}: class 'c' does not occur in the training data"):
        open_dataset(train, test=unseen)


@pytest.mark.parametrize(("text", "message"), [
    ("a,b,label\n1,2,x\n3,4\n", "line 3 has 2 cells, expected 3 like line 1"),
    ("a,b,label\n1,2,x\n3,abc,y\n", r"line 3, column 2 \('b'\): 'abc' is not a number"),
    ("a,b,label\n1,2,x\n3,,y\n", r"line 3, column 2 \('b'\): missing value"),
    ("a,b,label\n1,2,x\n3,NA,y\n", r"line 3, column 2 \('b'\): missing value"),
    ("a,b,label\n1,2,x\n3,4,\n", r"line 3, column 3 \('label'\): missing label"),
    ("a,b,label\n1,2,x\n3,inf,y\n", r"line 3, column 2 \('b'\): inf is not a finite number"),
    ("a,b,label\n", "has a header but no rows"),
    ("a,b,c\n1,2,3\n", "which column holds the labels. The file has no column named label, labels, class, target or y"),
    ("a,label,y\n1,2,3\n", r"several columns could hold the labels \(label, y\)"),
    ("a,label\n1,0.5\n", "the label column 'label' holds 0.5: class labels must be whole numbers or names"),
    ("label\n1\n", "no feature columns besides the labels"),
    ("\n\n", "holds no rows"),
])
def test_malformed_tables(tmp_path: Path, parser: str, text: str, message: str) -> None:
    path = _write(tmp_path / "bad.csv", text)
    with pytest.raises(DataError, match=f"^{path}: {message}") as caught:
        read_table(path)
    assert "\n" not in str(caught.value)


def test_not_utf8_and_not_compressed(tmp_path: Path, parser: str) -> None:
    path = tmp_path / "b.csv"
    path.write_bytes(b"a,label\n1,\xff\xfe\n")
    with pytest.raises(DataError, match="not UTF-8 text"):
        read_table(path)
    fake = _write(tmp_path / "f.csv.xz", "a,label\n1,2\n")
    with pytest.raises(DataError, match=r"named \.xz but is not xz data"):
        read_table(fake)


def test_fashion_names_for_a_known_file_name(tmp_path: Path) -> None:
    tx, ty, _, _ = fashion(100, 0)
    loaded = open_dataset(write_kaggle_csv(tmp_path / "fashion-mnist.csv", tx, ty))
    assert loaded.class_names == FASHION_MNIST_CLASSES
