"""Attack-test findings about the model store and parameters: imports from parallel processes keep every
entry, a tampered manifest can never make `remove` delete a file outside the store, a changed file is never
unpickled, one malformed entry breaks nothing else, and a non-finite parameter is refused before any work."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import main
from core.engines.registry import default_registry
from core.store import ModelStore, StoreError
from tests.test_store import save_compact

ROOT = Path(__file__).resolve().parents[1]
IMPORTER = """
import sys
from core.store import ModelStore
ModelStore().import_file(sys.argv[1], name=sys.argv[2])
"""


def test_imports_from_parallel_processes_keep_every_entry(tmp_path: Path, restora_home: Path):
    files = [save_compact(tmp_path / f"net{i}.pth", seed=i) for i in range(3)]
    env = {**os.environ, "RESTORA_HOME": str(restora_home), "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    procs = [subprocess.Popen([sys.executable, "-c", IMPORTER, str(f), f"net{i}"], cwd=ROOT, env=env,
                              stderr=subprocess.PIPE, text=True) for i, f in enumerate(files)]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    store = ModelStore()
    assert sorted(e.name for e in store.list()) == ["net0", "net1", "net2"]
    listed = {e.file for e in store.list()}
    on_disk = {p.name for p in store.root.iterdir() if p.name != "manifest.json" and not p.name.startswith(".")}
    assert on_disk == listed  # no file the manifest does not know


@pytest.mark.parametrize("bad_file", ["../victim.txt", "/VICTIM", "sub/../../victim.txt"])
def test_a_tampered_manifest_never_makes_remove_delete_outside_the_store(tmp_path: Path, restora_home: Path,
                                                                         bad_file: str):
    store = ModelStore()
    store.import_file(save_compact(tmp_path / "a.pth"), name="a")
    victim = store.root.parent / "victim.txt"
    victim.write_text("keep me")
    manifest = json.loads(store.manifest_path.read_text())
    manifest["models"][0]["file"] = bad_file.replace("/VICTIM", str(victim))
    store.manifest_path.write_text(json.dumps(manifest))
    try:
        ModelStore().remove("a")
    except StoreError:
        pass  # refusing is fine too; deleting the victim is not
    assert victim.read_text() == "keep me"


def test_a_changed_model_file_is_refused_before_it_is_unpickled(tmp_path: Path, restora_home: Path,
                                                                 monkeypatch: pytest.MonkeyPatch):
    store = ModelStore()
    entry = store.import_file(save_compact(tmp_path / "a.pth", seed=0), name="a")
    other = save_compact(tmp_path / "b.pth", seed=1)
    target = store.root / entry.file
    assert other.stat().st_size == target.stat().st_size  # same size: only the SHA-256 can tell
    target.write_bytes(other.read_bytes())

    def no_unpickling(*_a, **_k):
        raise AssertionError("the changed file was unpickled")

    monkeypatch.setattr(torch, "load", no_unpickling)
    with pytest.raises(StoreError, match="SHA-256 changed"):
        ModelStore().load("a")


def test_one_malformed_manifest_entry_breaks_neither_the_store_nor_the_built_in_engines(tmp_path: Path,
                                                                                       restora_home: Path):
    store = ModelStore()
    store.import_file(save_compact(tmp_path / "a.pth", seed=0), name="a")
    store.import_file(save_compact(tmp_path / "b.pth", seed=1), name="b")
    manifest = json.loads(store.manifest_path.read_text())
    manifest["models"][0] = {"name": 17, "file": ["not", "a", "name"], "input_range": "wide"}
    store.manifest_path.write_text(json.dumps(manifest))
    names = {e.name for e in ModelStore().list()}
    assert "b" in names
    registry = default_registry(store=ModelStore())
    assert "lowlight.auto_gamma" in registry.ids() and "model.b" in registry.ids()


@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_a_non_finite_parameter_is_refused_before_any_work(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                           value: str):
    Image.fromarray(np.full((16, 16, 3), 60, np.uint8)).save(tmp_path / "a.png")
    out = tmp_path / "out"
    code = main.main(["restore", str(tmp_path / "a.png"), "--engine", "lowlight.auto_gamma", "--param",
                      f"target={value}", "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err and "finite" in err.lower(), err
    assert not out.exists() or not any(out.iterdir())
