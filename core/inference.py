"""Running a ModelDescriptor on a photo's pixels: device, precision, tiling and out-of-memory recovery.

Model-agnostic: everything a network needs (value ranges, scale, size multiple, tileability, precision
support) comes from its descriptor. Alpha is not handled here; engines split it off and put it back.
A GPU that runs out of memory gets smaller tiles, then the CPU, never a crash.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import torch

from core.archs.spec import ModelDescriptor
from core.devices import select_device, supports_precision
from core.errors import RestoraError
from core.jobs import CancelToken, Progress, no_progress
from core.tiling import NonFiniteOutputError, choose_tile_size, run_tiled

MIN_TILE = 128  # out-of-memory retries halve the tile down to this, then move to the CPU
CPU = torch.device("cpu")

_PRECISIONS = {
    "float32": torch.float32, "fp32": torch.float32, "full": torch.float32,
    "float16": torch.float16, "fp16": torch.float16, "half": torch.float16,
    "bfloat16": torch.bfloat16, "bf16": torch.bfloat16,
}
_OOM_MARKERS = ("out of memory", "not enough memory", "can't allocate memory", "failed to allocate")


class InferenceError(RestoraError):
    """A model could not be run on the given pixels."""


class InferenceInputError(InferenceError, ValueError):
    """The pixels or the options do not fit the model (channels, fixed size, precision name)."""


class InferenceMemoryError(InferenceError, MemoryError):
    """Even the smallest tile on the CPU did not fit in memory."""


@dataclass
class InferenceResult:
    image: np.ndarray  # float32 (H*scale) x (W*scale) x C_out in [0, 1]
    device: str  # where it finished: "cuda:0", "cpu", ...
    precision: str  # "float32", "float16", "bfloat16"
    tile: int | None  # the tile size used; None for a whole-image run
    notes: list[str] = field(default_factory=list)  # things the person should know (fallbacks)


class DeviceAttempt(Protocol):
    """One try at running a model on one device, dtype and tile size (None = whole image)."""

    def __call__(self, desc: ModelDescriptor, image: np.ndarray, device: torch.device, dtype: torch.dtype,
                 tile: int | None, overlap: int, progress: Progress,
                 cancel: CancelToken | None) -> np.ndarray: ...


def run_on_device(desc: ModelDescriptor, image: np.ndarray, device: torch.device, dtype: torch.dtype,
                  tile: int | None, overlap: int, progress: Progress, cancel: CancelToken | None) -> np.ndarray:
    """Move the model to `device`/`dtype` and run it, tiled or (tile None) as one padded whole image."""
    desc.to(device, dtype)
    desc.module.eval()
    if tile is None:
        tile, overlap = _padded_longest_side(image, desc), 0
    with torch.inference_mode():
        return run_tiled(desc, image, input_range=desc.input_range, output_range=desc.output_range,
                         scale=desc.scale, size_multiple=desc.size_multiple, tile=tile, overlap=overlap,
                         device=device, dtype=dtype, progress=progress, cancel=cancel)


def run_model(desc: ModelDescriptor, image: np.ndarray, *, device: torch.device | str | None = None,
              precision: str = "auto", tile: int | None = None, overlap: int = 32,
              progress: Progress = no_progress, cancel: CancelToken | None = None,
              attempt: DeviceAttempt = run_on_device) -> InferenceResult:
    """Run `desc` on `image` (float32 H x W x C in [0, 1], C = desc.input_channels).

    device: None picks core.devices.select_device(). precision: "auto" (see pick_precision), "float32",
    "float16" or "bfloat16". tile: None chooses from free memory; ignored for non-tileable or fixed-size
    models, which run whole (padded to the size multiple). On out-of-memory the tile is halved down to
    MIN_TILE, then the run moves to the CPU in float32, with a note. A float16/bfloat16 run that yields
    NaN or infinity is redone in float32, with a note. `attempt` runs one try (tests inject failures).
    """
    _check_input(desc, image)
    dev = select_device() if device is None else torch.device(device)
    dtype = pick_precision(desc, dev, precision)
    notes: list[str] = []
    requested = _PRECISIONS.get((precision or "auto").lower())
    if requested is not None and requested != dtype:
        notes.append(f"{_name(requested)} is not available for this model on {dev}; ran in {_name(dtype)}.")
    whole = not desc.tileable or desc.fixed_size is not None
    current = None if whole else _initial_tile(desc, image, dev, tile)
    original_dtype = _parameter_dtype(desc.module)
    try:
        return _run_with_fallbacks(desc, image, dev, dtype, tile, current, whole, overlap, progress, cancel,
                                   attempt, notes)
    finally:
        # Callers that also use the network directly expect the dtype they loaded it in; the device stays
        # where the run finished (a model that fell back to the CPU stays there).
        if original_dtype is not None and _parameter_dtype(desc.module) != original_dtype:
            desc.module.to(dtype=original_dtype)


def _run_with_fallbacks(desc: ModelDescriptor, image: np.ndarray, dev: torch.device, dtype: torch.dtype,
                        tile: int | None, current: int | None, whole: bool, overlap: int, progress: Progress,
                        cancel: CancelToken | None, attempt: DeviceAttempt, notes: list[str]) -> InferenceResult:
    while True:
        try:
            output = attempt(desc, image, dev, dtype, current, overlap, progress, cancel)
            return InferenceResult(output, _device_name(dev), _name(dtype), current, notes)
        except NonFiniteOutputError:
            if dtype == torch.float32:
                raise InferenceError(f"{desc.architecture} returned NaN or infinite values in float32; the "
                                     "weights or the input are broken") from None
            notes.append(f"{_name(dtype)} overflowed (NaN or infinite values); ran again in float32.")
            dtype = torch.float32
            continue
        except (RuntimeError, MemoryError) as exc:
            if not is_out_of_memory(exc):
                raise
        # Out of memory. The retry happens outside the except block so that the failed try's tensors,
        # which its traceback keeps alive, are freed before the next try allocates.
        _release_cached_memory(dev)
        smaller = _halved(current, image, desc)
        if smaller is not None:
            notes.append(f"{_where(dev)} ran out of memory with {current} px tiles; retried with {smaller} px.")
            current = smaller
            progress(0, 1, f"Out of memory; retrying with {smaller} px tiles")
            continue
        if dev.type != "cpu":
            notes.append(f"{_where(dev)} ran out of memory; finished on the CPU.")
            dev, dtype = CPU, torch.float32
            current = None if whole else _initial_tile(desc, image, dev, tile)
            progress(0, 1, "GPU out of memory; finishing on the CPU")
            continue
        how = f"with {current} px tiles" if current else "as one piece (the model cannot be tiled)"
        raise InferenceMemoryError(
            f"not enough memory to run {desc.architecture} on a {image.shape[1]} x {image.shape[0]} image {how} on "
            f"the CPU; close other programs or use a smaller image")


def pick_precision(desc: ModelDescriptor, device: torch.device | str, requested: str = "auto") -> torch.dtype:
    """The dtype to run `desc` in on `device`.

    "auto": float16 on CUDA/MPS when desc.supports_half, else bfloat16 on CUDA when desc.supports_bfloat16
    and the GPU has it, else float32; always float32 on the CPU (reduced precision is slower there).
    An explicit "float16"/"bfloat16" is honoured only when both the model and the device support it;
    otherwise float32.
    """
    dev = torch.device(device)
    name = (requested or "auto").lower()
    if name == "auto":
        if dev.type in ("cuda", "mps") and desc.supports_half:
            return torch.float16
        if dev.type == "cuda" and desc.supports_bfloat16 and _device_supports(dev, torch.bfloat16):
            return torch.bfloat16
        return torch.float32
    if name not in _PRECISIONS:
        raise InferenceInputError(f"unknown precision {requested!r}; use auto, float32, float16 or bfloat16")
    dtype = _PRECISIONS[name]
    if dtype == torch.float16 and desc.supports_half and _device_supports(dev, dtype):
        return dtype
    if dtype == torch.bfloat16 and desc.supports_bfloat16 and _device_supports(dev, dtype):
        return dtype
    return torch.float32


def is_out_of_memory(exc: BaseException) -> bool:
    """Whether an exception is a device or host allocation failure (CUDA, MPS or CPU)."""
    oom_type = getattr(torch, "OutOfMemoryError", None) or torch.cuda.OutOfMemoryError
    if isinstance(exc, (oom_type, MemoryError)):
        return True
    return isinstance(exc, RuntimeError) and any(m in str(exc).lower() for m in _OOM_MARKERS)


def _parameter_dtype(module: torch.nn.Module) -> torch.dtype | None:
    return next((p.dtype for p in module.parameters() if p.is_floating_point()), None)


def _device_supports(device: torch.device, dtype: torch.dtype) -> bool:
    if device.type == "cuda" and dtype == torch.float16:
        return True  # every CUDA GPU torch supports computes in float16
    try:
        return supports_precision(device, dtype)
    except (RuntimeError, AssertionError, ValueError):  # a CUDA query on a build or box without CUDA
        return False


def _check_input(desc: ModelDescriptor, image: np.ndarray) -> None:
    if not isinstance(image, np.ndarray) or image.ndim != 3:
        shape = getattr(image, "shape", None)
        raise InferenceInputError(f"expected an H x W x C NumPy image, got {type(image).__name__} {shape}")
    h, w, c = image.shape
    if h < 1 or w < 1:
        raise InferenceInputError(f"the image is empty ({h} x {w})")
    if c != desc.input_channels:
        hint = " (alpha is the engine's job: pass RGB only)" if c == 4 else ""
        raise InferenceInputError(f"{desc.architecture} takes {desc.input_channels}-channel images, got {c}{hint}")
    if desc.fixed_size is not None and (h, w) != (desc.fixed_size, desc.fixed_size):
        raise InferenceInputError(f"{desc.architecture} takes only {desc.fixed_size} x {desc.fixed_size} "
                                  f"images, got {w} x {h}")


def _initial_tile(desc: ModelDescriptor, image: np.ndarray, device: torch.device, tile: int | None) -> int:
    if tile is None:
        tile = choose_tile_size(device, channels=desc.input_channels, scale=desc.scale)
    if tile < 1:
        raise InferenceInputError(f"the tile size must be positive, got {tile}")
    return min(int(tile), _padded_longest_side(image, desc))


def _halved(current: int | None, image: np.ndarray, desc: ModelDescriptor) -> int | None:
    """The next smaller tile to try, or None when whole-image or already at the minimum."""
    if current is None:
        return None
    floor = max(MIN_TILE, desc.size_multiple)
    effective = min(current, _padded_longest_side(image, desc))
    if effective <= floor:
        return None
    return max(floor, effective // 2)


def _padded_longest_side(image: np.ndarray, desc: ModelDescriptor) -> int:
    m = max(1, desc.size_multiple)
    return -(-max(image.shape[0], image.shape[1]) // m) * m


def _release_cached_memory(device: torch.device) -> None:
    if device.type == "cuda" and torch.cuda.is_available():
        torch.cuda.empty_cache()
    elif device.type == "mps" and hasattr(torch, "mps") and hasattr(torch.mps, "empty_cache"):
        torch.mps.empty_cache()


def _where(device: torch.device) -> str:
    return "The CPU" if device.type == "cpu" else "GPU"


def _device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return f"cuda:{device.index or 0}"
    return device.type


def _name(dtype: torch.dtype) -> str:
    return str(dtype).replace("torch.", "")
