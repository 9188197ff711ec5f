"""LBAM (core.archs.lbam) trained or fine-tuned for inpainting, with the released training code's recipe.

From Vious/LBAM_Pytorch's train.py and loss/InpaintingLoss.py (figures only): 256 px crops, batch 16; Adam
for the generator at 1e-4 with betas (0.5, 0.9) and for the discriminator at 1e-5 with betas (0.0, 0.9),
constant rates (AdamW with no weight decay is Adam); loss = 6 * hole L1 + valid L1 + 0.01 * perceptual +
120 * style + 0.1 * adversarial, the perceptual and style terms over VGG16 pool1..pool3 of both the output
and the composite (losses.pool_feature_losses), the adversarial one under WGAN-GP with lambda 10.

Where Restora differs, on purpose:
- the released code adds +0.1 * D(fake) to the generator's loss while its critic minimises D(fake) - D(real),
  so its generator pushes the same way as the critic; here the generator minimises -D(fake) (WGAN);
- the discriminator (core.train.discriminators.TwoColumnDiscriminator) has no BatchNorm and no sigmoid, and
  its global column sees the whole image;
- masks are generated (core.train.masks.irregular_mask: thin, medium and thick strokes and boxes, holes up to
  60 % of the crop) instead of read from a mask folder;
- float32 training (train.amp off): the network has no normalisation, see core.archs.lbam.describe.
Without VGG16 weights (vgg16_weights) the perceptual and style terms are switched off with a message at the
start of the run (losses.switch_off_vgg_terms). `--init` (init_weights) fine-tunes the released generator
or a Restora export; exports identify as LBAM in the model store.
"""

from __future__ import annotations

from functools import lru_cache

import torch
import torch.nn.functional as F
from torch import nn

from core.archs.lbam import ARCH_SPEC, LBAM, MULTIPLE, OFFICIAL_BASE, composite, network_inputs
from core.train.config import ConfigError, DataConfig, GanConfig, OptimConfig, RunConfig, TrainLoopConfig
from core.train.discriminators import TwoColumnDiscriminator
from core.train.losses import VGGPoolFeatures, pool_feature_losses
from core.train.presets.base import Batch, BuiltModel, ModelOutput, Preset, StepContext

NAME = "lbam"
VGG_TERMS = ("pool_perceptual", "style")


def defaults() -> RunConfig:
    return RunConfig(
        preset=NAME,
        data=DataConfig(kind="inpaint", crop=256, batch_size=16, val_batch_size=4, mask_kind="irregular",
                        mask_max_fraction=0.6),
        model={"base": OFFICIAL_BASE, "d_base": 64, "d_layers": 6},
        loss={"hole": 6.0, "valid": 1.0, "pool_perceptual": 0.01, "style": 120.0},
        optim=OptimConfig(g_lr=1e-4, d_lr=1e-5, betas=[0.5, 0.9], d_betas=[0.0, 0.9], weight_decay=0.0,
                          scheduler="constant", warmup_steps=0, grad_clip=0.0, ema_decay=0.0),
        gan=GanConfig(enabled=True, loss="wgan", weight=0.1, penalty="wgan-gp", penalty_weight=10.0,
                      penalty_every=1, d_warmup_epochs=0),
        train=TrainLoopConfig(max_steps=100000, log_every=50, val_every=1000, checkpoint_every=1000,
                              monitor="psnr", amp=False),
    )


@lru_cache(maxsize=4)
def _features(weights: str, device: str) -> VGGPoolFeatures:
    """The frozen VGG16 pool1..pool3 network, read once per file and device."""
    return VGGPoolFeatures(weights).to(device)


def _uses_vgg(cfg: RunConfig) -> bool:
    return any(cfg.loss.get(name, 0.0) > 0 for name in VGG_TERMS)


def build_model(cfg: RunConfig) -> BuiltModel:
    if cfg.data.kind != "inpaint":
        raise ConfigError(f"The {NAME} preset fills holes: data.kind must be 'inpaint', not {cfg.data.kind!r}.")
    base = int(cfg.model["base"])
    disc = None
    if cfg.gan.enabled:
        disc = TwoColumnDiscriminator(3, base=int(cfg.model["d_base"]), layers=int(cfg.model["d_layers"]))
    if _uses_vgg(cfg):
        _features(cfg.vgg16_weights, "cpu")  # a broken or missing file fails now, not at the first step
    return BuiltModel.of(ARCH_SPEC, LBAM(4, 3, base), task="inpaint", discriminator=disc, options={"base": base})


def forward(model: nn.Module, batch: Batch, built: BuiltModel) -> ModelOutput:
    """The released call on the batch: holes zeroed, known = 1 - hole; sides padded to a multiple of 128
    (replicated edges) and cropped back. extras["composite"]: the fill pasted into the known pixels."""
    image = batch["input"]
    hole = batch["mask"].to(image.dtype)
    known = 1 - hole
    x = image * known
    if isinstance(built.discriminator, TwoColumnDiscriminator):
        built.discriminator.condition(hole)  # the critic's local column looks at this batch's holes
    h, w = x.shape[-2:]
    pad = (0, (-w) % MULTIPLE, 0, (-h) % MULTIPLE)
    if any(pad):
        inputs, masks = network_inputs(F.pad(x, pad, mode="replicate"), F.pad(known, pad, mode="replicate"))
    else:
        inputs, masks = network_inputs(x, known)
    out = model(inputs, masks)[:, :, :h, :w]
    return ModelOutput(out, {"composite": composite(out, x, known)})


def generator_losses(ctx: StepContext, batch: Batch, out: ModelOutput) -> dict[str, torch.Tensor]:
    w = ctx.config.loss
    hole = batch["mask"].to(out.image.dtype)
    known = 1 - hole
    pred, target = out.image, batch["target"]
    terms: dict[str, torch.Tensor] = {}
    if w.get("hole", 0.0) > 0:
        terms["hole"] = w["hole"] * F.l1_loss(hole * pred, hole * target)
    if w.get("valid", 0.0) > 0:
        terms["valid"] = w["valid"] * F.l1_loss(known * pred, known * target)
    if _uses_vgg(ctx.config):
        features = _features(ctx.config.vgg16_weights, str(ctx.device))
        perceptual, style = pool_feature_losses(features, pred, out.extras["composite"], target)
        if w.get("pool_perceptual", 0.0) > 0:
            terms["pool_perceptual"] = w["pool_perceptual"] * perceptual
        if w.get("style", 0.0) > 0:
            terms["style"] = w["style"] * style
    return terms


PRESET = Preset(name=NAME, title="LBAM inpainting", task="inpaint",
                description="Learnable bidirectional attention maps (ICCV 2019); loads and fine-tunes the "
                            "released generator; irregular masks, hole/valid/VGG/style losses, WGAN-GP.",
                defaults=defaults, build_model=build_model, generator_losses=generator_losses, forward=forward)
