"""Raw text: the tokeniser, the compiled hasher against its Python reference, the vectoriser's weights
and model-file arrays, and the three text readers with their refusals."""

from __future__ import annotations

import random
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from logistic_sgd.data.documents import Documents
from logistic_sgd.data.formats.text import is_fasttext, is_text_folder, is_text_table, read_text
from logistic_sgd.data.vectorize import TextVectorizer, ngram_hashes, tokens
from logistic_sgd.errors import DataError, UsageError

ALPHABET = "abc XYZ,.!?\n\t中文机器学习ภาษาไทย ΟΔΟΣ İé 1_2 😀\u0301\x00한국어"


def _random_texts(n: int, seed: int = 0, longest: int = 60) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, longest))) for _ in range(n)]


def test_tokens_lower_case_words_and_cut_cjk_into_bigrams() -> None:
    assert tokens("Hello, World! x_2 naïve") == ["hello", "world", "x_2", "naïve"]
    assert tokens("我爱机器学习") == ["我爱", "爱机", "机器", "器学", "学习"]
    assert tokens("中 文") == ["中", "文"]  # a run of one character is a token
    assert tokens("iPhone手机") == ["iphone", "手机"]
    assert tokens("ひらがなカタカナ") == ["ひら", "らが", "がな", "なカ", "カタ", "タカ", "カナ"]
    assert tokens("한국어 문장") == ["한국어", "문장"]  # Korean is written with spaces: words
    assert tokens("ΟΔΟΣ") == ["οδοσ"]  # one code point at a time: no final sigma
    assert tokens("...  ") == [] and tokens("") == []


def test_ngram_hashes_are_those_of_the_tokens() -> None:
    assert ngram_hashes(["a b"], (1, 1)) == ngram_hashes(["B, A"], (1, 1))[::-1]
    assert len(ngram_hashes(["a b c"], (1, 2))) == 5
    assert ngram_hashes(["a b"], (2, 2)) != ngram_hashes(["b a"], (2, 2))
    assert ngram_hashes(["", "a"]) != ngram_hashes(["a", ""])  # each column its own salt


@pytest.mark.parametrize("signed", [False, True])
@pytest.mark.parametrize("ngram_range", [(1, 1), (1, 2), (2, 3)])
def test_compiled_counts_equal_the_python_reference(signed: bool, ngram_range: tuple[int, int]) -> None:
    pytest.importorskip("numba")
    texts = [*_random_texts(200), "word " * 40_000 + "中文" * 1000]  # the last one is counted densely
    docs = Documents.from_columns({"a": texts, "b": texts[::-1]})
    v = TextVectorizer(n_features=97, signed=signed, ngram_range=ngram_range)
    compiled, _ = v._counts(docs, track=False)
    python = v._counts_python(docs, None)
    np.testing.assert_array_equal(compiled.indptr, python.indptr)
    np.testing.assert_array_equal(compiled.indices, python.indices)
    np.testing.assert_array_equal(compiled.data, python.data)


def test_the_tokeniser_compiles_once_whatever_holds_the_texts(tmp_path: Path) -> None:
    """Texts from a list (a buffer over ``bytes``), from several columns (a buffer in memory) and from a
    file: the documents' buffer is read-only in each, so each tokeniser function is compiled for one
    type of buffer, and each helper for its arguments' types, not for the literal values a caller
    starts from."""
    pytest.importorskip("numba")
    from logistic_sgd.data import vectorize_kernels as kernels

    (tmp_path / "t.txt").write_text("__label__a one two\n__label__b three four\n")
    docs = [Documents.from_texts(["a b", "c"]), Documents.from_columns({"x": ["a b", "c"], "y": ["d", "e f"]}),
            read_text(tmp_path / "t.txt")[0].x]
    for d in docs:
        assert not d.buffer.flags.writeable
        TextVectorizer(n_features=64).fit(d).feature_names([0])
    for fn in (kernels.count_ngrams, kernels._document, kernels._add_token, kernels._decode, kernels.name_spans):
        assert len(_compiled_for(fn)) == 1, (fn.__name__, _compiled_for(fn))


def _compiled_for(fn: Any) -> set[tuple[Any, ...]]:
    """The argument types ``fn`` was compiled for on this CPU: in this process, or into Numba's cache
    for this version of its source (a kernel read from the cache brings none of its helpers in)."""
    magic = fn.targetctx.codegen().magic_tuple()
    cached = {key[0] for key in fn._cache._cache_file._load_index() if key[1] == magic}
    return cached | {tuple(sig) for sig in fn.signatures}


def test_bytes_that_are_not_utf8_separate_words_as_u_fffd_does() -> None:
    raw = [b"abc\xff\xfedef", b"\xe4\xb8", b"ok \xed\xa0\x80 ok"]  # bad bytes, a cut character, a surrogate
    v = TextVectorizer(n_features=2**16, idf=False, norm="none", sublinear_tf=False)
    replaced = v.fit_transform([r.decode("utf-8", "replace") for r in raw])
    as_bytes = v.transform(Documents.from_texts(raw))
    np.testing.assert_array_equal(replaced.indices, as_bytes.indices)
    np.testing.assert_array_equal(replaced.data, as_bytes.data)


def test_weights_are_sublinear_tf_idf_with_unit_rows() -> None:
    texts = ["apple apple banana", "banana cherry", "cherry"]
    v = TextVectorizer(n_features=2**18, ngram_range=(1, 1))
    x = v.fit_transform(texts).toarray()
    counts = TextVectorizer(n_features=2**18, ngram_range=(1, 1), idf=False, sublinear_tf=False,
                            norm="none").fit_transform(texts).toarray()
    df = (counts > 0).sum(axis=0)
    idf = 1 + np.log(4 / (1 + df))
    expected = np.where(counts > 0, (1 + np.log(np.where(counts > 0, counts, 1))) * idf, 0)
    expected /= np.linalg.norm(expected, axis=1, keepdims=True)
    np.testing.assert_allclose(x, expected, rtol=1e-6)
    assert sorted(counts[0][counts[0] > 0]) == [1, 2]


def test_sklearn_tfidf_agrees_on_the_same_tokens() -> None:
    text = pytest.importorskip("sklearn.feature_extraction.text")
    texts = ["the cat sat on the mat", "the dog sat", "a cat and a dog"]
    ours = TextVectorizer(n_features=2**20, ngram_range=(1, 1)).fit_transform(texts).toarray()
    theirs = text.TfidfVectorizer(sublinear_tf=True, token_pattern=r"(?u)\b\w+\b").fit_transform(texts).toarray()
    np.testing.assert_allclose(np.sort(ours, axis=1)[:, -6:], np.sort(theirs, axis=1)[:, -6:], rtol=1e-5)


def test_arrays_round_trip_gives_the_same_rows_and_names(tmp_path: Path) -> None:
    texts = _random_texts(100, seed=1)
    docs = Documents.from_columns({"title": texts, "body": texts[::-1]}, {"n": np.arange(100.0)})
    v = TextVectorizer(n_features=2**12, max_names=50)
    x = v.fit_transform(docs)
    np.savez(tmp_path / "v.npz", **v.to_arrays())
    with np.load(tmp_path / "v.npz", allow_pickle=False) as f:
        w = TextVectorizer.from_arrays(dict(f))
    y = w.transform(docs[np.arange(100)[::-1]])
    np.testing.assert_array_equal(y.toarray()[::-1], x.toarray())
    assert w.n_out == 2**12 + 1 and len(w.names_) == 50
    assert w.feature_names([2**12]) == ["n"]
    assert w.describe() == v.describe()


def test_names_are_the_most_frequent_ngram_of_a_column() -> None:
    texts = ["machine learning rocks"] * 5 + ["deep learning"] * 3
    v = TextVectorizer(n_features=2**20)
    x = v.fit_transform(texts)
    names = v.feature_names(x.indices[: x.indptr[1]])
    assert sorted(names) == ["learning", "learning rocks", "machine", "machine learning", "rocks"]
    assert v.feature_names([123]) == ["#123"]
    W = np.zeros((2**20, 2))
    W[x.indices[0], 1] = 3.0
    W[x.indices[1], 1] = 5.0
    top = v.top_features(W, k=2)
    assert [w for _, w in top[1]] == [5.0, 3.0] and top[1][0][0] == names[1]


def test_names_of_several_text_columns_say_their_column(monkeypatch: pytest.MonkeyPatch) -> None:
    """The same word in two columns is two features (two salts): each name says its column, the
    compiled path and the Python one alike; one text column keeps bare names."""
    import logistic_sgd.data.vectorize as vectorize

    docs = Documents.from_columns({"package": ["perl-base", "libperl", "python3-numpy", ""],
                                   "description": ["perl module", "perl library", "numpy python", "x"]})
    compiled = TextVectorizer(n_features=2**12)
    compiled.fit(docs)
    assert {"perl (package)", "perl (description)", "numpy (package)", "perl module (description)"} <= set(
        compiled.names_)
    monkeypatch.setattr(vectorize, "_kernels", lambda: None)
    python = TextVectorizer(n_features=2**12)
    python.fit(docs)
    assert python.names_ == compiled.names_
    assert "perl" in TextVectorizer(n_features=2**12).fit(["perl module", "perl library"]).names_


def test_transform_checks_its_input() -> None:
    v = TextVectorizer(n_features=64)
    with pytest.raises(UsageError, match="not fitted"):
        v.transform(["a"])
    v.fit(["a b"])
    with pytest.raises(UsageError, match="single string"):
        v.transform("a b")
    with pytest.raises(UsageError, match="item 1 is int"):
        v.transform(["a", 3])
    with pytest.raises(UsageError, match="ngram_range"):
        TextVectorizer(ngram_range=(2, 1))
    with pytest.raises(UsageError, match="n_features"):
        TextVectorizer(n_features=1)


# -- readers ------------------------------------------------------------------------------------------


def _write(path: Path, data: bytes | str) -> Path:
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def test_fasttext_file(tmp_path: Path) -> None:
    path = _write(tmp_path / "a.txt", "__label__pos good film\n\n__label__neg bad \xe9 film\nbad __label__neg plot\n"
                  "__label__pos\n")
    assert is_fasttext(path)
    examples, what = read_text(path)
    assert examples.labels.tolist() == ["pos", "neg", "neg", "pos"]
    assert examples.x.texts() == ["good film", "bad \xe9 film", "bad " + " " * 12 + " plot", ""]
    assert "4 documents; 1 empty" in what


@pytest.mark.parametrize(("text", "message"), [
    ("__label__a __label__b text\n", "line 1 has 2 labels (__label__a, __label__b)"),
    ("__label__a ok\n__label__ science fiction\n", "line 2: empty label after __label__"),
    ("__label__a ok\nno label here\n", "line 2 has no __label__CLASS"),
    ("__label__a\n__label__b  \n", "no words in any document"),
])
def test_fasttext_refusals(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(DataError, match=re.escape(message)):
        read_text(_write(tmp_path / "bad.txt", text))


def test_fasttext_counts_lines_that_are_not_utf8(tmp_path: Path) -> None:
    path = _write(tmp_path / "a.txt", b"__label__a fine\n__label__b caf\xe9 au lait\n__label__a \xff\xfe\n")
    examples, what = read_text(path)
    assert "2 lines with bytes that are not UTF-8, read as U+FFFD (first: line 2)" in what
    assert examples.x.text(1) == "caf\ufffd au lait"


def test_text_folder(tmp_path: Path) -> None:
    for cls, docs in {"sport": ["goal!", "match"], "tech": ["cpu", "gpu", "ram"]}.items():
        (tmp_path / "news" / cls).mkdir(parents=True)
        for i, d in enumerate(docs):
            _write(tmp_path / "news" / cls / f"{i}.txt", d)
    _write(tmp_path / "news" / "tech" / "12345", "no suffix, as 20 Newsgroups' files")
    _write(tmp_path / "news" / "tech" / ".hidden", "left out")
    assert is_text_folder(tmp_path / "news")
    examples, what = read_text(tmp_path / "news")
    assert examples.labels.tolist() == ["sport", "sport", "tech", "tech", "tech", "tech"]
    assert examples.x.text(0) == "goal!" and "6 documents in 2 class folders" in what


def test_text_folder_refusals(tmp_path: Path) -> None:
    (tmp_path / "a" / "x").mkdir(parents=True)
    (tmp_path / "a" / "y").mkdir()
    _write(tmp_path / "a" / "x" / "1.txt", "text")
    with pytest.raises(DataError, match=r"y: class folder holds no \.txt files"):
        read_text(tmp_path / "a")
    (tmp_path / "b" / "x").mkdir(parents=True)
    with pytest.raises(DataError, match=r"x: class folder holds no \.txt files"):
        read_text(tmp_path / "b")


def test_table_with_text_and_number_columns(tmp_path: Path) -> None:
    path = _write(tmp_path / "t.csv", 'section,title,body,size\nnet,"Web server","serves\nweb pages",10\n'
                  'libs,Library,"a C library",2.5\n')
    assert is_text_table(path, ("title", "body"), "section")
    assert not is_text_table(path, (), "section")  # short words: categories, read by the tables' reader
    assert not is_text_table(_write(tmp_path / "n.csv", "label,a\n1,2\n"))
    rows = "".join(f"{k % 2},a title of five words {k}\n" for k in range(9))
    long = _write(tmp_path / "l.csv", "label,title\n" + rows)
    assert is_text_table(long)
    examples, what = read_text(path, label_column="section")
    docs = examples.x
    assert docs.columns == ("title", "body") and docs.number_columns == ("size",)
    assert docs.text(0, 1) == "serves\nweb pages" and docs.numbers[:, 0].tolist() == [10, 2.5]
    assert examples.labels.tolist() == ["net", "libs"]
    assert "text of title, body; 1 number columns" in what
    examples, what = read_text(path, text_columns=["body"], label_column="section")  # short words: categories
    assert examples.x.columns == ("title", "body") and "text of title, body; 1 number columns" in what
    with pytest.raises(DataError, match="column 'body' holds free text but is not a text column"):
        read_text(long_body(tmp_path), text_columns=["title"], label_column="section")
    with pytest.raises(DataError, match="no column named 'nope'"):
        read_text(path, text_columns=["nope"], label_column="section")


def long_body(tmp_path: Path) -> Path:
    return _write(tmp_path / "b.csv", "section,title,body\n" + "".join(
        f"s{k % 2},Title {k},a body of many words {k}\n" for k in range(4)))


def test_identifier_columns_beside_text_are_dropped(tmp_path: Path) -> None:
    """The tables' rule by name: a column named like an identifier (an unnamed one too) is left out
    and said; the rules on cells are not applied (each file of a run is read alone), so row numbers
    under another name, an empty column and words that differ in every row stay."""
    rows = "".join(f"{k},{k},{k % 2},key-{k},id{k},NA,a text of many words {k % 3}\n" for k in range(1, 31))
    path = _write(tmp_path / "t.csv", ",n,label,name,customer_id,notes,body\n" + rows)
    examples, what = read_text(path, label_column="label")
    assert examples.x.columns == ("name", "body") and examples.x.number_columns == ("n", "notes")
    assert "dropped: '' (unnamed, named like an identifier), customer_id (named like an identifier)" in what
    examples, _ = read_text(path, text_columns=["body", "customer_id"], label_column="label")  # named: kept
    assert examples.x.columns == ("name", "customer_id", "body")


def test_a_models_number_column_is_read_whatever_its_name(tmp_path: Path) -> None:
    """A model whose vectoriser reads a number column named like an identifier (fitted by the API, or
    by a version that kept such columns) finds it in a table to classify."""
    from logistic_sgd.data.formats.text import read_documents

    vectorizer = TextVectorizer(n_features=2**10)
    vectorizer.fit(Documents.from_columns({"body": ["one doc", "two docs"]}, {"id": np.array([1.0, 2.0])}))
    docs = read_documents(_write(tmp_path / "new.csv", "id,body\n7,three docs\n"), vectorizer)
    assert docs.number_columns == ("id",) and docs.numbers[:, 0].tolist() == [7.0]


def test_a_missing_number_beside_text_is_read_as_the_training_mean(tmp_path: Path) -> None:
    path = _write(tmp_path / "t.csv", 'label,body,size,weight\na,"one doc",4,\nb,"two docs",,inf\n'
                  'a,"three docs",8,\n')
    with pytest.raises(DataError, match=r"t.csv: the number column 'weight' has infinite values"):
        read_text(path, text_columns=["body"], label_column="label")
    path.write_text('label,body,size,weight\na,"one doc",4,0\nb,"two docs",NA,\na,"three docs",8,\n')
    examples, what = read_text(path, text_columns=["body"], label_column="label")
    assert "missing numbers, read as the column's training mean: 1 in 'size', 2 in 'weight'" in what
    vectorizer = TextVectorizer(n_features=2**10)
    x = vectorizer.fit_transform(examples.x).to_scipy().toarray()
    assert vectorizer.number_mean_.tolist() == [6.0, 0.0] and vectorizer.number_scale_.tolist() == [2.0, 1.0]
    assert examples.x.number_columns == ("size", "weight")
    n = vectorizer.n_features
    assert x[:, n].tolist() == [-1.0, 0.0, 1.0] and x[:, n + 1].tolist() == [0.0, 0.0, 0.0]
    # each had a gap in training: an indicator each, as a table's number column
    assert vectorizer.n_out == n + 4 and x[:, n + 2].tolist() == [0.0, 1.0, 0.0] and x[:, n + 3].tolist() == [0, 1, 1]
    assert vectorizer.feature_names([n + 1, n + 2, n + 3]) == ["weight", "size=(missing)", "weight=(missing)"]
    assert "2 number columns (2 with an indicator of a missing number)" in vectorizer.describe()
    again = TextVectorizer.from_arrays(vectorizer.to_arrays())
    np.testing.assert_array_equal(again.transform(examples.x).to_scipy().toarray(), x)
    old = {k: v for k, v in vectorizer.to_arrays().items() if k != "text_number_missing"}  # an earlier file
    assert TextVectorizer.from_arrays(old).n_out == n + 2
    # without a gap, the scaling is NumPy's mean and std, bit for bit
    full = Documents.from_columns({"body": ["a", "b", "c"]}, {"size": np.array([0.1, 0.7, 0.3])})
    fitted = TextVectorizer(n_features=2**10)
    fitted.fit_transform(full)
    assert fitted.number_mean_[0] == np.mean([0.1, 0.7, 0.3]) and fitted.number_scale_[0] == np.std([0.1, 0.7, 0.3])


CSV_CASES = {
    "quotes.csv": b'label,body\r\na,"say ""hi"", then\r\nleave"\r\nb,plain words\r\n\r\nc,""\r\n',
    "bom.csv": b'\xef\xbb\xbflabel,body,n\na,\xe6\x9c\xba\xe5\x99\xa8 words,1.5\nb,x"y,\n',
    "lines.tsv": b'label\tbody\ra\tone\rb\ttwo, three',
    "bad.csv": b'label,body\na,caf\xe9 au lait\nb,fine\n',  # not UTF-8: read with U+FFFD by Python's csv
    "ragged.csv": b'label,body\na,one\nb,two,three\n',
    "open.csv": b'label,body\na,"never closed\n',
    "after.csv": b'label,body\na,"one"two\nb,three\n',
    "strays.csv": b'label,body\na,"oops\nb,x\nc,"again\nd,y\n',  # pyarrow alone: rows b and c in a's cell
    "empty.csv": b'label,body\n',
}


@pytest.mark.parametrize("name", CSV_CASES)
def test_csv_read_by_pyarrow_as_by_python(tmp_path: Path, name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """pyarrow's parse (where it is installed) gives the cells, or the message, of Python's ``csv``."""
    pytest.importorskip("pyarrow")
    from logistic_sgd.data.formats import text

    path = tmp_path / name
    path.write_bytes(CSV_CASES[name])

    def read() -> object:
        try:
            return text._read_csv(path)
        except DataError as exc:
            return str(exc)

    fast = read()
    monkeypatch.setattr(text, "_read_csv_arrow", lambda raw, delimiter: None)
    assert fast == read()
    if name in ("quotes.csv", "bom.csv", "lines.tsv"):  # read by pyarrow, not handed on
        monkeypatch.undo()
        assert text._read_csv_arrow(path.read_bytes(), "\t" if name.endswith(".tsv") else ",") == fast


def test_csv_read_by_pyarrow_as_by_python_on_random_tables(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Tables that Python's csv writes, cells of quotes, delimiters, line breaks and other scripts:
    pyarrow reads each (none handed on) into the cells Python's csv reads."""
    pytest.importorskip("pyarrow")
    import csv
    import io

    from logistic_sgd.data.formats import text

    rng = random.Random(1)
    pieces = ["a", "b", " ", ",", '"', "\n", "\r\n", "é", "机", "\t", ";", "x y"]
    for trial in range(200):
        width = rng.randint(1, 4)
        rows = [[f"h{j}" for j in range(width)]] + [
            ["".join(rng.choice(pieces) for _ in range(rng.randint(0, 6))) for _ in range(width)]
            for _ in range(rng.randint(1, 6))]
        delimiter = rng.choice([",", "\t"])
        out = io.StringIO()
        csv.writer(out, delimiter=delimiter, lineterminator=rng.choice(["\n", "\r\n"])).writerows(rows)
        path = tmp_path / f"{trial}.{'tsv' if delimiter == chr(9) else 'csv'}"
        path.write_bytes(out.getvalue().encode("utf-8"))
        raw = path.read_bytes()
        fast = text._read_csv_arrow(raw, text._delimiter(path, raw.split(b"\n", 1)[0].decode()))
        assert fast is not None and fast == text._read_csv(path), out.getvalue()
        with monkeypatch.context() as patched:
            patched.setattr(text, "_read_csv_arrow", lambda raw, delimiter: None)
            assert fast == text._read_csv(path), out.getvalue()


def test_parquet_table(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    path = tmp_path / "t.parquet"
    pq.write_table(pa.table({"label": ["a", "b"], "text": ["one doc", "another"], "n": [1.0, 2.0]}), path)
    assert is_text_table(path, ("text",)) and not is_text_table(path)  # short words are categories
    pq.write_table(pa.table({"label": ["a", "b"], "text": ["one doc of many words", "another doc, just as long"],
                             "n": [1.0, 2.0]}), path)
    assert is_text_table(path)
    examples, _ = read_text(path)
    assert examples.x.texts() == ["one doc of many words", "another doc, just as long"]
    assert examples.x.number_columns == ("n",)


def test_find_first_without_numba_agrees() -> None:
    from logistic_sgd.data.formats.text import _find_first, _find_first_numpy

    rng = np.random.default_rng(0)
    buffer = rng.integers(0, 256, 5000, dtype=np.uint8)
    starts = rng.integers(0, 5000, 300)
    ends = np.minimum(starts + rng.integers(0, 40, 300), 5000)
    for density in (0.01, 0.5, 0.0):
        wanted = rng.random(256) < density
        np.testing.assert_array_equal(_find_first(buffer, starts, ends, wanted),
                                      _find_first_numpy(buffer, starts, ends, wanted))
