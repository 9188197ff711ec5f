"""Loss library, masks, degradations and datasets."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from core.tensors import MINUS_ONE_ONE, to_model
from core.train import losses as L
from core.train.config import DataConfig
from core.train.datasets import DatasetError, InpaintDataset, PairedDataset, ResumableSampler, matched_pairs
from core.train.degradations import degrade_face
from core.train.masks import random_mask
from core.train.optim import EMA, LRSchedule
from tests.test_train_support import write_flat, write_pairs


def test_zero_dce_losses_vanish_where_they_should():
    grey = torch.full((2, 3, 32, 32), 0.6)
    assert float(L.exposure_control_loss(grey)) == pytest.approx(0.0, abs=1e-12)
    assert float(L.color_constancy_loss(grey)) == pytest.approx(0.0, abs=1e-5)
    x = torch.rand(2, 3, 32, 32)
    assert float(L.spatial_consistency_loss(x, x)) == 0.0
    assert float(L.illumination_smoothness_loss(torch.ones(2, 24, 8, 8))) == 0.0
    tinted = grey.clone()
    tinted[:, 0] = 0.9
    assert float(L.color_constancy_loss(tinted)) > 0.0
    assert float(L.exposure_control_loss(x * 0.1)) > float(L.exposure_control_loss(x))
    terms = L.zero_reference_losses(x, x, torch.zeros(2, 3, 32, 32), L.ZERO_DCE_WEIGHTS)
    assert set(terms) == {"spatial", "exposure", "color", "illumination"}


def test_reference_losses_and_range_aware_ssim():
    a = torch.rand(1, 3, 24, 24)
    assert float(L.ssim_loss(a, a)) == pytest.approx(0.0, abs=1e-6)
    b = (a * 0.5).clamp(0, 1)
    in_unit = float(L.ssim_loss(b, a))
    in_pm = float(L.ssim_loss(to_model(b, MINUS_ONE_ONE), to_model(a, MINUS_ONE_ONE), MINUS_ONE_ONE))
    assert in_pm == pytest.approx(in_unit, rel=1e-5)
    assert float(L.gradient_l1_loss(a, a)) == 0.0 and float(L.gradient_l1_loss(a, torch.zeros_like(a))) > 0
    assert float(L.tv_loss(torch.ones(1, 3, 8, 8))) == 0.0


def test_gan_losses_and_penalties():
    real, fake = torch.full((4, 1), 3.0), torch.full((4, 1), -3.0)
    assert float(L.d_loss(real, fake, "hinge")) == 0.0
    assert float(L.d_loss(real, fake, "nonsaturating")) < float(L.d_loss(fake, real, "nonsaturating"))
    disc = torch.nn.Conv2d(3, 1, 3)
    x = torch.rand(2, 3, 8, 8)
    r1 = L.r1_penalty(disc, x)
    gp = L.wgan_gp_penalty(disc, x, torch.rand(2, 3, 8, 8), torch.Generator().manual_seed(0))
    (r1 + gp).backward()
    assert disc.weight.grad is not None and torch.isfinite(disc.weight.grad).all()


def test_perceptual_loss_needs_weights(tmp_path):
    with pytest.raises(L.LossConfigError, match="VGG16"):
        L.PerceptualLoss("")
    with pytest.raises(L.LossConfigError, match="not found"):
        L.PerceptualLoss(tmp_path / "missing.pth")
    bad = tmp_path / "bad.pth"
    torch.save({"0.weight": torch.zeros(1)}, bad)
    with pytest.raises(L.LossConfigError, match="VGG16"):
        L.PerceptualLoss(bad)


def test_perceptual_loss_loads_a_feature_state_dict(tmp_path):
    torch.manual_seed(0)
    convs = {0: (3, 64), 2: (64, 64)}  # relu1_2 only: the first two convolutions
    state = {}
    for idx, (cin, cout) in convs.items():
        state[f"features.{idx}.weight"] = torch.randn(cout, cin, 3, 3) * 0.05
        state[f"features.{idx}.bias"] = torch.zeros(cout)
    path = tmp_path / "vgg.pth"
    torch.save(state, path)
    loss = L.PerceptualLoss(path, layers=("relu1_2",))
    a = torch.rand(1, 3, 16, 16, requires_grad=True)
    assert float(loss(a.detach(), a.detach())) == 0.0
    value = loss(a, torch.rand(1, 3, 16, 16))
    value.backward()
    assert float(value.detach()) > 0 and a.grad is not None


def test_masks_follow_the_contract(rng):
    for _ in range(20):
        m = random_mask(64, 48, rng, max_fraction=0.4)
        assert m.dtype == np.uint8 and m.shape == (64, 48)
        assert set(np.unique(m)) <= {0, 255} and m.any()
        assert (m > 0).mean() <= 0.4


def test_face_degradation_is_seeded_and_in_range(rng):
    face = rng.random((32, 32, 3)).astype(np.float32)
    a = degrade_face(face, np.random.default_rng(5))
    b = degrade_face(face, np.random.default_rng(5))
    assert np.array_equal(a, b) and a.shape == face.shape and a.dtype == np.float32
    assert 0.0 <= a.min() and a.max() <= 1.0 and not np.allclose(a, face)


def test_paired_folders_match_by_stem_and_samples_are_seeded(tmp_path, rng):
    folder = write_pairs(tmp_path / "p", rng, n=3)
    (folder / "low" / "extra.png").write_bytes((folder / "low" / "img0.png").read_bytes())
    assert [p[0].stem for p in matched_pairs(folder)] == ["img0", "img1", "img2"]
    data = DataConfig(crop=16)
    ds = PairedDataset(folder, data, seed=3, train=True)
    one, two = ds[1], ds[1]
    assert torch.equal(one["input"], two["input"]) and one["input"].shape == (3, 16, 16)
    with pytest.raises(DatasetError, match="low/ and high/"):
        PairedDataset(tmp_path / "p" / "low", data, seed=0, train=True)


def test_inpaint_samples_carry_a_hole_mask(tmp_path, rng):
    ds = InpaintDataset(write_flat(tmp_path / "f", rng, n=2), DataConfig(crop=16), seed=0, train=True)
    s = ds[0]
    hole = s["mask"][0] > 0.5
    assert hole.any() and torch.allclose(s["input"][:, hole], torch.tensor(0.5))
    assert torch.equal(s["input"][:, ~hole], s["target"][:, ~hole])


def test_sampler_resumes_mid_epoch():
    full = ResumableSampler(range(10), num_replicas=1, rank=0, seed=1)
    full.set_epoch(2)
    order = list(full)
    part = ResumableSampler(range(10), num_replicas=1, rank=0, seed=1)
    part.set_epoch(2)
    part.set_start(4)
    assert list(part) == order[4:] and len(part) == 6


def test_schedules_and_ema():
    cos = LRSchedule("cosine", 1e-3, 1e-6, total_steps=100, warmup_steps=10)
    assert cos.lr(0) == pytest.approx(1e-4) and cos.lr(9) == pytest.approx(1e-3)
    assert cos.lr(100) == pytest.approx(1e-6) and cos.lr(55) < cos.lr(20)
    step = LRSchedule("step", 1.0, 0.0, 100, step_size=10, gamma=0.5)
    assert step.lr(25) == 0.25
    net = torch.nn.Linear(2, 2)
    ema = EMA(net, 0.5)
    with torch.no_grad():
        before = ema.module.weight.clone()
        net.weight.add_(1.0)
    ema.update(net)
    assert torch.allclose(ema.module.weight, before + 0.5)
