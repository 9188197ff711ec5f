"""Axis labels that stay short and readable on small plots: 2e-4 rather than 0.0002, whole decades in log mode."""

from __future__ import annotations

import math

import pyqtgraph as pg

_WHOLE = 1e-6
_LABELLED_MANTISSAS = (1, 2, 5)  # when a log axis spans less than a decade, these ticks get labels


def short_number(value: float) -> str:
    """0 -> '0', 0.0002 -> '2e-4', 0.00015 -> '1.5e-4', 0.05 -> '0.05', 12000 -> '1.2e4'."""
    if value == 0 or not math.isfinite(value):
        return "0" if value == 0 else str(value)
    magnitude = abs(value)
    if 1e-3 <= magnitude < 1e4:
        return f"{value:.4g}"
    mantissa, exponent = f"{value:.1e}".split("e")
    return f"{mantissa.rstrip('0').rstrip('.')}e{int(exponent)}"


def decade_label(exponent: float) -> str:
    """The label of 10**exponent on a log axis: '1e-4', '0.01', '1', '10', '1e4'."""
    return short_number(10.0 ** round(exponent))


class CompactAxis(pg.AxisItem):
    """Linear: short numbers. Log: only whole decades are labelled (minor ticks stay unlabelled), unless the view
    spans less than a decade, when the 1, 2 and 5 ticks are."""

    def tickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:  # noqa: N802 (Qt name)
        if self.logMode:
            return self.logTickStrings(values, scale, spacing)
        return [short_number(v * scale) for v in values]

    def logTickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:  # noqa: N802
        whole = [abs(v - round(v)) < _WHOLE for v in values]
        if any(whole):
            return [decade_label(v) if w else "" for v, w in zip(values, whole)]
        labels = []
        for v in values:
            number = 10.0 ** v * scale
            mantissa = round(number / 10.0 ** math.floor(math.log10(number))) if number > 0 else 0
            labels.append(short_number(float(f"{number:.2g}")) if mantissa in _LABELLED_MANTISSAS else "")
        return labels
