"""Synthetic degradations for training pairs on [0, 1] float32 H x W x 3 images (NumPy, seeded).

The face model: Gaussian blur, downsample, Gaussian noise, JPEG, then back up to the original size
(the classic blind face-restoration recipe; GFPGAN's defaults are blur sigma 0.1-10, downsample
0.8-8, noise 0-20, JPEG 60-100).
"""

from __future__ import annotations

import cv2
import numpy as np

from core.pixels import to_uint8


def random_crop(images: list[np.ndarray], size: int, rng: np.random.Generator) -> list[np.ndarray]:
    """The same random size x size window of each image (all the same shape); small images grow first."""
    images = [ensure_min_size(im, size) for im in images]
    h, w = images[0].shape[:2]
    top = int(rng.integers(0, h - size + 1))
    left = int(rng.integers(0, w - size + 1))
    return [im[top:top + size, left:left + size] for im in images]


def center_crop(images: list[np.ndarray], size: int) -> list[np.ndarray]:
    images = [ensure_min_size(im, size) for im in images]
    h, w = images[0].shape[:2]
    top, left = (h - size) // 2, (w - size) // 2
    return [im[top:top + size, left:left + size] for im in images]


def ensure_min_size(image: np.ndarray, size: int) -> np.ndarray:
    """Scale an image up (keeping its aspect) so both sides are at least `size`."""
    h, w = image.shape[:2]
    if h >= size and w >= size:
        return image
    scale = size / min(h, w)
    nh, nw = max(size, round(h * scale)), max(size, round(w * scale))
    out = cv2.resize(image, (nw, nh), interpolation=cv2.INTER_CUBIC)
    return np.clip(out, 0.0, 1.0).reshape(nh, nw, *image.shape[2:])


def random_flips(images: list[np.ndarray], rng: np.random.Generator) -> list[np.ndarray]:
    """The same horizontal flip (p = 0.5) and vertical flip (p = 0.5) on every image."""
    if rng.random() < 0.5:
        images = [im[:, ::-1] for im in images]
    if rng.random() < 0.5:
        images = [im[::-1] for im in images]
    return images


def resize_square(image: np.ndarray, size: int) -> np.ndarray:
    h, w = image.shape[:2]
    if (h, w) == (size, size):
        return image
    interp = cv2.INTER_AREA if min(h, w) > size else cv2.INTER_CUBIC
    return np.clip(cv2.resize(image, (size, size), interpolation=interp), 0.0, 1.0)


def degrade_face(image: np.ndarray, rng: np.random.Generator, *, blur_sigma: tuple[float, float] = (0.1, 10.0),
                 downscale: tuple[float, float] = (1.0, 8.0), noise_sigma: tuple[float, float] = (0.0, 15.0),
                 jpeg_quality: tuple[int, int] = (60, 100)) -> np.ndarray:
    """Blur, downsample, add noise, JPEG-compress and upsample back: a low-quality face from a good one."""
    h, w = image.shape[:2]
    out = gaussian_blur(image, float(rng.uniform(*blur_sigma)))
    factor = float(rng.uniform(*downscale))
    small = (max(1, round(w / factor)), max(1, round(h / factor)))
    out = cv2.resize(out, small, interpolation=cv2.INTER_LINEAR)
    out = add_gaussian_noise(out, float(rng.uniform(*noise_sigma)) / 255.0, rng)
    out = jpeg(out, int(rng.integers(jpeg_quality[0], jpeg_quality[1] + 1)))
    out = cv2.resize(out, (w, h), interpolation=cv2.INTER_LINEAR)
    return np.clip(out, 0.0, 1.0).astype(np.float32)


def gaussian_blur(image: np.ndarray, sigma: float) -> np.ndarray:
    if sigma <= 0:
        return image
    radius = max(1, int(round(3 * sigma)))
    return cv2.GaussianBlur(image, (2 * radius + 1, 2 * radius + 1), sigma, borderType=cv2.BORDER_REFLECT)


def add_gaussian_noise(image: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    if sigma <= 0:
        return image
    return np.clip(image + rng.normal(0.0, sigma, image.shape).astype(np.float32), 0.0, 1.0)


def jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    """A JPEG round trip at the given quality (RGB in, RGB out)."""
    bgr = cv2.cvtColor(to_uint8(image), cv2.COLOR_RGB2BGR)
    ok, data = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        return image
    decoded = cv2.imdecode(data, cv2.IMREAD_COLOR)
    if decoded is None:  # as a failed encode: leave the image as it was
        return image
    return cv2.cvtColor(decoded, cv2.COLOR_BGR2RGB).astype(np.float32) / 255.0
