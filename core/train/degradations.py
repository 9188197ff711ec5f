"""Synthetic degradations for training pairs on [0, 1] float32 H x W x 3 images (NumPy, seeded).

The face model (`degrade_face`): blur, downsample, noise and JPEG, then back up to the original size, the
classic blind face-restoration recipe (GFPGAN's ranges: blur sigma 0.1-10, downsample 0.8-8, noise 0-20,
JPEG 60-100) made random in the manner of BSRGAN (Zhang et al. 2021: the steps in a random order) and
Real-ESRGAN (Wang et al. 2021: random kernel shapes, resize modes and colour or grey noise). Every choice
comes from the generator passed in, so a sample is reproducible from its seed.
"""

from __future__ import annotations

from dataclasses import dataclass

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


FACE_STEPS = ("blur", "downsample", "noise", "jpeg")
# OpenCV resize modes drawn for each resize (Real-ESRGAN draws area, bilinear and bicubic).
RESIZE_MODES = (cv2.INTER_AREA, cv2.INTER_LINEAR, cv2.INTER_CUBIC)
ANISOTROPIC_P = 0.5  # share of blurs with an elongated, rotated Gaussian kernel
GRAY_NOISE_P = 0.4  # share of noise draws that are the same on the three channels (Real-ESRGAN's figure)


@dataclass(frozen=True)
class FaceDegradation:
    """One drawn degradation: the steps' order and strengths (noise in [0, 1] units; blur in input pixels)."""

    order: tuple[str, ...]
    blur_sigma: float
    blur_ratio: float  # the blur's second axis relative to the first (1: isotropic)
    blur_angle: float
    factor: float  # downsampling factor
    noise_sigma: float
    gray_noise: bool
    jpeg_quality: int
    resize_down: int  # OpenCV interpolation of the downsampling, and of the way back up
    resize_up: int


def draw_face_degradation(rng: np.random.Generator, *, blur_sigma: tuple[float, float] = (0.1, 10.0),
                          downscale: tuple[float, float] = (1.0, 8.0), noise_sigma: tuple[float, float] = (0.0, 15.0),
                          jpeg_quality: tuple[int, int] = (60, 100), shuffle: bool = True) -> FaceDegradation:
    """Draw the steps' order (random with `shuffle`, else FACE_STEPS) and each strength from its range."""
    order = tuple(FACE_STEPS[i] for i in rng.permutation(len(FACE_STEPS))) if shuffle else FACE_STEPS
    anisotropic = rng.random() < ANISOTROPIC_P
    ratio = float(rng.uniform(0.2, 1.0)) if anisotropic else 1.0
    return FaceDegradation(
        order=order, blur_sigma=float(rng.uniform(*blur_sigma)), blur_ratio=ratio,
        blur_angle=float(rng.uniform(0.0, np.pi)), factor=max(1e-3, float(rng.uniform(*downscale))),
        noise_sigma=float(rng.uniform(*noise_sigma)) / 255.0, gray_noise=bool(rng.random() < GRAY_NOISE_P),
        jpeg_quality=int(rng.integers(jpeg_quality[0], jpeg_quality[1] + 1)),
        resize_down=RESIZE_MODES[int(rng.integers(0, len(RESIZE_MODES)))],
        resize_up=RESIZE_MODES[int(rng.integers(1, len(RESIZE_MODES)))])  # never area for enlarging


def degrade_face(image: np.ndarray, rng: np.random.Generator, *, blur_sigma: tuple[float, float] = (0.1, 10.0),
                 downscale: tuple[float, float] = (1.0, 8.0), noise_sigma: tuple[float, float] = (0.0, 15.0),
                 jpeg_quality: tuple[int, int] = (60, 100), shuffle: bool = True) -> np.ndarray:
    """A low-quality face from a good one: blur, downsample, noise and JPEG, each with a random strength from
    its range, in a random order (`shuffle=False`: that order), then resized back to the input's size.
    The blur is isotropic or (half the time) anisotropic and rotated, the noise per channel or grey, and the
    resizes area, bilinear or bicubic (see draw_face_degradation)."""
    plan = draw_face_degradation(rng, blur_sigma=blur_sigma, downscale=downscale, noise_sigma=noise_sigma,
                                 jpeg_quality=jpeg_quality, shuffle=shuffle)
    return apply_face_degradation(image, plan, rng)


def apply_face_degradation(image: np.ndarray, plan: FaceDegradation, rng: np.random.Generator) -> np.ndarray:
    """Apply a drawn degradation (`rng` draws the noise). Strengths are in the input's terms: a blur after
    the downsampling by `factor` is applied with sigma / factor."""
    h, w = image.shape[:2]
    out = np.ascontiguousarray(image, dtype=np.float32)
    scale = 1.0  # the current size relative to the input
    for step in plan.order:
        if step == "blur":
            out = blur(out, plan.blur_sigma * scale, plan.blur_ratio, plan.blur_angle)
        elif step == "downsample":
            small = (max(1, round(w / plan.factor)), max(1, round(h / plan.factor)))
            out = _resize(out, small, plan.resize_down)
            scale = small[0] / w
        elif step == "noise":
            out = add_gaussian_noise(out, plan.noise_sigma, rng, gray=plan.gray_noise)
        else:
            out = jpeg(out, plan.jpeg_quality)
    out = _resize(out, (w, h), plan.resize_up)
    return np.clip(out, 0.0, 1.0).astype(np.float32)


def _resize(image: np.ndarray, size: tuple[int, int], mode: int) -> np.ndarray:
    """Resize to (width, height)."""
    if (image.shape[1], image.shape[0]) == size:
        return image
    out = cv2.resize(image, size, interpolation=mode)
    return np.clip(out, 0.0, 1.0).reshape(size[1], size[0], *image.shape[2:]).astype(np.float32)


def blur(image: np.ndarray, sigma: float, ratio: float = 1.0, angle: float = 0.0) -> np.ndarray:
    """Gaussian blur of strength `sigma`; with ratio < 1 the second axis is that much narrower and the kernel
    is rotated by `angle` (radians)."""
    if sigma <= 0:
        return image
    if ratio >= 1.0:
        return gaussian_blur(image, sigma)
    kernel = anisotropic_gaussian_kernel(sigma, sigma * ratio, angle)
    return cv2.filter2D(image, -1, kernel, borderType=cv2.BORDER_REFLECT)


def anisotropic_gaussian_kernel(sigma_x: float, sigma_y: float, theta: float) -> np.ndarray:
    """A normalised 2-D Gaussian with standard deviations sigma_x, sigma_y along axes rotated by theta."""
    radius = max(1, int(round(3 * max(sigma_x, sigma_y))))
    y, x = np.mgrid[-radius:radius + 1, -radius:radius + 1].astype(np.float64)
    c, s = np.cos(theta), np.sin(theta)
    u, v = c * x + s * y, -s * x + c * y
    k = np.exp(-0.5 * ((u / max(sigma_x, 1e-6)) ** 2 + (v / max(sigma_y, 1e-6)) ** 2))
    return (k / k.sum()).astype(np.float32)


def gaussian_blur(image: np.ndarray, sigma: float) -> np.ndarray:
    if sigma <= 0:
        return image
    radius = max(1, int(round(3 * sigma)))
    return cv2.GaussianBlur(image, (2 * radius + 1, 2 * radius + 1), sigma, borderType=cv2.BORDER_REFLECT)


def add_gaussian_noise(image: np.ndarray, sigma: float, rng: np.random.Generator, *,
                       gray: bool = False) -> np.ndarray:
    """Additive Gaussian noise, independent per channel or (gray) the same on every channel."""
    if sigma <= 0:
        return image
    shape = image.shape[:2] + ((1,) if gray and image.ndim == 3 else image.shape[2:])
    return np.clip(image + rng.normal(0.0, sigma, shape).astype(np.float32), 0.0, 1.0)


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
