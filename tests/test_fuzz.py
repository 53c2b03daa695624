"""Property tests: random and mutated bytes fed to every loader end in a clean load or a clean error.

Bounded for CI; set LOGISTIC_SGD_FUZZ_EXAMPLES (e.g. 20000) for a longer run.
"""

from __future__ import annotations

import gzip
import io
import os
import pickle
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from logistic_sgd import LogisticRegression, load_data, save_model
from logistic_sgd.data.formats.idx import read_idx
from logistic_sgd.errors import LogisticSGDError
from logistic_sgd.outputs.persist import load_model

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
    keras = io.BytesIO()
    np.savez(keras, x_train=x, y_train=y, x_test=x, y_test=y)
    kaggle = "label," + ",".join(f"pixel{i}" for i in range(16)) + "\n" + "".join(
        ",".join(map(str, [int(label), *image.reshape(-1).tolist()])) + "\n" for image, label in zip(x, y, strict=True))
    names = "a,b,label\n" + "".join(f"{i * 0.5},{-i},{'xyz'[i % 3]}\n" for i in range(12))
    people = "id,colour,size,note,label\n" + "".join(
        f"{i},{['red', 'blue', 'NA', ''][i % 4]},{'' if i % 5 == 0 else i / 3:.3},word {i},{'pq'[i % 2]}\n"
        for i in range(30))
    svmlight = "".join(f"{k % 3} {k % 5 + 1}:{k / 7:.4g} {k % 5 + 9}:1.5\n" for k in range(40))
    from scipy import sparse as scipy_sparse

    csr = io.BytesIO()
    scipy_sparse.save_npz(csr, scipy_sparse.csr_array(x.reshape(12, -1).astype(np.float32)))
    return {
        "idx": idx,
        "npz": buf.getvalue(),
        "keras": keras.getvalue(),
        "kaggle.csv": kaggle.encode(),
        "names.csv": names.encode(),
        "people.csv": people.encode(),
        "svm": svmlight.encode(),
        "csr.npz": csr.getvalue(),
        "parquet": _parquet_seed(x, y),
        "png": _png_seed(x[0]),
        "pickle": gzip.compress(pickle.dumps(splits, protocol=2)),
        "model": model_buf.getvalue(),
        "fasttext": "".join(f"__label__{'xyz'[i % 3]} doc {i} 机器学习 caf\u00e9, word{i % 4}\n"
                            for i in range(12)).encode(),
        "text.csv": ("label,body,n\n" + "".join(f'{"xyz"[i % 3]},"text {i}, with ""quotes""\nand lines",{i}\n'
                                                 for i in range(12))).encode(),
    }


def _parquet_seed(x: np.ndarray, y: np.ndarray) -> bytes:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        return b"PAR1"
    from conftest import png_bytes

    image = pa.array([{"bytes": png_bytes(i), "path": None} for i in x],
                     type=pa.struct([("bytes", pa.binary()), ("path", pa.string())]))
    buf = io.BytesIO()
    pq.write_table(pa.table({"image": image, "label": pa.array(y.astype(np.int64))}), buf)
    return buf.getvalue()


def _png_seed(image: np.ndarray) -> bytes:
    try:
        from conftest import png_bytes

        return png_bytes(image)
    except ImportError:
        return b"\x89PNG"


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


@FUZZ
@given(data=mutated("keras"))
def test_keras_npz_loader(tmp_path: Path, data: bytes) -> None:
    _only_clean(load_data, tmp_path / "mnist.npz", data)


CSV_TEXT = st.text(alphabet=st.sampled_from(list(',;\t\n\r"0123456789.-+eEaNxy _')), max_size=300)


@FUZZ
@given(data=st.one_of(mutated("kaggle.csv"), mutated("names.csv"), mutated("people.csv"), CSV_TEXT.map(str.encode)),
       parser=st.sampled_from(["pyarrow", "python"]), suffix=st.sampled_from([".csv", ".tsv", ".csv.gz"]))
def test_csv_loader(tmp_path: Path, data: bytes, parser: str, suffix: str) -> None:
    if suffix == ".csv.gz":
        data = gzip.compress(data)
    with pytest.MonkeyPatch.context() as patch:
        if parser == "python":
            patch.setitem(sys.modules, "pyarrow", None)
        _only_clean(load_data, tmp_path / f"data{suffix}", data)


@FUZZ
@given(data=mutated("parquet"))
def test_parquet_loader(tmp_path: Path, data: bytes) -> None:
    pytest.importorskip("pyarrow")
    _only_clean(load_data, tmp_path / "train-00000-of-00001.parquet", data)


@FUZZ
@given(data=mutated("png"))
def test_image_folder_loader(tmp_path: Path, data: bytes) -> None:
    pytest.importorskip("PIL")
    from conftest import png_bytes

    good = png_bytes(np.zeros((4, 4), np.uint8))
    for i, label in enumerate("aabbaabb"):
        (tmp_path / "tree" / label).mkdir(parents=True, exist_ok=True)
        (tmp_path / "tree" / label / f"{i}.png").write_bytes(good)
    (tmp_path / "tree" / "a" / "x.png").write_bytes(data)
    try:
        load_data(tmp_path / "tree")
    except LogisticSGDError as exc:
        assert "\n" not in str(exc) and str(tmp_path / "tree") in str(exc)


SVM_TEXT = st.text(alphabet=st.sampled_from(list("0123456789:.- +e#\nqid\tx")), max_size=300)


@FUZZ
@given(data=st.one_of(mutated("svm"), SVM_TEXT.map(str.encode)), zero_based=st.sampled_from(["auto", True, False]))
def test_svmlight_loader(tmp_path: Path, data: bytes, zero_based: object) -> None:
    from logistic_sgd.data import open_dataset

    _only_clean(lambda p: open_dataset(p, zero_based=zero_based), tmp_path / "train.svm", data)


@FUZZ
@given(data=mutated("csr.npz"))
def test_scipy_csr_npz_loader(tmp_path: Path, data: bytes) -> None:
    _only_clean(load_data, tmp_path / "x.npz", data)


CELLS = st.one_of(st.none(), st.sampled_from(["", "NA", "?", "red", "blue", "yes", "no", "1", "2.5", "-3", "1e3",
                                              "inf", "a b c d e f"]), st.text(max_size=6))


@FUZZ
@given(columns=st.lists(st.lists(CELLS, min_size=8, max_size=8), min_size=1, max_size=5),
       later=st.lists(CELLS, min_size=5, max_size=5))
def test_column_pipeline_on_any_cells(columns: list[list[object]], later: list[object]) -> None:
    """Any columns of cells: the pipeline is refused with one line, or fitted; then its features are
    finite, each category block holds at most one 1 a row, and the stored pipeline reads back equal."""
    from logistic_sgd.data.columns import Frame
    from logistic_sgd.data.preprocess import CategoryColumn, Preprocessor

    frame = Frame.from_columns({f"c{i}": cells for i, cells in enumerate(columns)}, source="t.csv")
    try:
        pre = Preprocessor.fit(frame)
    except LogisticSGDError as exc:
        assert "\n" not in str(exc) and "t.csv" in str(exc)
        return
    assert Preprocessor.from_arrays(pre.to_arrays(), pre.n_features) == pre
    new = Frame.from_columns({name: [later[i % 5] for i in range(5)] for name in frame.names}, source="new.csv")
    try:
        x = pre.transform(new)
    except LogisticSGDError as exc:  # a word or an infinite number where the model takes numbers
        assert "\n" not in str(exc) and "new.csv" in str(exc)
        return
    assert x.shape == (5, pre.n_features) and np.isfinite(x).all()
    start = 0
    for t in pre.transforms:
        width = len(t.features)
        if isinstance(t, CategoryColumn):
            block = x[:, start : start + width]
            assert set(np.unique(block)) <= {0.0, 1.0} and (block.sum(axis=1) <= 1).all()
        start += width


@FUZZ
@given(spec=st.binary(max_size=400))
def test_model_file_with_any_column_pipeline(tmp_path: Path, spec: bytes) -> None:
    """A model file whose stored columns are any bytes: it loads, or says in one line that they are malformed."""
    from logistic_sgd.outputs.persist import load_classifier

    path = tmp_path / "m.npz"
    save_model(path, LogisticRegression(3, 2), {"data": "fuzz"})
    with np.load(path) as f:
        arrays = dict(f)
    np.savez(path, **arrays, prep_columns=np.frombuffer(spec, dtype=np.uint8))
    try:
        load_classifier(path)
    except LogisticSGDError as exc:
        assert "\n" not in str(exc) and str(path) in str(exc)
@FUZZ
@given(data=st.one_of(mutated("fasttext"), mutated("text.csv")), suffix=st.sampled_from([".txt", ".csv"]))
def test_text_loaders_and_vectoriser(tmp_path: Path, data: bytes, suffix: str) -> None:
    """fastText files and tables of text, mutated: a clean load whose splits vectorise, or one line."""
    from logistic_sgd.data import open_dataset
    from logistic_sgd.data.sources import vectorize_splits
    from logistic_sgd.data.vectorize import TextVectorizer

    def load(path: Path) -> None:
        loaded = open_dataset(path, text_columns=("body",) if suffix == ".csv" else ())
        rows = vectorize_splits(loaded, TextVectorizer(n_features=2**10), fit=True).datasets
        assert all(x.shape[1] >= 2**10 and len(x) == len(y) for x, y in rows)

    _only_clean(load, tmp_path / f"train{suffix}", data)
