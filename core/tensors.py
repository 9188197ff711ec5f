"""THE normalization contract: the only place where pixels become model tensors and back.

Every model declares the value range it takes and returns, (0, 1) or (-1, 1). Inference, validation
previews and metrics all call `to_model` / `from_model` with that declared range, so a network trained
in [-1, 1] can never have its outputs read as [0, 1] (the dark, clipped validation-preview bug).
"""

from __future__ import annotations

import warnings
from typing import Union

import numpy as np
import torch

from core.errors import ValueRangeError
from core.pixels import to_uint8, to_uint16  # noqa: F401  (re-exported: part of the contract)
from core.value_ranges import MINUS_ONE_ONE, SUPPORTED_RANGES, ZERO_ONE, ValueRange, check_range  # noqa: F401

ImageLike = Union[np.ndarray, torch.Tensor]

# A (-1, 1) output read as (0, 1) has about half its values below zero; a real (0, 1) model overshoots
# by a little on a few pixels. Beyond these bounds the declared range is wrong, not the pixels.
_MISMATCH_MARGIN = 0.05
_MISMATCH_SHARE = 0.05
# A (0, 1) output read as (-1, 1) decodes to [0.5, 1]: nothing below mid-grey. When the input has a real
# share of dark values (_DARK_SHARE below -_DARK_LEVEL), a correct output keeps at least a small part of them.
_DARK_LEVEL = 0.1
_DARK_SHARE = 0.2
_DARK_KEPT = 0.05  # an output keeping less than 5% of the input's dark share is (0, 1) read as (-1, 1)


class RangeMismatchWarning(UserWarning):
    """A model's output does not look like the value range it declared."""


def to_model(image: ImageLike, value_range: ValueRange, *, device: torch.device | str | None = None,
             dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Pixels to a model's input: N x C x H x W in the model's declared range.

    Accepts NumPy H x W x C or N x H x W x C arrays (uint8, uint16 or float in [0, 1]) and torch tensors
    C x H x W or N x C x H x W in [0, 1]. A single image comes back with a batch dimension of 1.
    """
    lo, hi = check_range(value_range)
    if isinstance(image, np.ndarray):
        t = _numpy_to_unit_tensor(image)
    elif isinstance(image, torch.Tensor):
        t = image if image.dim() == 4 else image.unsqueeze(0)
        if t.dim() != 4:
            raise ValueError(f"expected a C x H x W or N x C x H x W tensor, got shape {tuple(image.shape)}")
        t = t.float() if not t.is_floating_point() else t
    else:
        raise TypeError(f"to_model takes a NumPy array or a torch tensor, not {type(image).__name__}")
    t = t.to(device=device) if device is not None else t
    t = t.to(dtype=torch.float32)
    if (lo, hi) == MINUS_ONE_ONE:
        t = t * 2.0 - 1.0
    return t.to(dtype=dtype).contiguous()


def from_model_tensor(tensor: torch.Tensor, value_range: ValueRange, *, clip: bool = True,
                      strict: bool = False, reference: torch.Tensor | None = None) -> torch.Tensor:
    """A model's output to [0, 1] as a float32 tensor on the same device (for metrics and losses).

    `reference` (the model's input, in the model's input range) lets the guard also catch a (0, 1) output
    declared as (-1, 1); see check_output_range."""
    lo, hi = check_range(value_range)
    t = tensor.detach().to(torch.float32)
    check_output_range(t, (lo, hi), strict=strict, reference=reference)
    if (lo, hi) == MINUS_ONE_ONE:
        t = (t + 1.0) * 0.5
    return t.clamp(0.0, 1.0) if clip else t


def from_model(tensor: torch.Tensor, value_range: ValueRange, *, clip: bool = True,
               strict: bool = False, reference: torch.Tensor | None = None) -> np.ndarray:
    """A model's output to float32 NumPy in [0, 1]: H x W x C for a batch of one or C x H x W input,
    N x H x W x C for larger batches."""
    single = tensor.dim() == 3 or (tensor.dim() == 4 and tensor.shape[0] == 1)
    t = from_model_tensor(tensor if tensor.dim() == 4 else tensor.unsqueeze(0), value_range, clip=clip, strict=strict,
                          reference=reference)
    arr = t.permute(0, 2, 3, 1).cpu().numpy()
    return np.ascontiguousarray(arr[0] if single else arr, dtype=np.float32)


def to_unit_tensor(t: torch.Tensor, value_range: ValueRange) -> torch.Tensor:
    """A tensor in its declared range mapped to [0, 1] for losses: differentiable, no clamp, no detach
    (from_model_tensor is for finished outputs: it detaches and clips)."""
    lo, hi = check_range(value_range)
    return t if (lo, hi) == ZERO_ONE else (t - lo) / (hi - lo)


def _numpy_to_unit_tensor(image: np.ndarray) -> torch.Tensor:
    if image.dtype == np.uint8:
        arr = image.astype(np.float32) / 255.0
    elif image.dtype == np.uint16:
        arr = image.astype(np.float32) / 65535.0
    elif np.issubdtype(image.dtype, np.floating):
        arr = image.astype(np.float32, copy=False)
    else:
        raise TypeError(f"unsupported pixel dtype {image.dtype}")
    if arr.ndim == 2:
        arr = arr[:, :, None]
    if arr.ndim == 3:
        arr = arr[None]
    if arr.ndim != 4:
        raise ValueError(f"expected H x W x C or N x H x W x C pixels, got shape {image.shape}")
    return torch.from_numpy(np.ascontiguousarray(arr.transpose(0, 3, 1, 2)))


def check_output_range(t: torch.Tensor, value_range: ValueRange, *, strict: bool = False,
                       reference: torch.Tensor | None = None) -> str | None:
    """Warn (or raise ValueRangeError when strict) when an output contradicts its declared range; returns the
    message, or None when nothing looks wrong.

    Both wrong directions are caught:
    - declared (0, 1) but really (-1, 1): far more values lie below the floor than a model's overshoot
      explains (decoded as declared, the image would be dark and clipped);
    - declared (-1, 1) but really (0, 1): the output has (almost) no values in the lower half of the range
      although its input has many there. Values alone cannot tell this from a legitimately bright image, so
      this direction needs `reference`, the model's input in its input range (for an image-to-image model
      the dark parts of the input stay darker than mid-grey in a correct output)."""
    lo, hi = value_range
    if t.numel() == 0:
        return None
    span = hi - lo
    message = None
    # Only a (0, 1) declaration can hide a (-1, 1) model; a (-1, 1) model overshooting its floor (an unbounded
    # output early in training) is not a range mix-up, and decoding clamps it.
    below = (t < lo - _MISMATCH_MARGIN * span).float().mean().item() if (lo, hi) == ZERO_ONE else 0.0
    if below > _MISMATCH_SHARE:
        message = (f"{below:.0%} of the model's output lies below {lo:g}, the floor of its declared range "
                   f"({lo:g}, {hi:g}); the model probably returns (-1, 1), and decoding it as declared would give "
                   f"a dark, clipped image.")
    elif (lo, hi) == MINUS_ONE_ONE and reference is not None and reference.numel():
        ref = reference.detach().to(torch.float32)
        dark_in = (ref < -_DARK_LEVEL).float().mean().item()
        dark_out = (t < -_DARK_LEVEL).float().mean().item()
        if dark_in > _DARK_SHARE and dark_out < _DARK_KEPT * dark_in and t.min().item() > -_MISMATCH_MARGIN:
            message = (f"{dark_in:.0%} of the model's input is darker than mid-grey but only {dark_out:.1%} of its "
                       f"output is: the model probably returns (0, 1) although it declares (-1, 1), and decoding it "
                       f"as declared would give a washed-out, grey image.")
    if message is None:
        return None
    if strict:
        raise ValueRangeError(message)
    warnings.warn(message, RangeMismatchWarning, stacklevel=3)
    return message
