"""Saving: bit depth, ICC and EXIF kept, atomic writes, the source never overwritten unasked."""

from __future__ import annotations

import errno
import os

import cv2
import numpy as np
import pytest
import tifffile
from PIL import Image, ImageCms

from core import errors
from core.imageio import load_photo, save_photo
from core.photo import Photo
from core.pixels import to_uint8, to_uint16
from tests.conftest import gradient_image

SRGB_ICC = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def _rotated_jpeg(tmp_path):
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x010F] = "TestCam"  # Make
    p = tmp_path / "src.jpg"
    Image.fromarray(gradient_image()).save(p, exif=exif.tobytes(), icc_profile=SRGB_ICC, quality=95)
    return p


@pytest.mark.parametrize("ext", [".jpg", ".png", ".webp"])
def test_icc_and_exif_kept_orientation_reset(tmp_path, ext):
    photo = load_photo(_rotated_jpeg(tmp_path))
    out = save_photo(photo, tmp_path / f"out{ext}")
    with Image.open(out) as im:
        assert im.info.get("icc_profile") == SRGB_ICC
        exif = im.getexif()
        assert exif.get(0x0112) == 1 and exif.get(0x010F) == "TestCam"
    again = load_photo(out)
    assert again.rgb.shape == photo.rgb.shape  # not rotated a second time


def test_png16_round_trip_with_icc(tmp_path, rng):
    img16 = rng.integers(0, 65536, size=(9, 11, 3), dtype=np.uint16)
    src = tmp_path / "deep.png"
    src.write_bytes(cv2.imencode(".png", img16[:, :, ::-1])[1].tobytes())
    photo = load_photo(src).with_meta(icc_profile=SRGB_ICC)
    out = save_photo(photo, tmp_path / "copy.png")
    back = load_photo(out)
    assert back.meta.bit_depth == 16 and np.array_equal(to_uint16(back.rgb), img16)
    assert back.meta.icc_profile == SRGB_ICC


def test_png16_with_alpha(tmp_path, rng):
    rgb = rng.random((6, 7, 3), dtype=np.float32)
    alpha = rng.random((6, 7), dtype=np.float32)
    photo = Photo(rgb=rgb, alpha=alpha).with_meta(bit_depth=16)
    back = load_photo(save_photo(photo, tmp_path / "a.png"))
    assert np.array_equal(to_uint16(back.alpha), to_uint16(alpha))
    assert np.array_equal(to_uint16(back.rgb), to_uint16(rgb))


def test_tiff16_round_trip_with_icc(tmp_path, rng):
    rgb = rng.random((10, 12, 3), dtype=np.float32)
    photo = Photo(rgb=rgb).with_meta(bit_depth=16, icc_profile=SRGB_ICC)
    out = save_photo(photo, tmp_path / "x.tif")
    with tifffile.TiffFile(out) as tf:
        page = tf.pages[0]
        assert page.dtype == np.uint16
        assert page.tags[34675].value == SRGB_ICC
    back = load_photo(out)
    assert back.meta.bit_depth == 16 and np.array_equal(to_uint16(back.rgb), to_uint16(rgb))


def test_sixteen_bit_falls_to_eight_for_jpeg(tmp_path, rng):
    photo = Photo(rgb=rng.random((8, 8, 3), dtype=np.float32)).with_meta(bit_depth=16)
    back = load_photo(save_photo(photo, tmp_path / "x.jpg", quality=100))
    assert back.meta.bit_depth == 8


def test_gray_stays_gray(tmp_path):
    g = gradient_image()[:, :, 0]
    src = tmp_path / "g.png"
    Image.fromarray(g, "L").save(src)
    out = save_photo(load_photo(src), tmp_path / "g2.png")
    with Image.open(out) as im:
        assert im.mode == "L"
    assert np.array_equal(to_uint8(load_photo(out).rgb[:, :, 0]), g)


def test_refuses_to_overwrite_source(tmp_path):
    src = tmp_path / "orig.png"
    Image.fromarray(gradient_image()).save(src)
    before = src.read_bytes()
    photo = load_photo(src)
    brighter = photo.with_rgb(np.clip(photo.rgb + 0.2, 0, 1))
    with pytest.raises(errors.OverwriteRefusedError, match="original"):
        save_photo(brighter, src)
    assert src.read_bytes() == before
    save_photo(brighter, src, overwrite_source=True)
    assert src.read_bytes() != before


def test_atomic_write_leaves_no_temp_files(tmp_path):
    photo = Photo.from_uint8(gradient_image())
    save_photo(photo, tmp_path / "a.png")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.png"]


def test_disk_full_keeps_old_file_and_cleans_up(tmp_path, monkeypatch):
    target = tmp_path / "result.png"
    target.write_bytes(b"previous result")
    real_fdopen = os.fdopen

    class FullDisk:
        def __init__(self, fh):
            self.fh = fh

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.fh.close()

        def write(self, data):
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fdopen", lambda fd, mode: FullDisk(real_fdopen(fd, mode)))
    with pytest.raises(errors.DiskFullError, match="full"):
        save_photo(Photo.from_uint8(gradient_image()), target)
    assert target.read_bytes() == b"previous result"
    assert [p.name for p in tmp_path.iterdir()] == ["result.png"]


def test_unknown_extension(tmp_path):
    with pytest.raises(errors.UnsupportedFormatError, match="Cannot save"):
        save_photo(Photo.from_uint8(gradient_image()), tmp_path / "x.gif")


def test_missing_folder(tmp_path):
    with pytest.raises(errors.ImageWriteError, match="does not exist"):
        save_photo(Photo.from_uint8(gradient_image()), tmp_path / "no" / "x.png")


def test_jpeg_drops_alpha_cleanly(tmp_path):
    photo = Photo.from_uint8(gradient_image(), alpha=np.full((48, 64), 128, np.uint8))
    back = load_photo(save_photo(photo, tmp_path / "x.jpg"))
    assert back.alpha is None and back.rgb.shape == (48, 64, 3)


@pytest.mark.parametrize("quality", [75, 95, 100])
def test_noisy_jpeg_encodes(tmp_path, rng, quality):
    """Pure noise compresses worst: Pillow's default optimize buffer is too small for it."""
    photo = Photo(rgb=rng.random((300, 320, 3), dtype=np.float32)).with_meta(icc_profile=SRGB_ICC)
    back = load_photo(save_photo(photo, tmp_path / "noise.jpg", quality=quality))
    assert back.rgb.shape == (300, 320, 3) and back.meta.icc_profile == SRGB_ICC


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_saved_file_has_normal_permissions(tmp_path):
    target = save_photo(Photo.from_uint8(gradient_image()), tmp_path / "a.png")
    umask = os.umask(0)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask
    target.chmod(0o640)
    save_photo(Photo.from_uint8(gradient_image()), target)
    assert target.stat().st_mode & 0o777 == 0o640  # replacing a file keeps its permissions
