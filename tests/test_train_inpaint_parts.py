"""The parts of inpainting training: irregular masks, the VGG16 pool features and the style (Gram) loss,
the WGAN losses, and the two-column critic."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
import torch
from torchvision.models.vgg import make_layers

from core.train.discriminators import TwoColumnDiscriminator
from core.train.losses import (
    VGGPoolFeatures,
    d_loss,
    g_adversarial_loss,
    gram_matrix,
    pool_feature_losses,
    switch_off_vgg_terms,
    wgan_gp_penalty,
)
from core.train.masks import STROKE_WIDTHS, _draw_stroke, irregular_mask, random_mask


def test_irregular_masks_cover_every_hole_size_up_to_60_percent():
    rng = np.random.default_rng(0)
    masks = [irregular_mask(64, 64, rng) for _ in range(240)]
    fractions = np.array([(m > 0).mean() for m in masks])
    assert fractions.min() > 0 and fractions.max() <= 0.6
    counts, _ = np.histogram(fractions, bins=[0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6 + 1e-9])
    assert (counts >= 10).all(), counts  # 0-10 %, 10-20 %, ..., 50-60 %: every bin is trained
    assert all(m.dtype == np.uint8 and set(np.unique(m)) <= {0, 255} for m in masks)
    again = np.random.default_rng(0)
    assert np.array_equal(irregular_mask(64, 64, again), masks[0])  # seeded: the same mask after a resume


def test_the_three_stroke_widths_differ():
    """A stroke of each width class, same path: thin < medium < thick."""
    areas = []
    for widths in STROKE_WIDTHS.values():
        mask = np.zeros((256, 256), np.uint8)
        _draw_stroke(mask, np.random.default_rng(3), widths=widths)
        areas.append((mask > 0).sum())
    assert areas[0] < areas[1] < areas[2]


def test_random_mask_is_unchanged_for_its_callers():
    """random_mask draws what it drew before irregular masks were added: seed 5's mask has the checksum the
    earlier version's had (checked against it when the stroke and box widths became arguments)."""
    m = random_mask(48, 40, np.random.default_rng(5))
    assert m.shape == (48, 40) and 0 < (m > 0).mean() <= 0.5
    assert hashlib.sha256(m.tobytes()).hexdigest() == (
        "961bb80f832399ae032203a2feaad0afd837e7189243c69f22f5cbc0d10a835b")


@pytest.fixture(scope="module")
def vgg(tmp_path_factory) -> VGGPoolFeatures:
    torch.manual_seed(0)
    path: Path = tmp_path_factory.mktemp("vgg") / "vgg.pth"
    torch.save(make_layers([64, 64, "M", 128, 128, "M", 256, 256, 256, "M"]).state_dict(), path)  # "N.*" keys
    return VGGPoolFeatures(path)


def test_pool_features_are_pool1_to_pool3(vgg):
    feats = vgg(torch.rand(2, 3, 32, 48))
    assert [tuple(f.shape) for f in feats] == [(2, 64, 16, 24), (2, 128, 8, 12), (2, 256, 4, 6)]
    assert not any(p.requires_grad for p in vgg.parameters())


def test_gram_matrix_is_divided_by_c_h_w():
    f = torch.ones(1, 2, 3, 4)
    assert torch.allclose(gram_matrix(f), torch.full((1, 2, 2), 0.5))  # (H*W) / (C*H*W) = 1 / C
    g = gram_matrix(torch.randn(2, 3, 5, 5, dtype=torch.float16))
    assert g.dtype == torch.float32 and torch.allclose(g, g.transpose(1, 2))


def test_perceptual_and_style_terms(vgg):
    torch.manual_seed(1)
    target = torch.rand(1, 3, 32, 32)
    zero = pool_feature_losses(vgg, target.clone(), target.clone(), target)
    assert float(zero[0]) == pytest.approx(0.0, abs=1e-6) and float(zero[1]) == pytest.approx(0.0, abs=1e-9)
    output = target.flip(-1).clone().requires_grad_(True)  # same colours, other layout
    perceptual, style = pool_feature_losses(vgg, output, target.clone(), target)
    assert perceptual.item() > 0 and style.item() > 0
    (perceptual + style).backward()
    assert output.grad is not None and output.grad.abs().sum() > 0


def test_vgg_terms_are_switched_off_only_without_a_file():
    loss = {"hole": 6.0, "pool_perceptual": 0.01, "style": 120.0}
    note = switch_off_vgg_terms(loss, "")
    assert loss == {"hole": 6.0, "pool_perceptual": 0.0, "style": 0.0} and "pool_perceptual and style" in note
    kept = {"pool_perceptual": 0.01}
    assert switch_off_vgg_terms(kept, "/some/vgg16.pth") == "" and kept == {"pool_perceptual": 0.01}
    assert switch_off_vgg_terms({"perceptual": 1.0}, "") == ""  # the relu-tap loss still asks for its file


def test_wgan_losses():
    real, fake = torch.tensor([2.0, 4.0]), torch.tensor([1.0, -1.0])
    assert float(d_loss(real, fake, "wgan")) == pytest.approx(0.0 - 3.0)  # E[D(fake)] - E[D(real)]
    assert float(g_adversarial_loss(fake, "wgan")) == pytest.approx(0.0)  # -E[D(fake)]
    assert float(g_adversarial_loss(torch.tensor([3.0]), "wgan")) == pytest.approx(-3.0)


def test_two_column_critic_sees_the_whole_image_and_the_hole():
    torch.manual_seed(0)
    critic = TwoColumnDiscriminator(3, base=4, layers=3)
    images = torch.rand(2, 3, 32, 32)
    with pytest.raises(RuntimeError, match="condition"):
        critic(images)
    hole = torch.zeros(2, 1, 32, 32)
    hole[:, :, 8:20, 8:24] = 1
    critic.condition(hole)
    seen: list[torch.Tensor] = []
    critic.local_column.register_forward_pre_hook(lambda m, args: seen.append(args[0]))
    scores = critic(images)
    assert scores.shape == (2,)
    assert torch.equal(seen[-1], images * hole)  # the local column: the hole region only
    both = critic(torch.cat([images, images.flip(0)], 0))  # real and fake in one call: the map repeats
    assert both.shape == (4,) and torch.allclose(both[:2], scores)
    mixed = wgan_gp_penalty(critic, images, images.flip(0))
    assert mixed.ndim == 0 and torch.isfinite(mixed)
    assert critic.state_dict().keys() == TwoColumnDiscriminator(3, base=4, layers=3).state_dict().keys()
    assert not any("hole" in k for k in critic.state_dict())  # the map is never saved
