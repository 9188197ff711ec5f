"""Defects found by attack testing the photo loader and saver, one test each: damaged files that raised
exceptions the loader did not translate, a small file that needs gigabytes, a profile Restora wrote but could
not read back, Python reprs in messages, valid float and signed TIFFs called damaged, a FIFO called a folder,
and pages or frames dropped without a word."""

from __future__ import annotations

import io
import os
import stat
import struct
import sys
import time
import zlib

import numpy as np
import pytest
from PIL import Image, ImageOps

from core import errors
from core.imageio import decode_bytes_needed, decode_photo, encode_photo, load_photo, save_photo
from core.imageio.load import special_file_kind
from core.photo import Photo, PhotoMeta
from tests.fuzzing import (
    _pil,
    build_png,
    exif_bytes,
    find_entry,
    ifd_entries,
    image_seeds,
    png_chunks,
    set_entry,
    with_ihdr_field,
)


def _rgb(h: int = 12, w: int = 10) -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (h, w, 3), dtype=np.uint8)


# ------------------------------------------------------------------- exceptions the loader let through

def _exif_with_entry(tag: int, type_: int, count: int, value: int, orientation: int = 6) -> bytes:
    body = exif_bytes(orientation)[6:]
    _, _, entries = ifd_entries(body)
    order = "<" if body[:2] == b"II" else ">"
    pos = next(p for p in entries if struct.unpack(order + "H", body[p:p + 2])[0] == tag)
    return b"Exif\x00\x00" + set_entry(body, pos, type_=type_, count=count, value=value)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
@pytest.mark.parametrize("tag, type_, count, value, raised", [
    (0x011A, 1, 1, 0, "TypeError"),  # XResolution as a BYTE: Pillow cannot write it back
    (0x011A, 6, 1, 2**31, "struct.error"),  # an SBYTE out of range
    (0x010F, 5, 1, 0, "AttributeError"),  # Make as a RATIONAL
])
def test_damaged_exif_entries_do_not_stop_the_photo_and_orientation_still_applies(fmt, tag, type_, count, value,
                                                                                    raised):
    """Pillow's exif_transpose rewrote the EXIF block and raised these; orientation is now applied on the
    arrays, so the photo opens upright."""
    data = _pil(_rgb(12, 10), fmt, exif=_exif_with_entry(tag, type_, count, value, orientation=6),
                **({"lossless": True} if fmt == "WEBP" else {}))
    photo = decode_photo(data)
    assert photo.rgb.shape == (10, 12, 3)  # orientation 6: turned a quarter


def test_exif_orientation_matches_pillow_for_every_value():
    rgb = _rgb(6, 4)
    for orientation in range(1, 9):
        data = _pil(rgb, "PNG", exif=exif_bytes(orientation))
        expected = np.asarray(ImageOps.exif_transpose(Image.open(io.BytesIO(data))))
        assert np.array_equal(np.rint(decode_photo(data).rgb * 255).astype(np.uint8), expected), orientation


@pytest.mark.parametrize("offset, value, words", [(12, 7, "interlace method"), (12, 2, "interlace method"),
                                                  (11, 1, "filter method"), (10, 3, "compression method"),
                                                  (9, 5, "colour type"), (8, 3, "bit depth")])
def test_png_header_fields_the_specification_forbids_are_damage(offset, value, words):
    data = with_ihdr_field(_pil(_rgb(), "PNG"), offset, value)
    with pytest.raises(errors.CorruptImageError, match=f"damaged.*{words}"):
        decode_photo(data)


@pytest.mark.parametrize("type_", [2, 5, 7, 10, 11, 12, 16])  # ASCII, RATIONAL, UNDEFINED, SRATIONAL, FLOAT, ...
def test_tiff_strip_offsets_of_an_odd_type_are_damage(type_):
    """Pillow raised TypeError ('float' object cannot be interpreted as an integer) or OverflowError."""
    tiff = image_seeds()["tiff-8"]
    data = set_entry(tiff, find_entry(tiff, 273), type_=type_)
    with pytest.raises(errors.CorruptImageError, match="damaged"):
        decode_photo(data)


def test_unexpected_decoder_exceptions_become_corrupt_image_errors(monkeypatch):
    import core.imageio.load as load

    for kind in (KeyError, struct.error, TypeError, IndexError, AssertionError):
        def explode(*args, _kind=kind, **kwargs):
            raise _kind("boom")
        monkeypatch.setattr(load, "decode_with_pillow", explode)
        with pytest.raises(errors.CorruptImageError, match="damaged"):
            decode_photo(_pil(_rgb(), "JPEG"))


# ------------------------------------------------------------------------------ memory before decoding

def test_decode_memory_estimate_of_the_17000_pixel_png():
    assert decode_bytes_needed(17000, 17000, 3, 1) > 9e9  # what a 879 KB PNG of that size needs decoded


def test_a_small_file_claiming_a_huge_image_is_refused_before_decoding(monkeypatch):
    ihdr = struct.pack(">IIBBBBB", 17000, 17000, 8, 2, 0, 0, 0)
    data = build_png([(b"IHDR", ihdr), (b"IDAT", zlib.compress(b"\x00" * 1000)), (b"IEND", b"")])
    monkeypatch.setenv("RESTORA_MAX_DECODE_BYTES", str(4_000_000_000))
    start = time.perf_counter()
    with pytest.raises(errors.ImageTooLargeError, match=r"17000 x 17000.*about \d+\.\d GB of memory"):
        decode_photo(data)
    assert time.perf_counter() - start < 5


@pytest.mark.parametrize("seed", ["png-rgb", "jpeg", "tiff-8", "tiff-float", "webp", "bmp"])
def test_a_low_memory_override_refuses_with_a_clear_message(monkeypatch, seed):
    monkeypatch.setenv("RESTORA_MAX_DECODE_BYTES", "1000")
    with pytest.raises(errors.ImageTooLargeError, match="RESTORA_MAX_DECODE_BYTES"):
        decode_photo(image_seeds()[seed])
    monkeypatch.setenv("RESTORA_MAX_DECODE_BYTES", str(50_000_000))
    assert sorted(decode_photo(image_seeds()[seed]).rgb.shape[:2]) == [10, 12]


def test_a_file_larger_than_the_memory_allowed_is_not_read(tmp_path, monkeypatch):
    path = tmp_path / "big.png"
    path.write_bytes(_pil(_rgb(64, 64), "PNG"))
    monkeypatch.setenv("RESTORA_MAX_DECODE_BYTES", "100")
    with pytest.raises(errors.ImageTooLargeError, match="big.png is"):
        load_photo(path)


@pytest.mark.parametrize("variable", ["RESTORA_MAX_DECODE_BYTES", "RESTORA_MAX_PIXELS"])
def test_a_malformed_limit_variable_is_a_clear_error(monkeypatch, variable):
    monkeypatch.setenv(variable, "lots")
    with pytest.raises(errors.ImageError, match=f"{variable} must be"):
        decode_photo(image_seeds()["png-rgb"])


# --------------------------------------------------------------------- save and load agree on profiles

@pytest.mark.parametrize("ext, depth", [(".png", 8), (".png", 16), (".tif", 16), (".jpg", 8), (".webp", 8)])
def test_a_colour_profile_over_a_megabyte_round_trips(tmp_path, ext, depth):
    """Pillow refuses a PNG iCCP chunk over 1 MB decompressed: Restora saved files it could not open."""
    icc = np.random.default_rng(1).integers(0, 256, 2_500_000, dtype=np.uint8).tobytes()
    photo = Photo(np.random.default_rng(2).random((8, 8, 3), dtype=np.float32),
                  meta=PhotoMeta(icc_profile=icc, bit_depth=depth))
    path = save_photo(photo, tmp_path / f"big-profile{ext}")
    assert load_photo(path).meta.icc_profile == icc


def test_a_profile_too_large_for_any_format_is_left_out_on_save_and_on_load(tmp_path, monkeypatch):
    import core.imageio.formats as formats
    import core.imageio.save as save

    monkeypatch.setattr(save, "MAX_ICC_BYTES", 1000)
    photo = Photo(np.zeros((4, 4, 3), np.float32), meta=PhotoMeta(icc_profile=b"x" * 5000))
    assert load_photo(save_photo(photo, tmp_path / "a.png")).meta.icc_profile is None
    monkeypatch.setattr(formats, "MAX_ICC_BYTES", 1000)
    chunks = png_chunks(_pil(_rgb(), "PNG"))
    chunks.insert(1, (b"iCCP", b"ICC Profile\x00\x00" + zlib.compress(b"x" * 5000)))
    loaded = decode_photo(build_png(chunks))
    assert loaded.meta.icc_profile is None and any("colour profile" in n for n in loaded.meta.notes)


def test_a_damaged_colour_profile_is_ignored_with_a_note():
    chunks = png_chunks(_pil(_rgb(), "PNG"))
    chunks.insert(1, (b"iCCP", b"ICC Profile\x00\x00" + b"not zlib at all"))
    photo = decode_photo(build_png(chunks))
    assert photo.meta.icc_profile is None and any("damaged colour profile" in n for n in photo.meta.notes)


def test_a_text_chunk_too_large_for_pillow_is_skipped():
    chunks = png_chunks(_pil(_rgb(), "PNG"))
    chunks.insert(1, (b"zTXt", b"Comment\x00\x00" + zlib.compress(b"a" * 3_000_000)))
    photo = decode_photo(build_png(chunks))
    assert photo.rgb.shape == (12, 10, 3) and any("text chunk" in n for n in photo.meta.notes)


def test_exif_too_long_for_a_jpeg_is_left_out_instead_of_failing_the_save(tmp_path):
    exif = Image.Exif()
    exif[0x010E] = "x" * 70_000
    photo = Photo(np.zeros((4, 4, 3), np.float32), meta=PhotoMeta(exif=exif.tobytes()))
    saved = save_photo(photo, tmp_path / "a.jpg")
    assert load_photo(saved).rgb.shape == (4, 4, 3)
    assert encode_photo(photo, "PNG", exif=photo.meta.exif)  # PNG holds it


# --------------------------------------------------------------------------------- clear messages

@pytest.mark.parametrize("data", [b"II*\x00" + b"\x00" * 40, b"MM\x00*" + b"\xff" * 8, b"RIFF\x00\x00\x00\x00WEBPxxxx",
                                  b"BM" + b"\x00" * 30, b"\xff\xd8\xff" + b"\x00" * 20])
def test_messages_from_bytes_name_no_python_objects(tmp_path, data):
    """Pillow says 'cannot identify image file <_io.BytesIO object at 0x...>'."""
    for load in (lambda: decode_photo(data), lambda: load_photo(_write(tmp_path / "x.img", data))):
        with pytest.raises(errors.ImageError) as info:
            load()
        assert " object at 0x" not in str(info.value) and "BytesIO" not in str(info.value)


def _write(path, data):
    path.write_bytes(data)
    return path


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_fifo_is_not_a_regular_file_and_is_never_opened(tmp_path):
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    with pytest.raises(errors.NotAFileError, match="named pipe.*not a regular file") as info:
        load_photo(fifo)  # opening it would block until a writer came
    assert "folder" not in str(info.value)


def test_special_files_are_named():
    assert special_file_kind(stat.S_IFSOCK) == "a socket"
    assert special_file_kind(stat.S_IFCHR) == "a device" and special_file_kind(stat.S_IFBLK) == "a device"


def test_a_link_to_a_missing_file_says_so(tmp_path):
    if sys.platform == "win32":
        pytest.skip("symlinks need privileges on Windows")
    (tmp_path / "link.png").symlink_to(tmp_path / "gone.png")
    with pytest.raises(errors.ImageNotFoundError, match="link to a file that is gone"):
        load_photo(tmp_path / "link.png")


# ------------------------------------------------------------------------- float and signed TIFFs

def _tiff(arr: np.ndarray, **params) -> bytes:
    import tifffile

    buf = io.BytesIO()
    tifffile.imwrite(buf, arr, **params)
    return buf.getvalue()


def test_float_tiff_in_range_is_kept_as_it_is():
    arr = np.random.default_rng(0).random((6, 5, 3), dtype=np.float32)
    photo = decode_photo(_tiff(arr, photometric="rgb"))
    assert np.array_equal(photo.rgb, arr) and photo.meta.notes == () and photo.meta.bit_depth == 16


def test_float_tiff_out_of_range_is_normalised_with_a_note():
    arr = np.linspace(-1, 3, 6 * 5, dtype=np.float32).reshape(6, 5)
    photo = decode_photo(_tiff(arr))
    assert photo.meta.grayscale and photo.rgb.min() == 0.0 and photo.rgb.max() == 1.0
    assert np.allclose(photo.rgb[:, :, 0], (arr + 1) / 4, atol=1e-6)
    assert any("scaled to 0..1" in n for n in photo.meta.notes)


def test_float_tiff_nan_becomes_zero_with_a_note():
    arr = np.full((4, 4), 0.5, np.float32)
    arr[0, 0] = np.nan
    photo = decode_photo(_tiff(arr))
    assert photo.rgb[0, 0, 0] == 0.0 and photo.rgb[1, 1, 0] == 0.5 and any("NaN" in n for n in photo.meta.notes)


def test_signed_tiffs_are_scaled():
    positive = np.array([[0, 16383, 32767]], np.int16)
    photo = decode_photo(_tiff(positive))
    assert np.allclose(photo.rgb[0, :, 0], positive[0] / 32767) and any("signed 16-bit" in n for n in photo.meta.notes)
    negative = np.array([[-32768, 0, 32767]], np.int16)
    assert np.allclose(decode_photo(_tiff(negative)).rgb[0, :, 0], (negative[0].astype(np.float64) + 32768) / 65535)


def test_float_rgba_and_uint32_tiffs():
    rgba = np.random.default_rng(0).random((4, 4, 4), dtype=np.float32)
    photo = decode_photo(_tiff(rgba, photometric="rgb", extrasamples=["unassalpha"]))
    assert np.array_equal(photo.rgb, rgba[:, :, :3]) and np.array_equal(photo.alpha, rgba[:, :, 3])
    deep = np.array([[0, 2**31, 2**32 - 1]], np.uint32)
    assert np.allclose(decode_photo(_tiff(deep)).rgb[0, :, 0], deep[0] / (2**32 - 1))


def test_float_tiff_orientation_is_applied():
    import tifffile

    arr = np.zeros((2, 3), np.float32)
    arr[0, 0] = 1.0
    buf = io.BytesIO()
    tifffile.imwrite(buf, arr, extratags=[(274, 3, 1, 6, True)])
    photo = decode_photo(buf.getvalue())
    assert photo.rgb.shape == (3, 2, 3) and photo.rgb[0, 1, 0] == 1.0


# -------------------------------------------------------------------------- pages and frames said

@pytest.mark.parametrize("seed, words", [("tiff-pages", "multi-page TIFF: only the first of its 3 pages"),
                                         ("webp-animated", "animated WebP: only the first of its 3 frames")])
def test_extra_pages_and_frames_are_noted(seed, words):
    assert any(words in n for n in decode_photo(image_seeds()[seed]).meta.notes)


def test_animated_png_and_multi_page_float_tiff_are_noted():
    import tifffile

    frames = [Image.fromarray(np.full((4, 4, 3), v, np.uint8)) for v in (0, 90, 180)]
    buf = io.BytesIO()
    frames[0].save(buf, format="PNG", save_all=True, append_images=frames[1:])
    assert any("animated PNG" in n for n in decode_photo(buf.getvalue()).meta.notes)
    buf = io.BytesIO()
    with tifffile.TiffWriter(buf) as tif:
        tif.write(np.zeros((3, 3), np.float32))
        tif.write(np.ones((3, 3), np.float32))
    assert any("2 pages" in n for n in decode_photo(buf.getvalue()).meta.notes)


def test_a_still_image_has_no_frame_note():
    assert decode_photo(_pil(_rgb(), "WEBP")).meta.notes == ()
    assert decode_photo(_pil(_rgb(), "PNG")).meta.notes == ()
