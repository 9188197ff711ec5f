"""Fuzzing the checkpoint reader (core.models.checkpoints.read_state_dict) and the model store's import:
legacy pickles, zip archives and safetensors files made here, mutated byte by byte, by pickle opcode (with
GLOBALs pointing at a sentinel that must never run), by zip entry and by safetensors header. Every input gives
a state dict or a typed RestoraError; no pickled code runs. Longer run: README "Fuzz tests".
"""

from __future__ import annotations

import io
import json
import struct
import tempfile
import zipfile
from functools import lru_cache
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.fuzzing import INTERESTING_32, byte_mutations, check_checkpoint, check_store_import

SUFFIXES = st.sampled_from((".pth", ".pt", ".ckpt", ".safetensors", ".bin"))
FOLDER = Path(tempfile.mkdtemp(prefix="restora-fuzz-checkpoints-"))


@lru_cache(maxsize=None)
def seeds() -> dict[str, bytes]:
    import torch
    from safetensors.torch import save

    state = {"conv.weight": torch.randn(2, 3, 3, 3, generator=torch.Generator().manual_seed(0)),
             "conv.bias": torch.zeros(2)}
    zipped, legacy = io.BytesIO(), io.BytesIO()
    torch.save({"params_ema": state, "step": 3}, zipped)
    torch.save(state, legacy, _use_new_zipfile_serialization=False)
    return {"zip": zipped.getvalue(), "legacy": legacy.getvalue(), "safetensors": save(state)}


def _write(data: bytes, suffix: str) -> Path:
    path = FOLDER / f"weights{suffix}"
    path.write_bytes(data)
    return path


# ----------------------------------------------------------------------------------- pickle opcodes

_GLOBALS = (b"ctests.fuzzing\nsentinel\n", b"cbuiltins\nexec\n", b"cbuiltins\neval\n", b"cposix\nsystem\n",
            b"ctorch._utils\n_rebuild_tensor_v2\n", b"ccollections\nOrderedDict\n", b"ctorch\nFloatStorage\n",
            b"c__builtin__\nset\n")
_PAYLOAD = "import tests.fuzzing as f; f.SENTINEL_RAN.append('exec')"


def _unicode(text: str) -> bytes:
    raw = text.encode()
    return b"X" + struct.pack("<I", len(raw)) + raw


_OPS = st.one_of(
    st.sampled_from([b"(", b"}", b"]", b")", b"t", b"\x85", b"\x86", b"\x87", b"s", b"u", b"a", b"e", b"b", b"R",
                     b"\x81", b"\x93", b"Q", b"N", b"\x88", b"\x89", b"0", b"2", b"1", b"\x94", b"o", b"l", b"d"]),
    st.sampled_from(_GLOBALS),
    st.integers(0, 255).map(lambda n: b"K" + bytes([n])),
    st.sampled_from(INTERESTING_32).map(lambda n: b"J" + struct.pack("<I", n)),
    st.integers(0, 8).map(lambda n: b"q" + bytes([n])),
    st.integers(0, 8).map(lambda n: b"h" + bytes([n])),
    st.sampled_from(("storage", "cpu", "0", "conv.weight", "params_ema", _PAYLOAD)).map(_unicode),
    st.binary(max_size=8).map(lambda b: b"\x8a" + bytes([len(b)]) + b),
)


@st.composite
def pickles(draw) -> bytes:
    """A pickle stream: a PROTO header, random opcodes (calls to GLOBALs among them), STOP."""
    body = b"".join(draw(st.lists(_OPS, max_size=30)))
    return b"\x80" + bytes([draw(st.integers(2, 5))]) + body + b"."


@st.composite
def pickle_containers(draw) -> bytes:
    """A fuzzed pickle as a bare file, after torch's legacy header, or as the data.pkl of a torch zip."""
    import pickle

    from torch.serialization import MAGIC_NUMBER, PROTOCOL_VERSION

    payload = draw(pickles())
    how = draw(st.sampled_from(("bare", "legacy", "zip")))
    if how == "bare":
        return payload
    if how == "legacy":
        header = b"".join(pickle.dumps(v, protocol=2) for v in (
            MAGIC_NUMBER, PROTOCOL_VERSION, {"protocol_version": PROTOCOL_VERSION, "little_endian": True,
                                             "type_sizes": {"short": 2, "int": 4, "long": 4}}))
        return header + payload
    return _rezip(seeds()["zip"], {"data.pkl": payload})


def _rezip(archive: bytes, replace: dict[str, bytes], drop: str | None = None, rename: tuple[str, str] | None = None,
           method: int = zipfile.ZIP_STORED) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(archive))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", method) as z:
        for name in source.namelist():
            base = name.split("/", 1)[-1]
            if drop is not None and base == drop:
                continue
            target = rename[1] if rename is not None and base == rename[0] else name
            z.writestr(target, replace.get(base, source.read(name)))
    return out.getvalue()


@st.composite
def zip_structures(draw) -> bytes:
    """A torch zip with an entry dropped, renamed, resized or replaced, or deflated instead of stored."""
    archive = seeds()["zip"]
    entries = [n.split("/", 1)[-1] for n in zipfile.ZipFile(io.BytesIO(archive)).namelist()]
    entry = draw(st.sampled_from(entries))
    op = draw(st.sampled_from(("drop", "rename", "resize", "replace", "deflate")))
    if op == "drop":
        return _rezip(archive, {}, drop=entry)
    if op == "rename":
        return _rezip(archive, {}, rename=(entry, draw(st.sampled_from(("x", "../evil", "data/999", "code/x.py",
                                                                        "constants.pkl", "\u00e9")))))
    if op == "resize":
        data = zipfile.ZipFile(io.BytesIO(archive)).read(next(n for n in zipfile.ZipFile(io.BytesIO(archive))
                                                              .namelist() if n.endswith(entry)))
        cut = draw(st.integers(0, len(data) + 16))
        return _rezip(archive, {entry: (data + b"\0" * 16)[:cut]})
    if op == "replace":
        return _rezip(archive, {entry: draw(st.binary(max_size=64))})
    return _rezip(archive, {}, method=zipfile.ZIP_DEFLATED)


# ------------------------------------------------------------------------------ safetensors headers

_DTYPES = st.sampled_from(("F32", "F16", "BF16", "F64", "I64", "I32", "U8", "BOOL", "F8_E4M3", "XX", ""))
_DIMS = st.sampled_from((0, 1, 2, 3, -1, 2**31, 2**63 - 1)) | st.integers(0, 6)


@st.composite
def safetensors_files(draw) -> bytes:
    """A safetensors header of random tensors (dtypes, shapes, offsets that fit or not), a declared header
    length that may lie, and data that may be short."""
    header: dict[str, object] = {}
    for i in range(draw(st.integers(0, 3))):
        start = draw(st.integers(0, 64))
        header[draw(st.sampled_from((f"t{i}", "__metadata__", "", "module.w")))] = {
            "dtype": draw(_DTYPES), "shape": draw(st.lists(_DIMS, max_size=4)),
            "data_offsets": draw(st.sampled_from(([start, start + 24], [24, 0], [0, 2**40], [0]))),
        }
    if draw(st.booleans()):
        header["__metadata__"] = draw(st.sampled_from(({"format": "pt"}, {"format": 1}, {"architecture": "x"},
                                                       {"format": "restora-train-export", "options": "{"}, [1])))
    text = json.dumps(header).encode()
    text = draw(st.sampled_from((text, text + b" " * 5, text[:-1], text.replace(b"{", b"[", 1))))
    declared = draw(st.sampled_from((len(text), len(text) + 8, len(text) - 1, 2**40, 0)))
    body = draw(st.binary(max_size=96))
    return struct.pack("<Q", max(declared, 0)) + text + body


# ------------------------------------------------------------------------------------------- tests

@given(st.sampled_from(("zip", "legacy", "safetensors")).flatmap(lambda n: byte_mutations(seeds()[n])), SUFFIXES)
def test_checkpoint_byte_mutations(data: bytes, suffix: str):
    check_checkpoint(_write(data, suffix))


@given(pickle_containers(), SUFFIXES)
def test_pickle_opcodes_never_run_code(data: bytes, suffix: str):
    check_checkpoint(_write(data, suffix))


@given(zip_structures(), SUFFIXES)
def test_zip_structure_mutations(data: bytes, suffix: str):
    check_checkpoint(_write(data, suffix))


@given(safetensors_files(), SUFFIXES)
def test_safetensors_header_mutations(data: bytes, suffix: str):
    check_checkpoint(_write(data, suffix))


@pytest.fixture(scope="module")
def identify_warm():
    """The first identification imports the architectures and spandrel (seconds): not an input's time."""
    from core.archs.identify import identify_file
    from core.models.checkpoints import CheckpointError

    try:
        identify_file(_write(seeds()["safetensors"], ".safetensors"))
    except CheckpointError:
        pass


@given(st.one_of(st.sampled_from(("zip", "legacy", "safetensors")).flatmap(lambda n: byte_mutations(seeds()[n])),
                 pickle_containers(), zip_structures(), safetensors_files()), SUFFIXES)
def test_store_import_mutations(identify_warm, data: bytes, suffix: str):
    """In the test's own RESTORA_HOME (tests/conftest.py), so the store grows across the examples."""
    check_store_import(_write(data, suffix))
