"""CSV and TSV files: one example per row, one column of labels, every other column a number.

- Plain text (UTF-8) or compressed (``.gz``, ``.bz2``, ``.xz``: recognised by their first bytes);
  the delimiter is a tab for ``.tsv`` and ``.tab`` files, otherwise the most frequent of ``,``,
  tab and ``;`` on the first line.
- The first line is a header when one of its cells is not a number in a column whose next lines
  hold numbers (Python's ``csv.Sniffer`` idea, on the first :data:`SNIFF_LINES` lines); or when its
  cells are distinct words none of which comes back in its column in the next lines (a table of
  words, ``section,description``); or when one of them is the ``label_column`` asked for by name.
- The label column is ``label_column`` (a header name, or a column number counted from 0, negative
  from the end); by default the header column named ``label``, ``labels``, ``class``, ``target``
  or ``y`` (in any case). Labels are whole numbers or names.
- Empty cells and ``NA``, ``N/A``, ``NaN``, ``null``, ``None``, ``?``, ``#N/A`` are missing values,
  which are refused, as are infinite numbers and rows with another number of cells than the first.
- A file whose feature columns are all named ``pixelN`` (the Kaggle MNIST layout
  ``label,pixel0,...,pixel783``) and hold whole numbers 0..255 holds image pixels (bytes, scaled
  ``x / 255`` like IDX images); any other holds feature values (float64).

With pyarrow installed (``pip install 'logistic-sgd[csv]'``) the file is parsed by ``pyarrow.csv``
on all cores; without it, by Python's :mod:`csv` module (the same result, several times slower).
Either way, a problem is reported with its line and column, found by the Python reader.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ...errors import DataError, UsageError, one_line
from .idx import read_bytes

LABEL_NAMES = ("label", "labels", "class", "target", "y")
MISSING = ("", "NA", "N/A", "n/a", "NaN", "nan", "-nan", "-NaN", "NULL", "null", "None", "?", "#N/A")
SUFFIXES = (".csv", ".tsv", ".tab")
COMPRESSED = (".gz", ".bz2", ".xz")

_NUMBER = re.compile(r"\s*[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\s*|\s*[+-]?(?:inf|infinity|nan)\s*", re.I | re.A)
_PIXEL = re.compile(r"pixel\d+", re.I | re.A)
_BLOCK = 4096
SNIFF_LINES = 20


@dataclass(frozen=True)
class Table:
    """The rows of a CSV/TSV file: features ``x`` (n, d), ``uint8`` for pixel columns and float64
    otherwise, ``labels`` (n,) as whole numbers (int64) or names (str), or ``None`` when the file
    has no label column; the header's names of the feature and label columns (``None`` without a
    header)."""

    x: NDArray
    labels: NDArray | None
    source: Path
    feature_names: tuple[str, ...] | None
    label_name: str | None

    @property
    def pixels(self) -> bool:
        """Whether ``x`` holds image pixels (bytes) rather than feature values."""
        return self.x.dtype == np.uint8


def is_table(path: Path) -> bool:
    """Whether ``path`` is named as a CSV/TSV file, compressed or not."""
    name = path.name.lower()
    for suffix in COMPRESSED:
        name = name.removesuffix(suffix)
    return name.endswith(SUFFIXES)


def read_table(path: str | Path, label_column: str | int | None = None, *, require_label: bool = True) -> Table:
    """Read a CSV/TSV file (see the module docstring for the format).

    Parameters
    ----------
    path : str or path
        The file, plain or ``.gz``/``.bz2``/``.xz``-compressed.
    label_column : str, int or None
        The header name of the label column, or its number (0 is the first column, -1 the last);
        ``None`` looks for a header column named ``label``, ``labels``, ``class``, ``target``, ``y``.
    require_label : bool
        When ``False`` and ``label_column`` is ``None``, a file without such a column is read as
        features only (``labels`` is ``None``), as for examples to classify.

    Raises
    ------
    DataError
        One line naming the file, and the line and column where there is one.
    """
    path = Path(path)
    raw = read_bytes(path)
    layout = _Layout.sniff(path, raw, label_column)
    label = layout.label_index(label_column, require_label)
    features = [i for i in range(layout.n_columns) if i != label]
    if not features:
        raise DataError(f"{path}: no feature columns besides the labels")
    names = layout.names
    pixels = names is not None and all(_PIXEL.fullmatch(names[i].strip()) for i in features)
    try:
        x, labels = _read_arrow(raw, path, layout, label, pixels)
    except ImportError:
        x, labels = _read_python(raw, path, layout, label)
    if pixels and x.dtype != np.uint8 and _are_bytes(x):
        x = x.astype(np.uint8)
    return Table(
        x=x, labels=None if labels is None else _label_values(labels, path, layout.column_name(label)),
        source=path, feature_names=None if names is None else tuple(names[i] for i in features),
        label_name=None if label is None or names is None else names[label],
    )


@dataclass(frozen=True)
class _Layout:
    """What the first lines say: the delimiter, the header's names (or None), the number of
    columns, and how many physical lines precede the data."""

    source: Path
    delimiter: str
    names: list[str] | None
    n_columns: int
    skip_lines: int

    @classmethod
    def sniff(cls, path: Path, raw: bytes, label_column: str | int | None = None) -> _Layout:
        lines: list[str] = []
        skipped = start = 0
        while len(lines) < SNIFF_LINES and start < len(raw):
            end = raw.find(b"\n", start)
            end = len(raw) if end < 0 else end + 1
            try:
                line = raw[start:end].decode("utf-8-sig" if start == 0 else "utf-8").rstrip("\r\n")
            except UnicodeDecodeError:
                raise DataError(f"{path}: line {skipped + len(lines) + 1} is not UTF-8 text") from None
            if line.strip():
                lines.append(line)
            elif not lines:
                skipped += 1
            start = end
        if not lines:
            raise DataError(f"{path}: holds no rows")
        delimiter = _delimiter(path, lines[0])
        rows = []
        for number, line in enumerate(lines, start=skipped + 1):
            try:
                rows.append(next(csv.reader([line], delimiter=delimiter)))
            except csv.Error as exc:
                if number > skipped + 2:  # a quoted cell spanning lines: sniff on what came before
                    break
                raise DataError(f"{path}: line {number}: {one_line(exc)}") from None
        first, second = rows[0], (rows[1] if len(rows) > 1 else None)
        if second is None:
            header = any(not _is_number(cell) for cell in first)
        else:
            header = _is_header(first, rows[1:], label_column)
        if header and second is None:
            raise DataError(f"{path}: has a header but no rows")
        return cls(path, delimiter, first if header else None, len(first), skipped + header)

    def column_name(self, index: int | None) -> str | None:
        if index is None:
            return None
        return repr(self.names[index]) if self.names is not None else f"column {index}"

    def label_index(self, label_column: str | int | None, require: bool) -> int | None:
        path, names, n = self.source, self.names, self.n_columns
        if isinstance(label_column, bool) or not isinstance(label_column, str | int | None):
            raise UsageError(f"label_column must be a column name, a column number or None, got {label_column!r}")
        if isinstance(label_column, int):
            if not -n <= label_column < n:
                raise DataError(f"{path}: has {n} columns, so label_column {label_column} does not exist")
            return label_column % n
        if isinstance(label_column, str):
            if names is None:
                raise DataError(f"{path}: has no header row; give the label column by number, not {label_column!r}")
            found = [i for i, name in enumerate(names) if name == label_column] or [
                i for i, name in enumerate(names) if name.strip().lower() == label_column.strip().lower()]
            if len(found) != 1:
                what = "several columns are" if found else "no column is"
                raise DataError(f"{path}: {what} named {label_column!r} (columns: {_listed(names)})")
            return found[0]
        if names is not None:
            found = [i for i, name in enumerate(names) if name.strip().lower() in LABEL_NAMES]
            if len(found) == 1:
                return found[0]
            if len(found) > 1:
                candidates = ", ".join(names[i] for i in found)
                raise DataError(f"{path}: several columns could hold the labels ({candidates}); give the label "
                                "column (label_column, --label-column)")
        if not require:
            return None
        why = "has no header row" if names is None else \
            f"has no column named {', '.join(LABEL_NAMES[:-1])} or {LABEL_NAMES[-1]}"
        raise DataError(f"{path}: which column holds the labels? The file {why}; give the label column by name "
                        "or number (label_column, --label-column)")


def _read_arrow(raw: bytes, path: Path, layout: _Layout, label: int | None, pixels: bool) -> tuple[NDArray, Any]:
    """Parse with pyarrow.csv (ImportError without it); any problem is located by the Python reader."""
    import pyarrow as pa
    import pyarrow.compute as pc
    from pyarrow import csv as pacsv

    columns = [f"c{i}" for i in range(layout.n_columns)]
    types = {c: pa.uint8() if pixels else pa.float64() for c in columns}
    if label is not None:
        types[columns[label]] = pa.string()
    options = (
        pacsv.ReadOptions(column_names=columns, skip_rows=layout.skip_lines),
        pacsv.ParseOptions(delimiter=layout.delimiter),
        pacsv.ConvertOptions(column_types=types, null_values=list(MISSING), strings_can_be_null=True,
                             quoted_strings_can_be_null=True),
    )
    try:
        table = pacsv.read_csv(pa.py_buffer(raw), *options)
    except (pa.ArrowException, ValueError) as exc:
        if pixels:  # not bytes after all (a value above 255, a decimal point): read the numbers as they are
            return _read_arrow(raw, path, layout, label, pixels=False)
        raise _located(raw, path, layout, label, f"not readable as CSV ({one_line(exc)})") from None
    if table.num_rows == 0:
        raise DataError(f"{path}: has a header but no rows")
    if any(column.null_count for column in table.columns):
        raise _located(raw, path, layout, label, "has missing values")
    x = _matrix(table, label, np.uint8 if pixels else np.float64)
    if not pixels and not np.isfinite(x).all():
        raise _located(raw, path, layout, label, "holds a number that is not finite")
    if label is None:
        return x, None
    labels = table.column(label)
    values = pc.unique(labels)
    index = pc.index_in(labels, value_set=values).to_numpy()
    return x, (np.array(values.to_pylist(), dtype=str), index)


def _matrix(table: Any, skip: int | None, dtype: type) -> NDArray:
    """The table's columns (but ``skip``) as a C-ordered (rows, columns) array: filled a column at
    a time, where each write is contiguous, then transposed in one blocked copy."""
    columns = [i for i in range(table.num_columns) if i != skip]
    out = np.empty((len(columns), table.num_rows), dtype=dtype)
    for j, i in enumerate(columns):
        out[j] = table.column(i).to_numpy()
    return np.ascontiguousarray(out.T)


def _read_python(raw: bytes, path: Path, layout: _Layout, label: int | None, keep: bool = True) -> tuple[NDArray, Any]:
    """Parse with Python's csv module, checking every cell; the first problem raises DataError with
    its line and column. With ``keep=False`` only checks (how a pyarrow error is located)."""
    n = layout.n_columns
    features = [i for i in range(n) if i != label]
    blocks: list[NDArray[np.float64]] = []
    block = np.empty((_BLOCK, len(features)), dtype=np.float64)
    filled = 0
    labels: list[str] = []
    for line, row in _rows(raw, path, layout):
        if len(row) != n:
            first = layout.skip_lines + (layout.names is None)
            raise DataError(f"{path}: line {line} has {len(row)} cells, expected {n} like line {first}")
        cells = row if label is None else row[:label] + row[label + 1 :]
        try:
            block[filled] = cells
            numbers = bool(np.isfinite(block[filled]).all())
        except (ValueError, OverflowError):
            numbers = False
        if not numbers:
            _check_cells(path, layout, line, cells, features)
            raise DataError(f"{path}: line {line}: not every feature is a number")
        if label is not None:
            if row[label].strip() in MISSING:
                raise DataError(f"{path}: line {line}, column {label + 1} ({layout.column_name(label)}): missing label")
            labels.append(row[label])
        filled += 1
        if filled == _BLOCK:
            if keep:
                blocks.append(block)
                block = np.empty_like(block)
            filled = 0
    if not blocks and not filled:
        raise DataError(f"{path}: has a header but no rows")
    x = np.concatenate([*blocks, block[:filled]]) if keep else block[:0]
    if label is None:
        return x, None
    values, index = np.unique(np.array(labels, dtype=str), return_inverse=True)
    return x, (values, index)


def _rows(raw: bytes, path: Path, layout: _Layout) -> Iterator[tuple[int, list[str]]]:
    text = io.TextIOWrapper(io.BytesIO(raw), encoding="utf-8-sig", newline="")
    reader = csv.reader(text, delimiter=layout.delimiter)
    try:
        for row in reader:
            if row and reader.line_num > layout.skip_lines:
                yield reader.line_num, row
    except UnicodeDecodeError:
        raise DataError(f"{path}: not UTF-8 text after line {reader.line_num}") from None
    except csv.Error as exc:
        raise DataError(f"{path}: line {reader.line_num + 1}: {one_line(exc)}") from None


def _check_cells(path: Path, layout: _Layout, line: int, cells: list[str], features: list[int]) -> None:
    for cell, column in zip(cells, features, strict=True):
        where = f"{path}: line {line}, column {column + 1} ({layout.column_name(column)})"
        if cell.strip() in MISSING:
            raise DataError(f"{where}: missing value")
        if not _NUMBER.fullmatch(cell):
            raise DataError(f"{where}: {one_line(repr(cell), 40)} is not a number")
        if not np.isfinite(float(cell)):
            raise DataError(f"{where}: {cell.strip()} is not a finite number")


def _located(raw: bytes, path: Path, layout: _Layout, label: int | None, otherwise: str) -> DataError:
    """The first problem the Python reader finds, or ``otherwise`` if it finds none."""
    try:
        _read_python(raw, path, layout, label, keep=False)
    except DataError as exc:
        return exc
    return DataError(f"{path}: {otherwise}")


def _label_values(found: tuple[NDArray, NDArray], path: Path, column: str | None) -> NDArray:
    """Labels from (distinct strings, index of each row's): whole numbers as int64, else the names."""
    strings, index = found
    stripped = np.char.strip(strings)
    if all(_NUMBER.fullmatch(s) for s in stripped):
        numbers = stripped.astype(np.float64)
        if not (np.isfinite(numbers) & (numbers == np.round(numbers))).all():
            bad = stripped[~(np.isfinite(numbers) & (numbers == np.round(numbers)))][0]
            raise DataError(f"{path}: the label column {column} holds {bad}: class labels must be whole numbers "
                            "or names")
        if np.abs(numbers).max() >= 2**53:
            raise DataError(f"{path}: the label column {column} holds numbers too large to be classes")
        return numbers.astype(np.int64)[index]
    return stripped[index]


def _are_bytes(x: NDArray) -> bool:
    return bool(len(x) and ((x >= 0) & (x <= 255) & (x == np.round(x))).all())


def _delimiter(path: Path, first_line: str) -> str:
    name = path.name.lower()
    for suffix in COMPRESSED:
        name = name.removesuffix(suffix)
    if name.endswith((".tsv", ".tab")):
        return "\t"
    counts = {d: first_line.count(d) for d in (",", "\t", ";")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _is_header(first: list[str], rows: list[list[str]], label_column: str | int | None) -> bool:
    """Whether ``first`` names the columns of ``rows`` (the lines after it): see the module docstring."""
    columns = [[row[i].strip() for row in rows if i < len(row)] for i in range(len(first))]
    for name, below in zip(first, columns, strict=True):
        present = [cell for cell in below if cell not in MISSING]
        numbers_below = (bool(below) and _is_number(below[0])) or (bool(present) and all(map(_is_number, present)))
        if not _is_number(name) and numbers_below:
            return True
    if isinstance(label_column, str) and label_column.strip().lower() in {n.strip().lower() for n in first}:
        return True
    names = [n.strip() for n in first]
    return (all(n and not _is_number(n) and n not in MISSING for n in names) and len(set(names)) == len(names)
            and not any(n in below for n, below in zip(names, columns, strict=True)))


def _is_number(cell: str) -> bool:
    return bool(_NUMBER.fullmatch(cell)) and cell.strip().lower() not in ("nan", "-nan", "+nan")


def _listed(names: list[str], limit: int = 8) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f", ... ({len(names)} in all)" if len(names) > limit else "")
