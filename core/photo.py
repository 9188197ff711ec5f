"""The Photo contract: float32 RGB in [0, 1], optional alpha, and the metadata to save it faithfully."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np


@dataclass(frozen=True)
class PhotoMeta:
    source_path: Path | None = None
    format: str | None = None  # "PNG", "JPEG", "TIFF", "BMP", "WEBP"
    bit_depth: int = 8  # 8 or 16: the precision the source had per channel
    grayscale: bool = False  # the source had one colour channel
    icc_profile: bytes | None = None
    exif: bytes | None = None  # as read; saving resets its orientation tag
    notes: tuple[str, ...] = ()  # what loading changed (e.g. "CMYK converted to RGB")


@dataclass
class Photo:
    rgb: np.ndarray  # float32, H x W x 3, values in [0, 1]
    alpha: np.ndarray | None = None  # float32, H x W, values in [0, 1]
    meta: PhotoMeta = field(default_factory=PhotoMeta)

    def __post_init__(self) -> None:
        if self.rgb.ndim != 3 or self.rgb.shape[2] != 3:
            raise ValueError(f"Photo.rgb must be H x W x 3, got shape {self.rgb.shape}")
        if self.rgb.dtype != np.float32:
            raise ValueError(f"Photo.rgb must be float32, got {self.rgb.dtype}")
        if self.alpha is not None and self.alpha.shape != self.rgb.shape[:2]:
            raise ValueError(f"alpha shape {self.alpha.shape} does not match image {self.rgb.shape[:2]}")

    @property
    def height(self) -> int:
        return int(self.rgb.shape[0])

    @property
    def width(self) -> int:
        return int(self.rgb.shape[1])

    @property
    def size(self) -> tuple[int, int]:
        """(width, height), as people say it."""
        return self.width, self.height

    def with_rgb(self, rgb: np.ndarray) -> "Photo":
        """A new photo with other pixels and the same alpha and metadata (a restoration result)."""
        rgb = np.ascontiguousarray(rgb, dtype=np.float32)
        alpha = self.alpha if self.alpha is not None and self.alpha.shape == rgb.shape[:2] else None
        return Photo(rgb=rgb, alpha=alpha, meta=self.meta)

    def with_meta(self, **changes: Any) -> "Photo":
        """A new photo with some PhotoMeta fields replaced (dataclasses.replace checks the names)."""
        return Photo(rgb=self.rgb, alpha=self.alpha, meta=replace(self.meta, **changes))

    @classmethod
    def from_uint8(cls, rgb: np.ndarray, alpha: np.ndarray | None = None) -> "Photo":
        """Build a photo from 8-bit arrays (tests, generated data)."""
        rgb = np.asarray(rgb)
        if rgb.ndim == 2:
            rgb = np.repeat(rgb[:, :, None], 3, axis=2)
        a = None if alpha is None else np.asarray(alpha, np.float32) / 255.0
        return cls(rgb=rgb.astype(np.float32) / 255.0, alpha=a)
