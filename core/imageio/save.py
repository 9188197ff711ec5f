"""Writing photos: the format from the extension, bit depth kept where the format allows, ICC and EXIF kept,
written atomically (core.fileio), never over the photo's own source unless asked.

Metadata a format cannot hold is left out rather than failing the save: a colour profile over
MAX_ICC_BYTES (which Restora could not read back) and EXIF over a JPEG's 64 KB segment are dropped, with a
warning in the log.
"""

from __future__ import annotations

import io
import logging
import os
import zlib
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from core import errors
from core.fileio import atomic_write
from core.imageio.formats import MAX_ICC_BYTES
from core.imageio.load import ORIENTATION_TAG
from core.photo import Photo

SAVE_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".tif": "TIFF", ".tiff": "TIFF",
                ".webp": "WEBP", ".bmp": "BMP"}
SIXTEEN_BIT_FORMATS = ("PNG", "TIFF")
MAX_JPEG_EXIF_BYTES = 65533 - 6  # one APP1 segment, less its "Exif\0\0" prefix
# zlib level for PNG (8-bit through Pillow, 16-bit through OpenCV). Levels 1-3 use zlib's fast matcher: on a
# 12-megapixel photo level 2 encodes 2.5-4x faster than the old 6 for files 3-13% larger (`restora bench`
# compares the levels in full mode). PNG stays lossless at every level.
PNG_COMPRESS_LEVEL = 2
_TIFF_ICC_TAG = 34675
log = logging.getLogger(__name__)


def save_photo(photo: Photo, path: str | os.PathLike[str], *, quality: int = 95, bit_depth: int | None = None,
               keep_metadata: bool = True, overwrite_source: bool = False, lossless: bool = False) -> Path:
    """Write a photo atomically; the format comes from the extension.

    bit_depth defaults to the source's where the format can hold it (16-bit for PNG and TIFF).
    Refuses to replace the photo's own source file unless overwrite_source is True.
    """
    target = Path(path)
    fmt = SAVE_FORMATS.get(target.suffix.lower())
    if fmt is None:
        raise errors.UnsupportedFormatError(
            f"Cannot save as {target.suffix or 'a file without extension'}: use one of "
            f"{', '.join(sorted(set(SAVE_FORMATS)))}.")
    source = photo.meta.source_path
    if (not overwrite_source and source is not None and target.exists()
            and _same_file(target, source)):
        raise errors.OverwriteRefusedError(
            f"Refusing to overwrite the original photo {source}. Choose another name, or confirm the overwrite.")
    if target.exists() and target.is_dir():
        raise errors.NotAFileError(f"{target} is a folder.")
    depth = bit_depth or (photo.meta.bit_depth if fmt in SIXTEEN_BIT_FORMATS else 8)
    if depth not in (8, 16):
        raise ValueError(f"bit_depth must be 8 or 16, got {depth}")
    if depth == 16 and fmt not in SIXTEEN_BIT_FORMATS:
        depth = 8
    icc = photo.meta.icc_profile if keep_metadata else None
    exif = upright_exif(photo.meta.exif) if keep_metadata else None
    data = encode_photo(photo, fmt, depth=depth, quality=quality, icc=icc, exif=exif, lossless=lossless)
    write_atomic(target, data)
    return target


def fitting_metadata(fmt: str, icc: bytes | None, exif: bytes | None) -> tuple[bytes | None, bytes | None]:
    """The profile and EXIF a file of this format can hold and Restora can read back."""
    if icc and len(icc) > MAX_ICC_BYTES:
        log.warning("The colour profile (%d bytes) is over %d bytes and was not saved.", len(icc), MAX_ICC_BYTES)
        icc = None
    if exif and fmt == "JPEG" and len(exif) > MAX_JPEG_EXIF_BYTES + (6 if exif.startswith(b"Exif\0\0") else 0):
        log.warning("The EXIF data (%d bytes) does not fit a JPEG and was not saved.", len(exif))
        exif = None
    return icc, exif


def encode_photo(photo: Photo, fmt: str, *, depth: int = 8, quality: int = 95, icc: bytes | None = None,
                 exif: bytes | None = None, lossless: bool = False) -> bytes:
    """Encode to bytes in memory (used by save_photo; also handy for previews and tests)."""
    icc, exif = fitting_metadata(fmt, icc, exif)
    keep_alpha = photo.alpha is not None and fmt != "JPEG"
    gray = photo.meta.grayscale and _channels_equal(photo.rgb)
    if depth == 16:
        return _encode_sixteen_bit(photo, fmt, keep_alpha, gray, icc, exif)
    rgb8 = _quantize(photo.rgb, 255, np.uint8)
    if gray:
        pixels = rgb8[:, :, 0]
        mode = "L"
    else:
        pixels, mode = rgb8, "RGB"
    if keep_alpha:
        a8 = _quantize(photo.alpha, 255, np.uint8)  # type: ignore[arg-type]
        pixels = np.dstack([pixels, a8])
        mode = "LA" if mode == "L" else "RGBA"
    if fmt == "BMP" and mode == "LA":
        pixels, mode = np.dstack([rgb8, _quantize(photo.alpha, 255, np.uint8)]), "RGBA"  # type: ignore[arg-type]
    im = Image.fromarray(np.ascontiguousarray(pixels), mode=mode)
    params: dict[str, object] = {}
    if icc:
        params["icc_profile"] = icc
    if exif and fmt in ("JPEG", "PNG", "WEBP"):
        params["exif"] = exif
    if fmt == "JPEG":
        params.update(quality=int(quality), optimize=True, subsampling=0 if quality >= 90 else 2)
    elif fmt == "WEBP":
        params.update(quality=int(quality), lossless=bool(lossless), method=4)
    elif fmt == "PNG":
        params.update(compress_level=PNG_COMPRESS_LEVEL)
    elif fmt == "TIFF":
        params.update(compression="tiff_deflate")
    elif fmt == "BMP":
        params.pop("icc_profile", None)
    buf = io.BytesIO()
    try:
        im.save(buf, format=fmt, **params)
    except OSError:
        if not params.get("optimize"):
            raise
        # Optimized JPEG needs the whole output in one buffer, which Pillow sizes too small for very noisy
        # photos ("Suspension not allowed here"); the plain encoder streams, so it always fits.
        buf = io.BytesIO()
        im.save(buf, format=fmt, **{**params, "optimize": False})
    return buf.getvalue()


def _encode_sixteen_bit(photo: Photo, fmt: str, keep_alpha: bool, gray: bool,
                        icc: bytes | None, exif: bytes | None) -> bytes:
    rgb16 = _quantize(photo.rgb, 65535, np.uint16)
    a16 = _quantize(photo.alpha, 65535, np.uint16) if keep_alpha else None  # type: ignore[arg-type]
    if fmt == "TIFF":
        import tifffile

        channels = [rgb16[:, :, :1]] if gray else [rgb16]
        if a16 is not None:
            channels.append(a16[:, :, None])
        pixels = np.concatenate(channels, axis=2)
        if pixels.shape[2] == 1:
            pixels = pixels[:, :, 0]
        extratags = [(_TIFF_ICC_TAG, 7, len(icc), icc, True)] if icc else []
        buf = io.BytesIO()
        tifffile.imwrite(buf, pixels, photometric="minisblack" if gray else "rgb",
                         extrasamples=("unassalpha",) if a16 is not None else None,
                         compression="zlib", extratags=extratags)
        return buf.getvalue()
    if gray and a16 is None:
        pixels = rgb16[:, :, 0]
    else:  # OpenCV writes no gray+alpha PNG, so that case keeps three equal colour channels
        bgr = rgb16[:, :, ::-1]
        pixels = bgr if a16 is None else np.dstack([bgr, a16])
    ok, encoded = cv2.imencode(".png", np.ascontiguousarray(pixels), [cv2.IMWRITE_PNG_COMPRESSION, PNG_COMPRESS_LEVEL])
    if not ok:
        raise errors.ImageWriteError("OpenCV could not encode the 16-bit PNG.")
    return png_with_metadata(encoded.tobytes(), icc=icc, exif=exif)


def png_with_metadata(png: bytes, *, icc: bytes | None, exif: bytes | None) -> bytes:
    """Insert iCCP and eXIf chunks right after IHDR (OpenCV writes neither)."""
    if not icc and not exif:
        return png
    ihdr_end = 8 + 4 + 4 + 13 + 4
    chunks = b""
    if icc:
        chunks += _png_chunk(b"iCCP", b"ICC Profile\x00\x00" + zlib.compress(icc))
    if exif:
        chunks += _png_chunk(b"eXIf", exif[6:] if exif.startswith(b"Exif\x00\x00") else exif)
    return png[:ihdr_end] + chunks + png[ihdr_end:]


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
    return len(payload).to_bytes(4, "big") + kind + payload + crc.to_bytes(4, "big")


def upright_exif(exif: bytes | None) -> bytes | None:
    """EXIF bytes with the orientation reset to 1, because saved pixels are already upright."""
    if not exif:
        return None
    try:
        parsed = Image.Exif()
        parsed.load(exif)
        parsed[ORIENTATION_TAG] = 1
        return parsed.tobytes()
    except Exception:  # noqa: BLE001  unreadable EXIF is dropped rather than written back damaged
        return None


def _quantize(values: np.ndarray, scale: int, dtype: type) -> np.ndarray:
    return np.clip(np.rint(np.asarray(values, np.float32) * scale), 0, scale).astype(dtype)


def _channels_equal(rgb: np.ndarray) -> bool:
    return bool(np.array_equal(rgb[:, :, 0], rgb[:, :, 1]) and np.array_equal(rgb[:, :, 0], rgb[:, :, 2]))


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or (b.exists() and os.path.samefile(a, b))
    except OSError:
        return False


def write_atomic(target: Path, data: bytes) -> None:
    """Write a photo's bytes atomically (core.fileio); a missing folder is an ImageWriteError."""
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.exists():
        raise errors.ImageWriteError(f"The folder {folder} does not exist.")
    atomic_write(target, data)
