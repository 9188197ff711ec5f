"""Learned low-light engines: Zero-DCE, Zero-DCE++, the gain-map U-Net and the gamma predictor.

Each reads its weights lazily on first use, from the constructor's `weights` path or from
resources/weights/<weights_file>; a missing file is a MissingWeightsError that says where it looked.
The networks run through the normalization contract (core.tensors) and the result is clamped to [0, 1].
"""

from __future__ import annotations

from abc import abstractmethod
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from core.archs import gain_unet, gamma_net, zero_dce, zero_dce_pp
from core.devices import select_device
from core.engines.base import Param
from core.engines.lowlight.common import MAX_BRIGHTNESS, STRENGTH, WHITE_BALANCE, LowLightEngine
from core.engines.lowlight.curves import (MapUpsampler, apply_curve_sequence, apply_curve_steps, apply_gain,
                                          curve_steps_tensor, small_copy, upsample)
from core.engines.lowlight.weights import WeightsError, default_weights_dir, read_weights
from core.jobs import CancelToken, Progress
from core.tensors import ZERO_ONE, from_model, to_model

COMMON_PARAMS = (STRENGTH, MAX_BRIGHTNESS, WHITE_BALANCE)
# Zero-DCE's working memory per tile pixel: up to about twelve 32-channel float32 maps alive at once.
ZERO_DCE_BYTES_PER_PIXEL = 1600
CPU_TILE = 512  # Zero-DCE on a 12 MP photo peaks at about 1.1 GB of process memory on the CPU (measured)


class LearnedLowLightEngine(LowLightEngine):
    """A low-light engine backed by a network whose weights live in one file."""

    weights_file: ClassVar[str]

    def __init__(self, device: Any = None, weights: str | Path | None = None) -> None:
        super().__init__(device)
        self._weights = Path(weights) if weights is not None else None
        self._network: nn.Module | None = None

    @classmethod
    def default_weights_path(cls) -> Path:
        return default_weights_dir() / cls.weights_file

    @property
    def weights_path(self) -> Path:
        return self._weights if self._weights is not None else self.default_weights_path()

    def has_weights(self) -> bool:
        return self.weights_path.is_file()

    def torch_device(self) -> torch.device:
        if self.device is None:
            return select_device()
        return self.device if isinstance(self.device, torch.device) else torch.device(self.device)

    def network(self) -> nn.Module:
        """The network with its weights, on this engine's device, in eval mode (loaded once)."""
        if self._network is None:
            state = read_weights(self.weights_path, self.title)
            try:
                net = self.build_network(state)
            except (RuntimeError, KeyError, ValueError) as e:
                first_line = (str(e).splitlines() or [type(e).__name__])[0]
                raise WeightsError(f"{self.weights_path.name} does not hold {self.title} weights: "
                                   f"{first_line}") from None
            device = self.torch_device()
            net = net.eval().to(device)
            if device.type == "cpu":  # oneDNN runs (depthwise) convolutions several times faster this way
                net = net.to(memory_format=torch.channels_last)
            self._network = net
        return self._network

    def network_input(self, rgb: np.ndarray) -> torch.Tensor:
        """Pixels as the network's input tensor, on its device, in its preferred memory layout."""
        device = next(self.network().parameters()).device
        x = to_model(rgb, ZERO_ONE, device=device)
        return x.contiguous(memory_format=torch.channels_last) if device.type == "cpu" else x

    def applies_in_bands(self) -> bool:
        """Whether full-size maps are applied band by band with NumPy (CPU) rather than whole with torch
        (GPU). Tests override it to check that both paths agree."""
        return next(self.network().parameters()).device.type == "cpu"

    def full_size_tensor(self, rgb: np.ndarray) -> torch.Tensor:
        device = next(self.network().parameters()).device
        return to_model(rgb, ZERO_ONE, device=device)

    @abstractmethod
    def build_network(self, state_dict: dict[str, torch.Tensor]) -> nn.Module:
        """The network loaded strictly from `state_dict`."""


class ZeroDCEPPEngine(LearnedLowLightEngine):
    id = "lowlight.zero_dce_pp"
    title = "Zero-DCE++"
    description = ("Brightening curves estimated by a tiny network on a small copy, then applied to every "
                   "pixel. Fast on any computer; natural results on dark photos.")
    params = (
        Param("curve_resolution", "int", 512, "Long side, in pixels, of the copy the curve is estimated on.",
              min=64, max=4096, step=64),
    ) + COMMON_PARAMS
    weights_file = "zero_dce_pp.safetensors"

    def build_network(self, state_dict: dict[str, torch.Tensor]) -> nn.Module:
        net = zero_dce_pp.ZeroDCEPP(scale_factor=1)
        net.load_state_dict(state_dict, strict=True)
        return net

    def enhance(self, rgb: np.ndarray, params: dict[str, Any], progress: Progress, cancel: CancelToken,
                notes: list[str]) -> np.ndarray:
        net = self.network()
        progress(0, 2, "Estimating the curve")
        with torch.inference_mode():
            curve = net.estimate_curve(self.network_input(small_copy(rgb, int(params["curve_resolution"]))))
        cancel.raise_if_cancelled()
        progress(1, 2, "Applying the curve")
        steps = zero_dce_pp.CURVE_ITERATIONS
        if self.applies_in_bands():
            image = rgb.copy()
            apply_curve_steps(image, MapUpsampler(curve, rgb.shape[:2], align_corners=True), steps, cancel)
        else:
            with torch.inference_mode():
                x = self.full_size_tensor(rgb)
                image = from_model(curve_steps_tensor(x, upsample(curve, rgb.shape[:2], True), steps), ZERO_ONE)
        progress(2, 2, "Done")
        return image


class ZeroDCEEngine(LearnedLowLightEngine):
    id = "lowlight.zero_dce"
    title = "Zero-DCE"
    description = ("Eight brightening curves per pixel from a small network. Full resolution is thorough but "
                   "slow on a CPU; the fast setting estimates the curves on a smaller copy.")
    params = (
        Param("full_resolution", "bool", True, "Estimate the curves on every pixel (tiled). Off: on a copy "
              "with a 1024 px long side, then scaled up (much faster)."),
    ) + COMMON_PARAMS
    weights_file = "zero_dce.safetensors"
    fast_resolution = 1024

    def build_network(self, state_dict: dict[str, torch.Tensor]) -> nn.Module:
        net = zero_dce.ZeroDCE()
        net.load_state_dict(state_dict, strict=True)
        return net

    def enhance(self, rgb: np.ndarray, params: dict[str, Any], progress: Progress, cancel: CancelToken,
                notes: list[str]) -> np.ndarray:
        net = self.network()
        if params["full_resolution"]:
            return self._full_resolution(net, rgb, progress, cancel, notes)
        return self._from_small_copy(net, rgb, progress, cancel)

    def _full_resolution(self, net: nn.Module, rgb: np.ndarray, progress: Progress, cancel: CancelToken,
                         notes: list[str]) -> np.ndarray:
        from core.inference import run_model
        from core.tiling import choose_tile_size

        device = next(net.parameters()).device
        desc = zero_dce.describe(net)
        tile = CPU_TILE if device.type == "cpu" else choose_tile_size(
            device, bytes_per_pixel=ZERO_DCE_BYTES_PER_PIXEL)
        result = run_model(desc, rgb, device=device, precision="auto", tile=tile, overlap=32,
                           progress=progress, cancel=cancel)
        notes.extend(result.notes)
        return result.image

    def _from_small_copy(self, net: nn.Module, rgb: np.ndarray, progress: Progress,
                         cancel: CancelToken) -> np.ndarray:
        progress(0, 2, "Estimating the curves")
        with torch.inference_mode():
            curves = net.estimate_curves(self.network_input(small_copy(rgb, self.fast_resolution)))
        cancel.raise_if_cancelled()
        progress(1, 2, "Applying the curves")
        if self.applies_in_bands():
            image = rgb.copy()
            apply_curve_sequence(image, MapUpsampler(curves, rgb.shape[:2], align_corners=True), cancel)
        else:
            with torch.inference_mode():
                x = self.full_size_tensor(rgb)
                for r in torch.split(curves, 3, dim=1):  # one map at a time: all 24 at 12 MP is over 1 GB
                    curve_steps_tensor(x, upsample(r, rgb.shape[:2], True), 1)
                image = from_model(x, ZERO_ONE)
        progress(2, 2, "Done")
        return image


class GainUNetEngine(LearnedLowLightEngine):
    id = "lowlight.gain_unet"
    title = "Gain-map U-Net"
    description = ("A small U-Net trained on dark/bright photo pairs predicts how much to brighten each "
                   "region; the smooth gain map is estimated on a smaller copy and applied to every pixel.")
    params = (
        Param("resolution", "int", 512, "Long side, in pixels, of the copy the gain map is estimated on.",
              min=64, max=4096, step=64),
    ) + COMMON_PARAMS
    weights_file = "gain_unet.safetensors"

    def build_network(self, state_dict: dict[str, torch.Tensor]) -> nn.Module:
        return gain_unet.build_from_state_dict(state_dict)

    def enhance(self, rgb: np.ndarray, params: dict[str, Any], progress: Progress, cancel: CancelToken,
                notes: list[str]) -> np.ndarray:
        net = self.network()
        progress(0, 2, "Estimating the gain map")
        with torch.inference_mode():
            gain = net.predict_gain(self.network_input(small_copy(rgb, int(params["resolution"]))))
        cancel.raise_if_cancelled()
        progress(1, 2, "Applying the gain")
        if self.applies_in_bands():
            image = rgb.copy()
            apply_gain(image, MapUpsampler(gain, rgb.shape[:2], align_corners=False), cancel)
        else:
            with torch.inference_mode():
                x = self.full_size_tensor(rgb)
                image = from_model(gain_unet.apply_gain(x, upsample(gain, rgb.shape[:2], False)), ZERO_ONE)
        progress(2, 2, "Done")
        return image


class GammaNetEngine(LearnedLowLightEngine):
    id = "lowlight.gamma_net"
    title = "Learned gamma"
    description = ("The fastest learned engine: a tiny network looks at a small thumbnail and picks one "
                   "gamma and one contrast for the whole photo. Smooth, never clips.")
    params = COMMON_PARAMS
    weights_file = "gamma_net.safetensors"

    def build_network(self, state_dict: dict[str, torch.Tensor]) -> nn.Module:
        return gamma_net.build_from_state_dict(state_dict)

    def predict(self, rgb: np.ndarray) -> tuple[float, float]:
        """(gamma, contrast) for a photo."""
        import cv2

        net = self.network()
        size = int(net.input_size)
        thumb = cv2.resize(rgb, (size, size), interpolation=cv2.INTER_AREA if min(rgb.shape[:2]) >= size
                           else cv2.INTER_LINEAR)
        with torch.inference_mode():
            params = net(self.network_input(thumb))[0].cpu()
        return float(params[0]), float(params[1])

    def enhance(self, rgb: np.ndarray, params: dict[str, Any], progress: Progress, cancel: CancelToken,
                notes: list[str]) -> np.ndarray:
        gamma, contrast = self.predict(rgb)
        notes.append(f"Gamma {gamma:.3f}, contrast {contrast:.3f}.")
        progress(1, 2, "Applying")
        out = gamma_net.apply_gamma_contrast_numpy(rgb, (gamma, contrast))
        progress(2, 2, "Done")
        return out
