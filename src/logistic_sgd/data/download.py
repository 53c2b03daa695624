"""Download dataset files from a list of mirrors, verifying each by its MD5 checksum.

Every download streams into a temporary file beside its destination and is renamed
into place only once its checksum matches, so an interrupted or corrupt transfer never
leaves a partial file behind. A mirror that fails (refused connection, HTTP error,
timeout, truncated transfer, wrong checksum) is reported as one line on stderr and the
next mirror is tried; when every mirror fails, :class:`~logistic_sgd.errors.DownloadError`
is raised. Nothing is ever printed to stdout.

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

import hashlib
import http.client
import os
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import TextIO

from logistic_sgd.atomic import atomic_write
from logistic_sgd.errors import DownloadError

__all__ = [
    "CHUNK_SIZE",
    "FASHION_MNIST_FILES",
    "MIRRORS_ENV",
    "MNIST_FILES",
    "RemoteFile",
    "download_files",
    "env_mirrors",
    "fetch",
    "file_md5",
]

CHUNK_SIZE = 64 * 1024
"""Bytes read from the network (and hashed) per step."""

MIRRORS_ENV = "LOGISTIC_SGD_MIRRORS"
"""Environment variable holding extra base URLs, tried before the built-in mirrors."""

_MB = 1024 * 1024
_REDRAW_SECONDS = 0.1


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
        urls = [_join(mirror, self.name) for mirror in (*folders, *self.mirrors)]
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


def file_md5(path: str | os.PathLike[str]) -> str:
    """Return the MD5 checksum of a file as 32 lowercase hex digits.

    Parameters
    ----------
    path : str or os.PathLike
        File to hash; read in chunks of :data:`CHUNK_SIZE` bytes.

    Returns
    -------
    str
        The hex digest.
    """
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK_SIZE):
            digest.update(chunk)
    return digest.hexdigest()


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
    Otherwise each URL is tried in turn: the body is streamed in chunks of
    :data:`CHUNK_SIZE` bytes into a temporary file beside ``dest``, hashed on the
    way, and renamed to ``dest`` only if the checksum matches; on any failure the
    temporary file is removed, one line ``mirror URL failed: reason`` is written to
    stderr, and the next URL is tried.

    Parameters
    ----------
    urls : sequence of str
        Full URLs of the file (``http``, ``https`` or ``file``), tried in order.
    dest : pathlib.Path
        Where to store the file; its folder is created if needed.
    md5 : str
        Expected MD5 checksum, 32 hex digits.
    progress : bool, optional
        Report progress on stderr: a single self-updating line when stderr is a
        terminal, otherwise at most one line when a transfer starts and one when
        it ends. Mirror failures are reported regardless.
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
    dest = Path(dest)
    expected = md5.lower()
    accepted = {expected, *(m.lower() for m in alt_md5s)}
    if dest.is_file():
        try:
            if file_md5(dest) in accepted:
                return dest
        except OSError as exc:
            raise DownloadError(f"cannot read {dest}: {_describe(exc)}") from exc
        print(f"{dest} has the wrong checksum; downloading it again", file=sys.stderr)
    if not urls:
        raise DownloadError(f"could not download {dest.name}: no mirrors given")
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DownloadError(f"cannot create folder {dest.parent}: {_describe(exc)}") from exc

    last_error = ""
    for url in urls:
        try:
            _download_one(url, dest, expected, accepted, progress=progress, timeout=timeout)
        except _MirrorError as exc:
            last_error = str(exc)
            print(f"mirror {url} failed: {last_error}", file=sys.stderr)
        except OSError as exc:  # a local problem: another mirror will not help
            raise DownloadError(f"could not download {dest.name}: cannot write {dest}: {_describe(exc)}") from exc
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
        raise DownloadError(f"cannot create folder {folder}: {_describe(exc)}") from exc
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


def _join(mirror: str, name: str) -> str:
    return mirror + name if mirror.endswith("/") else mirror


def _describe(exc: BaseException) -> str:
    """Render an exception as a short single line."""
    if isinstance(exc, urllib.error.HTTPError):
        text = f"HTTP {exc.code} {exc.reason}"
    elif isinstance(exc, urllib.error.URLError):
        reason = exc.reason
        return _describe(reason) if isinstance(reason, BaseException) else _one_line(str(reason))
    elif isinstance(exc, TimeoutError):
        text = "timed out"
    elif isinstance(exc, http.client.IncompleteRead):
        text = f"connection dropped ({len(exc.partial)} bytes in last read)"
    elif isinstance(exc, http.client.RemoteDisconnected):
        text = "connection closed without a response"
    elif isinstance(exc, OSError) and exc.strerror:
        text = exc.strerror
    else:
        text = str(exc) or type(exc).__name__
    return _one_line(text)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _content_length(response: object) -> int | None:
    headers = getattr(response, "headers", None)
    value = headers.get("Content-Length") if headers is not None else None
    try:
        length = int(value) if value is not None else None
    except ValueError:
        return None
    return length if length is not None and length >= 0 else None


def _download_one(
    url: str,
    dest: Path,
    expected: str,
    accepted: set[str],
    *,
    progress: bool,
    timeout: float,
) -> None:
    """Stream ``url`` into ``dest`` via a temporary file.

    Raises ``_MirrorError`` for anything the mirror did wrong and ``OSError``
    for local file-system problems.
    """
    try:
        response = urllib.request.urlopen(url, timeout=timeout)
    except (OSError, http.client.HTTPException) as exc:
        reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
        if isinstance(reason, TimeoutError):
            raise _MirrorError(f"timed out after {timeout:g} s") from exc
        raise _MirrorError(_describe(exc)) from exc
    except ValueError as exc:  # unknown URL type, malformed URL
        raise _MirrorError(f"invalid URL ({_one_line(str(exc))})") from exc

    with response:
        total = _content_length(response)
        bar = _Progress(dest.name, url, total, enabled=progress)
        digest = hashlib.md5(usedforsecurity=False)
        received = 0
        try:
            with atomic_write(dest) as out:
                while True:
                    try:
                        chunk = response.read(CHUNK_SIZE)
                    except TimeoutError as exc:
                        raise _MirrorError(f"timed out after {timeout:g} s ({received} bytes received)") from exc
                    except (OSError, http.client.HTTPException) as exc:
                        raise _MirrorError(f"connection dropped after {received} bytes: {_describe(exc)}") from exc
                    if not chunk:
                        break
                    out.write(chunk)
                    digest.update(chunk)
                    received += len(chunk)
                    bar.update(received)
                if total is not None and received < total:
                    raise _MirrorError(f"truncated transfer ({received} of {total} bytes)")
                got = digest.hexdigest()
                if got not in accepted:
                    raise _MirrorError(f"checksum mismatch (got {got}, expected {expected})")
        except BaseException:
            bar.close(ok=False)
            raise
        bar.close(ok=True, dest=dest)


class _Progress:
    """Progress on stderr: one line redrawn in place on a TTY, else a start and an end line."""

    def __init__(self, name: str, url: str, total: int | None, *, enabled: bool) -> None:
        self.stream: TextIO = sys.stderr
        self.name = name
        self.total = total
        self.enabled = enabled
        self.tty = enabled and _isatty(self.stream)
        self.start = time.monotonic()
        self.last_draw = -1.0
        self.width = 0
        self.received = 0
        if enabled and not self.tty:
            size = f" ({_size(total)})" if total is not None else ""
            self._write(f"downloading {url}{size}\n")
        elif self.tty:
            self._draw(0)

    def update(self, received: int) -> None:
        self.received = received
        if self.tty and time.monotonic() - self.last_draw >= _REDRAW_SECONDS:
            self._draw(received)

    def close(self, *, ok: bool, dest: Path | None = None) -> None:
        if self.tty:
            if ok:
                self._draw(self.received)
            self._write("\n")
        elif self.enabled and ok:
            elapsed = max(time.monotonic() - self.start, 1e-9)
            rate = self.received / _MB / elapsed
            self._write(f"saved {dest} ({_size(self.received)} in {elapsed:.1f} s, {rate:.1f} MB/s)\n")
        self.enabled = self.tty = False

    def _draw(self, received: int) -> None:
        now = time.monotonic()
        self.last_draw = now
        mb = received / _MB
        rate = mb / max(now - self.start, 1e-9)
        if self.total:
            pct = 100.0 * received / self.total
            line = f"{self.name}: {pct:5.1f}% {mb:6.1f}/{self.total / _MB:.1f} MB {rate:6.1f} MB/s"
        else:
            line = f"{self.name}: {mb:6.1f} MB {rate:6.1f} MB/s"
        pad = max(self.width - len(line), 0)
        self.width = len(line)
        self._write("\r" + line + " " * pad)

    def _write(self, text: str) -> None:
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):  # closed or broken stderr must not break the download
            pass


def _size(n: int) -> str:
    return f"{n / _MB:.1f} MB" if n >= _MB // 10 else f"{n / 1024:.1f} KB"


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
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
