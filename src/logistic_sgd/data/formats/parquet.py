"""Hugging Face ``datasets`` parquet files of images, read with pyarrow (``pip install 'logistic-sgd[parquet]'``).

The layout of ``ylecun/mnist`` and ``zalando-datasets/fashion_mnist``: files named
``train-*.parquet`` and ``test-*.parquet`` (``validation-*.parquet`` too, if present), in a folder,
its ``data/`` subfolder, or one subfolder (``mnist/``, ``fashion_mnist/``). Each file has the
columns ``image`` (a struct of the encoded image ``bytes`` and its ``path``) and ``label`` (the
class number). The class names are the ``ClassLabel`` names that ``datasets`` writes into the
schema's ``huggingface`` metadata, when there. Images are decoded with Pillow and converted to grey;
all must have one size. A single ``.parquet`` file is read as the training split.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import DataError, one_line
from ..splits import Examples
from .images import pillow_image, read_grey

_MALFORMED = (ValueError, TypeError, KeyError, IndexError, OverflowError, OSError, MemoryError, NotImplementedError,
              RuntimeError)
SPLIT_PREFIXES = {"train": ("train",), "valid": ("validation", "valid", "val"), "test": ("test",)}
_FILE = re.compile(r"(?P<split>[a-z]+)(-.*)?\.parquet")


def find_parquet_splits(folder: Path) -> dict[str, list[Path]]:
    """The parquet files of each split under ``folder`` (empty when there are none)."""
    candidates = [folder, folder / "data", *sorted(p for p in folder.iterdir() if p.is_dir() and p.name != "data")]
    holding = [c for c in candidates if c.is_dir() and _by_split(c).get("train")]
    if len(holding) > 1 and holding[0] != folder:
        raise DataError(f"{folder}: several folders hold parquet files ({', '.join(p.name for p in holding)}); "
                        "give one of them")
    return _by_split(holding[0]) if holding else {}


def read_parquet(files: list[Path]) -> Examples:
    """The images and labels of one split, from its parquet files (read in name order)."""
    pillow = pillow_image(files[0])
    images, labels, names = [], [], None
    for path in sorted(files):
        table = _read(path)
        try:
            file_images, file_labels, file_names = _images_and_labels(path, table, pillow)
        except _MALFORMED as exc:  # a damaged file can fail anywhere its columns are decoded
            raise DataError(f"{path}: not a readable parquet file ({one_line(exc) or type(exc).__name__})") from None
        images += file_images
        labels.append(file_labels)
        names = names or file_names
    if not images:
        raise DataError(f"{files[0]}: holds no rows")
    shapes = {image.shape for image in images}
    if len(shapes) > 1:
        raise DataError(f"{files[0]}: images of several sizes ({', '.join(f'{w}x{h}' for h, w in sorted(shapes))})")
    return Examples(np.stack(images).reshape(len(images), -1), np.concatenate(labels), sorted(files)[0],
                    class_names=names, image_shape=images[0].shape)


def _images_and_labels(path: Path, table: Any, pillow: Any) -> tuple[list[np.ndarray], np.ndarray, Any]:
    for column in ("image", "label"):
        if column not in table.column_names:
            raise DataError(f"{path}: no {column!r} column (expected Hugging Face's image and label columns; "
                            f"found {', '.join(table.column_names[:8]) or 'none'})")
    image = table.column("image")
    if not (_is_struct(image.type) and image.type.get_field_index("bytes") >= 0):
        raise DataError(f"{path}: the 'image' column is {image.type}, expected a struct with the image bytes")
    label = table.column("label")
    if label.null_count or not _is_integer(label.type):
        raise DataError(f"{path}: the 'label' column must hold a class number on every row (found {label.type})")
    images = []
    for row, data in enumerate(image.combine_chunks().field("bytes").to_pylist()):
        if not data:
            raise DataError(f"{path}: row {row} has no image bytes")
        images.append(read_grey(pillow, data, f"{path} (row {row})"))
    return images, label.to_numpy().astype(np.int64), _class_names(table.schema)


def _read(path: Path) -> Any:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise DataError(f"{path}: reading parquet needs pyarrow: pip install 'logistic-sgd[parquet]'") from None
    try:
        return pq.read_table(path)
    except (pa.ArrowException, *_MALFORMED) as exc:
        raise DataError(f"{path}: not a readable parquet file ({one_line(exc)})") from None


def _class_names(schema: Any) -> tuple[str, ...] | None:
    """The ``ClassLabel`` names of the ``label`` feature in the schema's ``huggingface`` metadata."""
    try:
        meta = json.loads((schema.metadata or {}).get(b"huggingface", b"{}"))
        features = meta.get("info", meta).get("features", {})
        names = features.get("label", {}).get("names")
    except (ValueError, AttributeError, TypeError):
        return None
    if isinstance(names, list) and names and all(isinstance(n, str) for n in names):
        return tuple(names)
    return None


def _by_split(folder: Path) -> dict[str, list[Path]]:
    found: dict[str, list[Path]] = {}
    for path in sorted(folder.glob("*.parquet")):
        match = _FILE.fullmatch(path.name)
        for split, prefixes in SPLIT_PREFIXES.items():
            if match and match["split"] in prefixes:
                found.setdefault(split, []).append(path)
    return found


def _is_struct(arrow_type: Any) -> bool:
    import pyarrow as pa

    return pa.types.is_struct(arrow_type)


def _is_integer(arrow_type: Any) -> bool:
    import pyarrow as pa

    return pa.types.is_integer(arrow_type)
