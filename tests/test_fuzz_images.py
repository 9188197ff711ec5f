"""Fuzzing the photo loader: PNG, JPEG, TIFF, WebP and BMP seeds made here, mutated byte by byte and by
structure (PNG chunks with recomputed CRCs, EXIF entries, TIFF tags). Every input gives a Photo that keeps the
contract or a typed RestoraError; never another exception, a hang or a NaN. Longer run: README "Fuzz tests".
"""

from __future__ import annotations

import struct
import zlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.fuzzing import (
    INTERESTING_32,
    MAX_DECODE_BYTES,
    build_png,
    byte_mutations,
    check_image,
    exif_bytes,
    ifd_entries,
    image_seeds,
    png_chunks,
    set_entry,
)

SEED_NAMES = sorted(image_seeds())
PNG_SEEDS = [n for n in SEED_NAMES if n.startswith("png")]
TIFF_SEEDS = [n for n in SEED_NAMES if n.startswith("tiff")]
TIFF_TYPES = st.integers(0, 18)  # 1-12 are TIFF 6 types, 13 IFD, 16-18 BigTIFF's; the rest are unknown


@pytest.fixture(autouse=True, scope="module")
def decode_budget():
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RESTORA_MAX_DECODE_BYTES", str(MAX_DECODE_BYTES))
        yield


@given(st.sampled_from(SEED_NAMES).flatmap(lambda name: byte_mutations(image_seeds()[name])))
def test_byte_mutations(data: bytes):
    check_image(data)


# --------------------------------------------------------------------------------------------- PNG

_IHDR_FIELDS = {"width": (0, 4), "height": (4, 4), "depth": (8, 1), "colour": (9, 1), "compression": (10, 1),
                "filter": (11, 1), "interlace": (12, 1)}
_TEXT_KINDS = (b"tEXt", b"zTXt", b"iTXt", b"iCCP", b"eXIf", b"acTL", b"fcTL", b"tRNS", b"PLTE", b"gAMA", b"IDAT",
               b"sBIT", b"pHYs", b"IEND", b"abcd")


@st.composite
def png_structures(draw) -> bytes:
    chunks = png_chunks(image_seeds()[draw(st.sampled_from(PNG_SEEDS))])
    for _ in range(draw(st.integers(1, 3))):
        op = draw(st.sampled_from(("ihdr", "iccp", "exif", "text", "insert", "drop", "duplicate", "swap", "cut")))
        if op == "ihdr":
            start, size = _IHDR_FIELDS[draw(st.sampled_from(sorted(_IHDR_FIELDS)))]
            value = draw(st.sampled_from(INTERESTING_32) | st.integers(0, 255))
            payload = chunks[0][1]
            field = (value & 0xFFFFFFFF).to_bytes(4, "big") if size == 4 else bytes([value & 0xFF])
            chunks[0] = (b"IHDR", payload[:start] + field + payload[start + size:])
        elif op == "iccp":
            profile = draw(st.binary(max_size=512))
            body = draw(st.sampled_from((zlib.compress(profile), profile, zlib.compress(profile)[:-3])))
            name = draw(st.sampled_from((b"ICC Profile", b"", b"x" * 90)))
            method = draw(st.sampled_from((b"\x00", b"\x01")))
            chunks.insert(1, (b"iCCP", name + b"\x00" + method + body))
        elif op == "exif":
            chunks.insert(1, (b"eXIf", draw(exif_mutations())[6:]))
        elif op == "text":
            key = draw(st.sampled_from((b"Comment", b"Raw profile type exif", b"XML:com.adobe.xmp", b"")))
            text = draw(st.binary(max_size=200))
            kind = draw(st.sampled_from((b"tEXt", b"zTXt", b"iTXt")))
            payload = {b"tEXt": key + b"\x00" + text, b"zTXt": key + b"\x00\x00" + zlib.compress(text),
                       b"iTXt": key + b"\x00\x01\x00\x00\x00" + zlib.compress(text)}[kind]
            chunks.insert(draw(st.integers(1, len(chunks) - 1)), (kind, payload))
        elif op == "insert":
            chunks.insert(draw(st.integers(1, len(chunks))), (draw(st.sampled_from(_TEXT_KINDS)),
                                                              draw(st.binary(max_size=64))))
        elif op == "drop" and len(chunks) > 1:
            del chunks[draw(st.integers(0, len(chunks) - 1))]
        elif op == "duplicate":
            i = draw(st.integers(0, len(chunks) - 1))
            chunks.insert(i, chunks[i])
        elif op == "swap" and len(chunks) > 1:
            i, j = draw(st.integers(0, len(chunks) - 1)), draw(st.integers(0, len(chunks) - 1))
            chunks[i], chunks[j] = chunks[j], chunks[i]
        elif op == "cut":
            i = draw(st.integers(0, len(chunks) - 1))
            kind, payload = chunks[i]
            chunks[i] = (kind, payload[:draw(st.integers(0, max(len(payload) - 1, 0)))])
    return build_png(chunks)


@given(png_structures())
def test_png_structure_mutations(data: bytes):
    check_image(data)


# -------------------------------------------------------------------------------------------- EXIF

@st.composite
def exif_mutations(draw) -> bytes:
    """An EXIF block with IFD entries given other types, counts and offsets, or its IFD offset moved."""
    exif = exif_bytes(draw(st.integers(0, 9)))
    body = exif[6:]
    order, first, entries = ifd_entries(body)
    for _ in range(draw(st.integers(1, 3))):
        op = draw(st.sampled_from(("type", "count", "value", "ifd", "truncate", "entries")))
        pos = draw(st.sampled_from(entries))
        if op == "type":
            body = set_entry(body, pos, type_=draw(TIFF_TYPES))
        elif op == "count":
            body = set_entry(body, pos, count=draw(st.sampled_from(INTERESTING_32)))
        elif op == "value":
            body = set_entry(body, pos, value=draw(st.sampled_from(INTERESTING_32) | st.integers(0, len(body) + 8)))
        elif op == "ifd":
            body = body[:4] + struct.pack(order + "I", draw(st.sampled_from(INTERESTING_32))) + body[8:]
        elif op == "truncate":
            body = body[:draw(st.integers(8, len(body)))]
            break
        else:
            body = body[:first] + struct.pack(order + "H", draw(st.sampled_from((0, 1, 200, 0xFFFF)))) + \
                body[first + 2:]
    return b"Exif\x00\x00" + body


@given(exif_mutations(), st.sampled_from(("JPEG", "PNG", "WEBP")), st.integers(0, 9))
def test_exif_mutations(exif: bytes, fmt: str, seed: int):
    import io

    import numpy as np
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(seed).integers(0, 256, (9, 7, 3), dtype=np.uint8)).save(
        buf, format=fmt, exif=exif)
    check_image(buf.getvalue())


# -------------------------------------------------------------------------------------------- TIFF

_TIFF_TAGS = (256, 257, 258, 259, 262, 273, 274, 277, 278, 279, 284, 317, 320, 338, 339, 34675)


@st.composite
def tiff_structures(draw) -> bytes:
    """TIFF tags (sizes, bits, sample format, strips, orientation, profile...) given other types, counts
    and values; the next-IFD offset moved."""
    data = image_seeds()[draw(st.sampled_from(TIFF_SEEDS))]
    order, offset, entries = ifd_entries(data)
    for _ in range(draw(st.integers(1, 3))):
        by_tag = {struct.unpack(order + "H", data[p:p + 2])[0]: p for p in entries}
        present = [t for t in _TIFF_TAGS if t in by_tag]
        op = draw(st.sampled_from(("type", "count", "value", "next", "tag")))
        pos = by_tag[draw(st.sampled_from(present))] if present else entries[0]
        if op == "type":
            data = set_entry(data, pos, type_=draw(TIFF_TYPES))
        elif op == "count":
            data = set_entry(data, pos, count=draw(st.sampled_from(INTERESTING_32) | st.integers(0, 8)))
        elif op == "value":
            data = set_entry(data, pos, value=draw(st.sampled_from(INTERESTING_32) | st.integers(0, len(data) + 8)))
        elif op == "next":
            end = offset + 2 + 12 * len(entries)
            data = data[:end] + struct.pack(order + "I", draw(st.sampled_from((0, 8, offset, *INTERESTING_32)))) \
                + data[end + 4:]
        else:  # an entry becomes another tag
            tag = draw(st.sampled_from(_TIFF_TAGS))
            data = data[:pos] + struct.pack(order + "H", tag) + data[pos + 2:]
    return data


@given(tiff_structures())
def test_tiff_tag_mutations(data: bytes):
    check_image(data)
