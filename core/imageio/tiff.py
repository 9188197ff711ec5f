"""TIFFs that Pillow cannot read faithfully, read with tifffile: floating-point samples, signed integers and
32-bit integers (scientific and HDR exports), and any layout Pillow does not recognise.

Floating-point values already in [0, 1] are kept as they are; other ranges are scaled to [0, 1] with a note.
Signed integers are scaled by their type's range: non-negative data by the type's maximum, data with negative
values from the type's minimum to its maximum, with a note. Every such photo keeps 16-bit precision on save.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from core import errors
from core.imageio.decoders import apply_orientation, gray_to_rgb
from core.imageio.limits import check_decode_memory, check_pixels
from core.photo import Photo, PhotoMeta

SAMPLE_FORMAT_TAG = 339
BITS_TAG = 258
ORIENTATION_TAG = 274
ICC_TAG = 34675
_MINISWHITE, _SEPARATED = 0, 5  # photometric interpretations


def needs_tifffile(im: object) -> bool:
    """Whether a TIFF that Pillow opened stores samples Pillow would misread (float, signed, over 16 bits)."""
    tags = getattr(im, "tag_v2", None)
    if tags is None:
        return False
    formats, bits = _as_tuple(tags.get(SAMPLE_FORMAT_TAG, (1,))), _as_tuple(tags.get(BITS_TAG, (8,)))
    try:
        return any(int(f) != 1 for f in formats) or max(int(b) for b in bits) > 16
    except (TypeError, ValueError):
        return False


def _as_tuple(value: object) -> tuple:
    return tuple(value) if isinstance(value, (tuple, list)) else (value,)


def decode_tiff(data: bytes, name: str, source: Path | None, max_pixels: int | None) -> Photo:
    """The first page of a TIFF through tifffile, scaled to [0, 1] (see the module's notes)."""
    import tifffile

    notes: list[str] = []
    with tifffile.TiffFile(io.BytesIO(data)) as tif:
        page = tif.pages.first
        height, width = int(page.imagelength), int(page.imagewidth)
        check_pixels(name, width, height, max_pixels)
        check_decode_memory(name, width, height, int(page.samplesperpixel), int(page.dtype.itemsize)
                            if page.dtype is not None else 8)
        arr = page.asarray()
        axes, photometric = str(page.axes), int(page.photometric)
        orientation = _tag_value(page, ORIENTATION_TAG)
        icc = _tag_value(page, ICC_TAG)
        pages = len(tif.pages)
    if pages > 1:
        notes.append(f"multi-page TIFF: only the first of its {pages} pages was opened")
    arr = _to_hwc(arr, axes, name)
    itemsize = arr.dtype.itemsize
    values = _scaled(arr, name, notes)
    channels = values.shape[2]
    if photometric == _SEPARATED:
        raise errors.UnsupportedFormatError(f"{name} stores CMYK {arr.dtype} samples, which Restora does not read.")
    if channels <= 2 and photometric == _MINISWHITE:
        values[:, :, 0] = 1.0 - values[:, :, 0]
    alpha = None
    if channels == 2 or channels >= 4:
        alpha = np.ascontiguousarray(values[:, :, 1 if channels == 2 else 3])
    if channels > 4:
        notes.append(f"{channels - 4} extra channels were ignored")
    gray = channels <= 2
    rgb = gray_to_rgb(values[:, :, 0]) if gray else np.ascontiguousarray(values[:, :, :3])
    rgb, alpha = apply_orientation(rgb, alpha, orientation if isinstance(orientation, int) else 1)
    meta = PhotoMeta(source_path=source, format="TIFF", bit_depth=8 if itemsize == 1 else 16, grayscale=gray,
                     icc_profile=icc if isinstance(icc, bytes) and icc else None, exif=None, notes=tuple(notes))
    return Photo(rgb=rgb, alpha=alpha, meta=meta)


def _tag_value(page: object, code: int) -> object:
    tag = page.tags.get(code)  # type: ignore[attr-defined]
    return None if tag is None else tag.value


def _to_hwc(arr: np.ndarray, axes: str, name: str) -> np.ndarray:
    """H x W x C from tifffile's axes ('YX', 'YXS', 'SYX'); other layouts are not photos."""
    if axes == "YX":
        return arr[:, :, None]
    if axes == "YXS":
        return arr
    if axes == "SYX":
        return np.moveaxis(arr, 0, -1)
    raise errors.UnsupportedFormatError(f"{name} stores its samples in a layout Restora does not read ({axes}).")


def _scaled(arr: np.ndarray, name: str, notes: list[str]) -> np.ndarray:
    """float32 values in [0, 1] from any real sample type."""
    kind = arr.dtype.kind
    if kind == "b":
        return arr.astype(np.float32)
    if kind == "f":
        return _scaled_float(arr, notes)
    if kind not in "iu":
        raise errors.UnsupportedFormatError(f"{name} stores {arr.dtype} samples, which Restora does not read.")
    info = np.iinfo(arr.dtype)
    values = arr.astype(np.float64 if info.bits > 16 else np.float32)
    bits = f"{info.bits}-bit"
    if kind == "u":
        values /= info.max
        if info.bits > 16:
            notes.append(f"{bits} samples were reduced to 16-bit precision")
    elif values.size == 0 or values.min() >= 0:
        values /= info.max
        notes.append(f"signed {bits} samples were read as 0 to {info.max}")
    else:
        values = (values - info.min) / (float(info.max) - info.min)
        notes.append(f"signed {bits} samples with negative values were mapped from {info.min}..{info.max} to 0..1")
    return np.ascontiguousarray(values, dtype=np.float32)


def _scaled_float(arr: np.ndarray, notes: list[str]) -> np.ndarray:
    values = arr.astype(np.float32)
    finite = np.isfinite(values)
    if not finite.all():
        values[~finite] = 0.0
        notes.append("samples that were not numbers (NaN or infinite) were set to 0")
    lo, hi = (float(values.min()), float(values.max())) if values.size else (0.0, 1.0)
    if lo >= 0.0 and hi <= 1.0:
        return values
    if hi > lo:
        values -= lo
        values /= hi - lo
        notes.append(f"floating-point values from {lo:.4g} to {hi:.4g} were scaled to 0..1")
    else:
        np.clip(values, 0.0, 1.0, out=values)
        notes.append(f"floating-point values of {lo:.4g} were clipped to 0..1")
    return values
