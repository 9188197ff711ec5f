"""Shared pieces of the fuzz and attack tests: valid seed files made in memory, structure-aware mutations
(PNG chunks with recomputed CRCs, EXIF and TIFF IFD entries, RIFF sizes), the regression corpus, and a hard
time limit per input.

The corpus (tests/data/fuzz-corpus/<target>/) keeps every input that ever failed; tests/test_fuzz_corpus.py
runs it on every test run. With RESTORA_FUZZ_SAVE=1 a failing fuzz input is written there (named by its hash)
before the test fails, to be kept once it is fixed.
"""

from __future__ import annotations

import faulthandler
import hashlib
import io
import os
import signal
import struct
import zlib
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
from hypothesis import strategies as st

CORPUS = Path(__file__).parent / "data" / "fuzz-corpus"
HARD_LIMIT_S = 30  # far past any deadline: a decoder stuck in Python code is interrupted here
CRASH_LIMIT_S = 300  # stuck in C code: the whole test process dumps its stacks and exits


# --------------------------------------------------------------------------------------- time limits

class InputTimeout(Exception):
    """One fuzz input took longer than HARD_LIMIT_S: a hang."""


@contextmanager
def time_limit(seconds: float = HARD_LIMIT_S) -> Iterator[None]:
    """Interrupt Python code after `seconds` (SIGALRM), and kill the process with a traceback if C code stays
    stuck far longer (faulthandler). Main thread on POSIX only; elsewhere just the deadline applies."""
    use_alarm = hasattr(signal, "setitimer") and _main_thread()
    if use_alarm:
        def expire(signum: int, frame: object) -> None:
            raise InputTimeout(f"one input took over {seconds} s")
        previous = signal.signal(signal.SIGALRM, expire)
        signal.setitimer(signal.ITIMER_REAL, seconds)
    faulthandler.dump_traceback_later(CRASH_LIMIT_S, exit=True)
    try:
        yield
    finally:
        faulthandler.cancel_dump_traceback_later()
        if use_alarm:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)


def _main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


# ------------------------------------------------------------------------------------------- corpus

def corpus_files(target: str) -> list[Path]:
    folder = CORPUS / target
    return sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")) if folder.is_dir() \
        else []


def save_failure(target: str, data: bytes, suffix: str) -> Path | None:
    """Keep a failing input in the corpus when RESTORA_FUZZ_SAVE=1 (small files only)."""
    if os.environ.get("RESTORA_FUZZ_SAVE") != "1" or len(data) > 256_000:
        return None
    folder = CORPUS / target
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"found-{hashlib.sha256(data).hexdigest()[:16]}{suffix}"
    path.write_bytes(data)
    return path


# ---------------------------------------------------------------------------------------- PNG chunks

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """[(type, payload)] of a well-formed PNG."""
    pos, out = 8, []
    while pos + 12 <= len(data):
        length = int.from_bytes(data[pos:pos + 4], "big")
        out.append((data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]))
        pos += 12 + length
    return out


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    return (len(payload).to_bytes(4, "big") + kind + payload
            + (zlib.crc32(kind + payload) & 0xFFFFFFFF).to_bytes(4, "big"))


def build_png(chunks: list[tuple[bytes, bytes]]) -> bytes:
    """A PNG from chunks, every CRC recomputed so the damage reaches the decoder."""
    return PNG_SIGNATURE + b"".join(png_chunk(k, p) for k, p in chunks)


def with_ihdr_field(png: bytes, offset: int, value: int) -> bytes:
    """The PNG with one IHDR byte (8 depth, 9 colour, 10 compression, 11 filter, 12 interlace) replaced."""
    chunks = png_chunks(png)
    kind, payload = chunks[0]
    chunks[0] = (kind, payload[:offset] + bytes([value & 0xFF]) + payload[offset + 1:])
    return build_png(chunks)


# ------------------------------------------------------------------------------------ TIFF structures

def ifd_entries(tiff: bytes, ifd_offset: int | None = None) -> tuple[str, int, list[int]]:
    """(byte order '<' or '>', IFD offset, positions of its 12-byte entries) of a classic TIFF structure."""
    order = "<" if tiff[:2] == b"II" else ">"
    offset = struct.unpack(order + "I", tiff[4:8])[0] if ifd_offset is None else ifd_offset
    count = struct.unpack(order + "H", tiff[offset:offset + 2])[0]
    return order, offset, [offset + 2 + 12 * i for i in range(count)]


def find_entry(tiff: bytes, tag: int) -> int | None:
    order, _, entries = ifd_entries(tiff)
    for pos in entries:
        if struct.unpack(order + "H", tiff[pos:pos + 2])[0] == tag:
            return pos
    return None


def set_entry(tiff: bytes, pos: int, *, type_: int | None = None, count: int | None = None,
              value: int | None = None) -> bytes:
    """The TIFF with the entry at `pos` given another field type, count or value/offset."""
    order = "<" if tiff[:2] == b"II" else ">"
    out = bytearray(tiff)
    if type_ is not None:
        out[pos + 2:pos + 4] = struct.pack(order + "H", type_ & 0xFFFF)
    if count is not None:
        out[pos + 4:pos + 8] = struct.pack(order + "I", count & 0xFFFFFFFF)
    if value is not None:
        out[pos + 8:pos + 12] = struct.pack(order + "I", value & 0xFFFFFFFF)
    return bytes(out)


# ------------------------------------------------------------------------------------------- seeds

def _rgb(h: int = 12, w: int = 10, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def exif_bytes(orientation: int = 6) -> bytes:
    """An EXIF block ('Exif\\0\\0' + TIFF structure) with an orientation, a string, a rational and a sub-IFD."""
    from PIL import Image

    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "Camera"
    exif[0x011A] = 72.0
    exif.get_ifd(0x8769)[0x9003] = "2020:01:01 00:00:00"
    return exif.tobytes()


def _pil(arr: np.ndarray, fmt: str, **params: object) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format=fmt, **params)
    return buf.getvalue()


@lru_cache(maxsize=None)
def image_seeds() -> dict[str, bytes]:
    """Small valid files of every format and layout the loader handles, with metadata to attack."""
    import cv2
    import tifffile
    from PIL import Image

    rgb = _rgb()
    icc = b"\0" * 128 + b"fake profile"
    seeds = {
        "png-rgb": _pil(rgb, "PNG", exif=exif_bytes(), icc_profile=icc),
        "png-interlaced": _pil(rgb, "PNG", interlace=1),
        "png-palette": _pil(np.asarray(Image.fromarray(rgb).convert("P")), "PNG"),
        "png-gray16": cv2.imencode(".png", rgb[:, :, 0].astype(np.uint16) * 257)[1].tobytes(),
        "png-rgba16": cv2.imencode(".png", np.dstack([rgb, rgb[:, :, :1]]).astype(np.uint16) * 257)[1].tobytes(),
        "jpeg": _pil(rgb, "JPEG", exif=exif_bytes(), icc_profile=icc, quality=80),
        "webp": _pil(rgb, "WEBP", exif=exif_bytes(3), quality=80),
        "bmp": _pil(rgb, "BMP"),
        "tiff-8": _pil(rgb, "TIFF", exif=exif_bytes(8)),
    }
    for name, arr, params in (("tiff-16", rgb.astype(np.uint16) * 257, {"photometric": "rgb"}),
                              ("tiff-float", rgb.astype(np.float32) / 255, {"photometric": "rgb"}),
                              ("tiff-int16", rgb[:, :, 0].astype(np.int16) - 128, {})):
        buf = io.BytesIO()
        tifffile.imwrite(buf, arr, **params)
        seeds[name] = buf.getvalue()
    frames = [Image.fromarray(_rgb(seed=i)) for i in range(3)]
    for name, fmt in (("webp-animated", "WEBP"), ("tiff-pages", "TIFF")):
        buf = io.BytesIO()
        frames[0].save(buf, format=fmt, save_all=True, append_images=frames[1:], **({"duration": 50} if fmt ==
                                                                                     "WEBP" else {}))
        seeds[name] = buf.getvalue()
    return seeds


def riff_with_sizes(data: bytes) -> bytes:
    """A WebP whose RIFF size is made right again after its chunks were changed."""
    return data[:4] + struct.pack("<I", len(data) - 8) + data[8:]


# --------------------------------------------------------------------------------- byte mutations

INTERESTING_32 = (0, 1, 2, 7, 8, 255, 256, 0x7FFF, 0x8000, 0xFFFF, 0x10000, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF)


@st.composite
def byte_mutations(draw: Callable, data: bytes) -> bytes:
    """Truncation, bit flips, byte overwrites, interesting 32-bit values, splices: anywhere in `data`."""
    out = bytearray(data)
    for _ in range(draw(st.integers(1, 4))):
        if len(out) < 2:
            break
        op = draw(st.sampled_from(("truncate", "flip", "byte", "int32", "delete", "insert")))
        pos = draw(st.integers(0, len(out) - 1))
        if op == "truncate":
            del out[pos:]
        elif op == "flip":
            out[pos] ^= 1 << draw(st.integers(0, 7))
        elif op == "byte":
            out[pos] = draw(st.integers(0, 255))
        elif op == "int32":
            value = draw(st.sampled_from(INTERESTING_32))
            out[pos:pos + 4] = struct.pack(draw(st.sampled_from(("<I", ">I"))), value)
        elif op == "delete":
            del out[pos:pos + draw(st.integers(1, 64))]
        else:
            out[pos:pos] = draw(st.binary(min_size=1, max_size=32))
    return bytes(out)


# -------------------------------------------------------------------------- what every input must do

MAX_PIXELS = 4_000_000  # the fuzz targets' pixel limit: a mutated header may claim anything
MAX_DECODE_BYTES = 2_000_000_000


def check_image(data: bytes) -> None:
    """decode_photo gives a Photo that keeps the contract, or raises a RestoraError; nothing else."""
    from core.errors import RestoraError
    from core.imageio import decode_photo

    try:
        with time_limit():
            photo = decode_photo(data, max_pixels=MAX_PIXELS)
    except RestoraError as e:
        assert str(e) and " object at 0x" not in str(e), f"unclear message: {e}"
        return
    except BaseException:
        save_failure("images", data, ".bin")
        raise
    assert photo.rgb.dtype == np.float32 and photo.rgb.ndim == 3 and photo.rgb.shape[2] == 3
    assert np.isfinite(photo.rgb).all() and photo.rgb.min() >= 0.0 and photo.rgb.max() <= 1.0
    if photo.alpha is not None:
        assert photo.alpha.shape == photo.rgb.shape[:2] and np.isfinite(photo.alpha).all()


def check_mask_file(path: Path, shape: tuple[int, int]) -> None:
    """load_mask gives a 0/255 uint8 mask of the shape, read_mask_levels uint8 levels, or a RestoraError."""
    from core.errors import RestoraError
    from core.masks import load_mask, read_mask_levels

    for read in (load_mask, read_mask_levels):
        try:
            with time_limit():
                mask = read(path, shape)
        except RestoraError as e:
            assert str(e) and " object at 0x" not in str(e), f"unclear message: {e}"
            continue
        except BaseException:
            save_failure("masks", path.read_bytes(), path.suffix)
            raise
        assert mask.dtype == np.uint8 and mask.shape == tuple(shape)
        if read is load_mask:
            assert set(np.unique(mask)) <= {0, 255}


SENTINEL_RAN: list[str] = []


def sentinel(*args: object) -> dict:
    """What a pickle's GLOBAL points at in the fuzz inputs: it must never be called."""
    SENTINEL_RAN.append(repr(args))
    return {}


def check_checkpoint(path: Path) -> None:
    """read_state_dict gives a flat {str: Tensor} dict or raises a RestoraError, and runs no pickled code."""
    import torch

    from core.errors import RestoraError
    from core.models.checkpoints import read_state_dict

    before = len(SENTINEL_RAN)
    try:
        with time_limit():
            state = read_state_dict(path)
    except RestoraError as e:
        assert str(e) and " object at 0x" not in str(e), f"unclear message: {e}"
        state = None
    except BaseException:
        save_failure("checkpoints", path.read_bytes(), path.suffix)
        raise
    finally:
        assert len(SENTINEL_RAN) == before, "a pickled GLOBAL was executed"
    if state is not None:
        assert all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items())


def check_store_import(path: Path) -> None:
    """ModelStore().import_file gives an entry or raises a RestoraError, and runs no pickled code."""
    from core.errors import RestoraError
    from core.store.store import ModelStore

    before = len(SENTINEL_RAN)
    try:
        with time_limit():
            ModelStore().import_file(path)
    except RestoraError as e:
        assert str(e) and " object at 0x" not in str(e), f"unclear message: {e}"
    except BaseException:
        save_failure("store", path.read_bytes(), path.suffix)
        raise
    finally:
        assert len(SENTINEL_RAN) == before, "a pickled GLOBAL was executed"
