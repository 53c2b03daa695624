"""Download dataset files from a list of mirrors, verifying each by its MD5 checksum.

A transfer is done by a pooch downloader (:class:`pooch.HTTPDownloader`, i.e. requests, for
``http`` and ``https``; a plain copy for ``file``) writing into a temporary file beside the
destination (:func:`~logistic_sgd.util.atomic.atomic_write`), hashed as it is written and renamed into
place only once its checksum matches, so an interrupted or corrupt transfer never leaves a partial
file behind. A mirror that fails (refused connection, HTTP error, timeout, truncated transfer, wrong
checksum) is reported as one line on stderr and the next mirror is tried; when every mirror fails,
:class:`~logistic_sgd.errors.DownloadError` is raised. Nothing is ever printed to stdout.

Progress goes to stderr: a tqdm bar when stderr is a terminal, otherwise one line when a transfer
starts and one when it ends.

Mirrors
-------
A mirror of a :class:`RemoteFile` is either a *folder URL*, ending in ``/``, to which
the file's name is appended, or the file's *full URL* (any mirror not ending in ``/``).

Environment
-----------
LOGISTIC_SGD_MIRRORS
    Comma-separated base (folder) URLs tried, in order, before a file's built-in
    mirrors by :func:`download_files`; the file name is appended to each (a missing
    trailing ``/`` is added). Use it to point at a local cache or proxy, e.g.
    ``LOGISTIC_SGD_MIRRORS=http://cache.example:8080/mnist/``, or at a folder on disk,
    e.g. ``file:///usr/share/datasets/fashion-mnist/``. Empty entries are ignored.
"""

from __future__ import annotations

import functools
import hashlib
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, BinaryIO
from urllib.parse import urlsplit
from urllib.request import url2pathname

from logistic_sgd.errors import DownloadError, one_line
from logistic_sgd.util.atomic import atomic_write

if TYPE_CHECKING:
    from tqdm import tqdm

__all__ = [
    "CHUNK_SIZE",
    "FASHION_MNIST_FILES",
    "MIRRORS_ENV",
    "MNIST_FILES",
    "RemoteFile",
    "download_files",
    "env_mirrors",
    "fetch",
]

CHUNK_SIZE = 64 * 1024
"""Bytes read from a mirror per step."""

MIRRORS_ENV = "LOGISTIC_SGD_MIRRORS"
"""Environment variable holding extra base URLs, tried before the built-in mirrors."""


@dataclass(frozen=True)
class RemoteFile:
    """A file that can be downloaded from any of several mirrors.

    Parameters
    ----------
    name : str
        File name, used for the local copy and appended to folder mirrors.
    md5 : str
        Expected MD5 checksum (32 hex digits) of the file as the mirrors serve it.
    mirrors : tuple of str
        Mirror URLs, tried in order. One ending in ``/`` is a folder and gets
        ``name`` appended; any other is the file's full URL.
    alt_md5s : tuple of str, optional
        Further checksums accepted as equally good, for known repackaged copies
        with identical content (e.g. Debian's re-gzipped Fashion-MNIST files).
    """

    name: str
    md5: str
    mirrors: tuple[str, ...]
    alt_md5s: tuple[str, ...] = ()

    def urls(self, extra_bases: Sequence[str] = ()) -> list[str]:
        """Return the URLs to try for this file, ``extra_bases`` first.

        Parameters
        ----------
        extra_bases : sequence of str, optional
            Folder URLs tried before the built-in mirrors; a missing trailing
            ``/`` is added, then the file name is appended.

        Returns
        -------
        list of str
            Full URLs, in the order to try them, without duplicates.
        """
        folders = [base if base.endswith("/") else base + "/" for base in extra_bases]
        urls = [mirror + self.name if mirror.endswith("/") else mirror for mirror in (*folders, *self.mirrors)]
        return list(dict.fromkeys(urls))


def env_mirrors(environ: Mapping[str, str] | None = None) -> list[str]:
    """Return the base URLs listed in the ``LOGISTIC_SGD_MIRRORS`` environment variable.

    Parameters
    ----------
    environ : mapping of str to str, optional
        Environment to read; defaults to :data:`os.environ`.

    Returns
    -------
    list of str
        The comma-separated entries, stripped, empty ones dropped; ``[]`` if unset.
    """
    env = os.environ if environ is None else environ
    return [entry.strip() for entry in env.get(MIRRORS_ENV, "").split(",") if entry.strip()]


def fetch(
    urls: Sequence[str],
    dest: Path,
    md5: str,
    *,
    progress: bool = True,
    timeout: float = 30.0,
    alt_md5s: Sequence[str] = (),
) -> Path:
    """Download a file from the first mirror that delivers it with the right checksum.

    If ``dest`` already exists with an accepted checksum it is returned untouched.
    Otherwise each URL is tried in turn: the body is streamed into a temporary file
    beside ``dest``, hashed on the way, and renamed to ``dest`` only if the checksum
    matches; on any failure the temporary file is removed, one line
    ``mirror URL failed: reason`` is written to stderr, and the next URL is tried.

    Parameters
    ----------
    urls : sequence of str
        Full URLs of the file (``http``, ``https`` or ``file``), tried in order.
    dest : pathlib.Path
        Where to store the file; its folder is created if needed.
    md5 : str
        Expected MD5 checksum, 32 hex digits.
    progress : bool, optional
        Report progress on stderr: a tqdm bar when stderr is a terminal, otherwise
        one line when a transfer starts and one when it ends. Mirror failures are
        reported regardless.
    timeout : float, optional
        Seconds to wait for the connection and for each read before giving up
        on a mirror.
    alt_md5s : sequence of str, optional
        Further checksums accepted instead of ``md5``.

    Returns
    -------
    pathlib.Path
        ``dest``, holding the verified file.

    Raises
    ------
    DownloadError
        If no URL delivered the file with an accepted checksum, or ``dest``
        cannot be written.
    """
    from pooch import file_hash  # imported on first use: every command reads the tables below, few download

    dest = Path(dest)
    expected = md5.lower()
    accepted = {expected, *(m.lower() for m in alt_md5s)}
    if dest.is_file():
        try:
            if file_hash(str(dest), alg="md5") in accepted:
                return dest
        except OSError as exc:
            raise DownloadError(f"cannot read {dest}: {_strerror(exc)}") from exc
        print(f"{dest} has the wrong checksum; downloading it again", file=sys.stderr)
    if not urls:
        raise DownloadError(f"could not download {dest.name}: no mirrors given")
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DownloadError(f"cannot create folder {dest.parent}: {_strerror(exc)}") from exc

    last_error = ""
    for url in urls:
        try:
            _download_one(url, dest, expected, accepted, progress=progress, timeout=timeout)
        except _MirrorError as exc:
            last_error = str(exc)
            print(f"mirror {url} failed: {last_error}", file=sys.stderr)
        except OSError as exc:  # a local problem: another mirror will not help
            raise DownloadError(f"could not download {dest.name}: cannot write {dest}: {_strerror(exc)}") from exc
        else:
            return dest
    tried = f"{len(urls)} mirror{'s' if len(urls) != 1 else ''} tried"
    raise DownloadError(f"could not download {dest.name}: {tried}, last error: {last_error}")


def download_files(
    files: Sequence[RemoteFile],
    folder: Path,
    *,
    progress: bool = True,
    timeout: float = 30.0,
) -> list[Path]:
    """Download each file into ``folder``, skipping those already present and intact.

    The URLs tried for each file are those of ``LOGISTIC_SGD_MIRRORS`` (see the
    module docstring) followed by the file's own mirrors.

    Parameters
    ----------
    files : sequence of RemoteFile
        Files to fetch, e.g. ``MNIST_FILES.values()`` items.
    folder : pathlib.Path
        Destination folder, created if needed.
    progress : bool, optional
        Report progress on stderr, as in :func:`fetch`.
    timeout : float, optional
        Seconds to wait for a connection or a read, as in :func:`fetch`.

    Returns
    -------
    list of pathlib.Path
        The local paths, in the order of ``files``.

    Raises
    ------
    DownloadError
        If a file could not be downloaded from any mirror, or ``folder`` cannot
        be created or written.
    """
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DownloadError(f"cannot create folder {folder}: {_strerror(exc)}") from exc
    extra = env_mirrors()
    return [
        fetch(
            remote.urls(extra),
            folder / remote.name,
            remote.md5,
            progress=progress,
            timeout=timeout,
            alt_md5s=remote.alt_md5s,
        )
        for remote in files
    ]


# --------------------------------------------------------------------------- internals


class _MirrorError(Exception):
    """One mirror failed to deliver the file; the message says why, in one line."""


def _download_one(url: str, dest: Path, expected: str, accepted: set[str], *, progress: bool, timeout: float) -> None:
    """Transfer ``url`` into ``dest`` through a temporary file, or raise.

    Raises ``_MirrorError`` for anything the mirror did wrong and ``OSError``
    for local file-system problems.
    """
    import requests

    bar = _bar(dest.name) if progress and _isatty(sys.stderr) else None
    if progress and bar is None:
        print(f"downloading {url}", file=sys.stderr, flush=True)
    try:
        with atomic_write(dest) as out:
            written = _HashingWriter(out)
            try:
                _downloader(url, bar, timeout)(url, written, None)
            except requests.RequestException as exc:
                raise _MirrorError(_reason(exc, timeout, written.size)) from exc
            got = written.md5.hexdigest()
            if got not in accepted:
                raise _MirrorError(f"checksum mismatch (got {got}, expected {expected})")
    except BaseException:
        if bar is not None:
            bar.leave = False  # erase an unfinished bar, so that the failure is reported on a line of its own
        raise
    finally:
        if bar is not None:
            bar.close()
    if progress and bar is None:
        print(f"saved {dest} ({_size(written.size)})", file=sys.stderr, flush=True)


def _downloader(url: str, bar: tqdm | None, timeout: float) -> Callable[[str, _HashingWriter, None], object]:
    """The pooch downloader for ``url``'s scheme."""
    scheme = urlsplit(url).scheme
    if scheme in ("http", "https"):
        from pooch import HTTPDownloader

        return HTTPDownloader(progressbar=bar or False, chunk_size=CHUNK_SIZE, timeout=timeout)
    if scheme == "file":
        return functools.partial(_copy_file, progressbar=bar)
    raise _MirrorError(f"invalid URL (not http, https or file): {one_line(url, 80)}")


def _copy_file(url: str, output_file: _HashingWriter, pooch: None, progressbar: tqdm | None = None) -> None:
    """A pooch downloader for ``file://`` URLs (pooch has none): a copy of the local file."""
    path = url2pathname(urlsplit(url).path)
    try:
        source = open(path, "rb")  # noqa: SIM115 (the with below closes it; an error here is the mirror's)
    except OSError as exc:
        raise _MirrorError(_strerror(exc)) from exc
    with source:
        if progressbar is not None:
            progressbar.total = os.fstat(source.fileno()).st_size
        while chunk := source.read(CHUNK_SIZE):
            output_file.write(chunk)
            if progressbar is not None:
                progressbar.update(len(chunk))


class _HashingWriter:
    """A binary file that hashes (MD5) and counts what is written to it."""

    def __init__(self, out: BinaryIO) -> None:
        self.out = out
        self.md5 = hashlib.md5(usedforsecurity=False)
        self.size = 0

    def write(self, data: bytes) -> int:
        self.md5.update(data)
        self.size += len(data)
        return self.out.write(data)

    def flush(self) -> None:
        self.out.flush()


def _bar(name: str) -> tqdm:
    """A tqdm bar on stderr for one transfer; the downloader sets its ``total`` once the size is known."""
    from tqdm import tqdm

    class Bar(tqdm):
        def __bool__(self) -> bool:  # pooch draws a bar only if it is true; a tqdm of unknown size is not
            return True

    return Bar(desc=name, file=sys.stderr, unit="B", unit_scale=True, unit_divisor=1024, leave=True)


def _reason(exc: BaseException, timeout: float, received: int) -> str:
    """Why a mirror failed, in one line, from what requests raised."""
    import requests

    if isinstance(exc, requests.HTTPError) and exc.response is not None:
        return f"HTTP {exc.response.status_code} {exc.response.reason}"
    causes = [exc]
    while (cause := causes[-1].__cause__ or causes[-1].__context__) is not None and cause not in causes:
        causes.append(cause)
    if any(isinstance(c, TimeoutError) for c in causes):
        return f"timed out after {timeout:g} s ({received} bytes received)"
    if isinstance(exc, requests.exceptions.ChunkedEncodingError) or received:
        return f"connection dropped after {received} bytes"
    return _strerror(causes[-1])


def _strerror(exc: BaseException) -> str:
    return one_line(exc.strerror if isinstance(exc, OSError) and exc.strerror else exc)


def _size(n: int) -> str:
    from tqdm import tqdm

    return tqdm.format_sizeof(n, "B", 1024)


def _isatty(stream: object) -> bool:
    try:
        return bool(stream.isatty())  # type: ignore[attr-defined]
    except (AttributeError, ValueError, OSError):
        return False


# ------------------------------------------------------------------------- datasets

_MNIST_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)

# The pickle of the deeplearning.net tutorials: (train, valid, test) = 50k/10k/10k
# float32 images in [0, 1]. Which of these mirrors still serves exactly this file is
# not verified here (other copies of mnist.pkl.gz exist, pickled differently); the
# checksum rejects anything that differs. The figshare URL is a full-file URL.
_MNIST_PKL_MIRRORS = (
    "http://www.iro.umontreal.ca/~lisa/deep/data/mnist/",
    "https://github.com/mnielsen/neural-networks-and-deep-learning/raw/master/data/",
    "https://figshare.com/ndownloader/files/25635053",
)

MNIST_FILES: Mapping[str, RemoteFile] = MappingProxyType(
    {
        f.name: f
        for f in (
            RemoteFile("mnist.pkl.gz", "a02cd19f81d51c426d7ca14024243ce9", _MNIST_PKL_MIRRORS),
            RemoteFile("train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873", _MNIST_MIRRORS),
            RemoteFile("train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432", _MNIST_MIRRORS),
            RemoteFile("t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3", _MNIST_MIRRORS),
            RemoteFile("t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c", _MNIST_MIRRORS),
        )
    }
)
"""MNIST downloads by file name: the tutorial pickle ``mnist.pkl.gz`` and the four IDX files."""

_FASHION_MIRRORS = ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",)

# ``md5`` is the upstream checksum (zalandoresearch/fashion-mnist README, also shipped
# in Debian's dataset-fashion-mnist package). Debian's copies under
# /usr/share/datasets/fashion-mnist/ are the same data re-gzipped without the
# original-file-name header field (24 bytes smaller), hence the alternative
# checksums; their decompressed contents match upstream's.
FASHION_MNIST_FILES: Mapping[str, RemoteFile] = MappingProxyType(
    {
        f.name: f
        for f in (
            RemoteFile(
                "train-images-idx3-ubyte.gz",
                "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
                _FASHION_MIRRORS,
                alt_md5s=("cf8536b0aa1a6ac5fa3f23001093305c",),
            ),
            RemoteFile(
                "train-labels-idx1-ubyte.gz",
                "25c81989df183df01b3e8a0aad5dffbe",
                _FASHION_MIRRORS,
                alt_md5s=("10bea18fdb374794d4bb42e356e600c9",),
            ),
            RemoteFile(
                "t10k-images-idx3-ubyte.gz",
                "bef4ecab320f06d8554ea6380940ec79",
                _FASHION_MIRRORS,
                alt_md5s=("f78720b4224f21cce2f2ccf2d7a94c9a",),
            ),
            RemoteFile(
                "t10k-labels-idx1-ubyte.gz",
                "bb300cfdad3c16e7a12a480ee83cd310",
                _FASHION_MIRRORS,
                alt_md5s=("0d30e22e447f3c33dab9ed536400ac01",),
            ),
        )
    }
)
"""Fashion-MNIST downloads by file name: the four IDX files (same names as MNIST's)."""
