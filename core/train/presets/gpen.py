"""GPEN: blind face restoration with a GAN prior (core.archs.gpen), trained the way the project's GPEN recipe
says, on paired faces made on the fly from high-quality aligned faces (data.kind "face":
core.train.degradations.degrade_face, blur / downsample / noise / JPEG in random order and strength).

The recipe
- generator AdamW lr 2e-4, discriminator AdamW lr 1e-4, betas (0.9, 0.99), cosine annealing to 1e-6 and 5e-7
  over the whole run; no decoupled weight decay (equalised-learning-rate weights are N(0, 1) by design);
- a StyleGAN2 discriminator (core.train.gpen_discriminator) with the non-saturating logistic loss; for the
  first `gan.d_warmup_epochs` (10) epochs only the discriminator trains and the generator is frozen;
- a gradient penalty: lazy R1 (gamma 10, every 16 discriminator steps, as GPEN's train_simple.py), or
  WGAN-GP (`--set gan.penalty=wgan-gp`), weight `gan.penalty_weight`;
- losses: L1 1, adversarial 1 (GPEN's weights), and the VGG16 perceptual loss 1 when `vgg16_weights` names a
  torchvision VGG16 state dict; without one the perceptual term is off, and the run says so when it starts;
- EMA of the generator weights, decay 0.5 ** (32 / 10000) (GPEN's), used for validation and the export;
- early stopping on validation PSNR: patience 8 validations, min delta 0.002 dB, validating every epoch.

Per resolution (model.size, 8 .. 1024; the network takes exactly size x size faces):
    256 px: 80-100 epochs, batch 16      512 px: 120-150 epochs, batch 8      1024 px: 60-80 epochs, batch 4
(sizes below 256 use the 256 figures). A run takes the upper end (`model.epochs` sets another count; early
stopping usually ends it sooner). The trainer counts steps, so the preset turns epochs into steps when the
run starts:
    steps per epoch = floor(ceil(images / processes) / batch)      (1 when there are fewer images than a batch)
    train.max_steps = epochs x steps per epoch;  val_every = checkpoint_every = steps per epoch
    e.g. 70,000 FFHQ faces at 512 px on one GPU: 8,750 steps per epoch, 150 epochs = 1,312,500 steps.
data.crop follows model.size (or model.size follows data.crop when only the crop is set), and data.batch_size
the table. These values are filled in only where the config leaves them at this preset's defaults (the 512 px
column and its placeholders); a value set to anything else is kept. The run's frozen config records the
resolved numbers, so resuming needs nothing more.

model.channel_multiplier 0 and model.narrow 0 mean the official widths for the size (GPEN-BFR-512: 2 and 1;
GPEN-BFR-256: 1 and 0.5; other sizes 2 and 1), so `--init GPEN-BFR-512.pth` (or -256) fine-tunes the released
weights; the discriminator takes the generator's widths unless model.d_channel_multiplier / d_narrow say else.
Every parameter of both networks takes part in every step, so DDP needs no find_unused_parameters.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

from core.archs.gpen import ARCH_SPEC, GPEN, OFFICIAL, SIZES, channel_table
from core.train.config import ConfigError, DataConfig, GanConfig, OptimConfig, RunConfig, TrainLoopConfig
from core.train.gpen_discriminator import GPENDiscriminator
from core.train.presets.base import BuiltModel, Preset
from core.train.presets.image_unet import GPEN_EMA_DECAY
from core.train.presets.supervised import supervised_losses

NAME = "gpen"
DEFAULT_SIZE = 512


@dataclass(frozen=True)
class Recipe:
    epochs: tuple[int, int]  # the recipe's range; a run takes the upper end
    batch: int


RECIPES = {256: Recipe((80, 100), 16), 512: Recipe((120, 150), 8), 1024: Recipe((60, 80), 4)}
# Placeholders: a run that leaves these as they are gets the epoch-based values (see the module notes).
PLACEHOLDER_STEPS = 100_000
PLACEHOLDER_EVERY = 1000


def recipe_for(size: int) -> Recipe:
    return RECIPES[256] if size <= 256 else RECIPES[512] if size <= 512 else RECIPES[1024]


def steps_per_epoch(images: int, batch: int, processes: int = 1) -> int:
    """What the trainer takes for one epoch: each process's share, in whole batches (at least one step)."""
    per_rank = math.ceil(images / max(1, processes))
    return per_rank // batch if per_rank >= batch else 1


def defaults() -> RunConfig:
    recipe = recipe_for(DEFAULT_SIZE)
    return RunConfig(
        preset=NAME,
        data=DataConfig(kind="face", crop=DEFAULT_SIZE, batch_size=recipe.batch, val_batch_size=4, val_count=32,
                        previews=4),
        model={"size": DEFAULT_SIZE, "channel_multiplier": 0, "narrow": 0.0, "style_dim": 512, "n_mlp": 8,
               "d_channel_multiplier": 0, "d_narrow": 0.0, "epochs": 0},
        loss={"l1": 1.0, "perceptual": 1.0, "ssim": 0.0, "gradient": 0.0, "tv": 0.0},
        optim=OptimConfig(g_lr=2e-4, d_lr=1e-4, betas=[0.9, 0.99], weight_decay=0.0, scheduler="cosine",
                          g_lr_min=1e-6, d_lr_min=5e-7, warmup_steps=0, grad_clip=0.0, ema_decay=GPEN_EMA_DECAY),
        gan=GanConfig(enabled=True, loss="nonsaturating", weight=1.0, penalty="r1", penalty_weight=10.0,
                      penalty_every=16, d_warmup_epochs=10),
        train=TrainLoopConfig(max_steps=PLACEHOLDER_STEPS, log_every=50, val_every=PLACEHOLDER_EVERY,
                              checkpoint_every=PLACEHOLDER_EVERY, early_stop_patience=8, early_stop_min_delta=0.002,
                              monitor="psnr"),
    )


def generator_options(cfg: RunConfig) -> dict[str, int | float]:
    """The generator's constructor arguments (also the export's options): official widths for 0 / 0.0."""
    m = cfg.model
    size = int(m["size"])
    official = OFFICIAL.get(size, {"channel_multiplier": 2, "narrow": 1.0})
    cm = int(m["channel_multiplier"]) or int(official["channel_multiplier"])
    narrow = float(m["narrow"]) or float(official["narrow"])
    return {"size": size, "style_dim": int(m["style_dim"]), "n_mlp": int(m["n_mlp"]), "channel_multiplier": cm,
            "narrow": narrow}


def apply_recipe(cfg: RunConfig) -> list[str]:
    """Fill the size-dependent settings the config left at this preset's defaults (in place); what was done."""
    base, m, d, t = defaults(), cfg.model, cfg.data, cfg.train
    size = int(m["size"])
    if d.crop != size:
        if d.crop == base.data.crop:
            d.crop = size
        elif size == base.model["size"]:
            size = m["size"] = d.crop
        else:
            raise ConfigError(f"model.size is {size} but data.crop is {d.crop}: GPEN takes faces of exactly its "
                              f"size; set one of them (the other follows).")
    if size not in SIZES:
        raise ConfigError(f"GPEN's model.size must be a power of two from {SIZES[0]} to {SIZES[-1]}, got {size}.")
    if int(m["epochs"]) < 0 or min(int(m["style_dim"]), int(m["n_mlp"])) < 1:
        raise ConfigError("model.epochs must be >= 0 (0: the recipe's), model.style_dim and model.n_mlp >= 1.")
    recipe = recipe_for(size)
    notes = []
    if d.batch_size == base.data.batch_size and d.batch_size != recipe.batch:
        d.batch_size = recipe.batch
        notes.append(f"batch {recipe.batch} (the {size} px recipe)")
    placeholders = (t.max_steps == PLACEHOLDER_STEPS, t.val_every == PLACEHOLDER_EVERY,
                    t.checkpoint_every == PLACEHOLDER_EVERY)
    if any(placeholders):
        from core.train.datasets import build_datasets

        images = len(build_datasets(d, t.seed)[0])
        processes = int(os.environ.get("WORLD_SIZE", "1"))
        per_epoch = steps_per_epoch(images, d.batch_size, processes)
        epochs = int(m["epochs"]) or recipe.epochs[1]
        if placeholders[0]:
            t.max_steps = epochs * per_epoch
            notes.append(f"{epochs} epochs of {per_epoch:,} steps ({images:,} images"
                         f"{f' over {processes} processes' if processes > 1 else ''}) = {t.max_steps:,} steps")
        if placeholders[1]:
            t.val_every = per_epoch
        if placeholders[2]:
            t.checkpoint_every = per_epoch
        every = [name for name, placeholder in zip(("validation", "checkpoints"), placeholders[1:]) if placeholder]
        if every:
            notes.append(f"{' and '.join(every)} every epoch")
    if cfg.gan.enabled and cfg.gan.d_warmup_epochs:
        n = cfg.gan.d_warmup_epochs
        notes.append(f"the discriminator trains alone for the first {n} epoch{'s' if n != 1 else ''}")
    return notes


def _announce(line: str) -> None:
    if int(os.environ.get("RANK", "0")) == 0:
        print(line, flush=True)


def build_model(cfg: RunConfig) -> BuiltModel:
    notes = apply_recipe(cfg)
    if cfg.loss.get("perceptual", 0.0) > 0 and not cfg.vgg16_weights:
        cfg.loss["perceptual"] = 0.0
        _announce("gpen: the perceptual loss is OFF: no VGG16 weights were given. Set vgg16_weights to a "
                  "torchvision VGG16 state dict (for example --set vgg16_weights=/path/vgg16.pth) to train with "
                  "L1 + perceptual + adversarial losses.")
    opts = generator_options(cfg)
    size = int(opts["size"])
    if notes:
        _announce(f"gpen {size} px: " + "; ".join(notes) + ".")
    try:
        net = GPEN(size, int(opts["style_dim"]), int(opts["n_mlp"]), int(opts["channel_multiplier"]),
                   float(opts["narrow"]))
    except ValueError as e:
        raise ConfigError(f"GPEN cannot be built as configured: {e}.") from None
    disc = None
    if cfg.gan.enabled:
        m = cfg.model
        d_cm = int(m["d_channel_multiplier"]) or int(opts["channel_multiplier"])
        d_narrow = float(m["d_narrow"]) or float(opts["narrow"])
        if min(channel_table(size, d_cm, d_narrow).values()) < 1:
            raise ConfigError(f"The GPEN discriminator would have no channels at some resolution "
                              f"(d_channel_multiplier {d_cm}, d_narrow {d_narrow}).")
        disc = GPENDiscriminator(size, d_cm, d_narrow)
    return BuiltModel.of(ARCH_SPEC, net, task="face", discriminator=disc, options=opts)


PRESET = Preset(name=NAME, title="GPEN face restoration", task="face",
                description="GPEN (GAN-prior U-Net) on faces degraded on the fly; D warm-up, R1, early stopping; "
                            "model.size 256/512/1024 picks batch and epochs; --init takes GPEN-BFR-512/256.",
                defaults=defaults, build_model=build_model, generator_losses=supervised_losses,
                steps_hint="from the recipe's epochs")
