"""The trainer's side of the run folder: creating it, appending metrics, previews, and (torch) checkpoints.

The format itself (file names, states, phases, preview and checkpoint naming, status and STOP files) is
core/train/runs/layout.py, shared with the torch-free reader (core/train/runs/reader.py) and the panel.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any, Iterator, Mapping

import numpy as np
import torch

from core.fileio import atomic_produce, atomic_write
from core.train.runs import layout
from core.train.runs.layout import (
    BEST_EXPORT,
    CHECKPOINTS_DIR,
    CONFIG_FILE,
    METRICS_FILE,
    PREVIEWS_DIR,
    STATES,
    STATUS_FILE,
    STOP_FILE,
    TENSORBOARD_DIR,
    RunFolderError,
    checkpoint_name,
    is_run_folder,
    preview_file_name,
    preview_folder_name,
)

__all__ = ["CONFIG_FILE", "METRICS_FILE", "STATES", "STATUS_FILE", "STOP_FILE", "RunFolder", "RunFolderError",
           "TensorBoardLog", "atomic_torch_save", "is_run_folder", "new_run_dir", "preview_folder_name"]


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
        return self.checkpoints / checkpoint_name(layout.LATEST)

    @property
    def best_checkpoint(self) -> Path:
        return self.checkpoints / checkpoint_name(layout.BEST)

    @property
    def best_export(self) -> Path:
        return self.checkpoints / BEST_EXPORT

    @property
    def tensorboard_dir(self) -> Path:
        return self.path / TENSORBOARD_DIR

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
        atomic_write(self.config_path, toml_text.encode("utf-8"))

    def write_status(self, state: str, message: str, step: int, total_steps: int, phase: str = "") -> None:
        """status.json, atomically; `phase` (layout.PHASES) says what a running trainer is doing."""
        layout.write_status(self.path, state, message, step, total_steps, phase)

    def read_status(self) -> dict[str, Any] | None:
        return layout.read_status(self.path)

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
        atomic_write(self.metrics_path, text.encode("utf-8"))

    # ---- previews
    def save_preview(self, step: int, index: int, role: str, image: np.ndarray) -> Path:
        """Write an H x W x 3 float image in [0, 1] (already decoded through core.tensors.from_model)."""
        from core.imageio import save_photo
        from core.photo import Photo

        folder = self.preview_dir(step)
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / preview_file_name(index, role)
        save_photo(Photo(rgb=np.ascontiguousarray(image, dtype=np.float32)), target, bit_depth=8)
        return target

    # ---- stop requests
    def request_stop(self) -> None:
        """Ask a running trainer to save and stop (it checks between steps)."""
        layout.request_stop(self.path)

    def stop_requested(self) -> bool:
        return layout.stop_requested(self.path)

    def clear_stop(self) -> None:
        layout.clear_stop(self.path)

    # ---- checkpoints
    def save_checkpoint(self, state: Mapping[str, Any], which: str = "latest") -> Path:
        target = self.checkpoints / checkpoint_name(which)
        atomic_torch_save(dict(state), target)
        return target

    def load_checkpoint(self, which: str = "latest", map_location: str | torch.device = "cpu") -> dict[str, Any]:
        path = self.checkpoints / checkpoint_name(which)
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
        atomic_write(self.best_export, save(tensors, metadata={k: str(v) for k, v in metadata.items()}))
        return self.best_export


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
