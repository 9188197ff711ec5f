"""Which device runs the models: cuda > mps > cpu, unless a setting or RESTORA_DEVICE says otherwise."""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch

from core.settings import get_setting

DEVICE_ENV = "RESTORA_DEVICE"
DEVICE_SETTING = "device"


@dataclass(frozen=True)
class DeviceInfo:
    device: str  # "cuda:0", "mps", "cpu"
    kind: str  # "cuda", "mps", "cpu"
    name: str
    total_memory: int | None  # bytes; None where the backend cannot tell
    free_memory: int | None
    precisions: tuple[str, ...]  # "float32", "float16", "bfloat16"

    def describe(self) -> str:
        mem = ""
        if self.total_memory:
            free = f"{self.free_memory / 2**30:.1f} of " if self.free_memory is not None else ""
            mem = f", {free}{self.total_memory / 2**30:.1f} GiB free"
        return f"{self.device} ({self.name}{mem}; {', '.join(self.precisions)})"


def auto_device() -> torch.device:
    if torch.cuda.is_available():
        return torch.device("cuda", 0)
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def select_device(preference: str | None = None) -> torch.device:
    """The device to run on: the argument, else RESTORA_DEVICE, else the saved setting, else auto.

    A preference naming a device that is not there falls back to auto with no error: a laptop without a
    GPU must still work with settings copied from a desktop.
    """
    for choice in (preference, os.environ.get(DEVICE_ENV), get_setting(DEVICE_SETTING)):
        if choice and str(choice).lower() != "auto":
            device = _parse(str(choice))
            if device is not None and is_available(device):
                return device
    return auto_device()


def _parse(text: str) -> torch.device | None:
    try:
        return torch.device(text.lower())
    except (RuntimeError, ValueError):
        return None


def is_available(device: torch.device) -> bool:
    if device.type == "cpu":
        return True
    if device.type == "cuda":
        return torch.cuda.is_available() and (device.index or 0) < torch.cuda.device_count()
    if device.type == "mps":
        mps = getattr(torch.backends, "mps", None)
        return bool(mps is not None and mps.is_available())
    return False


def device_info(device: torch.device | str | None = None) -> DeviceInfo:
    dev = torch.device(device) if device is not None else select_device()
    if dev.type == "cuda":
        index = dev.index or 0
        props = torch.cuda.get_device_properties(index)
        free, total = torch.cuda.mem_get_info(index)
        precisions = ["float32", "float16"]
        if torch.cuda.is_bf16_supported():
            precisions.append("bfloat16")
        return DeviceInfo(f"cuda:{index}", "cuda", props.name, int(total), int(free), tuple(precisions))
    if dev.type == "mps":
        return DeviceInfo("mps", "mps", "Apple GPU (Metal)", None, None, ("float32", "float16"))
    ram_total, ram_free = _system_memory()
    return DeviceInfo("cpu", "cpu", _cpu_name(), ram_total, ram_free, ("float32", "bfloat16"))


def list_devices() -> list[DeviceInfo]:
    found = [device_info(torch.device("cuda", i)) for i in range(torch.cuda.device_count())]
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        found.append(device_info(torch.device("mps")))
    found.append(device_info(torch.device("cpu")))
    return found


def free_memory_bytes(device: torch.device) -> int | None:
    """Memory a job can still use on the device (None where unknown)."""
    if device.type == "cuda":
        return int(torch.cuda.mem_get_info(device.index or 0)[0])
    if device.type == "cpu":
        return _system_memory()[1]
    return None


def supports_precision(device: torch.device, dtype: torch.dtype) -> bool:
    name = str(dtype).replace("torch.", "")
    return name in device_info(device).precisions


def _system_memory() -> tuple[int | None, int | None]:
    try:
        fields = {}
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                key, value = line.split(":", 1)
                fields[key] = int(value.strip().split()[0]) * 1024
        return fields.get("MemTotal"), fields.get("MemAvailable")
    except (OSError, ValueError):
        pass
    try:
        pages, page = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
        avail = os.sysconf("SC_AVPHYS_PAGES") if hasattr(os, "sysconf") else None
        return pages * page, (avail * page if avail else None)
    except (ValueError, OSError, AttributeError):
        return None, None


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return f"{line.split(':', 1)[1].strip()}, {os.cpu_count()} threads"
    except OSError:
        pass
    import platform

    return f"{platform.processor() or platform.machine()}, {os.cpu_count()} threads"
