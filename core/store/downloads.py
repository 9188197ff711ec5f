"""Fetching a weight file over HTTP(S) with resume, checksum and cancel. Standard library only.

The bytes land in `<dest>.part`; a later call resumes it with an HTTP Range request (and starts over
cleanly when the server ignores Range). Only a file whose size and SHA-256 check out is renamed to `dest`;
a wrong checksum removes the download. Cancelling keeps the `.part` file for the next attempt.
"""

from __future__ import annotations

import os
import re
import socket
import urllib.error
import urllib.request
from http.client import HTTPException
from pathlib import Path
from urllib.parse import urlsplit

import core
from core.errors import CancelledError, RestoraError
from core.fileio import sha256_file
from core.jobs import CancelToken, Progress, no_progress


class DownloadError(RestoraError):
    """A download failed; the message says why and whether it can resume."""


class ChecksumError(DownloadError):
    """The downloaded bytes are not the file that was asked for."""


def part_path(dest: Path) -> Path:
    return dest.with_name(dest.name + ".part")


def download(url: str, dest: Path, *, sha256: str | None, size: int | None = None, progress: Progress = no_progress,
             cancel: CancelToken | None = None, chunk: int = 1 << 20, timeout: float = 30) -> Path:
    """Download `url` to `dest`, resuming a previous `.part`; verify `size` and `sha256` (either may be None
    when unknown: then only what is known is checked). Returns `dest`."""
    dest = Path(dest)
    token = cancel or CancelToken()
    expected = sha256.lower() if sha256 else None
    scheme = urlsplit(url).scheme.lower()
    if scheme not in ("http", "https"):
        raise DownloadError(f"Only http and https downloads are supported, not {url!r}.")
    if dest.is_file() and _matches(dest, expected, size, token):
        progress(dest.stat().st_size, dest.stat().st_size, "Already downloaded")
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = part_path(dest)
    offset = part.stat().st_size if part.is_file() else 0
    if size is not None and offset > size:
        part.unlink()
        offset = 0
    if size is None or offset < size:
        _fetch(url, part, offset, size, progress, token, chunk, timeout)
    _verify_and_publish(part, dest, expected, size, token)
    return dest


def _matches(path: Path, expected: str | None, size: int | None, cancel: CancelToken) -> bool:
    if size is not None and path.stat().st_size != size:
        return False
    if expected is None:
        return size is not None
    return sha256_file(path, cancel) == expected


def _fetch(url: str, part: Path, offset: int, size: int | None, progress: Progress, cancel: CancelToken,
           chunk: int, timeout: float) -> None:
    headers = {"User-Agent": f"Restora/{core.__version__}", "Accept-Encoding": "identity"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    request = urllib.request.Request(url, headers=headers)  # noqa: S310  (only http/https, checked above)
    host = urlsplit(url).netloc
    try:
        response = urllib.request.urlopen(request, timeout=timeout)  # noqa: S310  (scheme checked above)
    except urllib.error.HTTPError as e:
        if e.code == 416 and offset:  # our .part is not a prefix the server recognises: start again
            e.close()
            part.unlink(missing_ok=True)
            _fetch(url, part, 0, size, progress, cancel, chunk, timeout)
            return
        raise DownloadError(f"The server at {host} answered {e.code} {e.reason} for {url}.") from None
    except urllib.error.URLError as e:
        reason = getattr(e, "reason", e)
        raise DownloadError(f"Could not reach {host} ({reason}). Check the network connection, or download the "
                            f"file another way and use `restora models import FILE`.") from None
    except (socket.timeout, TimeoutError):
        raise DownloadError(f"{host} did not answer within {timeout:g} s; try again later.") from None
    except (HTTPException, OSError) as e:
        raise DownloadError(f"The connection to {host} failed ({e}); run the download again to resume.") from None

    with response:
        start = _resume_start(response, offset)
        length = response.headers.get("Content-Length")
        remaining = int(length) if length and length.isdigit() else None
        total = start + remaining if remaining is not None else size
        if size is not None and total is not None and total != size:
            raise DownloadError(f"{url} is {total:,} bytes but {size:,} were expected; the file on the server is "
                                f"not the one Restora knows.")
        done = start
        mode = "ab" if start else "wb"
        progress(done, total or 0, "Downloading")
        try:
            with part.open(mode) as out:
                if start:
                    out.truncate(start)
                while True:
                    cancel.raise_if_cancelled()
                    block = response.read(chunk)
                    if not block:
                        break
                    out.write(block)
                    done += len(block)
                    progress(done, total or 0, "Downloading")
        except CancelledError:
            raise CancelledError(f"Download cancelled; {done:,} bytes are kept and the next attempt resumes "
                                 f"from there.") from None
        except (HTTPException, OSError, socket.timeout) as e:
            raise DownloadError(f"The connection to {host} broke after {done:,} bytes ({e or type(e).__name__}); "
                                f"run the download again to resume.") from None
    if total is not None and done < total:
        raise DownloadError(f"The connection to {host} closed after {done:,} of {total:,} bytes; run the download "
                            f"again to resume.")


def _resume_start(response, offset: int) -> int:
    """Where the response's bytes begin in the file: `offset` for a matching 206, 0 when Range was ignored."""
    status = getattr(response, "status", 200)
    if status == 206:
        match = re.match(r"bytes (\d+)-", response.headers.get("Content-Range", ""))
        if match and int(match.group(1)) == offset:
            return offset
        raise DownloadError("The server resumed at another position than asked; delete the .part file and retry.")
    return 0  # 200: the whole file from the start


def _verify_and_publish(part: Path, dest: Path, expected: str | None, size: int | None,
                        cancel: CancelToken) -> None:
    actual_size = part.stat().st_size
    if size is not None and actual_size != size:
        part.unlink(missing_ok=True)
        raise DownloadError(f"The download is {actual_size:,} bytes, not the expected {size:,}; it was removed.")
    if expected is not None:
        actual = sha256_file(part, cancel)
        if actual != expected:
            part.unlink(missing_ok=True)
            raise ChecksumError(f"The downloaded file's SHA-256 is {actual}, not the expected {expected}: it is not "
                                f"the published file (damaged in transit or changed on the server). It was removed.")
    os.replace(part, dest)
