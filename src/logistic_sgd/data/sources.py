"""Datasets in the original tutorial's shape: ((train_x, train_y), (valid_x, valid_y), (test_x, test_y)).

:func:`open_dataset` recognises each form from the file or folder, and checks it before use:

- the original tutorial's ``mnist.pkl.gz`` (a Python 2 pickle, read by an unpickler that only rebuilds arrays);
- a folder of IDX files (``train-images-idx3-ubyte[.gz]`` and friends): the first 5/6 of the
  training images train (50,000 of MNIST's 60,000), the last 1/6 validate, ``t10k`` tests;
  torchvision's ``MNIST/raw/`` and ``FashionMNIST/raw/`` are such folders, found from the dataset
  root, from ``MNIST/``, or given directly;
- an ``.npz`` with ``train_x, train_y, valid_x, valid_y, test_x, test_y`` (no pickles allowed);
- Keras' ``mnist.npz`` (``x_train, y_train, x_test, y_test``, images n x 28 x 28): split as the
  IDX folder of the same images, so both give the same arrays;
- the memory-mappable folder written by ``logistic-sgd convert`` (:mod:`.layouts.memmap`);
- a CSV or TSV file, plain or compressed, one example a row (:mod:`.formats.tabular`; a table with
  columns of words, missing cells or identifier columns through :mod:`.tables`);
- an ImageFolder tree, ``train/<class>/*.png`` and so on (:mod:`.formats.images`);
- Hugging Face ``datasets`` parquet files of images, ``train-*.parquet`` and ``test-*.parquet``
  (:mod:`.formats.parquet`).

The first four, the converted folder, and Keras' file come with their validation and test splits.
Sources that lack some (a CSV file, an ImageFolder without ``val/`` or ``test/``, Hugging Face's
MNIST without validation) have them cut by a seeded, stratified split (:mod:`.splits`), which
the description says; explicit ``valid`` and ``test`` files replace the splits of any source.

Class names travel with the data (:attr:`LoadedData.class_names`): a CSV's label names (or its
numbers as text), ImageFolder's folder names, Hugging Face's ``ClassLabel`` names, and
Fashion-MNIST's ten names when the data are known to be Fashion-MNIST (the named dataset
``fashion-mnist``, Debian's folder, or a file or folder named ``fashion-mnist``,
``fashion_mnist`` or ``FashionMNIST``); otherwise the class numbers as text, ``"0"`` to ``"9"``
for MNIST.
Pixels and labels pass the same checks whatever the source (:mod:`.checks`).
"""

from __future__ import annotations

import math
import os
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DataError
from .checks import SPLITS, Datasets, checked, checked_split
from .columns import Frame
from .documents import Documents
from .formats.idx import IDX_FILES, find_idx, read_idx_folder
from .formats.npz_dataset import read_dataset_npz
from .formats.pickle_safe import read_tutorial_pickle
from .formats.sparse_npz import is_csr_npz, read_csr_npz
from .formats.svmlight import is_svmlight, read_svmlight_set
from .formats.text import is_text, read_text
from .labels import Classes, check_range, known_names
from .layouts.csr_layout import is_sparse_layout, read_sparse_layout
from .layouts.memmap import MANIFEST, read_layout
from .preprocess import Preprocessor
from .rows import CSR, ScaledArray
from .splits import DEFAULT_FRACTIONS, SPLIT_NAMES, Examples, assemble
from .tables import TableOptions, fit_columns

TORCHVISION_FOLDERS = ("MNIST", "FashionMNIST", "KMNIST")


@dataclass(frozen=True)
class LoadedData:
    """Arrays and where they came from.

    Attributes
    ----------
    datasets : Datasets
        The three (x, y) splits: ``x`` (n, n_features) floats (or a :class:`ScaledArray` over
        bytes), ``y`` (n,) int32 class indices.
    description : str
        One line for logs and model metadata: the source, and how its splits were made.
    path : Path
        The file or folder read.
    class_names : tuple of str
        ``class_names[k]`` names class ``k``; as many as the classes (``max(y) + 1`` at least).
    image_shape : (height, width) or None
        The images' shape when ``x`` are image pixels (already ``x / 255``); None for other
        features, which want standardising (:func:`.scaling.fit_scaling`).
    feature_names : tuple of str or None
        The header's names of the feature columns of a CSV file with a header.
    zero_based : bool or None
        For svmlight files: whether their feature indices count from 0 (as read), so that examples
        classified later are read alike.
    columns : Preprocessor or None
        A table's column pipeline, fitted on the training split (or given), that made its named
        columns the features (:mod:`.tables`); None for every other source.
    """

    datasets: Datasets
    description: str
    path: Path
    class_names: tuple[str, ...] = ()
    image_shape: tuple[int, int] | None = None
    feature_names: tuple[str, ...] | None = None
    zero_based: bool | None = None
    columns: Preprocessor | None = None

    @property
    def images(self) -> bool:
        """Whether ``x`` are image pixels (scaled ``x / 255`` as the original tutorial's) rather than other features."""
        return self.image_shape is not None


def load_data(dataset: str | os.PathLike[str] = "mnist") -> Datasets:
    """Load a dataset as the original tutorial's three (x, y) splits.

    Parameters
    ----------
    dataset : str or path
        A file or folder in any supported form (see module docstring), or a dataset name:
        ``"mnist"`` (also the original tutorial's ``"mnist.pkl.gz"``) or ``"fashion-mnist"``, looked up in
        the cache folder (``$LOGISTIC_SGD_DATA``) and downloaded when absent.

    Returns
    -------
    ((train_x, train_y), (valid_x, valid_y), (test_x, test_y))
        ``x`` float32 (float64 from a CSV, or a ``.npz`` that stores float64) of shape
        (n, n_features); ``y`` int32 of shape (n,).

    Raises
    ------
    DataError
        An unknown dataset name, a named dataset neither found nor downloaded, or a file that is
        missing, unreadable or malformed (the message names the file and what is wrong).
    """
    return open_dataset(dataset).datasets


def open_dataset(
    dataset: str | os.PathLike[str],
    keep_bytes: Collection[str] = (),
    *,
    label_column: str | int | None = None,
    valid: str | os.PathLike[str] | None = None,
    test: str | os.PathLike[str] | None = None,
    split: Sequence[float] = DEFAULT_FRACTIONS,
    split_seed: int = 0,
    zero_based: bool | str = "auto",
    table: TableOptions | None = None,
    text_columns: Sequence[str] = (),
) -> LoadedData:
    """Like :func:`load_data`, keeping the description, class names and kind of features.

    Parameters
    ----------
    dataset : str or path
        As for :func:`load_data`.
    keep_bytes : collection of {"train", "valid", "test"}
        The splits whose images, when stored as bytes, stay bytes: their ``x`` is then a
        :class:`ScaledArray` over them.
    label_column : str, int or None
        For CSV/TSV files: the label column's header name or number (negative from the end);
        by default the column named ``label``, ``labels``, ``class``, ``target`` or ``y``.
    valid, test : str or path, optional
        Files (or folders) holding the validation or test examples, replacing those of ``dataset``:
        a CSV/TSV file, a parquet file, or a folder of class folders of images.
    split : three floats
        Fractions (train, validation, test) of the examples given, for the splits a source lacks.
    split_seed : int
        Seed of that stratified split.
    zero_based : bool or "auto"
        For svmlight files: whether feature index 0 is the first column; "auto" (scikit-learn's
        rule): yes when any of the files read together holds an index 0.
    table : TableOptions, optional
        For CSV/TSV files: how their columns are taken (see :mod:`.tables`).
    text_columns : sequence of str
        For tables: the columns of free text (by default, any column whose cells average five words
        or more: :func:`.columns.detect_kinds`); a source of raw text (:mod:`.formats.text`) gives
        :class:`.documents.Documents` as ``x``, which :func:`vectorize_splits` makes rows.

    Returns
    -------
    LoadedData
        The three ``(x, y)`` splits with the data's description, class names and kind of features.

    Raises
    ------
    DataError
        As :func:`load_data`.
    UsageError
        An option out of range (naming it).
    """
    from .datasets import DATASETS, resolve

    name = os.fspath(dataset)
    given = {s: Path(p) for s, p in (("valid", valid), ("test", test)) if p is not None}
    options: dict[str, Any] = {"label_column": label_column, "split": split, "split_seed": split_seed, "given": given,
                               "zero_based": zero_based, "table": table, "text_columns": tuple(text_columns)}
    if name in DATASETS or (name == "mnist.pkl.gz" and not Path(name).exists()):
        key = "mnist" if name == "mnist.pkl.gz" else name
        path, title = resolve(key)
        loaded = read_path(path, keep_bytes, names=known_names(key), **options)
        loaded = replace(loaded, description=f"{title} ({loaded.description})")
    else:
        loaded = read_path(Path(dataset), keep_bytes, **options)
    return loaded


def align_classes(loaded: LoadedData, class_names: Sequence[str]) -> LoadedData:
    """``loaded`` with its labels made indices into ``class_names`` (a model's classes, say).

    Classes are matched by name (:class:`.labels.Classes`): names that are all whole numbers
    match as numbers, and data whose classes are only numbered (``"0"``, ``"1"``, ...) keep their
    numbers as indices when ``class_names`` are not numbers. A class of the data that
    ``class_names`` lack is a :class:`DataError` naming the data.
    """
    own = np.array(loaded.class_names, dtype=str)
    if len(own) and all(name.isdigit() for name in own):
        own = own.astype(np.int64)
    used = np.unique(np.concatenate([np.unique(y) for _, y in loaded.datasets]))  # classes with examples
    mapping = np.full(len(own), -1, dtype=np.int32)
    mapping[used] = Classes(tuple(class_names)).encode(own[used], loaded.path, among="the model's classes")
    datasets = tuple((x, mapping[y]) for x, y in loaded.datasets)
    return replace(loaded, datasets=datasets, class_names=tuple(class_names))  # type: ignore[arg-type]


def read_path(
    path: Path,
    keep_bytes: Collection[str] = (),
    *,
    label_column: str | int | None = None,
    split: Sequence[float] = DEFAULT_FRACTIONS,
    split_seed: int = 0,
    given: dict[str, Path] | None = None,
    names: tuple[str, ...] | None = None,
    zero_based: bool | str = "auto",
    table: TableOptions | None = None,
    text_columns: tuple[str, ...] = (),
) -> LoadedData:
    """Read a dataset file or folder, choosing the reader from what is there, with the splits in
    ``given`` (``"valid"``, ``"test"``: paths) read from those files instead. ``names`` are the
    class names of the dataset, when known by the name it was asked for; ``table`` says how a
    CSV/TSV file's columns are taken, ``text_columns`` which of them hold free text."""
    if not path.exists():
        raise DataError(f"{path}: no such file or folder")
    request = _Request(path, tuple(keep_bytes), label_column, dict(given or {}), names or _known_folder_names(path),
                       {"fractions": split, "seed": split_seed}, table, tuple(text_columns))
    if _reads_text(path, text_columns, label_column, table):
        return request.assembled(*_read_text(path, text_columns, label_column))
    if is_svmlight(path):
        return _read_svmlight(request, zero_based)
    if path.is_dir():
        return _read_folder(request)
    if path.name.endswith(".npz") and is_csr_npz(path):
        return request.assembled({"train": _csr_npz(path)}, f"SciPy CSR matrix {path}")
    if path.name.endswith(".npz"):
        datasets, what = read_dataset_npz(path, keep_bytes)
        return request.with_names(request.names or known_names(path.stem)).three_splits(datasets, f"{what} in {path}")
    if path.name.endswith((".pkl", ".pkl.gz", ".pickle")):
        return request.three_splits(read_tutorial_pickle(path, request.keep_bytes), f"pickle {path}")
    from .formats.tabular import is_table

    if is_table(path) or path.name.endswith(".parquet"):
        part = read_single(path, label_column, table)
        what = f"{'CSV' if is_table(path) else 'parquet'} file {path}"
        if isinstance(part.x, Frame):
            what += f" ({part.x.shape[1]} columns)"
            if part.x.unlabelled:
                what += f"; {part.x.unlabelled} rows without a label (column {part.x.label!r}) left out"
        elif part.feature_names is not None:
            what += f" ({part.x.shape[1]} features)"
        return request.assembled({"train": part}, what)
    raise DataError(f"{path}: unknown dataset format (expected .pkl.gz, .npz, .csv, .tsv, .parquet, .svm, a "
                    "fastText .txt, or a folder of IDX files, parquet files, images or .txt files)")


@dataclass(frozen=True)
class _Request:
    """What :func:`read_path` was asked to read, and how the splits it lacks are made."""

    path: Path
    keep_bytes: tuple[str, ...]
    label_column: str | int | None
    given: dict[str, Path]
    names: tuple[str, ...] | None
    cut: dict[str, Any] = field(default_factory=dict)
    table: TableOptions | None = None
    text_columns: tuple[str, ...] = ()

    def with_names(self, names: tuple[str, ...] | None) -> _Request:
        return replace(self, names=names)

    def three_splits(self, datasets: Datasets, description: str) -> LoadedData:
        """A source that has its three splits, labels already class indices; the given files replace splits."""
        loaded = _three_splits(datasets, description, self.path, self.names)
        return _replace_splits(loaded, self.given, self.keep_bytes, self.label_column) if self.given else loaded

    def assembled(self, parts: dict[str, Examples], description: str, read_given: bool = True) -> LoadedData:
        """A source of examples: the given files read as the splits they name, the others cut from training."""
        if read_given:
            train, given = parts["train"], self.given.items()
            if isinstance(train.x, Documents):
                text = self.text_columns
                parts |= {split: read_single(p, self.label_column, text_columns=text) for split, p in given}
            else:
                by_name = isinstance(train.x, Frame)
                parts |= {split: read_single(p, self.label_column, self.table, by_name) for split, p in given}
                if not by_name and any(isinstance(part.x, Frame) for part in parts.values()):  # named columns in all
                    parts |= {split: read_single(p, self.label_column, self.table, True) for split, p in given}
                    parts["train"] = read_single(train.source, self.label_column, self.table, True)
        description = "; ".join([description, *(f"{SPLIT_NAMES[s]} from {p}" for s, p in self.given.items())])
        return _assembled(self.path, parts, description, self.keep_bytes, self.names, self.cut, self.table)


def _read_folder(request: _Request) -> LoadedData:
    from .formats.images import is_image_folder, read_image_folder
    from .formats.parquet import find_parquet_splits, read_parquet

    path = request.path
    if (path / MANIFEST).is_file() and is_sparse_layout(path):
        return request.three_splits(read_sparse_layout(path), f"converted sparse dataset in {path} (memory-mapped)")
    if (path / MANIFEST).is_file():
        return request.three_splits(read_layout(path), f"converted dataset in {path} (memory-mapped)")
    if any(find_idx(path, stem) for stem in IDX_FILES.values()):
        return request.three_splits(read_idx_folder(path, request.keep_bytes), f"IDX files in {path}")
    raw = _torchvision_raw(path)
    if raw is not None:
        return read_path(raw, request.keep_bytes, label_column=request.label_column, given=request.given,
                         names=request.names or _known_folder_names(raw))
    for name in ("mnist.pkl.gz", "mnist.pkl"):
        if (path / name).is_file():
            return read_path(path / name, request.keep_bytes, label_column=request.label_column, given=request.given,
                             names=request.names)
    parquet = find_parquet_splits(path)
    if parquet:
        parts = {split_name: read_parquet(files) for split_name, files in parquet.items()}
        return request.assembled(parts, f"Hugging Face parquet files in {path}")
    if is_image_folder(path):
        return request.assembled(*read_image_folder(path))
    if is_text(path):
        return request.assembled(*_read_text(path))
    raise DataError(
        f"{path}: folder holds no dataset (expected {IDX_FILES['train_x']}[.gz] and the other IDX files, "
        "mnist.pkl.gz, train-*.parquet files, or class folders of images or of .txt files)"
    )


def read_single(path: Path, label_column: str | int | None = None, table: TableOptions | None = None,
                by_name: bool = False, text_columns: tuple[str, ...] = ()) -> Examples:
    """The labelled examples of one file or folder that holds a single split: a CSV/TSV file, a
    parquet file, a folder of class folders of images, or raw text (:mod:`.formats.text`). A CSV/TSV
    file's are a float matrix, or named columns (a :class:`.columns.Frame`: see :mod:`.tables`;
    ``by_name`` makes it so)."""
    from .formats.images import is_image_folder, read_image_folder
    from .formats.parquet import read_parquet
    from .formats.tabular import is_table
    from .tables import read_table_examples

    if not path.exists():
        raise DataError(f"{path}: no such file or folder")
    if _reads_text(path, text_columns, label_column, table):
        return read_text(path, text_columns, label_column)[0]
    if path.is_dir():
        if is_image_folder(path):
            parts, _ = read_image_folder(path)
            if set(parts) == {"train"}:
                return parts["train"]
        elif is_text(path):
            return read_text(path)[0]
        raise DataError(f"{path}: expected one split here: a CSV/TSV file, a parquet file, or class folders of images")
    if is_table(path):
        examples = read_table_examples(path, label_column, table, by_name)
        if examples.x.dtype == np.uint8:  # pixels
            return replace(examples, image_shape=_square(examples.x.shape[1]))
        return examples
    if path.name.endswith(".parquet"):
        return read_parquet([path])
    raise DataError(f"{path}: expected a CSV/TSV file, a parquet file, or class folders of images")


def _reads_text(path: Path, text_columns: Sequence[str], label_column: str | int | None,
                table: TableOptions | None) -> bool:
    """Whether the file at ``path`` is read as raw text: its text columns named, or found (see
    :func:`.formats.text.is_text_table`) in a table whose columns are not being chosen by ``table``
    (``--categorical``, ``--ignore-columns``, ``--features`` or a model's column pipeline make it a
    table of features)."""
    from .formats.tabular import is_table

    if not path.is_file():
        return False
    chosen = table is not None and bool(table.categorical or table.ignore or table.features is not None
                                        or table.columns is not None)
    if chosen and not text_columns and is_table(path):
        return False
    return is_text(path, text_columns, label_column)


def _read_text(path: Path, text_columns: Sequence[str] = (), label_column: str | int | None = None,
               ) -> tuple[dict[str, Examples], str]:
    part, what = read_text(path, text_columns, label_column)
    return {"train": part}, what


def vectorize_splits(loaded: LoadedData, vectorizer: Any, fit: bool) -> LoadedData:
    """``loaded`` with its raw text made sparse rows by ``vectorizer`` (a
    :class:`.vectorize.TextVectorizer`), fitted on the training split first when ``fit``; ``loaded``
    itself when it holds no text."""
    (train_x, train_y), *others = loaded.datasets
    if not holds_text(train_x):
        return loaded
    x = vectorizer.fit_transform(train_x) if fit else vectorizer.transform(train_x)
    rows = [(x, train_y), *((vectorizer.transform(ox), oy) for ox, oy in others)]
    return replace(loaded, datasets=tuple(rows))  # type: ignore[arg-type]


def holds_text(x: Any) -> bool:
    """Whether ``x`` is raw text (:class:`.documents.Documents`) rather than rows of features."""
    return isinstance(x, Documents)


def _read_svmlight(request: _Request, zero_based: bool | str) -> LoadedData:
    """An svmlight file and the svmlight files given for other splits, read together: one convention
    for the indices and one width (a later file may use features the training file never did)."""
    others = {split: p for split, p in request.given.items() if not is_svmlight(p)}
    if others:
        split, other = next(iter(others.items()))
        raise DataError(f"{other}: the {SPLIT_NAMES[split]} examples of an svmlight training file must be an "
                        "svmlight file too")
    files = [request.path, *request.given.values()]
    read, counted_from = read_svmlight_set(files, zero_based=zero_based)
    parts = {split: Examples(x, y, p) for split, p, (x, y) in zip(("train", *request.given), files, read, strict=True)}
    x = parts["train"].x
    what = f"svmlight file {request.path} ({x.n_features} features from index {counted_from}, {x.nnz} non-zeros)"
    return replace(request.assembled(parts, what, read_given=False), zero_based=counted_from == 0)


def _csr_npz(path: Path) -> Examples:
    x, y = read_csr_npz(path)
    if y is None:
        raise DataError(f"{path}: a SciPy CSR matrix without labels (write them beside the matrix as 'y')")
    return Examples(x, y, path)


def _assembled(
    path: Path, parts: dict[str, Examples], what: str, keep_bytes: Collection[str],
    names: tuple[str, ...] | None, cut: dict[str, Any], table: TableOptions | None = None,
) -> LoadedData:
    if names is not None and parts["train"].class_names is None and parts["train"].labels.dtype.kind in "iu":
        parts = {s: replace(p, class_names=names) for s, p in parts.items()}
    made = assemble(parts, **cut)
    arrays, columns = fit_columns(made.arrays, table)
    datasets = checked(path, arrays, keep_bytes)
    train = parts["train"]
    description = f"{what}; {made.note}" if made.note else what
    features = columns.feature_names if columns is not None else train.feature_names
    return LoadedData(datasets, description, path, made.class_names, train.image_shape, features, columns=columns)


def _three_splits(datasets: Datasets, description: str, path: Path, names: tuple[str, ...] | None) -> LoadedData:
    """A source that has its three splits, labels already class indices."""
    n_classes = max(int(np.max(y)) for _, y in datasets) + 1
    if names is None or len(names) < n_classes:
        names = tuple(str(k) for k in range(n_classes))
    x = datasets[0][0]
    return LoadedData(datasets, description, path, tuple(names), _pixel_shape(x))


def _replace_splits(
    loaded: LoadedData, given: dict[str, Path], keep_bytes: Collection[str], label_column: str | int | None,
) -> LoadedData:
    """``loaded`` with the splits in ``given`` read from those files, their labels encoded by name."""
    classes = Classes(loaded.class_names)
    splits = list(loaded.datasets)
    n_features = splits[0][0].shape[1]
    for split, path in given.items():
        part = read_single(path, label_column)
        if part.x.shape[1] != n_features:
            raise DataError(f"{path}: {part.x.shape[1]} features, but the training data have {n_features}")
        if (part.x.dtype == np.uint8) != loaded.images:
            kinds = {True: "image pixels", False: "feature values"}
            raise DataError(f"{path}: holds {kinds[part.x.dtype == np.uint8]}, but the training data hold "
                            f"{kinds[loaded.images]}")
        labels = part.labels
        if part.class_names is not None:  # the file's own names for its class numbers
            check_range(labels, len(part.class_names), path)
            labels = np.array(part.class_names, dtype=str)[labels]
        y = classes.encode(labels, path)
        splits[SPLITS.index(split)] = checked_split(f"{path}", part.x, y, split in keep_bytes)
    notes = "; ".join(f"{SPLIT_NAMES[s]} from {p}" for s, p in given.items())
    return replace(loaded, datasets=tuple(splits), description=f"{loaded.description}; {notes}")


def _torchvision_raw(folder: Path) -> Path | None:
    """torchvision's ``raw/`` folder of IDX files under ``folder`` (the dataset root, or ``MNIST/``)."""
    candidates = [folder / "raw", *(folder / name / "raw" for name in TORCHVISION_FOLDERS)]
    found = [c for c in candidates if c.is_dir() and find_idx(c, IDX_FILES["train_x"])]
    if len(found) > 1:
        raise DataError(f"{folder}: holds several datasets ({', '.join(str(f.parent.name) for f in found)}); "
                        "give the folder of one")
    return found[0] if found else None


def _known_folder_names(path: Path) -> tuple[str, ...] | None:
    """Fashion-MNIST's names for Debian's folder and for files or folders named after a known
    dataset (``FashionMNIST/raw`` is named by its parent)."""
    from .datasets import DATASETS

    resolved = path.resolve()
    for key, spec in DATASETS.items():
        if any(resolved == folder.resolve() for folder in spec.system_folders):
            return known_names(key)
    stem = path.name.split(".")[0]
    return known_names(stem) or (known_names(path.parent.name) if stem == "raw" else None)


def _pixel_shape(x: Any) -> tuple[int, int] | None:
    """(side, side) for square images stored as bytes, or as floats in [0, 1]; else None (sparse rows too)."""
    side = _square(x.shape[1])
    if side is None or isinstance(x, CSR):
        return None
    if isinstance(x, ScaledArray):
        return side if x.stored.dtype == np.uint8 and x.divisor >= 255 else None
    if x.dtype == np.uint8:
        return side
    return side if len(x) and float(np.min(x)) >= 0 and float(np.max(x)) <= 1 else None


def _square(n_features: int) -> tuple[int, int] | None:
    side = math.isqrt(n_features)
    return (side, side) if side * side == n_features and side > 1 else None
