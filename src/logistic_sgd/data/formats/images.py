"""Folders of image files by class: torchvision's ``ImageFolder`` layout.

``ROOT/train/<class>/*.png`` and ``ROOT/test/<class>/...`` (optionally ``ROOT/val/`` or
``ROOT/valid/``), or only ``ROOT/<class>/...``, whose validation and test splits are then cut
from it (:mod:`.splits`). Class names are the folder names, sorted as text (torchvision's order);
a class folder may hold subfolders. Images are read with Pillow
(``pip install 'logistic-sgd[images]'``), converted to grey (``L``: ``0.299 R + 0.587 G +
0.114 B``) and brought to one size: the most common size among the training images (ties: the
first in file order); images of another size are resized to it (Lanczos), and the description
says how many were. Files whose names start with ``.`` are skipped; any other file that is not a
readable image is a :class:`DataError` naming it.
"""

from __future__ import annotations

import io
import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ...errors import DataError, one_line
from ..splits import Examples
from .npzfile import MALFORMED

IMAGE_SUFFIXES = {".png", ".pgm", ".pnm", ".ppm", ".pbm", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp"}
SPLIT_FOLDERS = {"train": ("train", "training"), "valid": ("val", "valid", "validation"), "test": ("test", "testing")}


def is_image_folder(folder: Path) -> bool:
    """Whether ``folder`` looks like an ImageFolder tree: a ``train/`` folder of class folders, or
    class folders holding image files."""
    if _split_folders(folder):
        return True
    classes = _subfolders(folder)
    return bool(classes) and any(_is_image_name(f) for f in _files(classes[0]))


def read_image_folder(root: Path) -> tuple[dict[str, Examples], str]:
    """The splits found under ``root`` (at least ``"train"``) and a phrase describing them."""
    pillow = pillow_image(root)
    folders = _split_folders(root) or {"train": root}
    found = {split: _list_images(folder) for split, folder in folders.items()}
    grey = {split: [read_grey(pillow, path) for path, _ in files] for split, files in found.items()}
    sizes = Counter(image.shape for image in grey["train"])
    shape = sizes.most_common(1)[0][0]
    resized = 0
    parts = {}
    for split, images in grey.items():
        same = [image if image.shape == shape else _resize(pillow, image, shape) for image in images]
        resized += sum(image.shape != shape for image in images)
        labels = np.array([label for _, label in found[split]], dtype=str)
        parts[split] = Examples(np.stack(same).reshape(len(same), -1), labels, folders[split], image_shape=shape)
    counts = ", ".join(f"{len(images)} {split}" for split, images in grey.items())
    how = f"{resized} resized to it" if resized else "all of that size"
    n_classes = len(set(parts["train"].labels.tolist()))
    return parts, (f"ImageFolder {root}: {n_classes} classes, {counts} images, grey {shape[0]}x{shape[1]} "
                   f"(the most common size; {how})")


def read_grey(pillow: Any, source: Path | bytes, name: str | Path | None = None) -> NDArray[np.uint8]:
    """An image file (or its bytes) as a (height, width) array of grey bytes; DataError naming it."""
    name = name or source
    try:
        with pillow.open(source if isinstance(source, Path) else io.BytesIO(source)) as image:
            return np.asarray(image.convert("L"), dtype=np.uint8)
    except (pillow.DecompressionBombError, SyntaxError, *MALFORMED) as exc:  # UnidentifiedImageError is an OSError
        raise DataError(f"{name}: not a readable image ({one_line(exc)})") from None


def pillow_image(source: Path) -> Any:
    """Pillow's ``Image`` module, or a DataError naming ``source`` and the extra to install."""
    try:
        from PIL import Image
    except ImportError:
        raise DataError(f"{source}: reading images needs Pillow: pip install 'logistic-sgd[images]'") from None
    return Image


def _list_images(folder: Path) -> list[tuple[Path, str]]:
    classes = _subfolders(folder)
    if not classes:
        raise DataError(f"{folder}: holds no class folders (expected {folder}/<class>/<image files>)")
    found = []
    for class_folder in classes:
        files = sorted(_files(class_folder))
        if not files:
            raise DataError(f"{class_folder}: class folder holds no images")
        for path in files:
            if not _is_image_name(path):
                raise DataError(f"{path}: not an image file (expected {', '.join(sorted(IMAGE_SUFFIXES))})")
            found.append((path, class_folder.name))
    return found


def _split_folders(root: Path) -> dict[str, Path]:
    found = {}
    for split, names in SPLIT_FOLDERS.items():
        for name in names:
            if (root / name).is_dir() and _subfolders(root / name):
                found[split] = root / name
                break
    return found if "train" in found else {}


def _subfolders(folder: Path) -> list[Path]:
    try:
        return sorted(Path(e.path) for e in os.scandir(folder) if e.is_dir() and not e.name.startswith("."))
    except OSError as exc:
        raise DataError(f"{folder}: cannot read the folder ({exc.strerror})") from None


def _files(folder: Path) -> Iterator[Path]:
    for parent, dirs, files in os.walk(folder, followlinks=True):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if not name.startswith("."):
                yield Path(parent) / name


def _is_image_name(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES


def _resize(pillow: Any, image: NDArray[np.uint8], shape: tuple[int, ...]) -> NDArray[np.uint8]:
    resized = pillow.fromarray(image).resize((shape[1], shape[0]), pillow.Resampling.LANCZOS)
    return np.asarray(resized, dtype=np.uint8)
