"""The compiled scanner of svmlight text (the ``[numba]`` extra), for :mod:`logistic_sgd.data.formats.svmlight`.

It reads the common shape of a line fast, ``label index:value index:value ...`` with plain decimal
numbers, and hands every other line back to the reader's Python parser, which reads the rest of the
format (comments, ``qid:``, exotic numbers) and words the errors. A value is ``m * 10**e`` for a
whole ``m < 2**53`` and ``|e| <= 22``: both are exact in float64, so one multiplication or division
rounds once and gives the number Python's ``float`` gives (Clinger's fast path); longer numbers go
to Python too.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit

_POW10 = np.array([10.0**i for i in range(23)])
_MANTISSA = 2**53


@njit(cache=True, nogil=True)
def _space(c: int) -> bool:  # pragma: no cover - compiled
    return c == 32 or c == 9 or c == 13 or c == 11 or c == 12


@njit(cache=True, nogil=True)
def _number(buf: Any, p: int, eol: int, pow10: Any) -> tuple[bool, float, int]:  # pragma: no cover - compiled
    """The decimal number at ``buf[p:]``: (exact, value, position after it); exact is False for
    anything the fast path does not read (the caller hands the line to Python)."""
    negative = False
    if p < eol and (buf[p] == 45 or buf[p] == 43):
        negative = buf[p] == 45
        p += 1
    m = 0
    digits = 0
    e = 0
    while p < eol and 48 <= buf[p] <= 57:
        m = m * 10 + (buf[p] - 48)
        digits += 1
        p += 1
        if m >= _MANTISSA:
            return False, 0.0, p
    if p < eol and buf[p] == 46:
        p += 1
        while p < eol and 48 <= buf[p] <= 57:
            m = m * 10 + (buf[p] - 48)
            digits += 1
            e -= 1
            p += 1
            if m >= _MANTISSA:
                return False, 0.0, p
    if digits == 0:
        return False, 0.0, p
    if p < eol and (buf[p] == 101 or buf[p] == 69):
        p += 1
        sign = 1
        if p < eol and (buf[p] == 45 or buf[p] == 43):
            sign = -1 if buf[p] == 45 else 1
            p += 1
        x = 0
        n = 0
        while p < eol and 48 <= buf[p] <= 57 and n < 6:
            x = x * 10 + (buf[p] - 48)
            n += 1
            p += 1
        if n == 0 or n == 6:
            return False, 0.0, p
        e += sign * x
    if e > 22 or e < -22:
        return False, 0.0, p
    v = float(m) * pow10[e] if e >= 0 else float(m) / pow10[-e]
    return True, -v if negative else v, p


@njit(cache=True, nogil=True)
def scan(  # pragma: no cover - compiled
    buf: Any, pos: int, end: int, state: Any, labels: Any, indptr: Any, indices: Any, data: Any
) -> int:
    """Read the lines of ``buf[pos:end]`` (``end`` just past a newline, or the end of the file) into the
    arrays, from row ``state[1]`` and value ``state[2]`` on; ``state[0]`` counts lines. Returns -1 when
    every line is read, else the start of the first line it leaves to Python (``state`` then counts the
    lines before it)."""
    pow10 = _POW10
    line, row, nnz = state[0], state[1], state[2]
    while pos < end:
        eol = pos
        while eol < end and buf[eol] != 10:
            eol += 1
        p = pos
        while p < eol and _space(buf[p]):
            p += 1
        if p == eol:  # a blank line
            line += 1
            pos = eol + 1
            continue
        ok, label, p = _number(buf, p, eol, pow10)
        if not ok or (p < eol and not _space(buf[p])):
            break
        n = nnz
        prev = -1
        good = True
        while True:
            while p < eol and _space(buf[p]):
                p += 1
            if p == eol:
                break
            k = 0
            q = p
            while p < eol and 48 <= buf[p] <= 57 and p - q < 18:
                k = k * 10 + (buf[p] - 48)
                p += 1
            if p == q or p == eol or buf[p] != 58 or k <= prev:  # noqa: SIM109 - compiled: no tuple
                good = False
                break
            ok, v, p = _number(buf, p + 1, eol, pow10)
            if not ok or (p < eol and not _space(buf[p])):
                good = False
                break
            indices[n] = k
            data[n] = v
            n += 1
            prev = k
        if not good:
            break
        labels[row] = label
        nnz = n
        row += 1
        indptr[row] = nnz
        line += 1
        pos = eol + 1
    state[0], state[1], state[2] = line, row, nnz
    return -1 if pos >= end else pos
