"""Reading weight files: containers, prefixes, formats, and clear errors for everything that is not one."""

from __future__ import annotations

import os
import pickle
import zipfile
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from core.errors import RestoraError
from core.models.checkpoints import CheckpointError, UnsafeCheckpointError, read_state_dict


def _weights(seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return {"conv.weight": torch.randn(4, 3, 3, 3, generator=g), "conv.bias": torch.randn(4, generator=g)}


def _same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_plain_state_dict_pth(tmp_path: Path):
    sd = _weights()
    torch.save(sd, tmp_path / "m.pth")
    assert _same(read_state_dict(tmp_path / "m.pth"), sd)


def test_params_ema_is_preferred_over_params(tmp_path: Path):
    ema, raw = _weights(1), _weights(2)
    torch.save({"params": raw, "params_ema": ema}, tmp_path / "m.pth")
    assert _same(read_state_dict(tmp_path / "m.pth"), ema)


def test_g_ema_is_preferred_over_generator(tmp_path: Path):
    ema, raw = _weights(1), _weights(2)
    torch.save({"generator": raw, "g_ema": ema, "discriminator": _weights(3)}, tmp_path / "m.pt")
    assert _same(read_state_dict(tmp_path / "m.pt"), ema)


def test_lightning_style_checkpoint_keeps_only_the_tensors(tmp_path: Path):
    sd = _weights()
    torch.save({"epoch": 7, "global_step": 1000, "state_dict": {**sd, "note": "x"}}, tmp_path / "last.ckpt")
    assert _same(read_state_dict(tmp_path / "last.ckpt"), sd)


def test_module_prefix_is_stripped(tmp_path: Path):
    sd = _weights()
    torch.save({"model": {f"module.{k}": v for k, v in sd.items()}}, tmp_path / "dp.pth")
    assert _same(read_state_dict(tmp_path / "dp.pth"), sd)


def test_prefix_kept_when_not_every_key_has_it(tmp_path: Path):
    sd = {"module.a": torch.zeros(1), "b": torch.ones(1)}
    torch.save(sd, tmp_path / "m.pth")
    assert set(read_state_dict(tmp_path / "m.pth")) == {"module.a", "b"}


def test_safetensors(tmp_path: Path):
    sd = _weights()
    save_file(sd, str(tmp_path / "m.safetensors"))
    assert _same(read_state_dict(tmp_path / "m.safetensors"), sd)


def test_legacy_torch_format(tmp_path: Path):
    sd = _weights()
    torch.save(sd, tmp_path / "old.pth", _use_new_zipfile_serialization=False)
    assert _same(read_state_dict(tmp_path / "old.pth"), sd)


@pytest.mark.filterwarnings("ignore::FutureWarning")
def test_torchscript_archive_gives_its_tensors(tmp_path: Path):
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3))
    torch.jit.save(torch.jit.script(net), str(tmp_path / "scripted.pt"))
    assert _same(read_state_dict(tmp_path / "scripted.pt"), dict(net.state_dict()))


def test_extension_does_not_matter_content_does(tmp_path: Path):
    sd = _weights()
    save_file(sd, str(tmp_path / "really-safetensors.pth"))
    assert _same(read_state_dict(tmp_path / "really-safetensors.pth"), sd)


class _Payload:
    """Unpickling this would create a file: the proof that code ran."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


def test_pickle_that_needs_code_is_refused_and_nothing_runs(tmp_path: Path):
    marker = tmp_path / "code-ran"
    with (tmp_path / "evil.pth").open("wb") as f:
        torch.save({"state_dict": _weights(), "payload": _Payload(str(marker))}, f)
    with pytest.raises(UnsafeCheckpointError) as info:
        read_state_dict(tmp_path / "evil.pth")
    message = str(info.value)
    assert "will not run code" in message and "mkdir" in message
    assert not marker.exists()


def test_whole_module_pickle_is_refused_with_its_class_named(tmp_path: Path):
    torch.save(torch.nn.Linear(2, 2), tmp_path / "module.pth")
    with pytest.raises(UnsafeCheckpointError, match="torch.nn.modules.linear.Linear"):
        read_state_dict(tmp_path / "module.pth")


@pytest.mark.parametrize("content, expected", [
    (b"", "empty"),
    (b"hello, this is a readme\n", "text file"),
    (b"<!DOCTYPE html><html><body>Not found</body></html>", "web page"),
    (b"version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 12\n", "Git LFS pointer"),
    (b"\x89PNG\r\n\x1a\n" + b"\0" * 40, "an image"),
])
def test_files_that_are_not_checkpoints(tmp_path: Path, content: bytes, expected: str):
    path = tmp_path / "model.pth"
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match=expected) as info:
        read_state_dict(path)
    assert "expected" in str(info.value)
    assert isinstance(info.value, RestoraError)


def test_zip_of_something_else_names_the_checkpoint_inside(tmp_path: Path):
    with zipfile.ZipFile(tmp_path / "big-lama.zip", "w") as z:
        z.writestr("big-lama/config.yaml", "kind: x\n")
        z.writestr("big-lama/models/best.ckpt", b"\0" * 10)
    with pytest.raises(CheckpointError, match="zip archive of something else.*best.ckpt"):
        read_state_dict(tmp_path / "big-lama.zip")


def test_no_tensors(tmp_path: Path):
    torch.save({"epoch": 3, "optimizer": {"lr": 0.1}}, tmp_path / "m.pth")
    with pytest.raises(CheckpointError, match="holds no tensors.*epoch"):
        read_state_dict(tmp_path / "m.pth")


def test_truncated_checkpoint(tmp_path: Path):
    torch.save(_weights(), tmp_path / "full.pth")
    data = (tmp_path / "full.pth").read_bytes()
    (tmp_path / "cut.pth").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="damaged|truncated"):
        read_state_dict(tmp_path / "cut.pth")


def test_damaged_safetensors(tmp_path: Path):
    save_file(_weights(), str(tmp_path / "m.safetensors"))
    data = (tmp_path / "m.safetensors").read_bytes()
    (tmp_path / "cut.safetensors").write_bytes(data[:-20])
    with pytest.raises(CheckpointError, match="safetensors"):
        read_state_dict(tmp_path / "cut.safetensors")


def test_plain_python_pickle(tmp_path: Path):
    with (tmp_path / "data.pkl").open("wb") as f:
        pickle.dump({"a": [1, 2, 3]}, f, protocol=4)
    with pytest.raises(CheckpointError, match="not a PyTorch checkpoint"):
        read_state_dict(tmp_path / "data.pkl")


def test_missing_file_and_folder(tmp_path: Path):
    with pytest.raises(CheckpointError, match="no such file"):
        read_state_dict(tmp_path / "nope.pth")
    with pytest.raises(CheckpointError, match="folder"):
        read_state_dict(tmp_path)
