"""The mask contract: uint8, same H x W as the photo, 255 = fill this pixel, 0 = keep."""

from __future__ import annotations

import os

import numpy as np

from core.errors import RestoraError


class MaskError(RestoraError, ValueError):
    pass


def check_mask(mask: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """A binary uint8 mask (0/255) of the given height and width, from any mask-like array."""
    m = np.asarray(mask)
    if m.ndim == 3:
        painted_alpha = m.shape[2] == 4 and not _alpha_is_flat(m)
        m = m[:, :, 3] if painted_alpha else m[:, :, 0]
    if m.ndim != 2:
        raise MaskError(f"A mask must be a single-channel image, got shape {m.shape}.")
    if m.shape != tuple(shape):
        raise MaskError(f"The mask is {m.shape[1]} x {m.shape[0]} but the photo is {shape[1]} x {shape[0]}.")
    if m.dtype == np.bool_:
        return np.where(m, 255, 0).astype(np.uint8)
    if np.issubdtype(m.dtype, np.floating):
        return np.where(m >= 0.5, 255, 0).astype(np.uint8)
    threshold = 128 if m.max(initial=0) > 1 else 1
    if m.dtype == np.uint16:
        threshold = 32768 if m.max(initial=0) > 255 else threshold
    return np.where(m >= threshold, 255, 0).astype(np.uint8)


def _alpha_is_flat(m: np.ndarray) -> bool:
    return bool(m[:, :, 3].min() == m[:, :, 3].max())


def load_mask(path: str | os.PathLike[str], shape: tuple[int, int]) -> np.ndarray:
    """Read a mask file (white = fill; a flat-colour image with a painted alpha uses its alpha)."""
    from core.imageio import load_photo

    photo = load_photo(path)
    if photo.alpha is not None and float(photo.alpha.min()) != float(photo.alpha.max()):
        values = photo.alpha
    else:
        values = photo.rgb.mean(axis=2)
    return check_mask(values, shape)


def mask_fraction(mask: np.ndarray) -> float:
    return float((mask > 0).mean()) if mask.size else 0.0
