"""Running a ModelDescriptor on pixels: device, precision, the size rule, masks, runtime parameters, tiling
and out-of-memory recovery.

Model-agnostic: everything a network needs (value ranges, scale, size rule and strategy, mask polarity,
precision support, runtime parameters) comes from its descriptor's facts. The image goes in as float32
H x W x C in [0, 1] and a mask (uint8, 255 = fill) beside it; both are converted at the model's boundary
only. Alpha is not handled here; engines split it off and put it back. A GPU that runs out of memory gets
smaller tiles, then the CPU, never a crash. The "crop" strategy (regions cut out by the engine, see
core.regions) arrives here as an image of the crop's size, which is run whole.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Protocol

import numpy as np
import torch

from core.devices import select_device, supports_precision
from core.errors import RestoraError
from core.jobs import CancelToken, Progress, no_progress
from core.models.descriptor import ModelDescriptor
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
class ModelInputs:
    """What one run feeds the network: the image, the hole map of a masked model, runtime parameters."""

    image: np.ndarray  # float32 H x W x C in [0, 1]
    hole: np.ndarray | None = None  # float32 H x W, 1 = fill (Restora's polarity)
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class InferenceResult:
    image: np.ndarray  # float32 (H*scale) x (W*scale) x C_out in [0, 1]
    device: str  # where it finished: "cuda:0", "cpu", ...
    precision: str  # "float32", "float16", "bfloat16"
    tile: int | None  # the tile size used; None for a whole-image run
    notes: list[str] = field(default_factory=list)  # things the person should know (fallbacks)


class DeviceAttempt(Protocol):
    """One try at running a model on one device, dtype and tile size (None = whole image)."""

    def __call__(self, desc: ModelDescriptor, inputs: ModelInputs, device: torch.device, dtype: torch.dtype,
                 tile: int | None, overlap: int, progress: Progress,
                 cancel: CancelToken | None) -> np.ndarray: ...


def run_on_device(desc: ModelDescriptor, inputs: ModelInputs, device: torch.device, dtype: torch.dtype,
                  tile: int | None, overlap: int, progress: Progress, cancel: CancelToken | None) -> np.ndarray:
    """Move the model to `device`/`dtype` and run it, tiled or (tile None) as one padded whole image."""
    desc.to(device, dtype)
    desc.module.eval()
    image = inputs.image
    if tile is None:
        tile, overlap = _padded_longest_side(image, desc), 0
    facts = desc.facts
    params = dict(inputs.params)

    def net(x: torch.Tensor, hole: torch.Tensor | None = None) -> torch.Tensor:
        return desc(x, hole, **params)

    with torch.inference_mode():
        return run_tiled(net, image, hole=inputs.hole, input_range=facts.input_range,
                         output_range=facts.output_range, scale=facts.scale, size_multiple=facts.size.multiple_of,
                         tile=tile, overlap=overlap, device=device, dtype=dtype, progress=progress, cancel=cancel)


def run_model(desc: ModelDescriptor, image: np.ndarray, *, mask: np.ndarray | None = None,
              params: Mapping[str, Any] | None = None, device: torch.device | str | None = None,
              precision: str = "auto", tile: int | None = None, overlap: int = 32,
              progress: Progress = no_progress, cancel: CancelToken | None = None,
              attempt: DeviceAttempt = run_on_device) -> InferenceResult:
    """Run `desc` on `image` (float32 H x W x C in [0, 1], C = the image channels its facts declare).

    mask: for a masked model, uint8 H x W with 255 = fill (or bool). params: runtime parameters the facts
    declare (defaults for the rest). device: None picks core.devices.select_device(). precision: "auto"
    (see pick_precision), "float32", "float16" or "bfloat16". tile: None chooses from free memory; used only
    when the size strategy is "tile": other models run whole (padded to the size multiple). On out-of-memory
    the tile is halved down to MIN_TILE, then the run moves to the CPU in float32, with a note. A
    float16/bfloat16 run that yields NaN or infinity is redone in float32, with a note. `attempt` runs one
    try (tests inject failures).
    """
    inputs = _check_input(desc, image, mask, params)
    dev = select_device() if device is None else torch.device(device)
    dtype = pick_precision(desc, dev, precision)
    notes: list[str] = []
    requested = _PRECISIONS.get((precision or "auto").lower())
    if requested is not None and requested != dtype:
        notes.append(f"{_name(requested)} is not available for this model on {dev}; ran in {_name(dtype)}.")
    whole = desc.facts.size.strategy != "tile"
    current = None if whole else _initial_tile(desc, image, dev, tile)
    original_dtype = _parameter_dtype(desc.module)
    try:
        return _run_with_fallbacks(desc, inputs, dev, dtype, tile, current, whole, overlap, progress, cancel,
                                   attempt, notes)
    finally:
        # Callers that also use the network directly expect the dtype they loaded it in; the device stays
        # where the run finished (a model that fell back to the CPU stays there).
        if original_dtype is not None and _parameter_dtype(desc.module) != original_dtype:
            desc.module.to(dtype=original_dtype)


def _run_with_fallbacks(desc: ModelDescriptor, inputs: ModelInputs, dev: torch.device, dtype: torch.dtype,
                        tile: int | None, current: int | None, whole: bool, overlap: int, progress: Progress,
                        cancel: CancelToken | None, attempt: DeviceAttempt, notes: list[str]) -> InferenceResult:
    image = inputs.image
    architecture = desc.facts.architecture
    while True:
        try:
            output = attempt(desc, inputs, dev, dtype, current, overlap, progress, cancel)
            return InferenceResult(output, _device_name(dev), _name(dtype), current, notes)
        except NonFiniteOutputError:
            if dtype == torch.float32:
                raise InferenceError(f"{architecture} returned NaN or infinite values in float32; the "
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
            f"not enough memory to run {architecture} on a {image.shape[1]} x {image.shape[0]} image {how} on "
            f"the CPU; close other programs or use a smaller image")


def pick_precision(desc: ModelDescriptor, device: torch.device | str, requested: str = "auto") -> torch.dtype:
    """The dtype to run `desc` in on `device`.

    "auto": float16 on CUDA/MPS when desc.facts.supports_half, else bfloat16 on CUDA when desc.facts.supports_bfloat16
    and the GPU has it, else float32; always float32 on the CPU (reduced precision is slower there).
    An explicit "float16"/"bfloat16" is honoured only when both the model and the device support it;
    otherwise float32.
    """
    dev = torch.device(device)
    name = (requested or "auto").lower()
    if name == "auto":
        if dev.type in ("cuda", "mps") and desc.facts.supports_half:
            return torch.float16
        if dev.type == "cuda" and desc.facts.supports_bfloat16 and _device_supports(dev, torch.bfloat16):
            return torch.bfloat16
        return torch.float32
    if name not in _PRECISIONS:
        raise InferenceInputError(f"unknown precision {requested!r}; use auto, float32, float16 or bfloat16")
    dtype = _PRECISIONS[name]
    if dtype == torch.float16 and desc.facts.supports_half and _device_supports(dev, dtype):
        return dtype
    if dtype == torch.bfloat16 and desc.facts.supports_bfloat16 and _device_supports(dev, dtype):
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


def _check_input(desc: ModelDescriptor, image: np.ndarray, mask: np.ndarray | None,
                 params: Mapping[str, Any] | None) -> ModelInputs:
    facts = desc.facts
    if not isinstance(image, np.ndarray) or image.ndim != 3:
        shape = getattr(image, "shape", None)
        raise InferenceInputError(f"expected an H x W x C NumPy image, got {type(image).__name__} {shape}")
    h, w, c = image.shape
    if h < 1 or w < 1:
        raise InferenceInputError(f"the image is empty ({h} x {w})")
    if c != facts.image_channels:
        hint = " (alpha is the engine's job: pass RGB only)" if c == 4 else ""
        raise InferenceInputError(f"{facts.architecture} takes {facts.image_channels}-channel images, got {c}{hint}")
    fixed = facts.size.fixed
    if fixed is not None and (h, w) != (fixed, fixed):
        raise InferenceInputError(f"{facts.architecture} takes only {fixed} x {fixed} images, got {w} x {h}")
    if min(h, w) < facts.size.minimum:
        raise InferenceInputError(f"{facts.architecture} needs images at least {facts.size.minimum} pixels on each "
                                  f"side, got {w} x {h}")
    hole = None
    if facts.mask is not None:
        if mask is None:
            raise InferenceInputError(f"{facts.architecture} fills holes: it needs a mask")
        m = np.asarray(mask)
        if m.shape != (h, w):
            raise InferenceInputError(f"the mask is {m.shape[1] if m.ndim > 1 else '?'} x {m.shape[0]} but the "
                                      f"image is {w} x {h}")
        hole = (m > 0).astype(np.float32)
    elif mask is not None:
        raise InferenceInputError(f"{facts.architecture} takes no mask")
    known = {p.name: p for p in facts.runtime_params}
    resolved = desc.runtime_defaults()
    for name, value in (params or {}).items():
        if name not in known:
            raise InferenceInputError(f"{facts.architecture} has no runtime parameter {name!r}")
        resolved[name] = known[name].coerce(value)
    return ModelInputs(image, hole, resolved)


def _initial_tile(desc: ModelDescriptor, image: np.ndarray, device: torch.device, tile: int | None) -> int:
    if tile is None:
        tile = choose_tile_size(device, channels=desc.facts.image_channels, scale=desc.facts.scale)
    if tile < 1:
        raise InferenceInputError(f"the tile size must be positive, got {tile}")
    return min(int(tile), _padded_longest_side(image, desc))


def _halved(current: int | None, image: np.ndarray, desc: ModelDescriptor) -> int | None:
    """The next smaller tile to try, or None when whole-image or already at the minimum."""
    if current is None:
        return None
    floor = max(MIN_TILE, desc.facts.size.multiple_of)
    effective = min(current, _padded_longest_side(image, desc))
    if effective <= floor:
        return None
    return max(floor, effective // 2)


def _padded_longest_side(image: np.ndarray, desc: ModelDescriptor) -> int:
    m = max(1, desc.facts.size.multiple_of)
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
