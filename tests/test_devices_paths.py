from __future__ import annotations

import torch

from core import paths
from core.devices import device_info, list_devices, select_device
from core.settings import get_setting, set_setting


def test_restora_home_moves_every_folder(restora_home):
    for name, folder in paths.all_folders().items():
        if name != "resources":
            assert folder.is_relative_to(restora_home) and folder.is_dir()


def test_cpu_device_info():
    info = device_info("cpu")
    assert info.kind == "cpu" and "float32" in info.precisions and info.total_memory
    assert "cpu" in info.describe()
    assert list_devices()[-1].kind == "cpu"


def test_device_selection_order(monkeypatch):
    monkeypatch.setenv("RESTORA_DEVICE", "cpu")
    assert select_device() == torch.device("cpu")
    # A device that is not present falls back to what is there rather than failing.
    assert select_device("cuda:7").type in ("cpu", "cuda", "mps")
    monkeypatch.delenv("RESTORA_DEVICE")
    set_setting("device", "cpu")
    assert get_setting("device") == "cpu" and select_device() == torch.device("cpu")
    assert select_device("cpu") == torch.device("cpu")


def test_damaged_settings_file_is_ignored():
    from core.settings import settings_path

    settings_path().write_text("{not json", encoding="utf-8")
    assert get_setting("device", "auto") == "auto"
    set_setting("device", "cpu")
    assert get_setting("device") == "cpu"
