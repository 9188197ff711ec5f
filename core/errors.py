"""Typed errors whose messages a person can act on."""

from __future__ import annotations


class RestoraError(Exception):
    """Base of every error Restora raises on purpose."""


class ImageError(RestoraError):
    """A photo could not be read or written."""


class ImageNotFoundError(ImageError, FileNotFoundError):
    pass


class NotAFileError(ImageError):
    pass


class ImagePermissionError(ImageError, PermissionError):
    pass


class EmptyImageError(ImageError):
    pass


class UnsupportedFormatError(ImageError):
    pass


class CorruptImageError(ImageError):
    pass


class ImageTooLargeError(ImageError):
    pass


class OverwriteRefusedError(ImageError):
    pass


class FileWriteError(RestoraError, OSError):
    """A file could not be written; whatever was at its place is unchanged (core.fileio)."""


class DiskFullError(FileWriteError, ImageError):
    pass


class WritePermissionError(FileWriteError, ImagePermissionError):
    pass


class ImageWriteError(FileWriteError, ImageError):
    pass


class ValueRangeError(RestoraError):
    """A tensor's values contradict the value range its model declared."""


class CancelledError(RestoraError):
    """The user cancelled the job."""


class CheckpointError(RestoraError):
    """A weight file cannot be read as a state dict."""
