"""Defects found by attack testing the checkpoint reader, one test each: exceptions out of torch's weights-only
unpickler, zip and safetensors paths, a pickle named .safetensors, a huge declared safetensors header called
"a text file", and a FIFO called a folder. Pickled code never runs (a sentinel)."""

from __future__ import annotations

import io
import os
import pickle
import struct
import zipfile
from pathlib import Path

import pytest
import torch
from safetensors.torch import save

from core.errors import RestoraError
from core.models.checkpoints import CheckpointError, UnsafeCheckpointError, read_state_dict, sniff
from tests import fuzzing
from tests.fuzzing import check_store_import

P2 = b"\x80\x02"


def _weights() -> dict[str, torch.Tensor]:
    return {"conv.weight": torch.ones(2, 3, 3, 3), "conv.bias": torch.zeros(2)}


def _zip_with_data_pkl(payload: bytes) -> bytes:
    """A torch zip checkpoint whose data.pkl is replaced (the other entries as torch wrote them)."""
    buf = io.BytesIO()
    torch.save(_weights(), buf)
    source = zipfile.ZipFile(io.BytesIO(buf.getvalue()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as z:
        for name in source.namelist():
            z.writestr(name, payload if name.endswith("/data.pkl") else source.read(name))
    return out.getvalue()


# The weights-only unpickler's own exceptions, each from a few bytes (the brief's attack list).
UNPICKLER_ATTACKS = {
    "IndexError": P2 + b".",  # STOP on an empty stack
    "KeyError": P2 + b"h\x05.",  # BINGET of a memo slot never written
    "TypeError": P2 + b"ctorch._utils\n_rebuild_tensor_v2\nK\x01\x85R.",  # an allowed function, wrong arguments
    "AssertionError": _zip_with_data_pkl(P2 + b"K\x01Q."),  # a persistent id that is not a tuple
    "ValueError": P2 + b"(X\x07\x00\x00\x00storagetQ.",  # a persistent id with nothing in it
}


@pytest.mark.parametrize("raised", sorted(UNPICKLER_ATTACKS))
@pytest.mark.parametrize("suffix", [".pth", ".ckpt", ".safetensors"])
def test_unpickler_exceptions_are_typed_checkpoint_errors(tmp_path, raised, suffix):
    data = UNPICKLER_ATTACKS[raised]
    with pytest.raises(Exception) as plain:  # what torch itself raises on these bytes
        torch.load(io.BytesIO(data), weights_only=True)
    assert type(plain.value).__name__ in (raised, "UnpicklingError")
    path = tmp_path / f"damaged{suffix}"
    path.write_bytes(data)
    with pytest.raises(CheckpointError, match="damaged") as info:
        read_state_dict(path)
    assert " object at 0x" not in str(info.value) and "<class" not in str(info.value)


@pytest.mark.parametrize("payload, words", [
    (P2 + b"K\x01(K\x02K\x03u.", "SETITEMS"),  # torch wraps these in a long "Weights only load failed" advice
    (P2 + b"K\x01}b.", "Can only build"),
])
def test_malformed_pickles_are_damaged_not_unsafe(tmp_path, payload, words):
    (tmp_path / "m.pth").write_bytes(payload)
    with pytest.raises(CheckpointError, match=words) as info:
        read_state_dict(tmp_path / "m.pth")
    assert not isinstance(info.value, UnsafeCheckpointError) and "PyTorch 2.6" not in str(info.value)


@pytest.mark.parametrize("container", ["bare", "zip"])
def test_a_global_is_refused_and_never_runs(tmp_path, container):
    before = len(fuzzing.SENTINEL_RAN)
    payload = P2 + b"ctests.fuzzing\nsentinel\nX\x03\x00\x00\x00ran\x85R."
    data = payload if container == "bare" else _zip_with_data_pkl(payload)
    (tmp_path / "evil.pth").write_bytes(data)
    with pytest.raises(UnsafeCheckpointError, match="will not run code"):
        read_state_dict(tmp_path / "evil.pth")
    assert len(fuzzing.SENTINEL_RAN) == before


def test_a_pickle_named_safetensors_is_read_by_its_content(tmp_path):
    """Given a path, torch.load reads any '.safetensors' name through safetensors and raised its error."""
    not_weights = tmp_path / "data.safetensors"
    not_weights.write_bytes(pickle.dumps({"a": 1}, protocol=2))
    with pytest.raises(CheckpointError, match="Python pickle but not a PyTorch checkpoint"):
        read_state_dict(not_weights)
    weights = tmp_path / "legacy.safetensors"
    torch.save(_weights(), weights, _use_new_zipfile_serialization=False)
    assert set(read_state_dict(weights)) == {"conv.weight", "conv.bias"}


@pytest.mark.parametrize("body", [b'{"a":1}' + b"\x00" * 100, b"\x00" * 100, b"\xff\xfe" * 40])
def test_a_huge_declared_safetensors_header_is_a_damaged_header_not_a_text_file(tmp_path, body):
    path = tmp_path / "model.safetensors"
    path.write_bytes(struct.pack("<Q", 2**40) + body)
    with pytest.raises(CheckpointError, match="not a readable .safetensors file: its header is damaged") as info:
        read_state_dict(path)
    assert "text file" not in str(info.value) and "1,099,511,627,776" in str(info.value)


def test_nul_bytes_are_not_called_text(tmp_path):
    assert "text" not in sniff(b"\x00" * 64, 1000)
    assert sniff(b"hello, this is a readme\n", 24).startswith("a text file")


@pytest.mark.parametrize("damage", ["truncated", "header"])
def test_damaged_safetensors_are_typed(tmp_path, damage):
    data = save(_weights())
    if damage == "truncated":
        data = data[:-7]
    else:
        n = struct.unpack("<Q", data[:8])[0]
        data = data[:8] + data[8:8 + n].replace(b"F32", b"Q99") + data[8 + n:]
    (tmp_path / "m.safetensors").write_bytes(data)
    with pytest.raises(CheckpointError, match="safetensors"):
        read_state_dict(tmp_path / "m.safetensors")


def test_zip_errors_that_zipfile_does_not_call_bad_zip_are_typed(tmp_path):
    """zipfile raises UnicodeDecodeError for a non-UTF-8 name flagged UTF-8, NotImplementedError for a version."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("archive/data.pkl", b"x")
    data = bytearray(buf.getvalue())
    central = data.rfind(b"PK\x01\x02")
    name = central + 46
    data[central + 8:central + 10] = struct.pack("<H", 0x800)  # the UTF-8 flag
    data[name:name + 2] = b"\xff\xfe"
    (tmp_path / "utf8.pth").write_bytes(bytes(data))
    data2 = bytearray(buf.getvalue())
    data2[central + 6:central + 8] = struct.pack("<H", 223)  # needs zip version 22.3
    (tmp_path / "version.pth").write_bytes(bytes(data2))
    for name in ("utf8.pth", "version.pth"):
        with pytest.raises(CheckpointError, match="damaged zip archive"):
            read_state_dict(tmp_path / name)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_fifo_is_not_called_a_folder_and_is_never_opened(tmp_path):
    fifo = tmp_path / "weights.pth"
    os.mkfifo(fifo)
    with pytest.raises(CheckpointError, match="not a regular file") as info:
        read_state_dict(fifo)
    assert "folder" not in str(info.value)
    with pytest.raises(RestoraError, match="not a regular file"):
        from core.store.store import ModelStore

        ModelStore().import_file(fifo)


@pytest.mark.parametrize("raised", sorted(UNPICKLER_ATTACKS))
def test_the_store_import_of_each_attack_is_a_typed_error(tmp_path, raised):
    path = tmp_path / "damaged.pth"
    path.write_bytes(UNPICKLER_ATTACKS[raised])
    check_store_import(path)
    from core.store.store import ModelStore

    assert ModelStore().list() == []


def test_corpus_of_checkpoint_attacks_is_kept(tmp_path):
    """Each attack above is also a file of the regression corpus (tests/data/fuzz-corpus/checkpoints)."""
    names = {p.name for p in fuzzing.corpus_files("checkpoints")}
    assert {f"unpickler-{raised}.pth" for raised in UNPICKLER_ATTACKS} <= names


def write_corpus() -> None:  # pragma: no cover - run by hand when an attack is added
    folder = Path(__file__).parent / "data" / "fuzz-corpus" / "checkpoints"
    folder.mkdir(parents=True, exist_ok=True)
    for raised, data in UNPICKLER_ATTACKS.items():
        (folder / f"unpickler-{raised}.pth").write_bytes(data)
