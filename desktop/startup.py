"""Start-up timing: how long from process start until the window is on screen."""

from __future__ import annotations

import os
import time

_IMPORTED_AT = time.perf_counter()


def seconds_since_process_start() -> float:
    """Wall seconds since this process started (Linux /proc), else since this module was imported."""
    try:
        with open("/proc/self/stat", encoding="ascii") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        start_ticks = int(fields[19])  # field 22 of stat, counted after the command name
        with open("/proc/uptime", encoding="ascii") as fh:
            uptime = float(fh.read().split()[0])
        return uptime - start_ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return time.perf_counter() - _IMPORTED_AT
