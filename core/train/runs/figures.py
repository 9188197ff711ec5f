"""Figures for people: EMA smoothing of a curve, time left, durations, and short run names for legends."""

from __future__ import annotations

import math
import re

import numpy as np


def ema_smooth(values: np.ndarray, weight: float,
               state: tuple[float, int] | None = None) -> tuple[np.ndarray, tuple[float, int]]:
    """Debiased exponential moving average (as TensorBoard draws it), continuing from `state`.

    smoothed[k] = last[k] / (1 - weight**n[k]) where last[k] = weight*last[k-1] + (1-weight)*x[k] and
    n counts the finite values seen. Non-finite values stay NaN and do not move the average. Returns
    (smoothed, state) so a growing series can be extended without recomputing its history.
    """
    x = np.asarray(values, dtype=np.float64)
    last, count = state if state is not None else (0.0, 0)
    w = float(weight)
    if not 0.0 <= w < 1.0:
        raise ValueError(f"smoothing weight must be in [0, 1), got {weight}")
    out = np.full(x.shape, np.nan)
    finite = np.isfinite(x)
    v = x[finite]
    if v.size == 0:
        return out, (last, count)
    if w == 0.0:
        out[finite] = v
        return out, (float(v[-1]), count + v.size)
    # last[k] = w^(k+1) * (last0 + (1-w) * sum_{j<=k} w^-(j+1) x[j]), done in blocks short enough that
    # w^-(block) stays far inside float64's range.
    log_w = math.log(w)
    block = int(min(65536, max(1, 500.0 / -log_w)))
    result = np.empty(v.size)
    for a in range(0, v.size, block):
        seg = v[a:a + block]
        k = np.arange(1, seg.size + 1, dtype=np.float64)
        grow = np.exp(-k * log_w)
        acc = last + (1.0 - w) * np.cumsum(seg * grow)
        lasts = acc / grow
        n = count + a + k
        result[a:a + seg.size] = lasts / -np.expm1(n * log_w)
        last = float(lasts[-1])
    out[finite] = result
    return out, (last, count + v.size)


def eta_seconds(step: int, total_steps: int, it_per_s: float | None) -> float | None:
    """Seconds left at the given speed; None when the speed or the total is unknown."""
    if not total_steps or not it_per_s or it_per_s <= 0 or not math.isfinite(it_per_s):
        return None
    return max(0, total_steps - step) / it_per_s


def format_duration(seconds: float | None) -> str:
    if seconds is None or not math.isfinite(seconds):
        return "—"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, sec = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {sec:02d} s"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes:02d} min"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"


_RUN_NAME = re.compile(r"^\d{4}(\d{2})(\d{2})-(\d{2})(\d{2})\d{2}_(.+)$")


def short_run_name(name: str) -> str:
    """'20250101-120000_zero_dce' -> 'zero_dce 01-01 12:00': the run-folder name, shorter for legends."""
    m = _RUN_NAME.match(name)
    if not m:
        return name
    month, day, hour, minute, rest = m.groups()
    return f"{rest} {month}-{day} {hour}:{minute}"
