"""The model store: import, identify, dedupe, names, remove, load, the manifest, face networks' value range,
and downloads from the catalog (against a local server)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from core.archs.identify import UnknownArchitectureError, identify
from core.archs.spec import ArchSpec
from core.models.checkpoints import CheckpointError, UnsafeCheckpointError
from core.models.descriptor import ModelDescriptor, SizeRule
from core.store import ModelNotFoundError, ModelStore, StoreError
from core.tensors import MINUS_ONE_ONE, ZERO_ONE, RangeMismatchWarning, from_model, to_model
from tests.test_downloads import serve

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def compact(seed: int = 0, scale: int = 2, feat: int = 8):
    from spandrel.architectures.Compact import Compact

    torch.manual_seed(seed)
    return Compact(num_in_ch=3, num_out_ch=3, num_feat=feat, num_conv=2, upscale=scale, act_type="prelu").eval()


def save_compact(path: Path, seed: int = 0, scale: int = 2, wrapper: str | None = "params_ema") -> Path:
    sd = compact(seed, scale).state_dict()
    torch.save({wrapper: sd} if wrapper else sd, path)
    return path


def test_import_identifies_and_records_everything(tmp_path: Path, restora_home: Path):
    store = ModelStore()
    assert store.root == restora_home / "models"
    src = save_compact(tmp_path / "my compact x2.pth")
    entry = store.import_file(src, license_note="BSD-3-Clause")
    assert entry.name == "my-compact-x2" and entry.file == "my-compact-x2.pth"
    assert (entry.architecture, entry.task, entry.scale) == ("Compact", "general", 2)
    assert entry.input_range == ZERO_ONE and entry.output_range == ZERO_ONE
    assert entry.identified_by == "spandrel" and entry.source == "imported" and entry.license == "BSD-3-Clause"
    assert entry.file_size == src.stat().st_size and len(entry.sha256) == 64
    assert entry.parameters == sum(p.numel() for p in compact().parameters())
    assert (store.root / entry.file).read_bytes() == src.read_bytes()
    manifest = json.loads((store.root / "manifest.json").read_text())
    assert manifest["models"][0]["name"] == "my-compact-x2"
    assert ModelStore().list() == [entry]  # a new instance reads the same manifest
    assert not [p for p in store.root.iterdir() if p.name.startswith(".")]  # no temp files left


def test_same_content_twice_gives_the_existing_entry(tmp_path: Path):
    store = ModelStore()
    first = store.import_file(save_compact(tmp_path / "a.pth"))
    copy = tmp_path / "copy-of-a.pth"
    copy.write_bytes((tmp_path / "a.pth").read_bytes())
    assert store.import_file(copy, "other-name") == first
    assert len(store.list()) == 1


def test_name_collisions_get_a_suffix(tmp_path: Path):
    store = ModelStore()
    a = store.import_file(save_compact(tmp_path / "a.pth", seed=1), "upscaler")
    b = store.import_file(save_compact(tmp_path / "b.pth", seed=2), "upscaler")
    assert (a.name, b.name) == ("upscaler", "upscaler-2")
    assert [e.name for e in store.list()] == ["upscaler", "upscaler-2"]


def test_remove_and_unknown_names(tmp_path: Path):
    store = ModelStore()
    entry = store.import_file(save_compact(tmp_path / "a.pth"))
    store.remove(entry.name)
    assert store.list() == [] and not (store.root / entry.file).exists()
    with pytest.raises(ModelNotFoundError, match="No model called 'a'"):
        store.remove("a")
    with pytest.raises(ModelNotFoundError):
        store.get("a")


def test_load_gives_the_same_network(tmp_path: Path):
    store = ModelStore()
    entry = store.import_file(save_compact(tmp_path / "a.pth", seed=3))
    desc = store.load(entry.name)
    assert isinstance(desc, ModelDescriptor) and not desc.module.training
    x = torch.rand(1, 3, 16, 20)
    with torch.no_grad():
        assert torch.allclose(desc(x), compact(seed=3)(x))


def test_bad_files_leave_the_store_untouched(tmp_path: Path):
    store = ModelStore()
    (tmp_path / "notes.pth").write_text("not weights")
    torch.save(torch.nn.Linear(2, 2), tmp_path / "pickled-module.pth")
    torch.save({"mystery.weight": torch.zeros(3, 3)}, tmp_path / "unknown.pth")
    with pytest.raises(CheckpointError, match="text file"):
        store.import_file(tmp_path / "notes.pth")
    with pytest.raises(UnsafeCheckpointError):
        store.import_file(tmp_path / "pickled-module.pth")
    with pytest.raises(UnknownArchitectureError, match="mystery.weight"):
        store.import_file(tmp_path / "unknown.pth")
    assert store.list() == [] and list(store.root.iterdir()) == []


def test_damaged_manifest_is_rebuilt_from_the_files(tmp_path: Path):
    store = ModelStore()
    entry = store.import_file(save_compact(tmp_path / "a.pth"))
    store.manifest_path.write_text("{ this is not json")
    rebuilt = ModelStore().list()
    assert [(e.name, e.file, e.sha256, e.architecture) for e in rebuilt] == [
        (entry.name, entry.file, entry.sha256, entry.architecture)]
    assert json.loads(store.manifest_path.read_text())["models"][0]["name"] == entry.name
    assert list(store.root.glob("manifest.json.damaged-*"))  # the bad one is kept for inspection


def test_a_damaged_entry_is_rebuilt_and_the_others_kept(tmp_path: Path):
    store = ModelStore()
    a = store.import_file(save_compact(tmp_path / "a.pth", seed=1), license_note="kept")
    b = store.import_file(save_compact(tmp_path / "b.pth", seed=2))
    data = json.loads(store.manifest_path.read_text())
    data["models"][1] = {"name": "b", "task": 42}
    store.manifest_path.write_text(json.dumps(data))
    entries = {e.name: e for e in ModelStore().list()}
    assert entries["a"].license == "kept"
    assert entries["b"].sha256 == b.sha256 and a.name in entries


def test_load_notices_a_missing_file(tmp_path: Path):
    store = ModelStore()
    entry = store.import_file(save_compact(tmp_path / "a.pth"))
    (store.root / entry.file).unlink()
    with pytest.raises(StoreError, match="missing"):
        store.load(entry.name)


def test_own_architectures_come_before_spandrel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A state dict our own catalogue claims is built by our spec, even though spandrel knows it too."""
    seen: list[str] = []

    def load(sd):
        seen.append("own")
        module = compact()
        module.load_state_dict(sd)
        return spec.describe(module, size=SizeRule("tile"), scale=2)

    spec = ArchSpec("OurCompact", "general", "MIT", ZERO_ONE, ZERO_ONE, detect=lambda sd: "body.0.weight" in sd,
                    load=load)
    monkeypatch.setattr("core.archs.identify.own_architectures", lambda: [spec])
    entry = ModelStore().import_file(save_compact(tmp_path / "a.pth"))
    assert (entry.architecture, entry.identified_by) == ("OurCompact", "restora") and seen == ["own"]


# ----- face networks trained on [-1, 1]: Restora calls the raw network in its true range ------------------

class _Captured(Exception):
    pass


def _capture_call(module: torch.nn.Module) -> dict:
    """Make the next call of `module` record its input and keyword arguments, then stop (no 512 px forward)."""
    seen: dict = {}

    def hook(mod, args, kwargs):
        seen["x"], seen["kwargs"] = args[0].detach().clone(), dict(kwargs)
        raise _Captured

    module.register_forward_pre_hook(hook, with_kwargs=True)
    return seen


def _zero_state_dict_of(cls) -> dict[str, torch.Tensor]:
    with torch.device("meta"):  # the layout only; spandrel builds the real network when identifying
        net = cls()
    return {k: torch.zeros(v.shape, dtype=v.dtype) for k, v in net.state_dict().items()}


@pytest.mark.parametrize("arch", ["GFPGAN", "CodeFormer"])
def test_face_networks_get_minus_one_one_input(arch: str, rng: np.random.Generator):
    if arch == "GFPGAN":
        from spandrel.architectures.GFPGAN import GFPGAN as cls
    else:
        from spandrel_extra_arches.architectures.CodeFormer import CodeFormer as cls
    desc = identify(_zero_state_dict_of(cls)).descriptor
    assert desc.facts.architecture == arch and desc.facts.purpose == "face"
    assert desc.facts.input_range == MINUS_ONE_ONE and desc.facts.output_range == MINUS_ONE_ONE
    assert desc.facts.size.fixed == 512 and desc.facts.size.strategy != "tile"
    image = rng.random((512, 512, 3), dtype=np.float32)
    seen = _capture_call(desc.module)
    with pytest.raises(_Captured):
        desc(to_model(image, desc.facts.input_range))
    expected = torch.from_numpy(image).permute(2, 0, 1)[None] * 2 - 1
    assert torch.allclose(seen["x"], expected, atol=1e-6) and seen["x"].min() < -0.9
    if arch == "GFPGAN":
        assert seen["kwargs"] == {"return_rgb": False}
    else:
        assert seen["kwargs"] == {"weight": 0.5}


def test_restoreformer_runs_in_its_true_range_end_to_end(tmp_path: Path, rng: np.random.Generator):
    from spandrel.architectures.RestoreFormer import RestoreFormer

    torch.manual_seed(0)
    net = RestoreFormer(n_embed=32, embed_dim=32, ch=32, ch_mult=(1, 2), num_res_blocks=1, z_channels=32).eval()
    torch.save({"params_ema": net.state_dict()}, tmp_path / "RestoreFormer-small.pth")
    store = ModelStore()
    entry = store.import_file(tmp_path / "RestoreFormer-small.pth")
    assert (entry.architecture, entry.task) == ("RestoreFormer", "face")
    assert entry.input_range == MINUS_ONE_ONE == entry.output_range and entry.fixed_size == 512
    desc = store.load(entry.name)
    image = rng.random((32, 32, 3), dtype=np.float32)
    with torch.no_grad():
        ours = from_model(desc(to_model(image, desc.facts.input_range)), desc.facts.output_range)
        x = torch.from_numpy(image).permute(2, 0, 1)[None] * 2 - 1  # what the network was trained on
        raw = ((net(x)[0] + 1) / 2).clamp(0, 1)[0].permute(1, 2, 0).numpy()
        with pytest.warns(RangeMismatchWarning):  # the pitfall: the contract's guard notices it
            as_if_zero_one = from_model(net(to_model(image, ZERO_ONE))[0], ZERO_ONE)
    np.testing.assert_allclose(ours, raw, atol=1e-5)
    assert np.abs(as_if_zero_one - raw).max() > 1e-3


# ----- downloads ----------------------------------------------------------------------------------------

def test_download_from_the_catalog_imports_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    import hashlib

    from core.store.catalog import CatalogEntry

    save_compact(tmp_path / "weights.pth", wrapper=None)
    data = (tmp_path / "weights.pth").read_bytes()
    with serve(data) as srv:
        item = CatalogEntry("tiny-compact", "Tiny compact", "general", "Compact", srv.url,
                            hashlib.sha256(data).hexdigest(), len(data), "BSD-3-Clause")
        monkeypatch.setattr("core.store.catalog.CATALOG", (item,))
        store = ModelStore()
        entry = store.download("tiny-compact")
        again = store.download("tiny-compact")
    assert entry == again and len(srv.ranges) == 1
    assert (entry.name, entry.source, entry.catalog_id, entry.license) == (
        "tiny-compact", "downloaded", "tiny-compact", "BSD-3-Clause")
    assert entry.sha256 == item.sha256
    from core.paths import cache_dir

    assert not list((cache_dir() / "downloads").iterdir())  # the store keeps the only copy


def test_catalog_entries_are_well_formed():
    from core.store.catalog import UnknownCatalogEntryError, catalog, catalog_entry

    entries = catalog()
    assert len({e.id for e in entries}) == len(entries) >= 10
    for e in entries:
        assert e.url.startswith("https://") and e.task in ("lowlight", "inpaint", "face", "general")
        assert e.sha256 is None or len(e.sha256) == 64 and int(e.sha256, 16) >= 0
        assert e.license
    assert catalog_entry("zero-dce").sha256 == "a4395acb874f320375d9704997cef874eaaaaa26a1777ceb29a92b70f74c3612"
    with pytest.raises(UnknownCatalogEntryError, match="realesrgan-x4plus"):
        catalog_entry("nope")
