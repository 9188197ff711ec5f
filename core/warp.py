"""Affine geometry between a photo and a fixed-size crop, and moving pixels along it (used by core.regions).

A transform is a 2 x 3 float64 matrix M mapping photo coordinates to crop coordinates, in OpenCV's
convention: pixel centres sit at integer coordinates, so pixel (0, 0) covers [-0.5, 0.5)^2 and a w x h
image covers [-0.5, w - 0.5] x [-0.5, h - 0.5]. `warp_in` samples a crop out of a photo, `paste_back`
blends a crop back into a photo with a soft weight and touches only the pixels whose weight is above zero
(everything else stays bit-identical), working inside the bounding box of the crop's footprint only.

Quality: when the output grid is coarser than the source (a big face into a 512 crop, or a 1024 crop pasted
into a small face) the covered source area is first area-averaged (cv2.INTER_AREA) down to about the
output's resolution, so the warp does not alias; the warp itself is bicubic into the crop (clipped to the
source's value range, so no overshoot) and bilinear back into the photo. OpenCV resolves positions to
1/32 pixel.
"""

from __future__ import annotations

import math
from typing import Sequence, Union, cast

import cv2
import numpy as np

from core.errors import RestoraError

Size = Union[int, tuple[int, int]]  # an int for a square crop, or (width, height)
IntBox = tuple[int, int, int, int]  # x, y, w, h in whole pixels; (0, 0, 0, 0) when empty
EMPTY_BOX: IntBox = (0, 0, 0, 0)

BORDERS = {"reflect": cv2.BORDER_REFLECT_101, "replicate": cv2.BORDER_REPLICATE, "constant": cv2.BORDER_CONSTANT}
INTERPOLATIONS = {"cubic": cv2.INTER_CUBIC, "linear": cv2.INTER_LINEAR, "nearest": cv2.INTER_NEAREST}
# Area-average first when one output pixel step spans more than this many source pixels.
ANTIALIAS_ABOVE = 1.25
# Landmarks whose leave-one-out residual is within this share of the points' spread are never outliers.
LANDMARK_NOISE = 0.01
_DTYPES = (np.uint8, np.uint16, np.float32, np.float64)


class RegionError(RestoraError, ValueError):
    """A region, transform or crop that cannot be used (degenerate points, wrong shapes, bad values)."""


# --- transforms -------------------------------------------------------------------------------------------

def as_matrix(M: np.ndarray | Sequence[Sequence[float]]) -> np.ndarray:
    """M as a finite 2 x 3 float64 array (a 3 x 3 homogeneous affine is accepted too)."""
    m = np.asarray(M, dtype=np.float64)
    if m.shape == (3, 3) and np.allclose(m[2], (0.0, 0.0, 1.0)):
        m = m[:2]
    if m.shape != (2, 3):
        raise RegionError(f"a transform is a 2 x 3 affine matrix, got shape {m.shape}")
    if not np.all(np.isfinite(m)):
        raise RegionError("the transform contains NaN or infinity")
    return m.copy()


def _h(M: np.ndarray) -> np.ndarray:
    return np.vstack([M, (0.0, 0.0, 1.0)])


def compose(*Ms: np.ndarray) -> np.ndarray:
    """compose(A, B, C) applies C first, then B, then A (matrix product order)."""
    out = np.eye(3)
    for M in Ms:
        out = out @ _h(as_matrix(M))
    return out[:2].copy()


def invert(M: np.ndarray) -> np.ndarray:
    """The inverse transform (crop to photo when M is photo to crop)."""
    m = as_matrix(M)
    a, b, c, d = m[0, 0], m[0, 1], m[1, 0], m[1, 1]
    det = a * d - b * c
    if not math.isfinite(det) or abs(det) <= 1e-12 * max(a * a + b * b + c * c + d * d, 1e-300):
        raise RegionError("the transform is singular (it collapses the region to a line or a point)")
    inv = np.array([[d, -b], [-c, a]]) / det
    return np.hstack([inv, -inv @ m[:, 2:]])


def apply(M: np.ndarray, points: np.ndarray | Sequence[float] | Sequence[Sequence[float]]) -> np.ndarray:
    """Map points (shape (..., 2), x then y) through M; returns float64 of the same shape."""
    m = as_matrix(M)
    p = np.asarray(points, dtype=np.float64)
    if p.shape[-1:] != (2,):
        raise RegionError(f"points have shape (..., 2), got {p.shape}")
    return p @ m[:, :2].T + m[:, 2]


def _edge_scale(sx: float, sy: float) -> np.ndarray:
    """The map from an image to the same image resized by (sx, sy), pixel edges aligned (as cv2.resize)."""
    return np.array([[sx, 0.0, 0.5 * (sx - 1.0)], [0.0, sy, 0.5 * (sy - 1.0)]])


def _pair(s: float | tuple[float, float]) -> tuple[float, float]:
    sx, sy = cast("tuple[float, float]", (s, s) if np.isscalar(s) else s)
    if not (float(sx) > 0 and float(sy) > 0 and math.isfinite(sx) and math.isfinite(sy)):
        raise RegionError(f"scale factors must be finite and positive, got {s!r}")
    return float(sx), float(sy)


def scaled(M: np.ndarray, s: float | tuple[float, float] = 1.0, *, crop: float = 1.0) -> np.ndarray:
    """M for a photo s times larger (an upscaled background; s or (sx, sy)) and a crop `crop` times larger."""
    sx, sy = _pair(s)
    k, _ = _pair(crop)
    return compose(_edge_scale(k, k), M, _edge_scale(1.0 / sx, 1.0 / sy))


def translation(dx: float, dy: float) -> np.ndarray:
    return np.array([[1.0, 0.0, dx], [0.0, 1.0, dy]])


def crop_size(size: Size) -> tuple[int, int]:
    """(width, height) of a crop given as an int or a pair; both at least 1."""
    w, h = (size, size) if isinstance(size, (int, np.integer)) else size
    if int(w) != w or int(h) != h or w < 1 or h < 1:
        raise RegionError(f"a crop size is a positive int or (width, height), got {size!r}")
    return int(w), int(h)


def box_transform(box: Sequence[float], size: Size, *, margin: float = 0.0, square: bool = True) -> np.ndarray:
    """Scale + translation mapping a box (x, y, w, h) onto a size crop, edges onto edges.

    The box is first grown by `margin` times its width (height) on each side; with `square` it is then
    widened around its centre to the crop's aspect ratio (square for a square crop), so the scale is uniform
    and nothing is stretched. Box (0, 0, W, H) onto size (W, H) is exactly the identity."""
    x, y, w, h = (float(v) for v in box)
    cw, ch = crop_size(size)
    if not all(math.isfinite(v) for v in (x, y, w, h, margin)) or w <= 0 or h <= 0 or margin <= -0.5:
        raise RegionError(f"box_transform needs a finite box with positive size, got {box!r} (margin {margin})")
    x, y, w, h = x - margin * w, y - margin * h, w * (1 + 2 * margin), h * (1 + 2 * margin)
    if square:
        side = max(w / cw, h / ch)
        x, y, w, h = x + (w - side * cw) / 2, y + (h - side * ch) / 2, side * cw, side * ch
    sx, sy = cw / w, ch / h
    # photo edge x - 0.5 goes to crop edge -0.5, photo edge x + w - 0.5 to cw - 0.5
    return np.array([[sx, 0.0, -0.5 - sx * (x - 0.5)], [0.0, sy, -0.5 - sy * (y - 0.5)]])


def _points(p: np.ndarray | Sequence[Sequence[float]], name: str) -> np.ndarray:
    a = np.asarray(p, dtype=np.float64)
    if a.ndim != 2 or a.shape[1] != 2:
        raise RegionError(f"{name} points have shape (n, 2), got {a.shape}")
    if not np.all(np.isfinite(a)):
        raise RegionError(f"{name} points contain NaN or infinity")
    return a


def _fit(src: np.ndarray, dst: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares similarity src -> dst (the 2-D Umeyama solution) and the residual of each point."""
    zs, zd = src[:, 0] + 1j * src[:, 1], dst[:, 0] + 1j * dst[:, 1]
    ms, md = zs.mean(), zd.mean()
    cs, cd = zs - ms, zd - md
    tol = 1e-9 * (1.0 + max(np.abs(zs).max(), np.abs(zd).max()))
    ss, sd = math.sqrt(np.mean(np.abs(cs) ** 2)), math.sqrt(np.mean(np.abs(cd) ** 2))
    if ss <= tol:
        raise RegionError("the source points coincide: no similarity is defined by them")
    if sd <= tol:
        raise RegionError("the destination points coincide: a similarity cannot map onto a single point")
    a = complex(np.sum(np.conj(cs) * cd) / np.sum(np.abs(cs) ** 2))  # rotation and scale as one complex number
    if abs(a) <= 1e-6 * sd / ss:
        raise RegionError("the points do not fit any similarity (are they mirrored or in a different order?)")
    t = md - a * ms
    M = np.array([[a.real, -a.imag, t.real], [a.imag, a.real, t.imag]])
    return M, np.abs(a * zs + t - zd)


def similarity_from_points(src: np.ndarray | Sequence[Sequence[float]], dst: np.ndarray | Sequence[Sequence[float]],
                           *, robust: bool = True, outlier_factor: float = 4.0) -> np.ndarray:
    """Least-squares similarity (rotation, uniform scale, translation; never a reflection) mapping src to dst.

    With `robust` and at least 4 points, each point is left out in turn; if the best leave-one-out fit
    predicts its left-out point worse than `outlier_factor` times its own RMS residual (and by more than
    LANDMARK_NOISE of the points' spread), that point is dropped. At most one point is dropped. Raises
    RegionError for NaN, fewer than 2 points, mismatched counts, coincident or mirrored points."""
    s, d = _points(src, "source"), _points(dst, "destination")
    if len(s) != len(d) or len(s) < 2:
        raise RegionError(f"need the same number (at least 2) of source and destination points, got {len(s)} "
                          f"and {len(d)}")
    M, _ = _fit(s, d)
    if not robust or len(s) < 4:
        return M
    spread = math.sqrt(np.mean(np.sum((d - d.mean(axis=0)) ** 2, axis=1)))
    best: tuple[float, float, np.ndarray] | None = None
    for i in range(len(s)):
        keep = np.arange(len(s)) != i
        try:
            Mi, r = _fit(s[keep], d[keep])
        except RegionError:
            continue
        rms = math.sqrt(np.mean(r ** 2))
        left_out = float(np.hypot(*(apply(Mi, s[i]) - d[i])))
        if best is None or rms < best[0]:
            best = (rms, left_out, Mi)
    if best is not None and best[1] > outlier_factor * max(best[0], LANDMARK_NOISE * spread):
        return best[2]
    return M


# --- pixels ---------------------------------------------------------------------------------------------

def check_array(a: np.ndarray, name: str) -> np.ndarray:
    """a itself, after checking it is an H x W or H x W x C image of a dtype OpenCV warps."""
    if not isinstance(a, np.ndarray) or a.ndim not in (2, 3) or a.shape[0] < 1 or a.shape[1] < 1:
        raise RegionError(f"{name} must be an H x W or H x W x C array, got {getattr(a, 'shape', type(a))}")
    if a.dtype not in _DTYPES:
        raise RegionError(f"{name} must be float32, float64, uint8 or uint16, got {a.dtype}")
    return a


def _warp(src: np.ndarray, M_dst_to_src: np.ndarray, size: tuple[int, int], interp: int, border: int,
          value: float = 0.0) -> np.ndarray:
    """cv2.warpAffine with the inverse map given, any channel count, and the channel axis kept."""
    w, h = size
    flags = interp | cv2.WARP_INVERSE_MAP
    if src.ndim == 2 or src.shape[2] <= 4 or interp != cv2.INTER_CUBIC:
        src_c = np.ascontiguousarray(src[..., 0] if src.ndim == 3 and src.shape[2] == 1 else src)
        out = cv2.warpAffine(src_c, M_dst_to_src, (w, h), flags=flags, borderMode=border, borderValue=value)
        return out.reshape((h, w) + src.shape[2:])
    parts = [_warp(src[..., c:c + 4], M_dst_to_src, size, interp, border, value) for c in range(0, src.shape[2], 4)]
    return np.concatenate(parts, axis=2)


def _area_reduce(src: np.ndarray, fx: float, fy: float) -> tuple[np.ndarray, np.ndarray]:
    """Area-average src down by about (fx, fy) >= 1; returns it and the map from src to it."""
    h, w = src.shape[:2]
    nw, nh = max(1, round(w / fx)), max(1, round(h / fy))
    if (nw, nh) == (w, h):
        return src, translation(0.0, 0.0)
    chunks = [src] if src.ndim == 2 or src.shape[2] <= 4 else [src[..., c:c + 4] for c in range(0, src.shape[2], 4)]
    small = [cv2.resize(np.ascontiguousarray(c), (nw, nh), interpolation=cv2.INTER_AREA).reshape((nh, nw) + c.shape[2:])
             for c in chunks]
    return (small[0] if len(small) == 1 else np.concatenate(small, axis=2)), _edge_scale(nw / w, nh / h)


def _step(M: np.ndarray) -> tuple[float, float]:
    """Source pixels spanned per output pixel along the source's x and y (M maps output to source)."""
    return float(np.hypot(*M[0, :2])), float(np.hypot(*M[1, :2]))


def _source_span(lo: float, hi: float, n: int, border: str) -> tuple[int, int] | None:
    """Index range [a, b) of an axis of length n that sampling positions in [lo, hi] read, given the border.

    Wherever samples fall outside the axis the range reaches that end, so OpenCV's border rule applied
    at the range's end is the same as at the photo's end. None when nothing inside is read (constant)."""
    i0, i1 = math.floor(lo), math.ceil(hi)
    if border == "constant":
        a, b = max(i0, 0), min(i1, n - 1)
        return None if a > b else (a, b + 1)
    if border == "replicate" or n == 1:
        return min(max(i0, 0), n - 1), min(max(i1, 0), n - 1) + 1
    if i0 < -(n - 1) or i1 > 2 * (n - 1):  # more than one reflection: needs the whole axis
        return 0, n
    idx = np.arange(i0, i1 + 1)
    idx = np.where(idx < 0, -idx, idx)
    idx = np.where(idx > n - 1, 2 * (n - 1) - idx, idx)
    a, b = (0 if i0 < 0 else int(idx.min())), (n - 1 if i1 > n - 1 else int(idx.max()))
    return a, b + 1


def _corners(w: int, h: int, pad: float) -> np.ndarray:
    return np.array([[-pad, -pad], [w - 1 + pad, -pad], [w - 1 + pad, h - 1 + pad], [-pad, h - 1 + pad]])


def warp_in(image: np.ndarray, M: np.ndarray, size: Size, *, border: str = "reflect", border_value: float = 0.0,
            interpolation: str = "cubic", antialias: bool = True) -> np.ndarray:
    """The size crop of image (H x W or H x W x C) that M maps it onto; same dtype and channels.

    Outside the photo the crop continues by `border` ("reflect" mirrors without repeating the edge pixel,
    "replicate", "constant" = border_value). With `antialias`, a region more than 1.25 times larger than
    the crop is area-averaged first. Reads only the part of the photo the crop covers."""
    img = check_array(image, "image")
    m = as_matrix(M)
    cw, ch = crop_size(size)
    if border not in BORDERS or interpolation not in INTERPOLATIONS:
        raise RegionError(f"border is one of {sorted(BORDERS)} and interpolation one of {sorted(INTERPOLATIONS)}")
    inv = invert(m)  # crop -> photo
    fx, fy = _step(inv)
    shrink = antialias and interpolation != "nearest" and max(fx, fy) > ANTIALIAS_ABOVE
    pad = 3.0 + (2.0 * max(fx, fy) if shrink else 2.0)
    corners = apply(inv, _corners(cw, ch, 0.5))
    H, W = img.shape[:2]
    xs = _source_span(corners[:, 0].min() - pad, corners[:, 0].max() + pad, W, border)
    ys = _source_span(corners[:, 1].min() - pad, corners[:, 1].max() + pad, H, border)
    if xs is None or ys is None:
        return np.full((ch, cw) + img.shape[2:], border_value, dtype=img.dtype)
    patch = img[ys[0]:ys[1], xs[0]:xs[1]]
    to_patch = compose(translation(-xs[0], -ys[0]), inv)  # crop -> patch
    if shrink:
        patch, reduce = _area_reduce(patch, max(fx, 1.0), max(fy, 1.0))
        to_patch = compose(reduce, to_patch)
    out = _warp(patch, to_patch, (cw, ch), INTERPOLATIONS[interpolation], BORDERS[border], border_value)
    if interpolation == "cubic" and img.dtype.kind == "f":  # no overshoot beyond the values it came from
        lo, hi = patch.min(axis=(0, 1)), patch.max(axis=(0, 1))  # per channel
        if border == "constant":
            lo, hi = np.minimum(lo, border_value), np.maximum(hi, border_value)
        np.clip(out, lo, hi, out=out)
    return out


def feather_weight(size: Size, feather: float) -> np.ndarray:
    """size float32 weight (height x width): 0 at the crop's outermost pixels, rising smoothly to 1 over
    `feather` pixels (smoothstep; capped at half the side); all ones when feather is 0."""
    cw, ch = crop_size(size)
    if not math.isfinite(feather) or feather < 0:
        raise RegionError(f"feather is a non-negative number of crop pixels, got {feather!r}")

    def ramp(n: int) -> np.ndarray:
        f = min(feather, (n - 1) / 2)
        if f < 1e-3:  # below a thousandth of a pixel a ramp is a hard edge
            return np.ones(n, dtype=np.float64)
        i = np.arange(n, dtype=np.float64)
        t = np.clip(np.minimum(i, n - 1 - i) / f, 0.0, 1.0)
        return t * t * (3.0 - 2.0 * t)

    return np.outer(ramp(ch), ramp(cw)).astype(np.float32)


def _resized_weight(weight: np.ndarray, w: int, h: int) -> np.ndarray:
    a: np.ndarray = np.asarray(weight, dtype=np.float32)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[..., 0]
    if a.ndim != 2 or not np.all(np.isfinite(a)):
        raise RegionError(f"a weight map is a finite H x W array, got shape {a.shape}")
    if a.shape != (h, w):
        a = cv2.resize(a, (w, h), interpolation=cv2.INTER_LINEAR if a.shape[0] < h else cv2.INTER_AREA)
    return np.clip(a, 0.0, 1.0)


def support_box(M: np.ndarray, crop_wh: tuple[int, int], image_wh: tuple[int, int]) -> IntBox:
    """The photo pixels a crop of crop_wh (width, height) pasted with M can touch, clipped; (0,0,0,0) if none."""
    corners = apply(invert(M), _corners(crop_wh[0], crop_wh[1], 1.0))  # bilinear reads a pixel beyond the edge
    x0, y0 = max(math.floor(corners[:, 0].min()) - 1, 0), max(math.floor(corners[:, 1].min()) - 1, 0)
    x1 = min(math.ceil(corners[:, 0].max()) + 2, image_wh[0])
    y1 = min(math.ceil(corners[:, 1].max()) + 2, image_wh[1])
    return (x0, y0, x1 - x0, y1 - y0) if x1 > x0 and y1 > y0 else EMPTY_BOX


def paste_back(image: np.ndarray, crop: np.ndarray, M: np.ndarray, *, feather: float,
               weight: np.ndarray | None = None, out: np.ndarray | None = None) -> tuple[np.ndarray, IntBox]:
    """Blend crop into image where M (photo -> crop) puts it; returns (new image, box of changed pixels).

    The blend weight is feather_weight(crop, feather) (crop pixels) times `weight` (a map over the crop at
    any resolution, resized to it; e.g. an elliptical face mask or a hole mask), warped into the photo.
    Pixels where it is 0 keep their exact input values. The result goes into a copy of image, or into `out`
    (same shape and dtype; may be image itself). Memory beyond that: the crop's footprint only."""
    img = check_array(image, "image")
    c = check_array(crop, "crop")
    if c.ndim == 3 and img.ndim == 2 and c.shape[2] == 1:
        c = c[..., 0]
    if c.shape[2:] != img.shape[2:]:
        raise RegionError(f"the crop has shape {c.shape} but the image {img.shape}: channels must agree")
    m = as_matrix(M)
    h, w = c.shape[:2]
    H, W = img.shape[:2]
    if out is None:
        out = img.copy()
    elif out.shape != img.shape or out.dtype != img.dtype:
        raise RegionError(f"out must match the image ({img.shape} {img.dtype}), got {out.shape} {out.dtype}")
    x, y, bw, bh = support_box(m, (w, h), (W, H))
    if bw == 0:
        return out, EMPTY_BOX
    wmap = feather_weight((w, h), feather)
    if weight is not None:
        wmap *= _resized_weight(weight, w, h)
    ctype = np.float64 if np.float64 in (img.dtype, c.dtype) else np.float32
    src = c.astype(ctype, copy=False)
    to_crop = compose(m, translation(x, y))  # patch -> crop
    sx, sy = _step(to_crop)
    reduced = max(sx, sy) > ANTIALIAS_ABOVE
    if reduced:  # the crop is finer than the photo here: area-average it first
        src, reduce = _area_reduce(src, max(sx, 1.0), max(sy, 1.0))
        wmap, _ = _area_reduce(wmap, max(sx, 1.0), max(sy, 1.0))
        exact, to_crop = to_crop, compose(reduce, to_crop)
    warped = _warp(src, to_crop, (bw, bh), cv2.INTER_LINEAR, cv2.BORDER_REPLICATE)
    wgt = _warp(wmap, to_crop, (bw, bh), cv2.INTER_LINEAR, cv2.BORDER_CONSTANT, 0.0)
    if reduced:  # a reduced pixel is wider: keep the support of the full-resolution crop, (-1, w) x (-1, h)
        yy, xx = np.mgrid[0:bh, 0:bw]
        pos = apply(exact, np.stack([xx, yy], axis=-1).astype(np.float64))
        wgt[(pos[..., 0] <= -1) | (pos[..., 0] >= w) | (pos[..., 1] <= -1) | (pos[..., 1] >= h)] = 0.0
    sel = wgt > 0
    if not sel.any():
        return out, EMPTY_BOX
    dst = out[y:y + bh, x:x + bw]
    # Dense over the box (boolean indexing costs more than the arithmetic): where the weight is 0 the blend
    # is 0 * warped + 1 * dst, exactly dst, and copyto's mask leaves those pixels untouched anyway.
    a = wgt.astype(ctype, copy=False)
    where = sel
    if dst.ndim == 3:
        a, where = a[..., None], sel[..., None]
    blended = a * warped + (1 - a) * dst.astype(ctype, copy=False)
    if out.dtype.kind != "f":
        info = np.iinfo(out.dtype)
        blended = np.clip(np.rint(blended), info.min, info.max)
    np.copyto(dst, blended.astype(out.dtype, copy=False), where=where)
    rows, cols = np.flatnonzero(sel.any(axis=1)), np.flatnonzero(sel.any(axis=0))
    return out, (x + int(cols[0]), y + int(rows[0]), int(cols[-1] - cols[0] + 1), int(rows[-1] - rows[0] + 1))
