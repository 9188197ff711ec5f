"""The training loop: one run of one preset, writing one run folder.

What it guarantees:
- validation outputs reach metrics and previews only through core.tensors with the model's declared
  output range (a (-1, 1) network cannot produce dark, clipped previews);
- a NaN or infinite loss stops the run before the bad update; the last good checkpoint stays;
- checkpoints are atomic and hold everything to resume exactly (weights, EMA, optimisers, scaler, RNG
  states, position in the epoch, step, best metric): the next batch after a resume gives the same loss
  as in an uninterrupted run;
- a STOP file in the run folder, SIGINT or SIGTERM saves a checkpoint, then stops.
"""

from __future__ import annotations

import json
import math
import random
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, cast

import numpy as np
import torch
from torch.utils.data import DataLoader

from core.archs.spec import layout_mismatch, layout_of
from core.metrics import psnr_per_image, ssim_tensor
from core.models.checkpoints import EXPORT_FORMAT, CheckpointError, read_state_dict
from core.tensors import ZERO_ONE, check_range, from_model, from_model_tensor, to_model
from core.train import distributed as dist_utils
from core.train.config import MONITORS, ConfigError, RunConfig, config_to_toml
from core.train.datasets import (
    DatasetError,
    ResumableSampler,
    SeededDataset,
    build_datasets,
    from_worker,
    worker_error_message,
)
from core.train.losses import (
    PerceptualLoss,
    d_loss,
    g_adversarial_loss,
    r1_penalty,
    switch_off_vgg_terms,
    wgan_gp_penalty,
)
from core.train.optim import EMA, LRSchedule, adamw, set_lr
from core.train.presets import get_preset
from core.train.presets.base import Batch, ModelOutput, StepContext
from core.train.runfolder import RunFolder, RunFolderError, TensorBoardLog
from core.train.runs.layout import (
    PHASE_LOADING,
    PHASE_STARTING,
    PHASE_TRAINING,
    PHASE_VALIDATING,
    STATUS_EVERY_S,
    preview_relpath,
)

CHECKPOINT_FORMAT = 1
Echo = Callable[[str], None]


@dataclass
class RunResult:
    state: str  # finished | stopped | failed | early_stopped
    message: str
    step: int
    run_dir: Path


def _sum_terms(terms: Mapping[str, torch.Tensor]) -> torch.Tensor:
    """The total of loss terms (never empty here, so a tensor and not sum()'s start value 0)."""
    return cast(torch.Tensor, sum(terms.values()))


def _stdout(line: str) -> None:
    print(line, flush=True)


def as_saved(image: torch.Tensor) -> torch.Tensor:
    """[0, 1] values as an 8-bit preview PNG stores them (rounded x * 255, as core.imageio saves), so a metric
    of this tensor is the metric of the preview files."""
    return torch.round(image.clamp(0.0, 1.0) * 255.0) / 255.0


def measured_image(output: torch.Tensor, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
    """What validation measures, in [0, 1]: the output, or for masked data (1 = hole) the composite, the
    output in the holes and the input elsewhere: what an inpainting engine hands back."""
    if "mask" not in batch:
        return output
    hole = batch["mask"].to(output.device, output.dtype)
    return output * hole + batch["input"].to(output.device, output.dtype) * (1 - hole)


class Trainer:
    """Train `config` into `run_dir`; `resume=True` continues from run_dir/checkpoints/latest.pt."""

    def __init__(self, config: RunConfig, run_dir: str | Path, *, resume: bool = False,
                 dist_ctx: dist_utils.DistContext | None = None, device: torch.device | None = None,
                 echo: Echo = _stdout) -> None:
        self.cfg = config
        self.ctx = dist_ctx or dist_utils.DistContext()
        self.device = device or torch.device("cpu")
        self.echo = echo if self.ctx.is_main else (lambda line: None)
        self.folder = RunFolder(run_dir)
        self.preset = get_preset(config.preset)
        self.step = 0
        self.epoch = 0
        self.batch_in_epoch = 0
        self.wall_offset = 0.0
        self.best: float | None = None
        self.best_step = -1
        self.bad_validations = 0
        self.last_val_step = -1
        self._signal_stop = False
        self._signal_number = 0  # the signal that asked for the stop, announced by the loop
        self._status_time = 0.0  # when status.json was last written (time.monotonic)
        self._first_step = 0  # the step this run() started from
        self._notes: list[str] = []  # what the person should know about this run: echoed once, kept in status
        self._skipped_files: list[str] = []  # unreadable data files, each noted once
        self._noted_sources: set[str] = set()
        if self.ctx.is_main:  # a status at once: the panel sees the run and what it is doing before step 1
            self.folder.create()
            previous = (self.folder.read_status() or {}).get("step", 0) if resume else 0
            self.folder.write_status("running", "Building the model and reading the dataset.",
                                     previous if isinstance(previous, int) else 0, config.train.max_steps,
                                     PHASE_STARTING)
        try:
            self._seed_everything(config.train.seed + self.ctx.rank)
            self._build(fine_tune=bool(config.init_weights) and not resume)  # a resumed run holds its own weights
            if self.ctx.is_main:
                self.folder.write_config(config_to_toml(config))
                if not resume:
                    self.folder.truncate_metrics_after(-1)  # a fresh run owns its metrics from the start
            if resume:
                self._restore(self.folder.load_checkpoint("latest"))
        except BaseException as e:
            self._status("failed", worker_error_message(e) if not isinstance(e, KeyboardInterrupt)
                         else "Interrupted.")
            raise
        self.tb = TensorBoardLog(self.folder.tensorboard_dir) if self.ctx.is_main else None

    # ------------------------------------------------------------------------------------------ set-up

    @staticmethod
    def _seed_everything(seed: int) -> None:
        random.seed(seed)
        np.random.seed(seed % 2**32)
        torch.manual_seed(seed)

    def _build(self, fine_tune: bool = False) -> None:
        cfg, dev = self.cfg, self.device
        vgg_note = switch_off_vgg_terms(cfg.loss, cfg.vgg16_weights)  # before the preset reads the weights
        if vgg_note:
            self._notes.append(vgg_note)
        built = self.preset.build_model(cfg)
        if fine_tune:  # before EMA and the optimizer see the parameters
            load_initial_weights(built.generator, cfg.init_weights, built.architecture)
        built.input_range = check_range(built.input_range)
        built.output_range = check_range(built.output_range)
        self.built = built
        # channels_last: 2-3x faster convolutions on CPU (oneDNN) and on tensor-core GPUs; the input batches
        # follow in _to_model, otherwise every conv converts layouts back and forth.
        # torch's stubs lack Module.to(device, memory_format=...), which it accepts (it passes both to Tensor.to).
        self.generator = built.generator.to(dev, memory_format=torch.channels_last)  # type: ignore[call-overload]
        if cfg.gan.enabled and built.discriminator is None:
            raise ConfigError(f"gan.enabled is set but the preset {cfg.preset!r} has no discriminator.")
        self.discriminator = (built.discriminator.to(dev, memory_format=torch.channels_last)  # type: ignore[call-overload]
                              if (cfg.gan.enabled and built.discriminator) else None)
        self.ema = EMA(self.generator, cfg.optim.ema_decay) if cfg.optim.ema_decay > 0 else None
        o, total = cfg.optim, cfg.train.max_steps
        self.g_opt = adamw(self.generator.parameters(), o.g_lr, o.betas, o.weight_decay)
        self.g_sched = LRSchedule(o.scheduler, o.g_lr, o.g_lr_min, total, o.warmup_steps, o.step_size, o.step_gamma)
        self.d_opt = self.d_sched = None
        if self.discriminator is not None:
            self.d_opt = adamw(self.discriminator.parameters(), o.d_lr, o.d_betas or o.betas, o.weight_decay)
            self.d_sched = LRSchedule(o.scheduler, o.d_lr, o.d_lr_min, total, o.warmup_steps, o.step_size,
                                      o.step_gamma)
        self.perceptual = None
        if cfg.loss.get("perceptual", 0.0) > 0:
            self.perceptual = PerceptualLoss(cfg.vgg16_weights, value_range=built.output_range).to(dev)
        self.amp = bool(cfg.train.amp and dev.type == "cuda")
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp)
        self.train_set, self.val_set = build_datasets(cfg.data, cfg.train.seed)
        for name, reason in dict(self.train_set.skipped + self.val_set.skipped).items():
            self._skipped_files.append(f"{name} {reason}")
        if not self.preset.zero_reference and cfg.data.kind == "unpaired":
            raise DatasetError(f"The preset {cfg.preset!r} needs reference images; data.kind 'unpaired' has none.")
        if self.discriminator is not None and self.preset.zero_reference:
            raise ConfigError("An adversarial stage needs reference images; this preset is zero-reference.")
        self.sampler = ResumableSampler(self.train_set, num_replicas=self.ctx.world_size, rank=self.ctx.rank,
                                        seed=cfg.train.seed, shuffle=True)
        per_rank = self.sampler.num_samples
        self.drop_last = per_rank >= cfg.data.batch_size
        self.steps_per_epoch = per_rank // cfg.data.batch_size if self.drop_last else 1
        self.d_warmup_steps = cfg.gan.d_warmup_epochs * self.steps_per_epoch if self.discriminator else 0
        self.g_train = dist_utils.wrap(self.generator, self.ctx, dev)
        self.d_train = dist_utils.wrap(self.discriminator, self.ctx, dev) if self.discriminator else None

    def _train_loader(self) -> DataLoader:
        """This epoch's loader, starting where the epoch was left (its own seeded generators: loading
        never draws from the global RNG, so resuming does not shift the training randomness)."""
        self.train_set.set_epoch(self.epoch)
        self.sampler.set_epoch(self.epoch)
        self.sampler.set_start(self.batch_in_epoch * self.cfg.data.batch_size)
        gen = torch.Generator().manual_seed(self.cfg.train.seed * 100003 + self.epoch)
        return DataLoader(self.train_set, batch_size=self.cfg.data.batch_size, sampler=self.sampler,
                          num_workers=self.cfg.data.workers, drop_last=self.drop_last, generator=gen,
                          pin_memory=self.device.type == "cuda")

    def _val_loader(self) -> DataLoader:
        return DataLoader(self.val_set, batch_size=self.cfg.data.val_batch_size, shuffle=False,
                          num_workers=min(self.cfg.data.workers, 2), generator=torch.Generator().manual_seed(0))

    def _to_model(self, batch: dict[str, torch.Tensor]) -> Batch:
        """The [0, 1] batch in the model's declared ranges, on the device."""
        dev, layout = self.device, torch.channels_last
        out: Batch = {"input": to_model(batch["input"].to(dev, non_blocking=True), self.built.input_range)
                      .contiguous(memory_format=layout)}
        if "target" in batch:
            out["target"] = to_model(batch["target"].to(dev, non_blocking=True), self.built.output_range
                                     ).contiguous(memory_format=layout)
        if "mask" in batch:
            out["mask"] = batch["mask"].to(dev, non_blocking=True).contiguous(memory_format=layout)
        return out

    def _context(self) -> StepContext:
        return StepContext(self.cfg, self.built, self.perceptual, self.step, self.epoch, self.device)

    def _autocast(self) -> Any:
        return torch.autocast(device_type=self.device.type, dtype=torch.float16, enabled=self.amp)

    # --------------------------------------------------------------------------------------- one step

    def _train_step(self, batch: dict[str, torch.Tensor]) -> dict[str, float] | str:
        """One optimisation step; the loss values, or a message when a loss is not finite."""
        cfg = self.cfg
        b = self._to_model(batch)
        set_lr(self.g_opt, self.g_sched.lr(self.step))
        if self.d_opt is not None and self.d_sched is not None:  # both or neither (_build)
            set_lr(self.d_opt, self.d_sched.lr(self.step))
        d_only = self.discriminator is not None and self.step < self.d_warmup_steps
        logged: dict[str, torch.Tensor] = {}
        with self._autocast():
            if d_only:
                with torch.no_grad():
                    out = self.preset.forward(self.g_train, b, self.built)
            else:
                out = self.preset.forward(self.g_train, b, self.built)

        if self.discriminator is not None and self.d_opt is not None:  # both or neither (_build)
            d_terms = self._discriminator_terms(b["target"], out.image.detach())
            d_total = _sum_terms(d_terms)
            bad = self._nonfinite("discriminator", d_total, d_terms)
            if bad:
                return bad
            self.d_opt.zero_grad(set_to_none=True)
            self.scaler.scale(d_total).backward()
            self._clip_and_step(self.d_opt, self.discriminator)
            logged.update({f"d_{k}": v.detach() for k, v in d_terms.items()})
            logged["d_total"] = d_total.detach()

        if not d_only:
            with self._autocast():
                g_terms = dict(self.preset.generator_losses(self._context(), b, out))
                if self.discriminator is not None:
                    g_terms["adversarial"] = cfg.gan.weight * self._adversarial_term(out.image)
            if not g_terms:
                raise ConfigError(f"Every loss weight of preset {cfg.preset!r} is 0: nothing to train.")
            g_total = _sum_terms(g_terms)
            bad = self._nonfinite("generator", g_total, g_terms)
            if bad:
                return bad
            self.g_opt.zero_grad(set_to_none=True)
            self.scaler.scale(g_total).backward()
            self._clip_and_step(self.g_opt, self.generator)
            if self.ema is not None:
                self.ema.update(self.generator)
            logged.update({k: v.detach() for k, v in g_terms.items()})
            logged["total"] = g_total.detach()
        else:
            logged["total"] = logged["d_total"]
        self.scaler.update()
        return {k: float(v) for k, v in logged.items()}

    def _discriminator_terms(self, real: torch.Tensor, fake: torch.Tensor) -> dict[str, torch.Tensor]:
        g = self.cfg.gan
        assert self.discriminator is not None and self.d_train is not None  # called only with a discriminator
        self.discriminator.requires_grad_(True)
        with self._autocast():
            logits = self.d_train(torch.cat([real, fake], 0)).float()
        real_logits, fake_logits = logits.split(real.shape[0], 0)
        terms = {"gan": d_loss(real_logits, fake_logits, g.loss)}
        if g.penalty != "none" and self.step % g.penalty_every == 0:
            # Penalties in float32 through the plain module (double backward does not go through DDP's
            # hooks); their gradients join the same backward pass, so DDP still averages them.
            plain = dist_utils.unwrap(self.d_train)
            if g.penalty == "r1":
                terms["r1"] = (g.penalty_weight / 2) * g.penalty_every * r1_penalty(plain, real.float())
            else:
                terms["gp"] = g.penalty_weight * g.penalty_every * wgan_gp_penalty(plain, real.float(), fake.float())
        return terms

    def _adversarial_term(self, fake: torch.Tensor) -> torch.Tensor:
        """The generator's GAN loss through a frozen discriminator (no discriminator gradients)."""
        assert self.d_train is not None  # called only with a discriminator
        plain = dist_utils.unwrap(self.d_train)
        plain.requires_grad_(False)
        try:
            return g_adversarial_loss(plain(fake).float(), self.cfg.gan.loss)
        finally:
            plain.requires_grad_(True)

    def _clip_and_step(self, opt: torch.optim.Optimizer, module: torch.nn.Module) -> None:
        if self.cfg.optim.grad_clip > 0:
            self.scaler.unscale_(opt)
            torch.nn.utils.clip_grad_norm_(module.parameters(), self.cfg.optim.grad_clip)
        self.scaler.step(opt)

    def _nonfinite(self, which: str, total: torch.Tensor, terms: dict[str, torch.Tensor]) -> str:
        bad_local = not bool(torch.isfinite(total.detach()).all())
        (bad,) = dist_utils.any_flags(self.ctx, [bad_local], self.device)
        if not bad:
            return ""
        detail = ", ".join(f"{k}={float(v.detach()):.4g}" for k, v in terms.items())
        value = float(total.detach())
        return (f"The {which} loss became {value:.4g} at step {self.step + 1} ({detail or 'no terms'}); "
                f"the run stopped before that update. Lower the learning rate or check the data.")

    # ------------------------------------------------------------------------------------- validation

    def _eval_model(self) -> torch.nn.Module:
        return self.ema.module if self.ema is not None else dist_utils.unwrap(self.g_train)

    @torch.no_grad()
    def validate(self) -> dict[str, float | None]:
        """PSNR, SSIM (where the validation data has targets) and the validation loss, with previews."""
        model = self._eval_model()
        was_training = model.training
        model.eval()
        psnrs: list[float] = []
        ssims: list[float] = []
        losses: list[float] = []
        written = 0
        try:
            for batch in self._val_loader():
                self._note_skipped(batch, self.val_set)
                b = self._to_model(batch)
                out = self.preset.forward(model, b, self.built)
                image = from_model_tensor(out.image, self.built.output_range)
                shown = as_saved(measured_image(image, batch))  # what the previews show is what is measured
                if "target" in batch:
                    target = as_saved(batch["target"].to(self.device))
                    psnrs += psnr_per_image(shown, target).tolist()
                    ssims += [float(ssim_tensor(shown[i:i + 1], target[i:i + 1])) for i in range(shown.shape[0])]
                if "target" in b or self.preset.zero_reference:
                    terms = self.preset.generator_losses(self._context(), b, out)
                    if terms:
                        losses.append(float(sum(terms.values())))
                for i in range(image.shape[0]):
                    if written >= self.cfg.data.previews:
                        break
                    self._write_preview(written, batch, out, shown, i)
                    written += 1
        finally:
            model.train(was_training)
        mean = lambda xs: float(np.mean(xs)) if xs else None  # noqa: E731
        return {"psnr": mean(psnrs), "ssim": mean(ssims), "val_loss": mean(losses)}

    def _write_preview(self, index: int, batch: dict[str, torch.Tensor], out: ModelOutput, shown: torch.Tensor,
                       i: int) -> None:
        """Input and target are [0, 1] data; the output is decoded with the model's declared range; masked data
        adds the composite (the measured image, `shown`, already decoded)."""
        f = self.folder
        f.save_preview(self.step, index, "input", from_model(batch["input"][i:i + 1], ZERO_ONE))
        f.save_preview(self.step, index, "output", from_model(out.image[i:i + 1], self.built.output_range))
        if "mask" in batch:
            f.save_preview(self.step, index, "composite", from_model(shown[i:i + 1], ZERO_ONE))
        if "target" in batch:
            f.save_preview(self.step, index, "target", from_model(batch["target"][i:i + 1], ZERO_ONE))

    def _validate_and_track(self) -> bool:
        """Validate (rank 0), log, keep the best; True when early stopping says stop."""
        self.last_val_step = self.step
        if not self.ctx.is_main:
            return False
        self._status("running", f"Validating at step {self.step}.", PHASE_VALIDATING)
        metrics = self.validate()
        self._status("running", f"Training: step {self.step} of {self.cfg.train.max_steps}.", PHASE_TRAINING)
        record = {"kind": "val", "step": self.step, "epoch": self.epoch, "wall_time": round(self.wall_time(), 3),
                  "metrics": metrics, "previews": preview_relpath(self.step)}
        self.folder.append_metrics(record)
        if self.tb:
            self.tb.scalars("val", metrics, self.step)
        shown = ", ".join(f"{k} {v:.4f}" for k, v in metrics.items() if v is not None)
        self.echo(f"validation at step {self.step}: {shown or 'no metrics'}")
        value = metrics.get(self.cfg.train.monitor)
        if value is None or not math.isfinite(value):
            return False
        t = self.cfg.train
        better = self.best is None or (value > self.best + t.early_stop_min_delta if MONITORS[t.monitor] == "max"
                                       else value < self.best - t.early_stop_min_delta)
        if better:
            self.best, self.best_step, self.bad_validations = value, self.step, 0
            self._save("best")
            self._export_best()
            return False
        self.bad_validations += 1
        return t.early_stop_patience > 0 and self.bad_validations >= t.early_stop_patience

    def _export_best(self) -> None:
        weights = self._eval_model().state_dict()
        meta = {"format": EXPORT_FORMAT, "architecture": self.built.architecture, "preset": self.cfg.preset,
                "task": self.built.task, "input_range": json.dumps(list(self.built.input_range)),
                "output_range": json.dumps(list(self.built.output_range)),
                "options": json.dumps(self.built.options), "step": str(self.step),
                "metric": json.dumps({self.cfg.train.monitor: self.best}),
                "weights": "ema" if self.ema is not None else "raw"}
        self.folder.export_weights(weights, meta)

    # ------------------------------------------------------------------------------------ checkpoints

    def _state(self) -> dict[str, Any]:
        return {
            "format": CHECKPOINT_FORMAT, "preset": self.cfg.preset, "architecture": self.built.architecture,
            "input_range": list(self.built.input_range), "output_range": list(self.built.output_range),
            "step": self.step, "epoch": self.epoch, "batch_in_epoch": self.batch_in_epoch,
            "wall_time": self.wall_time(), "best_metric": self.best, "best_step": self.best_step,
            "bad_validations": self.bad_validations, "last_val_step": self.last_val_step,
            "generator": dist_utils.unwrap(self.g_train).state_dict(),
            "discriminator": dist_utils.unwrap(self.d_train).state_dict() if self.d_train is not None else {},
            "ema": self.ema.state_dict() if self.ema is not None else {},
            "g_optim": self.g_opt.state_dict(), "d_optim": self.d_opt.state_dict() if self.d_opt else {},
            "scaler": self.scaler.state_dict(), "rng": rng_state(), "config": config_to_toml(self.cfg),
        }

    def _save(self, which: str = "latest") -> None:
        if self.ctx.is_main:
            self.folder.save_checkpoint(self._state(), which)

    def _restore(self, ck: dict[str, Any]) -> None:
        if ck.get("format") != CHECKPOINT_FORMAT or ck.get("preset") != self.cfg.preset:
            raise RunFolderError(f"The checkpoint in {self.folder.path} is from preset {ck.get('preset')!r}, "
                                 f"not {self.cfg.preset!r}.")
        dist_utils.unwrap(self.g_train).load_state_dict(ck["generator"])
        if self.d_train is not None and ck["discriminator"]:
            dist_utils.unwrap(self.d_train).load_state_dict(ck["discriminator"])
        if self.ema is not None and ck["ema"]:
            self.ema.load_state_dict(ck["ema"])
        self.g_opt.load_state_dict(ck["g_optim"])
        if self.d_opt is not None and ck["d_optim"]:
            self.d_opt.load_state_dict(ck["d_optim"])
        if ck["scaler"]:
            self.scaler.load_state_dict(ck["scaler"])
        self.step, self.epoch, self.batch_in_epoch = int(ck["step"]), int(ck["epoch"]), int(ck["batch_in_epoch"])
        self.wall_offset = float(ck["wall_time"])
        self.best = ck["best_metric"]
        self.best_step, self.bad_validations = int(ck["best_step"]), int(ck["bad_validations"])
        self.last_val_step = int(ck["last_val_step"])
        set_rng_state(ck["rng"], self.device)
        if self.ctx.is_main:
            self.folder.truncate_metrics_after(self.step)

    # ------------------------------------------------------------------------------------------- loop

    def wall_time(self) -> float:
        start = getattr(self, "_t0", None)
        return self.wall_offset + (time.perf_counter() - start if start is not None else 0.0)

    def _status(self, state: str, message: str, phase: str = "") -> None:
        if self.ctx.is_main:
            self.folder.write_status(state, message + self._notes_text(), self.step, self.cfg.train.max_steps,
                                     phase)
            self._status_time = time.monotonic()

    def _notes_text(self) -> str:
        """The run's notes as every status message ends with them (the VGG16 note, the skipped files); "" if none."""
        parts = list(self._notes)
        files = self._skipped_files
        if files:
            shown = "; ".join(files[:3]) + (f"; and {len(files) - 3} more" if len(files) > 3 else "")
            parts.append(f"Skipped {len(files)} unreadable image{'s' if len(files) != 1 else ''}: {shown}.")
        return "".join(" " + p for p in parts)

    def _note_skipped(self, batch: dict[str, torch.Tensor], dataset: SeededDataset) -> None:
        """Name, once each, the files this batch's samples stand in for (they failed to decode)."""
        skipped = batch.get("skipped")
        if skipped is None or not self.ctx.is_main:
            return
        for index in sorted({int(i) for i in skipped.tolist() if int(i) >= 0}):
            name = dataset.source_name(index)
            if name in self._noted_sources:
                continue
            self._noted_sources.add(name)
            text = f"{name} {dataset.unreadable_reason(index) or 'could not be read'}"
            self._skipped_files.append(text)
            self.echo(f"skipped an unreadable image: {text}")

    def _progress(self) -> None:
        """After a step: the status with the current step, after the first one and then every few seconds."""
        if self.ctx.is_main and (self.step == self._first_step + 1
                                 or time.monotonic() - self._status_time >= STATUS_EVERY_S):
            self._status("running", f"Training: step {self.step} of {self.cfg.train.max_steps}.", PHASE_TRAINING)

    def run(self, stop_at: int | None = None) -> RunResult:
        """Train until max_steps, early stopping, a stop request, or a non-finite loss.
        `stop_at`: behave as if a stop were requested after that step (tests, benchmarks)."""
        self._t0 = time.perf_counter()
        previous = self._install_signal_handlers()
        self._first_step = self.step
        try:
            self._status("running", "Loading the first batch." if self.step == 0 else
                         f"Resumed at step {self.step}; loading the first batch.", PHASE_LOADING)
            self.echo(f"training {self.cfg.preset} ({self.built.architecture}) on {self.device}, "
                      f"{len(self.train_set)} images, {self.steps_per_epoch} steps per epoch, "
                      f"run folder {self.folder.path}")
            for note in self._notes:
                self.echo(f"note: {note}")
            for text in self._skipped_files:  # found while the datasets were built
                self.echo(f"skipped an unreadable image: {text}")
            result = self._loop(stop_at)
        except BaseException as e:
            message = worker_error_message(e) if not isinstance(e, KeyboardInterrupt) else "Interrupted."
            self._status("failed", message)
            if isinstance(e, DatasetError) and from_worker(e):  # our own message, without the worker's traceback
                raise DatasetError(message.partition(": ")[2]) from None
            raise
        finally:
            self._restore_signal_handlers(previous)
            if self.tb:
                self.tb.close()
        self._status(result.state, result.message)
        self.echo(f"{result.state}: {result.message}")
        return result

    def _loop(self, stop_at: int | None) -> RunResult:
        cfg, total = self.cfg, self.cfg.train.max_steps
        self._reset_window()
        while self.step < total:
            loader = self._train_loader()
            exhausted = True
            wait_start = time.perf_counter()
            for batch in loader:
                self._window_wait += time.perf_counter() - wait_start
                self._note_skipped(batch, self.train_set)
                losses = self._train_step(batch)
                if isinstance(losses, str):
                    return RunResult("failed", losses + self._last_good_note(), self.step, self.folder.path)
                self.step += 1
                self.batch_in_epoch += 1
                self._accumulate(losses)
                if self.step % cfg.train.log_every == 0 or self.step == total:
                    self._log_train()
                else:
                    self._progress()
                early = False
                if self.step % cfg.train.val_every == 0 and self.step < total:
                    early = self._validate_and_track()
                saved = False
                if self.step % cfg.train.checkpoint_every == 0:
                    self._save("latest")
                    saved = True
                external = self._signal_stop or (stop_at is not None and self.step >= stop_at)
                if self.ctx.is_main and self.folder.stop_requested():
                    external = True
                external, early = dist_utils.any_flags(self.ctx, [external, early], self.device)
                if external or early:
                    if self._signal_stop:
                        self.echo(f"signal {self._signal_number} received: saving, then stopping")
                    if not saved:
                        self._save("latest")
                    if external:
                        if self.ctx.is_main:
                            self.folder.clear_stop()
                        return RunResult("stopped", f"Stopped on request at step {self.step}; "
                                         "checkpoints/latest.pt resumes it.", self.step, self.folder.path)
                    return RunResult("early_stopped", f"Validation {cfg.train.monitor} did not improve for "
                                     f"{self.bad_validations} validations; best {self.best:.4f} at step "
                                     f"{self.best_step}.", self.step, self.folder.path)
                if self.step >= total:
                    exhausted = False
                    break
                wait_start = time.perf_counter()
            if exhausted:
                self.epoch += 1
                self.batch_in_epoch = 0
        if self.last_val_step != self.step:
            self._validate_and_track()
        if self.ctx.is_main and not self.folder.best_export.exists():
            self._save("best")
            self._export_best()
        self._save("latest")
        best = f"; best {cfg.train.monitor} {self.best:.4f} at step {self.best_step}" if self.best is not None else ""
        return RunResult("finished", f"Finished {self.step} steps{best}.", self.step, self.folder.path)

    def _last_good_note(self) -> str:
        latest = self.folder.latest_checkpoint
        if latest.exists():
            try:
                step = torch.load(latest, map_location="cpu", weights_only=True)["step"]
                return f" checkpoints/latest.pt keeps step {step}, the last good state."
            except Exception:  # noqa: BLE001  the note is a courtesy; the checkpoint itself was not touched
                return " checkpoints/latest.pt keeps the last good state."
        return " No checkpoint had been written yet."

    # ---------------------------------------------------------------------------------------- logging

    def _reset_window(self) -> None:
        self._window_sums: dict[str, float] = {}
        self._window_steps = 0
        self._window_wait = 0.0
        self._window_start = time.perf_counter()

    def _accumulate(self, losses: dict[str, float]) -> None:
        for k, v in losses.items():
            self._window_sums[k] = self._window_sums.get(k, 0.0) + v
        self._window_steps += 1

    def _log_train(self) -> None:
        n = max(1, self._window_steps)
        elapsed = max(1e-9, time.perf_counter() - self._window_start)
        losses = {k: v / n for k, v in self._window_sums.items()}
        lr = {"g": self.g_opt.param_groups[0]["lr"]}
        if self.d_opt is not None:
            lr["d"] = self.d_opt.param_groups[0]["lr"]
        gpu = (torch.cuda.max_memory_allocated(self.device) / 2**20) if self.device.type == "cuda" else None
        record = {"kind": "train", "step": self.step, "epoch": self.epoch, "wall_time": round(self.wall_time(), 3),
                  "losses": losses, "lr": lr, "it_per_s": self._window_steps / elapsed,
                  "data_wait_s": round(self._window_wait, 6), "gpu_mem_mb": gpu}
        if self.ctx.is_main:
            self.folder.append_metrics(record)
            if self.tb:
                self.tb.scalars("train", losses, self.step)
            self._status("running", f"Training: step {self.step} of {self.cfg.train.max_steps}.", PHASE_TRAINING)
            wait_share = self._window_wait / elapsed
            self.echo(f"step {self.step}/{self.cfg.train.max_steps} epoch {self.epoch} "
                      f"loss {losses.get('total', float('nan')):.5f} lr {lr['g']:.3g} "
                      f"{record['it_per_s']:.2f} it/s data wait {wait_share:.0%}")
        self._reset_window()

    # ---------------------------------------------------------------------------------------- signals

    def _install_signal_handlers(self) -> dict[int, Any]:
        if threading.current_thread() is not threading.main_thread():
            return {}
        previous: dict[int, Any] = {}

        def handler(signum: int, frame: Any) -> None:
            if self._signal_stop and signum == signal.SIGINT:
                raise KeyboardInterrupt  # a second Ctrl+C: stop now
            # Only set flags here: printing from a signal handler can interrupt a print to the same stream
            # and fail with "reentrant call" (see the io module's notes on reentrancy).
            self._signal_stop = True
            self._signal_number = signum

        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, handler)
        return previous

    @staticmethod
    def _restore_signal_handlers(previous: dict[int, Any]) -> None:
        for sig, h in previous.items():
            signal.signal(sig, h)


# ------------------------------------------------------------------------------------------ RNG states
# Stored as tensors and plain numbers so torch.load(weights_only=True) reads the checkpoint.

def load_initial_weights(network: torch.nn.Module, path: str | Path, architecture: str = "") -> None:
    """Fine-tuning: load a weight file into `network` (of `architecture`), strictly (same keys, same shapes).
    Raises ConfigError naming what does not fit, and the file's own family when it is another one."""
    try:
        state = read_state_dict(path)
    except CheckpointError as e:
        raise ConfigError(f"init_weights: {e}") from None
    layout = layout_of(network)
    mismatch = layout_mismatch(state, layout)
    if mismatch:
        name = Path(path).name
        family = _own_family(state)
        if architecture and ((family and family != architecture) or not set(state) & set(layout)):
            holds = f"holds a {family} network" if family else "holds none of its tensors"
            raise ConfigError(f"init_weights: {name} is not a {architecture} checkpoint (it {holds}): this "
                              f"preset fine-tunes {architecture} weights only (an official {architecture} "
                              f"checkpoint or a Restora export of one).")
        raise ConfigError(f"init_weights: {name} does not fit this preset's network: {mismatch}.")
    network.load_state_dict(state, strict=True)


def _own_family(state: Mapping[str, torch.Tensor]) -> str:
    """The name of the Restora architecture whose keys a state dict has ("" when none)."""
    from core.archs.identify import own_architectures

    for spec in own_architectures():
        try:
            if spec.detect(state):
                return spec.name
        except Exception:  # noqa: BLE001  (a detector must never hide the mismatch message)
            continue
    return ""


def rng_state() -> dict[str, Any]:
    # legacy=True (the default) gives the tuple; NumPy's stubs pick the dict overload for a call without it.
    kind, keys, pos, has_gauss, cached = cast("tuple[str, np.ndarray, int, int, float]",
                                              np.random.get_state(legacy=True))
    version, py_state, gauss = random.getstate()
    state = {
        "torch": torch.get_rng_state(),
        "numpy": {"keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos), "has_gauss": int(has_gauss),
                  "cached": float(cached)},
        "python": {"version": int(version), "state": torch.tensor(py_state, dtype=torch.int64),
                   "gauss": gauss},
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }
    return state


def set_rng_state(state: dict[str, Any], device: torch.device) -> None:
    torch.set_rng_state(state["torch"].cpu())
    n = state["numpy"]
    np.random.set_state(("MT19937", n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["cached"]))
    p = state["python"]
    random.setstate((p["version"], tuple(int(v) for v in p["state"].tolist()), p["gauss"]))
    if state.get("cuda") and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([s.cpu() for s in state["cuda"]])
