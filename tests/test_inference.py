"""Running a ModelDescriptor: device, precision, whole-image models, out-of-memory fallbacks."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

import core.models.runner as inference
from core.errors import CancelledError, RestoraError
from core.jobs import CancelToken
from core.models.descriptor import ModelDescriptor, ModelFacts, SizeRule, first_output
from core.models.runner import (
    InferenceError,
    InferenceInputError,
    InferenceMemoryError,
    InferenceResult,
    is_out_of_memory,
    pick_precision,
    run_model,
    run_on_device,
)
from core.tensors import MINUS_ONE_ONE, ZERO_ONE
from core.tiling import NonFiniteOutputError, run_tiled

CUDA = torch.device("cuda", 0)


def descriptor(module: nn.Module, *, forward=first_output, tileable: bool = True, size_multiple: int = 1,
               fixed_size: int | None = None, input_range=ZERO_ONE, output_range=ZERO_ONE, **facts) -> ModelDescriptor:
    strategy = "crop" if fixed_size else ("tile" if tileable else "whole")
    size = SizeRule(strategy, multiple_of=size_multiple, fixed=fixed_size)
    return ModelDescriptor(module, ModelFacts(architecture="test-net", purpose="general", input_range=input_range,
                                              output_range=output_range, size=size, **facts), forward)


class Recorder(nn.Module):
    """A 3x3 conv that records the size, dtype and inference mode of every input it sees."""

    def __init__(self, out_range=ZERO_ONE):
        super().__init__()
        torch.manual_seed(0)
        self.conv = nn.Conv2d(3, 3, 3, padding=1)
        self.squash = nn.Sigmoid() if out_range == ZERO_ONE else nn.Tanh()
        self.seen: list[tuple[tuple[int, ...], torch.dtype, bool]] = []

    def forward(self, x):
        self.seen.append((tuple(x.shape), x.dtype, torch.is_inference_mode_enabled()))
        return self.squash(self.conv(x))


class OutOfMemoryAbove(nn.Module):
    """Raises a CUDA-style out-of-memory error for tiles larger than `limit` pixels on a side."""

    def __init__(self, limit: int, error=lambda: torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate")):
        super().__init__()
        self.limit, self.error, self.sides = limit, error, []

    def forward(self, x):
        side = max(x.shape[2:])
        self.sides.append(side)
        if side > self.limit:
            raise self.error()
        return x


@pytest.fixture
def image(rng):
    return rng.random((40, 56, 3), dtype=np.float32)


def test_runs_on_cpu_in_float32_under_inference_mode(image):
    net = Recorder()
    result = run_model(descriptor(net), image, device="cpu", tile=32, overlap=8)
    assert isinstance(result, InferenceResult)
    assert (result.device, result.precision, result.tile, result.notes) == ("cpu", "float32", 32, [])
    assert result.image.shape == image.shape and result.image.dtype == np.float32
    assert len(net.seen) > 1 and all(dtype == torch.float32 and mode for _, dtype, mode in net.seen)
    with torch.no_grad():
        expected = run_tiled(net, image, input_range=ZERO_ONE, output_range=ZERO_ONE, tile=32, overlap=8)
    assert np.abs(result.image - expected).max() < 1e-6


def test_default_device_is_selected_and_tile_chosen(image):
    result = run_model(descriptor(Recorder()), image)  # conftest sets RESTORA_DEVICE=cpu
    assert result.device == "cpu" and result.tile == 56  # the chosen tile, capped at the image


@pytest.mark.parametrize("vr", [ZERO_ONE, MINUS_ONE_ONE])
def test_identity_model_returns_the_image_in_its_declared_range(vr, image):
    result = run_model(descriptor(nn.Identity(), input_range=vr, output_range=vr), image, device="cpu", tile=16)
    assert np.abs(result.image - image).max() < 1e-6


def test_upscaler_output_size(image):
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 12, 3, padding=1), nn.PixelShuffle(2), nn.Sigmoid())
    result = run_model(descriptor(net, scale=2), image, device="cpu", tile=32, overlap=8)
    assert result.image.shape == (80, 112, 3)


def test_non_tileable_model_runs_whole_image_padded_to_its_multiple(rng):
    net = Recorder()
    img = rng.random((13, 21, 3), dtype=np.float32)
    result = run_model(descriptor(net, tileable=False, size_multiple=8), img, device="cpu", tile=8)
    assert [shape for shape, _, _ in net.seen] == [(1, 3, 16, 24)]
    assert result.tile is None and result.image.shape == img.shape


def test_fixed_size_model_refuses_other_sizes(image, rng):
    desc = descriptor(Recorder(), fixed_size=32, tileable=False)
    with pytest.raises(InferenceInputError, match="32 x 32"):
        run_model(desc, image, device="cpu")
    result = run_model(desc, rng.random((32, 32, 3), dtype=np.float32), device="cpu")
    assert result.image.shape == (32, 32, 3) and result.tile is None


@pytest.mark.parametrize("bad", [np.zeros((8, 8, 4), np.float32), np.zeros((8, 8), np.float32),
                                 np.zeros((0, 8, 3), np.float32), "not an image"])
def test_bad_input_is_a_typed_error(bad):
    with pytest.raises(InferenceInputError) as info:
        run_model(descriptor(Recorder()), bad, device="cpu")
    assert isinstance(info.value, RestoraError)


def test_progress_and_cancel_pass_through(image):
    token = CancelToken()
    seen = []

    def progress(done, total, message=""):
        seen.append((done, total))
        token.cancel()

    net = Recorder()
    with pytest.raises(CancelledError):
        run_model(descriptor(net), image, device="cpu", tile=16, overlap=4, progress=progress, cancel=token)
    assert len(net.seen) == 1 and seen[0][0] == 1 and seen[0][1] > 1


# --- precision -----------------------------------------------------------------------------------------

def test_pick_precision_auto():
    plain, half, bf16 = (descriptor(nn.Identity()), descriptor(nn.Identity(), supports_half=True),
                         descriptor(nn.Identity(), supports_bfloat16=True))
    assert pick_precision(half, "cpu", "auto") == torch.float32  # never reduced on the CPU
    assert pick_precision(bf16, "cpu", "auto") == torch.float32
    assert pick_precision(half, CUDA, "auto") == torch.float16
    assert pick_precision(half, "mps", "auto") == torch.float16
    assert pick_precision(plain, CUDA, "auto") == torch.float32
    assert pick_precision(plain, "mps", "auto") == torch.float32


def test_pick_precision_bfloat16_only_where_model_and_gpu_allow(monkeypatch):
    bf16 = descriptor(nn.Identity(), supports_bfloat16=True)
    plain = descriptor(nn.Identity())
    monkeypatch.setattr(inference, "supports_precision", lambda device, dtype: True)
    assert pick_precision(bf16, CUDA, "auto") == torch.bfloat16
    assert pick_precision(plain, CUDA, "auto") == torch.float32  # the model does not allow it
    monkeypatch.setattr(inference, "supports_precision", lambda device, dtype: False)
    assert pick_precision(bf16, CUDA, "auto") == torch.float32  # the GPU does not have it


def test_pick_precision_explicit_requests():
    half = descriptor(nn.Identity(), supports_half=True, supports_bfloat16=True)
    plain = descriptor(nn.Identity())
    assert pick_precision(half, "cpu", "float32") == torch.float32
    assert pick_precision(half, CUDA, "fp16") == torch.float16
    assert pick_precision(plain, CUDA, "float16") == torch.float32  # the model cannot
    assert pick_precision(half, "cpu", "float16") == torch.float32  # the CPU cannot
    assert pick_precision(half, "cpu", "bfloat16") == torch.bfloat16  # the CPU has bfloat16
    assert pick_precision(plain, "cpu", "bf16") == torch.float32
    with pytest.raises(InferenceInputError, match="unknown precision"):
        pick_precision(half, "cpu", "int8")


def test_requested_precision_that_cannot_be_used_is_noted(image):
    result = run_model(descriptor(Recorder()), image, device="cpu", precision="float16", tile=64)
    assert result.precision == "float32"
    assert any("float16" in note and "float32" in note for note in result.notes)


def test_bfloat16_run_on_cpu(image):
    net = Recorder()
    result = run_model(descriptor(net, supports_bfloat16=True), image, device="cpu", precision="bfloat16", tile=64)
    assert result.precision == "bfloat16" and result.notes == []
    assert all(dtype == torch.bfloat16 for _, dtype, _ in net.seen)
    assert result.image.dtype == np.float32
    assert next(net.parameters()).dtype == torch.float32  # handed back in the dtype it came in


# --- out of memory -------------------------------------------------------------------------------------

def test_is_out_of_memory():
    assert is_out_of_memory(torch.cuda.OutOfMemoryError("CUDA out of memory."))
    assert is_out_of_memory(RuntimeError("CUDA error: out of memory"))
    assert is_out_of_memory(RuntimeError("MPS backend out of memory (MPS allocated: 1 GB)"))
    assert is_out_of_memory(RuntimeError("[enforce fail at alloc_cpu.cpp] DefaultCPUAllocator: not enough memory"))
    assert is_out_of_memory(MemoryError())
    assert not is_out_of_memory(RuntimeError("Given groups=1, weight of size [3, 3, 3, 3], expected input"))
    assert not is_out_of_memory(ValueError("out of memory"))


@pytest.mark.parametrize("error", [lambda: torch.cuda.OutOfMemoryError("CUDA out of memory."),
                                   lambda: RuntimeError("CUDA error: out of memory")])
def test_out_of_memory_halves_the_tile(error, rng):
    img = rng.random((300, 260, 3), dtype=np.float32)
    net = OutOfMemoryAbove(200, error)
    result = run_model(descriptor(net), img, device="cpu", tile=512, overlap=16)
    assert net.sides[0] == 300 and result.tile == 150
    assert np.abs(result.image - img).max() < 1e-5
    assert any("150 px" in note for note in result.notes)


def test_out_of_memory_at_the_smallest_tile_on_cpu_is_a_typed_error(rng):
    img = rng.random((300, 300, 3), dtype=np.float32)
    net = OutOfMemoryAbove(10)
    with pytest.raises(InferenceMemoryError) as info:
        run_model(descriptor(net), img, device="cpu", tile=512)
    assert isinstance(info.value, RestoraError)
    assert sorted(set(net.sides), reverse=True) == [300, 150, 128]


def test_other_runtime_errors_are_not_swallowed(image):
    def broken(x):
        raise RuntimeError("expected input to have 4 channels")

    desc = descriptor(nn.Identity(), forward=lambda module, x: broken(x))
    with pytest.raises(RuntimeError, match="4 channels"):
        run_model(desc, image, device="cpu")


class FailingGpu:
    """A device attempt that runs out of memory on CUDA at every tile size and really runs on the CPU."""

    def __init__(self):
        self.tries: list[tuple[str, torch.dtype, int | None]] = []

    def __call__(self, desc, image, device, dtype, tile, overlap, progress, cancel):
        self.tries.append((device.type, dtype, tile))
        if device.type == "cuda":
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return run_on_device(desc, image, device, dtype, tile, overlap, progress, cancel)


def test_gpu_out_of_memory_shrinks_tiles_then_finishes_on_cpu(rng):
    img = rng.random((300, 280, 3), dtype=np.float32)
    net = Recorder()
    attempt = FailingGpu()
    result = run_model(descriptor(net, supports_half=True), img, device=CUDA, tile=512, attempt=attempt)
    assert attempt.tries == [("cuda", torch.float16, 300), ("cuda", torch.float16, 150),
                             ("cuda", torch.float16, 128), ("cpu", torch.float32, 300)]
    assert result.device == "cpu" and result.precision == "float32" and result.tile == 300
    assert "GPU ran out of memory; finished on the CPU." in result.notes
    assert result.image.shape == img.shape
    assert next(net.parameters()).device.type == "cpu"


def test_non_tileable_gpu_out_of_memory_goes_straight_to_cpu(rng):
    img = rng.random((20, 20, 3), dtype=np.float32)
    attempt = FailingGpu()
    result = run_model(descriptor(Recorder(), tileable=False), img, device=CUDA, attempt=attempt)
    assert attempt.tries == [("cuda", torch.float32, None), ("cpu", torch.float32, None)]
    assert result.device == "cpu" and result.tile is None
    assert any("finished on the CPU" in note for note in result.notes)


def test_half_precision_overflow_is_redone_in_float32(image):
    tries = []

    def attempt(desc, img, device, dtype, tile, overlap, progress, cancel):
        tries.append((device.type, dtype))
        if dtype != torch.float32:
            raise NonFiniteOutputError("the network returned NaN or infinite values")
        return img.image.copy()  # the attempt gets the run's inputs

    result = run_model(descriptor(nn.Identity(), supports_half=True), image, device=CUDA, tile=64, attempt=attempt)
    assert tries == [("cuda", torch.float16), ("cuda", torch.float32)]
    assert result.device == "cuda:0" and result.precision == "float32"
    assert any("overflowed" in note for note in result.notes)


def test_float32_nan_output_is_a_typed_error(image):
    desc = descriptor(nn.Identity(), forward=lambda module, x: x * float("nan"))
    with pytest.raises(InferenceError, match="NaN"):
        run_model(desc, image, device="cpu")
