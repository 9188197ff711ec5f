"""What a photo file's bytes say before any pixel is decoded: the format (magic bytes), what else a file is
when it is not a photo, and the PNG chunk walk (checksums, header fields, the colour profile, text chunks).

Restora reads a PNG's colour profile itself, up to MAX_ICC_BYTES, because Pillow refuses one over 1 MB
decompressed, which would make a photo Restora saved impossible to open again.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass

from PIL import PngImagePlugin, UnidentifiedImageError

from core import errors

READ_FORMATS = ("PNG", "JPEG", "TIFF", "BMP", "WEBP")
MAX_ICC_BYTES = 16_000_000  # the largest colour profile read and written (a JPEG holds up to about 16.7 MB)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# The bit depths each PNG colour type allows (the PNG specification, table 11.1).
_PNG_DEPTHS = {0: (1, 2, 4, 8, 16), 2: (8, 16), 3: (1, 2, 4, 8), 4: (8, 16), 6: (8, 16)}
_OBJECT_REPR = re.compile(r"<[^<>]*? object at 0x[0-9a-fA-F]+>")


def sniff_format(data: bytes) -> str | None:
    """The format named by the file's magic bytes, or None."""
    head = data[:16]
    if head.startswith(PNG_SIGNATURE):
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


def describe_content(data: bytes) -> str:
    """What a file that is not a supported photo seems to be, in words."""
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


def reason(error: BaseException) -> str:
    """A decoder's complaint fit for a person: its first line, without Python object reprs."""
    if isinstance(error, UnidentifiedImageError):
        return "its content cannot be read as an image"
    lines = str(error).strip().splitlines()
    text = _OBJECT_REPR.sub("the data", lines[0] if lines else "").strip()
    if isinstance(error, KeyError):
        return f"an entry it needs is missing ({text})" if text else "an entry it needs is missing"
    return text[:200] if text else "its data is inconsistent"


# ------------------------------------------------------------------------------------------------ PNG

@dataclass(frozen=True)
class PngHeader:
    width: int
    height: int
    bit_depth: int
    colour_type: int

    @property
    def channels(self) -> int:
        return {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[self.colour_type]


def png_header(data: bytes, name: str) -> PngHeader:
    """The IHDR chunk, checked: its checksum and every field the specification constrains."""
    pos = len(PNG_SIGNATURE)
    if len(data) < pos + 25:
        raise errors.CorruptImageError(f"{name} is truncated: the PNG ends inside its header.")
    length = int.from_bytes(data[pos:pos + 4], "big")
    kind, payload = data[pos + 4:pos + 8], data[pos + 8:pos + 21]
    if kind != b"IHDR" or length != 13:
        raise errors.CorruptImageError(f"{name} is damaged: its PNG header (IHDR) is missing or has the wrong size.")
    if zlib.crc32(data[pos + 4:pos + 21]) & 0xFFFFFFFF != int.from_bytes(data[pos + 21:pos + 25], "big"):
        raise errors.CorruptImageError(f"{name} is damaged: its 'IHDR' chunk fails its checksum.")
    return _check_header(payload, name)


@dataclass(frozen=True)
class PngFacts:
    """What the chunk walk found; `decodable` is the file without the chunks Restora read or skipped itself."""

    icc: bytes | None
    decodable: bytes
    notes: tuple[str, ...] = ()


def inspect_png(data: bytes, name: str) -> PngFacts:
    """Walk the PNG chunks: verify every checksum (decoders accept damaged pixel data silently), check the
    header fields, read the colour profile, and set aside text chunks too large for Pillow."""
    png_header(data, name)
    pos = len(PNG_SIGNATURE) + 25
    icc: bytes | None = None
    seen_icc = False
    notes: list[str] = []
    drop: list[tuple[int, int]] = []
    while pos + 12 <= len(data):
        length = int.from_bytes(data[pos:pos + 4], "big")
        kind = data[pos + 4:pos + 8]
        end = pos + 12 + length
        if end > len(data):
            break
        crc = int.from_bytes(data[end - 4:end], "big")
        if zlib.crc32(data[pos + 4:end - 4]) & 0xFFFFFFFF != crc:
            raise errors.CorruptImageError(
                f"{name} is damaged: its {kind.decode('latin-1')!r} chunk fails its checksum.")
        payload = data[pos + 8:end - 4]
        if kind == b"iCCP":
            drop.append((pos, end))
            if not seen_icc:
                seen_icc = True
                icc, note = _read_icc(payload)
                if note:
                    notes.append(note)
        elif kind in (b"zTXt", b"iTXt") and _text_too_large(kind, payload):
            drop.append((pos, end))
            notes.append("a text chunk too large to read was ignored")
        elif kind == b"IEND":
            return PngFacts(icc, _without(data, drop), tuple(notes))
        pos = end
    raise errors.CorruptImageError(f"{name} is truncated: the PNG ends before its final chunk.")


def _check_header(payload: bytes, name: str) -> PngHeader:
    """A valid IHDR; CorruptImageError for anything the specification forbids."""
    width, height = int.from_bytes(payload[0:4], "big"), int.from_bytes(payload[4:8], "big")
    depth, colour, compression, filtering, interlace = payload[8:13]
    problem = ""
    if not (0 < width < 2**31 and 0 < height < 2**31):
        problem = f"an impossible size of {width} x {height} pixels"
    elif colour not in _PNG_DEPTHS:
        problem = f"an unknown colour type ({colour})"
    elif depth not in _PNG_DEPTHS[colour]:
        problem = f"a bit depth of {depth}, which its colour type does not allow"
    elif compression != 0:
        problem = f"an unknown compression method ({compression})"
    elif filtering != 0:
        problem = f"an unknown filter method ({filtering})"
    elif interlace not in (0, 1):
        problem = f"an unknown interlace method ({interlace})"
    if problem:
        raise errors.CorruptImageError(f"{name} is damaged: its PNG header declares {problem}.")
    return PngHeader(width, height, depth, colour)


def _read_icc(payload: bytes) -> tuple[bytes | None, str]:
    """(profile, note) from an iCCP payload: name, NUL, method 0, zlib data; a damaged or oversized profile
    is left out with a note rather than making the photo unreadable."""
    nul = payload.find(b"\0")
    if nul < 1 or nul > 79 or nul + 2 > len(payload) or payload[nul + 1] != 0:
        return None, "its damaged colour profile was ignored"
    try:
        inflater = zlib.decompressobj()
        profile = inflater.decompress(payload[nul + 2:], MAX_ICC_BYTES + 1)
    except zlib.error:
        return None, "its damaged colour profile was ignored"
    if len(profile) > MAX_ICC_BYTES:
        return None, f"its colour profile is over {MAX_ICC_BYTES // 1_000_000} MB and was ignored"
    return profile or None, ""


def _text_too_large(kind: bytes, payload: bytes) -> bool:
    """Whether a compressed text chunk inflates past Pillow's limit (which would stop the whole photo)."""
    limit = PngImagePlugin.MAX_TEXT_CHUNK
    nul = payload.find(b"\0")
    if nul < 0:
        return False
    if kind == b"zTXt":
        compressed = payload[nul + 2:]
    else:  # iTXt: keyword NUL flag method language NUL translated-keyword NUL text
        if nul + 3 > len(payload) or payload[nul + 1] != 1:
            return False
        rest = payload[nul + 3:]
        parts = rest.split(b"\0", 2)
        if len(parts) < 3:
            return False
        compressed = parts[2]
    try:
        return len(zlib.decompressobj().decompress(compressed, limit + 1)) > limit
    except zlib.error:
        return False


def _without(data: bytes, spans: list[tuple[int, int]]) -> bytes:
    if not spans:
        return data
    kept, pos = [], 0
    for start, end in spans:
        kept.append(data[pos:start])
        pos = end
    kept.append(data[pos:])
    return b"".join(kept)
