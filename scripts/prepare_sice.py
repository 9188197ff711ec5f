"""Split the SICE part-1 photos into the folders Restora's default low-light weights are trained on.

SICE numbers the exposures of one scene consecutively, so the held-out set is a contiguous block of ids
with a guard gap before it: no held-out scene has an exposure in training.

    python scripts/prepare_sice.py ../shared/data/sice-train /tmp/restora-data

makes (as symbolic links, nothing is copied):
    zero-ref-train/       ids 1..1580, every exposure (zero-reference training)
    well-exposed-train/   ids 1..1580 whose exposure is normal (synthetic pairs for supervised training)
    under-exposed-train/  ids 1..1580 darker than normal (zero-reference training of a brightening model)
    dark-train/           the under-exposed training photos as dark as dark-holdout's (choosing an engine's
                          settings for the real-photo targets on photos like the held-out ones)
    well-exposed-holdout/ ids 1601.. with normal exposure (synthetic pairs for evaluation)
    dark-holdout/         ids 1601.. that are underexposed (unpaired evaluation)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image

TRAIN_LAST_ID = 1580
HOLDOUT_FIRST_ID = 1601


def exposure_stats(path: Path) -> tuple[float, float, float]:
    """Mean luminance and shares of clipped highlights and shadows, on a 128 px thumbnail."""
    with Image.open(path) as im:
        im.draft("RGB", (128, 128))
        rgb = np.asarray(im.convert("RGB").resize((128, 128)), np.float32) / 255.0
    peak = rgb.max(axis=2)
    return float(rgb.mean()), float((peak > 0.98).mean()), float((peak < 0.02).mean())


WELL_EXPOSED_MEAN = (0.3, 0.65)
DARK_MEAN = 0.2  # dark-holdout and dark-train: mean below this


def is_well_exposed(stats: tuple[float, float, float]) -> bool:
    mean, highlights, shadows = stats
    return WELL_EXPOSED_MEAN[0] < mean < WELL_EXPOSED_MEAN[1] and highlights < 0.05 and shadows < 0.05


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", type=Path)
    parser.add_argument("out", type=Path)
    args = parser.parse_args(argv)
    photos = sorted((p for p in args.source.glob("*.jpg") if p.stem.isdigit()), key=lambda p: int(p.stem))
    if not photos:
        print(f"no numbered .jpg photos in {args.source}", file=sys.stderr)
        return 1
    folders = {name: args.out / name for name in
               ("zero-ref-train", "well-exposed-train", "under-exposed-train", "dark-train", "well-exposed-holdout",
                "dark-holdout")}
    for folder in folders.values():
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.iterdir():
            old.unlink()
    counts = dict.fromkeys(folders, 0)
    for photo in photos:
        ident = int(photo.stem)
        stats = exposure_stats(photo)
        targets = []
        if ident <= TRAIN_LAST_ID:
            targets.append("zero-ref-train")
            if is_well_exposed(stats):
                targets.append("well-exposed-train")
            elif stats[0] <= WELL_EXPOSED_MEAN[0]:
                targets.append("under-exposed-train")
                if stats[0] < DARK_MEAN:
                    targets.append("dark-train")
        elif ident >= HOLDOUT_FIRST_ID:
            if is_well_exposed(stats):
                targets.append("well-exposed-holdout")
            elif stats[0] < DARK_MEAN:
                targets.append("dark-holdout")
        for name in targets:
            (folders[name] / photo.name).symlink_to(photo.resolve())
            counts[name] += 1
    for name, count in counts.items():
        print(f"{name:22} {count:5d} photos")
    return 0


if __name__ == "__main__":
    sys.exit(main())
