"""Low-light engines on the inputs people actually have: gray, RGBA, 16-bit, already bright, all black."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from core.archs.gain_unet import GainUNet
from core.archs.gamma_net import GammaNet, apply_gamma_contrast_numpy
from core.archs.zero_dce import ZeroDCE
from core.archs.zero_dce_pp import ZeroDCEPP
from core.engines.lowlight import learned, lowlight_engines
from core.engines.lowlight.clahe import clahe
from core.engines.lowlight.classical import AutoGamma, ClaheLightness, Msrcr
from core.engines.lowlight.common import gray_world, limit_exposure, mean_luminance
from core.engines.lowlight.learned import (
    GainUNetEngine,
    GammaNetEngine,
    LearnedLowLightEngine,
    ZeroDCEEngine,
    ZeroDCEPPEngine,
)
from core.engines.lowlight.weights import MissingWeightsError, WeightsError
from core.engines.registry import EngineRegistry, register_all
from core.engines.request import EngineRequest
from core.errors import CancelledError
from core.jobs import CancelToken
from core.photo import Photo, PhotoMeta
from tests.test_lowlight_archs import random_official_state_dict

ENGINES = lowlight_engines()
NEWLY_CLIPPED_LIMIT = 0.02


def _save(net: torch.nn.Module, path: Path) -> Path:
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(path))
    return path


@pytest.fixture(scope="module")
def weights_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Seeded random weights for every learned engine, each last layer nudged so the engine brightens."""
    folder = tmp_path_factory.mktemp("lowlight-weights")
    torch.manual_seed(0)
    for net, cls in ((ZeroDCE(), ZeroDCEEngine), (ZeroDCEPP(), ZeroDCEPPEngine)):
        last = net.e_conv7 if cls is ZeroDCEEngine else net.e_conv7.point_conv
        with torch.no_grad():
            last.weight.mul_(0.2)
            last.bias.fill_(-0.7)  # negative maps brighten (the official sign)
        _save(net, folder / cls.weights_file)
    gain = GainUNet(base=4)
    with torch.no_grad():
        gain.head.bias.fill_(0.0)  # gain 2.25
    _save(gain, folder / GainUNetEngine.weights_file)
    gamma = GammaNet(features=4)
    with torch.no_grad():
        gamma.head[-1].bias.fill_(-0.8)  # gamma about 0.6, contrast about 0.9
    _save(gamma, folder / GammaNetEngine.weights_file)
    return folder


def make(cls, weights_dir: Path, **kw):
    if issubclass(cls, LearnedLowLightEngine):
        return cls(device="cpu", weights=weights_dir / cls.weights_file, **kw)
    return cls(device="cpu")


def dark_photo(rng: np.random.Generator, h: int = 24, w: int = 32) -> np.ndarray:
    base = cv2.GaussianBlur(rng.random((h, w, 3)).astype(np.float32), (0, 0), 2.0)
    return np.clip(base * 0.25, 0.0, 1.0).astype(np.float32)


def test_every_engine_registers_with_a_unique_lowlight_id():
    registry = register_all(EngineRegistry(), ENGINES)
    assert len(registry) == len(ENGINES) == 8
    assert all(e.task == "lowlight" and e.id.startswith("lowlight.") for e in ENGINES)
    assert all(any(p.name == "white_balance" for p in e.params) for e in ENGINES)


@pytest.mark.parametrize("cls", ENGINES, ids=lambda c: c.id)
def test_gray_photo_stays_gray(cls, weights_dir, rng):
    gray = dark_photo(rng)[:, :, :1]
    photo = Photo(rgb=np.repeat(gray, 3, axis=2), meta=PhotoMeta(grayscale=True))
    out = make(cls, weights_dir).run(EngineRequest(photo, params={"white_balance": True})).photo
    assert out.rgb.dtype == np.float32 and out.rgb.shape == photo.rgb.shape
    assert np.array_equal(out.rgb[:, :, 0], out.rgb[:, :, 1]) and np.array_equal(out.rgb[:, :, 1], out.rgb[:, :, 2])
    assert out.meta.grayscale


@pytest.mark.parametrize("cls", ENGINES, ids=lambda c: c.id)
def test_alpha_and_metadata_pass_through_untouched(cls, weights_dir, rng):
    rgb = dark_photo(rng)
    alpha = rng.random(rgb.shape[:2]).astype(np.float32)
    meta = PhotoMeta(bit_depth=8, icc_profile=b"icc", exif=b"exif")
    out = make(cls, weights_dir).run(EngineRequest(Photo(rgb=rgb, alpha=alpha.copy(), meta=meta))).photo
    assert out.alpha is not None and np.array_equal(out.alpha, alpha)
    assert out.meta == meta
    assert np.isfinite(out.rgb).all() and out.rgb.min() >= 0.0 and out.rgb.max() <= 1.0


@pytest.mark.parametrize("cls", ENGINES, ids=lambda c: c.id)
def test_sixteen_bit_precision_survives_the_curve(cls, weights_dir):
    # A smooth dark 16-bit ramp: 2,000 distinct levels that 8 bits would squash into 8.
    levels = np.arange(2000, dtype=np.float32) / 65535.0
    ramp = np.tile(levels.reshape(40, 50)[:, :, None], (1, 1, 3))
    ramp[:, :, 2] *= 0.9
    photo = Photo(rgb=np.ascontiguousarray(ramp), meta=PhotoMeta(bit_depth=16))
    out = make(cls, weights_dir).run(EngineRequest(photo)).photo.rgb
    assert np.unique(out[:, :, 1]).size > 256


@pytest.mark.parametrize("cls", ENGINES, ids=lambda c: c.id)
def test_bright_photo_is_not_blown_out(cls, weights_dir, rng):
    bright = np.clip(0.7 + 0.25 * cv2.GaussianBlur(rng.random((24, 32, 3)).astype(np.float32), (0, 0), 2.0) * 2
                     - 0.25, 0.0, 0.97).astype(np.float32)
    out = make(cls, weights_dir).run(EngineRequest(Photo(rgb=bright))).photo.rgb
    newly = ((out >= 254.5 / 255).any(axis=2) & ~(bright >= 254.5 / 255).any(axis=2)).mean()
    assert newly <= NEWLY_CLIPPED_LIMIT, f"{cls.id} clipped {newly:.1%} of a bright photo"


@pytest.mark.parametrize("cls", ENGINES, ids=lambda c: c.id)
def test_all_black_frame_gives_black_without_nan(cls, weights_dir):
    black = Photo(rgb=np.zeros((16, 20, 3), np.float32))
    out = make(cls, weights_dir).run(EngineRequest(black)).photo.rgb
    assert np.isfinite(out).all() and out.min() >= 0.0 and out.max() <= 1.0
    assert out.max() < 0.05


@pytest.mark.parametrize("cls", ENGINES, ids=lambda c: c.id)
def test_dark_photo_gets_brighter(cls, weights_dir, rng):
    rgb = dark_photo(rng)
    out = make(cls, weights_dir).run(EngineRequest(Photo(rgb=rgb))).photo.rgb
    assert mean_luminance(out) > mean_luminance(rgb) + 0.02


def test_learned_engine_without_weights_says_where_it_looked(tmp_path):
    missing = tmp_path / "nowhere" / "zero_dce_pp.safetensors"
    with pytest.raises(MissingWeightsError, match="nowhere"):
        ZeroDCEPPEngine(device="cpu", weights=missing).run(EngineRequest(Photo(rgb=np.zeros((8, 8, 3), np.float32))))
    engine = ZeroDCEPPEngine(device="cpu")
    assert engine.weights_path.name == "zero_dce_pp.safetensors"
    assert engine.weights_path.parent.name == "weights" and engine.weights_path.parent.parent.name == "resources"


def test_learned_engine_rejects_weights_of_another_network(weights_dir):
    wrong = ZeroDCEEngine(device="cpu", weights=weights_dir / ZeroDCEPPEngine.weights_file)
    with pytest.raises(WeightsError, match="Zero-DCE"):
        wrong.run(EngineRequest(Photo(rgb=np.zeros((8, 8, 3), np.float32))))


def test_engines_read_the_official_pth_files(tmp_path, rng):
    for name, cls in (("zero_dce", ZeroDCEEngine), ("zero_dce_pp", ZeroDCEPPEngine)):
        path = tmp_path / f"{name}-Epoch99.pth"
        torch.save(random_official_state_dict(name), path)
        out = cls(device="cpu", weights=path).run(EngineRequest(Photo(rgb=dark_photo(rng)))).photo.rgb
        assert np.isfinite(out).all()


def _reference(net: torch.nn.Module, rgb: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        out = net(torch.from_numpy(rgb).permute(2, 0, 1)[None])[0]
    return out.clamp(0, 1)[0].permute(1, 2, 0).numpy()


NO_GUARD = {"max_brightness": 1.0, "denoise": 0.0}  # the bare network, to compare with references


def test_zero_dce_pp_engine_equals_the_network_on_small_photos(weights_dir, rng):
    rgb = dark_photo(rng, 30, 44)
    engine = make(ZeroDCEPPEngine, weights_dir)
    out = engine.run(EngineRequest(Photo(rgb=rgb), params=NO_GUARD)).photo.rgb
    net = engine.network().float()
    net.scale_factor = 1  # the engine estimates the curve on its own copy (here the photo itself): no downscaling
    np.testing.assert_allclose(out, _reference(net, rgb), atol=1e-5)


def test_zero_dce_pp_banded_and_tensor_paths_agree_when_upsampling(weights_dir, rng):
    rgb = dark_photo(rng, 90, 130)
    params = dict(NO_GUARD, curve_resolution=64)
    banded = make(ZeroDCEPPEngine, weights_dir)
    whole = make(ZeroDCEPPEngine, weights_dir)
    whole.applies_in_bands = lambda: False  # the GPU path, run on the CPU
    a = banded.run(EngineRequest(Photo(rgb=rgb), params=params)).photo.rgb
    b = whole.run(EngineRequest(Photo(rgb=rgb), params=params)).photo.rgb
    np.testing.assert_allclose(a, b, atol=1e-5)


def test_zero_dce_full_resolution_tiles_match_one_pass(weights_dir, rng, monkeypatch):
    monkeypatch.setattr(learned, "CPU_TILE", 32)  # many tiles on a small photo
    rgb = dark_photo(rng, 70, 90)
    engine = make(ZeroDCEEngine, weights_dir)
    ticks: list[tuple[int, int]] = []
    out = engine.run(EngineRequest(Photo(rgb=rgb), params=NO_GUARD,
                                   progress=lambda d, t, m="": ticks.append((d, t)))).photo.rgb
    np.testing.assert_allclose(out, _reference(engine.network(), rgb), atol=1e-5)
    assert len(ticks) >= 4 and ticks[-1][0] == ticks[-1][1]  # it really ran in tiles


def test_zero_dce_fast_mode_agrees_with_full_resolution(weights_dir, rng):
    rgb = dark_photo(rng, 40, 52)
    engine = make(ZeroDCEEngine, weights_dir)
    full = engine.run(EngineRequest(Photo(rgb=rgb), params=NO_GUARD)).photo.rgb
    fast = engine.run(EngineRequest(Photo(rgb=rgb), params=dict(NO_GUARD, full_resolution=False))).photo.rgb
    np.testing.assert_allclose(fast, full, atol=1e-5)  # the photo is under the fast size: same curves
    whole = make(ZeroDCEEngine, weights_dir)
    whole.applies_in_bands = lambda: False
    big = dark_photo(rng, 60, 80)
    whole.fast_resolution = engine.fast_resolution = 32
    a = engine.run(EngineRequest(Photo(rgb=big), params=dict(NO_GUARD, full_resolution=False))).photo.rgb
    b = whole.run(EngineRequest(Photo(rgb=big), params=dict(NO_GUARD, full_resolution=False))).photo.rgb
    np.testing.assert_allclose(a, b, atol=1e-5)


def test_gain_unet_engine_applies_the_predicted_gain(weights_dir, rng):
    rgb = dark_photo(rng, 30, 40)
    engine = make(GainUNetEngine, weights_dir)
    out = engine.run(EngineRequest(Photo(rgb=rgb), params=NO_GUARD)).photo.rgb
    net = engine.network().float()
    net.scale_factor = 1  # the engine estimates the curve on its own copy (here the photo itself): no downscaling
    np.testing.assert_allclose(out, _reference(net, rgb), atol=1e-5)
    whole = make(GainUNetEngine, weights_dir)
    whole.applies_in_bands = lambda: False
    big = dark_photo(rng, 70, 100)
    params = dict(NO_GUARD, resolution=64)
    np.testing.assert_allclose(engine.run(EngineRequest(Photo(rgb=big), params=params)).photo.rgb,
                               whole.run(EngineRequest(Photo(rgb=big), params=params)).photo.rgb, atol=1e-5)


def test_gamma_net_engine_applies_its_prediction(weights_dir, rng):
    rgb = dark_photo(rng, 30, 40)
    engine = make(GammaNetEngine, weights_dir)
    gamma, contrast = engine.predict(rgb)
    assert 0.2 <= gamma < 1.0
    out = engine.run(EngineRequest(Photo(rgb=rgb), params=NO_GUARD))
    # The curve is applied at 16-bit steps (a lookup table): within 1e-4 of the exact power here.
    np.testing.assert_allclose(out.photo.rgb, apply_gamma_contrast_numpy(rgb, (gamma, contrast)), atol=1e-4)
    eight_bit = (np.round(rgb * 255) / 255).astype(np.float32)  # on the table's grid: exact
    exact = engine.run(EngineRequest(Photo(rgb=eight_bit), params=NO_GUARD)).photo.rgb
    np.testing.assert_allclose(exact, apply_gamma_contrast_numpy(eight_bit, (gamma, contrast)), atol=1e-6)
    assert any("Gamma" in n for n in out.notes)


def test_strength_zero_returns_the_input(weights_dir, rng):
    rgb = dark_photo(rng)
    for cls in (ZeroDCEPPEngine, GainUNetEngine, GammaNetEngine):
        out = make(cls, weights_dir).run(EngineRequest(Photo(rgb=rgb), params={"strength": 0.0})).photo.rgb
        np.testing.assert_array_equal(out, rgb)


def test_cancel_stops_a_tiled_run(weights_dir, rng, monkeypatch):
    monkeypatch.setattr(learned, "CPU_TILE", 32)
    token = CancelToken()
    engine = make(ZeroDCEEngine, weights_dir)
    with pytest.raises(CancelledError):
        engine.run(EngineRequest(Photo(rgb=dark_photo(rng, 70, 90)), cancel=token,
                                 progress=lambda d, t, m="": token.cancel()))


def test_auto_gamma_reaches_its_target_and_leaves_bright_photos(rng):
    rgb = dark_photo(rng)
    out = AutoGamma().run(EngineRequest(Photo(rgb=rgb), params={"target": 0.4})).photo.rgb
    assert mean_luminance(out) == pytest.approx(0.4, abs=0.02)
    bright = np.full((8, 8, 3), 0.8, np.float32)
    result = AutoGamma().run(EngineRequest(Photo(rgb=bright)))
    np.testing.assert_array_equal(result.photo.rgb, bright)
    assert any("unchanged" in n for n in result.notes)
    darker = AutoGamma().run(EngineRequest(Photo(rgb=bright), params={"brighten_only": False})).photo.rgb
    assert mean_luminance(darker) < 0.8


def test_float_clahe_matches_opencv_on_8_bit_data(rng):
    img = (cv2.GaussianBlur(rng.random((96, 128)).astype(np.float32), (0, 0), 4) * 3 * 255).clip(0, 255)
    img = img.astype(np.uint8)
    ours = clahe(img / 255.0, 2.0, (4, 4)) * 255.0
    theirs = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(4, 4)).apply(img).astype(np.float32)
    assert np.abs(ours - theirs).mean() < 1.0


def test_clahe_engine_changes_lightness_but_keeps_hue(rng):
    rgb = dark_photo(rng, 48, 64)
    out = ClaheLightness().run(EngineRequest(Photo(rgb=rgb))).photo.rgb
    assert mean_luminance(out) > mean_luminance(rgb)
    hue_in = cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV)[:, :, 0]
    hue_out = cv2.cvtColor(out, cv2.COLOR_RGB2HSV)[:, :, 0]
    saturated = cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV)[:, :, 1] > 0.3
    diff = np.abs(hue_in - hue_out)[saturated]
    assert np.median(np.minimum(diff, 360 - diff)) < 10.0


def test_msrcr_on_a_flat_photo_changes_nothing():
    flat = Photo(rgb=np.full((12, 12, 3), 0.2, np.float32))
    result = Msrcr().run(EngineRequest(flat))
    np.testing.assert_array_equal(result.photo.rgb, flat.rgb)
    assert result.notes


def test_gray_world_removes_a_colour_cast(rng):
    rgb = dark_photo(rng) * np.array([0.6, 0.9, 1.4], np.float32) + 0.1
    balanced = gray_world(np.clip(rgb, 0, 1).astype(np.float32))
    means = balanced.reshape(-1, 3).mean(axis=0)
    assert means.max() - means.min() < 0.01
    assert mean_luminance(balanced) == pytest.approx(mean_luminance(np.clip(rgb, 0, 1)), abs=0.01)


def test_exposure_guard_tones_down_only_what_overshoots():
    before = np.full((4, 4, 3), 0.2, np.float32)
    after = np.full((4, 4, 3), 0.9, np.float32)
    guarded, acted = limit_exposure(before, after, 0.6)
    assert acted and mean_luminance(guarded) == pytest.approx(0.6, abs=1e-4)
    same, acted = limit_exposure(before, np.full((4, 4, 3), 0.5, np.float32), 0.6)
    assert not acted and float(same.mean()) == pytest.approx(0.5)


LONG_STEP_GAPS: dict = {}  # engines with a known long step and no cancel check in it (none since gamma_net bands)


class CountingToken(CancelToken):
    """Counts its checks; cancels itself on check number `fire_at` (never when None)."""

    def __init__(self, fire_at: int | None = None) -> None:
        super().__init__()
        self.checks = 0
        self.fire_at = fire_at

    def raise_if_cancelled(self) -> None:
        self.checks += 1  # (the banded steps check from two threads: an approximate count is enough)
        if self.fire_at is not None and self.checks >= self.fire_at:
            self.cancel()
        super().raise_if_cancelled()


@pytest.fixture
def one_row_bands(monkeypatch):
    """Every banded step works one row at a time and checks the token before each band. Long steps then
    show up as many checks on a small photo."""
    from core.engines.lowlight import bands, classical, denoise, retinex
    from core.engines.lowlight import clahe as clahe_module

    monkeypatch.setattr(bands, "CHECK_ELEMENTS", 1)
    monkeypatch.setattr(bands, "BAND_ELEMENTS", 1)
    monkeypatch.setattr(classical, "BAND_VALUES", 1)
    monkeypatch.setattr(clahe_module, "BAND_VALUES", 1)
    monkeypatch.setattr(retinex, "PIXEL_BAND", 1)
    monkeypatch.setattr(bands, "TABLE_BAND", 1)
    monkeypatch.setattr(denoise, "FULL_BAND", 1)


@pytest.mark.parametrize("cls", ENGINES, ids=lambda c: c.id)
def test_cancel_from_progress_stops_every_engine(cls, weights_dir, rng, monkeypatch):
    monkeypatch.setattr(learned, "CPU_TILE", 32)
    rgb = dark_photo(rng, 70, 90)
    photo = Photo(rgb=rgb.copy())
    token = CancelToken()
    reports = []

    def progress(done, total, message=""):
        reports.append((done, total))
        token.cancel()  # as the desktop's Cancel button would, from the first report on

    result = None
    with pytest.raises(CancelledError):
        result = make(cls, weights_dir).run(EngineRequest(photo, cancel=token, progress=progress))
    assert result is None and reports
    if cls not in LONG_STEP_GAPS:
        assert not any(total > 0 and done >= total for done, total in reports), "ran to the end before stopping"
    np.testing.assert_array_equal(photo.rgb, rgb)  # the photo is untouched


@pytest.mark.parametrize("cls", [pytest.param(c, marks=pytest.mark.xfail(reason=LONG_STEP_GAPS[c], strict=True))
                                 if c in LONG_STEP_GAPS else c for c in ENGINES], ids=lambda c: c.id)
def test_long_steps_check_cancel_band_by_band_and_stop_midway(cls, weights_dir, rng, one_row_bands):
    # Full-resolution Zero-DCE checks once per tile (core.tiling; test_cancel_stops_a_tiled_run): its
    # banded path is the fast mode's.
    params = {"full_resolution": False} if cls is ZeroDCEEngine else {}
    rgb = dark_photo(rng, 64, 96)
    counting = CountingToken()
    make(cls, weights_dir).run(EngineRequest(Photo(rgb=rgb), params=params, cancel=counting))
    # Engine.run checks twice and the base class once: the rest come from inside the whole-image steps,
    # at least one per band of rows (64 rows here).
    assert counting.checks >= 32, f"{cls.id} checked its token only {counting.checks} times"
    # A cancel landing halfway through stops the run there: an error, no result.
    halfway = CountingToken(fire_at=counting.checks // 2)
    result = None
    with pytest.raises(CancelledError):
        result = make(cls, weights_dir).run(EngineRequest(Photo(rgb=rgb), params=params, cancel=halfway))
    assert result is None and halfway.checks < counting.checks


def _night_scene(tmp_path: Path, rng: np.random.Generator) -> tuple[np.ndarray, tuple[slice, slice]]:
    """A dark gradient sky with sensor-like noise, a few stars, lit windows in a dark building, saved as an
    8-bit JPEG and read back (so it carries JPEG's blocks); and the star-free sky region."""
    from core.imageio import load_photo, save_photo

    h, w = 192, 256
    y = np.linspace(0.0, 1.0, h, dtype=np.float32)[:, None, None]
    rgb = np.broadcast_to((0.012 + 0.03 * y ** 2) * np.array([0.8, 0.9, 1.25], np.float32), (h, w, 3)).copy()
    for sy, sx in zip(rng.integers(60, 110, 12), rng.integers(0, w, 12)):  # stars below the measured sky
        rgb[sy, sx] = rng.uniform(0.4, 1.0)
    rgb[130:, 40:200] = 0.01  # a building
    for wy in range(140, 185, 15):
        for wx in range(50, 190, 20):
            rgb[wy:wy + 6, wx:wx + 5] = np.array([0.9, 0.7, 0.4], np.float32)  # lit windows
    rgb += rng.normal(0.0, 1.5 / 255, rgb.shape).astype(np.float32)
    path = save_photo(Photo(rgb=np.clip(rgb, 0.0, 1.0).astype(np.float32)), tmp_path / "night.jpg", quality=85)
    return load_photo(path).rgb, (slice(4, 56), slice(4, 252))


def _textbook_msrcr(rgb: np.ndarray, clip_percent: float = 1.0) -> np.ndarray:
    """The plain published algorithm (log(I + 1/255), direct Gaussian surrounds, hard percentile clip)."""
    image = rgb + np.float32(1.0 / 255)
    long_side = max(rgb.shape[:2])
    retinex = sum(np.log(image) - np.log(cv2.GaussianBlur(image, (0, 0), share * long_side))
                  for share in (0.015, 0.08, 0.25)) / 3.0
    retinex *= 46.0 * (np.log(125.0 * image) - np.log(image.sum(axis=2, keepdims=True)))
    low = np.percentile(retinex.min(axis=2), clip_percent)
    high = np.percentile(retinex.max(axis=2), 100 - clip_percent)
    return np.clip((retinex - low) / (high - low), 0.0, 1.0).astype(np.float32)


def _high_frequency(image: np.ndarray) -> float:
    """Mean absolute difference from a Gaussian-smoothed copy: noise and blocks, not gradients."""
    gray = image.mean(axis=2)
    return float(np.abs(gray - cv2.GaussianBlur(gray, (0, 0), 2.0)).mean())


def test_msrcr_keeps_a_dark_jpeg_sky_smooth(tmp_path, rng):
    rgb, sky = _night_scene(tmp_path, rng)
    ours = Msrcr().run(EngineRequest(Photo(rgb=rgb))).photo.rgb
    textbook = _textbook_msrcr(rgb)
    # The sky's noise and JPEG blocks: the textbook version amplifies them far beyond the input's; ours
    # keeps them to a fraction of that (measured: input 0.0011, textbook 0.015, ours 0.003).
    assert _high_frequency(textbook[sky]) > 8 * _high_frequency(rgb[sky])
    assert _high_frequency(ours[sky]) < 0.4 * _high_frequency(textbook[sky])
    # ... while the photo is still brightened and its lit windows and stars still stand out.
    assert mean_luminance(ours) > mean_luminance(rgb) + 0.15
    windows = ours[140:146, 50:55].mean()
    assert windows > ours[sky].mean() + 0.2


def test_msrcr_keeps_its_look_on_a_well_lit_photo(rng):
    h, w = 192, 256
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    rgb = np.stack([0.5 + 0.3 * np.sin(x / 23.0) * np.cos(y / 31.0), 0.45 + 0.25 * np.cos(x / 17.0 + y / 40.0),
                    0.4 + 0.2 * np.sin((x + y) / 29.0)], axis=2)
    rgb += cv2.GaussianBlur(rng.normal(0, 0.04, (h, w, 3)).astype(np.float32), (0, 0), 1.0)
    rgb = np.clip(rgb, 0.0, 1.0).astype(np.float32)
    ours = Msrcr().run(EngineRequest(Photo(rgb=rgb), params={"denoise": 0.0})).photo.rgb
    assert np.abs(ours - _textbook_msrcr(rgb)).mean() < 0.01  # measured 0.0015
