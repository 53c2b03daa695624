"""Named datasets: found in the cache, downloaded when absent, a clear message when neither works."""

from __future__ import annotations

import hashlib
import shutil
import socket
from pathlib import Path

import numpy as np
import pytest

from logistic_sgd import load_data
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
