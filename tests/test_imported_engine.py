"""Imported models as engines, end to end (store.import_file -> imported engine -> run), and the
`restora models` command."""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

import numpy as np
import pytest
import torch

from core.archs.spandrel_adapter import wrap_spandrel
from core.archs.spec import ArchSpec
from core.engines.base import ParamError
from core.engines.model_engine import FaceModelNeedsFaceEngineError, ModelEngine, store_engines
from core.engines.registry import EngineRegistry, register_all
from core.engines.request import EngineRequest
from core.errors import CancelledError
from core.jobs import CancelToken
from core.photo import Photo
from core.store import ModelStore
from core.tensors import ZERO_ONE, from_model, to_model
from tests.test_downloads import serve
from tests.test_store import compact, save_compact

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _photo(rng: np.random.Generator, h: int = 192, w: int = 256, alpha: bool = True) -> Photo:
    rgb = rng.random((h, w, 3), dtype=np.float32)
    a = np.linspace(0, 1, h * w, dtype=np.float32).reshape(h, w) if alpha else None
    return Photo(rgb=rgb, alpha=a)


def test_imported_upscaler_runs_tiled_end_to_end(tmp_path: Path, rng: np.random.Generator):
    store = ModelStore()
    entry = store.import_file(save_compact(tmp_path / "compact-x2.pth", seed=5), license_note="test only")
    engine_cls = ModelEngine(entry, store, device="cpu")
    assert engine_cls.id == "model.compact-x2" and engine_cls.task == "general"
    assert "compact-x2" in engine_cls.title and "Compact" in engine_cls.title
    assert [p.name for p in engine_cls.params] == ["tile", "overlap", "precision"]
    photo = _photo(rng)
    progress: list[tuple[int, int]] = []
    result = engine_cls.run(EngineRequest(photo, params={"tile": 64, "overlap": 32},
                                          progress=lambda d, t, m="": progress.append((d, t))))
    out = result.photo
    assert out.rgb.shape == (384, 512, 3) and out.rgb.dtype == np.float32  # upscaled, returned as is
    assert out.alpha is not None and out.alpha.shape == (384, 512)
    assert abs(float(out.alpha.mean()) - float(photo.alpha.mean())) < 0.01
    with torch.no_grad():  # the whole photo through the network in one go, by the contract
        whole = from_model(compact(seed=5)(to_model(photo.rgb, ZERO_ONE)), ZERO_ONE)
    np.testing.assert_allclose(out.rgb, whole, atol=1e-4)
    assert len(progress) > 4 and progress[-1][0] == progress[-1][1]  # reported per tile
    assert any("64 px tiles" in n for n in result.notes)


def test_descriptor_is_loaded_once_per_engine(tmp_path: Path, rng: np.random.Generator,
                                              monkeypatch: pytest.MonkeyPatch):
    store = ModelStore()
    entry = store.import_file(save_compact(tmp_path / "a.pth"))
    loads: list[str] = []
    real_load = store.load
    monkeypatch.setattr(store, "load", lambda name, device="cpu": loads.append(name) or real_load(name, device))
    engine = ModelEngine(entry, store, device="cpu")
    photo = _photo(rng, 32, 40, alpha=False)
    engine.run(EngineRequest(photo))
    engine.run(EngineRequest(photo))
    assert loads == ["a"]


def test_params_are_checked(tmp_path: Path, rng: np.random.Generator):
    store = ModelStore()
    entry = store.import_file(save_compact(tmp_path / "a.pth"))
    engine = ModelEngine(entry, store, device="cpu")
    with pytest.raises(ParamError, match="precision"):
        engine.run(EngineRequest(_photo(rng, 16, 16), params={"precision": "int8"}))
    with pytest.raises(ParamError, match="tile"):
        engine.run(EngineRequest(_photo(rng, 16, 16), params={"tile": -5}))


def test_cancel_stops_the_run(tmp_path: Path, rng: np.random.Generator):
    store = ModelStore()
    entry = store.import_file(save_compact(tmp_path / "a.pth"))
    token = CancelToken()
    token.cancel()
    with pytest.raises(CancelledError):
        ModelEngine(entry, store, device="cpu").run(EngineRequest(_photo(rng, 64, 64), params={"tile": 32},
                                                                  cancel=token))


def test_store_engines_register_cleanly(tmp_path: Path):
    store = ModelStore()
    store.import_file(save_compact(tmp_path / "a.pth", seed=1))
    store.import_file(save_compact(tmp_path / "b.pth", seed=2, scale=4))
    engines = store_engines(store)
    registry = register_all(EngineRegistry(), engines)
    assert registry.ids() == ["model.a", "model.b"]
    assert registry.create("model.b").entry.scale == 4


def test_fixed_size_face_model_points_to_the_face_engine(tmp_path: Path, rng: np.random.Generator):
    from spandrel.architectures.RestoreFormer import RestoreFormer

    torch.manual_seed(0)
    net = RestoreFormer(n_embed=32, embed_dim=32, ch=32, ch_mult=(1, 2), num_res_blocks=1, z_channels=32)
    torch.save(net.state_dict(), tmp_path / "rf.pth")
    store = ModelStore()
    entry = store.import_file(tmp_path / "rf.pth")
    engine_cls = ModelEngine(entry, store, device="cpu")
    assert engine_cls.task == "face" and engine_cls.requirements.square
    assert [p.name for p in engine_cls.params] == ["precision"]  # nothing to tile
    with pytest.raises(FaceModelNeedsFaceEngineError, match="face-restoration engine"):
        engine_cls.run(EngineRequest(_photo(rng, 64, 64)))


class _TinyInpaint(torch.nn.Module):
    """Stands in for LaMa: takes (image, mask) with mask 1 = fill, as spandrel's inpainting networks do."""

    def __init__(self) -> None:
        super().__init__()
        self.tiny_inpaint = torch.nn.Conv2d(4, 3, 1)

    def forward(self, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.tiny_inpaint(torch.cat([image * (1 - mask), mask], dim=1)))


def _tiny_inpaint_spec() -> ArchSpec:
    import spandrel
    from spandrel.architectures.LaMa import LaMaArch

    def load(sd):
        net = _TinyInpaint()
        net.load_state_dict(sd)
        loaded = spandrel.MaskedImageModelDescriptor(
            net, sd, architecture=LaMaArch(), purpose="Inpainting", tags=[], supports_half=False,
            supports_bfloat16=True, input_channels=3, output_channels=3,
            size_requirements=spandrel.SizeRequirements(minimum=16, multiple_of=8))
        return wrap_spandrel(loaded)

    return ArchSpec("TinyInpaint", "inpaint", "MIT", ZERO_ONE, ZERO_ONE, detect=lambda sd: "tiny_inpaint.weight" in sd,
                    load=load)


def test_inpainting_model_gets_the_mask_and_changes_only_masked_pixels(
        tmp_path: Path, rng: np.random.Generator, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr("core.archs.identify.own_architectures", lambda: [_tiny_inpaint_spec()])
    torch.manual_seed(0)
    net = _TinyInpaint()
    torch.save(net.state_dict(), tmp_path / "inpaint.pth")
    store = ModelStore()
    entry = store.import_file(tmp_path / "inpaint.pth")
    assert (entry.task, entry.input_channels, entry.size_multiple, entry.tileable) == ("inpaint", 4, 8, False)
    engine_cls = ModelEngine(entry, store, device="cpu")
    assert engine_cls.requirements.needs_mask
    photo = _photo(rng, 44, 60, alpha=False)  # not a multiple of 8: padded and cropped by inference
    mask = np.zeros((44, 60), np.uint8)
    mask[10:30, 20:50] = 255
    out = engine_cls.run(EngineRequest(photo, mask, params={"feather": 0})).photo.rgb
    keep = mask == 0
    assert np.array_equal(out[keep], photo.rgb[keep])
    with torch.no_grad():
        hole = torch.from_numpy((mask > 0).astype(np.float32))[None, None]
        expected = from_model(net(to_model(photo.rgb, ZERO_ONE), hole), ZERO_ONE)
    np.testing.assert_allclose(out[~keep], expected[~keep], atol=1e-5)
    # By default a learned fill fades in over 3 px inside the mask: the inside is the network's, the seam
    # lies between, and outside nothing moves.
    feathered = engine_cls.run(EngineRequest(photo, mask)).photo.rgb
    assert np.array_equal(feathered[keep], photo.rgb[keep])
    inner = np.zeros_like(mask, bool)
    inner[13:27, 23:47] = True
    np.testing.assert_allclose(feathered[inner], expected[inner], atol=1e-5)
    ring = ~keep & ~inner
    assert not np.allclose(feathered[ring], expected[ring], atol=1e-3)


# ----- the `restora models` command ---------------------------------------------------------------------

def _cli(argv: list[str]) -> int:
    from core.cli import models

    parser = argparse.ArgumentParser(prog="restora")
    models.add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return args.run(args)


def test_cli_import_list_remove(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    assert _cli(["models", "list"]) == 0
    assert "empty" in capsys.readouterr().out
    good = save_compact(tmp_path / "good.pth")
    (tmp_path / "bad.pth").write_text("hello")
    assert _cli(["models", "import", str(good), str(tmp_path / "bad.pth"), "--license", "BSD-3-Clause"]) == 1
    captured = capsys.readouterr()
    assert "Imported good.pth as good: Compact, general, 2x" in captured.out
    assert "bad.pth" in captured.err and "text file" in captured.err and "1 of 2" in captured.err
    assert _cli(["models", "list"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == ["NAME", "TASK", "ARCHITECTURE", "SCALE", "SIZE", "MB", "LICENSE"]
    assert table[1].split()[:4] == ["good", "general", "Compact", "2x"] and table[1].endswith("BSD-3-Clause")
    assert _cli(["models", "remove", "good"]) == 0
    assert ModelStore().list() == []


def test_cli_catalog_lists_ids(capsys: pytest.CaptureFixture[str]):
    assert _cli(["models", "catalog"]) == 0
    out = capsys.readouterr().out
    assert "realesrgan-x4plus" in out and "codeformer" in out and "zero-dce" in out


def test_cli_download_shows_progress_and_imports(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                 monkeypatch: pytest.MonkeyPatch):
    from core.store.catalog import CatalogEntry

    data = save_compact(tmp_path / "w.pth", wrapper=None).read_bytes()
    with serve(data) as srv:
        item = CatalogEntry("tiny", "Tiny", "general", "Compact", srv.url, hashlib.sha256(data).hexdigest(),
                            len(data), "BSD-3-Clause")
        monkeypatch.setattr("core.store.catalog.CATALOG", (item,))
        assert _cli(["models", "download", "tiny"]) == 0
    captured = capsys.readouterr()
    assert "100%" in captured.err and "Downloaded Tiny as tiny" in captured.out
    assert [e.name for e in ModelStore().list()] == ["tiny"]


def test_cli_download_ctrl_c_cancels_the_worker(capsys: pytest.CaptureFixture[str],
                                               monkeypatch: pytest.MonkeyPatch):
    """Ctrl+C reaches the main thread, which cancels the download's token and waits for the worker."""
    import time

    from core.cli import models

    seen: dict[str, bool] = {}

    def long_download(self, catalog_id, *, progress, cancel):
        for i in range(500):  # a download that would take 10 s
            progress(i, 500, "")
            if cancel.cancelled:
                seen["cancelled"] = True
                cancel.raise_if_cancelled()
            time.sleep(0.02)
        raise AssertionError("the download was not cancelled")

    monkeypatch.setattr(ModelStore, "download", long_download)
    real_join = models.threading.Thread.join
    calls = {"n": 0}

    def join_then_interrupt(self, timeout=None):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return real_join(self, timeout)

    monkeypatch.setattr(models.threading.Thread, "join", join_then_interrupt)
    assert _cli(["models", "download", "realesrgan-x4plus"]) == 130
    assert seen == {"cancelled": True}
    assert "resume" in capsys.readouterr().err


def test_own_architecture_checkpoint_runs_as_an_engine(tmp_path: Path, rng: np.random.Generator):
    """A Zero-DCE layout is identified by Restora's own architecture (before spandrel) and runs."""
    from core.archs.zero_dce import ZeroDCE

    torch.manual_seed(0)
    net = ZeroDCE().eval()
    torch.save(net.state_dict(), tmp_path / "Epoch99.pth")
    store = ModelStore()
    entry = store.import_file(tmp_path / "Epoch99.pth", "zero-dce")
    assert (entry.architecture, entry.task, entry.identified_by) == ("Zero-DCE", "lowlight", "restora")
    photo = _photo(rng, 40, 56, alpha=False)
    out = ModelEngine(entry, store, device="cpu").run(EngineRequest(photo)).photo.rgb
    desc = store.load("zero-dce")
    with torch.no_grad():
        expected = from_model(desc(to_model(photo.rgb, desc.facts.input_range)), desc.facts.output_range)
    assert out.shape == photo.rgb.shape
    np.testing.assert_allclose(out, expected, atol=1e-4)
