"""An all-255 mask was a silent no-op for inpainting: a full mask leaves no pixels to fill from. The core
check says so in words, and the classical engine refuses it with a typed error."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from core.engines.inpaint.classical import OpenCVInpaint
from core.engines.request import EngineRequest
from core.errors import RestoraError
from core.masks import (
    EMPTY_MASK_PROBLEM,
    FULL_MASK_PROBLEM,
    MaskError,
    check_fillable,
    describe_mask_problem,
    full_mask,
    load_mask,
)
from core.photo import Photo


def test_describe_mask_problem():
    mask = np.zeros((6, 5), np.uint8)
    assert describe_mask_problem(mask) == EMPTY_MASK_PROBLEM
    mask[2, 2] = 255
    assert describe_mask_problem(mask) is None and not full_mask(mask)
    mask[:] = 255
    assert full_mask(mask) and describe_mask_problem(mask) == FULL_MASK_PROBLEM
    assert describe_mask_problem(np.zeros((0, 0), np.uint8)) == EMPTY_MASK_PROBLEM
    assert "whole photo" in FULL_MASK_PROBLEM and "_" not in FULL_MASK_PROBLEM


def test_check_fillable_refuses_only_a_full_mask():
    check_fillable(np.zeros((3, 3), np.uint8))
    check_fillable(np.eye(3, dtype=np.uint8) * 255)
    with pytest.raises(MaskError, match="covers the whole photo"):
        check_fillable(np.full((3, 3), 255, np.uint8))


def test_a_full_mask_file_is_refused_by_the_classical_fill(tmp_path):
    path = tmp_path / "all.png"
    Image.fromarray(np.full((8, 9), 255, np.uint8)).save(path)
    mask = load_mask(path, (8, 9))
    photo = Photo(np.random.default_rng(0).random((8, 9, 3), dtype=np.float32))
    with pytest.raises(RestoraError, match="covers the whole photo"):
        OpenCVInpaint().run(EngineRequest(photo, mask=mask, regions=None, params={}))
    partial = mask.copy()
    partial[0] = 0
    assert OpenCVInpaint().run(EngineRequest(photo, mask=partial, regions=None, params={})).photo.rgb.shape == (8, 9, 3)
