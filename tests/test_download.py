"""Tests for logistic_sgd.data.download against a local HTTP server on 127.0.0.1."""

from __future__ import annotations

import gzip
import hashlib
import io
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from logistic_sgd.data.download import (
    FASHION_MNIST_FILES,
    MIRRORS_ENV,
    MNIST_FILES,
    RemoteFile,
    download_files,
    env_mirrors,
    fetch,
)
from logistic_sgd.errors import DataError, DownloadError

TIMEOUT = 2.0
PAYLOADS = {
    "small.bin": bytes(range(256)) * 3 + b"tail",
    "big.bin": hashlib.sha256(b"seed").digest() * 20_000,  # 640 000 bytes: several chunks
    "other.bin": b"another file",
}
PAYLOADS["small.gz"] = gzip.compress(PAYLOADS["small.bin"], mtime=0)


def md5_of(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


class _Handler(BaseHTTPRequestHandler):
    """Routes: /good/NAME, /bad/NAME (wrong bytes), /trunc/NAME (short body), /slow/NAME, /pause/NAME
    (half the body, then a look at ``server.watched`` before the rest), /encoded/NAME (labelled
    ``Content-Encoding: gzip``, as some servers label ``.gz`` files)."""

    server: _Server

    def do_GET(self) -> None:
        self.server.hits[self.path] += 1
        _, mode, name = [*self.path.split("/", 2), "", ""][:3]
        body = PAYLOADS.get(name)
        if body is None or mode not in {"good", "bad", "trunc", "slow", "pause", "encoded"}:
            self.send_error(404, "Not Found")
            return
        if mode == "bad":
            body = body[::-1] + b"!"
        if mode == "slow":
            time.sleep(TIMEOUT / 4 + 0.5)  # longer than the client timeout used for it
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        if mode == "encoded":
            self.send_header("Content-Encoding", "gzip")
        if mode == "pause":
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            time.sleep(0.2)  # the client has received the first half by now
            folder = self.server.watched.parent
            self.server.seen_mid_transfer = sorted(p.name for p in folder.iterdir())
            self.wfile.write(body[len(body) // 2 :])
            return
        if mode == "trunc":
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True  # drop the connection mid-body
            return
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    hits: Counter[str]
    watched: Path
    seen_mid_transfer: list[str] | None = None

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # clients that give up early (timeout test) make writes fail; that is expected


@pytest.fixture
def server() -> Iterator[_Server]:
    srv = _Server(("127.0.0.1", 0), _Handler)
    srv.hits = Counter()
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.01})
    thread.daemon = True
    thread.start()
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()
        thread.join(timeout=5)


def base_url(srv: _Server) -> str:
    return f"http://127.0.0.1:{srv.server_address[1]}"


@pytest.fixture
def dead_url() -> str:
    """A URL on a 127.0.0.1 port where nothing listens."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return f"http://127.0.0.1:{port}/good/small.bin"


@pytest.fixture(autouse=True)
def _no_env_mirrors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(MIRRORS_ENV, raising=False)


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# --------------------------------------------------------------------------- fetch


@pytest.mark.parametrize("name", ["small.bin", "big.bin"])
def test_good_file(server: _Server, tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str):
    dest = tmp_path / name
    out = fetch([f"{base_url(server)}/good/{name}"], dest, md5_of(PAYLOADS[name]), timeout=TIMEOUT)
    assert out == dest
    assert dest.read_bytes() == PAYLOADS[name]
    assert leftovers(tmp_path) == [name]
    captured = capsys.readouterr()
    assert captured.out == ""
    assert len(captured.err.splitlines()) <= 2  # not a TTY: start and end line at most


def test_md5_is_case_insensitive(server: _Server, tmp_path: Path):
    dest = tmp_path / "small.bin"
    fetch(
        [f"{base_url(server)}/good/small.bin"],
        dest,
        md5_of(PAYLOADS["small.bin"]).upper(),
        progress=False,
        timeout=TIMEOUT,
    )
    assert dest.read_bytes() == PAYLOADS["small.bin"]


def test_wrong_checksum(server: _Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    dest = tmp_path / "small.bin"
    want = md5_of(PAYLOADS["small.bin"])
    urls = [f"{base_url(server)}/bad/small.bin"]
    with pytest.raises(DownloadError) as info:
        fetch(urls, dest, want, progress=False, timeout=TIMEOUT)
    message = str(info.value)
    assert "\n" not in message
    assert "small.bin" in message
    assert "checksum mismatch" in message and want in message
    assert "1 mirror tried" in message
    assert isinstance(info.value, DataError)
    assert not dest.exists()
    assert leftovers(tmp_path) == []
    err = capsys.readouterr().err
    assert f"mirror {urls[0]} failed: checksum mismatch" in err


def test_all_mirrors_fail_summary(server: _Server, tmp_path: Path, dead_url: str):
    base = base_url(server)
    urls = [dead_url, f"{base}/missing/small.bin", f"{base}/bad/small.bin"]
    with pytest.raises(
        DownloadError,
        match=r"^could not download small\.bin: 3 mirrors tried, "
        r"last error: checksum mismatch \(got [0-9a-f]{32}, expected [0-9a-f]{32}\)$",
    ):
        fetch(urls, tmp_path / "small.bin", md5_of(PAYLOADS["small.bin"]), progress=False, timeout=TIMEOUT)
    assert leftovers(tmp_path) == []


def test_dead_mirror_then_good(server: _Server, tmp_path: Path, dead_url: str, capsys: pytest.CaptureFixture[str]):
    dest = tmp_path / "small.bin"
    urls = [dead_url, f"{base_url(server)}/good/small.bin"]
    fetch(urls, dest, md5_of(PAYLOADS["small.bin"]), progress=False, timeout=TIMEOUT)
    assert dest.read_bytes() == PAYLOADS["small.bin"]
    captured = capsys.readouterr()
    assert captured.out == ""
    failures = [line for line in captured.err.splitlines() if "failed" in line]
    assert len(failures) == 1
    assert failures[0].startswith(f"mirror {dead_url} failed: ")
    assert "refused" in failures[0].lower()


def test_interrupted_transfer_alone(server: _Server, tmp_path: Path):
    dest = tmp_path / "big.bin"
    with pytest.raises(DownloadError, match=r"truncated transfer|connection dropped"):
        fetch([f"{base_url(server)}/trunc/big.bin"], dest, md5_of(PAYLOADS["big.bin"]), progress=False, timeout=TIMEOUT)
    assert not dest.exists()
    assert leftovers(tmp_path) == []


def test_destination_absent_during_transfer(server: _Server, tmp_path: Path):
    dest = tmp_path / "big.bin"
    server.watched = dest
    fetch([f"{base_url(server)}/pause/big.bin"], dest, md5_of(PAYLOADS["big.bin"]), progress=False, timeout=TIMEOUT)
    assert server.seen_mid_transfer is not None, "the server looked at the folder mid-transfer"
    assert "big.bin" not in server.seen_mid_transfer, "nothing at the destination before the checksum matched"
    assert len(server.seen_mid_transfer) == 1, "the bytes go to one temporary file beside it"
    assert dest.read_bytes() == PAYLOADS["big.bin"]
    assert leftovers(tmp_path) == ["big.bin"]


def test_content_encoding_label_is_decoded_and_rejected(
    server: _Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    # requests (under pooch) undoes a Content-Encoding: gzip label, so a server that labels an
    # already gzipped file that way delivers other bytes: the checksum rejects them, the next mirror serves.
    base = _bad_then_good(server, tmp_path, "encoded", "small.gz")
    assert f"mirror {base}/encoded/small.gz failed: checksum mismatch" in capsys.readouterr().err


def _bad_then_good(server: _Server, tmp_path: Path, bad: str, name: str, timeout: float = TIMEOUT) -> str:
    """Fetch ``name`` from the mirror ``/bad/`` then ``/good/``; check the good copy landed; the base URL."""
    dest = tmp_path / name
    base = base_url(server)
    fetch([f"{base}/{bad}/{name}", f"{base}/good/{name}"], dest, md5_of(PAYLOADS[name]), progress=False,
          timeout=timeout)
    assert dest.read_bytes() == PAYLOADS[name]
    return base


def test_interrupted_transfer_then_good(server: _Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    base = _bad_then_good(server, tmp_path, "trunc", "big.bin")
    assert leftovers(tmp_path) == ["big.bin"]
    assert server.hits["/trunc/big.bin"] == 1 and server.hits["/good/big.bin"] == 1
    assert f"mirror {base}/trunc/big.bin failed: " in capsys.readouterr().err


def test_http_404_then_good(server: _Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    base = _bad_then_good(server, tmp_path, "nowhere", "small.bin")
    assert f"mirror {base}/nowhere/small.bin failed: HTTP 404" in capsys.readouterr().err


def test_timeout_then_good(server: _Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    _bad_then_good(server, tmp_path, "slow", "small.bin", timeout=TIMEOUT / 4)
    assert "timed out after 0.5 s" in capsys.readouterr().err


def test_existing_good_file_not_downloaded(server: _Server, tmp_path: Path):
    dest = tmp_path / "small.bin"
    dest.write_bytes(PAYLOADS["small.bin"])
    before = dest.stat().st_mtime_ns
    fetch([f"{base_url(server)}/good/small.bin"], dest, md5_of(PAYLOADS["small.bin"]), progress=False, timeout=TIMEOUT)
    assert sum(server.hits.values()) == 0
    assert dest.stat().st_mtime_ns == before


def test_existing_corrupt_file_replaced(server: _Server, tmp_path: Path):
    dest = tmp_path / "small.bin"
    dest.write_bytes(b"corrupt")
    fetch([f"{base_url(server)}/good/small.bin"], dest, md5_of(PAYLOADS["small.bin"]), progress=False, timeout=TIMEOUT)
    assert server.hits["/good/small.bin"] == 1
    assert dest.read_bytes() == PAYLOADS["small.bin"]


def test_existing_corrupt_file_kept_when_all_fail(server: _Server, tmp_path: Path):
    dest = tmp_path / "small.bin"
    dest.write_bytes(b"corrupt")
    with pytest.raises(DownloadError):
        fetch(
            [f"{base_url(server)}/bad/small.bin"], dest, md5_of(PAYLOADS["small.bin"]), progress=False, timeout=TIMEOUT
        )
    assert dest.read_bytes() == b"corrupt"
    assert leftovers(tmp_path) == ["small.bin"]


def test_no_mirrors(tmp_path: Path):
    with pytest.raises(DownloadError, match=r"small\.bin: no mirrors"):
        fetch([], tmp_path / "small.bin", md5_of(b""))


def test_invalid_url_is_a_mirror_failure(server: _Server, tmp_path: Path):
    dest = tmp_path / "small.bin"
    fetch(
        ["not a url", f"{base_url(server)}/good/small.bin"],
        dest,
        md5_of(PAYLOADS["small.bin"]),
        progress=False,
        timeout=TIMEOUT,
    )
    assert dest.exists()


def test_unwritable_destination_is_not_blamed_on_mirror(server: _Server, tmp_path: Path):
    blocker = tmp_path / "file"
    blocker.write_bytes(b"x")
    with pytest.raises(DownloadError, match="cannot create folder"):
        fetch(
            [f"{base_url(server)}/good/small.bin"],
            blocker / "sub" / "small.bin",
            md5_of(PAYLOADS["small.bin"]),
            progress=False,
            timeout=TIMEOUT,
        )
    assert sum(server.hits.values()) == 0


def test_alt_md5_accepted(server: _Server, tmp_path: Path):
    dest = tmp_path / "small.bin"
    fetch(
        [f"{base_url(server)}/good/small.bin"],
        dest,
        "0" * 32,
        alt_md5s=[md5_of(PAYLOADS["small.bin"])],
        progress=False,
        timeout=TIMEOUT,
    )
    assert dest.read_bytes() == PAYLOADS["small.bin"]


# ------------------------------------------------------------------------ progress


class _FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_on_tty(
    server: _Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    fake = _FakeTTY()
    monkeypatch.setattr("sys.stderr", fake)
    fetch([f"{base_url(server)}/good/big.bin"], tmp_path / "big.bin", md5_of(PAYLOADS["big.bin"]), timeout=TIMEOUT)
    text = fake.getvalue()
    assert "\r" in text
    assert text.endswith("\n") and text.count("\n") == 1
    final = text.rstrip("\n").split("\r")[-1]
    assert "big.bin" in final and "100%" in final and "625k/625k" in final and "B/s" in final
    assert capsys.readouterr().out == ""


def test_progress_on_tty_failed_mirror_has_its_own_line(
    server: _Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    fake = _FakeTTY()
    monkeypatch.setattr("sys.stderr", fake)
    base = base_url(server)
    urls = [f"{base}/trunc/big.bin", f"{base}/bad/big.bin", f"{base}/good/big.bin"]
    fetch(urls, tmp_path / "big.bin", md5_of(PAYLOADS["big.bin"]), timeout=TIMEOUT)
    lines = [line.split("\r")[-1] for line in fake.getvalue().split("\n")]  # what a terminal shows
    assert lines[0].startswith(f"mirror {urls[0]} failed: connection dropped"), "the unfinished bar was erased"
    assert "big.bin" in lines[1] and "100%" in lines[1], "a bar that finished stays"
    assert lines[2].startswith(f"mirror {urls[1]} failed: checksum mismatch")
    assert "big.bin" in lines[3] and "100%" in lines[3]
    assert lines[4:] == [""]


def test_progress_on_tty_for_file_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    (tmp_path / "big.bin").write_bytes(PAYLOADS["big.bin"])
    fake = _FakeTTY()
    monkeypatch.setattr("sys.stderr", fake)
    fetch([(tmp_path / "big.bin").as_uri()], tmp_path / "out" / "big.bin", md5_of(PAYLOADS["big.bin"]))
    final = fake.getvalue().rstrip("\n").split("\r")[-1]
    assert "big.bin" in final and "100%" in final and "625k/625k" in final


def test_progress_off_is_silent(server: _Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    fake = _FakeTTY()
    monkeypatch.setattr("sys.stderr", fake)
    fetch(
        [f"{base_url(server)}/good/small.bin"],
        tmp_path / "small.bin",
        md5_of(PAYLOADS["small.bin"]),
        progress=False,
        timeout=TIMEOUT,
    )
    assert fake.getvalue() == ""


def test_progress_not_tty_start_and_end_lines(server: _Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    url = f"{base_url(server)}/good/big.bin"
    fetch([url], tmp_path / "big.bin", md5_of(PAYLOADS["big.bin"]), timeout=TIMEOUT)
    lines = capsys.readouterr().err.splitlines()
    assert lines == [f"downloading {url}", f"saved {tmp_path / 'big.bin'} (625kB)"]


# --------------------------------------------------------------- download_files/env


def test_download_files_with_env_mirrors(
    server: _Server, tmp_path: Path, dead_url: str, monkeypatch: pytest.MonkeyPatch
):
    base = base_url(server)
    dead_base = dead_url.rsplit("/", 2)[0]
    # Built-in mirror points at a 404 route, so success proves the env mirror was used first.
    files = [RemoteFile(name, md5_of(PAYLOADS[name]), (f"{base}/builtin/",)) for name in ("small.bin", "other.bin")]
    monkeypatch.setenv(MIRRORS_ENV, f" {dead_base}/good/ ,, {base}/good")
    folder = tmp_path / "new" / "folder"
    paths = download_files(files, folder, progress=False, timeout=TIMEOUT)
    assert paths == [folder / "small.bin", folder / "other.bin"]
    for path in paths:
        assert path.read_bytes() == PAYLOADS[path.name]
    assert leftovers(folder) == ["other.bin", "small.bin"]
    assert not any(path.startswith("/builtin/") for path in server.hits)
    # A second call finds both files intact and makes no request.
    before = sum(server.hits.values())
    assert download_files(files, folder, progress=False, timeout=TIMEOUT) == paths
    assert sum(server.hits.values()) == before


def test_download_files_falls_back_to_builtin(server: _Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    base = base_url(server)
    monkeypatch.setenv(MIRRORS_ENV, f"{base}/missing/")
    files = [RemoteFile("small.bin", md5_of(PAYLOADS["small.bin"]), (f"{base}/good/",))]
    assert download_files(files, tmp_path, progress=False, timeout=TIMEOUT) == [tmp_path / "small.bin"]
    assert server.hits["/missing/small.bin"] == 1 and server.hits["/good/small.bin"] == 1


def test_remote_file_urls():
    remote = RemoteFile("f.gz", "0" * 32, ("https://a.example/data/", "https://b.example/x?id=1"))
    assert remote.urls() == ["https://a.example/data/f.gz", "https://b.example/x?id=1"]
    assert remote.urls(["http://cache/m", "https://a.example/data/"]) == [
        "http://cache/m/f.gz",
        "https://a.example/data/f.gz",
        "https://b.example/x?id=1",
    ]


def test_env_mirrors_parsing():
    assert env_mirrors({}) == []
    assert env_mirrors({MIRRORS_ENV: ""}) == []
    assert env_mirrors({MIRRORS_ENV: " http://a/ , ,http://b"}) == ["http://a/", "http://b"]


# ------------------------------------------------------------------- dataset tables


@pytest.mark.parametrize("table", [MNIST_FILES, FASHION_MNIST_FILES])
def test_tables_well_formed(table):
    for name, remote in table.items():
        assert name == remote.name
        for digest in (remote.md5, *remote.alt_md5s):
            assert len(digest) == 32 and set(digest) <= set("0123456789abcdef")
        assert remote.mirrors
        assert all(m.startswith(("http://", "https://")) for m in remote.mirrors)


def test_tables_contents():
    idx = {
        "train-images-idx3-ubyte.gz",
        "train-labels-idx1-ubyte.gz",
        "t10k-images-idx3-ubyte.gz",
        "t10k-labels-idx1-ubyte.gz",
    }
    assert set(MNIST_FILES) == idx | {"mnist.pkl.gz"}
    assert set(FASHION_MNIST_FILES) == idx
    assert MNIST_FILES["mnist.pkl.gz"].md5 == "a02cd19f81d51c426d7ca14024243ce9"
    assert FASHION_MNIST_FILES["train-images-idx3-ubyte.gz"].md5 == ("8d4fb7e6c68d591d4c3dfef9ec88bf0d")


DEBIAN_FASHION = Path("/usr/share/datasets/fashion-mnist")


@pytest.mark.skipif(
    not (DEBIAN_FASHION / "t10k-labels-idx1-ubyte.gz").is_file(),
    reason="Debian's dataset-fashion-mnist is not installed",
)
def test_debian_fashion_copy_accepted_via_file_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    # The file:// mirror comes first, so the (unreachable) built-in mirror is never tried.
    monkeypatch.setenv(MIRRORS_ENV, DEBIAN_FASHION.as_uri())
    remote = FASHION_MNIST_FILES["t10k-labels-idx1-ubyte.gz"]
    [path] = download_files([remote], tmp_path, progress=False, timeout=TIMEOUT)
    assert path.read_bytes() == (DEBIAN_FASHION / remote.name).read_bytes()


def test_missing_file_url_then_good(server: _Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    missing = (tmp_path / "nowhere" / "small.bin").as_uri()
    dest = tmp_path / "small.bin"
    fetch([missing, f"{base_url(server)}/good/small.bin"], dest, md5_of(PAYLOADS["small.bin"]), progress=False)
    assert dest.read_bytes() == PAYLOADS["small.bin"]
    assert f"mirror {missing} failed: No such file or directory" in capsys.readouterr().err


def test_copy_of_existing_file_via_file_url(tmp_path: Path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "small.bin").write_bytes(PAYLOADS["small.bin"])
    out = tmp_path / "out"
    fetch([(src / "small.bin").as_uri()], out / "small.bin", md5_of(PAYLOADS["small.bin"]), progress=False)
    assert (out / "small.bin").read_bytes() == PAYLOADS["small.bin"]
