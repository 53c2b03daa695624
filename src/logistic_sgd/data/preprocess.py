"""A table's columns made model features, fitted on the training split and stored with the model.

:class:`Preprocessor` is a short pipeline of fitted column transforms, one per column kept
(:mod:`.columns` says which columns are what), each giving a block of features in column order:

- a **number** column ``c``: ``(x - mean) / scale``, a missing cell taking the training mean
  first (``scale``: the standard deviation of the imputed training column, 1 where it is 0);
  when the training column had missing cells, a second feature ``c=(missing)`` is 1 where the
  cell is missing, else 0;
- a **category** column ``c``: one feature ``c=level`` per level seen at least :data:`MIN_COUNT`
  times in training (at most :data:`MAX_LEVELS`, the most frequent), 1 where the cell holds that
  level; the rarer levels share one ``c=(other)`` feature; missing cells, if training had any,
  their own ``c=(missing)``. A level never seen in training gives zeros in every feature of its
  column (a column with more than :data:`MAX_STORED` rare levels keeps them as "every level but
  the kept ones", so there any level not kept, seen or not, counts as ``(other)``).

Identifier, empty and ignored columns give no features. A table with a column of free text is read
as text instead (:mod:`.formats.text`, by the same :func:`.columns.detect_kinds` rule), so free
text reaching this pipeline (a DataFrame given to the estimator, say) is refused, naming the column,
unless a transform for the kind ``text`` is registered in :data:`TRANSFORMS`.

Everything is fitted on the training split only, stored in the model file as JSON
(:meth:`Preprocessor.to_arrays`, :meth:`Preprocessor.from_arrays`: floats written with ``repr``,
so they come back bit for bit), and applied to every split, to examples classified later, and in
the ONNX graph (:mod:`logistic_sgd.onnx_export`). Rows are matched to columns by name, so a table
to classify may hold its columns in any order, with or without its label column.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

import numpy as np
from numpy.typing import NDArray

from ..errors import DataError
from .columns import DROPPED, Choice, Frame, describe_kinds, detect_kinds

MIN_COUNT = 5
MAX_LEVELS = 100
MAX_STORED = 1000
MISSING_LEVEL = "(missing)"
OTHER_LEVEL = "(other)"
FORMAT = "logistic-sgd-columns"


class ColumnTransform(Protocol):
    """What a fitted transform of one column is: its column's ``name`` and ``kind``, the names of
    the features it gives, a ``transform`` of a frame's rows to those features (float64, shape
    (n, len(features))), a JSON-able ``spec`` that :meth:`from_spec` rebuilds it from, and the
    lines it adds to the log."""

    name: str
    kind: ClassVar[str]

    @property
    def features(self) -> list[str]: ...
    def transform(self, frame: Frame) -> NDArray[np.float64]: ...
    def spec(self) -> dict[str, Any]: ...
    def notes(self) -> list[str]: ...


@dataclass(frozen=True)
class NumberColumn:
    """A number column: imputed with the training ``mean``, standardised by ``scale``; with a
    ``(missing)`` indicator feature when ``indicator``."""

    name: str
    mean: float
    scale: float
    indicator: bool
    kind: ClassVar[str] = "number"

    @classmethod
    def fit(cls, frame: Frame, name: str) -> NumberColumn:
        x = frame.number_cells(name)
        gone = np.isnan(x)
        mean = float(x[~gone].mean())
        imputed = np.where(gone, mean, x)
        std = float(np.sqrt(((imputed - imputed.mean()) ** 2).mean()))
        return cls(name, mean, std if std > 0 else 1.0, bool(gone.any()))

    @property
    def features(self) -> list[str]:
        return [self.name, *([f"{self.name}={MISSING_LEVEL}"] if self.indicator else [])]

    def transform(self, frame: Frame) -> NDArray[np.float64]:
        x = frame.number_cells(self.name)
        gone = np.isnan(x)
        out = np.empty((len(x), 1 + self.indicator))
        out[:, 0] = (np.where(gone, self.mean, x) - self.mean) / self.scale
        if self.indicator:
            out[:, 1] = gone
        return out

    def spec(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name, "mean": self.mean, "scale": self.scale,
                "indicator": self.indicator}

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any]) -> NumberColumn:
        column = cls(str(spec["name"]), float(spec["mean"]), float(spec["scale"]), bool(spec["indicator"]))
        if not (np.isfinite(column.mean) and np.isfinite(column.scale) and column.scale > 0):
            raise ValueError(f"column {column.name!r}: mean and scale must be finite, scale > 0")
        return column

    def notes(self) -> list[str]:
        return []


@dataclass(frozen=True)
class CategoryColumn:
    """A category column: one feature per level in ``levels``; ``rare`` levels (the ones seen
    fewer than :data:`MIN_COUNT` times, or beyond the :data:`MAX_LEVELS` most frequent) share
    ``(other)``, which with ``open_other`` takes every level not in ``levels``; ``missing``: a
    feature for missing cells."""

    name: str
    levels: tuple[str, ...]
    rare: tuple[str, ...]
    missing: bool
    open_other: bool = False
    n_levels: int = 0
    kind: ClassVar[str] = "category"

    @classmethod
    def fit(cls, frame: Frame, name: str) -> CategoryColumn:
        cells = _levels_of(frame, name)
        present = cells[~np.equal(cells, None)]
        counts = Counter(present.tolist())
        ranked = sorted(counts, key=lambda level: (-counts[level], level))
        frequent = [level for level in ranked if counts[level] >= MIN_COUNT][:MAX_LEVELS]
        if not frequent and ranked:  # every level rare: each its own, there is nothing to fold into
            frequent = ranked[:MAX_LEVELS]
        rare = [level for level in ranked if level not in set(frequent)]
        open_other = len(rare) > MAX_STORED
        return cls(name, tuple(sorted(frequent)), () if open_other else tuple(sorted(rare)),
                   bool(len(present) < len(cells)), open_other, len(counts))

    @property
    def features(self) -> list[str]:
        return [*(f"{self.name}={level}" for level in self.levels),
                *([f"{self.name}={OTHER_LEVEL}"] if self.rare or self.open_other else []),
                *([f"{self.name}={MISSING_LEVEL}"] if self.missing else [])]

    def codes(self) -> dict[str, int]:
        """Each level's feature index (rare levels: the ``(other)`` feature's)."""
        codes = {level: i for i, level in enumerate(self.levels)}
        codes |= {level: len(self.levels) for level in self.rare}
        return codes

    def transform(self, frame: Frame) -> NDArray[np.float64]:
        cells = _levels_of(frame, self.name)
        k = len(self.features)
        codes = self.codes()
        other = len(self.levels) if self.open_other else k
        gone = np.equal(cells, None)
        distinct, inverse = np.unique(np.where(gone, "", cells).astype(str), return_inverse=True)
        index = np.array([codes.get(level, other) for level in distinct.tolist()], dtype=np.intp)[inverse.ravel()]
        index[gone] = k - 1 if self.missing else k
        out = np.zeros((len(cells), k + 1))
        out[np.arange(len(cells)), index] = 1.0
        return out[:, :k]

    def spec(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name, "levels": list(self.levels), "rare": list(self.rare),
                "missing": self.missing, "open_other": self.open_other, "n_levels": self.n_levels}

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any]) -> CategoryColumn:
        levels, rare = spec["levels"], spec["rare"]
        if not all(isinstance(v, str) for v in [*levels, *rare]):
            raise ValueError(f"column {spec['name']!r}: levels must be strings")
        return cls(str(spec["name"]), tuple(levels), tuple(rare), bool(spec["missing"]), bool(spec["open_other"]),
                   int(spec["n_levels"]))

    def notes(self) -> list[str]:
        if self.open_other:
            return [f"column {self.name}: {self.n_levels} levels, capped: the {len(self.levels)} most frequent kept, "
                    f"every other level as {self.name}={OTHER_LEVEL}"]
        if self.rare:
            shown = ", ".join(self.rare[:5]) + (", ..." if len(self.rare) > 5 else "")
            return [f"column {self.name}: {len(self.rare)} level(s) seen fewer than {MIN_COUNT} times folded into "
                    f"{self.name}={OTHER_LEVEL} ({shown})"]
        return []


TRANSFORMS: dict[str, Any] = {"number": NumberColumn, "category": CategoryColumn}
"""The transform of each kind of column that gives features (a class with ``fit(frame, name)``
and ``from_spec(spec)``); a kind without one here is refused, naming the column."""


@dataclass(frozen=True)
class Preprocessor:
    """The fitted transforms of a table's columns, in the order of their feature blocks, and the
    kinds chosen for every column (``choices``: kept and dropped); ``label`` is the training
    table's label column."""

    transforms: tuple[Any, ...]
    choices: tuple[Choice, ...]
    label: str | None = None

    @classmethod
    def fit(cls, frame: Frame, label: str | None = None, *, categorical: Collection[str] = (),
            ignore: Collection[str] = (), features: Collection[str] | None = None) -> Preprocessor:
        """Choose each column's kind on ``frame`` (the training split) and fit its transform.

        Raises
        ------
        DataError
            No column is left to give features, or a column holds free text (naming it).
        """
        choices = detect_kinds(frame, categorical=categorical, ignore=ignore, features=features)
        for choice in choices:
            if choice.kind not in DROPPED and choice.kind not in TRANSFORMS:
                raise DataError(f"{frame.source}: column {choice.name!r} holds free text ({choice.why}), which the "
                                f"column pipeline does not read; read the table as text (--text-column "
                                f"{choice.name}) or leave the column out (--ignore-columns {choice.name})")
        used = [c for c in choices if c.kind not in DROPPED]
        if not used:
            ids = [c.name for c in choices if c.kind in ("identifier", "empty")]
            why = (f"every feature column is an identifier or empty ({', '.join(ids)})" if ids else
                   "no feature column is left")
            raise DataError(f"{frame.source}: {why}; name the columns to use with --features (or --categorical)")
        order = {kind: i for i, kind in enumerate(TRANSFORMS)}
        used.sort(key=lambda c: order[c.kind])
        transforms = tuple(TRANSFORMS[c.kind].fit(frame, c.name) for c in used)
        return cls(transforms, tuple(choices), label)

    @property
    def feature_names(self) -> tuple[str, ...]:
        """The names of the model's features, ``column`` or ``column=level``."""
        return tuple(name for t in self.transforms for name in t.features)

    @property
    def n_features(self) -> int:
        return sum(len(t.features) for t in self.transforms)

    @property
    def columns(self) -> tuple[str, ...]:
        """The input columns the features come from, in the order of their blocks."""
        return tuple(t.name for t in self.transforms)

    def transform(self, frame: Frame) -> NDArray[np.float64]:
        """The features of ``frame``'s rows, float64 (n, :attr:`n_features`); columns are taken by
        name (others are ignored); a missing one is a :class:`DataError` naming it."""
        absent = [name for name in self.columns if name not in frame.cells]
        if absent:
            raise DataError(f"{frame.source}: no column named {absent[0]!r}; the model takes the columns "
                            f"{', '.join(self.columns)}")
        blocks = [t.transform(frame) for t in self.transforms]
        return np.ascontiguousarray(np.concatenate(blocks, axis=1)) if blocks else np.zeros((len(frame), 0))

    def describe(self) -> list[str]:
        """The log's lines: one per kind of column (which columns went there), then what was folded."""
        return [*describe_kinds(self.choices), *(note for t in self.transforms for note in t.notes())]

    def to_arrays(self) -> dict[str, NDArray[np.uint8]]:
        """The whole pipeline as one UTF-8 JSON array (``prep_columns``), for a model file."""
        spec = {"format": FORMAT, "label": self.label, "transforms": [t.spec() for t in self.transforms],
                "choices": [[c.name, c.kind, c.why] for c in self.choices]}
        return {"prep_columns": np.frombuffer(json.dumps(spec).encode("utf-8"), dtype=np.uint8)}

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, Any], n_features: int | None = None) -> Preprocessor:
        """The pipeline stored by :meth:`to_arrays`; ``ValueError`` if it is malformed or gives
        another number of features than ``n_features``."""
        try:
            spec = json.loads(np.asarray(arrays["prep_columns"], dtype=np.uint8).tobytes().decode("utf-8"))
            if spec.get("format") != FORMAT:
                raise ValueError("not a column pipeline")
            transforms = []
            for t in spec["transforms"]:
                if t.get("kind") not in TRANSFORMS:
                    raise ValueError(f"column {t.get('name')!r} of kind {t.get('kind')!r}, which this version lacks")
                transforms.append(TRANSFORMS[t["kind"]].from_spec(t))
            choices = tuple(Choice(str(n), str(k), str(w)) for n, k, w in spec["choices"])
            label = spec["label"]
        except (KeyError, TypeError, AttributeError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValueError(f"malformed column pipeline ({type(exc).__name__}: {exc})") from None
        made = cls(tuple(transforms), choices, None if label is None else str(label))
        if n_features is not None and made.n_features != n_features:
            raise ValueError(f"the columns give {made.n_features} features, the model takes {n_features}")
        return made


def _levels_of(frame: Frame, name: str) -> NDArray[np.object_]:
    """Column ``name``'s cells as levels: text, whole numbers written without a decimal point
    (``3.0`` and ``3`` are one level), None for missing."""
    cells = frame.column_cells(name)
    numbers = frame.numbers(name)
    if numbers is None:
        return cells
    out = cells.copy()
    whole = ~np.isnan(numbers) & (numbers == np.round(numbers)) & (np.abs(numbers) < 2**53)
    out[whole] = [str(int(v)) for v in numbers[whole]]
    return out
