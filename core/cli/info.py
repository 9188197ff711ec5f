"""`restora info`: versions, device, folders, engines."""

from __future__ import annotations

import argparse
import platform
import sys
from importlib import metadata


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("info", help="print versions, device, folders and registered engines")
    p.set_defaults(run=run)


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def run(args: argparse.Namespace) -> int:
    import torch

    import core
    from core import paths
    from core.devices import device_info, list_devices, select_device
    from core.engines.registry import default_registry

    print(f"Restora {core.__version__} on Python {platform.python_version()} ({sys.platform}, {platform.machine()})")
    print("\nVersions:")
    for dist in ("torch", "torchvision", "numpy", "opencv-python-headless", "pillow", "PySide6-Essentials",
                 "pyqtgraph", "qasync", "spandrel", "spandrel-extra-arches", "safetensors", "pypatchmatch"):
        print(f"  {dist:24} {_version(dist)}")
    print(f"\nDevice in use: {device_info(select_device()).describe()}")
    print("Devices found:")
    for info in list_devices():
        print(f"  {info.describe()}")
    print(f"  (CUDA build: {torch.version.cuda or 'none'})")
    print("\nFolders:")
    for name, folder in paths.all_folders().items():
        print(f"  {name:10} {folder}")
    registry = default_registry()
    print(f"\nEngines ({len(registry)}):")
    for engine in registry.list():
        print(f"  {engine.id:28} {engine.task:9} {engine.title}")
    return 0
