"""One bad file in a data folder does not kill a run: files that are not images are left out when the
datasets are built, files that fail to decode are replaced by the next readable one; each is named once
(echo and status). Only a folder with no usable image fails, with a plain message and no worker traceback."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from core.train.config import DataConfig
from core.train.datasets import DatasetError, FolderDataset, InpaintDataset, PairedDataset
from core.train.trainer import Trainer
from tests.test_train_support import records, tiny_config, write_flat, write_pairs

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def damage(folder: Path) -> None:
    """A file that is no image at all, and a PNG cut off after its header (it fails only when decoded)."""
    (folder / "notes.png").write_bytes(b"this is not a picture\n" * 4)
    good = (folder / "img0.png").read_bytes()
    (folder / "truncated.png").write_bytes(good[: len(good) // 3])


def status(run: Path) -> dict:
    return json.loads((run / "status.json").read_text())


def test_a_run_skips_damaged_files_and_names_each_once(tmp_path, rng):
    data = write_flat(tmp_path / "d", rng, n=3)
    damage(data)
    lines: list[str] = []
    cfg = tiny_config("image_unet", data, model={"base": 4, "depth": 2},
                      train={"max_steps": 6, "log_every": 1}, data={"kind": "inpaint", "batch_size": 2, "val_count": 5})
    result = Trainer(cfg, tmp_path / "run", echo=lines.append).run()
    assert result.state == "finished", result.message
    assert sorted(records(tmp_path / "run", "train")) == [1, 2, 3, 4, 5, 6]
    skipped = [line for line in lines if line.startswith("skipped an unreadable image")]
    assert len(skipped) == 2  # once each, though drawn in several epochs and in validation
    assert any("notes.png is not an image" in line for line in skipped)
    assert any(line.startswith("skipped an unreadable image: truncated.png") and "truncated" in line[40:]
               for line in skipped)
    message = status(tmp_path / "run")["message"]
    assert "Skipped 2 unreadable images" in message and "notes.png" in message and "truncated.png" in message


def test_a_decoding_failure_is_replaced_by_the_next_file_every_time(tmp_path, rng):
    data = write_flat(tmp_path / "d", rng, n=2)
    damage(data)
    ds = InpaintDataset(data, DataConfig(crop=16), seed=0, train=True)
    assert [f.name for f in ds.files] == ["img0.png", "img1.png", "truncated.png"]
    assert ds.skipped == [("notes.png", "is not an image Restora reads")]
    bad = ds.files.index(data / "truncated.png")
    first, again = ds[bad], ds[bad]
    assert int(first["skipped"]) == bad and torch.equal(first["input"], again["input"])  # resumable: same stand-in
    stand_in = ds[(bad + 1) % len(ds)]
    assert int(stand_in["skipped"]) == -1 and torch.equal(first["target"], stand_in["target"])
    assert "truncated" in ds.unreadable_reason(bad)


def test_paired_data_drops_a_pair_with_a_bad_side(tmp_path, rng):
    data = write_pairs(tmp_path / "p", rng, n=3)
    (data / "low" / "img1.png").write_bytes(b"")
    ds = PairedDataset(data, DataConfig(crop=16), seed=0, train=True)
    assert [low.name for low, _ in ds.pairs] == ["img0.png", "img2.png"]
    assert ds.skipped == [("img1.png", "is empty")]


def test_a_folder_with_no_usable_image_fails_with_a_plain_message(tmp_path):
    folder = tmp_path / "junk"
    folder.mkdir()
    (folder / "a.png").write_bytes(b"not an image")
    (folder / "b.jpg").write_bytes(b"")
    with pytest.raises(DatasetError, match=r"None of the images in .*junk can be used: a\.png is not an image "
                                           r"Restora reads; b\.jpg is empty"):
        FolderDataset(folder, DataConfig(), seed=0, train=True)


def test_only_undecodable_files_fail_the_run_without_a_worker_traceback(tmp_path, rng):
    data = write_flat(tmp_path / "d", rng, n=2)
    for f in list(data.iterdir()):
        f.write_bytes(f.read_bytes()[:60])  # PNG signature and header only
    cfg = tiny_config("image_unet", data, model={"base": 4, "depth": 2}, data={"kind": "inpaint", "workers": 1})
    with pytest.raises(DatasetError) as caught:
        Trainer(cfg, tmp_path / "run", echo=lambda line: None).run()
    assert "Traceback" not in str(caught.value) and "None of the 2 images" in str(caught.value)
    st = status(tmp_path / "run")
    assert st["state"] == "failed"
    assert st["message"].startswith("DatasetError: None of the 2 images") and "Traceback" not in st["message"]
    assert np.all([p.stat().st_size == 60 for p in data.iterdir()])
