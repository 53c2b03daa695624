"""Tables as people have them: named columns of numbers, categories, identifiers and text.

A :class:`Frame` holds a table's cells column by column, as text (``None`` for a missing cell),
so that each column can be read for what it is. :func:`detect_kinds` says what each column is:

- ``number``: every cell that is not missing is a number;
- ``category``: words, ``yes``/``no``, ``true``/``false``, a column that mixes numbers and words
  (said in the log), and any column named in ``categorical`` (small-integer codes, say);
- ``identifier``: a column named like one (``id``, ``ID``, ``rownames``, ``index``, an empty name or
  ``Unnamed: 0``, a name ending in ``_id`` or ``Id``), an unnamed first column of row numbers, or
  words that differ in every row (a name, a key): dropped, with a line saying so;
- ``text``: words that average five or more to a cell (free text, for a text vectoriser);
- ``empty``: every cell missing in the training rows: dropped;
- ``ignored``: named in ``ignore``, or left out of ``features``.

Missing cells are the empty ones and ``NA``, ``N/A``, ``NaN``, ``null``, ``None``, ``?``, ``#N/A``,
``<NA>`` (pandas' and pyarrow's markers among them), after stripping white space.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..errors import DataError

MISSING_CELLS = frozenset(("", "NA", "N/A", "n/a", "NaN", "nan", "-nan", "-NaN", "NULL", "null", "None", "?",
                           "#N/A", "<NA>", "#NA", "NaT"))
KINDS = ("number", "category", "identifier", "text", "empty", "ignored")
DROPPED = ("identifier", "empty", "ignored")
TEXT_WORDS = 5  # a column whose cells average this many words or more holds free text
MIN_IDENTIFIER_ROWS = 20  # words that differ in every row make an identifier only in a table this long
BOOLEAN = frozenset(("yes", "no", "true", "false", "y", "n", "t", "f"))

_ID_NAME = re.compile(r"(?:id|rownames|row\.?names|row_?id|index|unnamed: ?\d+|)", re.I)
_ID_SUFFIX = re.compile(r".*(?:[_ .-][iI][dD]|[a-z]Id|[a-z]ID)")
_NUMBER = re.compile(r"\s*[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\s*|\s*[+-]?(?:inf|infinity)\s*", re.I | re.A)


@dataclass
class Frame:
    """Named columns of equal length: ``cells[name]`` an object array of ``str`` (stripped of
    white space) with ``None`` for a missing cell, or ``None`` for a column read as numbers only
    (:meth:`from_matrix`: its text is made from the numbers when asked for, :meth:`column_cells`).
    ``source`` names where the rows came from (for messages); ``label`` is the label column's name
    when the rows were read with one (its cells are not among the columns); ``unlabelled`` counts
    the rows left out for a missing label."""

    cells: dict[str, NDArray[np.object_]]
    source: Path | str = "table"
    label: str | None = None
    unlabelled: int = 0
    _numbers: dict[str, NDArray[np.float64] | None] = field(default_factory=dict, repr=False)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self.cells)

    @property
    def shape(self) -> tuple[int, int]:
        return len(self), len(self.cells)

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(object)

    def __len__(self) -> int:
        if not self.cells:
            return 0
        name, cells = next(iter(self.cells.items()))
        return len(cells if cells is not None else self._numbers[name])

    def __getitem__(self, rows: Any) -> Frame:
        """The rows ``rows`` (an index array, a mask or a slice) of every column (and of the numbers
        already read from them)."""
        numbers = {name: None if values is None else values[rows] for name, values in self._numbers.items()}
        return Frame({name: None if values is None else values[rows] for name, values in self.cells.items()},
                     self.source, self.label, _numbers=numbers)

    def missing(self, name: str) -> NDArray[np.bool_]:
        """Which cells of column ``name`` are missing."""
        if self.cells[name] is None:
            return np.isnan(self._numbers[name])  # type: ignore[arg-type]
        return np.equal(self.cells[name], None)

    def column_cells(self, name: str) -> NDArray[np.object_]:
        """Column ``name``'s cells as text (made from its numbers for a column read as numbers only)."""
        cells = self.cells[name]
        return cells if cells is not None else cells_of(self._numbers[name])  # type: ignore[arg-type]

    def numbers(self, name: str) -> NDArray[np.float64] | None:
        """Column ``name`` as float64 (NaN where missing), or None if a cell is not a number."""
        if name not in self._numbers:
            self._numbers[name] = _as_numbers(self.cells[name])
        return self._numbers[name]

    def number_cells(self, name: str) -> NDArray[np.float64]:
        """Column ``name`` as float64, or :class:`DataError` naming its first cell that is not a
        finite number (for a column that a model takes as numbers)."""
        values = self.numbers(name)
        if values is None or not np.isfinite(values[~np.isnan(values)]).all():
            cells = self.column_cells(name)
            for i, cell in enumerate(cells):
                if cell is not None and (not _NUMBER.fullmatch(cell) or not np.isfinite(float(cell))):
                    what = "is not a finite number" if _NUMBER.fullmatch(cell) else "is not a number"
                    raise DataError(f"{self.source}: row {i + 1}, column {name!r}: {cell[:40]!r} {what}")
        return values  # type: ignore[return-value]

    def without(self, names: Iterable[str]) -> Frame:
        gone = set(names)
        return Frame({k: v for k, v in self.cells.items() if k not in gone}, self.source, self.label)

    @classmethod
    def from_matrix(cls, x: NDArray, names: Sequence[str], source: Path | str = "table",
                    label: str | None = None) -> Frame:
        """A frame over the columns of a float matrix (n, len(names)), NaN for missing, kept as
        numbers: no text is made for them unless asked for (a column made a category)."""
        numbers = {name: np.asarray(x[:, i], dtype=np.float64) for i, name in enumerate(names)}
        return cls(dict.fromkeys(names), source, label, _numbers=numbers)  # type: ignore[arg-type]

    @classmethod
    def from_columns(cls, columns: Mapping[str, Sequence[Any] | NDArray], source: Path | str = "table",
                     label: str | None = None) -> Frame:
        """A frame from named columns of any values: numbers (NaN and None missing), strings,
        booleans; every value becomes its text (``str``), missing markers None."""
        cells = {}
        lengths = {len(values) for values in columns.values()}
        if len(lengths) > 1:
            raise DataError(f"{source}: columns of different lengths ({', '.join(map(str, sorted(lengths)))})")
        for name, values in columns.items():
            cells[str(name)] = cells_of(values)
        return cls(cells, source, label)


def table_columns(table: Any) -> tuple[Frame, list[str]] | None:
    """A pandas ``DataFrame`` or a pyarrow ``Table`` as a :class:`Frame`, and the names of its
    columns whose type is not a number (strings, categoricals, booleans: the categories, by
    scikit-learn's ``categorical_features="from_dtype"`` rule); ``None`` for anything else."""
    if hasattr(table, "column_names") and hasattr(table, "schema"):  # pyarrow.Table
        import pyarrow.types as pat

        columns = {str(name): table.column(i).to_pylist() for i, name in enumerate(table.column_names)}
        words = [str(f.name) for f in table.schema
                 if not (pat.is_integer(f.type) or pat.is_floating(f.type) or pat.is_decimal(f.type))]
    elif hasattr(table, "columns") and hasattr(table, "dtypes") and hasattr(table, "iloc"):  # pandas.DataFrame
        columns = {str(name): table.iloc[:, i].tolist() for i, name in enumerate(table.columns)}
        words = [str(name) for name, dtype in zip(table.columns, table.dtypes, strict=True)
                 if getattr(dtype, "kind", "O") not in "iuf"]
    else:
        return None
    return Frame.from_columns(columns, source="X"), words


def cells_of(values: Sequence[Any] | NDArray) -> NDArray[np.object_]:
    """Any column of values as cells: text stripped, ``None`` for missing (None, NaN, a missing
    marker); floats that are whole numbers as whole numbers (``3.0`` as ``"3"``)."""
    array = np.asarray(values, dtype=object) if not isinstance(values, np.ndarray) else values
    out = np.empty(len(array), dtype=object)
    for i, value in enumerate(array):
        out[i] = _cell(value)
    return out


def _cell(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if isinstance(value, float | np.floating):
        if not np.isfinite(value):
            return None if np.isnan(value) else str(float(value))
        return str(int(value)) if float(value).is_integer() and abs(value) < 2**53 else repr(float(value))
    if isinstance(value, int | np.integer):
        return str(int(value))
    text = str(value).strip()
    return None if text in MISSING_CELLS else text


def _as_numbers(cells: NDArray[np.object_]) -> NDArray[np.float64] | None:
    filled = np.where(np.equal(cells, None), "nan", cells)
    try:
        values = filled.astype(np.float64)
    except (ValueError, OverflowError):
        return None
    present = cells[~np.equal(cells, None)]
    joined = "\x00".join(present).lower()
    if ("_" in joined or "nan" in joined) and not all(_NUMBER.fullmatch(cell) for cell in present):
        return None  # float() also takes "1_0" and "NAN", which are not numbers here
    return values


@dataclass(frozen=True)
class Choice:
    """What one column is (``kind``, one of :data:`KINDS`) and why, in a few words."""

    name: str
    kind: str
    why: str = ""


def detect_kinds(
    frame: Frame,
    *,
    categorical: Collection[str] = (),
    ignore: Collection[str] = (),
    features: Collection[str] | None = None,
) -> list[Choice]:
    """The kind of every column of ``frame`` but its label (see the module docstring).

    ``categorical``, ``ignore`` and ``features`` name columns (a name not in the frame is a
    :class:`DataError` listing its columns); they override what the cells say.
    """
    names = [n for n in frame.names if n != frame.label]
    check_named(frame, [*categorical, *ignore, *(features or ())])
    choices = []
    for position, name in enumerate(names):
        if name in ignore or (features is not None and name not in features):
            choices.append(Choice(name, "ignored", "--ignore-columns" if name in ignore else "not in --features"))
        elif frame.missing(name).all():
            choices.append(Choice(name, "empty", "every cell missing"))
        elif name in categorical:
            choices.append(Choice(name, "category", "--categorical"))
        elif features is not None and name in features:
            choices.append(_by_cells(frame, name, position, named=False))
        else:
            choices.append(_by_cells(frame, name, position, named=True))
    return choices


def check_named(frame: Frame, named: Collection[str]) -> None:
    """Raise :class:`DataError` unless every name in ``named`` is a feature column of ``frame``."""
    if frame.label is not None and frame.label in named:
        raise DataError(f"{frame.source}: column {frame.label!r} holds the labels; it cannot be a feature too")
    unknown = [n for n in named if n not in frame.cells]
    if unknown:
        raise DataError(f"{frame.source}: no column named {unknown[0]!r} (columns: {_listed(list(frame.names))})")


def identifier_by_name(name: str, position: int, numbers: NDArray[np.float64] | None) -> str | None:
    """Why the column ``name`` (at ``position`` among the feature columns; its cells as ``numbers``, or
    None when they are not all numbers) is an identifier whatever else its cells hold, or None: its
    name, or row numbers in the first column."""
    if _ID_NAME.fullmatch(name.strip()) or _ID_SUFFIX.fullmatch(name.strip()):
        return "named like an identifier"
    if numbers is not None and position == 0 and _row_numbers(numbers):
        return "row numbers"
    return None


def _by_cells(frame: Frame, name: str, position: int, named: bool) -> Choice:
    """The kind the cells of a column say (and its name, when ``named``)."""
    numbers = frame.numbers(name)
    why = identifier_by_name(name, position, numbers) if named else None
    if why:
        return Choice(name, "identifier", why)
    if numbers is not None:
        return Choice(name, "number")
    cells = frame.cells[name]
    levels, counts = np.unique(cells[~np.equal(cells, None)].astype(str), return_counts=True)
    n = int(counts.sum())
    words = sum(len(level.split()) * int(count) for level, count in zip(levels.tolist(), counts, strict=True)) / n
    if words >= TEXT_WORDS:
        return Choice(name, "text", f"{words:.1f} words a cell")
    if named and n >= MIN_IDENTIFIER_ROWS and len(levels) == n:
        return Choice(name, "identifier", "a different value in every row")
    if any(_NUMBER.fullmatch(level) for level in levels.tolist()):
        return Choice(name, "category", "mixed numbers and words")
    if {level.lower() for level in levels.tolist()} <= BOOLEAN:
        return Choice(name, "category", "boolean")
    return Choice(name, "category")


def _row_numbers(values: NDArray[np.float64]) -> bool:
    """Whether ``values`` count the rows: 0, 1, 2, ... or 1, 2, 3, ... (the first column R and pandas write)."""
    n = len(values)
    return n > 1 and not np.isnan(values).any() and (
        np.array_equal(values, np.arange(n)) or np.array_equal(values, np.arange(1, n + 1)))


def describe_kinds(choices: Sequence[Choice]) -> list[str]:
    """One line per kind of column present: which columns went there (and why, where it says)."""
    lines = []
    words = {"number": "numbers (imputed with the training mean where missing, standardised)",
             "category": "categories (one-hot)", "identifier": "identifiers, dropped", "text": "free text",
             "empty": "every cell missing, dropped", "ignored": "ignored"}
    for kind in KINDS:
        chosen = [c for c in choices if c.kind == kind]
        if chosen:
            shown = ", ".join((c.name if c.name.strip() else f"{c.name!r} (unnamed)")
                              + (f" ({c.why})" if c.why else "") for c in chosen[:12])
            more = f", ... ({len(chosen)} in all)" if len(chosen) > 12 else ""
            lines.append(f"columns, {words[kind]}: {shown}{more}")
    return lines


def _listed(names: list[str], limit: int = 8) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f", ... ({len(names)} in all)" if len(names) > limit else "")


@dataclass(frozen=True)
class ReadFrame:
    """A table read as a :class:`Frame`: its feature columns, its labels (``None`` without a label
    column), and how many rows were left out for a missing label."""

    frame: Frame
    labels: NDArray | None
    unlabelled: int = 0


def read_frame(path: str | Path, label_column: str | int | None = None, *, require_label: bool = True,
               missing: str = "impute", find_label: bool = True) -> ReadFrame:
    """Read a CSV/TSV file (the format of :mod:`.tabular`) as named columns of cells.

    A file without a header row gets the names ``column 1``, ``column 2``, ... Rows whose label is
    missing are left out and counted (``missing="error"``: refused, as is any missing cell). With
    ``find_label=False`` and no ``label_column``, every column is read as a feature (rows to
    classify, whose columns a model picks by name).

    Raises
    ------
    DataError
        One line naming the file, and the line and column where there is one.
    """
    from .formats.idx import read_bytes
    from .formats.tabular import _label_values, _Layout, _rows

    path = Path(path)
    raw = read_bytes(path)
    layout = _Layout.sniff(path, raw, label_column)
    label = layout.label_index(label_column, require_label) if find_label or label_column is not None else None
    n = layout.n_columns
    names = layout.names if layout.names is not None else [f"column {i + 1}" for i in range(n)]
    names = _unique_names(names)
    lines: list[int] = []
    rows: list[list[str]] = []
    for line, row in _rows(raw, path, layout):
        if len(row) != n:
            first = layout.skip_lines + (layout.names is None)
            raise DataError(f"{path}: line {line} has {len(row)} cells, expected {n} like line {first}")
        rows.append(row)
        lines.append(line)
    if not rows:
        raise DataError(f"{path}: has a header but no rows")
    table = np.array(rows, dtype=object)
    cells = {name: _stripped(table[:, i]) for i, name in enumerate(names)}
    numbers = {name: _as_numbers(values) for name, values in cells.items()}  # once, for every split cut later
    if missing == "error":
        gone = np.equal(table, None) | np.isin(np.char.strip(table.astype(str)), list(MISSING_CELLS))
        if gone.any():
            row, i = np.argwhere(gone)[0]
            raise DataError(f"{path}: line {lines[row]}, column {i + 1} ({names[i]!r}): missing value "
                            "(--missing error)")
    if label is None:
        return ReadFrame(Frame(cells, path, _numbers=numbers), None)
    label_name = names[label]
    keep = ~np.equal(cells[label_name], None)
    labels = cells.pop(label_name)[keep]
    numbers.pop(label_name)
    if not keep.any():
        raise DataError(f"{path}: every label (column {label_name!r}) is missing")
    frame = Frame({name: values[keep] for name, values in cells.items()}, path, label_name, int((~keep).sum()),
                  _numbers={name: None if values is None else values[keep] for name, values in numbers.items()})
    distinct, index = np.unique(labels.astype(str), return_inverse=True)
    return ReadFrame(frame, _label_values((distinct, index), path, repr(label_name)), int((~keep).sum()))


def _stripped(column: NDArray[np.object_]) -> NDArray[np.object_]:
    """Cells stripped of white space, ``None`` for a missing one."""
    text = np.char.strip(column.astype(str))
    out = text.astype(object)
    out[np.isin(text, list(MISSING_CELLS))] = None
    return out


def _unique_names(names: Sequence[str]) -> list[str]:
    """Header names stripped, an empty one as ``column N``, and a repeated one with ``.1``, ``.2``
    added (pandas' rule), so that every column has its own name."""
    out: list[str] = []
    for i, name in enumerate(names):
        name = name.strip() or ("" if i == 0 else f"column {i + 1}")
        base, k = name, 0
        while name in out:
            k += 1
            name = f"{base}.{k}"
        out.append(name)
    return out
