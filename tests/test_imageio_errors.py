"""Every bad input gets a typed error with a message a person understands, never a crash or a hang."""

from __future__ import annotations

import io
import os
import struct
import time
import zlib

import numpy as np
import pytest
from PIL import Image

from core import errors
from core.imageio import load_photo
from tests.conftest import gradient_image


def _jpeg_bytes() -> bytes:
    buf = io.BytesIO()
    noisy = np.random.default_rng(0).integers(0, 256, size=(256, 256, 3), dtype=np.uint8)
    Image.fromarray(noisy).save(buf, format="JPEG", quality=90)
    return buf.getvalue()


def _png_header_claiming(width: int, height: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = struct.pack(">I", len(ihdr)) + b"IHDR" + ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    idat_payload = zlib.compress(b"\x00" * 64)
    crc = struct.pack(">I", zlib.crc32(b"IDAT" + idat_payload))
    idat = struct.pack(">I", len(idat_payload)) + b"IDAT" + idat_payload + crc
    return b"\x89PNG\r\n\x1a\n" + chunk + idat


def test_zero_byte_file(tmp_path):
    p = tmp_path / "empty.jpg"
    p.write_bytes(b"")
    with pytest.raises(errors.EmptyImageError, match="empty"):
        load_photo(p)


@pytest.mark.parametrize("keep", [0.05, 0.5, 0.95])
def test_truncated_jpeg(tmp_path, keep):
    data = _jpeg_bytes()
    p = tmp_path / "cut.jpg"
    p.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(errors.CorruptImageError, match="damaged or truncated"):
        load_photo(p)


def test_text_renamed_png(tmp_path):
    p = tmp_path / "notes.png"
    p.write_text("shopping list: milk, eggs\n", encoding="utf-8")
    with pytest.raises(errors.UnsupportedFormatError, match="text"):
        load_photo(p)


def test_unsupported_format(tmp_path):
    p = tmp_path / "anim.gif"
    Image.new("P", (4, 4)).save(p, format="GIF")
    with pytest.raises(errors.UnsupportedFormatError, match="GIF"):
        load_photo(p)


def test_huge_header_rejected_quickly(tmp_path):
    p = tmp_path / "bomb.png"
    p.write_bytes(_png_header_claiming(100_000, 100_000))
    start = time.perf_counter()
    with pytest.raises(errors.ImageTooLargeError, match="100000 x 100000"):
        load_photo(p)
    assert time.perf_counter() - start < 5  # generous; the point is that nothing is decoded


def test_pixel_limit_is_configurable(tmp_path, monkeypatch):
    p = tmp_path / "small.png"
    Image.fromarray(gradient_image(40, 40)).save(p)
    with pytest.raises(errors.ImageTooLargeError):
        load_photo(p, max_pixels=1000)
    monkeypatch.setenv("RESTORA_MAX_PIXELS", "1000")
    with pytest.raises(errors.ImageTooLargeError):
        load_photo(p)
    assert load_photo(p, max_pixels=1600).size == (40, 40)


def test_directory(tmp_path):
    with pytest.raises(errors.NotAFileError, match="folder"):
        load_photo(tmp_path)


def test_missing_file(tmp_path):
    with pytest.raises(errors.ImageNotFoundError, match="No file"):
        load_photo(tmp_path / "nope.png")


def test_unreadable_file_mapped_to_permission_error(tmp_path, monkeypatch):
    p = tmp_path / "locked.png"
    Image.fromarray(gradient_image()).save(p)

    def deny(self):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(type(p), "read_bytes", deny)
    with pytest.raises(errors.ImagePermissionError, match="permission denied"):
        load_photo(p)


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads any file")
def test_unreadable_file_real_permissions(tmp_path):
    p = tmp_path / "locked.png"
    Image.fromarray(gradient_image()).save(p)
    p.chmod(0)
    with pytest.raises(errors.ImagePermissionError):
        load_photo(p)


def test_corrupt_png_body(tmp_path):
    buf = io.BytesIO()
    Image.fromarray(gradient_image()).save(buf, format="PNG")
    data = bytearray(buf.getvalue())
    data[60:80] = b"\x00" * 20  # smash the compressed pixel data
    p = tmp_path / "smashed.png"
    p.write_bytes(bytes(data))
    with pytest.raises(errors.CorruptImageError, match="checksum"):
        load_photo(p)


def test_truncated_16_bit_png(tmp_path):
    import cv2

    img = (np.arange(64 * 64 * 3, dtype=np.uint32).reshape(64, 64, 3) * 37 % 65536).astype(np.uint16)
    data = cv2.imencode(".png", img)[1].tobytes()
    p = tmp_path / "cut16.png"
    p.write_bytes(data[: len(data) // 2])
    with pytest.raises(errors.CorruptImageError):
        load_photo(p)


def test_errors_share_one_base():
    assert issubclass(errors.CorruptImageError, errors.RestoraError)
    assert issubclass(errors.ImageNotFoundError, FileNotFoundError)
