"""The compiled tokeniser and hasher of :mod:`logistic_sgd.data.vectorize` (the ``[numba]`` extra).

It reads documents as spans of one UTF-8 buffer, a thread per chunk of documents, and gives each
document its hashed n-gram counts in increasing column order. Every rule (which characters make
words, lower-casing, CJK bigrams, the hash) is that of :func:`logistic_sgd.data.vectorize.ngram_hashes`,
the Python reference it is tested against bit for bit:

- a code point's class and lower case come from two tables indexed by code point (0 separates
  tokens, 1 is a word character, 2 a character of a script written without spaces); bytes that are
  not UTF-8 separate tokens, as the U+FFFD that decoding with replacement would give;
- a token's hash is ``h = h * P + (c + 1)`` over its lower-cased code points ``c`` (uint64, wrapping);
- an n-gram's hash is ``g = g * M + t`` over its tokens' hashes, finished by MurmurHash3's 64-bit
  mixer of ``g + salt + n * N`` (``salt`` is the column's); its column is that modulo the width, its
  sign (signed hashing) the top bit.

A document of at most ``SPARSE_LIMIT`` n-grams lists them all and sorts them at its end (a few
hundred integers, in cache); a longer one sums its counts in a dense array per thread (``acc``),
with the columns it touched listed aside and sorted at its end, so that memory grows with the
distinct n-grams of a document, not with its length.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import get_num_threads, get_thread_id, njit, prange

P = np.uint64(0x100000001B3)
M = np.uint64(0x9E3779B97F4A7C15)
N = np.uint64(0xA0761D6478BD642F)
_MIX1 = np.uint64(0xFF51AFD7ED558CCD)
_MIX2 = np.uint64(0xC4CEB9FE1A85EC53)
_S33 = np.uint64(33)
_S63 = np.uint64(63)
_ONE = np.uint64(1)
_RING = 8  # the longest n-gram


def threads() -> int:
    """The threads the parallel kernels run on (Numba's setting)."""
    return int(get_num_threads())


SPARSE_LIMIT = 1 << 16  # documents with at most this many n-grams are counted by sorting them


@njit(cache=True, nogil=True)
def fmix64(k: Any) -> Any:  # pragma: no cover - compiled
    k ^= k >> _S33
    k *= _MIX1
    k ^= k >> _S33
    k *= _MIX2
    k ^= k >> _S33
    return k


@njit(cache=True, nogil=True)
def _decode(buf: Any, p: int, end: int) -> tuple[int, int]:  # pragma: no cover - compiled
    """The code point at ``buf[p]`` and its length in bytes; (-1, 1) for a byte that does not start a
    well-formed UTF-8 sequence (overlong forms and surrogates included)."""
    b0 = buf[p]
    if b0 < 0x80:
        return b0, 1
    if b0 < 0xC2 or b0 > 0xF4:
        return -1, 1
    if b0 < 0xE0:
        n, c, lo, hi = 2, b0 & 0x1F, 0x80, 0xBF
    elif b0 < 0xF0:
        n, c = 3, b0 & 0x0F
        lo = 0xA0 if b0 == 0xE0 else 0x80
        hi = 0x9F if b0 == 0xED else 0xBF
    else:
        n, c = 4, b0 & 0x07
        lo = 0x90 if b0 == 0xF0 else 0x80
        hi = 0x8F if b0 == 0xF4 else 0xBF
    if p + n > end:
        return -1, 1
    b1 = buf[p + 1]
    if b1 < lo or b1 > hi:
        return -1, 1
    c = (c << 6) | (b1 & 0x3F)
    for i in range(2, n):
        b = buf[p + i]
        if b < 0x80 or b > 0xBF:
            return -1, 1
        c = (c << 6) | (b & 0x3F)
    return c, n


@njit(cache=True, nogil=True)
def _add_token(  # pragma: no cover - compiled
    t: Any, lo: int, hi: int, ring_h: Any, ring_lo: Any, count: int, nmin: int, nmax: int, salt: Any,
    n_features: int, signed: bool, dense: bool, acc: Any, mark: Any, stamp: int, touched: Any, t_hash: Any, t_lo: Any,
    t_hi: Any, m: int, track: bool,
) -> int:
    """Push token ``t`` (bytes ``lo:hi``) and count the n-grams that end with it. ``dense``: add to
    ``acc`` and list each column once in ``touched``; else list every n-gram in ``touched`` as
    ``column << 32 | position << 1 | negative`` (sorted and summed at the end of the document).
    Returns the entries of ``touched`` so far."""
    slot = count % _RING
    ring_h[slot] = t
    ring_lo[slot] = lo
    count += 1
    mask = np.uint64(n_features - 1)
    pow2 = (n_features & (n_features - 1)) == 0
    for n in range(nmin, nmax + 1):
        if n > count:
            break
        first = (count - n) % _RING
        g = ring_h[first]
        for i in range(1, n):
            g = g * M + ring_h[(count - n + i) % _RING]
        f = fmix64(g + salt + np.uint64(n) * N)
        col = np.int64(f & mask) if pow2 else np.int64(f % np.uint64(n_features))
        negative = signed and (f >> _S63) == _ONE
        if dense:
            v = np.float32(-1.0) if negative else np.float32(1.0)
            if mark[col] == stamp:
                acc[col] += v
                continue
            mark[col] = stamp
            acc[col] = v
            touched[m] = col
        else:
            touched[m] = (col << 32) | (m << 1) | (1 if negative else 0)
        if track:
            t_hash[m] = f
            t_lo[m] = ring_lo[first]
            t_hi[m] = hi
        m += 1
    return m


@njit(cache=True, nogil=True)
def _document(  # pragma: no cover - compiled
    buf: Any, starts: Any, ends: Any, d: int, salts: Any, classes: Any, lower: Any, nmin: int, nmax: int,
    n_features: int, signed: bool, dense: bool, acc: Any, mark: Any, stamp: int, touched: Any, t_hash: Any,
    t_lo: Any, t_hi: Any, track: bool, ring_h: Any, ring_lo: Any,
) -> tuple[int, int]:
    """Count the n-grams of document ``d`` (all its columns); returns (columns touched, bad bytes)."""
    # what is passed to _add_token is int64 from the start (a literal 0 or -1 would compile it again)
    m = np.int64(0)
    bad = 0
    n_table = len(classes)
    for j in range(starts.shape[1]):
        salt = salts[j]
        count = np.int64(0)
        p, end = starts[d, j], ends[d, j]
        h = np.uint64(0)
        word_lo = np.int64(-1)  # start of the word being read, or -1
        run = 0  # length of the current run of unsegmented characters
        prev = np.uint64(0)
        prev_lo = np.int64(0)
        while p <= end:
            if p < end and buf[p] < 0x80:  # ASCII
                c, n = np.int64(buf[p]), 1
                kind = classes[c]
            elif p < end:
                c, n = _decode(buf, p, end)
                if c < 0:
                    bad += 1
                    kind = 0
                elif c < n_table:
                    kind = classes[c]
                else:
                    kind = 0
            else:
                c, n, kind = 0, 1, 0  # the end of the document closes what is open
            if kind != 1 and word_lo >= 0:
                m = _add_token(h, word_lo, p, ring_h, ring_lo, count, nmin, nmax, salt, n_features, signed, dense,
                               acc, mark, stamp, touched, t_hash, t_lo, t_hi, m, track)
                count += 1
                word_lo = -1
            if kind != 2 and run == 1:
                m = _add_token(prev, prev_lo, p, ring_h, ring_lo, count, nmin, nmax, salt, n_features, signed, dense,
                               acc, mark, stamp, touched, t_hash, t_lo, t_hi, m, track)
                count += 1
            if kind == 1:
                if word_lo < 0:
                    word_lo = p
                    h = np.uint64(0)
                h = h * P + np.uint64(lower[c] + 1)
                run = 0
            elif kind == 2:
                cur = np.uint64(lower[c] + 1)
                if run >= 1:
                    m = _add_token(prev * P + cur, prev_lo, p + n, ring_h, ring_lo, count, nmin, nmax, salt,
                                   n_features, signed, dense, acc, mark, stamp, touched, t_hash, t_lo, t_hi, m, track)
                    count += 1
                prev = cur
                prev_lo = p
                run += 1
            else:
                run = 0
            p += n
    return m, bad


@njit(cache=True, nogil=True, parallel=True)
def count_ngrams(  # pragma: no cover - compiled
    buf: Any, starts: Any, ends: Any, first_doc: int, salts: Any, classes: Any, lower: Any, nmin: int, nmax: int,
    n_features: int, signed: bool, chunks: Any, offsets: Any, caps: Any, acc_all: Any, mark_all: Any, out_idx: Any,
    out_val: Any, nnz: Any, bad: Any, track: bool, out_hash: Any, out_lo: Any, out_hi: Any,
) -> None:
    """Count the hashed n-grams of every document, chunk ``chunks[k]:chunks[k + 1]`` of documents by one
    thread each.

    Document ``d`` (its spans ``starts[d, j]:ends[d, j]`` of ``buf``, one per column ``j``, hashed
    with ``salts[j]``) gets its ``nnz[d]`` distinct columns in increasing order and their counts
    (signed: sums of signs; columns whose sum is 0 are left out) in ``out_idx`` and ``out_val``, the
    documents of chunk ``k`` one after another from ``offsets[k]`` on. ``caps[k]`` bounds the
    distinct columns of a document of chunk ``k``; ``bad[d]`` counts the bytes that are not UTF-8.
    ``acc_all`` and ``mark_all`` (threads x n_features, float32 zeros and int64 below
    ``first_doc``) are each thread's dense counts, stamped with the document's number
    ``first_doc + d``. With ``track``, ``out_hash`` holds each column's first n-gram's full hash
    and ``out_lo:out_hi`` its bytes in ``buf`` (to name the columns).
    """
    for k in prange(len(chunks) - 1):
        tid = get_thread_id()
        acc = acc_all[tid]
        mark = mark_all[tid]
        cap = caps[k]
        touched = np.empty(cap, dtype=np.int64)
        t_hash = np.empty(cap if track else 0, dtype=np.uint64)
        t_lo = np.empty(cap if track else 0, dtype=np.int64)
        t_hi = np.empty(cap if track else 0, dtype=np.int64)
        ring_h = np.zeros(_RING, dtype=np.uint64)
        ring_lo = np.zeros(_RING, dtype=np.int64)
        o = offsets[k]
        for d in range(chunks[k], chunks[k + 1]):
            occurrences = 0
            for j in range(starts.shape[1]):
                occurrences += (ends[d, j] - starts[d, j] + 1) // 2
            dense = occurrences * (nmax - nmin + 1) > SPARSE_LIMIT
            m, bad[d] = _document(buf, starts, ends, d, salts, classes, lower, nmin, nmax, n_features, signed, dense,
                                  acc, mark, first_doc + d, touched, t_hash, t_lo, t_hi, track, ring_h, ring_lo)
            w = 0
            if dense:
                if track:  # sort the columns with their positions in the low 32 bits
                    for i in range(m):
                        touched[i] = (touched[i] << 32) | i
                touched[:m].sort()
                for i in range(m):
                    col = touched[i] >> 32 if track else touched[i]
                    v = acc[col]
                    acc[col] = 0
                    if v == 0:
                        continue
                    out_idx[o + w] = col
                    out_val[o + w] = v
                    if track:
                        s = touched[i] & 0xFFFFFFFF
                        out_hash[o + w] = t_hash[s]
                        out_lo[o + w] = t_lo[s]
                        out_hi[o + w] = t_hi[s]
                    w += 1
            else:  # every n-gram listed: sorted, each column's run summed (its first n-gram comes first)
                touched[:m].sort()
                i = 0
                while i < m:
                    col = touched[i] >> 32
                    s = (touched[i] >> 1) & 0x7FFFFFFF
                    v = np.float32(0.0)
                    while i < m and (touched[i] >> 32) == col:
                        v += np.float32(-1.0) if touched[i] & 1 else np.float32(1.0)
                        i += 1
                    if v == 0:
                        continue
                    out_idx[o + w] = col
                    out_val[o + w] = v
                    if track:
                        out_hash[o + w] = t_hash[s]
                        out_lo[o + w] = t_lo[s]
                        out_hi[o + w] = t_hi[s]
                    w += 1
            nnz[d] = w
            o += w


@njit(cache=True, nogil=True, parallel=True)
def weigh(  # pragma: no cover - compiled
    chunks: Any, indptr: Any, indices: Any, data: Any, sublinear: bool, idf: Any, use_idf: bool, l2: bool
) -> None:
    """In place: ``data`` (counts) made ``sign(c) (1 + log|c|)`` when ``sublinear``, times ``idf[column]``
    when ``use_idf``, each row divided by its Euclidean norm when ``l2`` (empty rows stay empty)."""
    for k in prange(len(chunks) - 1):
        for d in range(chunks[k], chunks[k + 1]):
            lo, hi = indptr[d], indptr[d + 1]
            total = 0.0
            for i in range(lo, hi):
                v = np.float64(data[i])
                if sublinear:
                    v = 1.0 + np.log(v) if v > 0 else -(1.0 + np.log(-v))
                if use_idf:
                    v *= idf[indices[i]]
                data[i] = v
                total += v * v
            if l2 and total > 0:
                scale = 1.0 / np.sqrt(total)
                for i in range(lo, hi):
                    data[i] = np.float32(np.float64(data[i]) * scale)


@njit(cache=True, nogil=True)
def vote(  # pragma: no cover - compiled
    indices: Any, hashes: Any, lo: Any, hi: Any, cand: Any, count: Any, cand_lo: Any, cand_hi: Any
) -> None:
    """A majority vote per column over the documents' first n-grams of that column (Boyer and Moore's):
    ``cand[c]`` ends as the n-gram (its hash, and its bytes ``cand_lo[c]:cand_hi[c]``) held by more
    than half of the documents that hold column ``c``, where there is one."""
    for i in range(len(indices)):
        c = indices[i]
        if count[c] == 0:
            cand[c] = hashes[i]
            count[c] = 1
            cand_lo[c] = lo[i]
            cand_hi[c] = hi[i]
        elif cand[c] == hashes[i]:
            count[c] += 1
        else:
            count[c] -= 1


@njit(cache=True, nogil=True)
def name_spans(  # pragma: no cover - compiled
    buf: Any, lo: Any, hi: Any, classes: Any, lower: Any, out: Any, lengths: Any
) -> int:
    """Each span ``buf[lo[i]:hi[i]]`` as a name: its word and unsegmented characters lower-cased, each
    run of other characters one space, none at the ends; the names written to ``out`` one after
    another, separated by newlines (``lengths[i]`` bytes each). Returns the bytes written."""
    w = 0
    n_table = len(classes)
    for i in range(len(lo)):
        start = w
        space = False
        p = lo[i]
        while p < hi[i]:
            c, n = _decode(buf, p, hi[i])
            kind = classes[c] if 0 <= c < n_table else 0
            if kind == 0:
                space = w > start
            else:
                if space:
                    out[w] = 32
                    w += 1
                    space = False
                w = _encode(lower[c], out, w)
            p += n
        lengths[i] = w - start
        if i + 1 < len(lo):
            out[w] = 10
            w += 1
    return w


@njit(cache=True, nogil=True)
def _encode(c: int, out: Any, w: int) -> int:  # pragma: no cover - compiled
    """Write code point ``c`` as UTF-8 at ``out[w]``; returns the position after it."""
    if c < 0x80:
        out[w] = c
        return w + 1
    if c < 0x800:
        out[w] = 0xC0 | (c >> 6)
        out[w + 1] = 0x80 | (c & 0x3F)
        return w + 2
    if c < 0x10000:
        out[w] = 0xE0 | (c >> 12)
        out[w + 1] = 0x80 | ((c >> 6) & 0x3F)
        out[w + 2] = 0x80 | (c & 0x3F)
        return w + 3
    out[w] = 0xF0 | (c >> 18)
    out[w + 1] = 0x80 | ((c >> 12) & 0x3F)
    out[w + 2] = 0x80 | ((c >> 6) & 0x3F)
    out[w + 3] = 0x80 | (c & 0x3F)
    return w + 4


@njit(cache=True, nogil=True)
def find_first(buf: Any, starts: Any, ends: Any, wanted: Any) -> Any:  # pragma: no cover - compiled
    """For each span ``buf[starts[i]:ends[i]]``, the position of its first byte ``b`` with
    ``wanted[b]``, or ``ends[i]`` when it has none (the readers' per-line questions: blank? empty?
    where does the label end?)."""
    out = np.empty(len(starts), dtype=np.int64)
    for i in range(len(starts)):
        p, end = starts[i], ends[i]
        while p < end and not wanted[buf[p]]:
            p += 1
        out[i] = p
    return out


@njit(cache=True, nogil=True)
def csv_strict(buf: Any, delimiter: int) -> bool:  # pragma: no cover - compiled
    """Whether Python's ``csv`` (``strict=True``, ``"`` as the quote, doubled inside quotes) reads the
    bytes ``buf`` without an error of quoting: no quoted cell left open at the end, and nothing but
    a quote, the delimiter or a line end after a closing quote. (A quote inside an unquoted cell is
    a character of the cell.)"""
    state = 0  # 0 at a cell's start, 1 in an unquoted cell, 2 in a quoted one, 3 just after a quote in it
    for i in range(len(buf)):
        c = buf[i]
        end = c == delimiter or c == 10 or c == 13
        if state == 0:
            state = 0 if end else 2 if c == 34 else 1
        elif state == 1:
            if end:
                state = 0
        elif state == 2:
            if c == 34:
                state = 3
        elif c == 34:
            state = 2  # a doubled quote
        elif end:
            state = 0
        else:
            return False
    return state != 2
