"""The svmlight reader: the same matrix as scikit-learn's loader, from the compiled scanner and from the
Python parser alike, at any chunk size; every malformed line a one-line DataError naming file and line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from logistic_sgd.data.formats import svmlight
from logistic_sgd.data.formats.svmlight import read_svmlight, read_svmlight_files, write_svmlight
from logistic_sgd.data.rows import CSR
from logistic_sgd.errors import DataError, LogisticSGDError

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

MIXED = b"""# a comment line
3 1:0.5 4:1e-3 10:-2.25   # trailing comment
\t
1 qid:7 2:0.1 3:123456789012345678 5:1.0000000000000002
0 6:.5 7:5. 8:+3 9:7E+2
2
1 1:0.30000000000000004 2:1e-30 3:1e30 4:-0
2 11:0.00091038120247931381
0 2:1\r
2 10:3"""


def _paths(tmp_path: Path, *texts: bytes) -> list[Path]:
    paths = []
    for i, text in enumerate(texts):
        path = tmp_path / f"f{i}.svm"
        path.write_bytes(text)
        paths.append(path)
    return paths


@pytest.fixture(params=["scanner", "python"])
def parser(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every test runs with the compiled scanner (Numba) and without it (the Python parser alone)."""
    if request.param == "scanner":
        pytest.importorskip("numba")
    else:
        monkeypatch.setattr(svmlight, "_scanner", lambda: None)
    return request.param


def _same_as_sklearn(paths: list[Path], dtype: str, **kw: object) -> None:
    ours = read_svmlight_files(paths, dtype=dtype, **kw)
    sklearn_io = pytest.importorskip("sklearn.datasets")  # imported by the tests that compare, not at collection
    theirs = sklearn_io.load_svmlight_files([str(p) for p in paths], dtype=dtype, **kw)
    for (x, y), m, labels in zip(ours, theirs[::2], theirs[1::2], strict=True):
        assert x.shape == m.shape and x.dtype == m.dtype == np.dtype(dtype)
        np.testing.assert_array_equal(x.indptr, m.indptr)
        np.testing.assert_array_equal(x.indices, m.indices)
        np.testing.assert_array_equal(x.data, m.data)  # bit for bit: Python's float, rounded to dtype
        np.testing.assert_array_equal(y, labels)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_matches_sklearn_on_every_feature_of_the_format(tmp_path: Path, parser: str, dtype: str) -> None:
    _same_as_sklearn(_paths(tmp_path, MIXED), dtype)
    x, y = read_svmlight(tmp_path / "f0.svm", dtype=dtype)
    assert x.shape == (8, 11) and list(y) == [3, 1, 0, 2, 1, 2, 0, 2]  # one-based: index 11 is column 10
    assert x.indices.dtype == np.int32 and x.indptr.dtype == np.int32


def test_zero_based_auto_decides_over_all_files_read_together(tmp_path: Path, parser: str) -> None:
    train, test = _paths(tmp_path, b"1 1:1 3:2\n0 2:1\n", b"0 0:1 5:1\n")
    _same_as_sklearn([train, test], "float64")
    (a, _), (b, _) = read_svmlight_files([train, test])
    assert a.shape == (2, 6) and b.shape == (1, 6)  # zero-based, widest index 5: the test file sets the width
    assert a.indices.tolist() == [1, 3, 2]
    (a, _), = read_svmlight_files([train])
    assert a.indices.tolist() == [0, 2, 1] and a.shape[1] == 3  # alone, one-based
    (a, _), = read_svmlight_files([train], zero_based=True, n_features=10)
    assert a.indices.tolist() == [1, 3, 2] and a.shape[1] == 10


def test_a_test_file_with_wider_indices_reads_at_the_width_given(tmp_path: Path, parser: str) -> None:
    (test,) = _paths(tmp_path, b"1 1:1\n0 900:1\n")
    x, _ = read_svmlight(test, n_features=1000)
    assert x.shape == (2, 1000) and x.indices.tolist() == [0, 899]
    with pytest.raises(DataError, match=r"f0.svm: line 2: feature index 900 is past the 899 features"):
        read_svmlight(test, n_features=899)


@FUZZ
@given(
    rows=st.lists(st.tuples(
        st.integers(-3, 40),
        st.dictionaries(st.integers(0, 60), st.floats(allow_nan=False, allow_infinity=False, width=32)
                        | st.floats(allow_nan=False, allow_infinity=False), max_size=8),
        st.sampled_from(["", " # note", "\r"]),
    ), min_size=1, max_size=25),
    chunk=st.sampled_from([7, 64, 1 << 24]),
    blank=st.booleans(),
)
def test_any_valid_file_reads_as_sklearn_reads_it_at_any_chunk_size(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, parser: str, rows: list, chunk: int, blank: bool
) -> None:
    monkeypatch.setattr(svmlight, "CHUNK", chunk)  # lines cut across chunk boundaries, or longer than a chunk
    lines = [f"{label} " + " ".join(f"{k}:{v!r}" for k, v in sorted(feats.items())) + tail
             for label, feats, tail in rows]
    if blank:
        lines.insert(len(lines) // 2, "   ")
    (path,) = _paths(tmp_path, "\n".join(lines).encode())
    _same_as_sklearn([path], "float64")
    values = np.array([v for _, feats, _ in rows for v in feats.values()], np.float64)
    with np.errstate(over="ignore"):
        fits = np.isfinite(values.astype(np.float32)).all()
    if fits:
        _same_as_sklearn([path], "float32")
    else:  # scikit-learn gives inf; this reader refuses
        with pytest.raises(DataError, match=r"line \d+: a value overflows float32 \(read with dtype float64\)"):
            read_svmlight(path)


@FUZZ
@given(seed=st.integers(0, 2**32 - 1), zero_based=st.booleans())
def test_write_then_read_gives_the_matrix_back(tmp_path: Path, seed: int, zero_based: bool) -> None:
    rng = np.random.default_rng(seed)
    dense = rng.standard_normal((7, 13)) * (rng.random((7, 13)) < 0.3)
    dense[:, -1] = 1.0  # the width is read from the largest index
    x, y = CSR.from_dense(dense), rng.integers(0, 5, size=7)
    path = tmp_path / "w.svm"
    write_svmlight(path, x, y, zero_based=zero_based)
    back, labels = read_svmlight(path, dtype="float64", zero_based=zero_based)
    np.testing.assert_array_equal(back.toarray(), dense)
    np.testing.assert_array_equal(labels, y)


BAD = [
    (b"", "no examples"),
    (b"# only a comment\n\n", "no examples"),
    (b"1 1:1\n2 3:1 junk\n", "line 2: expected index:value, got 'junk'"),
    (b"1 1:1\n2 a:1\n", "line 2: feature index 'a' is not a whole number"),
    (b"1 -3:1\n", "line 1: feature index '-3' is negative"),
    (b"1 2.5:1\n", "line 1: feature index '2.5' is not a whole number"),
    (b"1 1:1\n\n1 4:1 4:2\n", "line 3: duplicate feature index 4"),
    (b"1 4:1 2:2\n", "line 1: feature indices must increase along a line (4 then 2)"),
    (b"x 1:1\n", "line 1: label 'x' is not a number"),
    (b"1,2 1:1\n", "line 1: label '1,2' is not a number"),
    (b"1 1:1\n1.5 2:1\n", "line 2: label 1.5 is not a whole number"),
    (b"1 1:1\n1e300 2:1\n", "line 2: label 1e+300 is too large"),
    (b"1 1:nan\n", "line 1: value 'nan' is not a finite decimal number"),
    (b"1 1:1e999\n", "line 1: value '1e999' is not a finite decimal number"),
    (b"1 1:1\n\n2 2:1e300\n", "line 3: a value overflows float32"),
    (b"1 1:\n", "line 1: value '' is not a number"),
    (b"1 qid:x 1:1\n", "line 1: query id 'qid:x' is not a whole number"),
    (b"1 1:1\n# c\n1 0:1 2:1\n", None),  # zero-based by "auto": fine
]


@pytest.mark.parametrize(("text", "message"), BAD)
def test_bad_lines_are_one_line_errors_naming_file_and_line(
    tmp_path: Path, parser: str, text: bytes, message: str | None
) -> None:
    (path,) = _paths(tmp_path, text)
    if message is None:
        read_svmlight(path)
        with pytest.raises(DataError, match=rf"^{path}: line 3: index 0, but the files are read as counting from 1"):
            read_svmlight(path, zero_based=False)
        return
    with pytest.raises(DataError) as caught:
        read_svmlight(path)
    text_ = str(caught.value)
    assert text_.startswith(f"{path}: ") and message in text_ and "\n" not in text_


def test_missing_file_and_folder(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no such file"):
        read_svmlight(tmp_path / "nope.svm")
    with pytest.raises(DataError, match="is a folder"):
        read_svmlight(tmp_path)


@FUZZ
@given(data=st.one_of(
    st.binary(max_size=512),
    st.lists(st.sampled_from([b"1", b" ", b":", b"3", b"-", b".", b"e", b"#", b"\n", b"\t", b"x", b"q", b"+", b"0"]),
             max_size=80).map(b"".join),
))
def test_any_bytes_end_in_a_matrix_or_a_clean_error(tmp_path: Path, parser: str, data: bytes) -> None:
    (path,) = _paths(tmp_path, data)
    try:
        x, y = read_svmlight(path)
    except LogisticSGDError as exc:
        assert "\n" not in str(exc) and str(path) in str(exc)
    else:
        assert len(x) == len(y) >= 1 and np.all(np.diff(x.indptr) >= 0) and np.isfinite(x.data).all()


def test_scipy_npz_reads_both_ways(tmp_path: Path) -> None:
    from scipy import sparse

    from logistic_sgd.data.formats.sparse_npz import read_csr_npz, write_csr_npz

    rng = np.random.default_rng(0)
    dense = rng.standard_normal((9, 12)) * (rng.random((9, 12)) < 0.3)
    sparse.save_npz(tmp_path / "m.npz", sparse.csr_array(dense.astype(np.float32)))
    x, y = read_csr_npz(tmp_path / "m.npz")
    assert y is None and x.dtype == np.float32
    np.testing.assert_array_equal(x.toarray(), dense.astype(np.float32))
    write_csr_npz(tmp_path / "ours.npz", x, np.arange(9))
    np.testing.assert_array_equal(sparse.load_npz(tmp_path / "ours.npz").toarray(), x.toarray())
    back, labels = read_csr_npz(tmp_path / "ours.npz")
    np.testing.assert_array_equal(back.toarray(), x.toarray())
    np.testing.assert_array_equal(labels, np.arange(9))


@pytest.mark.parametrize(("matrix", "message"), [
    (lambda s: s.csc_array(np.eye(3)), "a 'csc' sparse matrix; save it as CSR"),
    (lambda s: s.csr_array((np.ones(2), np.array([1, 1]), np.array([0, 2, 2])), shape=(2, 3)), "row 0 has unsorted"),
    (lambda s: s.csr_array((np.ones(3), np.array([2, 0, 1]), np.array([0, 1, 3])), shape=(2, 3)), None),
    (lambda s: s.csr_array((np.ones(2), np.array([2, 1]), np.array([0, 2, 2])), shape=(2, 3)), "row 0 has unsorted"),
    (lambda s: s.csr_array((np.array([1.0, np.nan]), np.array([0, 1]), np.array([0, 1, 2])), shape=(2, 3)), "NaN"),
])
def test_scipy_npz_refuses_what_is_not_a_clean_csr(tmp_path: Path, matrix, message: str | None) -> None:
    from scipy import sparse

    from logistic_sgd.data.formats.sparse_npz import read_csr_npz

    sparse.save_npz(tmp_path / "m.npz", matrix(sparse))
    if message is None:  # sorted within rows, lower at a row's start: fine
        assert read_csr_npz(tmp_path / "m.npz")[0].toarray().sum() == 3
        return
    with pytest.raises(DataError, match=message):
        read_csr_npz(tmp_path / "m.npz")


@FUZZ
@given(data=st.binary(max_size=600))
def test_scipy_npz_reader_on_any_bytes(tmp_path: Path, data: bytes) -> None:
    from logistic_sgd.data.formats.sparse_npz import read_csr_npz

    (path,) = _paths(tmp_path, b"PK\x03\x04" + data)
    with pytest.raises(LogisticSGDError):
        read_csr_npz(path)
