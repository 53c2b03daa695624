"""Raw text to sparse rows: tokens, word n-grams, hashing to a fixed width, tf-idf, unit rows.

:class:`TextVectorizer` is fitted on the training split and stored in the model file, so the
same text gives the same row at training and at prediction time. For each document:

1. **Tokens.** Text is read as Unicode code points (UTF-8; bytes that are not UTF-8 separate
   tokens, as the U+FFFD that decoding with replacement gives). A *word* is a maximal run of
   letters, marks, digits and ``_`` (Unicode categories L*, M*, N*), lower-cased one code point at
   a time (``str.lower`` where it gives one code point). Scripts written without spaces (Han,
   Hiragana, Katakana, Thai, Lao, Khmer, Myanmar) are cut into **overlapping character bigrams**
   instead (a run of one character is one token): ``"机器学习"`` gives ``机器 器学 学习``, so a
   Chinese sentence is never one token. Everything else (spaces, punctuation, symbols) separates.
2. **Word n-grams**, ``ngram_range=(1, 2)`` by default: every token and every pair of adjacent
   tokens of the same column (bigrams cross punctuation, as scikit-learn's do).
3. **Hashing.** A token's hash is the polynomial ``h = h * P + (c + 1)`` over its code points
   ``c`` (uint64, wrapping); an n-gram's, ``g = g * M + t`` over its tokens' hashes, mixed by
   MurmurHash3's 64-bit finaliser together with the column's salt and ``n``. Its column is the
   result modulo ``n_features`` (2^20 by default); with ``signed=True`` the top bit gives it a sign
   (colliding n-grams then cancel on average instead of adding up).
4. **Weights**, learned on the training split: counts ``c`` become ``1 + log c`` (``sublinear_tf``),
   times ``idf = 1 + log((1 + n) / (1 + df))`` (``idf``; ``df`` counts the training documents that
   hold the column, as scikit-learn's smoothed idf); each row is then divided by its Euclidean norm
   (``norm="l2"``). Number columns of a table come after the ``n_features`` hashed columns,
   standardised on the training split (a missing number read as the training mean), then, as in
   :mod:`.preprocess`, an indicator of a missing number for each that had one in training.

Hashing needs no vocabulary, so the vectoriser's state is small: the idf vector and, for
inspection, the names of the ``max_names`` columns most frequent in training (each column named by
the n-gram that hashed to it most often: a majority vote over the training documents, so a column
shared by several n-grams shows its most frequent one).

With Numba (the ``[numba]`` extra) the tokeniser and hasher run compiled over the UTF-8 bytes, on
all cores, a block of documents (at most 1 MiB of text) at a time
(:mod:`.vectorize_kernels`); without it, in Python (the same rows, far slower).
"""

from __future__ import annotations

import functools
import itertools
import json
import math
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..errors import UsageError
from .documents import Documents
from .preprocess import MISSING_LEVEL
from .rows import CSR

TABLE_SIZE = 0x30000  # code points past the Supplementary Ideographic Plane separate tokens
UNSEGMENTED = (  # scripts written without spaces between words: read as character bigrams
    (0x0E00, 0x0EFF),  # Thai, Lao
    (0x1000, 0x109F),  # Myanmar
    (0x1780, 0x17FF),  # Khmer
    (0x2E80, 0x2FDF),  # CJK radicals, Kangxi radicals
    (0x3005, 0x3007), (0x3021, 0x3029), (0x3038, 0x303B),  # ideographic iteration marks, numerals
    (0x3040, 0x30FF), (0x31F0, 0x31FF),  # Hiragana, Katakana
    (0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF),  # CJK unified and compatibility ideographs
    (0xFF66, 0xFF9F),  # half-width Katakana
    (0x20000, 0x2FFFF),  # CJK extensions B-F and compatibility supplement
)
NORMS = ("l2", "none")
BLOCK_BYTES = 1 << 20
_P, _M, _N = 0x100000001B3, 0x9E3779B97F4A7C15, 0xA0761D6478BD642F
_MASK = (1 << 64) - 1
_SALT = 0xD6E8FEB86659FD93


@functools.cache
def unicode_tables() -> tuple[NDArray[np.uint8], NDArray[np.int32]]:
    """The class (0 separator, 1 word character, 2 unsegmented script) and the lower case of every code
    point below ``TABLE_SIZE``."""
    classes = np.zeros(TABLE_SIZE, dtype=np.uint8)
    lower = np.arange(TABLE_SIZE, dtype=np.int32)
    for c in range(TABLE_SIZE):
        ch = chr(c)
        word = (ch.isalnum() or ch == "_") if ch.isascii() else unicodedata.category(ch)[0] in "LMN"
        if word:
            classes[c] = 1
            low = ch.lower()
            if len(low) == 1:
                lower[c] = ord(low)
    for lo, hi in UNSEGMENTED:
        span = classes[lo : hi + 1]
        span[span == 1] = 2
    return classes, lower


def tokens(text: str) -> list[str]:
    """The tokens of ``text`` as the vectoriser reads them (step 1 of the module docstring).

    Examples
    --------
    >>> tokens("Hello, World! 机器学习 x2")
    ['hello', 'world', '机器', '器学', '学习', 'x2']
    """
    classes, lower = unicode_tables()
    out: list[str] = []
    word: list[str] = []
    prev, run = "", 0  # the last character of the current run of an unsegmented script, and its length
    for ch in [*text, " "]:
        c = ord(ch)
        kind = int(classes[c]) if c < TABLE_SIZE else 0
        if kind != 1 and word:
            out.append("".join(word))
            word = []
        if kind != 2 and run == 1:
            out.append(prev)
        if kind == 1:
            word.append(chr(lower[c]))
            run = 0
        elif kind == 2:
            low = chr(lower[c])
            if run >= 1:
                out.append(prev + low)
            prev, run = low, run + 1
        else:
            run = 0
    return out


def ngram_hashes(texts: Sequence[str], ngram_range: tuple[int, int] = (1, 2)) -> list[int]:
    """The 64-bit hash of every n-gram of a document whose columns hold ``texts`` (the Python reference
    of the compiled hasher; step 3 of the module docstring)."""
    out = []
    nmin, nmax = ngram_range
    for j, text in enumerate(texts):
        salt = (j * _SALT) & _MASK
        hashes = [_token_hash(t) for t in tokens(text)]
        for end in range(1, len(hashes) + 1):
            for n in range(nmin, min(nmax, end) + 1):
                g = hashes[end - n]
                for t in hashes[end - n + 1 : end]:
                    g = (g * _M + t) & _MASK
                out.append(_fmix64((g + salt + n * _N) & _MASK))
    return out


def _token_hash(token: str) -> int:
    h = 0
    for ch in token:
        h = (h * _P + ord(ch) + 1) & _MASK
    return h


def _fmix64(k: int) -> int:
    k ^= k >> 33
    k = (k * 0xFF51AFD7ED558CCD) & _MASK
    k ^= k >> 33
    k = (k * 0xC4CEB9FE1A85EC53) & _MASK
    return k ^ (k >> 33)


@dataclass
class TextVectorizer:
    """Hashed word n-grams of raw text, with tf-idf weights and unit rows (see the module docstring).

    Parameters
    ----------
    n_features : int
        Width of the hashed part of a row (2^20 by default); number columns come after it.
    ngram_range : (int, int)
        The shortest and longest word n-grams, ``1 <= min <= max <= 8``.
    signed : bool
        Give each n-gram a sign from its hash (colliding n-grams cancel on average) instead of +1.
    sublinear_tf : bool
        A count ``c`` becomes ``1 + log c``.
    idf : bool
        Multiply by ``1 + log((1 + n) / (1 + df))``, fitted on the training documents.
    norm : {"l2", "none"}
        Divide each row's hashed part by its Euclidean norm.
    max_names : int
        How many columns keep the name of their most frequent n-gram, for inspection.

    Attributes
    ----------
    idf_ : float32 array (n_features,) or None
        The fitted idf weights (``idf=True``).
    n_documents_ : int
        Training documents seen by :meth:`fit`.
    columns_ : tuple of str
        The text columns fitted on; a table given later must hold them.
    number_columns_ : tuple of str
        The number columns fitted on, and their ``number_mean_``, ``number_scale_`` (float64), fitted
        on the numbers present; a missing number (NaN) becomes the mean (0 once standardised).
        ``number_missing_`` (bool) marks those that had a missing number in training: each gets an
        indicator column ``NAME=(missing)`` (1 where the number is missing), after the number
        columns, as a table's number column does.
    name_columns_, names_ : int64 array, list of str
        The named columns (increasing) and their n-grams.
    """

    n_features: int = 2**20
    ngram_range: tuple[int, int] = (1, 2)
    signed: bool = False
    sublinear_tf: bool = True
    idf: bool = True
    norm: str = "l2"
    max_names: int = 2**18

    def __post_init__(self) -> None:
        self.ngram_range = tuple(int(n) for n in self.ngram_range)  # type: ignore[assignment]
        self.check()
        self.idf_: NDArray[np.float32] | None = None
        self.n_documents_ = 0
        self.columns_: tuple[str, ...] = ()
        self.number_columns_: tuple[str, ...] = ()
        self.number_mean_ = np.zeros(0)
        self.number_scale_ = np.ones(0)
        self.number_missing_ = np.zeros(0, dtype=bool)
        self.name_columns_ = np.zeros(0, dtype=np.int64)
        self.names_: list[str] = []

    def check(self) -> None:
        """Check the parameters.

        Raises
        ------
        UsageError
            Naming the parameter that is out of range.
        """
        if not isinstance(self.n_features, int | np.integer) or not 2 <= self.n_features <= 2**31 - 1:
            raise UsageError(f"n_features must be an integer between 2 and 2^31 - 1, got {self.n_features!r}",
                             "n_features")
        lo, hi = self.ngram_range if len(self.ngram_range) == 2 else (0, 0)
        if not 1 <= lo <= hi <= 8:
            raise UsageError(f"ngram_range must be (min, max) with 1 <= min <= max <= 8, got {self.ngram_range!r}",
                             "ngram_range")
        if self.norm not in NORMS:
            raise UsageError(f"norm must be one of {', '.join(NORMS)}, got {self.norm!r}", "norm")
        if not isinstance(self.max_names, int | np.integer) or self.max_names < 0:
            raise UsageError(f"max_names must be an integer >= 0, got {self.max_names!r}", "max_names")

    @property
    def n_out(self) -> int:
        """Columns of a transformed row: the hashed features, the number columns, then an indicator of
        a missing number for each number column that had one in training."""
        return int(self.n_features) + len(self.number_columns_) + int(self.number_missing_.sum())

    @property
    def fitted(self) -> bool:
        return bool(self.columns_)

    def fit(self, docs: Documents | Sequence[str]) -> TextVectorizer:
        """Learn the idf weights, the number columns' scaling and the columns' names.

        Parameters
        ----------
        docs : Documents or sequence of str
            The training documents.

        Returns
        -------
        TextVectorizer
            This vectoriser, fitted.
        """
        self.fit_transform(docs)
        return self

    def fit_transform(self, docs: Documents | Sequence[str]) -> CSR:
        """:meth:`fit` on ``docs``, and their rows (as :meth:`transform` would give them).

        Parameters
        ----------
        docs : Documents or sequence of str
            The training documents.

        Returns
        -------
        CSR
            float32 rows of shape ``(len(docs), n_out)``.

        Raises
        ------
        UsageError
            ``docs`` is empty or not text.
        """
        docs = as_documents(docs)
        if len(docs) == 0:
            raise UsageError("cannot fit a text vectoriser on no documents", "docs")
        self.columns_, self.number_columns_ = docs.columns, docs.number_columns
        counts, votes = self._counts(docs, track=True)
        self.n_documents_ = len(docs)
        df = np.bincount(counts.indices, minlength=self.n_features)
        self.idf_ = (1 + np.log((1 + len(docs)) / (1 + df))).astype(np.float32) if self.idf else None
        self._name(docs, df, votes)
        if docs.numbers is not None:
            present = ~np.isnan(docs.numbers)  # a missing number (NaN) is left out of the scaling
            count = present.sum(axis=0)
            values = np.where(present, docs.numbers, 0.0)
            mean = values.sum(axis=0) / np.maximum(count, 1)
            std = np.sqrt(np.where(present, (values - mean) ** 2, 0.0).sum(axis=0) / np.maximum(count, 1))
            self.number_mean_, self.number_scale_ = mean, np.where(std > 0, std, 1.0)
            self.number_missing_ = ~present.all(axis=0)
        else:
            self.number_missing_ = np.zeros(0, dtype=bool)
        return self._finish(counts, docs)

    def transform(self, docs: Documents | Sequence[str]) -> CSR:
        """The rows of ``docs``: float32 CSR of shape ``(len(docs), n_out)``, columns increasing.

        Parameters
        ----------
        docs : Documents or sequence of str
            :class:`Documents` with the fitted columns (by name, in any order), or a sequence of
            ``str`` for a vectoriser fitted on one text column and no numbers.

        Returns
        -------
        CSR
            float32 rows of shape ``(len(docs), n_out)``, columns increasing.

        Raises
        ------
        UsageError
            The vectoriser is not fitted, or ``docs`` lack a fitted column or are not text.
        """
        if not self.fitted:
            raise UsageError("the text vectoriser is not fitted: call fit first", "fit")
        docs = self._aligned(as_documents(docs, self.columns_[0]))
        counts, _ = self._counts(docs, track=False)
        return self._finish(counts, docs)

    def rows(self, x: Documents | Sequence[str] | CSR | ArrayLike) -> CSR:
        """``x`` as rows of this vectoriser's features.

        Parameters
        ----------
        x : Documents, sequence of str, CSR or SciPy sparse matrix
            Raw text (transformed), or rows already made (``n_out`` wide, passed on as they are).

        Returns
        -------
        CSR
            The rows.

        Raises
        ------
        UsageError
            Rows of another width.
        """
        if hasattr(x, "tocsr"):  # a SciPy sparse matrix
            x = CSR.from_scipy(x)
        if isinstance(x, CSR):
            if x.shape[1] != self.n_out:
                raise UsageError(f"x has {x.shape[1]} features, the vectoriser makes {self.n_out}", "x")
            return x
        return self.transform(x)

    def feature_names(self, columns: NDArray[np.integer] | Sequence[int]) -> list[str]:
        """The names of columns of the rows.

        Parameters
        ----------
        columns : array-like of int
            Columns, in ``[0, n_out)``.

        Returns
        -------
        list of str
            Each column's most frequent training n-gram, ``#k`` for a hashed column without a kept
            name, a number column's own name, ``NAME=(missing)`` for its indicator of a missing number.
        """
        found = np.searchsorted(self.name_columns_, columns)
        numbers = [*self.number_columns_, *(f"{c}={MISSING_LEVEL}" for c, m in zip(
            self.number_columns_, self.number_missing_.tolist(), strict=True) if m)]
        out = []
        for col, at in zip(np.asarray(columns).tolist(), found.tolist(), strict=True):
            if col >= self.n_features:
                out.append(numbers[col - self.n_features])
            elif at < len(self.name_columns_) and self.name_columns_[at] == col:
                out.append(self.names_[at])
            else:
                out.append(f"#{col}")
        return out

    def top_features(self, W: NDArray[np.floating], k: int = 10) -> list[list[tuple[str, float]]]:
        """The n-grams that raise each class's score most.

        Parameters
        ----------
        W : ndarray of shape (n_out, n_classes)
            The model's weights.
        k : int
            How many a class.

        Returns
        -------
        list of list of (str, float)
            For each class, its ``k`` named columns of largest weight, largest first, as (name,
            weight); columns without a kept name are passed over.
        """
        named = self.name_columns_
        if self.number_columns_:
            named = np.concatenate([named, np.arange(self.n_features, self.n_out)])
        out = []
        for c in range(W.shape[1]):
            weights = np.asarray(W[named, c], dtype=np.float64)
            top = np.argsort(-weights, kind="stable")[:k]
            out.append(list(zip(self.feature_names(named[top]), weights[top].tolist(), strict=True)))
        return out

    def describe(self) -> str:
        """What the rows are.

        Returns
        -------
        str
            One line, for logs and the model's metadata.
        """
        n_lo, n_hi = self.ngram_range
        grams = f"word {n_lo}-grams" if n_lo == n_hi else f"word {n_lo}- to {n_hi}-grams"
        weights = [w for w, on in (("1 + log tf", self.sublinear_tf), ("idf", self.idf)) if on] or ["counts"]
        norm = ", unit rows" if self.norm == "l2" else ""
        indicators = int(self.number_missing_.sum())
        numbers = (f" + {len(self.number_columns_)} number columns" if self.number_columns_ else "") + (
            f" ({indicators} with an indicator of a missing number)" if indicators else "")
        return (f"text of column{'s' if len(self.columns_) > 1 else ''} {', '.join(self.columns_)}: {grams} "
                f"hashed to {_width(self.n_features)} {'signed ' if self.signed else ''}features, "
                f"{' x '.join(weights)}{norm}{numbers}")

    # -- the model file ----------------------------------------------------------------------------

    def to_arrays(self) -> dict[str, NDArray]:
        """The fitted vectoriser as arrays for a pickle-free ``.npz``.

        Returns
        -------
        dict of str to ndarray
            Keys starting with ``text_``: the configuration as JSON bytes, the idf weights, the
            number columns' scaling, and the kept names (columns, lengths, UTF-8 bytes).
        """
        config = {"n_features": int(self.n_features), "ngram_range": list(self.ngram_range), "signed": self.signed,
                  "sublinear_tf": self.sublinear_tf, "idf": self.idf, "norm": self.norm,
                  "max_names": int(self.max_names), "n_documents": self.n_documents_, "columns": list(self.columns_),
                  "number_columns": list(self.number_columns_)}
        blob = "\n".join(self.names_).encode("utf-8")
        lengths = np.array([len(n.encode("utf-8")) for n in self.names_], dtype=np.int64)
        arrays: dict[str, NDArray] = {
            "text_config": np.frombuffer(json.dumps(config, sort_keys=True).encode("utf-8"), dtype=np.uint8),
            "text_name_columns": self.name_columns_.astype(np.int64), "text_name_lengths": lengths,
            "text_names": np.frombuffer(blob, dtype=np.uint8),
            "text_number_mean": self.number_mean_, "text_number_scale": self.number_scale_,
            "text_number_missing": self.number_missing_.astype(np.uint8),
        }
        if self.idf_ is not None:
            arrays["text_idf"] = self.idf_
        return arrays

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, NDArray]) -> TextVectorizer:
        """The vectoriser :meth:`to_arrays` wrote.

        Parameters
        ----------
        arrays : mapping of str to ndarray
            The ``text_*`` arrays of a model file.

        Returns
        -------
        TextVectorizer
            Fitted as it was.

        Raises
        ------
        ValueError
            The arrays disagree with each other (a ``KeyError`` when one is missing).
        """
        config = json.loads(np.asarray(arrays["text_config"], dtype=np.uint8).tobytes().decode("utf-8"))
        self = cls(n_features=int(config["n_features"]), ngram_range=tuple(config["ngram_range"]),
                   signed=bool(config["signed"]), sublinear_tf=bool(config["sublinear_tf"]), idf=bool(config["idf"]),
                   norm=str(config["norm"]), max_names=int(config["max_names"]))
        self.n_documents_ = int(config["n_documents"])
        self.columns_ = tuple(str(c) for c in config["columns"])
        self.number_columns_ = tuple(str(c) for c in config["number_columns"])
        if not self.columns_:
            raise ValueError("no text columns")
        self.number_mean_ = np.asarray(arrays["text_number_mean"], dtype=np.float64)
        self.number_scale_ = np.asarray(arrays["text_number_scale"], dtype=np.float64)
        if self.number_mean_.shape != (len(self.number_columns_),) \
                or self.number_scale_.shape != self.number_mean_.shape or not np.all(self.number_scale_ > 0):
            raise ValueError("number columns' scaling disagrees with their names")
        missing = arrays.get("text_number_missing")  # absent from files written before the indicators
        self.number_missing_ = np.zeros(len(self.number_columns_), dtype=bool) if missing is None else \
            np.asarray(missing).astype(bool)
        if self.number_missing_.shape != self.number_mean_.shape:
            raise ValueError("number columns' indicators disagree with their names")
        if self.idf:
            idf = np.asarray(arrays["text_idf"])
            if idf.shape != (self.n_features,) or idf.dtype != np.float32 or not np.isfinite(idf).all():
                raise ValueError(f"idf weights of shape {idf.shape}, expected ({self.n_features},) float32")
            self.idf_ = idf
        columns = np.asarray(arrays["text_name_columns"], dtype=np.int64)
        lengths = np.asarray(arrays["text_name_lengths"], dtype=np.int64)
        blob = np.asarray(arrays["text_names"], dtype=np.uint8).tobytes()
        if columns.shape != lengths.shape or int(lengths.sum()) + max(len(lengths) - 1, 0) != len(blob) \
                or np.any(np.diff(columns) <= 0) or (len(columns) and not 0 <= columns[0] <= columns[-1]
                                                     < self.n_features):
            raise ValueError("column names disagree with their columns")
        self.name_columns_ = columns
        self.names_ = blob.decode("utf-8").split("\n") if len(columns) else []
        return self

    # -- the work ------------------------------------------------------------------------------------

    def _aligned(self, docs: Documents) -> Documents:
        """``docs`` with their columns in the fitted order; a missing column is a UsageError."""
        if docs.columns == self.columns_ and docs.number_columns == self.number_columns_:
            return docs
        missing = [c for c in (*self.columns_, *self.number_columns_) if c not in (*docs.columns, *docs.number_columns)]
        if missing:
            raise UsageError(f"docs lack the column(s) {', '.join(missing)} the vectoriser was fitted on", "docs")
        take = [docs.columns.index(c) for c in self.columns_]
        numbers = None
        if self.number_columns_:
            assert docs.numbers is not None
            numbers = docs.numbers[:, [docs.number_columns.index(c) for c in self.number_columns_]]
        return Documents(docs.buffer, docs.starts[:, take], docs.ends[:, take], self.columns_, numbers,
                         self.number_columns_)

    def _counts(self, docs: Documents, track: bool) -> tuple[CSR, _Votes | None]:
        """The hashed n-gram counts of ``docs`` (float32 CSR, no weights), block after block."""
        votes = _Votes(self.n_features) if track else None
        kernels = _kernels()
        if kernels is None:
            return self._counts_python(docs, votes), votes
        sizes = (docs.ends - docs.starts).sum(axis=1)
        threads = kernels.threads()
        scratch = (np.zeros((threads, self.n_features), np.float32), np.full((threads, self.n_features), -1, np.int64))
        blocks = _blocks(sizes, BLOCK_BYTES)
        caps = self._caps(docs)
        largest = max((int(caps[lo:hi].sum()) for lo, hi in blocks), default=0)
        out = [np.empty(largest, np.int32), np.empty(largest, np.float32)]  # reused by every block
        if track:
            out += [np.empty(largest, np.uint64), np.empty(largest, np.int64), np.empty(largest, np.int64)]
        parts = [self._count_block(kernels, docs, lo, hi, sizes[lo:hi], caps[lo:hi], scratch, out, votes)
                 for lo, hi in blocks]
        indptr = np.zeros(len(docs) + 1, dtype=np.int64)
        if parts:
            np.cumsum(np.concatenate([p[0] for p in parts]), out=indptr[1:])
        indices = np.concatenate([np.zeros(0, np.int32), *(p[1] for p in parts)])
        data = np.concatenate([np.zeros(0, np.float32), *(p[2] for p in parts)])
        return CSR(data, indices, indptr, self.n_features), votes

    def _caps(self, docs: Documents) -> NDArray[np.int64]:
        """A bound on each document's distinct columns: its n-grams (a token takes a byte and a separator
        or an unsegmented character of 3 bytes: at most (bytes + 1) / 2 tokens), at most the width."""
        n_orders = self.ngram_range[1] - self.ngram_range[0] + 1
        halves = ((docs.ends - docs.starts + 1) // 2).sum(axis=1)
        return np.minimum(n_orders * halves, self.n_features)

    def _count_block(self, kernels: Any, docs: Documents, lo: int, hi: int, sizes: NDArray[np.int64],
                     caps: NDArray[np.int64], scratch: tuple[NDArray, NDArray], out: list[NDArray],
                     votes: _Votes | None) -> tuple[NDArray, NDArray, NDArray]:
        """Documents ``lo:hi``: their numbers of non-zeros, columns and counts (``out``: the kernel's
        output arrays, large enough for the block)."""
        classes, lower = unicode_tables()
        n_orders = self.ngram_range[1] - self.ngram_range[0] + 1
        occurrences = n_orders * ((docs.ends[lo:hi] - docs.starts[lo:hi] + 1) // 2).sum(axis=1)
        chunks = _chunks(sizes, kernels.threads())
        ends = np.cumsum(caps)
        offsets = np.concatenate([[0], ends[chunks[1:] - 1] if len(caps) else []]).astype(np.int64)
        listed = np.where(occurrences > kernels.SPARSE_LIMIT, caps, occurrences)  # short documents list them all
        chunk_caps = np.array([listed[a:b].max(initial=0) for a, b in itertools.pairwise(chunks)], dtype=np.int64)
        nnz = np.zeros(hi - lo, dtype=np.int64)
        bad = np.zeros(hi - lo, dtype=np.int64)
        track = votes is not None
        hashes, span_lo, span_hi = out[2:] if track else (np.empty(0, np.uint64), np.empty(0, np.int64),
                                                          np.empty(0, np.int64))
        salts = np.array([(j * _SALT) & _MASK for j in range(docs.starts.shape[1])], dtype=np.uint64)
        kernels.count_ngrams(docs.buffer, docs.starts[lo:hi], docs.ends[lo:hi], lo, salts, classes, lower,
                             self.ngram_range[0], self.ngram_range[1], int(self.n_features), bool(self.signed), chunks,
                             offsets, chunk_caps, *scratch, out[0], out[1], nnz, bad, track, hashes, span_lo, span_hi)
        filled = [int(nnz[a:b].sum()) for a, b in itertools.pairwise(chunks)]
        pieces = [slice(int(o), int(o) + n) for o, n in zip(offsets[:-1], filled, strict=True) if n]
        take = (lambda a: np.concatenate([a[s] for s in pieces]) if pieces else a[:0])  # noqa: E731
        out_idx = take(out[0])
        if votes is not None:
            kernels.vote(out_idx, take(hashes), take(span_lo), take(span_hi), votes.hash, votes.count, votes.lo,
                         votes.hi)
        return nnz, out_idx, take(out[1])

    def _counts_python(self, docs: Documents, votes: _Votes | None) -> CSR:
        """:meth:`_counts` without Numba: the Python reference tokeniser and hasher."""
        n = np.uint64(self.n_features)
        indptr, indices, data = [0], [], []
        for i in range(len(docs)):
            texts = [docs.text(i, j) for j in range(len(docs.columns))]
            hashes = np.array(ngram_hashes(texts, self.ngram_range), dtype=np.uint64)
            cols = (hashes % n).astype(np.int64)
            signs = np.where((hashes >> np.uint64(63)) == 1, -1.0, 1.0) if self.signed else np.ones(len(cols))
            sums = np.bincount(cols, weights=signs, minlength=0) if len(cols) else np.zeros(0)
            used = np.flatnonzero(sums)
            indices.append(used)
            data.append(sums[used])
            indptr.append(indptr[-1] + len(used))
            if votes is not None:
                votes.add_python(used, hashes, cols, texts, self.ngram_range)
        return CSR(np.concatenate([np.zeros(0), *data]).astype(np.float32),
                   np.concatenate([np.zeros(0, np.int64), *indices]).astype(np.int32),
                   np.array(indptr, dtype=np.int64), int(self.n_features))

    def _finish(self, counts: CSR, docs: Documents) -> CSR:
        """Weights and unit rows on ``counts`` (in place), then the number columns appended."""
        kernels = _kernels()
        idf = self.idf_ if self.idf_ is not None else np.ones(1, np.float32)
        if kernels is not None:
            chunks = _chunks(np.diff(counts.indptr), kernels.threads())
            kernels.weigh(chunks, counts.indptr, counts.indices, counts.data, self.sublinear_tf, idf,
                          self.idf_ is not None, self.norm == "l2")
        else:
            _weigh_numpy(counts, self.sublinear_tf, self.idf_, self.norm == "l2")
        if docs.numbers is None or not self.number_columns_:
            return counts
        scaled = np.nan_to_num((docs.numbers - self.number_mean_) / self.number_scale_, nan=0.0)  # the mean
        missing = np.isnan(docs.numbers[:, self.number_missing_]).astype(np.float64)
        return _append_numbers(counts, np.hstack([scaled, missing]), self.n_out)

    def _name(self, docs: Documents, df: NDArray[np.int64], votes: _Votes | None) -> None:
        """Keep the names of the ``max_names`` columns with the largest document frequency."""
        used = np.flatnonzero(df)
        if self.max_names < len(used):
            used = np.sort(used[np.argsort(-df[used], kind="stable")[: self.max_names]])
        self.name_columns_ = used.astype(np.int64)
        if votes is None or not len(used):
            self.names_ = [f"#{c}" for c in used.tolist()]
            return
        if votes.texts is not None:  # the Python path kept the names themselves, and their text columns
            found = [votes.texts.get(c) for c in used.tolist()]
            names = [f"#{c}" if f is None else f[0] for c, f in zip(used.tolist(), found, strict=True)]
            where = [-1 if f is None else f[1] for f in found]
        else:
            lo, hi = votes.lo[used], votes.hi[used]
            names, where = self._span_names(docs, lo, hi), _span_columns(docs, lo).tolist()
        if len(docs.columns) > 1:  # the same n-gram in two text columns is two features: say whose
            names = [n if j < 0 else f"{n} ({docs.columns[j]})" for n, j in zip(names, where, strict=True)]
        self.names_ = names

    def _span_names(self, docs: Documents, lo: NDArray[np.int64], hi: NDArray[np.int64]) -> list[str]:
        """The display names of the n-grams at ``buffer[lo:hi]``."""
        kernels = _kernels()
        if kernels is None:
            return display_names([docs.buffer[a:b].tobytes() for a, b in zip(lo.tolist(), hi.tolist(), strict=True)])
        classes, lower = unicode_tables()
        out = np.empty(int(np.sum(hi - lo)) * 2 + len(lo), dtype=np.uint8)  # lower case is at most 2x longer
        lengths = np.zeros(len(lo), dtype=np.int64)
        size = kernels.name_spans(docs.buffer, lo, hi, classes, lower, out, lengths)
        return out[:size].tobytes().decode("utf-8", "replace").split("\n")


def _span_columns(docs: Documents, at: NDArray[np.int64]) -> NDArray[np.int64]:
    """The text column whose cell holds each buffer position ``at`` (cells do not overlap)."""
    starts, ends = docs.starts.reshape(-1), docs.ends.reshape(-1)
    cells = np.flatnonzero(ends > starts)
    order = cells[np.argsort(starts[cells], kind="stable")]
    inside = np.searchsorted(starts[order], at, side="right") - 1
    return (order[inside] % docs.starts.shape[1]).astype(np.int64)


def display_names(spans: Sequence[bytes]) -> list[str]:
    """Each span of text as a name: its tokens' text lower-cased, separated by single spaces (a run of
    an unsegmented script shown whole)."""
    joined = b"\x00".join(spans).decode("utf-8", "replace").translate(_lower_map())
    return [" ".join(_word_runs().findall(part)) for part in joined.split("\x00")]


@functools.cache
def _lower_map() -> dict[int, int]:
    _, lower = unicode_tables()
    changed = np.flatnonzero(lower != np.arange(len(lower)))
    return dict(zip(changed.tolist(), lower[changed].tolist(), strict=True))


@functools.cache
def _word_runs() -> re.Pattern[str]:
    """A regular expression matching runs of word and unsegmented characters."""
    classes, _ = unicode_tables()
    word = np.flatnonzero(classes > 0)
    breaks = np.flatnonzero(np.diff(word) != 1)
    starts = np.concatenate([[word[0]], word[breaks + 1]])
    ends = np.concatenate([word[breaks], [word[-1]]])
    ranges = "".join(re.escape(chr(a)) if a == b else f"{re.escape(chr(a))}-{re.escape(chr(b))}"
                     for a, b in zip(starts.tolist(), ends.tolist(), strict=True))
    return re.compile(f"[{ranges}]+")


class _Votes:
    """Per hashed column, the n-gram that hashed to it in the most training documents (a majority vote:
    candidate hash, its count, and where its text is in the documents' buffer)."""

    def __init__(self, n_features: int) -> None:
        self.hash = np.zeros(n_features, dtype=np.uint64)
        self.count = np.zeros(n_features, dtype=np.int64)
        self.lo = np.zeros(n_features, dtype=np.int64)
        self.hi = np.zeros(n_features, dtype=np.int64)
        self.texts: dict[int, tuple[str, int]] | None = None  # the Python path: name and text column

    def add_python(self, used: NDArray, hashes: NDArray, cols: NDArray, texts: list[str],
                   ngram_range: tuple[int, int]) -> None:
        """The Python path's vote: the first n-gram of each column in this document, by its display name."""
        if self.texts is None:
            self.texts = {}
        names = _python_ngram_names(texts, ngram_range)  # (name, text column) of each n-gram
        first: dict[int, int] = {}
        for k, c in enumerate(cols.tolist()):
            first.setdefault(c, k)
        for c in used.tolist():
            h = hashes[first[c]]
            if self.count[c] == 0:
                self.hash[c], self.count[c], self.texts[c] = h, 1, names[first[c]]
            elif self.hash[c] == h:
                self.count[c] += 1
            else:
                self.count[c] -= 1


def _python_ngram_names(texts: Sequence[str], ngram_range: tuple[int, int]) -> list[tuple[str, int]]:
    """The display name of every n-gram and the index of its text, in the order of :func:`ngram_hashes`."""
    out = []
    nmin, nmax = ngram_range
    for j, text in enumerate(texts):
        toks = tokens(text)
        for end in range(1, len(toks) + 1):
            for n in range(nmin, min(nmax, end) + 1):
                out.append((" ".join(toks[end - n : end]), j))
    return out


def is_text(x: Any) -> bool:
    """Whether ``x`` is raw text: :class:`Documents`, or a list, tuple, 1-D array or pandas Series of
    ``str`` (and not empty)."""
    if isinstance(x, Documents):
        return True
    if isinstance(x, list | tuple):
        items = x
    elif getattr(x, "ndim", None) == 1 and getattr(getattr(x, "dtype", None), "kind", "") in "OUS":
        items = list(x)
    else:
        return False
    return bool(len(items)) and all(isinstance(t, str) for t in items)


def as_documents(docs: Documents | Sequence[str] | Any, column: str = "text") -> Documents:
    """``docs`` as :class:`Documents`: as they are, or one text column from a sequence of ``str``
    (a list, a 1-D array of strings, a pandas Series)."""
    if isinstance(docs, Documents):
        return docs
    if isinstance(docs, str | bytes):
        raise UsageError("docs must be a sequence of texts, got a single string", "docs")
    array = np.asarray(docs, dtype=object) if not isinstance(docs, list) else None
    if array is not None and array.ndim != 1:
        raise UsageError(f"docs must be a 1-D sequence of texts, got shape {array.shape}", "docs")
    items = docs if array is None else array.tolist()
    bad = next((i for i, t in enumerate(items) if not isinstance(t, str | bytes)), None)
    if bad is not None:
        raise UsageError(f"docs must hold texts (str), item {bad} is {type(items[bad]).__name__}", "docs")
    return Documents.from_texts(items, column)


def _kernels() -> Any:
    """The compiled kernels (:mod:`.vectorize_kernels`), or None without Numba."""
    try:
        from . import vectorize_kernels
    except ImportError:
        return None
    return vectorize_kernels


def _blocks(sizes: NDArray[np.int64], limit: int) -> list[tuple[int, int]]:
    """Consecutive ranges of rows holding at most ``limit`` bytes each (or one row)."""
    if not len(sizes):
        return []
    ends = np.cumsum(sizes)
    out, lo = [], 0
    while lo < len(sizes):
        base = ends[lo - 1] if lo else 0
        hi = int(np.searchsorted(ends, base + limit, side="right"))
        hi = max(hi, lo + 1)
        out.append((lo, hi))
        lo = hi
    return out


def _chunks(sizes: NDArray[np.int64], threads: int) -> NDArray[np.int64]:
    """Bounds of at most ``4 * threads`` runs of rows of about equal bytes."""
    n = len(sizes)
    parts = max(1, min(n, 4 * threads))
    ends = np.cumsum(sizes, dtype=np.float64)
    total = ends[-1] if n else 0.0
    if total == 0:
        return np.linspace(0, n, parts + 1).astype(np.int64)
    bounds = np.searchsorted(ends, total * np.arange(1, parts) / parts, side="left") + 1
    return np.unique(np.concatenate([[0], np.minimum(bounds, n), [n]])).astype(np.int64)


def _weigh_numpy(x: CSR, sublinear: bool, idf: NDArray[np.float32] | None, l2: bool) -> None:
    """:func:`.vectorize_kernels.weigh` in NumPy (the same formulas)."""
    v = x.data.astype(np.float64)
    if sublinear:
        v = np.sign(v) * (1 + np.log(np.abs(v)))
    if idf is not None:
        v *= idf[x.indices]
    x.data[:] = v
    if l2:
        sums = np.concatenate([[0.0], np.cumsum(v * v)])
        total = sums[x.indptr[1:]] - sums[x.indptr[:-1]]
        scale = np.where(total > 0, 1 / np.sqrt(np.where(total > 0, total, 1)), 1.0)
        rows = np.repeat(np.arange(len(x)), np.diff(x.indptr))
        x.data[:] = (x.data.astype(np.float64) * scale[rows]).astype(np.float32)


def _append_numbers(x: CSR, numbers: NDArray[np.float64], width: int) -> CSR:
    """``x`` with the columns ``numbers`` (n, k) appended after its own, as columns ``width - k`` on."""
    n, k = numbers.shape
    lengths = np.diff(x.indptr) + k
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lengths, out=indptr[1:])
    is_number = np.zeros(int(indptr[-1]), dtype=bool)
    for j in range(k):
        is_number[indptr[1:] - k + j] = True
    data = np.empty(len(is_number), dtype=np.float32)
    indices = np.empty(len(is_number), dtype=np.int32)
    data[~is_number], indices[~is_number] = x.data, x.indices
    data[is_number] = numbers.astype(np.float32).reshape(-1)
    indices[is_number] = np.tile(np.arange(width - k, width, dtype=np.int32), n)
    return CSR(data, indices, indptr, width)


def _width(n: int) -> str:
    power = math.log2(n)
    return f"2^{int(power)}" if power == int(power) else str(n)
