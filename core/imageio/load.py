"""Reading a photo file into the Photo contract: the path checks, the size checks from the header, then the
decoder that fits (core.imageio.decoders, core.imageio.tiff). Every failure is one of the typed errors in
core.errors; a decoder's unexpected exception on a damaged file becomes a CorruptImageError.
"""

from __future__ import annotations

import io
import os
import stat
import warnings
from pathlib import Path

from PIL import Image

from core import errors
from core.imageio.decoders import apply_orientation, decode_with_opencv, decode_with_pillow
from core.imageio.formats import READ_FORMATS, describe_content, inspect_png, png_header, reason, sniff_format
from core.imageio.limits import check_decode_memory, check_file_size, check_pixels
from core.imageio.tiff import BITS_TAG, decode_tiff, needs_tifffile
from core.photo import Photo, PhotoMeta

# Our own limits (core.imageio.limits) replace Pillow's decompression-bomb guard, which is global and fixed.
Image.MAX_IMAGE_PIXELS = None

ORIENTATION_TAG = 0x0112
_FRAMES = {"TIFF": "multi-page TIFF: only the first of its {n} pages was opened",
           "WEBP": "animated WebP: only the first of its {n} frames was opened",
           "PNG": "animated PNG: only the first of its {n} frames was opened"}


def load_photo(path: str | os.PathLike[str], *, max_pixels: int | None = None) -> Photo:
    """Read a photo file into the Photo contract (EXIF orientation applied)."""
    p = Path(path)
    try:
        st = p.stat()
    except FileNotFoundError:
        link = " (it is a link to a file that is gone)" if p.is_symlink() else ""
        raise errors.ImageNotFoundError(f"No file at {p}{link}.") from None
    except PermissionError as e:
        raise errors.ImagePermissionError(f"Restora may not read {p}: permission denied.") from e
    except (OSError, ValueError) as e:
        raise errors.ImageError(f"Could not read {p}: {getattr(e, 'strerror', None) or e}.") from e
    if stat.S_ISDIR(st.st_mode):
        raise errors.NotAFileError(f"{p} is a folder, not an image file.")
    if not stat.S_ISREG(st.st_mode):
        raise errors.NotAFileError(f"{p} is {special_file_kind(st.st_mode)}, not a regular file.")
    check_file_size(str(p), st.st_size)
    try:
        data = p.read_bytes()
    except PermissionError as e:
        raise errors.ImagePermissionError(f"Restora may not read {p}: permission denied.") from e
    except OSError as e:
        raise errors.ImageError(f"Could not read {p}: {e.strerror or e}.") from e
    return decode_photo(data, source=p, max_pixels=max_pixels)


def special_file_kind(mode: int) -> str:
    """'a named pipe (FIFO)', 'a socket', 'a device', ... for a path that is not a regular file."""
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "a special file"


def decode_photo(data: bytes, *, source: Path | None = None, max_pixels: int | None = None) -> Photo:
    """Decode image bytes into a Photo; `source` is only used in messages and metadata."""
    name = str(source) if source is not None else "the image"
    data = bytes(data)
    if not data:
        raise errors.EmptyImageError(f"{name} is empty (0 bytes).")
    kind = sniff_format(data)
    if kind is None:
        raise errors.UnsupportedFormatError(f"{name} is not a supported image: {describe_content(data)}. "
                                            f"Restora reads {', '.join(READ_FORMATS)}.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return _decode(data, kind, name, source, max_pixels)
    except errors.ImageError:
        raise
    except MemoryError:
        raise errors.ImageTooLargeError(f"There is not enough memory to open {name}. Close other programs and try "
                                        f"again, or open a smaller copy of the photo.") from None
    except Exception as e:  # noqa: BLE001  decoders raise anything at all on a damaged file
        raise errors.CorruptImageError(f"{name} looks like a {kind} file but is damaged or truncated and cannot be "
                                       f"decoded ({reason(e)}).") from e


def _decode(data: bytes, kind: str, name: str, source: Path | None, max_pixels: int | None) -> Photo:
    notes: list[str] = []
    icc: bytes | None = None
    if kind == "PNG":
        header = png_header(data, name)
        check_pixels(name, header.width, header.height, max_pixels)
        check_decode_memory(name, header.width, header.height, header.channels, 2 if header.bit_depth == 16 else 1)
        png = inspect_png(data, name)
        data, icc = png.decodable, png.icc
        notes.extend(png.notes)
    try:
        im = Image.open(io.BytesIO(data), formats=[kind])
    except Exception as e:  # noqa: BLE001  Pillow's plugins raise many kinds on damaged headers
        if kind == "TIFF":
            return _tiff_or(data, name, source, max_pixels, e)
        raise errors.CorruptImageError(f"{name} looks like a {kind} file but is damaged or truncated "
                                       f"({reason(e)}).") from e
    if kind == "TIFF" and needs_tifffile(im):
        return decode_tiff(data, name, source, max_pixels)
    width, height = im.size
    check_pixels(name, width, height, max_pixels)
    sixteen = _is_sixteen_bit(kind, im, data)
    check_decode_memory(name, width, height, len(im.getbands()), _sample_bytes(im, sixteen))
    frames = _frame_count(im)
    if frames > 1:
        notes.append(_FRAMES.get(kind, "only the first of its {n} frames was opened").format(n=frames))
    if kind != "PNG":
        icc = im.info.get("icc_profile") or None
    exif = _read_exif(im)
    orientation = _orientation(im)
    if sixteen:
        rgb, alpha, gray = decode_with_opencv(data, name)
        depth = 16
    else:
        rgb, alpha, gray, icc = decode_with_pillow(im, icc, notes, name)
        depth = 8
        if kind == "TIFF":
            orientation = 1  # Pillow turns a TIFF upright itself when it loads it
    rgb, alpha = apply_orientation(rgb, alpha, orientation)
    meta = PhotoMeta(source_path=source, format=kind, bit_depth=depth, grayscale=gray,
                     icc_profile=icc if isinstance(icc, bytes) and icc else None, exif=exif, notes=tuple(notes))
    return Photo(rgb=rgb, alpha=alpha, meta=meta)


def _tiff_or(data: bytes, name: str, source: Path | None, max_pixels: int | None, pillow: Exception) -> Photo:
    """A TIFF Pillow cannot open (float or signed samples, say) through tifffile; Pillow's complaint if neither
    can read it."""
    try:
        return decode_tiff(data, name, source, max_pixels)
    except errors.ImageError:
        raise
    except Exception:  # noqa: BLE001  tifffile could not read it either: the file is damaged
        raise errors.CorruptImageError(f"{name} looks like a TIFF file but is damaged or truncated "
                                       f"({reason(pillow)}).") from pillow


def _frame_count(im: Image.Image) -> int:
    try:
        return max(int(getattr(im, "n_frames", 1)), 1)
    except Exception:  # noqa: BLE001  a damaged chain of frames: the first one is still there
        return 1
    finally:
        try:
            im.seek(0)
        except Exception:  # noqa: BLE001  the first frame is the one Pillow opened
            pass


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
        bits = im.tag_v2.get(BITS_TAG, 8) if hasattr(im, "tag_v2") else 8
        bits = bits if isinstance(bits, (tuple, list)) else (bits,)
        return max(int(b) for b in bits) == 16
    return False


def _sample_bytes(im: Image.Image, sixteen: bool) -> int:
    if sixteen or im.mode.startswith("I;16"):
        return 2
    return 4 if im.mode in ("I", "F") else 1
