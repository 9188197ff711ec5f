"""Loading every supported kind of file, from files the tests generate."""

from __future__ import annotations

import io

import cv2
import numpy as np
import pytest
import tifffile
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from PIL import Image, ImageCms

from core.imageio import decode_photo, load_photo
from core.pixels import to_uint8, to_uint16
from tests.conftest import gradient_image

SRGB_ICC = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def _save_pil(im: Image.Image, path, **kw):
    im.save(path, **kw)
    return path


def test_png_rgb8_exact(tmp_path):
    img = gradient_image()
    p = _save_pil(Image.fromarray(img), tmp_path / "a.png")
    photo = load_photo(p)
    assert photo.rgb.dtype == np.float32 and photo.rgb.shape == (48, 64, 3)
    assert photo.meta.bit_depth == 8 and photo.meta.format == "PNG" and not photo.meta.grayscale
    assert np.array_equal(to_uint8(photo.rgb), img)
    assert photo.alpha is None


def test_png_rgb16_keeps_precision(tmp_path, rng):
    img16 = rng.integers(0, 65536, size=(20, 30, 3), dtype=np.uint16)
    ok, buf = cv2.imencode(".png", img16[:, :, ::-1])
    p = tmp_path / "deep.png"
    p.write_bytes(buf.tobytes())
    photo = load_photo(p)
    assert photo.meta.bit_depth == 16
    assert np.array_equal(to_uint16(photo.rgb), img16)


def test_png_gray16(tmp_path, rng):
    g16 = rng.integers(0, 65536, size=(10, 12), dtype=np.uint16)
    p = tmp_path / "g16.png"
    p.write_bytes(cv2.imencode(".png", g16)[1].tobytes())
    photo = load_photo(p)
    assert photo.meta.grayscale and photo.meta.bit_depth == 16
    assert np.array_equal(to_uint16(photo.rgb[:, :, 1]), g16)


def test_png_gray_and_gray_alpha(tmp_path):
    g = gradient_image()[:, :, 0]
    a = gradient_image()[:, :, 1]
    p1 = _save_pil(Image.fromarray(g, "L"), tmp_path / "g.png")
    p2 = _save_pil(Image.fromarray(np.dstack([g, a]), "LA"), tmp_path / "ga.png")
    ph1, ph2 = load_photo(p1), load_photo(p2)
    assert ph1.meta.grayscale and ph1.alpha is None
    assert np.array_equal(to_uint8(ph1.rgb[:, :, 2]), g)
    assert ph2.meta.grayscale and np.array_equal(to_uint8(ph2.alpha), a)
    assert np.array_equal(to_uint8(ph2.rgb[:, :, 0]), g)


def test_png_palette_with_transparency(tmp_path):
    pal = Image.new("P", (8, 4))
    pal.putpalette([255, 0, 0, 0, 255, 0, 0, 0, 255] + [0] * (256 * 3 - 9))
    pal.putdata([0, 1, 2, 0] * 8)
    p = _save_pil(pal, tmp_path / "pal.png", transparency=2)
    photo = load_photo(p)
    assert np.allclose(photo.rgb[0, 0], [1, 0, 0]) and np.allclose(photo.rgb[0, 1], [0, 1, 0])
    assert photo.alpha is not None and photo.alpha[0, 2] == 0 and photo.alpha[0, 0] == 1


def test_png_rgba(tmp_path):
    img = gradient_image()
    a = np.full(img.shape[:2], 77, np.uint8)
    p = _save_pil(Image.fromarray(np.dstack([img, a]), "RGBA"), tmp_path / "rgba.png")
    photo = load_photo(p)
    assert np.array_equal(to_uint8(photo.rgb), img) and np.array_equal(to_uint8(photo.alpha), a)


@pytest.mark.parametrize("orientation", [1, 3, 6, 8])
def test_jpeg_exif_orientation_applied_and_icc_kept(tmp_path, orientation):
    img = np.zeros((40, 60, 3), np.uint8)
    img[:10, :10] = (255, 255, 255)  # a white patch in the top-left corner of the stored pixels
    exif = Image.Exif()
    exif[0x0112] = orientation
    p = _save_pil(Image.fromarray(img), tmp_path / "o.jpg", exif=exif.tobytes(), icc_profile=SRGB_ICC, quality=95)
    photo = load_photo(p)
    expected_shape = (60, 40) if orientation in (6, 8) else (40, 60)
    assert photo.rgb.shape[:2] == expected_shape
    corner = {1: (0, 0), 3: (-1, -1), 6: (0, -1), 8: (-1, 0)}[orientation]  # where the patch must end up
    assert photo.rgb[corner[0], corner[1]].mean() > 0.9
    assert photo.meta.icc_profile == SRGB_ICC
    assert photo.meta.exif is not None


def test_jpeg_cmyk_converted(tmp_path):
    cmyk = Image.new("CMYK", (16, 8), (0, 255, 255, 0))  # pure red in CMYK
    p = _save_pil(cmyk, tmp_path / "cmyk.jpg", quality=100)
    photo = load_photo(p)
    assert photo.rgb.shape == (8, 16, 3)
    r, g, b = photo.rgb[4, 8]
    assert r > 0.9 and g < 0.1 and b < 0.1
    assert any("CMYK" in n for n in photo.meta.notes)


def test_tiff_8_and_16_bit(tmp_path, rng):
    img = gradient_image()
    p8 = _save_pil(Image.fromarray(img), tmp_path / "a.tif")
    assert np.array_equal(to_uint8(load_photo(p8).rgb), img)
    img16 = rng.integers(0, 65536, size=(12, 14, 3), dtype=np.uint16)
    p16 = tmp_path / "b.tiff"
    tifffile.imwrite(p16, img16, photometric="rgb")
    photo = load_photo(p16)
    assert photo.meta.bit_depth == 16 and photo.meta.format == "TIFF"
    assert np.array_equal(to_uint16(photo.rgb), img16)


def test_bmp_and_webp(tmp_path):
    img = gradient_image()
    pb = _save_pil(Image.fromarray(img), tmp_path / "a.bmp")
    pw = _save_pil(Image.fromarray(img), tmp_path / "a.webp", lossless=True)
    assert np.array_equal(to_uint8(load_photo(pb).rgb), img)
    ph = load_photo(pw)
    assert ph.meta.format == "WEBP" and np.array_equal(to_uint8(ph.rgb), img)


@pytest.mark.parametrize("name", ["фото 写真 é.png", "spaces and 'quotes'.jpg", "ünï©ødé/dir ✓/x.png"])
def test_non_ascii_paths(tmp_path, name):
    p = tmp_path / name
    p.parent.mkdir(parents=True, exist_ok=True)
    _save_pil(Image.fromarray(gradient_image()), p, format="PNG" if name.endswith(".png") else "JPEG")
    photo = load_photo(p)
    assert photo.meta.source_path == p and photo.rgb.shape == (48, 64, 3)


@settings(max_examples=25, deadline=None)
@given(arrays(np.uint8, st.tuples(st.integers(1, 9), st.integers(1, 9), st.just(3))))
def test_png_bytes_round_trip_any_pixels(pixels):
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="PNG")
    assert np.array_equal(to_uint8(decode_photo(buf.getvalue()).rgb), pixels)
