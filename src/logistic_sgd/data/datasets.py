"""Named datasets: where to find them on disk, and how to download them when absent.

The cache folder is ``$LOGISTIC_SGD_DATA`` (default ``~/.cache/logistic-sgd``); each dataset
lives in a subfolder named after it. ``mnist`` prefers the original tutorial's own ``mnist.pkl.gz`` and falls
back to the four IDX files; ``fashion-mnist`` first looks at Debian's ``dataset-fashion-mnist``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ..errors import DataError, DownloadError
from .download import FASHION_MNIST_FILES, MNIST_FILES, RemoteFile, download_files

IDX_NAMES = (
    "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz",
)


@dataclass(frozen=True)
class NamedDataset:
    """A dataset known by name: its title, folders to look in first, and its downloads."""

    title: str
    system_folders: tuple[Path, ...]
    files: Mapping[str, RemoteFile]
    prefer_pickle: bool = False


DATASETS: dict[str, NamedDataset] = {
    "mnist": NamedDataset("MNIST", (), MNIST_FILES, prefer_pickle=True),
    "fashion-mnist": NamedDataset(
        "Fashion-MNIST", (Path("/usr/share/datasets/fashion-mnist"),), FASHION_MNIST_FILES
    ),
}


def cache_dir() -> Path:
    """The data cache, where named datasets are downloaded.

    Returns
    -------
    Path
        ``$LOGISTIC_SGD_DATA``, else ``~/.cache/logistic-sgd``.
    """
    env = os.environ.get("LOGISTIC_SGD_DATA")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "logistic-sgd"


def resolve(name: str, *, download: bool = True) -> tuple[Path, str]:
    """Return ``(path, title)`` of the named dataset, downloading it into the cache if needed.

    Raises
    ------
    DataError
        Unknown name, or nothing found and the download failed; the message says where it
        looked and how to supply the data.
    """
    if name not in DATASETS:
        raise DataError(f"unknown dataset {name!r} (known: {', '.join(sorted(DATASETS))})")
    spec = DATASETS[name]
    cache = cache_dir() / name
    for folder in (*spec.system_folders, cache):
        if spec.prefer_pickle and (folder / "mnist.pkl.gz").is_file():
            return folder / "mnist.pkl.gz", spec.title
        if all((folder / f).is_file() for f in IDX_NAMES):
            return folder, spec.title
    looked = ", ".join(str(f) for f in (*spec.system_folders, cache))
    if not download:
        raise DataError(f"{spec.title} not found (looked in {looked})")
    print(f"... {spec.title} not found in {looked}; downloading into {cache}", file=sys.stderr, flush=True)
    errors = []
    attempts = [["mnist.pkl.gz"]] if spec.prefer_pickle else []
    attempts.append(list(IDX_NAMES))
    for names in attempts:
        try:
            download_files([spec.files[n] for n in names], cache)
        except DownloadError as exc:
            errors.append(str(exc))
            continue
        return (cache / names[0] if len(names) == 1 else cache), spec.title
    hint = " or install Debian's dataset-fashion-mnist" if name == "fashion-mnist" else ""
    raise DataError(
        f"{spec.title} is not on this machine (looked in {looked}) and could not be downloaded "
        f"({errors[-1]}); put the files in {cache}{hint}, set LOGISTIC_SGD_DATA, or pass --data PATH"
    )
