"""Load and save photos: orientation, ICC, EXIF, 8/16-bit, float and signed TIFF, alpha, gray, palette, CMYK,
odd paths. Every failure is one of the typed errors in core.errors.

    load.py      the path checks, the size checks from the header, and the choice of decoder
    formats.py   magic bytes, the PNG chunk walk (checksums, header fields, colour profile), error wording
    limits.py    the pixel limit and the memory a decode needs against what the machine can give
    decoders.py  Pillow (8-bit), OpenCV (16-bit) and EXIF orientation on the arrays
    tiff.py      float, signed and 32-bit TIFFs through tifffile
    save.py      encoding and atomic saving
"""

from core.imageio.formats import MAX_ICC_BYTES, READ_FORMATS, sniff_format
from core.imageio.limits import DEFAULT_MAX_PIXELS, available_memory_bytes, decode_bytes_needed, max_pixels_limit
from core.imageio.load import ORIENTATION_TAG, decode_photo, load_photo
from core.imageio.save import (
    SAVE_FORMATS,
    SIXTEEN_BIT_FORMATS,
    encode_photo,
    png_with_metadata,
    save_photo,
    upright_exif,
    write_atomic,
)

__all__ = ["DEFAULT_MAX_PIXELS", "MAX_ICC_BYTES", "ORIENTATION_TAG", "READ_FORMATS", "SAVE_FORMATS",
           "SIXTEEN_BIT_FORMATS", "available_memory_bytes", "decode_bytes_needed", "decode_photo", "encode_photo",
           "load_photo", "max_pixels_limit", "png_with_metadata", "save_photo", "sniff_format", "upright_exif",
           "write_atomic"]
