"""The batch job: run one engine over every photo of a folder, continuing past files that fail.

Plain Python (no Qt): it runs in a worker thread and reports through core's Progress and CancelToken.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PHOTO_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp")
MASK_SUFFIX = "_mask"  # photo.jpg pairs with photo_mask.png for engines that need a mask


@dataclass
class BatchReport:
    written: list[Path] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # file name, reason
    cancelled: bool = False

    def summary(self) -> str:
        text = f"{len(self.written)} written, {len(self.failed)} failed"
        return text + (" (cancelled)" if self.cancelled else "")


def batch_inputs(folder: Path) -> list[Path]:
    """The photos in a folder (not its masks), in name order."""
    return sorted(p for p in folder.iterdir()
                  if p.is_file() and p.suffix.lower() in PHOTO_SUFFIXES and not p.stem.endswith(MASK_SUFFIX))


def find_mask(photo_path: Path) -> Path | None:
    for suffix in (".png", photo_path.suffix):
        candidate = photo_path.with_name(f"{photo_path.stem}{MASK_SUFFIX}{suffix}")
        if candidate.exists():
            return candidate
    return None


def run_batch(input_dir: str | Path, output_dir: str | Path, engine: Any, params: dict[str, Any],
              device: str = "cpu", progress=None, cancel=None) -> BatchReport:
    from core.engines.request import EngineRequest
    from core.errors import CancelledError, RestoraError
    from core.imageio import load_photo, save_photo
    from core.jobs import CancelToken, ScaledProgress, no_progress
    from core.masks import load_mask

    progress = progress or no_progress
    cancel = cancel or CancelToken()
    src, dst = Path(input_dir), Path(output_dir)
    if not src.is_dir():
        raise FileNotFoundError(f"The input folder {src} does not exist.")
    dst.mkdir(parents=True, exist_ok=True)
    files = batch_inputs(src)
    report = BatchReport()
    runner = engine.on_device(device)
    steps = 100
    for i, path in enumerate(files):
        progress(i * steps, len(files) * steps, path.name)
        try:
            cancel.raise_if_cancelled()
            photo = load_photo(path)
            mask = None
            if runner.requirements.needs_mask:
                mask_path = find_mask(path)
                if mask_path is None:
                    raise RestoraError(f"no mask: {runner.title} needs {path.stem}{MASK_SUFFIX}.png beside it")
                mask = load_mask(mask_path, (photo.height, photo.width))
            sub = ScaledProgress(lambda d, t, m="": progress(d, t, f"{path.name}: {m}" if m else path.name),
                                 i * steps, steps, len(files) * steps)
            result = runner.run(EngineRequest(photo, mask, None, params, sub, cancel))
            report.written.append(save_photo(result.photo, dst / path.name))
        except CancelledError:
            report.cancelled = True
            break
        except (RestoraError, OSError, ValueError, MemoryError) as e:
            report.failed.append((path.name, str(e)))
    progress(len(files) * steps, len(files) * steps, "Done")
    return report
