"""Display copies of a photo: 8-bit RGBA pixels wrapped in a QImage, plus smaller levels for zoomed-out views.

Built in a worker thread (QImage, unlike QPixmap, is safe there) so a 24-megapixel photo never converts on
the GUI thread. `make_preview` decodes a reduced copy straight from the file (a JPEG at 1/2 to 1/8 scale in
its DCT, anything else decoded and box-reduced), shown while the photo itself loads: a preview display keeps
the photo's full size in scene pixels (`full_size`), so the real display replaces it without moving the view.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from PySide6.QtGui import QImage

if TYPE_CHECKING:  # numpy loads with the first photo, not with the window
    import numpy as np

PYRAMID_MIN_PIXELS = 4_000_000  # below this, drawing the full image scaled down is cheap enough
PREVIEW_SIDE = 1024  # a preview's longer side is at least this many pixels
PREVIEW_MIN_PIXELS = 6_000_000  # smaller photos load fast enough without one
PREVIEW_MAX_DECODE_PIXELS = 60_000_000  # a preview that would decode more pixels is not made (the load's
# own pixel limit, in core.imageio, then speaks for files that are too big)
# EXIF orientation -> the Pillow transpose that makes the pixels upright (as core.imageio does for the photo)
_UPRIGHT = {2: "FLIP_LEFT_RIGHT", 3: "ROTATE_180", 4: "FLIP_TOP_BOTTOM", 5: "TRANSPOSE", 6: "ROTATE_270",
            7: "TRANSVERSE", 8: "ROTATE_90"}


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
    full_size: tuple[int, int] | None = None  # (width, height) of the photo a reduced preview stands for

    @property
    def is_preview(self) -> bool:
        """A reduced copy shown while the photo loads: never the pixels to edit or run an engine on."""
        return self.full_size is not None

    @property
    def width(self) -> int:
        return self.full_size[0] if self.full_size else int(self.pixels.shape[1])

    @property
    def height(self) -> int:
        return self.full_size[1] if self.full_size else int(self.pixels.shape[0])

    def rgb_at(self, x: int, y: int) -> tuple[int, int, int] | None:
        if 0 <= x < self.width and 0 <= y < self.height:
            h, w = self.pixels.shape[:2]  # a preview's pixels are fewer than the photo's
            row, col = min(h - 1, y * h // self.height), min(w - 1, x * w // self.width)
            r, g, b = (int(v) for v in self.pixels[row, col, :3])
            return r, g, b
        return None

    def level_for(self, scale: float) -> tuple[QImage, float]:
        """The smallest stored image still at least as detailed as the screen needs, and its size factor."""
        image, factor = self.image, self.image.width() / self.width
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


def make_preview(path) -> DisplayImage | None:
    """A reduced, upright display copy decoded quickly from a photo file (call from a worker thread), or None
    when the photo is small enough to show without one or cannot be previewed quickly (the full load then
    shows it, or says what is wrong with the file)."""
    import numpy as np
    from PIL import Image  # not core.imageio: its OpenCV import alone would take longer than the preview

    try:
        with Image.open(path) as im:
            width, height = im.size
            pixels = width * height
            jpeg = im.format == "JPEG"
            decoded = pixels // 64 if jpeg else pixels  # a JPEG decodes at 1/8 scale at most
            if pixels < PREVIEW_MIN_PIXELS or decoded > PREVIEW_MAX_DECODE_PIXELS or im.mode.startswith(("I", "F")):
                return None
            orientation = int(im.getexif().get(0x0112, 1))
            longest = max(width, height)
            if jpeg:  # the decoder scales by 1/2, 1/4 or 1/8 and keeps at least the size asked for
                im.draft("RGB", (max(1, width * PREVIEW_SIDE // longest), max(1, height * PREVIEW_SIDE // longest)))
            source = im if im.mode in ("L", "LA", "RGB", "RGBA") else im.convert("RGBA")
            factor = max(1, max(source.size) // PREVIEW_SIDE)
            reduced = source.reduce(factor) if factor > 1 else source.copy()
    except Exception:  # noqa: BLE001  no preview is no loss: the full load reports a bad file
        return None
    if orientation in _UPRIGHT:
        reduced = reduced.transpose(getattr(Image.Transpose, _UPRIGHT[orientation]))
        if orientation >= 5:
            width, height = height, width
    rgba = np.ascontiguousarray(np.asarray(reduced.convert("RGBA")))
    return DisplayImage(rgba, wrap_rgba8(rgba), full_size=(width, height))


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
