"""Downloads against a local HTTP server: complete, resumed, Range ignored, wrong checksum, cancel, errors."""

from __future__ import annotations

import hashlib
import re
import socket
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator

import numpy as np
import pytest

from core.errors import CancelledError
from core.jobs import CancelToken
from core.store.downloads import ChecksumError, DownloadError, download, part_path


@dataclass
class FileServer:
    """What the local server serves and how it misbehaves; it records the Range header of every request."""

    data: bytes
    honor_range: bool = True
    cut_after: int | None = None  # send only this many body bytes, then drop the connection...
    cuts_left: int = 0  # ...on this many requests
    status: int = 200
    ranges: list[str | None] = field(default_factory=list)
    url: str = ""


def _handler(server: FileServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:  # keep test output clean
            pass

        def do_GET(self) -> None:  # noqa: N802
            header = self.headers.get("Range")
            server.ranges.append(header)
            if server.status != 200:
                self.send_error(server.status)
                return
            start = 0
            match = re.match(r"bytes=(\d+)-$", header or "")
            if match and server.honor_range:
                start = int(match.group(1))
                if start >= len(server.data):
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{len(server.data)}")
                    self.end_headers()
                    return
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{len(server.data) - 1}/{len(server.data)}")
            else:
                self.send_response(200)
            body = server.data[start:]
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Content-Type", "application/octet-stream")
            self.end_headers()
            if server.cut_after is not None and server.cuts_left > 0:
                server.cuts_left -= 1
                self.wfile.write(body[: server.cut_after])
                self.wfile.flush()
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            self.wfile.write(body)

    return Handler


@contextmanager
def serve(data: bytes, **options) -> Iterator[FileServer]:
    """Serve `data` at http://127.0.0.1:<port>/model.pth for the duration of the block."""
    spec = FileServer(data=data, **options)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(spec))
    spec.url = f"http://127.0.0.1:{httpd.server_address[1]}/model.pth"
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield spec
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


def payload(n: int = 200_000, seed: int = 0) -> tuple[bytes, str]:
    data = np.random.default_rng(seed).integers(0, 256, n, dtype=np.uint8).tobytes()
    return data, hashlib.sha256(data).hexdigest()


def test_complete_download_reports_bytes(tmp_path: Path):
    data, digest = payload()
    seen: list[tuple[int, int]] = []
    with serve(data) as srv:
        out = download(srv.url, tmp_path / "m.pth", sha256=digest, size=len(data), chunk=16_384,
                       progress=lambda d, t, m="": seen.append((d, t)))
    assert out.read_bytes() == data
    assert not part_path(out).exists()
    assert seen[-1] == (len(data), len(data)) and all(t == len(data) for _, t in seen)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)


def test_interrupted_download_resumes_with_range(tmp_path: Path):
    data, digest = payload()
    dest = tmp_path / "m.pth"
    with serve(data, cut_after=70_000, cuts_left=1) as srv:
        with pytest.raises(DownloadError, match="resume"):
            download(srv.url, dest, sha256=digest, size=len(data), chunk=8192)
        assert not dest.exists()
        kept = part_path(dest).stat().st_size
        assert 0 < kept <= 70_000
        download(srv.url, dest, sha256=digest, size=len(data), chunk=8192)
    assert srv.ranges == [None, f"bytes={kept}-"]
    assert dest.read_bytes() == data
    assert not part_path(dest).exists()


def test_server_that_ignores_range_restarts_cleanly(tmp_path: Path):
    data, digest = payload()
    dest = tmp_path / "m.pth"
    part_path(dest).write_bytes(b"stale bytes that are not the file's prefix")
    with serve(data, honor_range=False) as srv:
        download(srv.url, dest, sha256=digest, size=len(data))
    assert srv.ranges[0] is not None  # it asked to resume...
    assert dest.read_bytes() == data  # ...and got the whole file, written from the start


def test_wrong_checksum_removes_everything(tmp_path: Path):
    data, _ = payload()
    dest = tmp_path / "m.pth"
    with serve(data) as srv:
        with pytest.raises(ChecksumError, match="SHA-256"):
            download(srv.url, dest, sha256="0" * 64, size=len(data))
    assert list(tmp_path.iterdir()) == []


def test_wrong_size_is_refused(tmp_path: Path):
    data, digest = payload()
    with serve(data) as srv:
        with pytest.raises(DownloadError, match="expected"):
            download(srv.url, tmp_path / "m.pth", sha256=digest, size=len(data) + 5)
    assert not (tmp_path / "m.pth").exists()


def test_unknown_hash_checks_size_only(tmp_path: Path):
    data, _ = payload(5000)
    with serve(data) as srv:
        out = download(srv.url, tmp_path / "m.pth", sha256=None, size=len(data))
    assert out.read_bytes() == data


def test_cancel_keeps_the_part_for_resume(tmp_path: Path):
    data, digest = payload()
    dest = tmp_path / "m.pth"
    token = CancelToken()

    def progress(done: int, total: int, message: str = "") -> None:
        if done >= 40_000:
            token.cancel()

    with serve(data) as srv:
        with pytest.raises(CancelledError, match="resumes"):
            download(srv.url, dest, sha256=digest, size=len(data), progress=progress, cancel=token, chunk=8192)
        kept = part_path(dest).stat().st_size
        assert 40_000 <= kept < len(data) and not dest.exists()
        download(srv.url, dest, sha256=digest, size=len(data))
    assert srv.ranges[-1] == f"bytes={kept}-"
    assert dest.read_bytes() == data


def test_already_downloaded_file_is_not_fetched_again(tmp_path: Path):
    data, digest = payload(1000)
    dest = tmp_path / "m.pth"
    dest.write_bytes(data)
    with serve(data) as srv:
        assert download(srv.url, dest, sha256=digest, size=len(data)) == dest
    assert srv.ranges == []


def test_http_error_is_reported(tmp_path: Path):
    with serve(b"", status=404) as srv:
        with pytest.raises(DownloadError, match="404"):
            download(srv.url, tmp_path / "m.pth", sha256=None)


def test_no_server_is_a_clear_error(tmp_path: Path):
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now
    with pytest.raises(DownloadError, match="Could not reach"):
        download(f"http://127.0.0.1:{port}/m.pth", tmp_path / "m.pth", sha256=None, timeout=5)


def test_only_http_urls(tmp_path: Path):
    with pytest.raises(DownloadError, match="http"):
        download("file:///etc/passwd", tmp_path / "m.pth", sha256=None)
