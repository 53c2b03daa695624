"""The catalogue of bad inputs: each ends with exit status 2 and one line on stderr naming the file or
flag, no traceback, nothing half-written, and an existing --model-out left untouched."""

from __future__ import annotations

import gzip
import json
import os
import pickle
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from logistic_sgd.cli import main

from conftest import make_images, write_idx


def _npz(path: Path, **changes: np.ndarray) -> Path:
    x, y = make_images(60, seed=7)
    arrays = {"train_x": x, "train_y": y, "valid_x": x, "valid_y": y, "test_x": x, "test_y": y, **changes}
    np.savez(path, **arrays)
    return path


class _Evil:
    def __init__(self, target: Path) -> None:
        self.target = target

    def __reduce__(self):
        return (os.system, (f"touch {self.target}",))


def _model(tmp: Path, idx_folder: Path) -> Path:
    path = tmp / "good_model.npz"
    assert main(["train", "--data", str(idx_folder), "--batch-size", "100", "--n-epochs", "1", "-q",
                 "--model-out", str(path)]) == 0
    return path


def _rewrite_model(src: Path, dst: Path, edit: Callable[[dict], None]) -> Path:
    with np.load(src) as f:
        arrays = dict(f)
    meta = json.loads(arrays["metadata"].tobytes())
    arrays["meta"] = meta
    edit(arrays)
    arrays["metadata"] = np.frombuffer(json.dumps(arrays.pop("meta")).encode(), dtype=np.uint8)
    np.savez(dst, **arrays)
    return dst


# Each case: (name, build(tmp, idx_folder) -> argv, text the message must contain)
TRAIN = ["train", "-q", "--batch-size", "100", "--n-epochs", "1"]
CASES: list[tuple[str, Callable[[Path, Path], list[str]], str]] = [
    ("missing path", lambda t, i: [*TRAIN, "--data", str(t / "nope")], "nope: no such file or folder"),
    ("folder as model file", lambda t, i: ["predict", "--model", str(i), str(t / "x.npy")], "is a folder"),
    ("file as data folder", lambda t, i: [*TRAIN, "--data", str(_touch(t / "data.txt", b"x"))],
     "unknown dataset format"),
    ("empty pickle", lambda t, i: [*TRAIN, "--data", str(_touch(t / "mnist.pkl.gz", b""))], "file is empty"),
    ("truncated gzip", lambda t, i: [*TRAIN, "--data", str(_truncate(i / "train-images-idx3-ubyte.gz", i))],
     "corrupt or truncated gzip"),
    ("truncated gzipped pickle", lambda t, i: [*TRAIN, "--data", str(_truncate(_touch(t / "mnist.pkl.gz", gzip.compress(
        pickle.dumps(((np.zeros((4, 3)), np.zeros(4)),) * 3, protocol=2)))))],
     "mnist.pkl.gz: corrupt or truncated gzip"),
    ("not gzip at all", lambda t, i: [*TRAIN, "--data", str(_touch(i / "t10k-labels-idx1-ubyte.gz", b"hello", i))],
     "is not gzip data"),
    ("pickle that runs code", lambda t, i: [*TRAIN, "--data", str(_touch(
        t / "evil.pkl.gz", gzip.compress(pickle.dumps(_Evil(t / "pwned"), protocol=2))))], "only NumPy arrays"),
    ("wrong IDX magic", lambda t, i: [*TRAIN, "--data", str(_touch(
        i / "train-labels-idx1-ubyte.gz", gzip.compress(b"\x08\x08\x08\x08" + bytes(20)), i))], "not an IDX file"),
    ("IDX sizes disagree with payload", lambda t, i: [*TRAIN, "--data", str(_touch(
        i / "t10k-images-idx3-ubyte.gz", gzip.compress(gzip.decompress(
            (i / "t10k-images-idx3-ubyte.gz").read_bytes())[:-5]), i))], "but the payload has"),
    ("image and label counts differ", lambda t, i: [*TRAIN, "--data", str(_relabel(i, 1199))], "1200 images but"),
    ("negative labels", lambda t, i: [*TRAIN, "--data", str(_npz(t / "neg.npz", train_y=np.full(60, -1)))],
     "labels must be >= 0"),
    ("fractional labels", lambda t, i: [*TRAIN, "--data", str(_npz(t / "frac.npz", valid_y=np.full(60, 0.5)))],
     "whole numbers"),
    ("string labels", lambda t, i: [*TRAIN, "--data", str(_npz(t / "str.npz", test_y=np.array(["a"] * 60)))],
     "labels must be integers"),
    ("NaN pixels", lambda t, i: [*TRAIN, "--data", str(_npz(t / "nan.npz", test_x=np.full((60, 784), np.nan)))],
     "NaN or Inf"),
    ("Inf pixels", lambda t, i: [*TRAIN, "--data", str(_npz(t / "inf.npz", train_x=np.full((60, 784), np.inf)))],
     "NaN or Inf"),
    ("object arrays in npz", lambda t, i: [*TRAIN, "--data", str(_npz(
        t / "obj.npz", train_x=np.array([None] * 60, dtype=object)))], "object arrays"),
    ("wrong width at predict", lambda t, i: ["predict", "--model", str(_model(t, i)), str(_save(
        t / "wide.npy", np.zeros((3, 100))))], "the model expects 784"),
    ("wrong width at evaluate", lambda t, i: ["evaluate", "--model", str(_model(t, i)), "--data", str(_npz(
        t / "w.npz", **{k: np.zeros((60, 100)) for k in ("train_x", "valid_x", "test_x")}))], "model takes 784"),
    ("labels beyond the model's classes", lambda t, i: ["evaluate", "--model", str(_model(t, i)), "--data", str(_npz(
        t / "c.npz", train_y=np.full(60, 12), valid_y=np.full(60, 12), test_y=np.full(60, 12)))],
     "class '12' does not occur in the model's classes"),
    ("truncated model", lambda t, i: ["predict", "--model", str(_truncate(_model(t, i))), str(t / "x.npy")],
     "not a readable model file"),
    ("tampered model shape", lambda t, i: ["predict", "--model", str(_rewrite_model(
        _model(t, i), t / "tampered.npz", lambda a: a.update(W=a["W"][:-1]))), str(t / "x.npy")], "inconsistent"),
    ("tampered model metadata", lambda t, i: ["predict", "--model", str(_corrupt_member(_model(t, i), "metadata")),
                                              str(t / "x.npy")], "model"),
    ("model rows out of order", lambda t, i: ["predict", "--model", str(_rewrite_model(
        _model(t, i), t / "rows.npz", lambda a: (a["meta"].update(format_version=2), a.update(
            W_rows=np.arange(len(a["W"]), dtype=np.int64)[::-1])))), str(t / "x.npy")],
     "W_rows must be increasing int64 row indices"),
    ("model from another version", lambda t, i: ["predict", "--model", str(_rewrite_model(
        _model(t, i), t / "v99.npz", lambda a: a["meta"].update(format_version=99))), str(t / "x.npy")],
     "format version 99 is not supported"),
    ("non-image to predict", lambda t, i: ["predict", "--model", str(_model(t, i)), str(_touch(
        t / "fake.png", b"this is text"))], "not a readable image"),
    ("batch size 0", lambda t, i: ["train", "--data", str(i), "--batch-size", "0"], "--batch-size must be"),
    ("batch size above the training set", lambda t, i: ["train", "--data", str(i), "--batch-size", "5000"],
     "larger than the training set"),
    ("learning rate <= 0", lambda t, i: ["train", "--data", str(i), "--learning-rate", "-1"], "--learning-rate"),
    ("patience < 1", lambda t, i: ["train", "--data", str(i), "--patience", "0"], "--patience must be"),
    ("unknown dtype", lambda t, i: ["train", "--data", str(i), "--floatx", "float16"], "--floatx"),
    ("unwritable output path", lambda t, i: ["train", "--data", str(i), "--model-out", "/proc/m.npz"],
     "--model-out /proc/m.npz: cannot write"),
    ("output folder missing", lambda t, i: ["train", "--data", str(i), "--model-out", str(t / "no" / "m.npz")],
     "does not exist"),
    ("diverging run", lambda t, i: [*TRAIN, "--data", str(i), "--learning-rate", "1e38"], "diverged in epoch 1"),
    ("CSV with ragged rows", lambda t, i: [*TRAIN, "--data", str(_csv(t, "a,b,label\n1,2,0\n3,1\n"))],
     "data.csv: line 3 has 2 cells, expected 3 like line 1"),
    ("CSV with an infinite number", lambda t, i: [*TRAIN, "--data", str(_csv(t, "a,b,label\n1,2,0\n3,-inf,1\n"))],
     "data.csv: line 3, column 2 ('b'): -inf is not a finite number"),
    ("CSV header with no rows", lambda t, i: [*TRAIN, "--data", str(_csv(t, "label,pixel0,pixel1\n"))],
     "data.csv: has a header but no rows"),
    ("CSV without a label column", lambda t, i: [*TRAIN, "--data", str(_csv(t, "a,b,c\n1,2,0\n"))],
     "data.csv: which column holds the labels? The file has no column named label"),
    ("CSV with a missing value, refused", lambda t, i: [*TRAIN, "--data", str(_csv(t, "a,b,label\n1,2,0\n,1,1\n")),
                                                        "--missing", "error"],
     "data.csv: line 3, column 1 ('a'): missing value"),
    ("CSV whose feature columns are all identifiers", lambda t, i: [*TRAIN, "--data", str(_csv(
        t, "id,name,empty,label\n" + "".join(f"{k},name {k},,{k % 2}\n" for k in range(40))))],
     "data.csv: every feature column is an identifier or empty (id, name, empty); name the columns to use with "
     "--features"),
    ("CSV whose labels are all missing", lambda t, i: [*TRAIN, "--data", str(_csv(t, "a,b,label\n1,x,\n2,y,NA\n"))],
     "data.csv: every label (column 'label') is missing"),
    ("a column named in --categorical that the table lacks", lambda t, i: [*TRAIN, "--data", str(_csv(
        t, "a,b,label\n1,x,0\n2,y,1\n")), "--categorical", "c"],
     "data.csv: no column named 'c' (columns: a, b)"),
    ("the label column named in --features", lambda t, i: [*TRAIN, "--data", str(_csv(
        t, "a,b,label\n1,x,0\n2,y,1\n")), "--features", "a,label"],
     "data.csv: column 'label' holds the labels; it cannot be a feature too"),
    ("a table to classify without a column the model takes", lambda t, i: ["predict", "--model", str(_table_model(
        t)), str(_touch(t / "rows.csv", b"size,shade\n1,red\n"))],
     "rows.csv: no column named 'colour'; the model takes the columns size, colour"),
    ("a word in a column the model takes as numbers", lambda t, i: ["predict", "--model", str(_table_model(
        t)), str(_touch(t / "rows.csv", b"colour,size\nred,big\n"))],
     "rows.csv: row 1, column 'size': 'big' is not a number"),
    ("CSV with fractional labels", lambda t, i: [*TRAIN, "--data", str(_csv(t, "a,label\n1,0.5\n"))],
     "class labels must be whole numbers or names"),
    ("CSV with too few examples of a class", lambda t, i: [*TRAIN, "--data", str(_csv(t, "a,y\n1,p\n2,q\n"))],
     "class 'p' has 1 example(s), too few to cut validation and test splits"),
    ("truncated gzipped CSV", lambda t, i: [*TRAIN, "--data", str(_truncate(_csv(t, "a,y\n1,2\n" * 500, ".csv.gz")))],
     "data.csv.gz: corrupt or truncated gzip data"),
    ("test-set class training never saw", lambda t, i: [*TRAIN, "--data", str(_image_tree(t, test_extra=True))],
     "test: class 'c' does not occur in the training data"),
    ("ImageFolder with a non-image file", lambda t, i: [*TRAIN, "--data", str(_image_tree(t, stray=b"hello"))],
     "readme.txt: not an image file"),
    ("ImageFolder with a broken image", lambda t, i: [*TRAIN, "--data", str(_image_tree(t, broken=True))],
     "00000.png: not a readable image"),
    ("parquet without the image column", lambda t, i: [*TRAIN, "--data", str(_parquet(t, {"img": [b"x"],
                                                                                         "label": [0]}))],
     "no 'image' column (expected Hugging Face's image and label columns; found img, label)"),
    ("parquet file that is not parquet", lambda t, i: [*TRAIN, "--data", str(_touch(t / "train.parquet",
                                                                                    b"PAR1 not really"))],
     "train.parquet: not a readable parquet file"),
    ("Keras npz with fewer labels", lambda t, i: [*TRAIN, "--data", str(_keras(t / "mnist.npz"))],
     "mnist.npz: x_train of shape (60, 28, 28) but y_train of shape (59,)"),
    ("svmlight malformed line", lambda t, i: [*TRAIN, "--data", str(_touch(t / "a.svm", b"1 1:1\n2 3:1 junk\n"))],
     "a.svm: line 2: expected index:value, got 'junk'"),
    ("svmlight negative index", lambda t, i: [*TRAIN, "--data", str(_touch(t / "a.svm", b"1 -3:1\n"))],
     "a.svm: line 1: feature index '-3' is negative"),
    ("svmlight non-integer index", lambda t, i: [*TRAIN, "--data", str(_touch(t / "a.svm", b"1 2.5:1\n"))],
     "a.svm: line 1: feature index '2.5' is not a whole number"),
    ("svmlight duplicate index", lambda t, i: [*TRAIN, "--data", str(_touch(t / "a.svm", b"1 1:1\n\n1 4:1 4:2\n"))],
     "a.svm: line 3: duplicate feature index 4"),
    ("svmlight empty file", lambda t, i: [*TRAIN, "--data", str(_touch(t / "a.svm", b""))], "a.svm: no examples"),
    ("svmlight test file beside a CSV", lambda t, i: [*TRAIN, "--data", str(_touch(t / "a.svm", b"1 1:1\n")),
                                                      "--test-data", str(_touch(t / "b.csv", b"f,label\n1,1\n"))],
     "b.csv: the test examples of an svmlight training file must be an svmlight file too"),
    ("sparse rows standardised", lambda t, i: [*TRAIN, "--data", str(_touch(t / "a.svm", b"1 1:1\n2 2:1\n" * 20)),
                                               "--scale", "standard"],
     "--scale standard would make sparse features dense"),
    ("fastText line with two labels", lambda t, i: [*TRAIN, "--data", str(_touch(t / "a.txt", b"__label__a x\n"
                                                                                    b"__label__a __label__b y\n"))],
     "a.txt: line 2 has 2 labels (__label__a, __label__b); one label a line, as this model gives one class per "
     "example"),
    ("fastText label with a space", lambda t, i: [*TRAIN, "--data", str(_touch(t / "a.txt", b"__label__a x\n"
                                                                                  b"__label__ science fiction y\n"))],
     "a.txt: line 2: empty label after __label__ (a label ends at the first space: write __label__science_fiction, "
     "not __label__science fiction)"),
    ("fastText line without a label", lambda t, i: [*TRAIN, "--data", str(_touch(t / "a.txt", b"__label__a x\n"
                                                                                    b"no label\n"))],
     "a.txt: line 2 has no __label__CLASS (fastText's format: __label__CLASS then the text)"),
    ("text documents all empty", lambda t, i: [*TRAIN, "--data", str(_touch(t / "a.txt", b"__label__a\n"
                                                                               b"__label__b ...\n"))],
     "a.txt: no words in any document (2 lines)"),
    ("a 100 MB line of text", lambda t, i: [*TRAIN, "--data", str(_touch(t / "a.txt", b"__label__a "
                                                                            + b"word " * 20_000_000 + b"\n"))],
     "a.txt: class 'a' has 1 example(s), too few to cut validation and test splits holding every class"),
    ("class folder without .txt files", lambda t, i: [*TRAIN, "--data", str(_text_folder(t, {"a": 3, "b": 0}))],
     "news/b: class folder holds no .txt files (each class folder needs at least one)"),
    ("folder of class folders of other files", lambda t, i: [*TRAIN, "--data", str(_text_folder(t, {"a": 3},
                                                                                                suffix=".doc"))],
     "news: folder holds no dataset (expected train-images-idx3-ubyte[.gz] and the other IDX files, mnist.pkl.gz, "
     "train-*.parquet files, or class folders of images or of .txt files)"),
    ("a text column that is not there", lambda t, i: [*TRAIN, "--data", str(_touch(t / "t.csv", b"y,body\na,b c\n")),
                                                      "--label-column", "y", "--text-column", "title"],
     "t.csv: no column named 'title' (columns: y, body)"),
    ("--text for a model of features", lambda t, i: ["predict", "--model", str(_model(t, i)), "--text", "hello"],
     "good_model.npz was not trained on text"),
    ("predict without inputs", lambda t, i: ["predict", "--model", str(_model(t, i))],
     "give inputs to classify (files, or --text for a model trained on text)"),
    ("text data for a model of features", lambda t, i: ["evaluate", "--model", str(_model(t, i)), "--data",
                                                        str(_text_folder(t, {"a": 3, "b": 3}))],
     "good_model.npz: the model was trained on features, the data hold text"),
    ("convert text", lambda t, i: ["convert", "--data", str(_text_folder(t, {"a": 3, "b": 3})), "--out",
                                   str(t / "out")],
     "news: holds raw text, which train vectorises into the model; convert takes features (train on the text "
     "instead)"),
]


def _table_model(tmp: Path) -> Path:
    """A model trained on a table of a number and a category column."""
    rows = "".join(f"{k % 7},{'red' if k % 2 else 'blue'},{k % 2}\n" for k in range(60))
    path = tmp / "table_model.npz"
    assert main(["train", "-q", "--data", str(_csv(tmp, "size,colour,label\n" + rows, ".table.csv")), "--model-out",
                 str(path)]) == 0
    return path


def _text_folder(tmp: Path, files: dict[str, int], suffix: str = ".txt") -> Path:
    root = tmp / "news"
    for name, n in files.items():
        (root / name).mkdir(parents=True)
        for k in range(n):
            (root / name / f"{k}{suffix}").write_text(f"document {k} of class {name}")
    return root


def _csv(tmp: Path, text: str, suffix: str = ".csv") -> Path:
    path = tmp / f"data{suffix}"
    path.write_bytes(gzip.compress(text.encode()) if suffix.endswith(".gz") else text.encode())
    return path


def _image_tree(tmp: Path, test_extra: bool = False, stray: bytes | None = None, broken: bool = False) -> Path:
    pytest.importorskip("PIL")
    from conftest import png_bytes

    x, y = make_images(40, seed=8, n_classes=2)
    root = tmp / "tree"
    for split, n_extra in (("train", 0), ("test", int(test_extra))):
        for i, (image, label) in enumerate(zip(x, y, strict=True)):
            folder = root / split / "ab"[label]
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"{i:05d}.png").write_bytes(png_bytes(image))
        for k in range(n_extra):
            (root / split / "c").mkdir()
            (root / split / "c" / f"{k}.png").write_bytes(png_bytes(x[0]))
    if stray is not None:
        (root / "train" / "a" / "readme.txt").write_bytes(stray)
    if broken:
        for png in (root / "train").rglob("00000.png"):
            png.write_bytes(png.read_bytes()[:40])
    return root


def _parquet(tmp: Path, columns: dict) -> Path:
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    path = tmp / "train-00000-of-00001.parquet"
    pq.write_table(pa.table(columns), path)
    return path


def _keras(path: Path) -> Path:
    x, y = make_images(60, seed=9)
    np.savez(path, x_train=x, y_train=y[:-1], x_test=x, y_test=y)
    return path


def _touch(path: Path, data: bytes, folder: Path | None = None) -> Path:
    path.write_bytes(data)
    return folder or path


def _truncate(path: Path, result: Path | None = None) -> Path:
    path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])
    return result or path


def _relabel(folder: Path, n: int) -> Path:
    _, y = make_images(n, seed=1)
    write_idx(folder / "train-labels-idx1-ubyte.gz", y)
    return folder


def _save(path: Path, a: np.ndarray) -> Path:
    np.save(path, a)
    return path


def _corrupt_member(path: Path, member: str) -> Path:
    out = path.with_name("corrupt.npz")
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(out, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename == f"{member}.npy":
                data = data[:-10] + b"\xff" * 10
            dst.writestr(item, data)
    return out


@pytest.mark.parametrize(("build", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input(build, expected: str, tmp_path: Path, idx_folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    model_out = tmp_path / "existing_model.npz"
    model_out.write_bytes(b"a model the user cares about")
    argv = build(tmp_path, idx_folder)
    if argv[0] == "train" and "--model-out" not in argv:
        argv += ["--model-out", str(model_out)]
    capsys.readouterr()
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.endswith("\n") and err.count("\n") == 1, err
    assert err.startswith("logistic-sgd: error: ") and expected in err, err
    assert "Traceback" not in err
    assert model_out.read_bytes() == b"a model the user cares about"
    assert not list(tmp_path.glob(".*.tmp")), "no temporary file is left behind"
    assert not (tmp_path / "pwned").exists()

# The download whose checksum does not match is in test_download.py (against a local HTTP server).


def test_a_disk_that_fills_up_during_training_is_one_line(
    tmp_path: Path, idx_folder: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The output paths are tried before the data are loaded; a write that fails later (here: the
    disk fills up at the first best model) also ends as one line naming the file, status 2."""
    import errno

    import logistic_sgd.util.atomic as atomic

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    model_out = tmp_path / "existing_model.npz"
    model_out.write_bytes(b"a model the user cares about")
    monkeypatch.setattr(atomic.os, "fsync", full)
    assert main([*TRAIN, "--data", str(idx_folder), "--model-out", str(model_out)]) == 2
    err = capsys.readouterr().err
    assert err == f"logistic-sgd: error: {model_out}: cannot write (No space left on device)\n"
    assert model_out.read_bytes() == b"a model the user cares about"
    assert not list(tmp_path.glob(".*.tmp")), "no temporary file is left behind"
