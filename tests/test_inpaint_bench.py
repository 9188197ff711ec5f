"""The benchmark's synthetic object masks: `--masks N` blobs, each about 1.5% of the photo, apart."""

from __future__ import annotations

import cv2
import numpy as np

from core.benchmarks.masks import object_masks


def test_three_object_masks_each_cover_one_to_two_percent_of_the_photo():
    mask = object_masks(600, 800, 3)
    count, _labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    assert count - 1 == 3
    shares = stats[1:, 4] / mask.size
    assert np.all((shares > 0.01) & (shares < 0.02)), shares
    assert np.array_equal(mask, object_masks(600, 800, 3))  # seeded
    assert not object_masks(60, 80, 0).any()
    assert cv2.connectedComponentsWithStats(object_masks(600, 800, 6), connectivity=8)[0] - 1 == 6
