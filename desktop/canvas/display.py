"""Display copies of a photo: 8-bit RGBA pixels wrapped in a QImage, plus smaller levels for zoomed-out views.

Built in a worker thread (QImage, unlike QPixmap, is safe there) so a 24-megapixel photo never converts on
the GUI thread.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from PySide6.QtGui import QImage

if TYPE_CHECKING:  # numpy loads with the first photo, not with the window
    import numpy as np

PYRAMID_MIN_PIXELS = 4_000_000  # below this, drawing the full image scaled down is cheap enough


def wrap_rgba8(pixels: np.ndarray) -> QImage:
    """A QImage sharing memory with an H x W x 4 uint8 array (keep the array alive as long as the image)."""
    h, w = pixels.shape[:2]
    return QImage(pixels.data, w, h, pixels.strides[0], QImage.Format.Format_RGBA8888)


@dataclass
class DisplayImage:
    pixels: np.ndarray  # H x W x 4 uint8; the readout reads it
    image: QImage  # shares pixels' memory
    levels: list[QImage] = field(default_factory=list)  # 1/2, 1/4, 1/8 ... for zoomed-out drawing
    _level_pixels: list = field(default_factory=list, repr=False)

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])

    def rgb_at(self, x: int, y: int) -> tuple[int, int, int] | None:
        if 0 <= x < self.width and 0 <= y < self.height:
            r, g, b = (int(v) for v in self.pixels[y, x, :3])
            return r, g, b
        return None

    def level_for(self, scale: float) -> tuple[QImage, float]:
        """The smallest stored image still at least as detailed as the screen needs, and its size factor."""
        image, factor = self.image, 1.0
        for level in self.levels:
            f = level.width() / self.width
            if f < scale:
                break
            image, factor = level, f
        return image, factor


def make_display(photo) -> DisplayImage:
    """The display copy of a core Photo (call from a worker thread for big photos)."""
    import numpy as np

    from core.pixels import rgba8

    pixels = np.ascontiguousarray(rgba8(photo.rgb, photo.alpha))
    image = wrap_rgba8(pixels)
    levels: list[QImage] = []
    keep: list[np.ndarray] = []
    if pixels.shape[0] * pixels.shape[1] >= PYRAMID_MIN_PIXELS:
        level = pixels
        while min(level.shape[:2]) > 1024 and len(levels) < 4:
            level = half_size(level)
            keep.append(level)
            levels.append(wrap_rgba8(level))
    display = DisplayImage(pixels, image, levels)
    display._level_pixels = keep  # the arrays the level images share memory with
    return display


def half_size(pixels: np.ndarray) -> np.ndarray:
    """A 2 x 2 box-averaged copy of an H x W x C uint8 array. NumPy releases the GIL for this work, so
    unlike QImage.scaled it does not stall the GUI thread while a worker builds the display."""
    import numpy as np

    h, w = (pixels.shape[0] // 2) * 2, (pixels.shape[1] // 2) * 2
    acc = pixels[0:h:2, 0:w:2].astype(np.uint16)
    acc += pixels[1:h:2, 0:w:2]
    acc += pixels[0:h:2, 1:w:2]
    acc += pixels[1:h:2, 1:w:2]
    acc += 2
    acc >>= 2
    return acc.astype(np.uint8)
