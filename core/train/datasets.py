"""Training and validation datasets, and a sampler that can resume in the middle of an epoch.

Every sample's randomness (crop, flips, mask, degradation) comes from a generator seeded by
(seed, epoch, index), so a sample is the same whichever worker loads it and whether or not the run was
interrupted: resuming only needs the epoch and the position in it. Samples are dicts of C x H x W float
tensors in [0, 1]: "input", "target" (absent for zero-reference data) and "mask" (1 x H x W, 1 = hole).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterator, Sequence, TypeVar

import numpy as np
import torch
from torch.utils.data import Dataset, DistributedSampler

from core.errors import RestoraError
from core.imageio import load_photo
from core.kinds import IMAGE_SUFFIXES
from core.train import degradations as deg
from core.train.config import DataConfig
from core.train.masks import random_mask

Sample = dict[str, torch.Tensor]
_VAL_EPOCH = 1_000_003  # a fixed "epoch" for validation samples, far from any training epoch


class DatasetError(RestoraError, ValueError):
    """A training folder is missing, empty, or laid out in a way the dataset kind does not accept."""


def list_images(folder: str | Path) -> list[Path]:
    p = Path(folder)
    if not str(folder):
        raise DatasetError("No data folder was given.")
    if not p.is_dir():
        raise DatasetError(f"The data folder {p} does not exist or is not a folder.")
    files = sorted(f for f in p.iterdir() if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES
                   and not f.name.startswith("."))
    if not files:
        raise DatasetError(f"{p} holds no images ({', '.join(IMAGE_SUFFIXES)}).")
    return files


def has_pairs(folder: str | Path) -> bool:
    p = Path(folder)
    return (p / "low").is_dir() and (p / "high").is_dir()


def matched_pairs(folder: str | Path) -> list[tuple[Path, Path]]:
    """(low, high) files of folder/low and folder/high with the same stem."""
    p = Path(folder)
    if not has_pairs(p):
        raise DatasetError(f"A paired data folder needs low/ and high/ sub-folders; {p} has not both.")
    low = {f.stem: f for f in list_images(p / "low")}
    high = {f.stem: f for f in list_images(p / "high")}
    stems = sorted(low.keys() & high.keys())
    if not stems:
        raise DatasetError(f"No file in {p / 'low'} has a partner with the same name in {p / 'high'}.")
    return [(low[s], high[s]) for s in stems]


def _rgb(path: Path) -> np.ndarray:
    return load_photo(path).rgb


_T = TypeVar("_T")


def _range(values: Sequence[_T]) -> tuple[_T, _T]:
    """A config range (a list of two; reading the config checked the length) as a (low, high) pair."""
    return values[0], values[1]


def _chw(image: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1), dtype=np.float32))


class SeededDataset(Dataset):
    """Base: crops and augmentations drawn from a generator seeded by (seed, epoch, index)."""

    def __init__(self, data: DataConfig, *, seed: int, train: bool, limit: int | None = None) -> None:
        self.data = data
        self.seed = int(seed)
        self.train = train
        self.epoch = 0
        self.limit = limit

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def rng(self, index: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, self.epoch if self.train else _VAL_EPOCH, int(index)])

    def crop(self, images: list[np.ndarray], rng: np.random.Generator) -> list[np.ndarray]:
        if not self.train:
            return deg.center_crop(images, self.data.crop)
        images = deg.random_crop(images, self.data.crop, rng)
        return deg.random_flips(images, rng) if self.data.flips else images

    def __len__(self) -> int:
        n = self.count()
        return min(n, self.limit) if self.limit else n

    def count(self) -> int:
        raise NotImplementedError


class PairedDataset(SeededDataset):
    """folder/low/NAME.* -> folder/high/NAME.*"""

    def __init__(self, folder: str | Path, data: DataConfig, **kw: Any) -> None:
        super().__init__(data, **kw)
        self.pairs = matched_pairs(folder)

    def count(self) -> int:
        return len(self.pairs)

    def __getitem__(self, index: int) -> Sample:
        low_path, high_path = self.pairs[index]
        low, high = _rgb(low_path), _rgb(high_path)
        if low.shape != high.shape:
            raise DatasetError(f"{low_path.name} is {low.shape[1]} x {low.shape[0]} but its partner "
                               f"{high_path.name} is {high.shape[1]} x {high.shape[0]}.")
        low, high = self.crop([low, high], self.rng(index))
        return {"input": _chw(low), "target": _chw(high)}


class FolderDataset(SeededDataset):
    """A dataset over every image in one folder."""

    def __init__(self, folder: str | Path, data: DataConfig, **kw: Any) -> None:
        super().__init__(data, **kw)
        self.files = list_images(folder)

    def count(self) -> int:
        return len(self.files)


class UnpairedDataset(FolderDataset):
    """A folder of images with no reference (zero-reference training)."""

    def __getitem__(self, index: int) -> Sample:
        (image,) = self.crop([_rgb(self.files[index])], self.rng(index))
        return {"input": _chw(image)}


class InpaintDataset(FolderDataset):
    """Photos with generated hole masks; the input has its holes filled with grey, the target is the photo."""

    def __getitem__(self, index: int) -> Sample:
        rng = self.rng(index)
        (image,) = self.crop([_rgb(self.files[index])], rng)
        d = self.data
        hole = random_mask(d.crop, d.crop, rng, strokes=_range(d.mask_strokes), boxes=_range(d.mask_boxes),
                           max_fraction=d.mask_max_fraction)
        m = (hole > 0).astype(np.float32)[:, :, None]
        # Holes are mid-grey: neutral in either value range, so a residual network starts in range.
        return {"input": _chw(image * (1.0 - m) + 0.5 * m), "target": _chw(image), "mask": _chw(m)}


class FacePairDataset(FolderDataset):
    """Aligned face photos resized to crop x crop; the input is a synthetic degradation of the face."""

    def __getitem__(self, index: int) -> Sample:
        rng = self.rng(index)
        face = deg.resize_square(_rgb(self.files[index]), self.data.crop)
        if self.train and self.data.flips and rng.random() < 0.5:
            face = face[:, ::-1]
        d = self.data
        low = deg.degrade_face(np.ascontiguousarray(face), rng, blur_sigma=_range(d.blur_sigma),
                               downscale=_range(d.downscale), noise_sigma=_range(d.noise_sigma),
                               jpeg_quality=_range(d.jpeg_quality))
        return {"input": _chw(low), "target": _chw(face)}


class SyntheticLowlightDataset(FolderDataset):
    """Well-exposed photos darkened by core.synthesis.lowlight.degrade_batch (seeded per sample)."""

    def __getitem__(self, index: int) -> Sample:
        from core.synthesis.lowlight import degrade_batch

        rng = self.rng(index)
        (image,) = self.crop([_rgb(self.files[index])], rng)
        high = _chw(image)
        gen = torch.Generator().manual_seed(int(rng.integers(0, 2**62)))
        low = degrade_batch(high[None], gen)[0]
        return {"input": low.float().clamp(0.0, 1.0), "target": high}


def resolve_kind(kind: str, folder: str | Path) -> str:
    """'lowlight_auto' is 'paired' where the folder has low/ and high/, else 'synthetic_lowlight'."""
    if kind == "lowlight_auto":
        return "paired" if has_pairs(folder) else "synthetic_lowlight"
    return kind


_KINDS: dict[str, Callable[..., SeededDataset]] = {
    "paired": PairedDataset,
    "unpaired": UnpairedDataset,
    "inpaint": InpaintDataset,
    "face": FacePairDataset,
    "synthetic_lowlight": SyntheticLowlightDataset,
}


def build_datasets(data: DataConfig, seed: int) -> tuple[SeededDataset, SeededDataset]:
    """The training dataset and the validation dataset (deterministic centre crops, at most val_count)."""
    kind = resolve_kind(data.kind, data.train)
    if kind not in _KINDS:
        raise DatasetError(f"Unknown dataset kind {data.kind!r}.")
    train = _KINDS[kind](data.train, data, seed=seed, train=True)
    val_folder = data.val or data.train
    val_kind = resolve_kind(data.kind, val_folder)
    if val_kind == "unpaired" and has_pairs(val_folder):
        val_kind = "paired"  # zero-reference training, but references exist to measure against
    val = _KINDS[val_kind](val_folder, data, seed=seed, train=False, limit=data.val_count)
    return train, val


class ResumableSampler(DistributedSampler):
    """DistributedSampler (also for one process) that can start part-way through an epoch."""

    def __init__(self, dataset: Dataset, *, num_replicas: int, rank: int, seed: int, shuffle: bool = True) -> None:
        super().__init__(dataset, num_replicas=num_replicas, rank=rank, shuffle=shuffle, seed=seed, drop_last=False)
        self.start = 0

    def set_start(self, start: int) -> None:
        """Skip the first `start` indices of this rank's share of the current epoch."""
        self.start = max(0, int(start))

    def __iter__(self) -> Iterator[int]:
        indices = list(super().__iter__())
        return iter(indices[self.start:])

    def __len__(self) -> int:
        return max(0, self.num_samples - self.start)
