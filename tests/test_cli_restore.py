"""The batch CLI: engines list, restore with a mask, bad files listed, originals untouched, cancel."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

import main
from core.engines.request import EngineRequest
from core.errors import CancelledError
from core.imageio import load_photo
from tests.conftest import gradient_image


def _photo_with_hole(path, hole=(10, 20, 8, 8)):
    img = gradient_image()
    x, y, w, h = hole
    img[y:y + h, x:x + w] = (255, 0, 255)
    Image.fromarray(img).save(path)
    mask = np.zeros(img.shape[:2], np.uint8)
    mask[y:y + h, x:x + w] = 255
    return img, mask


def test_engines_lists_parameters(capsys):
    assert main.main(["engines"]) == 0
    out = capsys.readouterr().out
    assert "inpaint.telea" in out and "--param radius=5" in out


def test_restore_with_mask_and_bad_files(tmp_path, capsys):
    src = tmp_path / "in"
    src.mkdir()
    img, mask = _photo_with_hole(src / "a.png")
    Image.fromarray(mask).save(tmp_path / "mask.png")
    (src / "broken.jpg").write_bytes(b"\xff\xd8\xff garbage")
    before = (src / "a.png").read_bytes()
    out = tmp_path / "out"
    code = main.main(["restore", str(src), str(tmp_path / "missing.png"), "--engine", "inpaint.telea",
                      "--mask", str(tmp_path / "mask.png"), "--param", "radius=3", "--out", str(out),
                      "--suffix", "_filled"])
    captured = capsys.readouterr()
    assert code == 1
    assert "broken.jpg" in captured.err and "missing.png" in captured.err
    result = load_photo(out / "a_filled.png")
    filled = (result.rgb * 255).round().astype(np.uint8)
    hole = mask == 255
    assert np.abs(filled[hole].astype(int) - np.array([255, 0, 255])).max() > 60  # the magenta is gone
    border = np.zeros_like(hole)
    border[18:30, 8:20] = True
    border &= ~hole
    assert np.abs(filled[hole].mean(0) - img[border].mean(0)).max() < 25  # filled from its surroundings
    assert np.array_equal(filled[~hole], img[~hole])  # and nothing else changed
    assert (src / "a.png").read_bytes() == before
    assert sorted(p.name for p in out.iterdir()) == ["a_filled.png"]


def test_restore_refuses_to_overwrite_originals(tmp_path, capsys):
    img, mask = _photo_with_hole(tmp_path / "a.png")
    Image.fromarray(mask).save(tmp_path / "a_mask.png")
    before = (tmp_path / "a.png").read_bytes()
    code = main.main(["restore", str(tmp_path / "a.png"), "--engine", "inpaint.telea", "--mask", str(tmp_path),
                      "--out", str(tmp_path), "--overwrite"])
    assert code == 1
    assert "original" in capsys.readouterr().err
    assert (tmp_path / "a.png").read_bytes() == before


def test_bad_parameter_fails_before_work(tmp_path, capsys):
    _photo_with_hole(tmp_path / "a.png")
    code = main.main(["restore", str(tmp_path / "a.png"), "--engine", "inpaint.telea", "--param", "radius=900",
                      "--out", str(tmp_path / "o")])
    assert code == 2 and "between" in capsys.readouterr().err
    assert main.main(["restore", str(tmp_path / "a.png"), "--engine", "nope", "--out", str(tmp_path / "o")]) == 2


def test_cancel_leaves_no_partial_output(tmp_path, monkeypatch, capsys):
    img, mask = _photo_with_hole(tmp_path / "a.png")
    Image.fromarray(mask).save(tmp_path / "m.png")
    from core.engines.inpaint.classical import OpenCVInpaint

    def cancelled(self, *a, **k):
        raise CancelledError("Cancelled by the user.")

    monkeypatch.setattr(OpenCVInpaint, "process", cancelled)
    out = tmp_path / "out"
    assert main.main(["restore", str(tmp_path / "a.png"), "--engine", "inpaint.telea", "--mask",
                      str(tmp_path / "m.png"), "--out", str(out)]) == 130
    assert list(out.iterdir()) == []


def test_missing_mask_is_reported(tmp_path, capsys):
    _photo_with_hole(tmp_path / "a.png")
    assert main.main(["restore", str(tmp_path / "a.png"), "--engine", "inpaint.telea",
                      "--out", str(tmp_path / "o")]) == 1
    assert "needs a mask" in capsys.readouterr().err


def test_telea_engine_keeps_16_bit_precision(tmp_path):
    from core.engines.inpaint.classical import OpenCVInpaint
    from core.photo import Photo

    rng = np.random.default_rng(0)
    rgb = rng.random((20, 20, 3), dtype=np.float32)
    mask = np.zeros((20, 20), np.uint8)
    mask[5:9, 5:9] = 255
    result = OpenCVInpaint().run(EngineRequest(Photo(rgb=rgb), mask=mask))
    assert np.array_equal(result.photo.rgb[mask == 0], rgb[mask == 0])
    flat = np.full((20, 20, 3), 0.4, np.float32)
    flat[mask == 255] = 1.0
    filled = OpenCVInpaint().run(EngineRequest(Photo(rgb=flat), mask=mask)).photo.rgb
    assert np.abs(filled - 0.4).max() < 1e-4  # a hole in a flat 16-bit area is filled with that value
    with pytest.raises(Exception, match="mask"):
        OpenCVInpaint().run(EngineRequest(Photo(rgb=rgb), mask=np.zeros((3, 3), np.uint8)))


def _photos(folder, names):
    for n, name in enumerate(names):
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray((gradient_image(16, 20) // (n + 2)).astype(np.uint8)).save(path)


def _written(out):
    return sorted(str(p.relative_to(out)) for p in out.rglob("*.png"))


def test_recursive_restore_keeps_sub_folders(tmp_path, capsys):
    _photos(tmp_path / "scans", ["day1/IMG_0001.png", "day2/IMG_0001.png"])
    out = tmp_path / "out"
    assert main.main(["restore", str(tmp_path / "scans"), "--recursive", "--engine", "lowlight.auto_gamma",
                      "--out", str(out)]) == 0
    assert _written(out) == ["day1/IMG_0001.png", "day2/IMG_0001.png"]
    assert "2 written, 0 failed" in capsys.readouterr().out


def test_shards_split_the_work_and_a_rerun_skips_what_is_done(tmp_path, capsys):
    names = [f"d{n % 2}/p{n}.png" for n in range(5)]
    _photos(tmp_path / "in", names)
    out = tmp_path / "out"
    base = ["restore", str(tmp_path / "in"), "--recursive", "--engine", "lowlight.auto_gamma", "--out", str(out)]
    assert main.main(base + ["--shard", "0/2"]) == 0
    first = _written(out)
    assert "of 3 photos in shard 0/2" in capsys.readouterr().out and len(first) == 3
    assert main.main(base + ["--shard", "1/2"]) == 0
    assert _written(out) == sorted(names)
    (out / first[0]).unlink()  # lost with a crashed node
    assert main.main(base + ["--shard", "0/2"]) == 0  # --skip-done is on by default with --shard
    assert "1 written, 0 failed, 2 skipped as already done, of 3 photos in shard 0/2" in capsys.readouterr().out
    assert main.main(base + ["--skip-done"]) == 0
    assert "0 written, 0 failed, 5 skipped" in capsys.readouterr().out
    assert main.main(base + ["--shard", "0/2", "--no-skip-done"]) == 1  # without it, an existing result is listed
    assert "already exists" in capsys.readouterr().err
    assert main.main(base + ["--shard", "0/2", "--overwrite"]) == 0  # --overwrite turns the default off


def test_bad_options_are_clear_one_line_errors(tmp_path, capsys):
    _photos(tmp_path, ["a.png"])
    (tmp_path / "notes.txt").write_text("x")
    base = ["restore", str(tmp_path / "a.png"), "--engine", "lowlight.auto_gamma"]
    for args, words in ((["--out", str(tmp_path / "notes.txt")], "is an existing file"),
                        (["--out", str(tmp_path / "notes.txt" / "o")], "cannot be created"),
                        (["--out", str(tmp_path / "o"), "--shard", "2/2"], "numbered 0 to 1"),
                        (["--out", str(tmp_path / "o"), "--shard", "half"], "INDEX/COUNT"),
                        (["--out", str(tmp_path / "o"), "--skip-done", "--overwrite"], "choose one")):
        assert main.main(base + args) == 2, args
        err = capsys.readouterr().err
        assert words in err and "Traceback" not in err and err.count("\n") == 1, err
    assert not (tmp_path / "o").exists()


def test_colliding_outputs_are_refused_before_any_work(tmp_path, capsys):
    _photos(tmp_path / "a", ["x.png"])
    _photos(tmp_path / "b", ["x.png", "y.png"])
    out = tmp_path / "out"
    assert main.main(["restore", str(tmp_path / "a"), str(tmp_path / "b"), "--engine", "lowlight.auto_gamma",
                      "--out", str(out), "--overwrite"]) == 1
    assert "nothing was done" in capsys.readouterr().err
    assert not out.exists()


def test_sigterm_from_a_scheduler_cancels_cleanly(tmp_path, monkeypatch, capsys):
    import os
    import signal

    from core.engines.lowlight.classical import AutoGamma

    _photos(tmp_path / "in", ["a.png", "b.png"])
    original = AutoGamma.process

    def killed(self, request):
        os.kill(os.getpid(), signal.SIGTERM)  # the job's time is up (SLURM, Kubernetes)
        return original(self, request)

    monkeypatch.setattr(AutoGamma, "process", killed)
    out = tmp_path / "out"
    assert main.main(["restore", str(tmp_path / "in"), "--engine", "lowlight.auto_gamma", "--out", str(out)]) == 130
    assert list(out.iterdir()) == [] and "--skip-done" in capsys.readouterr().err
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # the handler is put back


def test_a_classical_engine_restores_without_loading_torch_or_the_store(tmp_path):
    """Most of a restore command's start-up was importing torch, which classical engines never use."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    from core.engines.registry import registry_for

    Image.fromarray(gradient_image()).save(tmp_path / "dark.png")
    script = ("import sys, main\n"
              f"code = main.main(['restore', {str(tmp_path / 'dark.png')!r}, '--engine', 'lowlight.auto_gamma', "
              f"'--out', {str(tmp_path / 'out')!r}])\n"
              "print(code, 'torch' in sys.modules, 'core.store.store' in sys.modules)\n")
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run([sys.executable, "-c", script], cwd=root, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(root)})
    assert done.stdout.split()[-3:] == ["0", "False", "False"], done.stderr
    assert (tmp_path / "out" / "dark.png").is_file()
    assert set(registry_for("inpaint.telea").ids()) == {"lowlight.auto_gamma", "lowlight.clahe", "lowlight.msrcr",
                                                        "inpaint.auto", "inpaint.patchmatch", "inpaint.telea"}
    assert "lowlight.auto" in registry_for("lowlight.auto").ids()  # anything else: the whole registry
