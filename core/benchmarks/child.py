"""Fresh processes for the benchmarks, and the peak memory a process can read of itself.

Every measurement runs in a child (`python -m MODULE ARGS` or `python main.py ARGS`) so that its memory is
its own and a crash loses one figure, not the run. Tests replace `run_python` with an in-process runner.

Peak memory is the kernel's high-water mark of this process's resident set (VmHWM), which `reset_peak`
brings back down to the current size between measurements. getrusage's ru_maxrss is no use here: on Linux
it is carried over from the forking parent across exec, so every child reported the parent's peak.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Finished:
    """What a child process left: its exit status and its output."""

    returncode: int
    stdout: str
    stderr: str


def run_python(args: list[str], *, timeout: float, env: dict[str, str] | None = None) -> Finished:
    """`python ARGS` in the project root (raises subprocess.TimeoutExpired past `timeout`)."""
    done = subprocess.run([sys.executable, *args], cwd=ROOT, env=env if env is not None else os.environ.copy(),
                          capture_output=True, text=True, timeout=timeout)
    return Finished(done.returncode, done.stdout, done.stderr)


def _status_kib(field: str) -> float | None:
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return float(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def peak_rss_mb() -> float:
    """This process's peak resident memory in MiB since it started or since the last `reset_peak`."""
    kib = _status_kib("VmHWM")
    if kib is not None:
        return kib / 1024
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # no /proc (macOS): bytes there
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024


def current_rss_mb() -> float:
    """This process's resident memory now, in MiB (NaN where the system does not tell)."""
    kib = _status_kib("VmRSS")
    return kib / 1024 if kib is not None else float("nan")


def reset_peak() -> bool:
    """Bring the peak back down to the current resident size (Linux 4.0 and later); False where it cannot."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as fh:
            fh.write("5")
        return True
    except OSError:
        return False
