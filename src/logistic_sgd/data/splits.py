"""Training, validation and test splits made from the examples a user has.

A source that holds only training examples (a CSV file, an ImageFolder tree without ``val/`` or
``test/``, a Hugging Face ``train`` file) has its missing splits cut from those examples by a
seeded, stratified split: each class is shuffled and divided in the given fractions (0.8, 0.1,
0.1 by default: of the examples given, for train, validation and test), so every split holds
every class of the training split. A class with fewer examples than there are splits to cut is a
:class:`DataError`. Validation and test files given explicitly are used as they are (they may
lack some classes); their labels must be classes of the training split. The training split comes
in a seeded random order either way (the original tutorial's minibatches follow the order of the examples).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from ..errors import DataError, UsageError
from .checks import SPLITS
from .labels import Classes

SPLIT_NAMES = {"train": "training", "valid": "validation", "test": "test"}
DEFAULT_FRACTIONS = (0.8, 0.1, 0.1)


@dataclass(frozen=True)
class Examples:
    """Examples as read from one file or folder, labels not yet turned into class indices.

    ``x`` is (n, d): ``uint8`` pixels (images, scaled ``x / 255`` when loaded) or float feature
    values. ``labels`` is (n,): whole numbers or text. ``class_names`` are the source's own names
    for label numbers ``0..K-1`` (Hugging Face's ``ClassLabel``, a known dataset's), if any.
    """

    x: NDArray
    labels: NDArray
    source: Path
    class_names: tuple[str, ...] | None = None
    image_shape: tuple[int, int] | None = None
    feature_names: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Splits:
    """The three splits as arrays (``{split}_x``, ``{split}_y`` with class indices), the class
    names, and a phrase saying how the splits were made (empty when all were given)."""

    arrays: dict[str, NDArray]
    class_names: tuple[str, ...]
    note: str


def assemble(given: Mapping[str, Examples], fractions: Sequence[float] = DEFAULT_FRACTIONS, seed: int = 0) -> Splits:
    """Make the three splits from ``given`` (``"train"``, and optionally ``"valid"`` and ``"test"``).

    Missing splits are cut from the training examples by :func:`stratified_split` with
    ``fractions`` (train, validation, test) and ``seed``; the training classes decide the class
    indices, and every other split's labels are encoded against them.
    """
    check_fractions(fractions)
    train = given["train"]
    classes = Classes.of(train.labels, train.source, train.class_names)
    y = classes.encode(train.labels, train.source)
    missing = [s for s in SPLITS[1:] if s not in given]
    arrays: dict[str, NDArray] = {}
    note = ""
    if missing:
        weights = [fractions[SPLITS.index(s)] for s in ("train", *missing)]
        try:
            pieces = stratified_split(y, weights, seed)
        except TooFewExamples as exc:
            cut = " and ".join(SPLIT_NAMES[s] for s in missing)
            raise DataError(f"{train.source}: class {classes.names[exc.label]!r} has {exc.count} example(s), too few "
                            f"to cut {cut} splits holding every class; give {cut} files") from None
        for split, index in zip(("train", *missing), pieces, strict=True):
            arrays[f"{split}_x"], arrays[f"{split}_y"] = train.x[index], y[index]
        shown = "/".join(f"{w / sum(weights):.3g}" for w in weights)
        note = (f"{' and '.join(SPLIT_NAMES[s] for s in missing)} cut from {train.source.name} by a stratified "
                f"split {shown} (seed {seed}): " + ", ".join(f"{len(p)} {SPLIT_NAMES[s]}" for s, p in
                                                             zip(("train", *missing), pieces, strict=True)))
    else:  # files listed by class (ImageFolder) would give the chapter's ordered minibatches one class at a time
        index = np.random.default_rng(seed).permutation(len(y))
        arrays["train_x"], arrays["train_y"] = train.x[index], y[index]
        note = f"training examples in a random order (seed {seed})"
    for split in SPLITS[1:]:
        if split in given:
            other = given[split]
            _check_like(other, train)
            arrays[f"{split}_x"], arrays[f"{split}_y"] = other.x, classes.encode(other.labels, other.source)
    return Splits(arrays, classes.names, note)


class TooFewExamples(ValueError):
    """A class has fewer examples than there are parts to cut."""

    def __init__(self, label: int, count: int) -> None:
        super().__init__(f"class {label} has {count} examples")
        self.label, self.count = label, count


def stratified_split(y: NDArray[np.integer], fractions: Sequence[float], seed: int = 0) -> list[NDArray[np.intp]]:
    """Indices of the parts of a stratified split of ``y`` (class indices).

    Each class's examples are shuffled (``numpy.random.default_rng(seed)``) and divided into
    ``round(n_k * fraction)`` examples per part (largest remainders first), with at least one
    example of the class in every part; each part is then shuffled, so it does not come sorted by
    class. Raises :class:`TooFewExamples` when a class has fewer examples than there are parts.
    """
    rng = np.random.default_rng(seed)
    order = np.argsort(y, kind="stable")
    labels, starts, counts = np.unique(y[order], return_index=True, return_counts=True)
    parts: list[list[NDArray[np.intp]]] = [[] for _ in fractions]
    for label, start, count in zip(labels, starts, counts, strict=True):
        if count < len(fractions):
            raise TooFewExamples(int(label), int(count))
        members = rng.permutation(order[start : start + count])
        bounds = np.cumsum(_part_sizes(int(count), fractions))[:-1]
        for part, piece in zip(parts, np.split(members, bounds), strict=True):
            part.append(piece)
    return [rng.permutation(np.concatenate(part)) for part in parts]


def check_fractions(fractions: Sequence[float]) -> None:
    """Raise UsageError unless ``fractions`` are three numbers in (0, 1) that add up to 1."""
    values = list(fractions)
    if len(values) != 3 or not all(isinstance(v, int | float) and 0 < v < 1 for v in values) \
            or not math.isclose(sum(values), 1.0, abs_tol=1e-6):
        raise UsageError(f"split fractions must be three numbers between 0 and 1 that add up to 1 "
                         f"(train, validation, test), got {values}")


def _part_sizes(n: int, fractions: Sequence[float]) -> NDArray[np.intp]:
    ideal = n * np.asarray(fractions, dtype=np.float64) / sum(fractions)
    sizes = np.floor(ideal).astype(np.intp)
    by_remainder = np.argsort(-(ideal - sizes), kind="stable")
    sizes[by_remainder[: n - sizes.sum()]] += 1
    for i in np.flatnonzero(sizes == 0):  # every part holds every class: take from the largest part
        sizes[np.argmax(sizes)] -= 1
        sizes[i] = 1
    return sizes


def _check_like(other: Examples, train: Examples) -> None:
    if not isinstance(other.x, np.ndarray) or not isinstance(train.x, np.ndarray):
        return  # named columns: the column pipeline takes them by name
    if other.x.shape[1] != train.x.shape[1]:
        raise DataError(f"{other.source}: {other.x.shape[1]} features, but the training data have {train.x.shape[1]}")
    if (other.x.dtype == np.uint8) != (train.x.dtype == np.uint8):
        kinds = {True: "image pixels", False: "feature values"}
        raise DataError(f"{other.source}: holds {kinds[other.x.dtype == np.uint8]}, but the training data hold "
                        f"{kinds[train.x.dtype == np.uint8]}")
    if other.image_shape != train.image_shape and None not in (other.image_shape, train.image_shape):
        raise DataError(f"{other.source}: images of {other.image_shape}, but the training images are "
                        f"{train.image_shape}")
    if other.feature_names and train.feature_names and other.feature_names != train.feature_names:
        raise DataError(f"{other.source}: the feature columns differ from the training data's")
