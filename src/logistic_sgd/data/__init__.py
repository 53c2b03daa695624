"""Datasets in the seed's shape: ((train_x, train_y), (valid_x, valid_y), (test_x, test_y)).

:func:`open_dataset` recognises each form from the file or folder, and checks it before use:

- the seed's ``mnist.pkl.gz`` (a Python 2 pickle, read by an unpickler that only rebuilds arrays);
- a folder of IDX files (``train-images-idx3-ubyte[.gz]`` and friends): the first 5/6 of the
  training images train (50,000 of MNIST's 60,000), the last 1/6 validate, ``t10k`` tests;
  torchvision's ``MNIST/raw/`` and ``FashionMNIST/raw/`` are such folders, found from the dataset
  root, from ``MNIST/``, or given directly;
- an ``.npz`` with ``train_x, train_y, valid_x, valid_y, test_x, test_y`` (no pickles allowed);
- Keras' ``mnist.npz`` (``x_train, y_train, x_test, y_test``, images n x 28 x 28): split as the
  IDX folder of the same images, so both give the same arrays;
- the memory-mappable folder written by ``logistic-sgd convert`` (:mod:`.memmap`);
- a CSV or TSV file, plain or compressed, one example a row (:mod:`.tabular`);
- an ImageFolder tree, ``train/<class>/*.png`` and so on (:mod:`.images`);
- Hugging Face ``datasets`` parquet files of images, ``train-*.parquet`` and ``test-*.parquet``
  (:mod:`.parquet`).

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

Pixels stored as bytes become float32 ``x / 255`` (rounded once, as float32 division), which is
bit-for-bit what the seed's pickle holds; the splits named in ``keep_bytes`` stay bytes, in a
:class:`ScaledArray` that hands out those floats (a quarter of the memory). Other features stay
as read (float64 from a CSV); :mod:`.scaling` standardises them. Labels become int32 class indices.
"""

from __future__ import annotations

import hashlib
import math
import os
import zipfile
from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..errors import DataError
from .csr import CSR
from .csr_layout import is_sparse_layout, read_sparse_layout
from .idx import read_idx
from .labels import Classes, check_range, known_names
from .memmap import MANIFEST, ScaledArray, read_layout
from .npzfile import MALFORMED, read_npz
from .pickle_safe import load_pickle
from .sparse_npz import is_csr_npz, read_csr_npz
from .splits import DEFAULT_FRACTIONS, SPLIT_NAMES, Examples, assemble
from .svmlight import is_svmlight, read_svmlight_set

Split = tuple[NDArray[np.floating], NDArray[np.int32]]
Datasets = tuple[Split, Split, Split]
SPLITS = ("train", "valid", "test")
IDX_FILES = {
    "train_x": "train-images-idx3-ubyte",
    "train_y": "train-labels-idx1-ubyte",
    "test_x": "t10k-images-idx3-ubyte",
    "test_y": "t10k-labels-idx1-ubyte",
}
KERAS_KEYS = ("x_train", "y_train", "x_test", "y_test")
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
    """

    datasets: Datasets
    description: str
    path: Path
    class_names: tuple[str, ...] = ()
    image_shape: tuple[int, int] | None = None
    feature_names: tuple[str, ...] | None = None
    zero_based: bool | None = None

    @property
    def images(self) -> bool:
        """Whether ``x`` are image pixels (scaled ``x / 255`` as the seed's) rather than other features."""
        return self.image_shape is not None


def load_data(dataset: str | os.PathLike[str] = "mnist") -> Datasets:
    """Load a dataset as the seed's three (x, y) splits.

    Parameters
    ----------
    dataset : str or path
        A file or folder in any supported form (see module docstring), or a dataset name:
        ``"mnist"`` (also the seed's ``"mnist.pkl.gz"``) or ``"fashion-mnist"``, looked up in
        the cache folder (``$LOGISTIC_SGD_DATA``) and downloaded when absent.

    Returns
    -------
    ((train_x, train_y), (valid_x, valid_y), (test_x, test_y))
        ``x`` float32 (float64 from a CSV, or a ``.npz`` that stores float64) of shape
        (n, n_features); ``y`` int32 of shape (n,).
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
    """
    from .datasets import DATASETS, resolve

    name = os.fspath(dataset)
    given = {s: Path(p) for s, p in (("valid", valid), ("test", test)) if p is not None}
    options: dict[str, Any] = {"label_column": label_column, "split": split, "split_seed": split_seed, "given": given,
                               "zero_based": zero_based}
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
) -> LoadedData:
    """Read a dataset file or folder, choosing the reader from what is there, with the splits in
    ``given`` (``"valid"``, ``"test"``: paths) read from those files instead. ``names`` are the
    class names of the dataset, when known by the name it was asked for."""
    from .images import is_image_folder, read_image_folder
    from .parquet import find_parquet_splits, read_parquet
    from .tabular import is_table

    if not path.exists():
        raise DataError(f"{path}: no such file or folder")
    names = names or _known_folder_names(path)
    given = given or {}
    cut = {"fractions": split, "seed": split_seed}

    def seed_layout(datasets: Datasets, description: str, names: tuple[str, ...] | None) -> LoadedData:
        loaded = _seed_layout(datasets, description, path, names)
        return _replace_splits(loaded, given, keep_bytes, label_column) if given else loaded

    def assembled(parts: dict[str, Examples], description: str) -> LoadedData:
        parts |= {split: read_single(p, label_column) for split, p in given.items()}
        description = "; ".join([description, *(f"{SPLIT_NAMES[s]} from {p}" for s, p in given.items())])
        return _assembled(path, parts, description, keep_bytes, names, cut)

    if is_svmlight(path):
        return _svmlight(path, given, zero_based, assembled)
    if path.is_dir():
        if (path / MANIFEST).is_file() and is_sparse_layout(path):
            datasets = read_sparse_layout(path)
            return seed_layout(datasets, f"converted sparse dataset in {path} (memory-mapped)", names)
        if (path / MANIFEST).is_file():
            datasets = read_layout(path)
            return seed_layout(datasets, f"converted dataset in {path} (memory-mapped)", names)
        if any(_find(path, stem) for stem in IDX_FILES.values()):
            return seed_layout(read_idx_folder(path, keep_bytes), f"IDX files in {path}", names)
        raw = _torchvision_raw(path)
        if raw is not None:
            return read_path(raw, keep_bytes, label_column=label_column, given=given,
                             names=names or _known_folder_names(raw))
        for name in ("mnist.pkl.gz", "mnist.pkl"):
            if (path / name).is_file():
                return read_path(path / name, label_column=label_column, given=given, names=names)
        parquet = find_parquet_splits(path)
        if parquet:
            parts = {split_name: read_parquet(files) for split_name, files in parquet.items()}
            return assembled(parts, f"Hugging Face parquet files in {path}")
        if is_image_folder(path):
            return assembled(*read_image_folder(path))
        raise DataError(
            f"{path}: folder holds no dataset (expected {IDX_FILES['train_x']}[.gz] and the other IDX files, "
            "mnist.pkl.gz, train-*.parquet files, or class folders of images)"
        )
    if path.name.endswith(".npz") and is_csr_npz(path):
        return assembled({"train": _csr_npz(path)}, f"SciPy CSR matrix {path}")
    if path.name.endswith(".npz"):
        datasets, what = _read_npz(path, keep_bytes)
        return seed_layout(datasets, f"{what} in {path}", names or known_names(path.stem))
    if path.name.endswith((".pkl", ".pkl.gz", ".pickle")):
        return seed_layout(read_seed_pickle(path), f"pickle {path}", names)
    if is_table(path) or path.name.endswith(".parquet"):
        part = read_single(path, label_column)
        what = f"{'CSV' if is_table(path) else 'parquet'} file {path}"
        if part.feature_names is not None:
            what += f" ({part.x.shape[1]} features)"
        return assembled({"train": part}, what)
    raise DataError(f"{path}: unknown dataset format (expected .pkl.gz, .npz, .csv, .tsv, .parquet, .svm, or a "
                    "folder of IDX files, parquet files or images)")


def read_single(path: Path, label_column: str | int | None = None) -> Examples:
    """The labelled examples of one file or folder that holds a single split: a CSV/TSV file, a
    parquet file, or a folder of class folders of images."""
    from .images import is_image_folder, read_image_folder
    from .parquet import read_parquet
    from .tabular import is_table, read_table

    if not path.exists():
        raise DataError(f"{path}: no such file or folder")
    if path.is_dir():
        if is_image_folder(path):
            parts, _ = read_image_folder(path)
            if set(parts) == {"train"}:
                return parts["train"]
        raise DataError(f"{path}: expected one split here: a CSV/TSV file, a parquet file, or class folders of images")
    if is_table(path):
        table = read_table(path, label_column)
        shape = _square(table.x.shape[1]) if table.pixels else None
        return Examples(table.x, table.labels, path, image_shape=shape, feature_names=table.feature_names)
    if path.name.endswith(".parquet"):
        return read_parquet([path])
    raise DataError(f"{path}: expected a CSV/TSV file, a parquet file, or class folders of images")


def _svmlight(path: Path, given: dict[str, Path], zero_based: bool | str, assembled: Any) -> LoadedData:
    """An svmlight file and the svmlight files given for other splits, read together: one convention
    for the indices and one width (a later file may use features the training file never did)."""
    others = {split: p for split, p in given.items() if not is_svmlight(p)}
    if others:
        split, other = next(iter(others.items()))
        raise DataError(f"{other}: the {SPLIT_NAMES[split]} examples of an svmlight training file must be an "
                        "svmlight file too")
    flag = {"yes": True, "no": False}.get(zero_based, zero_based) if isinstance(zero_based, str) else zero_based
    files = [path, *given.values()]
    read, counted_from = read_svmlight_set(files, zero_based=flag)
    parts = {split: Examples(x, y, p) for split, p, (x, y) in zip(("train", *given), files, read, strict=True)}
    notes = [f"{SPLIT_NAMES[split]} from {p}" for split, p in given.items()]
    given.clear()  # read here, with the training file
    x = parts["train"].x
    what = "; ".join([f"svmlight file {path} ({x.n_features} features from index {counted_from}, {x.nnz} non-zeros)",
                      *notes])
    return replace(assembled(parts, what), zero_based=counted_from == 0)


def _csr_npz(path: Path) -> Examples:
    x, y = read_csr_npz(path)
    if y is None:
        raise DataError(f"{path}: a SciPy CSR matrix without labels (write them beside the matrix as 'y')")
    return Examples(x, y, path)


def _assembled(
    path: Path, parts: dict[str, Examples], what: str, keep_bytes: Collection[str],
    names: tuple[str, ...] | None, cut: dict[str, Any],
) -> LoadedData:
    if names is not None and parts["train"].class_names is None and parts["train"].labels.dtype.kind in "iu":
        parts = {s: replace(p, class_names=names) for s, p in parts.items()}
    made = assemble(parts, **cut)
    datasets = _checked(path, made.arrays, keep_bytes)
    train = parts["train"]
    description = f"{what}; {made.note}" if made.note else what
    return LoadedData(datasets, description, path, made.class_names, train.image_shape, train.feature_names)


def _seed_layout(datasets: Datasets, description: str, path: Path, names: tuple[str, ...] | None) -> LoadedData:
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
        splits[SPLITS.index(split)] = _checked_split(f"{path}", part.x, y, split in keep_bytes)
    notes = "; ".join(f"{SPLIT_NAMES[s]} from {p}" for s, p in given.items())
    return replace(loaded, datasets=tuple(splits), description=f"{loaded.description}; {notes}")


def _torchvision_raw(folder: Path) -> Path | None:
    """torchvision's ``raw/`` folder of IDX files under ``folder`` (the dataset root, or ``MNIST/``)."""
    candidates = [folder / "raw", *(folder / name / "raw" for name in TORCHVISION_FOLDERS)]
    found = [c for c in candidates if c.is_dir() and _find(c, IDX_FILES["train_x"])]
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
        return side if x.divisor == 255 else None
    if x.dtype == np.uint8:
        return side
    return side if len(x) and float(np.min(x)) >= 0 and float(np.max(x)) <= 1 else None


def _square(n_features: int) -> tuple[int, int] | None:
    side = math.isqrt(n_features)
    return (side, side) if side * side == n_features and side > 1 else None


def read_seed_pickle(path: Path) -> Datasets:
    """The seed's pickle: a tuple of three (x, y) pairs, checked to hold nothing but arrays."""
    obj = load_pickle(path)
    if not (isinstance(obj, tuple | list) and len(obj) == 3 and all(
        isinstance(s, tuple | list) and len(s) == 2 for s in obj
    )):
        raise DataError(f"{path}: pickle does not hold ((train_x, train_y), (valid_x, valid_y), (test_x, test_y))")
    return _checked(path, {f"{split}_{k}": obj[i][j] for i, split in enumerate(SPLITS) for j, k in enumerate("xy")})


def read_idx_folder(folder: Path, keep_bytes: Collection[str] = ()) -> Datasets:
    """Four IDX files; the training file is split 5/6 train, 1/6 validation (50,000/10,000 for MNIST)."""
    arrays: dict[str, Any] = {}
    for key, stem in IDX_FILES.items():
        found = _find(folder, stem)
        if found is None:
            raise DataError(f"{folder}: missing {stem} (or {stem}.gz)")
        arrays[key] = read_idx(found)
        arrays[key + "_file"] = found
    for split in ("train", "test"):
        x, y = arrays[f"{split}_x"], arrays[f"{split}_y"]
        if y.ndim != 1:
            raise DataError(f"{arrays[split + '_y_file']}: labels must be one-dimensional, got shape {y.shape}")
        if len(x) != len(y):
            raise DataError(
                f"{arrays[split + '_x_file']}: {len(x)} images but {arrays[split + '_y_file'].name} "
                f"has {len(y)} labels"
            )
    return _five_sixths(folder, arrays, keep_bytes)


def read_dataset_npz(path: Path, keep_bytes: Collection[str] = ()) -> Datasets:
    """An ``.npz`` with the six arrays ``{train,valid,test}_{x,y}``, or Keras' four ``x_train,
    y_train, x_test, y_test`` (split as an IDX folder), loaded without pickles."""
    return _read_npz(path, keep_bytes)[0]


def _read_npz(path: Path, keep_bytes: Collection[str] = ()) -> tuple[Datasets, str]:
    if {f"{k}.npy" for k in KERAS_KEYS} <= _members(path):
        arrays = read_npz(path, KERAS_KEYS, DataError, "Keras dataset .npz")
        for split in ("train", "test"):
            x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
            if x.ndim < 2 or y.shape != (len(x),):
                raise DataError(f"{path}: x_{split} of shape {x.shape} but y_{split} of shape {y.shape} "
                                f"(expected ({len(x)},))")
        renamed = {f"{split}_{k}": arrays[f"{k}_{split}"] for split in ("train", "test") for k in "xy"}
        return _five_sixths(path, renamed, keep_bytes), "Keras arrays"
    keys = tuple(f"{s}_{k}" for s in SPLITS for k in "xy")
    return _checked(path, read_npz(path, keys, DataError, "dataset .npz"), keep_bytes), "arrays"


def _five_sixths(source: Path, arrays: dict[str, Any], keep_bytes: Collection[str]) -> Datasets:
    """The seed's split of MNIST's training images: the first 5/6 train, the last 1/6 validate."""
    tx, ty = arrays["train_x"], arrays["train_y"]
    n_train = len(tx) - len(tx) // 6
    return _checked(source, {
        "train_x": tx[:n_train], "train_y": ty[:n_train],
        "valid_x": tx[n_train:], "valid_y": ty[n_train:],
        "test_x": arrays["test_x"], "test_y": arrays["test_y"],
    }, keep_bytes)


def _members(path: Path) -> set[str]:
    """The member names of a zip archive (empty if it is not one: the reader then says why)."""
    try:
        with zipfile.ZipFile(path) as archive:
            return set(archive.namelist())
    except MALFORMED:
        return set()


def n_classes(datasets: Datasets) -> int:
    """The number of classes the labels of ``datasets`` need: the largest label + 1, at least 2."""
    return max(2, max(int(np.max(y)) for _, y in datasets) + 1)


def fingerprint(datasets: Datasets) -> str:
    """SHA-256 over every split's shapes, dtypes and bytes: what a checkpoint must be resumed on.
    Bytes held in memory hash as the floats they stand for, so both forms of a dataset agree."""
    digest = hashlib.sha256()
    for x, y in datasets:
        if isinstance(x, ScaledArray) and x.checksum:  # the manifest's checksum stands for a memmapped file
            digest.update(f"{x.checksum}{x.shape}".encode())
            x = np.zeros(0)
        if isinstance(x, CSR):  # its shape and three arrays stand for it
            digest.update(f"csr{x.dtype.str}{x.shape}".encode())
            for a in (x.data, x.indices, x.indptr):
                digest.update(memoryview(np.ascontiguousarray(a)).cast("B"))
            x = None
        for a in (y,) if x is None else (x, y):
            digest.update(f"{a.dtype.str}{a.shape}".encode())
            blocks = (a[i : i + 8192] for i in range(0, len(a), 8192)) if isinstance(a, ScaledArray) else (a,)
            for block in blocks:
                digest.update(memoryview(np.ascontiguousarray(block)).cast("B"))
    return digest.hexdigest()


def as_features(x: NDArray[Any]) -> NDArray[np.floating]:
    """Images or feature rows as float rows: uint8 becomes float32 ``x / 255``; (n, h, w) becomes (n, h*w)."""
    x = np.asarray(x)
    if x.ndim > 2:
        x = x.reshape(len(x), -1)
    if x.dtype == np.uint8:
        return np.divide(x, np.float32(255), dtype=np.float32)
    if x.dtype in (np.float32, np.float64):
        return np.ascontiguousarray(x)
    return x.astype(np.float32)


def _checked(source: Path, arrays: dict[str, Any], keep_bytes: Collection[str] = ()) -> Datasets:
    out = [_checked_split(f"{source}: {split} split", arrays[f"{split}_x"], arrays[f"{split}_y"], split in keep_bytes)
           for split in SPLITS]
    n_features = out[0][0].shape[1]
    for split, (x, _) in zip(SPLITS, out, strict=True):
        if x.shape[1] != n_features:
            raise DataError(f"{source}: {split} split: {x.shape[1]} features, but the train split has {n_features}")
    return out[0], out[1], out[2]


def _checked_split(where: str, x: Any, y: Any, keep_bytes: bool = False) -> Split:
    """One split checked: numeric x (n, features...) made float rows (or kept bytes; sparse rows stay
    sparse), y whole labels."""
    if isinstance(x, CSR) and isinstance(y, np.ndarray):
        if y.ndim != 1 or len(y) != len(x) or len(x) == 0:
            raise DataError(f"{where}: {len(x)} rows but labels of shape {y.shape}")
        return x, _labels(where, y)
    if not isinstance(x, np.ndarray) or not isinstance(y, np.ndarray):
        raise DataError(f"{where} is not made of arrays")
    if x.dtype.kind not in "uif" or x.ndim < 2:
        raise DataError(f"{where}: x must be a numeric array of shape (n, features), got {x.dtype} {x.shape}")
    if y.ndim != 1 or len(y) != len(x):
        raise DataError(f"{where}: y must have shape ({len(x)},), got {y.shape}")
    if len(x) == 0:
        raise DataError(f"{where} is empty")
    # kept bytes are a copy: a view would hold a larger buffer
    x = ScaledArray(np.array(x.reshape(len(x), -1)), 255) if keep_bytes and x.dtype == np.uint8 else as_features(x)
    if not isinstance(x, ScaledArray) and not np.isfinite(x).all():
        raise DataError(f"{where}: x contains NaN or Inf")
    return x, _labels(where, y)


def _labels(where: str, y: NDArray[Any]) -> NDArray[np.int32]:
    if y.dtype.kind == "f":
        if not np.isfinite(y).all() or (y != np.round(y)).any():
            raise DataError(f"{where}: labels must be whole numbers")
    elif y.dtype.kind not in "ui":
        raise DataError(f"{where}: labels must be integers, got {y.dtype}")
    if y.min() < 0:
        raise DataError(f"{where}: labels must be >= 0, found {y.min()}")
    if y.max() > 100_000:
        raise DataError(f"{where}: label {y.max()} is implausibly large (expected class indices 0..K-1)")
    return y.astype(np.int32)


def _find(folder: Path, stem: str) -> Path | None:
    for candidate in (folder / stem, folder / f"{stem}.gz", folder / stem.replace("-idx", ".idx")):
        if candidate.is_file():
            return candidate
    return None
