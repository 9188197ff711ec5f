"""Zero-DCE: zero-reference low-light enhancement, trained on a folder of unpaired (mostly dark) photos.

Defaults from the official train script (Li-Chongyi/Zero-DCE, Zero-DCE_code/lowlight_train.py): Adam lr 1e-4
with weight decay 1e-4 (here AdamW), gradient-norm clip 0.1, batch 8, 256 x 256 inputs (the official loader
resizes whole images to 256; we take random 256 crops), conv weights drawn from N(0, 0.02), loss
L_spa + 10 L_exp + 5 L_col + 200 L_tv (E = 0.6 on 16 x 16 patches).
"""

from __future__ import annotations

import torch
from torch import nn

from core.tensors import to_unit_tensor
from core.train.config import DataConfig, OptimConfig, RunConfig, TrainLoopConfig
from core.train.losses import ZERO_DCE_WEIGHTS, zero_reference_losses
from core.train.presets.base import Batch, BuiltModel, ModelOutput, Preset, StepContext

NAME = "zero_dce"


def defaults() -> RunConfig:
    return RunConfig(
        preset=NAME,
        data=DataConfig(kind="unpaired", crop=256, batch_size=8, val_batch_size=4),
        model={"exposure_level": 0.6, "exposure_patch": 16},
        loss=dict(ZERO_DCE_WEIGHTS),
        optim=OptimConfig(g_lr=1e-4, weight_decay=1e-4, scheduler="constant", grad_clip=0.1, ema_decay=0.0,
                          g_lr_min=1e-4, warmup_steps=0),
        train=TrainLoopConfig(max_steps=20000, log_every=50, val_every=1000, checkpoint_every=1000,
                              monitor="val_loss", amp=True),
    )


def init_conv_weights(module: nn.Module) -> None:
    """The official initialisation: conv weights from N(0, 0.02)."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.normal_(m.weight, 0.0, 0.02)


def build_model(cfg: RunConfig) -> BuiltModel:
    from core.archs.zero_dce import ARCH_SPEC, ZeroDCE

    net = ZeroDCE()
    init_conv_weights(net)
    return BuiltModel.of(ARCH_SPEC, net)


def forward(model: nn.Module, batch: Batch, built: BuiltModel) -> ModelOutput:
    enhanced, curves = model(batch["input"])
    return ModelOutput(enhanced, {"curves": curves})


def generator_losses(ctx: StepContext, batch: Batch, out: ModelOutput) -> dict[str, torch.Tensor]:
    m = ctx.model
    return zero_reference_losses(to_unit_tensor(out.image, m.output_range),
                                 to_unit_tensor(batch["input"], m.input_range), out.extras["curves"], ctx.config.loss,
                                 exposure_level=float(ctx.config.model["exposure_level"]),
                                 exposure_patch=int(ctx.config.model["exposure_patch"]))


PRESET = Preset(name=NAME, title="Zero-DCE", task="lowlight",
                description="Zero-reference curve estimation (Zero-DCE); trains on unpaired dark photos.",
                defaults=defaults, build_model=build_model, generator_losses=generator_losses, forward=forward,
                zero_reference=True)
