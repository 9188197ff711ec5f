"""A supervised low-light U-Net that predicts a bounded per-pixel gain (core.archs.gain_unet.GainUNet).

Trains on paired folders (low/ and high/) or, where the folder holds only well-exposed photos, on
synthetic pairs from core.synthesis.lowlight.degrade_batch. Restora's own recipe (no published one):
L1 + 0.2 (1 - SSIM) + 0.1 Sobel-gradient L1, AdamW 2e-4 with 500 warm-up steps and cosine to 1e-6, EMA 0.999.
"""

from __future__ import annotations

from core.train.config import DataConfig, OptimConfig, RunConfig, TrainLoopConfig
from core.train.presets.base import BuiltModel, Preset
from core.train.presets.supervised import supervised_losses

NAME = "lowlight_gain_unet"


def defaults() -> RunConfig:
    return RunConfig(
        preset=NAME,
        data=DataConfig(kind="lowlight_auto", crop=256, batch_size=8, val_batch_size=4),
        model={"base": 16, "gain_min": 0.5, "gain_max": 4.0},
        loss={"l1": 1.0, "ssim": 0.2, "gradient": 0.1, "tv": 0.0, "perceptual": 0.0},
        optim=OptimConfig(g_lr=2e-4, betas=[0.9, 0.99], weight_decay=1e-4, scheduler="cosine", g_lr_min=1e-6,
                          warmup_steps=500, grad_clip=1.0, ema_decay=0.999),
        train=TrainLoopConfig(max_steps=20000, log_every=50, val_every=1000, checkpoint_every=1000, monitor="psnr"),
    )


def build_model(cfg: RunConfig) -> BuiltModel:
    from core.archs.gain_unet import ARCH_SPEC, GainUNet

    base, gain_min, gain_max = int(cfg.model["base"]), float(cfg.model["gain_min"]), float(cfg.model["gain_max"])
    opts = {"base": base, "gain_min": gain_min, "gain_max": gain_max}
    return BuiltModel.of(ARCH_SPEC, GainUNet(base=base, gain_min=gain_min, gain_max=gain_max), options=opts)


PRESET = Preset(name=NAME, title="Low-light gain U-Net", task="lowlight",
                description="Supervised low-light U-Net (bounded gain); paired folders or synthetic pairs.",
                defaults=defaults, build_model=build_model, generator_losses=supervised_losses)
