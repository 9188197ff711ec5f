"""The value ranges a network may declare, torch-free (core.tensors converts pixels with them)."""

from __future__ import annotations

ValueRange = tuple[float, float]
ZERO_ONE: ValueRange = (0.0, 1.0)
MINUS_ONE_ONE: ValueRange = (-1.0, 1.0)
SUPPORTED_RANGES = (ZERO_ONE, MINUS_ONE_ONE)


def check_range(value_range: ValueRange) -> ValueRange:
    vr = (float(value_range[0]), float(value_range[1]))
    if vr not in SUPPORTED_RANGES:
        raise ValueError(f"value range must be (0, 1) or (-1, 1), got {value_range}")
    return vr
