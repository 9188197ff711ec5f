"""The one-click low-light default: the exposure floor over the learned gamma, the denoising step, the noise
measures of the evaluation, and the default marked in `restora engines`."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import main
from core.archs.gamma_net import apply_gamma_contrast_numpy
from core.engines.lowlight.auto import (
    CLIP_BUDGET,
    GAIN_CEILING,
    KNEE,
    MIN_EXPOSURE,
    SHADOW_CAP,
    TOE_END,
    AutoLowLight,
    gain_for_exposure,
    gamma_for_exposure,
    highlight_cap,
    newly_clipped,
    shoulder,
    tone,
    tone_table,
)
from core.engines.lowlight.bands import apply_table
from core.engines.lowlight.common import LUMA, mean_luminance
from core.engines.lowlight.denoise import denoise
from core.engines.lowlight.learned import GammaNetEngine
from core.engines.request import EngineRequest
from core.errors import CancelledError
from core.evaluation.lowlight import paired_noise, unpaired_noise
from core.jobs import CancelToken
from core.photo import Photo


def _scene(h: int = 128, w: int = 160) -> np.ndarray:
    """Flat regions of different brightness with sharp edges between them."""
    img = np.zeros((h, w, 3), np.float32)
    img[:, : w // 2] = (0.30, 0.25, 0.20)
    img[:, w // 2:] = (0.70, 0.72, 0.75)
    img[h // 3: 2 * h // 3, w // 4: 3 * w // 4] = (0.10, 0.12, 0.30)
    return img


def _noisy(img: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    return np.clip(img + rng.normal(0, sigma, img.shape), 0, 1).astype(np.float32)


def test_denoise_removes_noise_but_keeps_edges(rng):
    clean = _scene()
    noisy = _noisy(clean, 0.04, rng)
    out = denoise(noisy, 1.0)
    assert out.dtype == np.float32 and out.shape == clean.shape
    err_before = float(np.sqrt(((noisy - clean) ** 2).mean()))
    err_after = float(np.sqrt(((out - clean) ** 2).mean()))
    assert err_after < 0.5 * err_before
    # The edge between the halves stays a step, not a ramp: the columns next to it keep their levels.
    h, w = clean.shape[:2]
    rows = slice(0, h // 3 - 4)  # above the middle rectangle
    assert abs(float(out[rows, w // 2 - 3, 0].mean()) - 0.30) < 0.03
    assert abs(float(out[rows, w // 2 + 3, 0].mean()) - 0.70) < 0.03


def test_denoise_strength_zero_is_identity_and_more_is_smoother(rng):
    noisy = _noisy(_scene(), 0.03, rng)
    assert np.array_equal(denoise(noisy, 0.0), noisy)
    flat = (slice(5, 35), slice(5, 60))  # inside the left half
    spread = [float(denoise(noisy, s)[flat].std()) for s in (0.3, 1.0, 2.0)]
    assert spread[0] > spread[1] > spread[2]


def test_denoise_leaves_a_clean_photo_nearly_alone():
    clean = _scene()
    out = denoise(clean, 1.0)
    assert float(np.abs(out - clean)[5:35, 5:70].max()) < 2e-3  # flat parts untouched
    # Full-size chroma comes from the half size: colour edges soften by a pixel, little overall.
    assert float(np.sqrt(((out - clean) ** 2).mean())) < 0.02


def test_denoise_checks_cancel(rng):
    token = CancelToken()
    token.cancel()
    with pytest.raises(CancelledError):
        denoise(_noisy(_scene(), 0.03, rng), 1.0, token)


def test_tone_table_matches_the_curve():
    x = np.linspace(0, 1, 5001, dtype=np.float32).reshape(-1, 1, 1).repeat(3, axis=2)
    table = tone_table(0.45, 1.6)
    assert float(np.abs(apply_table(x, table) - tone(x, 0.45, 1.6)).max()) < 1e-3


def test_the_curve_is_the_networks_above_its_toe_and_keeps_the_lowest_codes_together():
    x = np.linspace(0, 1, 4001, dtype=np.float32)
    curve, plain = tone(x, 0.3, 1.6), apply_gamma_contrast_numpy(x, (0.3, 1.6))
    above = x >= TOE_END
    assert np.array_equal(curve[above], plain[above]) and np.all(curve[~above] <= plain[~above])
    assert np.all(np.diff(curve) >= 0)  # still increasing, and continuous at the toe's end:
    end = float(apply_gamma_contrast_numpy(np.array([TOE_END], np.float32), (0.3, 1.6))[0])
    assert float(tone(np.array([TOE_END * 0.999], np.float32), 0.3, 1.6)[0]) == pytest.approx(end, rel=0.01)
    codes = tone(np.array([0, 1, 2], np.float32) / 255, 0.3, 1.6)
    steps = apply_gamma_contrast_numpy(np.array([0, 1, 2], np.float32) / 255, (0.3, 1.6))
    assert codes[2] - codes[0] < 0.4 * (steps[2] - steps[0])  # JPEG's 0/1/2 blocks are not lifted apart


def test_a_weak_lift_clips_no_black_code_to_zero():
    codes = np.arange(1, 4, dtype=np.float32) / 255.0
    for gamma, contrast in ((0.75, 1.4), (0.9, 1.7), (0.3, 1.2)):
        out = tone(codes, gamma, contrast)
        end = float(tone(np.array([TOE_END], np.float32), gamma, contrast)[0])
        assert np.all(out >= np.minimum(codes, end) - 1e-7)  # the toe never takes a code below itself
        assert np.all(np.diff(out) >= 0)


def _pale_sky(rng: np.random.Generator) -> np.ndarray:
    """A dark ground under a pale blue sky (a quarter of the frame) whose blue channel is 0.80-0.97."""
    thumb = np.clip(0.04 + rng.normal(0, 0.01, (96, 128, 3)), 0, 1).astype(np.float32)
    ramp = np.linspace(0.80, 0.97, 128, dtype=np.float32)
    thumb[:24] = np.stack([ramp * 0.75, ramp * 0.9, ramp], -1)[None]
    return thumb


def test_the_highlight_cap_stops_the_lift_before_a_pale_sky_turns_white(rng):
    thumb = _pale_sky(rng)
    assert newly_clipped(thumb, 0.7, 1.3) == 0.0  # the network's own curve keeps the sky
    assert newly_clipped(thumb, 0.3, 1.3, 1.8) > CLIP_BUDGET  # the full lift would whiten part of it
    gamma, gain = highlight_cap(thumb, 1.3, 0.7, 0.3, 1.8)
    assert 0.3 < gamma < 0.7 and 1.0 < gain < 1.8  # part of the way, both together
    assert CLIP_BUDGET - 0.01 < newly_clipped(thumb, gamma, 1.3, gain) <= CLIP_BUDGET
    assert highlight_cap(thumb, 1.3, 0.7, 0.6, 1.1) == (0.6, 1.1)  # a lift within the budget is kept


def test_gamma_for_exposure_reaches_the_target(rng):
    thumb = (rng.random((64, 64, 3)) * 0.15).astype(np.float32)
    gamma = gamma_for_exposure(thumb, 1.5, 0.4)
    reached = mean_luminance(tone(thumb, gamma, 1.5))
    assert abs(reached - 0.4) < 0.005


def test_the_gain_keeps_the_toe_and_white_and_rises_smoothly():
    x = np.linspace(0, 1, 20001, dtype=np.float32)
    plain = tone(x, 0.5, 1.5)
    for gain in (1.3, GAIN_CEILING):
        curve = tone(x, 0.5, 1.5, gain)
        assert np.all(np.diff(curve) >= 0) and float(np.abs(np.diff(curve)).max()) < 0.01  # no step
        assert float(curve[-1]) == pytest.approx(1.0, abs=1e-6)  # white stays white
        assert np.array_equal(curve[x < TOE_END], plain[x < TOE_END])  # the toe's codes stay where they were
        # Below the shoulder the gain scales what lies above the toe's end: black stays black.
        end = float(tone(np.array([TOE_END], np.float32), 0.5, 1.5)[0])
        middle = (x >= TOE_END) & (plain + (gain - 1) * (plain - end) < KNEE)
        np.testing.assert_allclose(curve[middle], plain[middle] + (gain - 1) * (plain[middle] - end), atol=1e-5)
    v = np.linspace(0, 2, 4001, dtype=np.float32)
    assert np.array_equal(shoulder(v, 1.0), v)  # no gain, no shoulder
    rolled = shoulder(v, 2.0)
    assert np.array_equal(rolled[v <= KNEE], v[v <= KNEE]) and float(rolled[-1]) == pytest.approx(1.0, abs=1e-6)
    assert np.all(np.diff(rolled) > 0)


def test_gain_for_exposure_reaches_the_target_or_stops_at_its_ceiling(rng):
    thumb = (rng.random((64, 64, 3)) * 0.3).astype(np.float32)
    gain = gain_for_exposure(thumb, 0.8, 1.2, 0.3)
    assert 1.0 < gain < GAIN_CEILING
    assert mean_luminance(tone(thumb, 0.8, 1.2, gain)) == pytest.approx(0.3, abs=0.003)
    assert gain_for_exposure(thumb * 0.01, 0.8, 1.2, 0.3) == GAIN_CEILING


def test_a_night_scene_the_cap_holds_back_gets_its_lights_brightened(rng):
    photo = np.full((96, 128, 3), 0.01, np.float32)  # a dark sky (above the toe) ...
    photo[60:80, 40:90] = (0.09, 0.08, 0.05)  # ... and a dimly lit front, 8 % of the frame
    photo = np.clip(photo + rng.normal(0, 0.002, photo.shape), 0, 1).astype(np.float32)
    engine = AutoLowLight(device="cpu")
    result = engine.run(EngineRequest(Photo(rgb=photo), params={"denoise": 0.0}))
    out = result.photo.rgb
    assert any("gain" in note for note in result.notes)
    no_gain = AutoLowLight(device="cpu")
    no_gain.curve = lambda rgb, floor, notes: AutoLowLight.curve(engine, rgb, floor, notes)[:2] + (1.0,)
    plain = no_gain.run(EngineRequest(Photo(rgb=photo), params={"denoise": 0.0})).photo.rgb
    lit = (slice(62, 78), slice(42, 88))
    assert float((out[lit] @ LUMA).mean()) > 1.2 * float((plain[lit] @ LUMA).mean())
    sky = out[:50] @ LUMA
    assert float(np.percentile(sky, 95)) <= SHADOW_CAP  # the sky is still night


def _dark(rng: np.random.Generator) -> Photo:
    y, x = np.mgrid[0:96, 0:128].astype(np.float32)
    base = np.dstack([x / 128, y / 96, (x + y) / 224]) * 0.06 + 0.07
    base[:, :16] = 0.012  # a deep shadow (8 % of the frame): the blacks the floor keeps dark
    return Photo(rgb=np.clip(base + rng.normal(0, 0.004, base.shape), 0, 1).astype(np.float32))


def test_the_floor_lifts_a_very_dark_photo_and_zero_is_the_network_alone(rng):
    photo = _dark(rng)
    engine = AutoLowLight(device="cpu")
    lifted = engine.run(EngineRequest(photo, params={"denoise": 0.0})).photo.rgb
    assert abs(mean_luminance(lifted) - MIN_EXPOSURE) < 0.02
    alone = engine.run(EngineRequest(photo, params={"denoise": 0.0, "min_exposure": 0.0})).photo.rgb
    net = GammaNetEngine(device="cpu").run(EngineRequest(photo, params={"denoise": 0.0})).photo.rgb
    assert mean_luminance(alone) < 0.3  # the network alone brightens this photo too little
    above = photo.rgb >= TOE_END  # below its toe the curve only darkens the network's
    assert float(np.abs(alone - net)[above].max()) < 2e-3 and np.all(alone[~above] <= net[~above] + 2e-3)


def test_a_night_scene_keeps_its_black_sky(rng):
    sky = np.full((96, 128, 3), 1.0 / 255.0, np.float32)
    sky[rng.random(sky.shape[:2]) < 0.3] = 2.0 / 255.0  # crushed JPEG blacks, one step apart
    sky[60:80, 40:90] = (0.55, 0.45, 0.3)  # a lit building
    out = AutoLowLight(device="cpu").run(EngineRequest(Photo(rgb=sky))).photo.rgb
    luma = out[:50] @ LUMA
    assert float(np.percentile(luma, 95)) <= SHADOW_CAP + 0.01  # the sky stays dark, no gray blotches
    assert float(luma.max() - luma.min()) < 0.05  # its two codes are not lifted apart into blocks


def test_the_default_denoises_what_it_lifts(rng):
    photo = _dark(rng)
    engine = AutoLowLight(device="cpu")
    raw = engine.run(EngineRequest(photo, params={"denoise": 0.0})).photo.rgb
    clean = engine.run(EngineRequest(photo)).photo.rgb
    assert unpaired_noise(photo.rgb, clean) < 0.7 * unpaired_noise(photo.rgb, raw)
    assert abs(mean_luminance(clean) - mean_luminance(raw)) < 0.01  # denoising keeps the brightness


def test_paired_noise_counts_noise_not_brightness(rng):
    reference = _scene()
    assert paired_noise(reference, reference) == pytest.approx(0.0, abs=1e-6)
    assert paired_noise(np.clip(reference + 0.05, 0, 1), reference) < 0.5  # an offset is not noise
    quiet = paired_noise(_noisy(reference, 0.01, rng), reference)
    loud = paired_noise(_noisy(reference, 0.04, rng), reference)
    assert 1.5 < quiet < 4.5 and loud > 3 * quiet


def test_unpaired_noise_rises_with_lifted_noise(rng):
    dark = _noisy(_scene() * 0.2, 0.004, rng)
    assert unpaired_noise(dark, np.clip(dark * 4, 0, 1)) > 3 * unpaired_noise(dark, dark)


def test_engines_command_marks_one_default_per_task(capsys):
    assert main.main(["engines"]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if line and not line.startswith(" ")]
    marked = [line.split()[0] for line in lines if "default" in line.split("  ")[-1]]
    assert "lowlight.auto" in marked and "inpaint.auto" in marked
    tasks = [m.split(".")[0] for m in marked]
    assert len(tasks) == len(set(tasks))  # one per task


@settings(max_examples=60, deadline=None)
@given(gamma=st.floats(0.15, 2.5), contrast=st.floats(0.5, 2.0), gain=st.floats(1.0, 2.2))
def test_every_curve_the_engine_can_pick_rises_from_black_to_white(gamma, contrast, gain):
    table = tone_table(gamma, contrast, gain)
    assert np.isfinite(table).all() and float(table.min()) >= 0.0 and float(table.max()) <= 1.0 + 1e-6
    assert float(table[0]) == 0.0 and float(table[-1]) == pytest.approx(1.0, abs=1e-5)
    assert np.all(np.diff(table) >= -1e-6)  # never darker for a brighter input
