from __future__ import annotations

import main


def test_info_prints_versions_device_folders_engines(capsys, restora_home):
    assert main.main(["info"]) == 0
    out = capsys.readouterr().out
    assert "Restora" in out and "torch" in out
    assert "Device in use: cpu" in out
    assert str(restora_home) in out
    assert "inpaint.telea" in out


def test_help_lists_commands(capsys):
    try:
        main.main(["--help"])
    except SystemExit as e:
        assert e.code == 0
    assert "info" in capsys.readouterr().out
