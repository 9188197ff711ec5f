"""The run folder: what a training run writes and what the training panel reads.

    run_dir/config.toml        the frozen, complete config
    run_dir/status.json        {"state", "message", "pid", "step", "total_steps", "updated"}
    run_dir/metrics.jsonl      one JSON object per line: {"kind": "train", ...} or {"kind": "val", ...}
    run_dir/previews/step_XXXXXXXX/{i:02d}_input.png, _output.png, _target.png (no target: zero-reference)
    run_dir/checkpoints/latest.pt, best.pt (torch.save dicts; weights_only loadable), best.safetensors
    run_dir/STOP               created by anyone who wants the run to stop (it saves first)
    run_dir/tensorboard/       event files, only where tensorboardX is installed

States: running | finished | stopped | failed | early_stopped.
"""

from __future__ import annotations

import json
import os
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator, Mapping

import numpy as np
import torch

from core.errors import RestoraError
from core.fileio import atomic_produce, atomic_write

STATES = ("running", "finished", "stopped", "failed", "early_stopped")
CONFIG_FILE = "config.toml"
STATUS_FILE = "status.json"
METRICS_FILE = "metrics.jsonl"
STOP_FILE = "STOP"
PREVIEWS_DIR = "previews"
CHECKPOINTS_DIR = "checkpoints"


class RunFolderError(RestoraError):
    """A run folder is missing, not a run, or cannot be written."""


def preview_folder_name(step: int) -> str:
    return f"step_{step:08d}"


def new_run_dir(root: str | Path, name: str) -> Path:
    """root/YYYYmmdd-HHMMSS_name, made unique with a counter; created."""
    base = Path(root) / f"{datetime.now().strftime('%Y%m%d-%H%M%S')}_{name}"
    candidate, n = base, 1
    while True:
        try:
            candidate.mkdir(parents=True, exist_ok=False)
            return candidate
        except FileExistsError:
            n += 1
            candidate = base.with_name(f"{base.name}-{n}")


def _atomic_write_bytes(target: Path, data: bytes) -> None:
    atomic_write(target, data)


def atomic_torch_save(obj: Any, target: Path) -> None:
    """torch.save through core.fileio.atomic_write: a crash never leaves half a checkpoint."""
    atomic_produce(target, lambda tmp: torch.save(obj, tmp))


class RunFolder:
    """Writes (and reads back) one run's folder."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    # ---- layout
    @property
    def config_path(self) -> Path:
        return self.path / CONFIG_FILE

    @property
    def status_path(self) -> Path:
        return self.path / STATUS_FILE

    @property
    def metrics_path(self) -> Path:
        return self.path / METRICS_FILE

    @property
    def stop_path(self) -> Path:
        return self.path / STOP_FILE

    @property
    def checkpoints(self) -> Path:
        return self.path / CHECKPOINTS_DIR

    @property
    def latest_checkpoint(self) -> Path:
        return self.checkpoints / "latest.pt"

    @property
    def best_checkpoint(self) -> Path:
        return self.checkpoints / "best.pt"

    @property
    def best_export(self) -> Path:
        return self.checkpoints / "best.safetensors"

    def preview_dir(self, step: int) -> Path:
        return self.path / PREVIEWS_DIR / preview_folder_name(step)

    def create(self) -> "RunFolder":
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            self.checkpoints.mkdir(exist_ok=True)
            (self.path / PREVIEWS_DIR).mkdir(exist_ok=True)
        except OSError as e:
            raise RunFolderError(f"Cannot create the run folder {self.path}: {e.strerror or e}.") from e
        return self

    # ---- config and status
    def write_config(self, toml_text: str) -> None:
        _atomic_write_bytes(self.config_path, toml_text.encode("utf-8"))

    def write_status(self, state: str, message: str, step: int, total_steps: int) -> None:
        if state not in STATES:
            raise ValueError(f"unknown run state {state!r}")
        status = {"state": state, "message": message, "pid": os.getpid(), "step": int(step),
                  "total_steps": int(total_steps), "updated": datetime.now(timezone.utc).isoformat()}
        _atomic_write_bytes(self.status_path, (json.dumps(status, indent=1) + "\n").encode("utf-8"))

    def read_status(self) -> dict[str, Any] | None:
        try:
            return json.loads(self.status_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    # ---- metrics
    def append_metrics(self, record: Mapping[str, Any]) -> None:
        with open(self.metrics_path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(record, allow_nan=False) + "\n")
            fh.flush()

    def read_metrics(self) -> Iterator[dict[str, Any]]:
        """Every complete record; a half-written last line (a run writing right now) is skipped."""
        if not self.metrics_path.exists():
            return
        with open(self.metrics_path, encoding="utf-8") as fh:
            for line in fh:
                if line.endswith("\n"):
                    try:
                        yield json.loads(line)
                    except ValueError:
                        continue

    def truncate_metrics_after(self, step: int) -> None:
        """Drop records past `step` (logged after the checkpoint a resumed run starts from)."""
        if not self.metrics_path.exists():
            return
        keep = [r for r in self.read_metrics() if int(r.get("step", 0)) <= step]
        text = "".join(json.dumps(r) + "\n" for r in keep)
        _atomic_write_bytes(self.metrics_path, text.encode("utf-8"))

    # ---- previews
    def save_preview(self, step: int, index: int, role: str, image: np.ndarray) -> Path:
        """Write an H x W x 3 float image in [0, 1] (already decoded through core.tensors.from_model)."""
        from core.imageio import save_photo
        from core.photo import Photo

        folder = self.preview_dir(step)
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"{index:02d}_{role}.png"
        save_photo(Photo(rgb=np.ascontiguousarray(image, dtype=np.float32)), target, bit_depth=8)
        return target

    # ---- stop requests
    def request_stop(self) -> None:
        """Ask a running trainer to save and stop (it checks between steps)."""
        self.stop_path.write_text(f"stop requested {time.time():.0f}\n", encoding="utf-8")

    def stop_requested(self) -> bool:
        return self.stop_path.exists()

    def clear_stop(self) -> None:
        try:
            self.stop_path.unlink()
        except FileNotFoundError:
            pass

    # ---- checkpoints
    def save_checkpoint(self, state: Mapping[str, Any], which: str = "latest") -> Path:
        target = self.checkpoints / f"{which}.pt"
        atomic_torch_save(dict(state), target)
        return target

    def load_checkpoint(self, which: str = "latest", map_location: str | torch.device = "cpu") -> dict[str, Any]:
        path = self.checkpoints / f"{which}.pt"
        if not path.is_file():
            raise RunFolderError(f"{self.path} has no {which} checkpoint to resume from.")
        try:
            return torch.load(path, map_location=map_location, weights_only=True)
        except Exception as e:  # a damaged checkpoint: say which file
            raise RunFolderError(f"Cannot read the checkpoint {path}: {e}") from e

    def export_weights(self, state_dict: Mapping[str, torch.Tensor], metadata: Mapping[str, str]) -> Path:
        """best.safetensors: the generator's weights with string metadata for the model store."""
        from safetensors.torch import save

        tensors = {k: v.detach().to("cpu").contiguous() for k, v in state_dict.items()}
        _atomic_write_bytes(self.best_export, save(tensors, metadata={k: str(v) for k, v in metadata.items()}))
        return self.best_export


def is_run_folder(path: str | Path) -> bool:
    p = Path(path)
    return (p / CONFIG_FILE).is_file() and (p / STATUS_FILE).is_file()


class TensorBoardLog:
    """Scalars mirrored to TensorBoard event files where tensorboardX is installed; a no-op otherwise."""

    def __init__(self, folder: Path) -> None:
        try:
            from tensorboardX import SummaryWriter  # optional
        except ImportError:
            self._writer = None
        else:
            self._writer = SummaryWriter(str(folder))

    @property
    def active(self) -> bool:
        return self._writer is not None

    def scalars(self, prefix: str, values: Mapping[str, float | None], step: int) -> None:
        if self._writer is None:
            return
        for name, value in values.items():
            if value is not None:
                self._writer.add_scalar(f"{prefix}/{name}", value, step)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
