"""Load and save photos: EXIF orientation, ICC, EXIF, 8/16-bit, alpha, gray, palette, CMYK, odd paths.

Pillow reads headers and metadata and decodes 8-bit data; OpenCV decodes 16-bit PNG/TIFF data, which
Pillow would truncate to 8 bits. Every failure is one of the typed errors in core.errors.
"""

from __future__ import annotations

import io
import os
import warnings
import zlib
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from core import errors
from core.fileio import atomic_write
from core.photo import Photo, PhotoMeta

# Our own pixel limit (below) replaces Pillow's decompression-bomb guard, which is global and fixed.
Image.MAX_IMAGE_PIXELS = None

DEFAULT_MAX_PIXELS = 300_000_000
READ_FORMATS = ("PNG", "JPEG", "TIFF", "BMP", "WEBP")
SAVE_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".tif": "TIFF", ".tiff": "TIFF",
                ".webp": "WEBP", ".bmp": "BMP"}
SIXTEEN_BIT_FORMATS = ("PNG", "TIFF")
ORIENTATION_TAG = 0x0112
_TIFF_BITS_TAG = 258
_TIFF_ICC_TAG = 34675


def max_pixels_limit(override: int | None = None) -> int:
    """The pixel limit: the argument, else RESTORA_MAX_PIXELS, else DEFAULT_MAX_PIXELS."""
    if override is not None:
        return int(override)
    env = os.environ.get("RESTORA_MAX_PIXELS")
    return int(env) if env else DEFAULT_MAX_PIXELS


# ----------------------------------------------------------------------------------------- loading

def load_photo(path: str | os.PathLike[str], *, max_pixels: int | None = None) -> Photo:
    """Read a photo file into the Photo contract (EXIF orientation applied)."""
    p = Path(path)
    if not p.exists():
        raise errors.ImageNotFoundError(f"No file at {p}.")
    if p.is_dir():
        raise errors.NotAFileError(f"{p} is a folder, not an image file.")
    if not p.is_file():
        raise errors.NotAFileError(f"{p} is not a regular file.")
    try:
        data = p.read_bytes()
    except PermissionError as e:
        raise errors.ImagePermissionError(f"Restora may not read {p}: permission denied.") from e
    except OSError as e:
        raise errors.ImageError(f"Could not read {p}: {e.strerror or e}.") from e
    return decode_photo(data, source=p, max_pixels=max_pixels)


def decode_photo(data: bytes, *, source: Path | None = None, max_pixels: int | None = None) -> Photo:
    """Decode image bytes into a Photo; `source` is only used in messages and metadata."""
    name = str(source) if source is not None else "the image"
    if not data:
        raise errors.EmptyImageError(f"{name} is empty (0 bytes).")
    kind = sniff_format(data)
    if kind is None:
        raise errors.UnsupportedFormatError(f"{name} is not a supported image: {_describe_content(data)}. "
                                            f"Restora reads {', '.join(READ_FORMATS)}.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            im = Image.open(io.BytesIO(data))
            width, height = im.size
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as e:
        raise errors.CorruptImageError(f"{name} looks like a {kind} file but is damaged or truncated ({e}).") from e
    limit = max_pixels_limit(max_pixels)
    if width * height > limit:
        raise errors.ImageTooLargeError(
            f"{name} claims {width} x {height} pixels ({width * height / 1e6:.0f} megapixels), over the limit of "
            f"{limit / 1e6:.0f} megapixels. Raise RESTORA_MAX_PIXELS if the file is genuine.")
    if width <= 0 or height <= 0:
        raise errors.CorruptImageError(f"{name} claims an empty {width} x {height} image.")

    if kind == "PNG":
        _check_png_chunks(data, name)
    icc = im.info.get("icc_profile") or None
    exif = _read_exif(im)
    orientation = _orientation(im)
    notes: list[str] = []
    try:
        if _is_sixteen_bit(kind, im, data):
            rgb, alpha, gray = _decode_with_opencv(data, name)
            rgb, alpha = _apply_orientation(rgb, alpha, orientation)
            depth = 16
        else:
            rgb, alpha, gray, icc = _decode_with_pillow(im, icc, notes)
            depth = 8
    except errors.ImageError:
        raise
    except (OSError, SyntaxError, ValueError, EOFError, cv2.error, Image.DecompressionBombError) as e:
        raise errors.CorruptImageError(f"{name} is damaged or truncated and cannot be decoded ({e}).") from e
    meta = PhotoMeta(source_path=source, format=kind, bit_depth=depth, grayscale=gray,
                     icc_profile=icc, exif=exif, notes=tuple(notes))
    return Photo(rgb=rgb, alpha=alpha, meta=meta)


def sniff_format(data: bytes) -> str | None:
    """The format named by the file's magic bytes, or None."""
    head = data[:16]
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "TIFF"
    if head.startswith(b"BM"):
        return "BMP"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    return None


def _check_png_chunks(data: bytes, name: str) -> None:
    """Walk the PNG chunks and verify each checksum: decoders accept damaged pixel data silently."""
    pos = 8
    while pos + 12 <= len(data):
        length = int.from_bytes(data[pos:pos + 4], "big")
        kind = data[pos + 4:pos + 8]
        end = pos + 12 + length
        if end > len(data):
            break
        crc = int.from_bytes(data[end - 4:end], "big")
        if zlib.crc32(data[pos + 4:end - 4]) & 0xFFFFFFFF != crc:
            raise errors.CorruptImageError(
                f"{name} is damaged: its {kind.decode('latin-1')} chunk fails its checksum.")
        if kind == b"IEND":
            return
        pos = end
    raise errors.CorruptImageError(f"{name} is truncated: the PNG ends before its final chunk.")


def _describe_content(data: bytes) -> str:
    head = data[:512]
    if head[:4] in (b"GIF8",):
        return "it is a GIF"
    if head[:5] == b"%PDF-":
        return "it is a PDF document"
    if head[:4] == b"PK\x03\x04":
        return "it is a ZIP archive"
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return "its content is not any image format Restora knows"
    if all(c.isprintable() or c in "\r\n\t" for c in text):
        return "it contains text, not image data (was it renamed?)"
    return "its content is not any image format Restora knows"


def _read_exif(im: Image.Image) -> bytes | None:
    raw = im.info.get("exif")
    if isinstance(raw, bytes) and raw:
        return raw
    return None


def _orientation(im: Image.Image) -> int:
    try:
        value = int(im.getexif().get(ORIENTATION_TAG, 1))
    except Exception:  # noqa: BLE001  a damaged EXIF block must not stop the photo from opening
        return 1
    return value if 1 <= value <= 8 else 1


def _is_sixteen_bit(kind: str, im: Image.Image, data: bytes) -> bool:
    if kind == "PNG":
        return len(data) > 24 and data[24] == 16  # IHDR bit depth
    if kind == "TIFF":
        bits = im.tag_v2.get(_TIFF_BITS_TAG, 8) if hasattr(im, "tag_v2") else 8
        bits = bits if isinstance(bits, (tuple, list)) else (bits,)
        return max(int(b) for b in bits) == 16
    return False


def _decode_with_opencv(data: bytes, name: str) -> tuple[np.ndarray, np.ndarray | None, bool]:
    arr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if arr is None:
        raise errors.CorruptImageError(f"{name} is damaged or truncated and cannot be decoded.")
    scale = 65535.0 if arr.dtype == np.uint16 else 255.0
    if arr.dtype not in (np.uint8, np.uint16):
        raise errors.UnsupportedFormatError(f"{name} stores {arr.dtype} samples; Restora reads 8- and 16-bit images.")
    arr = arr.astype(np.float32) / scale
    gray = arr.ndim == 2 or arr.shape[2] in (1, 2)
    if arr.ndim == 2:
        return _gray_to_rgb(arr), None, True
    channels = arr.shape[2]
    if channels == 1:
        return _gray_to_rgb(arr[:, :, 0]), None, True
    if channels == 2:
        return _gray_to_rgb(arr[:, :, 0]), np.ascontiguousarray(arr[:, :, 1]), True
    rgb = np.ascontiguousarray(arr[:, :, 2::-1])
    alpha = np.ascontiguousarray(arr[:, :, 3]) if channels == 4 else None
    return rgb, alpha, gray


def _decode_with_pillow(im: Image.Image, icc: bytes | None,
                        notes: list[str]) -> tuple[np.ndarray, np.ndarray | None, bool, bytes | None]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        im.load()
    im = ImageOps.exif_transpose(im) or im
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
        arr = arr / (65535.0 if mode.startswith("I;16") or arr.max(initial=0) > 255 else 255.0)
        return _gray_to_rgb(np.clip(arr, 0, 1)), None, True, icc
    if mode == "F":
        arr = np.clip(np.asarray(im, dtype=np.float32), 0, 1)
        return _gray_to_rgb(arr), None, True, icc
    arr = np.asarray(im).astype(np.float32) / 255.0
    if mode == "L":
        return _gray_to_rgb(arr), None, True, icc
    if mode == "LA":
        return _gray_to_rgb(arr[:, :, 0]), np.ascontiguousarray(arr[:, :, 1]), True, icc
    if mode == "RGB":
        return np.ascontiguousarray(arr), None, False, icc
    if mode == "RGBA":
        return np.ascontiguousarray(arr[:, :, :3]), np.ascontiguousarray(arr[:, :, 3]), False, icc
    raise errors.UnsupportedFormatError(f"Pixel mode {mode!r} is not supported.")


def _cmyk_to_rgb(im: Image.Image, icc: bytes | None, notes: list[str]) -> tuple[Image.Image, bytes | None]:
    """Convert CMYK through its ICC profile when it has one; the result is sRGB, so the profile goes."""
    if icc:
        try:
            src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            dst = ImageCms.createProfile("sRGB")
            out = ImageCms.profileToProfile(im, src, dst, outputMode="RGB")
            assert out is not None  # None only with inPlace=True
            notes.append("CMYK converted to sRGB through its ICC profile")
            return out, None
        except (ImageCms.PyCMSError, OSError, ValueError):
            pass
    notes.append("CMYK converted to RGB without a colour profile")
    return im.convert("RGB"), None


def _gray_to_rgb(arr: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(np.repeat(arr[:, :, None], 3, axis=2), dtype=np.float32)


def _apply_orientation(rgb: np.ndarray, alpha: np.ndarray | None,
                       orientation: int) -> tuple[np.ndarray, np.ndarray | None]:
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
    if orientation == 1:
        return rgb, alpha
    return fix(rgb), None if alpha is None else fix(alpha)


# ------------------------------------------------------------------------------------------ saving

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


def encode_photo(photo: Photo, fmt: str, *, depth: int = 8, quality: int = 95, icc: bytes | None = None,
                 exif: bytes | None = None, lossless: bool = False) -> bytes:
    """Encode to bytes in memory (used by save_photo; also handy for previews and tests)."""
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
        params.update(compress_level=6)
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
    ok, encoded = cv2.imencode(".png", np.ascontiguousarray(pixels), [cv2.IMWRITE_PNG_COMPRESSION, 6])
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
