"""Fuzzing the mask loader (core.masks.load_mask and read_mask_levels): grey, painted-alpha, 16-bit and JPEG
masks made here, mutated byte by byte and by PNG chunk, read against their own size and others. Every input
gives a mask of the asked shape or a typed RestoraError."""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.fuzzing import MAX_DECODE_BYTES, byte_mutations, check_mask_file, png_chunks

SHAPE = (12, 10)


def _mask_seeds() -> dict[str, bytes]:
    import cv2
    from PIL import Image

    rng = np.random.default_rng(3)
    levels = (rng.random(SHAPE) * 255).astype(np.uint8)
    binary = np.where(levels > 127, 255, 0).astype(np.uint8)
    rgba = np.zeros((*SHAPE, 4), np.uint8)
    rgba[..., 0] = 255
    rgba[..., 3] = binary

    def pil(arr: np.ndarray, fmt: str) -> bytes:
        buf = io.BytesIO()
        Image.fromarray(arr).save(buf, format=fmt)
        return buf.getvalue()

    return {"gray.png": pil(binary, "PNG"), "levels.png": pil(levels, "PNG"), "alpha.png": pil(rgba, "PNG"),
            "gray16.png": cv2.imencode(".png", binary.astype(np.uint16) * 257)[1].tobytes(),
            "gray.jpg": pil(levels, "JPEG"), "gray.bmp": pil(binary, "BMP")}


SEEDS = _mask_seeds()
FOLDER = Path(tempfile.mkdtemp(prefix="restora-fuzz-masks-"))


@pytest.fixture(autouse=True, scope="module")
def decode_budget():
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RESTORA_MAX_DECODE_BYTES", str(MAX_DECODE_BYTES))
        yield


_SHAPES = st.sampled_from((SHAPE, (10, 12), (1, 1))) | st.tuples(st.integers(0, 40), st.integers(0, 40))


@given(st.sampled_from(sorted(SEEDS)).flatmap(lambda name: st.tuples(st.just(name), byte_mutations(SEEDS[name]))),
       _SHAPES)
def test_mask_byte_mutations(named: tuple[str, bytes], shape: tuple[int, int]):
    name, data = named
    path = FOLDER / name
    path.write_bytes(data)
    check_mask_file(path, shape)


@given(st.sampled_from([n for n in sorted(SEEDS) if n.endswith(".png")]), st.data(), _SHAPES)
def test_mask_png_chunk_mutations(name: str, data: st.DataObject, shape: tuple[int, int]):
    from tests.fuzzing import build_png

    chunks = png_chunks(SEEDS[name])
    i = data.draw(st.integers(0, len(chunks) - 1))
    kind, payload = chunks[i]
    if payload:
        pos = data.draw(st.integers(0, len(payload) - 1))
        payload = payload[:pos] + bytes([data.draw(st.integers(0, 255))]) + payload[pos + 1:]
    chunks[i] = (kind, payload)
    path = FOLDER / name
    path.write_bytes(build_png(chunks))
    check_mask_file(path, shape)
