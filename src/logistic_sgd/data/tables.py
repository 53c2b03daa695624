"""A table's way from its file to the model's features: read, split, and its columns fitted.

A CSV/TSV file whose feature columns are all numbers, none missing, none an identifier, is read
as before (:func:`.formats.tabular.read_table`: a float matrix, standardised by :mod:`.scaling`).
Any other table is read as named columns (a :class:`.columns.Frame`): one with a category column
or a missing cell by :func:`.columns.read_frame`, one of numbers only (an identifier among them,
or columns named by the user) over the float matrix, no text made. Its splits are cut from the
rows as for any table, and then its column pipeline (:class:`.preprocess.Preprocessor`) is fitted
on the training split and applied to all three, or a model's pipeline is applied as it was stored.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DataError, UsageError
from .columns import _ID_NAME, _ID_SUFFIX, Frame, _row_numbers, _unique_names, check_named, read_frame
from .preprocess import Preprocessor
from .splits import Examples

MISSING_CHOICES = ("impute", "error")
_NOT_A_TABLE_OF_COLUMNS = ("not a finite number", "not UTF-8", "corrupt or truncated", "label column")
"""What the matrix reader refuses that named columns would not mend (any other problem is looked at again)."""


@dataclass(frozen=True)
class TableOptions:
    """How a table's columns are taken.

    Parameters
    ----------
    categorical : sequence of str
        Columns read as categories whatever their cells (small-integer codes, say).
    ignore : sequence of str
        Columns left out.
    features : sequence of str, optional
        The only columns to use (identifiers among them too); the others are left out.
    missing : {"impute", "error"}
        ``impute``: missing cells are imputed (numbers) or a level of their own (categories), and
        rows without a label are left out, counted in the log; ``error``: any missing cell is
        refused, naming its line and column.
    columns : Preprocessor, optional
        A fitted pipeline (a model's) to apply instead of fitting one on the training split.
    """

    categorical: Sequence[str] = ()
    ignore: Sequence[str] = ()
    features: Sequence[str] | None = None
    missing: str = "impute"
    columns: Preprocessor | None = None

    def __post_init__(self) -> None:
        if self.missing not in MISSING_CHOICES:
            raise UsageError(f"missing must be one of {', '.join(MISSING_CHOICES)}, got {self.missing!r}", "missing")

    @property
    def by_name(self) -> bool:
        """Whether the columns must be read by name (the user named some, or a model takes them so)."""
        return bool(self.categorical or self.ignore or self.features is not None or self.columns is not None)


def read_table_examples(path: Path, label_column: str | int | None, options: TableOptions | None = None,
                        by_name: bool = False) -> Examples:
    """The labelled rows of a CSV/TSV file: a float matrix when every feature column is a number
    (and nothing asks for names), else a :class:`Frame` of named columns (``by_name`` forces it)."""
    from .formats.tabular import read_table

    options = options or TableOptions()
    try:
        table = read_table(path, label_column)
    except DataError as first:
        if any(why in str(first) for why in _NOT_A_TABLE_OF_COLUMNS):
            raise
        return _frame_examples(path, label_column, options)
    named = options.by_name or by_name
    if not named and (table.pixels or not _has_identifier(table.feature_names, table.x)):
        return Examples(table.x, table.labels, path, feature_names=table.feature_names)  # type: ignore[arg-type]
    if table.feature_names is None:  # no header: the columns are named as read_frame names them
        return _frame_examples(path, label_column, options)
    names = _unique_names(table.feature_names)  # as read_frame names them, for predict to find them
    frame = Frame.from_matrix(table.x, names, path, table.label_name)  # numbers: no text kept
    check_named(frame, [*options.categorical, *options.ignore, *(options.features or ())])
    return Examples(frame, table.labels, path, feature_names=frame.names)  # type: ignore[arg-type]


def _frame_examples(path: Path, label_column: str | int | None, options: TableOptions) -> Examples:
    read = read_frame(path, label_column, missing=options.missing)
    check_named(read.frame, [*options.categorical, *options.ignore, *(options.features or ())])
    return Examples(read.frame, read.labels, path, feature_names=read.frame.names)  # type: ignore[arg-type]


def _has_identifier(names: Sequence[str] | None, x: Any) -> bool:
    """Whether a numeric table holds a column that is an identifier (by its name, or row numbers first)."""
    if names is None:
        return False
    named = any(_ID_NAME.fullmatch(n.strip()) or _ID_SUFFIX.fullmatch(n.strip()) for n in names)
    return named or (x.shape[1] > 1 and _row_numbers(np.asarray(x[:, 0], dtype=np.float64)))


def fit_columns(arrays: dict[str, Any], options: TableOptions | None) -> tuple[dict[str, Any], Preprocessor | None]:
    """``arrays`` (``{split}_x`` and ``{split}_y``) with the frames made features: the pipeline
    fitted on ``train_x`` (or ``options.columns``) and applied to each split; and that pipeline
    (None when ``train_x`` is not a :class:`Frame`)."""
    train = arrays["train_x"]
    if not isinstance(train, Frame):
        return arrays, None
    options = options or TableOptions()
    pre = options.columns or Preprocessor.fit(train, train.label, categorical=options.categorical,
                                              ignore=options.ignore, features=options.features)
    out = dict(arrays)
    for split in ("train", "valid", "test"):
        x = arrays[f"{split}_x"]
        if not isinstance(x, Frame):
            raise DataError(f"{split} examples are a matrix of numbers, but the training table has named columns; "
                            "give a table with a header")
        out[f"{split}_x"] = pre.transform(x)
    return out, pre


def rows_to_classify(path: Path, columns: Preprocessor, label_column: str | int | None = None) -> Frame:
    """A CSV/TSV file's rows as the model's columns take them, by name, in any order; the label
    column (``label_column``, or the training table's by name) and any other column left out."""
    read = read_frame(path, label_column, require_label=label_column is not None, find_label=False)
    return read.frame.without([columns.label] if columns.label else [])
