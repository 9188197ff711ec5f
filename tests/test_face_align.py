"""Face alignment: templates, landmarks onto the template at any face size, 3-point and box-only faces, and
the round trip (align, warp back) drifting less than a pixel."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from core.engines.face.align import TEMPLATES, alignment, box_landmarks, eyes_to_five, template, three_point
from core.engines.face.paste import face_mask
from core.regions import Region, apply, paste_back, warp_in
from tests.test_face_support import photo_with_faces


def test_templates_are_the_official_points_scaled_to_the_model_size():
    assert np.allclose(template("ffhq", 512)[0], (192.98138, 239.94708))
    assert np.allclose(template("ffhq", 512)[4], (313.08905, 371.15118))
    assert np.allclose(template("gpen", 256), TEMPLATES["gpen"] / 2)
    assert np.allclose(template("gpen", 1024), TEMPLATES["gpen"] * 2)
    mid = three_point(template("ffhq", 512))
    assert np.allclose(mid[2], ((201.26117 + 313.08905) / 2, (371.41043 + 371.15118) / 2))


@pytest.mark.parametrize("side", [40, 180, 1100])
def test_a_face_of_any_size_lands_on_the_template(side: int):
    """Landmarks that are the template scaled, turned and moved fit it exactly, whatever the face's size."""
    theta = np.deg2rad(17)
    R = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]]) * side / 300
    points = TEMPLATES["ffhq"] @ R.T + (321.0, 123.0)
    region = Region((0.0, 0.0, 4000.0, 4000.0), tuple(map(tuple, points)))
    for name, size in (("ffhq", 512), ("gpen", 256)):
        M, how = alignment(region, name, size)
        got = apply(M, points)
        if name == "ffhq":
            assert how == "landmarks" and np.abs(got - template(name, size)).max() < 1e-6
        else:  # another template: the best similarity, eyes and mouth where GPEN wants them (within a few px)
            assert np.abs(got - template(name, size)).max() < 0.05 * size


def test_three_landmarks_map_to_the_eyes_and_the_mouth_centre():
    five = TEMPLATES["ffhq"] * 0.5 + (100.0, 50.0)
    region = Region((100.0, 50.0, 256.0, 256.0), tuple(map(tuple, three_point(five))))
    M, how = alignment(region, "ffhq", 512)
    assert how == "landmarks"
    assert np.abs(apply(M, three_point(five)) - three_point(template("ffhq", 512))).max() < 1e-6


def test_eyes_alone_give_five_points_in_the_template_proportions():
    five = eyes_to_five((10.0, 20.0), (40.0, 20.0))
    M = cv2.estimateAffinePartial2D(TEMPLATES["ffhq"].astype(np.float32), five.astype(np.float32))[0]
    assert np.abs(TEMPLATES["ffhq"] @ M[:, :2].T + M[:, 2] - five).max() < 1e-3


def test_a_box_without_landmarks_and_a_box_moved_off_its_landmarks_align_by_the_box():
    box = (50.0, 60.0, 100.0, 100.0)
    M, how = alignment(Region(box), "ffhq", 512)
    assert how == "box"
    assert np.abs(apply(M, box_landmarks(box)) - template("ffhq", 512)).max() < 30  # a face-shaped fit
    far = tuple((x + 900.0, y) for x, y in box_landmarks(box))
    M2, how2 = alignment(Region(box, far), "ffhq", 512)
    assert how2 == "box" and np.allclose(M, M2)


def test_align_and_warp_back_drifts_less_than_a_pixel():
    image, truth = photo_with_faces(400, 360, [(110.0, 90.0, 180)], seed=3, angle=9.0)
    face = truth[0]
    M, _ = alignment(Region(face.box, face.landmarks), "ffhq", 512)
    crop = warp_in(image, M, 512)
    back, box = paste_back(np.zeros_like(image), crop, M, feather=0.0, weight=face_mask(512, "ffhq"))
    x, y, w, h = box
    inner = (slice(y + h // 4, y + 3 * h // 4), slice(x + w // 4, x + 3 * w // 4))
    a = cv2.cvtColor(image[inner], cv2.COLOR_RGB2GRAY).astype(np.float64)
    b = cv2.cvtColor(back[inner], cv2.COLOR_RGB2GRAY).astype(np.float64)
    (dx, dy), _ = cv2.phaseCorrelate(a, b, cv2.createHanningWindow(a.shape[::-1], cv2.CV_64F))
    assert np.hypot(dx, dy) < 1.0
    assert np.abs(a - b).mean() < 0.02  # and the pixels themselves come back
    eyes = apply(M, np.asarray(face.landmarks[:2]))
    assert np.abs(eyes - template("ffhq", 512)[:2]).max() < 12  # the drawn face's eyes sit on the template's
