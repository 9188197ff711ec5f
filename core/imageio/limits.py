"""How big a photo may be before it is decoded: a pixel limit, and the memory its decoding needs.

A small file can claim a huge image (a 879 KB PNG of 17000 x 17000 pixels needs about 10 GB once decoded), so
the header's size is checked against both limits before any pixel is decoded. Torch-free: the memory figure
comes from /proc/meminfo (and the cgroup limit of a container) or os.sysconf, not from core.devices.
"""

from __future__ import annotations

import os
from pathlib import Path

from core import errors

DEFAULT_MAX_PIXELS = 300_000_000
MAX_PIXELS_ENV = "RESTORA_MAX_PIXELS"
MAX_DECODE_BYTES_ENV = "RESTORA_MAX_DECODE_BYTES"
FLOAT_RGB_COPIES = 2  # the float32 RGB result, and one working copy while it is converted or turned upright
_FLOAT = 4  # bytes per float32 sample


def max_pixels_limit(override: int | None = None) -> int:
    """The pixel limit: the argument, else RESTORA_MAX_PIXELS, else DEFAULT_MAX_PIXELS."""
    if override is not None:
        return int(override)
    return _env_number(MAX_PIXELS_ENV, "a whole number of pixels") or DEFAULT_MAX_PIXELS


def check_pixels(name: str, width: int, height: int, max_pixels: int | None = None) -> None:
    """Refuse a header that claims an empty image, or more pixels than the limit."""
    limit = max_pixels_limit(max_pixels)
    if width * height > limit:
        raise errors.ImageTooLargeError(
            f"{name} claims {width} x {height} pixels ({width * height / 1e6:.0f} megapixels), over the limit of "
            f"{limit / 1e6:.0f} megapixels. Raise {MAX_PIXELS_ENV} if the file is genuine.")
    if width <= 0 or height <= 0:
        raise errors.CorruptImageError(f"{name} claims an empty {width} x {height} image.")


def decode_bytes_needed(width: int, height: int, channels: int, bytes_per_sample: int) -> int:
    """Memory decoding needs: the decoder's buffer and Restora's copy of it (channels x bytes per sample,
    twice), then the float32 RGB result and one working copy, and a float32 alpha."""
    pixels = int(width) * int(height)
    stored = max(int(channels), 1) * max(int(bytes_per_sample), 1)
    return pixels * (2 * stored + FLOAT_RGB_COPIES * 3 * _FLOAT + _FLOAT)


def check_decode_memory(name: str, width: int, height: int, channels: int, bytes_per_sample: int) -> None:
    """Refuse, before decoding, an image whose decoding needs more memory than this machine can give."""
    needed = decode_bytes_needed(width, height, channels, bytes_per_sample)
    limit, overridden = decode_memory_limit()
    if limit is None or needed <= limit:
        return
    where = (f"more than the {format_bytes(limit)} that {MAX_DECODE_BYTES_ENV} allows" if overridden else
             f"but only {format_bytes(limit)} is available")
    advice = ("Raise it if the machine has the memory." if overridden else
              "Close other programs and try again, or open a smaller copy of the photo "
              f"({MAX_DECODE_BYTES_ENV} overrides this check).")
    raise errors.ImageTooLargeError(
        f"{name} is {width} x {height} pixels: opening it needs about {format_bytes(needed)} of memory, "
        f"{where}. {advice}")


def check_file_size(name: str, size: int) -> None:
    """Refuse to read a file larger than the memory that may hold it."""
    limit, overridden = decode_memory_limit()
    if limit is not None and size > limit:
        where = f"the {format_bytes(limit)} that {MAX_DECODE_BYTES_ENV} allows" if overridden else \
            f"the {format_bytes(limit)} of memory available"
        raise errors.ImageTooLargeError(f"{name} is {format_bytes(size)}, more than {where}.")


def decode_memory_limit() -> tuple[int | None, bool]:
    """(bytes a decode may use, whether RESTORA_MAX_DECODE_BYTES set it); (None, False) when unknown."""
    override = _env_number(MAX_DECODE_BYTES_ENV, "a number of bytes")
    if override is not None:
        return override, True
    return available_memory_bytes(), False


def available_memory_bytes() -> int | None:
    """Memory this process can still get: MemAvailable, capped by a container's cgroup limit; None if unknown."""
    found = _meminfo_available()
    if found is None:
        try:
            found = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError, AttributeError):
            found = None
    room = _cgroup_room()
    if room is not None:
        found = room if found is None else min(found, room)
    return found


def _meminfo_available() -> int | None:
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _cgroup_room() -> int | None:
    """memory.max - memory.current of this process's cgroup (v2), where it has a limit."""
    try:
        folder = Path("/sys/fs/cgroup")
        limit = (folder / "memory.max").read_text().strip()
        if not limit.isdigit():
            return None
        used = (folder / "memory.current").read_text().strip()
        return max(int(limit) - int(used), 0)
    except (OSError, ValueError):
        return None


def _env_number(variable: str, what: str) -> int | None:
    text = os.environ.get(variable, "").strip()
    if not text:
        return None
    try:
        value = int(text.replace("_", ""))
    except ValueError:
        value = -1
    if value <= 0:
        raise errors.ImageError(f"{variable} must be {what} above 0, not {text!r}.")
    return value


def format_bytes(n: int) -> str:
    """1536 -> '1.5 KB', 9_800_000_000 -> '9.8 GB' (decimal units, as file managers show them)."""
    value = float(n)
    for unit in ("bytes", "KB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{int(value)} bytes" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} GB"  # pragma: no cover - the loop always returns
