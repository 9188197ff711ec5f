"""Training and validation datasets, and a sampler that can resume in the middle of an epoch.

Every sample's randomness (crop, flips, mask, degradation) comes from a generator seeded by
(seed, epoch, index), so a sample is the same whichever worker loads it and whether or not the run was
interrupted: resuming only needs the epoch and the position in it. Samples are dicts of C x H x W float
tensors in [0, 1]: "input", "target" (absent for zero-reference data) and "mask" (1 x H x W, 1 = hole),
plus "skipped", the index of an unreadable file this sample stands in for (-1 when none).

Unreadable files: a file that is not an image at all (empty, or no image signature) is left out when the
dataset is built and listed in `skipped`; one that fails to decode later (truncated, damaged inside) is
replaced by the next readable file (the same one every time: resuming stays exact) and named by its sample's
"skipped" index, so the trainer can say so once. Only a folder with no usable image at all is an error.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterator, Sequence, TypeVar

import numpy as np
import torch
from torch.utils.data import Dataset, DistributedSampler

from core.errors import ImageError, RestoraError
from core.imageio import load_photo, sniff_format
from core.kinds import IMAGE_SUFFIXES
from core.train import degradations as deg
from core.train.config import DataConfig
from core.train.masks import irregular_mask, random_mask

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


def screen(paths: Sequence[Path]) -> tuple[list[Path], list[tuple[str, str]]]:
    """The files that look like images (their first bytes; cheap), and (name, reason) for the others."""
    usable, skipped = [], []
    for path in paths:
        try:
            with open(path, "rb") as fh:
                head = fh.read(64)
        except OSError as e:
            skipped.append((path.name, f"cannot be opened ({e.strerror or e})"))
            continue
        if not head:
            skipped.append((path.name, "is empty"))
        elif sniff_format(head) is None:
            skipped.append((path.name, "is not an image Restora reads"))
        else:
            usable.append(path)
    return usable, skipped


def _none_usable(folder: str | Path, skipped: Sequence[tuple[str, str]]) -> DatasetError:
    shown = "; ".join(f"{name} {reason}" for name, reason in skipped[:5])
    more = f" and {len(skipped) - 5} more" if len(skipped) > 5 else ""
    return DatasetError(f"None of the images in {folder} can be used: {shown}{more}.")


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
        self.skipped: list[tuple[str, str]] = []  # (file name, reason) left out when the dataset was built
        self._unreadable: set[int] = set()  # indices that failed to decode in this process

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

    def load(self, index: int) -> Sample:
        raise NotImplementedError

    def source_name(self, index: int) -> str:
        """The file (or files) sample `index` is made from, for messages."""
        raise NotImplementedError

    def __getitem__(self, index: int) -> Sample:
        """Sample `index`, or the next readable one in its place (its "skipped" says which index failed)."""
        n, i, skipped = self.count(), int(index), -1
        for _ in range(n):
            if i not in self._unreadable:
                try:
                    sample = self.load(i)
                except ImageError:
                    self._unreadable.add(i)
                else:
                    sample["skipped"] = torch.tensor(skipped, dtype=torch.int64)
                    return sample
            if skipped < 0:
                skipped = i
            i = (i + 1) % n
        raise DatasetError(f"None of the {n} images of this dataset could be read (the first that failed: "
                           f"{self.source_name(int(index))}: {self.unreadable_reason(int(index))}).")

    def unreadable_reason(self, index: int) -> str:
        """Why sample `index` cannot be read (tries it once more); "" when it can."""
        try:
            self.load(index)
        except ImageError as e:
            return str(e)
        return ""


class PairedDataset(SeededDataset):
    """folder/low/NAME.* -> folder/high/NAME.*"""

    def __init__(self, folder: str | Path, data: DataConfig, **kw: Any) -> None:
        super().__init__(data, **kw)
        pairs = matched_pairs(folder)
        usable, self.skipped = screen([p for pair in pairs for p in pair])
        ok = set(usable)
        self.pairs = [(low, high) for low, high in pairs if low in ok and high in ok]
        if not self.pairs:
            raise _none_usable(folder, self.skipped)

    def count(self) -> int:
        return len(self.pairs)

    def source_name(self, index: int) -> str:
        low, high = self.pairs[index]
        return f"{low.parent.name}/{low.name} + {high.parent.name}/{high.name}"

    def load(self, index: int) -> Sample:
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
        self.files, self.skipped = screen(list_images(folder))
        if not self.files:
            raise _none_usable(folder, self.skipped)

    def count(self) -> int:
        return len(self.files)

    def source_name(self, index: int) -> str:
        return self.files[index].name


class UnpairedDataset(FolderDataset):
    """A folder of images with no reference (zero-reference training)."""

    def load(self, index: int) -> Sample:
        (image,) = self.crop([_rgb(self.files[index])], self.rng(index))
        return {"input": _chw(image)}


class InpaintDataset(FolderDataset):
    """Photos with generated hole masks; the input has its holes filled with grey, the target is the photo.
    data.mask_kind picks the generator: "strokes" (random_mask) or "irregular" (irregular_mask)."""

    def load(self, index: int) -> Sample:
        rng = self.rng(index)
        (image,) = self.crop([_rgb(self.files[index])], rng)
        d = self.data
        if d.mask_kind == "irregular":
            hole = irregular_mask(d.crop, d.crop, rng, max_fraction=d.mask_max_fraction)
        else:
            hole = random_mask(d.crop, d.crop, rng, strokes=_range(d.mask_strokes), boxes=_range(d.mask_boxes),
                               max_fraction=d.mask_max_fraction)
        m = (hole > 0).astype(np.float32)[:, :, None]
        # Holes are mid-grey: neutral in either value range, so a residual network starts in range.
        return {"input": _chw(image * (1.0 - m) + 0.5 * m), "target": _chw(image), "mask": _chw(m)}


class FacePairDataset(FolderDataset):
    """Aligned face photos resized to crop x crop; the input is a synthetic degradation of the face."""

    def load(self, index: int) -> Sample:
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

    def load(self, index: int) -> Sample:
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


def from_worker(error: BaseException) -> bool:
    """Whether an error was re-raised by a DataLoader from one of its worker processes (its message then
    carries the worker's traceback)."""
    return "Original Traceback" in str(error)


def worker_error_message(error: BaseException) -> str:
    """'Type: message' for a status or a log line; for an error re-raised from a DataLoader worker, the
    original error's own line instead of the worker's traceback."""
    text = str(error)
    if from_worker(error):
        lines = [line for line in text.strip().splitlines() if line.strip()]
        name, _, rest = (lines[-1] if lines else "").partition(": ")
        return f"{name.rsplit('.', 1)[-1]}: {rest}" if rest else text
    return f"{type(error).__name__}: {text}"
