"""Named datasets: found in the cache, downloaded when absent, a clear message when neither works."""

from __future__ import annotations

import functools
import hashlib
import shutil
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from logistic_sgd import load_data
from logistic_sgd.cli import main
from logistic_sgd.data import datasets
from logistic_sgd.data.download import RemoteFile
from logistic_sgd.errors import DataError


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LOGISTIC_SGD_DATA", str(tmp_path / "cache"))
    monkeypatch.delenv("LOGISTIC_SGD_MIRRORS", raising=False)
    return tmp_path / "cache"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _local_spec(monkeypatch: pytest.MonkeyPatch, mirrors: tuple[str, ...], md5s: dict[str, str]) -> None:
    """Make 'mnist' download only from ``mirrors`` (never from the internet)."""
    names = ("mnist.pkl.gz", *datasets.IDX_NAMES)
    files = {name: RemoteFile(name, md5s.get(name, "0" * 32), mirrors) for name in names}
    spec = datasets.NamedDataset("MNIST", (), files, prefer_pickle=True)
    monkeypatch.setitem(datasets.DATASETS, "mnist", spec)


def test_cache_hit_needs_no_network(cache: Path, idx_folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _local_spec(monkeypatch, (f"http://127.0.0.1:{_closed_port()}/",), {})
    shutil.copytree(idx_folder, cache / "mnist")
    (tx, _), _, _ = load_data("mnist")
    assert tx.shape == (1000, 784)


def test_download_into_cache_from_a_mirror(cache: Path, idx_folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    md5s = {p.name: hashlib.md5(p.read_bytes()).hexdigest() for p in idx_folder.iterdir()}
    dead = f"http://127.0.0.1:{_closed_port()}/"
    _local_spec(monkeypatch, (dead, idx_folder.as_uri() + "/"), md5s)
    (tx, _), _, (sx, _) = load_data("mnist")  # the seed's pickle fails everywhere, the IDX files come
    assert tx.shape == (1000, 784) and sx.shape == (300, 784)
    assert sorted(p.name for p in (cache / "mnist").iterdir()) == sorted(md5s)
    np.testing.assert_array_equal(load_data(idx_folder)[0][0], tx)


def test_offline_with_nothing_found_says_where_it_looked(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _local_spec(monkeypatch, (f"http://127.0.0.1:{_closed_port()}/",), {})
    with pytest.raises(DataError) as info:
        load_data("mnist")
    message = str(info.value)
    assert "\n" not in message
    assert f"looked in {cache / 'mnist'}" in message and "--data PATH" in message
    assert not any((cache / "mnist").glob("*")), "no partial file is left behind"


def test_unknown_name() -> None:
    with pytest.raises(DataError, match="no such file or folder"):
        load_data("no-such-dataset")


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def _serving(folder: Path) -> Iterator[str]:
    """An HTTP server on 127.0.0.1 serving ``folder``; its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_cli_download_from_an_http_mirror(
    cache: Path, idx_folder: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    md5s = {p.name: hashlib.md5(p.read_bytes()).hexdigest() for p in idx_folder.iterdir()}
    dead = f"http://127.0.0.1:{_closed_port()}/"
    with _serving(idx_folder) as url:
        _local_spec(monkeypatch, (dead, url), md5s)
        assert main(["download", "--dataset", "mnist"]) == 0
    captured = capsys.readouterr()
    assert captured.out == f"MNIST: {cache / 'mnist'}\n"
    err = captured.err.splitlines()
    assert err[0].startswith("... MNIST not found") and "Traceback" not in captured.err
    for name in datasets.IDX_NAMES:  # stderr is not a terminal: one line per failed mirror, a start and an end line
        assert f"mirror {dead}{name} failed: Connection refused" in err
        assert f"downloading {url}{name}" in err
        assert any(line.startswith(f"saved {cache / 'mnist' / name} (") for line in err)
    assert sorted(p.name for p in (cache / "mnist").iterdir()) == sorted(md5s)
    for p in idx_folder.iterdir():
        assert (cache / "mnist" / p.name).read_bytes() == p.read_bytes()


def test_cli_download_when_every_mirror_fails_is_one_line(
    cache: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    dead = f"http://127.0.0.1:{_closed_port()}/"
    _local_spec(monkeypatch, (dead,), {})
    assert main(["download", "--dataset", "mnist"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    *progress, error = captured.err.splitlines()
    assert error.startswith("logistic-sgd: error: MNIST is not on this machine")
    assert "could not download train-images-idx3-ubyte.gz: 1 mirror tried, last error: Connection refused" in error
    assert all(line.startswith(("... MNIST not found", "downloading ", "mirror ")) for line in progress)
    assert not any((cache / "mnist").glob("*")), "no partial file is left behind"
