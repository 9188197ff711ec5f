"""Pixels into the Photo contract's arrays: Pillow for 8-bit data, OpenCV for 16-bit PNG/TIFF data (Pillow
would truncate it to 8 bits), and EXIF orientation applied on the arrays (Pillow's exif_transpose rewrites the
EXIF block and fails on damaged ones, which must not stop a photo from opening).
"""

from __future__ import annotations

import io
import warnings

import cv2
import numpy as np
from PIL import Image, ImageCms

from core import errors

Arrays = tuple[np.ndarray, "np.ndarray | None", bool]  # rgb, alpha, grayscale


def decode_with_opencv(data: bytes, name: str) -> Arrays:
    arr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if arr is None:
        raise errors.CorruptImageError(f"{name} is damaged or truncated and cannot be decoded.")
    if arr.dtype not in (np.uint8, np.uint16):
        raise errors.UnsupportedFormatError(f"{name} stores {arr.dtype} samples; Restora reads 8- and 16-bit images.")
    values = arr.astype(np.float32)
    values *= np.float32(1.0 / (65535.0 if arr.dtype == np.uint16 else 255.0))
    del arr
    if values.ndim == 2:
        return gray_to_rgb(values), None, True
    channels = values.shape[2]
    if channels == 1:
        return gray_to_rgb(values[:, :, 0]), None, True
    if channels == 2:
        return gray_to_rgb(values[:, :, 0]), np.ascontiguousarray(values[:, :, 1]), True
    rgb = np.ascontiguousarray(values[:, :, 2::-1])
    alpha = np.ascontiguousarray(values[:, :, 3]) if channels == 4 else None
    return rgb, alpha, False


def decode_with_pillow(im: Image.Image, icc: bytes | None, notes: list[str],
                       name: str) -> tuple[np.ndarray, np.ndarray | None, bool, bytes | None]:
    """Decode an opened image (not yet turned upright) into rgb, alpha, grayscale and the profile to keep."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        im.load()
    mode = im.mode
    if mode == "P" or mode == "PA":
        im = im.convert("RGBA" if ("transparency" in im.info or mode == "PA") else "RGB")
    elif mode == "1":
        im = im.convert("L")
    elif mode == "CMYK":
        im, icc = _cmyk_to_rgb(im, icc, notes)
    elif mode in ("YCbCr", "LAB", "HSV", "RGBX", "RGBa", "La"):
        im = im.convert("RGBA" if mode in ("RGBa", "La") else "RGB")
    mode = im.mode
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
        arr = np.asarray(im).astype(np.float32)
        arr /= 65535.0 if mode.startswith("I;16") or arr.max(initial=0) > 255 else 255.0
        return gray_to_rgb(np.clip(arr, 0, 1)), None, True, icc
    if mode == "F":
        arr = np.clip(np.asarray(im, dtype=np.float32), 0, 1)
        return gray_to_rgb(arr), None, True, icc
    if mode not in ("L", "LA", "RGB", "RGBA"):
        raise errors.UnsupportedFormatError(f"{name} uses the pixel mode {mode}, which Restora does not read.")
    arr = np.asarray(im).astype(np.float32)
    arr *= np.float32(1.0 / 255.0)
    if mode == "L":
        return gray_to_rgb(arr), None, True, icc
    if mode == "LA":
        return gray_to_rgb(arr[:, :, 0]), np.ascontiguousarray(arr[:, :, 1]), True, icc
    if mode == "RGB":
        return np.ascontiguousarray(arr), None, False, icc
    return np.ascontiguousarray(arr[:, :, :3]), np.ascontiguousarray(arr[:, :, 3]), False, icc


def _cmyk_to_rgb(im: Image.Image, icc: bytes | None, notes: list[str]) -> tuple[Image.Image, bytes | None]:
    """Convert CMYK through its ICC profile when it has one; the result is sRGB, so the profile goes."""
    if icc:
        try:
            src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            dst = ImageCms.createProfile("sRGB")
            out = ImageCms.profileToProfile(im, src, dst, outputMode="RGB")
            if out is not None:  # None only with inPlace=True
                notes.append("CMYK converted to sRGB through its ICC profile")
                return out, None
        except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
            pass
    notes.append("CMYK converted to RGB without a colour profile")
    return im.convert("RGB"), None


def gray_to_rgb(arr: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(np.repeat(arr[:, :, None], 3, axis=2), dtype=np.float32)


def apply_orientation(rgb: np.ndarray, alpha: np.ndarray | None,
                      orientation: int) -> tuple[np.ndarray, np.ndarray | None]:
    """Turn arrays upright by an EXIF orientation (1-8; 1 and anything else leave them as they are)."""
    def fix(a: np.ndarray) -> np.ndarray:
        if orientation == 2:
            a = a[:, ::-1]
        elif orientation == 3:
            a = a[::-1, ::-1]
        elif orientation == 4:
            a = a[::-1]
        elif orientation == 5:
            a = np.swapaxes(a, 0, 1)
        elif orientation == 6:
            a = np.swapaxes(a, 0, 1)[:, ::-1]
        elif orientation == 7:
            a = np.swapaxes(a, 0, 1)[::-1, ::-1]
        elif orientation == 8:
            a = np.swapaxes(a, 0, 1)[::-1]
        return np.ascontiguousarray(a)
    if orientation not in range(2, 9):
        return rgb, alpha
    return fix(rgb), None if alpha is None else fix(alpha)
