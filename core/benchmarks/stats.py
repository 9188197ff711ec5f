"""Summaries of repeated measurements: the median with its spread, and what the machine was doing meanwhile."""

from __future__ import annotations

import os
import statistics
from typing import Sequence


def summary(values: Sequence[float], digits: int = 4) -> dict[str, float | int]:
    """median, min, max and the interquartile range (q1, q3) of `values`, and how many there were."""
    vals = sorted(float(v) for v in values)
    if not vals:
        return {"runs": 0}
    if len(vals) >= 2:
        q1, _, q3 = statistics.quantiles(vals, n=4, method="inclusive")
    else:
        q1 = q3 = vals[0]
    return {"median": round(statistics.median(vals), digits), "min": round(vals[0], digits),
            "max": round(vals[-1], digits), "q1": round(q1, digits), "q3": round(q3, digits), "runs": len(vals)}


def spread_text(s: dict[str, float | int], unit: str = "", digits: int = 3) -> str:
    """'1.23 (1.10-1.40)': the median and the min-max range, for tables."""
    if not s.get("runs"):
        return "-"
    median = f"{float(s['median']):.{digits}g}"
    if int(s["runs"]) < 2:
        return f"{median}{unit}"
    return f"{median}{unit} ({float(s['min']):.{digits}g}-{float(s['max']):.{digits}g})"


def load_average() -> list[float] | None:
    """The 1, 5 and 15 minute load averages (None where the system does not tell): a load near or above the
    CPU count means other work shared the machine while it was measured."""
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except (OSError, AttributeError):
        return None
