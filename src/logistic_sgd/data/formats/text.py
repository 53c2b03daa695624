"""Raw text with labels, as people have it: three layouts, read into :class:`.documents.Documents`.

- **fastText's format** (``.txt``, first line starting with ``__label__``): one example a line,
  ``__label__CLASS the text ...``. A label ends at the first white space (write
  ``__label__science_fiction``, not ``__label__science fiction``); the label may stand anywhere on
  the line, but only one: a line with several labels, with an empty label, or without one is
  refused with its line number (this model gives one class per example).
- **A folder of class folders** (scikit-learn's ``load_files``, the 20 Newsgroups layout):
  ``ROOT/CLASS/*.txt``, each file one example (files named without a suffix, as 20 Newsgroups',
  count too; hidden files do not). A folder with no text file, or a class folder without one, is
  refused.
- **A table** (CSV/TSV, plain or compressed, or parquet) with one or more free-text columns: those
  named by ``text_columns`` (``--text-column``). Without them a table is read for its text when
  one of its columns holds free text in its first rows, by the rule that reads every table's
  columns (:func:`..columns.detect_kinds`: words that average five or more to a cell); then every
  column but the label column that holds something other than numbers is text. A table of
  numbers and short words is read by :mod:`..tables` instead (categories). Number columns beside
  them become features too (standardised by the vectoriser). A table read for its text always has a header row.

Bytes that are not UTF-8 are read with replacement, never refused: they separate words as U+FFFD
would, and the description counts the lines (or files) that hold them. Empty documents are kept
(a row without features: the model gives it the classes' prior) and counted; a set where every
document is empty is refused.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ...errors import DataError, UsageError, one_line
from ...util.arrays import read_only
from ..columns import MISSING_CELLS, TEXT_WORDS, identifier_by_name
from ..documents import Documents
from ..splits import Examples
from .idx import read_bytes
from .tabular import _delimiter, _is_number, _Layout, _listed, is_table

LABEL = b"__label__"
_LABEL_WORD = re.compile(rb"__label__\S*")
TEXT_SUFFIXES = (".txt", "")
_SNIFF_ROWS = 256
_SNIFF_BYTES = 1 << 16


def is_fasttext(path: Path) -> bool:
    """Whether ``path`` is a ``.txt`` file whose first non-blank line starts with ``__label__``."""
    if not path.is_file() or path.suffix.lower() != ".txt":
        return False
    with path.open("rb") as f:
        head = f.read(_SNIFF_BYTES).lstrip()
    return head.startswith(LABEL)


def is_text_folder(folder: Path) -> bool:
    """Whether ``folder`` holds class folders of text files (and no other files beside them but hidden
    ones), or class folders that are all empty of files (refused later, with the reason)."""
    if not folder.is_dir():
        return False
    classes = _subfolders(folder)
    if not classes:
        return False
    files = [f for c in classes for f in _files(c)]
    return not files or any(_is_text_name(f) for f in files[:64])


def is_text_table(path: Path, text_columns: Sequence[str] = (), label_column: str | int | None = None) -> bool:
    """Whether the table at ``path`` is read for its text: ``text_columns`` are given, or a column
    other than the label column holds free text in its first rows, by the rule that reads every
    table's columns (:func:`..columns.detect_kinds`: words that average five or more to a cell).
    A table of numbers and short words (categories) is not text: :mod:`..tables` reads it."""
    if text_columns:
        return True
    if is_table(path):
        try:
            names, rows = _sniff_rows(path)
        except (DataError, csv.Error, UnicodeDecodeError):
            return False
        if names is None or not rows:
            return False
        columns = {i: [r[i] if i < len(r) else None for r in rows] for i in range(len(names))}
    elif path.name.endswith(".parquet"):
        pq = _parquet()
        if pq is None:
            return False
        try:
            schema = pq.read_schema(path)
            if "image" in schema.names:
                return False
            first = next(pq.ParquetFile(path).iter_batches(batch_size=_SNIFF_ROWS), None)
        except Exception:  # any unreadable file is left to the image reader, which says why
            return False
        if first is None:
            return False
        names = list(schema.names)
        columns = {i: first.column(i).to_pylist() for i in range(len(names))
                   if str(schema.field(i).type) in ("string", "large_string")}
    else:
        return False
    label = _label_index(path, names, label_column, required=False)
    return any(i != label and _holds_text(cells) for i, cells in columns.items())


def is_text(path: Path, text_columns: Sequence[str] = (), label_column: str | int | None = None) -> bool:
    """Whether ``path`` is read as raw text: a fastText file, a folder of class folders of text files
    (but not of images), or a table with text columns (:func:`is_text_table`)."""
    if path.is_dir():
        from .images import is_image_folder

        return not is_image_folder(path) and is_text_folder(path)
    return path.is_file() and (is_fasttext(path) or is_text_table(path, text_columns, label_column))


def read_text(path: Path, text_columns: Sequence[str] = (), label_column: str | int | None = None,
              require_label: bool = True) -> tuple[Examples, str]:
    """The labelled documents of one text source (see the module docstring) and a phrase describing
    them. ``require_label=False`` reads examples to classify (no labels needed; ``labels`` empty)."""
    if path.is_dir():
        return read_text_folder(path)
    if is_fasttext(path) or (not require_label and path.suffix.lower() == ".txt"):
        return read_fasttext(path, require_label)
    return read_text_table(path, text_columns, label_column, require_label)


def read_fasttext(path: Path, require_label: bool = True) -> tuple[Examples, str]:
    """A file in fastText's format: one document a line, its one ``__label__CLASS`` taken out.

    With ``require_label=False`` a line without a label is a document too (text to classify)."""
    raw = read_bytes(path)
    buffer = np.frombuffer(raw, dtype=np.uint8)
    breaks = np.flatnonzero(buffer == 10)
    line_starts = np.concatenate([[0], breaks + 1])
    line_ends = np.concatenate([breaks, [len(raw)]])
    at, upto = _label_words(raw, buffer, line_starts)
    line_of = np.searchsorted(line_starts, at, side="right") - 1  # 0-based line of each label
    per_line = np.bincount(line_of, minlength=len(line_starts))
    several = np.flatnonzero(per_line > 1)
    if len(several):
        k = int(several[0])
        shown = ", ".join(raw[a:b].decode("utf-8", "replace") for a, b in zip(at[line_of == k][:3].tolist(),
                                                                              upto[line_of == k][:3].tolist(),
                                                                              strict=True))
        raise DataError(f"{path}: line {k + 1} has {per_line[k]} labels ({shown}); one label a line, "
                        "as this model gives one class per example")
    empty_label = np.flatnonzero(upto - at == len(LABEL))
    if len(empty_label):
        raise DataError(f"{path}: line {int(line_of[empty_label[0]]) + 1}: empty label after __label__ (a label "
                        "ends at the first space: write __label__science_fiction, not __label__science fiction)")
    blank = _blank_lines(buffer, line_starts, line_ends)
    unlabelled = np.flatnonzero((per_line == 0) & ~blank)
    if require_label and len(unlabelled):
        raise DataError(f"{path}: line {int(unlabelled[0]) + 1} has no __label__CLASS (fastText's format: "
                        "__label__CLASS then the text)")
    lines = np.flatnonzero(~blank)
    starts, ends = line_starts[lines].copy(), line_ends[lines]
    first = per_line[lines] == 1
    label_at = np.full(len(line_starts), -1, dtype=np.int64)
    label_at[line_of] = np.arange(len(at))
    which = label_at[lines[first]]
    leading = at[which] == starts[first]
    starts_first = starts[first]
    starts_first[leading] = np.minimum(upto[which[leading]] + 1, ends[first][leading])  # the text after it
    starts[first] = starts_first
    inside = which[~leading]
    if len(inside):  # a label within the text: the text is what stands around it, the label read as spaces
        buffer = buffer.copy()
        for a, b in zip(at[inside].tolist(), upto[inside].tolist(), strict=True):
            buffer[a:b] = 32
    labels = [raw[a + len(LABEL) : b].decode("utf-8", "replace") for a, b in zip(at.tolist(), upto.tolist(),
                                                                                   strict=True)]
    numbers = lines + 1
    if not len(starts):
        raise DataError(f"{path}: holds no examples")
    docs = Documents(buffer, starts.reshape(-1, 1), ends.reshape(-1, 1))
    notes = _notes(path, docs, "line", numbers)
    what = f"fastText file {path} ({len(docs)} documents{notes})"
    return Examples(docs, np.array(labels, dtype=str), path), what


def read_text_folder(root: Path) -> tuple[Examples, str]:
    """``ROOT/CLASS/*.txt``: each file a document, its folder's name its class."""
    classes = _subfolders(root)
    files: list[Path] = []
    labels: list[str] = []
    for folder in classes:
        found = [f for f in _files(folder) if _is_text_name(f)]
        if not found:
            raise DataError(f"{folder}: class folder holds no .txt files (each class folder needs at least one)")
        files += found
        labels += [folder.name] * len(found)
    if not files:
        raise DataError(f"{root}: holds no .txt files (expected ROOT/CLASS/*.txt, one document a file)")
    parts = []
    for f in files:
        try:
            parts.append(f.read_bytes())
        except OSError as exc:
            raise DataError(f"{f}: cannot read ({exc.strerror})") from None
    lengths = np.fromiter(map(len, parts), dtype=np.int64, count=len(parts))
    ends = np.cumsum(lengths)
    docs = Documents(np.frombuffer(b"".join(parts), dtype=np.uint8), (ends - lengths).reshape(-1, 1),
                     ends.reshape(-1, 1))
    notes = _notes(root, docs, "file", None, files)
    what = f"text files in {root} ({len(docs)} documents in {len(classes)} class folders{notes})"
    return Examples(docs, np.array(labels, dtype=str), root), what


def read_text_table(path: Path, text_columns: Sequence[str] = (), label_column: str | int | None = None,
                    require_label: bool = True, other_text: str = "refuse", keep: Sequence[str] = ()
                    ) -> tuple[Examples, str]:
    """A CSV/TSV or parquet table's text columns (and number columns) and its labels. With
    ``text_columns`` given, another column holding free text is refused (``other_text="refuse"``) or
    left out (``"ignore"``, for tables to classify). A column named like an identifier is left out,
    unless it is one of ``text_columns`` or ``keep`` (a model's number columns)."""
    names, cells = _read_parquet(path) if path.name.endswith(".parquet") else _read_csv(path)
    label = _label_index(path, names, label_column, required=require_label)
    missing = [c for c in text_columns if c not in names]
    if missing:
        raise DataError(f"{path}: no column named {', '.join(map(repr, missing))} (columns: {_listed(names)})")
    if label is not None and names[label] in text_columns:
        raise UsageError(f"{path}: the column {names[label]!r} cannot be both the label and a text column",
                         "text_columns")
    texts: dict[str, list[str]] = {}
    numbers: dict[str, NDArray[np.float64]] = {}
    dropped: list[str] = []
    for i, name in enumerate(names):
        if i == label:
            continue
        values = cells[i]
        as_numbers = None if name in text_columns else _numbers(values)
        why = None if name in text_columns or name in keep else _dropped(name)
        if why:
            dropped.append(f"{name} ({why})" if name.strip() else f"{name!r} (unnamed, {why})")
        elif as_numbers is not None:
            numbers[name] = as_numbers
        elif text_columns and name not in text_columns and other_text == "ignore":
            continue
        elif text_columns and name not in text_columns and _free_text(values):
            raise DataError(f"{path}: column {name!r} holds free text but is not a text column (text columns: "
                            f"{', '.join(text_columns)}; name it with --text-column too)")
        else:  # a text column, or one of short words (categories: each its own namespace of words)
            texts[name] = ["" if v is None else v for v in values]
    if not texts:
        raise DataError(f"{path}: no text column (every column but the labels holds numbers)")
    if numbers and any(np.isinf(v).any() for v in numbers.values()):
        bad = next(n for n, v in numbers.items() if np.isinf(v).any())
        raise DataError(f"{path}: the number column {bad!r} has infinite values")
    gaps = {n: int(np.isnan(v).sum()) for n, v in numbers.items() if np.isnan(v).any()}
    docs = Documents.from_columns(texts, numbers or None)
    labels = np.zeros(0, dtype=str)
    if label is not None:
        raw_labels = cells[label]
        empty = next((k for k, v in enumerate(raw_labels) if v is None or not str(v).strip()), None)
        if empty is not None:
            raise DataError(f"{path}: row {empty + 1} has no label in column {names[label]!r}")
        labels = np.char.strip(np.array([str(v) for v in raw_labels], dtype=str))
    kind = "parquet" if path.name.endswith(".parquet") else "CSV"
    columns = ", ".join(texts) + (f"; {len(numbers)} number columns" if numbers else "") + (
        f"; dropped: {', '.join(dropped)}" if dropped else "")
    notes = _notes(path, docs, "row", None)
    if gaps:
        notes += "; missing numbers, read as the column's training mean: " + ", ".join(
            f"{count} in {name!r}" for name, count in gaps.items())
    return Examples(docs, labels, path), f"{kind} file {path} ({len(docs)} rows, text of {columns}{notes})"


def read_documents(path: Path, vectorizer: Any, label_column: str | int | None = None) -> Documents:
    """Documents to classify with ``vectorizer`` (fitted): a ``.txt`` file, one document a line (a
    ``__label__`` left out), or a table holding the vectoriser's columns (a label column left out)."""
    if path.is_dir():
        raise DataError(f"{path}: is a folder, expected a .txt file or a table")
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    if path.suffix.lower() == ".txt":
        return read_fasttext(path, require_label=False)[0].x
    if is_table(path) or path.name.endswith(".parquet"):
        examples, _ = read_text_table(path, tuple(vectorizer.columns_), label_column, require_label=False,
                                      other_text="ignore", keep=tuple(vectorizer.number_columns_))
        lacking = [c for c in vectorizer.number_columns_ if c not in examples.x.number_columns]
        if lacking:
            raise DataError(f"{path}: the model reads the number column(s) {', '.join(map(repr, lacking))}, which "
                            "this table lacks or holds words in (an empty cell is read as missing)")
        return examples.x
    raise DataError(f"{path}: unknown input type for a model trained on text (expected a .txt file, one document "
                    "a line, or a CSV/TSV/parquet table)")


# -- helpers ------------------------------------------------------------------------------------------


def _label_words(raw: bytes, buffer: NDArray[np.uint8], line_starts: NDArray[np.int64]) -> tuple[NDArray, NDArray]:
    """Where each word starting with ``__label__`` starts and ends. The common file, every label at the
    start of its line, is read with array operations; any other, word by word."""
    n = len(raw)
    head = line_starts[line_starts + len(LABEL) <= n]
    window = buffer[head[:, None] + np.arange(len(LABEL))] if len(head) else np.zeros((0, len(LABEL)), np.uint8)
    first = head[(window == np.frombuffer(LABEL, np.uint8)).all(axis=1)]
    if raw.count(LABEL) == len(first):
        return first, _find_first(buffer, first + len(LABEL), np.full(len(first), n, np.int64), _SPACE_BYTES)
    found = [(m.start(), m.end()) for m in _LABEL_WORD.finditer(raw)
             if m.start() == 0 or raw[m.start() - 1 : m.start()].isspace()]  # at the start of a word
    return np.array([a for a, _ in found], dtype=np.int64), np.array([b for _, b in found], dtype=np.int64)


def _find_first_numpy(buffer: NDArray[np.uint8], starts: NDArray[np.int64], ends: NDArray[np.int64],
                      wanted: NDArray[np.bool_]) -> NDArray[np.int64]:
    """:func:`_find_first` without Numba."""
    positions = np.flatnonzero(wanted[buffer])
    at = np.searchsorted(positions, starts)
    found = positions[np.minimum(at, len(positions) - 1)] if len(positions) else ends
    return np.where((at < len(positions)) & (found < ends), found, ends).astype(np.int64)


def _blank_lines(buffer: NDArray[np.uint8], starts: NDArray[np.int64], ends: NDArray[np.int64]) -> NDArray:
    """Lines holding nothing but ASCII white space."""
    return _find_first(buffer, starts, ends, ~_SPACE_BYTES) == ends


_SPACE_BYTES = np.array([chr(b) in " \t\r\n\v\f" for b in range(256)], dtype=bool)


def _notes(path: Path, docs: Documents, unit: str, numbers: NDArray[np.int64] | None,
           files: list[Path] | None = None) -> str:
    """``; N empty, M lines with bytes that are not UTF-8 (first: line K)``, or nothing; every document
    empty is a DataError."""
    sizes = (docs.ends - docs.starts).sum(axis=1)
    empty = _empty(docs)
    notes = ""
    if empty.all():
        raise DataError(f"{path}: no words in any document ({len(docs)} {unit}s)")
    if empty.any():
        notes += f"; {int(empty.sum())} empty"
    bad = [i for i in range(len(docs)) if sizes[i] and not _is_utf8(docs, i)] if not _is_utf8_all(docs) else []
    if bad:
        line = numbers[bad[0]] if numbers is not None else bad[0] + 1
        first = files[bad[0]] if files is not None else f"{unit} {line}"
        notes += f"; {len(bad)} {unit}s with bytes that are not UTF-8, read as U+FFFD (first: {first})"
    return notes


def _empty(docs: Documents) -> NDArray[np.bool_]:
    """Documents without a letter or digit in any column (any byte past ASCII counts as one)."""
    starts, ends = docs.starts.reshape(-1), docs.ends.reshape(-1)
    return (_find_first(docs.buffer, starts, ends, _WORD_BYTES) == ends).reshape(docs.starts.shape).all(axis=1)


def _find_first(buffer: NDArray[np.uint8], starts: NDArray[np.int64], ends: NDArray[np.int64],
                wanted: NDArray[np.bool_]) -> NDArray[np.int64]:
    """For each span ``buffer[starts[i]:ends[i]]``, where its first byte ``b`` with ``wanted[b]`` is (``ends[i]``
    when none is): compiled with Numba, else with arrays of all such bytes' positions."""
    try:
        from ..vectorize_kernels import find_first
    except ImportError:
        return _find_first_numpy(buffer, starts, ends, wanted)
    return find_first(read_only(buffer), np.ascontiguousarray(starts, np.int64), np.ascontiguousarray(ends, np.int64),
                      wanted)


_WORD_BYTES = np.array([chr(b).isalnum() or b == 95 or b >= 0x80 for b in range(256)], dtype=bool)


def _is_utf8_all(docs: Documents) -> bool:
    try:
        docs.buffer.tobytes().decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _is_utf8(docs: Documents, row: int) -> bool:
    try:
        for j in range(docs.starts.shape[1]):
            docs.buffer[docs.starts[row, j] : docs.ends[row, j]].tobytes().decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _subfolders(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))


def _is_text_name(path: Path) -> bool:
    return path.suffix.lower() in TEXT_SUFFIXES or path.suffix[1:].isdigit()


def _label_index(path: Path, names: list[str], label_column: str | int | None, required: bool) -> int | None:
    layout = _Layout(path, ",", names, len(names), 1)
    return layout.label_index(label_column, required)


def _holds_text(cells: list[Any]) -> bool:
    """Whether a column's cells are free text by the tables' rule (a column of short words is a
    category, a stray word in a number column is an error the table reader reports)."""
    from ..columns import Frame, detect_kinds

    frame = Frame.from_columns({"c": cells})
    return any(choice.kind == "text" for choice in detect_kinds(frame))


def _sniff_rows(path: Path) -> tuple[list[str] | None, list[list[str]]]:
    """The header and the first rows of a CSV/TSV file (from its first 64 KiB)."""
    raw = read_bytes(path)[:_SNIFF_BYTES]
    text = raw.decode("utf-8-sig", "replace")
    first = text.split("\n", 1)[0]
    rows = list(csv.reader(io.StringIO(text), delimiter=_delimiter(path, first)))
    if len(raw) == _SNIFF_BYTES and len(rows) > 1:
        rows = rows[:-1]  # the last row may be cut
    rows = [r for r in rows if r]
    return (rows[0], rows[1:]) if rows else (None, [])


def _read_csv(path: Path) -> tuple[list[str], list[list[Any]]]:
    """Every column of a CSV/TSV file with a header, as lists of str (None for a missing cell): parsed
    by pyarrow where it is installed (the tables' ``pyarrow`` extra), else by Python's ``csv``, which
    also reads any file pyarrow finds a problem in (bytes that are not UTF-8, a ragged row) or would
    read otherwise (an open quote, more of a cell after its closing quote), so that the cells, the
    messages and the replacement of bad bytes are the same either way."""
    raw = read_bytes(path)
    delimiter = _delimiter(path, raw.split(b"\n", 1)[0].decode("utf-8-sig", "replace"))
    parsed = _read_csv_arrow(raw, delimiter)
    if parsed is not None:
        return parsed
    text = raw.decode("utf-8-sig", "replace")
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True))
    except csv.Error as exc:
        raise DataError(f"{path}: not readable as CSV ({one_line(exc)})") from None
    rows = [r for r in rows if r]
    if len(rows) < 2:
        raise DataError(f"{path}: {'has a header but no rows' if rows else 'holds no rows'}")
    names = [n.strip() for n in rows[0]]
    width = len(names)
    for number, row in enumerate(rows[1:], start=2):
        if len(row) != width:
            raise DataError(f"{path}: row {number} has {len(row)} cells, the header {width}")
    return names, [[None if r[i] == "" else r[i] for r in rows[1:]] for i in range(width)]


def _read_csv_arrow(raw: bytes, delimiter: str) -> tuple[list[str], list[list[Any]]] | None:
    """:func:`_read_csv` by pyarrow.csv, every cell a string; None without pyarrow or where it finds a
    problem, or where its reading would differ from Python's ``csv`` (an open quote, more of a cell after
    its closing quote: :func:`~logistic_sgd.data.vectorize_kernels.csv_strict`), or the file has no rows:
    the Python reader's messages say what is wrong. Needs Numba as well (the ``[numba]`` extra) for that check."""
    try:
        import pyarrow as pa
        from pyarrow import csv as pacsv

        from ..vectorize_kernels import csv_strict
    except ImportError:
        return None
    if not csv_strict(np.frombuffer(raw, np.uint8), ord(delimiter)):  # pyarrow would read on: Python's csv says why
        return None
    try:
        header = next(csv.reader([re.split(b"[\r\n]", raw, maxsplit=1)[0].decode("utf-8-sig", "replace")],
                                 delimiter=delimiter), [])
    except csv.Error:
        return None
    columns = [f"c{i}" for i in range(len(header))]
    try:
        table = pacsv.read_csv(pa.py_buffer(raw), pacsv.ReadOptions(column_names=columns),
                               pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True),
                               pacsv.ConvertOptions(column_types=dict.fromkeys(columns, pa.string()),
                                                    strings_can_be_null=False))
    except (pa.ArrowException, ValueError):
        return None
    if table.num_rows < 2:
        return None
    cells = [table.column(i).to_pylist() for i in range(table.num_columns)]
    names = [column[0] for column in cells]
    if names != header:  # a header cell over several lines: the Python reader
        return None
    return [n.strip() for n in names], [[v if v else None for v in column[1:]] for column in cells]


def _read_parquet(path: Path) -> tuple[list[str], list[list[Any]]]:
    pq = _parquet()
    if pq is None:
        from ...util.extras import require

        require("pyarrow.parquet", "parquet", "reading parquet files", "pyarrow")
    try:
        table = pq.read_table(path)
    except Exception as exc:  # pyarrow raises many kinds for a damaged file
        raise DataError(f"{path}: not a readable parquet file ({one_line(exc) or type(exc).__name__})") from None
    if table.num_rows == 0:
        raise DataError(f"{path}: holds no rows")
    names = list(table.column_names)
    columns = []
    for name in names:
        column = table.column(name)
        kind = str(column.type)
        values = column.to_pylist()
        columns.append(values if kind in ("string", "large_string") else
                       [None if v is None else str(v) for v in values])
    return names, columns


def _dropped(name: str) -> str | None:
    """Why a table's column is left out of a text model, or None: named like an identifier, by the
    tables' rule (``id``, ``customer_id``, an empty name, ...). The tables' rules that look at the
    cells (row numbers, every cell missing, words that differ in every row) are not applied: each
    file of a run (training, validation, test, a table to classify) is read alone, and a rule on
    the cells could keep a column in one and drop it in another; a name is the same in all."""
    return identifier_by_name(name, 1, None)


def _free_text(values: list[Any]) -> bool:
    """Whether a column's present cells average :data:`~logistic_sgd.data.columns.TEXT_WORDS` words or
    more (the tables' rule for free text)."""
    present = [v for v in values if v is not None]
    return bool(present) and sum(len(v.split()) for v in present) >= TEXT_WORDS * len(present)


def _numbers(values: list[Any]) -> NDArray[np.float64] | None:
    """The column as numbers when every present cell is one (a missing cell, empty or a word of
    :data:`~logistic_sgd.data.columns.MISSING_CELLS` such as ``NA``, becomes NaN), else None."""
    cells = [None if v is None or str(v).strip() in MISSING_CELLS else str(v) for v in values]
    if any(v is not None and not _is_number(v) for v in cells):
        return None
    return np.array([np.nan if v is None else float(v) for v in cells], dtype=np.float64)


def _parquet() -> Any:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        return None
    return pq
