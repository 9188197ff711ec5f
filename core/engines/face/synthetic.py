"""Synthetic faces and group photos with known landmarks: what the tests and `python -m
core.engines.face.measure` run the detectors and the pipeline on (no photo of a person is needed).

A face is drawn from soft Gaussian shapes (eye sockets, irises, brows, nose shading, nostrils, mouth, cheeks)
on a shaded skin ellipse under a cap of hair: the light-dark layout a real face has, which is what Haar
cascades key on. A group photo scatters such faces (sizes, skin tones, small in-plane rotations) over a
cluttered background of smooth noise, rectangles and lines, so false detections can happen and be counted.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

SKINS = ((0.86, 0.68, 0.58), (0.80, 0.62, 0.52), (0.66, 0.48, 0.36), (0.50, 0.35, 0.26), (0.90, 0.74, 0.64))
HAIRS = ((0.15, 0.10, 0.07), (0.35, 0.22, 0.12), (0.08, 0.08, 0.08), (0.55, 0.42, 0.25))


@dataclass(frozen=True)
class TrueFace:
    box: tuple[float, float, float, float]  # x, y, w, h in photo pixels (brows to chin, cheek to cheek)
    landmarks: tuple[tuple[float, float], ...]  # five points: eyes, nose tip, mouth corners (image-left first)


def _blob(yy: np.ndarray, xx: np.ndarray, cx: float, cy: float, sx: float, sy: float) -> np.ndarray:
    return np.exp(-0.5 * (((xx - cx) / sx) ** 2 + ((yy - cy) / sy) ** 2)).astype(np.float32)


def draw_face(side: int, skin: tuple[float, float, float] = SKINS[1],
              hair: tuple[float, float, float] = HAIRS[0]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(float32 RGB side x side, float32 alpha, the five landmarks (5 x 2, pixel coordinates))."""
    s = float(side)
    c = s / 2
    yy, xx = np.mgrid[0:side, 0:side].astype(np.float32)
    lum = np.ones((side, side), np.float32)
    ex, ey = 0.17 * s, 0.42 * s
    for sx in (-1, 1):
        lum -= 0.45 * _blob(yy, xx, c + sx * ex, ey, 0.075 * s, 0.04 * s)  # eye socket
        lum -= 0.45 * _blob(yy, xx, c + sx * ex, ey - 0.075 * s, 0.08 * s, 0.018 * s)  # brow
        lum -= 0.5 * _blob(yy, xx, c + sx * ex, ey, 0.022 * s, 0.022 * s)  # iris
        lum += 0.12 * _blob(yy, xx, c + sx * 0.2 * s, 0.6 * s, 0.08 * s, 0.06 * s)  # cheek
        lum -= 0.18 * _blob(yy, xx, c + sx * 0.04 * s, 0.56 * s, 0.02 * s, 0.05 * s)  # side of the nose
    lum += 0.1 * _blob(yy, xx, c, 0.5 * s, 0.025 * s, 0.08 * s)  # bridge of the nose
    lum -= 0.25 * _blob(yy, xx, c, 0.61 * s, 0.05 * s, 0.015 * s)  # nostrils
    mouth = _blob(yy, xx, c, 0.735 * s, 0.11 * s, 0.022 * s)
    lum -= 0.5 * mouth
    r2 = ((xx - c) / (0.37 * s)) ** 2 + ((yy - 1.02 * c) / (0.48 * s)) ** 2
    lum = (lum * np.clip(1.05 - 0.3 * r2, 0.4, 1.0)).astype(np.float32)
    rgb = np.clip(lum[..., None] * np.asarray(skin, np.float32), 0, 1)
    rgb = rgb * (1 - 0.5 * mouth[..., None]) + 0.5 * mouth[..., None] * np.array([0.5, 0.15, 0.15], np.float32)
    alpha = np.clip((1 - r2) * 8, 0, 1)
    cap = ((xx - c) / (0.41 * s)) ** 2 + ((yy - 0.30 * s) / (0.30 * s)) ** 2
    hair_a = np.clip((1 - cap) * 8, 0, 1) * (yy < 0.13 * s + 0.22 * s * np.abs(xx - c) / (0.4 * s))
    rgb = rgb * (1 - hair_a[..., None]) + hair_a[..., None] * np.asarray(hair, np.float32)
    alpha = np.maximum(alpha, hair_a)
    points = np.array([[c - ex, ey], [c + ex, ey], [c, 0.6 * s], [c - 0.1 * s, 0.735 * s], [c + 0.1 * s, 0.735 * s]])
    return rgb.astype(np.float32), alpha.astype(np.float32), points - 0.5


def background(height: int, width: int, rng: np.random.Generator, clutter: int = 40) -> np.ndarray:
    """A cluttered float32 RGB background: smooth coloured noise, rectangles, lines and dots."""
    small = rng.random((max(2, height // 64), max(2, width // 64), 3)).astype(np.float32)
    bg = cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC) * 0.5 + 0.25
    for _ in range(clutter):
        colour = tuple(float(v) for v in rng.random(3))
        x, y = int(rng.integers(0, width)), int(rng.integers(0, height))
        w, h = int(rng.integers(width // 60 + 1, width // 6 + 2)), int(rng.integers(height // 60 + 1, height // 6 + 2))
        kind = rng.integers(0, 3)
        if kind == 0:
            cv2.rectangle(bg, (x, y), (x + w, y + h), colour, -1)
        elif kind == 1:
            cv2.line(bg, (x, y), (x + w, y + h), colour, max(1, width // 400))
        else:
            cv2.circle(bg, (x, y), max(2, w // 6), colour, -1)
    noise = rng.normal(0, 0.02, bg.shape).astype(np.float32)
    return np.clip(bg + noise, 0, 1).astype(np.float32)


def place_face(image: np.ndarray, x: float, y: float, side: int, *, angle: float = 0.0,
               skin: tuple[float, float, float] = SKINS[1], hair: tuple[float, float, float] = HAIRS[0]) -> TrueFace:
    """Draw a face of `side` pixels with its top-left corner at (x, y), turned by `angle` degrees about its
    centre, into image (in place); returns where it is."""
    rgb, alpha, points = draw_face(side, skin, hair)
    R = np.asarray(cv2.getRotationMatrix2D(((side - 1) / 2, (side - 1) / 2), angle, 1.0), np.float64)
    R[:, 2] += np.array([x, y])
    H, W = image.shape[:2]
    reach = int(np.ceil(side * 0.75)) + 2  # a turned face stays within this of its centre
    cx, cy = int(x + side / 2), int(y + side / 2)
    x0, y0, x1, y1 = max(0, cx - reach), max(0, cy - reach), min(W, cx + reach), min(H, cy + reach)
    if x1 > x0 and y1 > y0:
        local = R.copy()
        local[:, 2] -= (x0, y0)
        size = (x1 - x0, y1 - y0)
        warped = cv2.warpAffine(rgb, local, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
        a = cv2.warpAffine(alpha, local, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)[..., None]
        patch = image[y0:y1, x0:x1]
        patch *= 1 - a
        patch += a * warped
    pts = points @ R[:, :2].T + R[:, 2]
    # the face box: brows to chin (0.27 .. 0.98 of the side), cheek to cheek (0.13 .. 0.87), about its centre
    fx, fy = x + side / 2, y + side / 2
    w, h = 0.74 * side, 0.71 * side
    return TrueFace((fx - w / 2, fy - 0.23 * side, w, h), tuple((float(p[0]), float(p[1])) for p in pts))


def group_photo(width: int, height: int, count: int, rng: np.random.Generator, *, min_side: int = 80,
                max_side: int = 240, max_angle: float = 12.0, clutter: int = 60) -> tuple[np.ndarray, list[TrueFace]]:
    """A float32 RGB group photo with `count` non-overlapping faces (where they fit) and their truth."""
    image = background(height, width, rng, clutter)
    faces: list[TrueFace] = []
    taken: list[tuple[float, float, float]] = []
    tries = 0
    while len(faces) < count and tries < 200 * count:
        tries += 1
        side = int(rng.integers(min_side, max_side + 1))
        x, y = float(rng.integers(0, width - side)), float(rng.integers(0, height - side))
        if any(abs(x - tx) < (side + ts) / 2 * 1.05 and abs(y - ty) < (side + ts) / 2 * 1.05 for tx, ty, ts in taken):
            continue
        taken.append((x, y, side))
        skin, hair = SKINS[int(rng.integers(len(SKINS)))], HAIRS[int(rng.integers(len(HAIRS)))]
        faces.append(place_face(image, x, y, side, angle=float(rng.uniform(-max_angle, max_angle)), skin=skin,
                                hair=hair))
    return np.clip(image, 0, 1).astype(np.float32), faces


def assembled_group(face: np.ndarray, truth: TrueFace, width: int, height: int, count: int,
                    rng: np.random.Generator, *, min_side: int = 80, max_side: int = 300, max_angle: float = 12.0,
                    backdrop: np.ndarray | None = None, clutter: int = 60) -> tuple[np.ndarray, list[TrueFace]]:
    """A group photo assembled from one real face photo (float32 RGB) whose face box and landmarks are
    known (`truth`): copies of the face, each scaled so its box is min_side..max_side wide, turned up to
    max_angle degrees, mirrored at random and shifted in brightness and colour, blended in with a soft oval
    over a cluttered background (or `backdrop`, resized)."""
    image = background(height, width, rng, clutter)
    if backdrop is not None:
        image = 0.5 * image + 0.5 * cv2.resize(backdrop, (width, height), interpolation=cv2.INTER_CUBIC)
    bx, by, bw, bh = truth.box
    centre = np.array([bx + bw / 2, by + bh / 2])
    src_pts = np.asarray(truth.landmarks, np.float64)
    fh, fw = face.shape[:2]
    yy, xx = np.mgrid[0:fh, 0:fw].astype(np.float32)
    oval = ((xx - centre[0]) / (0.85 * bw)) ** 2 + ((yy - centre[1] + 0.1 * bh) / (0.95 * bh)) ** 2
    alpha_src = np.clip((1 - oval) * 4, 0, 1).astype(np.float32)
    faces: list[TrueFace] = []
    taken: list[tuple[float, float, float]] = []
    tries = 0
    while len(faces) < count and tries < 200 * count:
        tries += 1
        side = float(rng.integers(min_side, max_side + 1))
        k = side / bw
        span = 2.2 * side
        cx, cy = float(rng.uniform(span / 2, width - span / 2)), float(rng.uniform(span / 2, height - span / 2))
        if any(abs(cx - tx) < (span + ts) / 2 and abs(cy - ty) < (span + ts) / 2 for tx, ty, ts in taken):
            continue
        taken.append((cx, cy, span))
        angle = float(rng.uniform(-max_angle, max_angle))
        flip = bool(rng.integers(0, 2))
        M = cv2.getRotationMatrix2D((float(centre[0]), float(centre[1])), angle, k)
        if flip:  # mirror about the face's centre first
            F = np.array([[-1.0, 0.0, 2 * centre[0]], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
            M = (np.vstack([M, (0, 0, 1)]) @ F)[:2]
        M[:, 2] += (cx - centre[0], cy - centre[1])
        x0, y0 = int(max(0, cx - span)), int(max(0, cy - span))
        x1, y1 = int(min(width, cx + span)), int(min(height, cy + span))
        local = M.copy()
        local[:, 2] -= (x0, y0)
        size = (x1 - x0, y1 - y0)
        gain = rng.uniform(0.7, 1.2) * rng.uniform(0.9, 1.1, 3)
        warped = cv2.warpAffine(face, local, size, flags=cv2.INTER_AREA if k < 1 else cv2.INTER_LINEAR,
                                borderMode=cv2.BORDER_REFLECT) * gain.astype(np.float32)
        a = cv2.warpAffine(alpha_src, local, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)[..., None]
        patch = image[y0:y1, x0:x1]
        patch *= 1 - a
        patch += a * np.clip(warped, 0, 1)
        pts = src_pts @ M[:, :2].T + M[:, 2]
        if flip:  # the mirrored face's image-left eye is the source's right one
            pts = pts[[1, 0, 2, 4, 3]]
        faces.append(TrueFace((cx - side / 2, cy - bh * k / 2, side, bh * k),
                              tuple((float(p[0]), float(p[1])) for p in pts)))
    return np.clip(image, 0, 1).astype(np.float32), faces
