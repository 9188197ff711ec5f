"""Reference-based loss terms shared by the supervised presets (weights from config.loss; 0 = off)."""

from __future__ import annotations

import torch

from core.train.losses import gradient_l1_loss, l1_loss, ssim_loss, tv_loss
from core.train.presets.base import Batch, ModelOutput, StepContext

SUPERVISED_LOSSES = ("l1", "ssim", "gradient", "tv", "perceptual")


def supervised_losses(ctx: StepContext, batch: Batch, out: ModelOutput) -> dict[str, torch.Tensor]:
    """Weighted L1, SSIM, Sobel-gradient L1, TV and perceptual terms between output and target."""
    w = ctx.config.loss
    pred, target = out.image, batch["target"]
    terms: dict[str, torch.Tensor] = {}
    if w.get("l1", 0) > 0:
        terms["l1"] = w["l1"] * l1_loss(pred, target)
    if w.get("ssim", 0) > 0:
        terms["ssim"] = w["ssim"] * ssim_loss(pred, target, ctx.model.output_range)
    if w.get("gradient", 0) > 0:
        terms["gradient"] = w["gradient"] * gradient_l1_loss(pred, target)
    if w.get("tv", 0) > 0:
        terms["tv"] = w["tv"] * tv_loss(pred)
    if w.get("perceptual", 0) > 0 and ctx.perceptual is not None:
        terms["perceptual"] = w["perceptual"] * ctx.perceptual(pred, target)
    return terms
