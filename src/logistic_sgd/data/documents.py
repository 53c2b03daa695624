"""Raw text examples: documents as spans of one UTF-8 buffer, with optional number columns beside them.

A :class:`Documents` is what the text readers (:mod:`.text`) hand over and what the vectoriser
(:mod:`.vectorize`) turns into sparse rows. Row ``i`` has one text per column ``j``: the bytes
``buffer[starts[i, j]:ends[i, j]]``, UTF-8 as read (bytes that are not UTF-8 are kept, and read as
separators). Taking rows (a split, a minibatch's order) gathers the spans and shares the buffer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from ..util.arrays import read_only


@dataclass(frozen=True)
class Documents:
    """``len(starts)`` examples of ``len(columns)`` texts each, and ``numbers`` columns of numbers.

    Parameters
    ----------
    buffer : uint8 array (n_bytes,)
        The texts' bytes.
    starts, ends : int64 arrays (n, n_text_columns)
        Row ``i``'s text in column ``j`` is ``buffer[starts[i, j]:ends[i, j]]``.
    columns : tuple of str
        The text columns' names (``("text",)`` for texts that came without a name).
    numbers : float64 array (n, n_number_columns) or None
        Number columns read beside the texts (a table's other columns).
    number_columns : tuple of str
        Their names.
    """

    buffer: NDArray[np.uint8]
    starts: NDArray[np.int64]
    ends: NDArray[np.int64]
    columns: tuple[str, ...] = ("text",)
    numbers: NDArray[np.float64] | None = None
    number_columns: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # the texts are only read: a read-only buffer, as from bytes or a mapped file, whatever its source
        # (the compiled tokeniser is then compiled for one type of buffer, not two)
        object.__setattr__(self, "buffer", read_only(np.asarray(self.buffer, dtype=np.uint8)))

    @classmethod
    def from_texts(cls, texts: Sequence[str | bytes], column: str = "text") -> Documents:
        """One text column from a sequence of texts.

        Parameters
        ----------
        texts : sequence of str or bytes
            The documents: ``str`` is encoded as UTF-8 (lone surrogates as ``?``), ``bytes`` kept as
            they are.
        column : str
            The column's name.

        Returns
        -------
        Documents
            ``len(texts)`` rows of one text column.
        """
        parts = [t if isinstance(t, bytes) else str(t).encode("utf-8", "replace") for t in texts]
        lengths = np.fromiter(map(len, parts), dtype=np.int64, count=len(parts))
        ends = np.cumsum(lengths)
        buffer = np.frombuffer(b"".join(parts), dtype=np.uint8)
        return cls(buffer, (ends - lengths).reshape(-1, 1), ends.reshape(-1, 1), (column,))

    @classmethod
    def from_columns(cls, columns: dict[str, Sequence[str | bytes]],
                     numbers: dict[str, Sequence[float]] | None = None) -> Documents:
        """Several text columns and number columns of the same rows.

        Parameters
        ----------
        columns : dict of str to sequence of str
            Each text column's name and its texts.
        numbers : dict of str to sequence of float, optional
            Each number column's name and its values.

        Returns
        -------
        Documents
            The rows, text columns in the order of ``columns``.
        """
        names = tuple(columns)
        parts = [Documents.from_texts(columns[name], name) for name in names]
        shift = np.cumsum([0, *(len(p.buffer) for p in parts)])
        buffer = np.concatenate([p.buffer for p in parts]) if parts else np.zeros(0, np.uint8)
        starts = np.hstack([p.starts + s for p, s in zip(parts, shift, strict=False)])
        ends = np.hstack([p.ends + s for p, s in zip(parts, shift, strict=False)])
        if numbers:
            values = np.column_stack([np.asarray(v, dtype=np.float64) for v in numbers.values()])
            return cls(buffer, starts, ends, names, values, tuple(numbers))
        return cls(buffer, starts, ends, names)

    @property
    def shape(self) -> tuple[int, int]:
        """(examples, text columns + number columns)."""
        return len(self.starts), self.starts.shape[1] + len(self.number_columns)

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(object)

    @property
    def ndim(self) -> int:
        return 2

    @property
    def nbytes(self) -> int:
        """The text bytes of these rows (not of the whole shared buffer)."""
        return int(np.sum(self.ends - self.starts))

    def __len__(self) -> int:
        return len(self.starts)

    def __getitem__(self, index: slice | NDArray[np.integer]) -> Documents:
        numbers = None if self.numbers is None else self.numbers[index]
        return Documents(self.buffer, self.starts[index], self.ends[index], self.columns, numbers,
                         self.number_columns)

    def text(self, row: int, column: int = 0) -> str:
        """One text, decoded.

        Parameters
        ----------
        row : int
            The row.
        column : int
            The text column, by position.

        Returns
        -------
        str
            The text, bytes that are not UTF-8 read as U+FFFD.
        """
        return self.buffer[self.starts[row, column] : self.ends[row, column]].tobytes().decode("utf-8", "replace")

    def texts(self, column: int = 0) -> list[str]:
        """Every row's text in one column, decoded.

        Parameters
        ----------
        column : int
            The text column, by position.

        Returns
        -------
        list of str
            One text a row (bytes that are not UTF-8 read as U+FFFD).
        """
        return [self.text(i, column) for i in range(len(self))]
