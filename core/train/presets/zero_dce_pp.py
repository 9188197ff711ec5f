"""Zero-DCE++: the faster Zero-DCE (one shared curve, depthwise-separable convs), zero-reference.

Defaults from the official train script (Li-Chongyi/Zero-DCE_extension, Zero-DCE++/lowlight_train.py):
Adam lr 1e-4, weight decay 1e-4 (here AdamW), gradient-norm clip 0.1, batch 8, scale_factor 1, 512 x 512
inputs (resized there, random crops here), default init, loss L_spa + 10 L_exp + 5 L_col + 1600 L_tv.
"""

from __future__ import annotations

from core.train.config import DataConfig, OptimConfig, RunConfig, TrainLoopConfig
from core.train.losses import ZERO_DCE_PP_WEIGHTS
from core.train.presets.base import BuiltModel, Preset
from core.train.presets.zero_dce import forward, generator_losses  # same curves, same losses

NAME = "zero_dce_pp"


def defaults() -> RunConfig:
    return RunConfig(
        preset=NAME,
        data=DataConfig(kind="unpaired", crop=512, batch_size=8, val_batch_size=4),
        model={"scale_factor": 1, "exposure_level": 0.6, "exposure_patch": 16},
        loss=dict(ZERO_DCE_PP_WEIGHTS),
        optim=OptimConfig(g_lr=1e-4, weight_decay=1e-4, scheduler="constant", grad_clip=0.1, ema_decay=0.0,
                          g_lr_min=1e-4),
        train=TrainLoopConfig(max_steps=20000, log_every=50, val_every=1000, checkpoint_every=1000,
                              monitor="val_loss", amp=True),
    )


def build_model(cfg: RunConfig) -> BuiltModel:
    from core.archs.zero_dce_pp import ARCH_SPEC, ZeroDCEPP

    scale = int(cfg.model["scale_factor"])
    return BuiltModel.of(ARCH_SPEC, ZeroDCEPP(scale_factor=scale), options={"scale_factor": scale})


PRESET = Preset(name=NAME, title="Zero-DCE++", task="lowlight",
                description="Fast zero-reference curve estimation (Zero-DCE++); trains on unpaired dark photos.",
                defaults=defaults, build_model=build_model, generator_losses=generator_losses, forward=forward,
                zero_reference=True)
