"""The mask contract: uint8, same H x W as the photo, 255 = fill this pixel, 0 = keep."""

from __future__ import annotations

import os
from pathlib import Path

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


def read_mask_levels(path: str | os.PathLike[str], shape: tuple[int, int]) -> np.ndarray:
    """A mask file as uint8 grey levels (white = fill), NOT thresholded: a feathered mask saved by Restora
    comes back exactly. A flat-colour image with a painted alpha uses its alpha."""
    from core.imageio import load_photo

    photo = load_photo(path)
    if photo.alpha is not None and float(photo.alpha.min()) != float(photo.alpha.max()):
        values = photo.alpha
    else:
        values = photo.rgb.mean(axis=2)
    if values.shape != tuple(shape):
        raise MaskError(f"The mask is {values.shape[1]} x {values.shape[0]} but the photo is "
                        f"{shape[1]} x {shape[0]}.")
    return np.clip(np.rint(values * 255.0), 0, 255).astype(np.uint8)


def write_mask_levels(path: str | os.PathLike[str], levels: np.ndarray) -> Path:
    """Save uint8 mask levels as an 8-bit grey PNG, atomically (core.imageio)."""
    from core.imageio import save_photo
    from core.photo import Photo

    gray = np.repeat((np.asarray(levels, np.float32) / 255.0)[:, :, None], 3, axis=2)
    return Path(save_photo(Photo(rgb=gray), Path(path), bit_depth=8))


def mask_fraction(mask: np.ndarray) -> float:
    return float((mask > 0).mean()) if mask.size else 0.0


FULL_MASK_PROBLEM = ("The mask covers the whole photo, so no pixels are left to fill it from. Leave the parts "
                     "of the photo to keep unmasked (black), or invert the mask.")
EMPTY_MASK_PROBLEM = "The mask is empty: nothing is marked to fill. Paint over the parts to fill first."


def full_mask(mask: np.ndarray) -> bool:
    """Whether every pixel is to be filled (no pixel is left to fill from)."""
    m = np.asarray(mask)
    return bool(m.size) and bool((m > 0).all())


def describe_mask_problem(mask: np.ndarray) -> str | None:
    """Why a fill with this mask (check_mask's 0/255) cannot do anything useful, in words; None when it can.
    Inpainting engines call it before they start: a full mask leaves no source pixels, an empty one no work."""
    m = np.asarray(mask)
    if m.size == 0 or not (m > 0).any():
        return EMPTY_MASK_PROBLEM
    if full_mask(m):
        return FULL_MASK_PROBLEM
    return None


def check_fillable(mask: np.ndarray) -> None:
    """Raise MaskError when the mask leaves no pixels to fill from (an empty mask is left to the engine)."""
    if full_mask(mask):
        raise MaskError(FULL_MASK_PROBLEM)


# ------------------------------------------------------------------------------------------ editing
# Editing operations change the mask in place and return the rectangle (x, y, w, h) they touched, so a
# viewer repaints and an undo history stores only that part. Soft brushes write coverage (0..255);
# check_mask thresholds it at half when the mask goes to an engine.

Rect = tuple[int, int, int, int]


def _clip_rect(x0: int, y0: int, x1: int, y1: int, shape: tuple[int, ...]) -> Rect | None:
    x0, y0 = max(0, x0), max(0, y0)
    x1, y1 = min(shape[1], x1), min(shape[0], y1)
    return (x0, y0, x1 - x0, y1 - y0) if x1 > x0 and y1 > y0 else None


def segment_rect(shape: tuple[int, ...], start: tuple[float, float], end: tuple[float, float],
                 radius: float) -> Rect | None:
    """The pixels a brush of this radius along start -> end may touch, clipped to the mask."""
    radius = max(float(radius), 0.5)
    (ax, ay), (bx, by) = start, end
    return _clip_rect(int(np.floor(min(ax, bx) - radius)), int(np.floor(min(ay, by) - radius)),
                      int(np.ceil(max(ax, bx) + radius)) + 1, int(np.ceil(max(ay, by) + radius)) + 1, shape)


def paint_segment(mask: np.ndarray, start: tuple[float, float], end: tuple[float, float], radius: float,
                  hardness: float = 1.0, erase: bool = False) -> Rect | None:
    """Stamp a round brush along start -> end (x, y in pixels); pixel centres within `radius` of the
    segment are covered. Hardness 1 gives a hard edge; lower values fade over the outer part of the radius."""
    radius = max(float(radius), 0.5)
    (ax, ay), (bx, by) = start, end
    rect = segment_rect(mask.shape, start, end, radius)
    if rect is None:
        return None
    x, y, w, h = rect
    py, px = np.mgrid[y:y + h, x:x + w].astype(np.float32)
    dx, dy = bx - ax, by - ay
    length2 = dx * dx + dy * dy
    if length2 > 0:
        t = np.clip(((px - ax) * dx + (py - ay) * dy) / length2, 0.0, 1.0)
        px -= ax + t * dx
        py -= ay + t * dy
    else:
        px -= ax
        py -= ay
    dist = np.sqrt(px * px + py * py)
    soft = radius * (1.0 - min(max(float(hardness), 0.0), 1.0))
    if soft < 1e-3:
        cover = np.where(dist <= radius, 255, 0).astype(np.uint8)
    else:
        cover = np.rint(np.clip((radius - dist) / soft, 0.0, 1.0) * 255.0).astype(np.uint8)
    region = mask[y:y + h, x:x + w]
    if erase:
        np.minimum(region, 255 - cover, out=region)
    else:
        np.maximum(region, cover, out=region)
    return rect


def fill_rect(mask: np.ndarray, rect: Rect, value: int = 255) -> Rect | None:
    """Set every pixel of rect (x, y, w, h; clipped to the mask) to value."""
    x, y, w, h = (int(v) for v in rect)
    clipped = _clip_rect(x, y, x + w, y + h, mask.shape)
    if clipped is not None:
        cx, cy, cw, ch = clipped
        mask[cy:cy + ch, cx:cx + cw] = value
    return clipped


def fill_polygon(mask: np.ndarray, points: list[tuple[float, float]], value: int = 255) -> Rect | None:
    """Fill the polygon through points (x, y) with value (a lasso selection)."""
    import cv2

    if len(points) < 3:
        return None
    pts = np.asarray(points, np.float64)
    rect = _clip_rect(int(np.floor(pts[:, 0].min())), int(np.floor(pts[:, 1].min())),
                      int(np.ceil(pts[:, 0].max())) + 1, int(np.ceil(pts[:, 1].max())) + 1, mask.shape)
    if rect is None:
        return None
    x, y, w, h = rect
    region = np.ascontiguousarray(mask[y:y + h, x:x + w])
    shifted = np.rint(pts - (x, y)).astype(np.int32).reshape(-1, 1, 2)
    cv2.fillPoly(region, [shifted], int(value))
    mask[y:y + h, x:x + w] = region
    return rect


def invert_mask(mask: np.ndarray) -> Rect | None:
    """Swap fill and keep, in place."""
    np.subtract(255, mask, out=mask)
    return (0, 0, mask.shape[1], mask.shape[0]) if mask.size else None


def _disk(px: int) -> np.ndarray:
    import cv2

    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * px + 1, 2 * px + 1))


def grow_mask(mask: np.ndarray, px: int) -> np.ndarray:
    """The mask with its filled area grown by px pixels in every direction (a round dilation)."""
    import cv2

    if px <= 0:
        return mask.copy()
    return cv2.dilate(mask, _disk(int(px)), borderType=cv2.BORDER_CONSTANT, borderValue=0)


def shrink_mask(mask: np.ndarray, px: int) -> np.ndarray:
    """The mask with its filled area shrunk by px pixels (a round erosion; the image border does not erode)."""
    import cv2

    if px <= 0:
        return mask.copy()
    return cv2.erode(mask, _disk(int(px)), borderType=cv2.BORDER_REPLICATE)


def changed_rect(before: np.ndarray, after: np.ndarray) -> Rect | None:
    """The bounding rectangle of the pixels that differ between two masks of one shape, or None."""
    diff = before != after
    rows = np.flatnonzero(diff.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(diff[rows[0]:rows[-1] + 1].any(axis=0))
    return int(cols[0]), int(rows[0]), int(cols[-1] - cols[0] + 1), int(rows[-1] - rows[0] + 1)
