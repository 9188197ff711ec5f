"""A generic image-to-image U-Net (paired folders, inpainting with generated masks, or synthetic face
pairs) with an optional adversarial stage (PatchGAN discriminator).

The adversarial defaults follow the figures the project adopted as GPEN's recipe: generator lr 2e-4,
discriminator lr 1e-4, AdamW betas (0.9, 0.99), cosine to 1e-6 / 5e-7, discriminator-only warm-up
epochs and a gradient penalty. From GPEN's released train_simple.py (yangxy/GPEN) come the non-saturating
logistic GAN loss with adversarial and pixel terms both weighted 1, lazy R1 (gamma 10 every 16 steps), EMA
decay 0.5 ** (32 / 10000) and the [-1, 1] value range; note that script itself uses Adam lr 0.002 with
betas (0, 0.99) for a StyleGAN2 generator, which suits a pretrained GAN prior, not this U-Net.
"""

from __future__ import annotations

import torch
from torch import nn

from core.archs.image_unet import ARCH_SPEC, ImageUNet
from core.train.config import DataConfig, GanConfig, OptimConfig, RunConfig, TrainLoopConfig
from core.train.networks import PatchDiscriminator
from core.train.presets.base import Batch, BuiltModel, ModelOutput, Preset
from core.train.presets.supervised import supervised_losses

NAME = "image_unet"
GPEN_EMA_DECAY = 0.5 ** (32 / 10000)


def defaults() -> RunConfig:
    return RunConfig(
        preset=NAME,
        data=DataConfig(kind="paired", crop=256, batch_size=4, val_batch_size=4),
        model={"base": 32, "depth": 3, "d_base": 32, "d_layers": 3},
        loss={"l1": 1.0, "ssim": 0.0, "gradient": 0.0, "tv": 0.0, "perceptual": 0.0},
        optim=OptimConfig(g_lr=2e-4, d_lr=1e-4, betas=[0.9, 0.99], weight_decay=0.0, scheduler="cosine",
                          g_lr_min=1e-6, d_lr_min=5e-7, warmup_steps=0, grad_clip=0.0, ema_decay=GPEN_EMA_DECAY),
        gan=GanConfig(enabled=False, loss="nonsaturating", weight=1.0, penalty="r1", penalty_weight=10.0,
                      penalty_every=16, d_warmup_epochs=1),
        train=TrainLoopConfig(max_steps=100000, log_every=50, val_every=1000, checkpoint_every=1000, monitor="psnr"),
    )


def build_model(cfg: RunConfig) -> BuiltModel:
    inpaint = cfg.data.kind == "inpaint"
    opts = {"in_channels": 4 if inpaint else 3, "out_channels": 3, "base": int(cfg.model["base"]),
            "depth": int(cfg.model["depth"])}
    disc = None
    if cfg.gan.enabled:
        disc = PatchDiscriminator(3, base=int(cfg.model["d_base"]), layers=int(cfg.model["d_layers"]))
    task = {"inpaint": "inpaint", "face": "face"}.get(cfg.data.kind, "general")
    return BuiltModel.of(ARCH_SPEC, ImageUNet(**opts), task=task, discriminator=disc, options=opts)


def forward(model: nn.Module, batch: Batch, built: BuiltModel) -> ModelOutput:
    x = batch["input"]
    if built.options.get("in_channels") == 4:
        x = torch.cat([x, batch["mask"].to(x.dtype)], 1)
    return ModelOutput(model(x))


PRESET = Preset(name=NAME, title="Image-to-image U-Net", task="general",
                description="Generic U-Net for paired, inpainting or face pairs; optional adversarial stage.",
                defaults=defaults, build_model=build_model, generator_losses=supervised_losses, forward=forward)
