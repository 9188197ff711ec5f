"""The vocabulary every layer shares: tasks, photo suffixes, checkpoint suffixes. Defined here only."""

from __future__ import annotations

TASKS = ("lowlight", "inpaint", "face", "general")
TASK_TITLES = {"lowlight": "Brighten a dark photo", "inpaint": "Fill / remove objects",
               "face": "Restore faces", "general": "General clean-up"}

# What Restora reads as photos (core.imageio decodes each of these).
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp")
# What the model store imports as weight files.
CHECKPOINT_SUFFIXES = (".pth", ".pt", ".ckpt", ".safetensors", ".bin")


def is_image_name(name: str) -> bool:
    return name.lower().endswith(IMAGE_SUFFIXES)


def is_checkpoint_name(name: str) -> bool:
    return name.lower().endswith(CHECKPOINT_SUFFIXES)
