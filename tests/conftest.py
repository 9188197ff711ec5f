"""Shared test set-up: offscreen Qt, CPU only, and a throwaway RESTORA_HOME for every test."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("RESTORA_DEVICE", "cpu")

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

# Hypothesis profiles (HYPOTHESIS_PROFILE=long for the longer fuzz run, see README "Fuzz tests"). Every fuzz
# example has a deadline, so a decoder that hangs fails the test; the fuzz corpus in tests/data/fuzz-corpus
# (not Hypothesis's own database) keeps the inputs that ever failed.
_FUZZ = dict(deadline=10_000, database=None, derandomize=False,
             suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile("default", max_examples=25, **_FUZZ)
settings.register_profile("long", max_examples=1500, **_FUZZ)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


@pytest.fixture(autouse=True)
def restora_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    home = tmp_path_factory.mktemp("restora-home")
    monkeypatch.setenv("RESTORA_HOME", str(home))
    return home


@pytest.fixture(autouse=True)
def discard_unsaved_on_close(monkeypatch: pytest.MonkeyPatch):
    """A window closed at the end of a test has nobody to answer "Save unsaved versions?": it discards.
    Tests of that prompt set window.ask_unsaved themselves."""
    try:
        from desktop.window_document import DocumentMixin
    except ImportError:  # no Qt here: nothing to answer
        return
    monkeypatch.setattr(DocumentMixin, "ask_unsaved", lambda self, count, doing: "discard")


@pytest.fixture
def one_torch_thread():
    """Tiny networks run faster on one thread, and the test machine is shared (use with
    `pytestmark = pytest.mark.usefixtures("one_torch_thread")`)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


def gradient_image(h: int = 48, w: int = 64) -> np.ndarray:
    """A smooth RGB uint8 test picture with distinct channels, so orientation and channel order show."""
    y, x = np.mgrid[0:h, 0:w]
    r = (x * 255 // max(w - 1, 1)).astype(np.uint8)
    g = (y * 255 // max(h - 1, 1)).astype(np.uint8)
    b = ((x + y) * 127 // max(h + w - 2, 1)).astype(np.uint8)
    return np.dstack([r, g, b])
