"""GammaNet: a tiny network that reads a small copy of the photo and predicts a global gamma and
contrast (core.archs.gamma_net), applied to the full-resolution image. Trained on synthetic pairs
(core.synthesis.lowlight.degrade_batch on well-exposed photos). Restora's own recipe: L1 + 0.2 (1 - SSIM),
AdamW 5e-4 cosine to 1e-6, batch 16.
"""

from __future__ import annotations

from torch import nn

from core.train.config import DataConfig, OptimConfig, RunConfig, TrainLoopConfig
from core.train.presets.base import Batch, BuiltModel, ModelOutput, Preset
from core.train.presets.supervised import supervised_losses

NAME = "gamma_net"


def defaults() -> RunConfig:
    return RunConfig(
        preset=NAME,
        data=DataConfig(kind="synthetic_lowlight", crop=256, batch_size=16, val_batch_size=8),
        model={"input_size": 128, "features": 16},
        loss={"l1": 1.0, "ssim": 0.2, "gradient": 0.0, "tv": 0.0, "perceptual": 0.0},
        optim=OptimConfig(g_lr=5e-4, betas=[0.9, 0.99], weight_decay=0.0, scheduler="cosine", g_lr_min=1e-6,
                          warmup_steps=200, grad_clip=1.0, ema_decay=0.0),
        train=TrainLoopConfig(max_steps=5000, log_every=50, val_every=500, checkpoint_every=500, monitor="psnr"),
    )


def build_model(cfg: RunConfig) -> BuiltModel:
    from core.archs.gamma_net import ARCH_SPEC, GammaNet

    opts = {"features": int(cfg.model["features"]), "input_size": int(cfg.model["input_size"])}
    return BuiltModel.of(ARCH_SPEC, GammaNet(**opts), options=opts)


def forward(model: nn.Module, batch: Batch, built: BuiltModel) -> ModelOutput:
    from core.archs.gamma_net import apply_gamma_contrast, resize_for_prediction

    x = batch["input"]
    params = model(resize_for_prediction(x, int(built.options["input_size"])))
    return ModelOutput(apply_gamma_contrast(x, params), {"params": params})


PRESET = Preset(name=NAME, title="GammaNet", task="lowlight",
                description="Global gamma and contrast predicted from a small copy; synthetic pairs.",
                defaults=defaults, build_model=build_model, generator_losses=supervised_losses, forward=forward)
