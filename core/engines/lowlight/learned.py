"""Learned low-light engines: Zero-DCE, Zero-DCE++, the gain-map U-Net and the gamma predictor.

Each engine's weights come, in this order, from the constructor's `weights` file, or its "weights"
parameter (the shipped default in resources/weights/<weights_file>, or a model of its architecture in the
model store: an imported official checkpoint or a training export), and go through the one path every
network takes (core.archs.identify): the file must identify as the engine's architecture, and the network
runs in the value ranges its descriptor declares. An engine with no weights anywhere is unavailable.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, cast

import numpy as np
import torch
from torch import nn

from core.archs import gain_unet, gamma_net, zero_dce, zero_dce_pp
from core.devices import select_device
from core.engines.base import EngineRequest, EngineResult, Param
from core.engines.lowlight.bands import TABLE_SIZE, apply_table, small_copy
from core.engines.lowlight.common import MAX_BRIGHTNESS, STRENGTH, WHITE_BALANCE, LowLightEngine, denoise_param
from core.engines.lowlight.curves import (
    MapUpsampler,
    apply_curve_sequence,
    apply_curve_steps,
    apply_gain,
    curve_steps_tensor,
    upsample,
)
from core.engines.lowlight.weights import MissingWeightsError, WeightsError, default_weights_dir
from core.jobs import CancelToken, Progress
from core.models.descriptor import ModelDescriptor
from core.tensors import from_model, to_model

COMMON_PARAMS = (STRENGTH, MAX_BRIGHTNESS, WHITE_BALANCE)
# Default denoising strength per engine: on where it measurably helps (resources/weights/EVALUATION.md).
DENOISE = {"lowlight.zero_dce_pp": 1.0, "lowlight.zero_dce": 1.0, "lowlight.gain_unet": 1.0,
           "lowlight.gamma_net": 1.0}
# Zero-DCE's working memory per tile pixel: up to about twelve 32-channel float32 maps alive at once.
ZERO_DCE_BYTES_PER_PIXEL = 1600
# Zero-DCE on the CPU: 256 px tiles take about 0.2 s each here, so a cancel is seen within that.
CPU_TILE = 256
DEFAULT_CHOICE = "default"  # the "weights" parameter's value for the shipped default


class LearnedLowLightEngine(LowLightEngine):
    """A low-light engine backed by a network of one architecture."""

    weights_file: ClassVar[str]  # the shipped default in resources/weights (it may not exist)
    architecture: ClassVar[str]  # what the weights must identify as
    download_hint: ClassVar[str] = ""

    def __init__(self, device: Any = None, weights: str | Path | None = None, store: Any = None) -> None:
        super().__init__(device)
        self._weights = Path(weights) if weights is not None else None
        self._store = store
        self._descriptors: dict[str, ModelDescriptor] = {}
        self._choice = DEFAULT_CHOICE
        self.choices = self.weight_choices()
        if len(self.choices) > 1:
            names = tuple(c for c, _ in self.choices)
            titles = tuple(t for _, t in self.choices)
            param = Param("weights", "choice", names[0], "Which weights to use: Restora's own default or a model "
                          "of this architecture in the model store.", choices=names, choice_titles=titles)
            self.params = (param, *type(self).params)

    # ----- where the weights come from ------------------------------------------------------------------

    @classmethod
    def default_weights_path(cls) -> Path:
        return default_weights_dir() / cls.weights_file

    @property
    def weights_path(self) -> Path:
        """The file the default choice reads (the constructor's, or the shipped default)."""
        return self._weights if self._weights is not None else self.default_weights_path()

    def has_weights(self) -> bool:
        return self.weights_path.is_file()

    def weight_choices(self) -> list[tuple[str, str]]:
        """(choice, title) pairs: the default file when it exists (or was given), then the store's models."""
        choices: list[tuple[str, str]] = []
        if self._weights is not None or self.has_weights():
            choices.append((DEFAULT_CHOICE, "Restora default" if self._weights is None else self._weights.name))
        if self._weights is None and self._store is not None:
            try:
                entries = self._store.find(self.architecture)
            except Exception:  # noqa: BLE001  (a damaged store never hides the engine)
                entries = []
            choices += [(e.name, f"{e.name} ({e.source})") for e in entries]
        return choices

    def unavailable(self) -> str | None:
        if self.choices:
            return None
        hint = f" ({self.download_hint})" if self.download_hint else ""
        return (f"{self.title} needs weights: import a {self.architecture} checkpoint into the model store"
                f"{hint} or train them with `restora train`.")

    def descriptor(self) -> ModelDescriptor:
        """The chosen weights as a descriptor, through core.archs.identify (loaded once per choice)."""
        choice = self._choice
        if choice not in self._descriptors:
            self._descriptors[choice] = self._load(choice)
        return self._descriptors[choice]

    def _load(self, choice: str) -> ModelDescriptor:
        from core.archs.identify import identify_file
        from core.models.checkpoints import CheckpointError

        if choice == DEFAULT_CHOICE or self._store is None:
            path = self.weights_path
            if not path.is_file():
                if self.choices and self.choices[0][0] != DEFAULT_CHOICE:
                    return self._load(self.choices[0][0])
                raise MissingWeightsError(
                    f"{self.title} needs its weights at {path}, and there is no file there. Train them with "
                    f"`restora train` (the run's best.safetensors), import a {self.architecture} checkpoint into "
                    f"the model store, or choose another weight file.")
            try:
                desc = identify_file(path, prefer=self.architecture).descriptor
            except CheckpointError as e:
                raise WeightsError(f"{self.title}: {e}") from None
            where = path.name
        else:
            try:
                desc = self._store.load(choice)
            except Exception as e:  # noqa: BLE001  (StoreError, CheckpointError: say which model)
                raise WeightsError(f"{self.title}: the model {choice!r} cannot be loaded: {e}") from None
            where = choice
        if desc.facts.architecture != self.architecture:
            raise WeightsError(f"{where} does not hold {self.title} weights: it is a {desc.facts.architecture} "
                               f"network.")
        return desc

    # ----- running --------------------------------------------------------------------------------------

    def process(self, request: EngineRequest) -> EngineResult:
        self._choice = str(request.params.get("weights", DEFAULT_CHOICE))
        return super().process(request)

    def torch_device(self) -> torch.device:
        if self.device is None:
            return select_device()
        return self.device if isinstance(self.device, torch.device) else torch.device(self.device)

    def network(self) -> nn.Module:
        """The network with its weights, on this engine's device, in eval mode."""
        desc = self.descriptor()
        device = self.torch_device()
        if next(desc.module.parameters()).device != device or getattr(desc, "_placed", None) != device:
            desc.module.eval().to(device)
            if device.type == "cpu":  # oneDNN runs (depthwise) convolutions several times faster this way
                desc.module.to(memory_format=torch.channels_last)
            desc._placed = device  # type: ignore[attr-defined]
        return desc.module

    def network_input(self, rgb: np.ndarray) -> torch.Tensor:
        """Pixels as the network's input tensor (in its declared range), on its device and memory layout."""
        device = next(self.network().parameters()).device
        x = to_model(rgb, self.descriptor().facts.input_range, device=device)
        return x.contiguous(memory_format=torch.channels_last) if device.type == "cpu" else x

    def applies_in_bands(self) -> bool:
        """Whether full-size maps are applied band by band with NumPy (CPU) rather than whole with torch
        (GPU). Tests override it to check that both paths agree."""
        return next(self.network().parameters()).device.type == "cpu"

    def full_size_tensor(self, rgb: np.ndarray) -> torch.Tensor:
        device = next(self.network().parameters()).device
        return to_model(rgb, self.descriptor().facts.input_range, device=device)

    def decoded(self, tensor: torch.Tensor) -> np.ndarray:
        """A network image tensor back to pixels, through its declared output range."""
        return from_model(tensor, self.descriptor().facts.output_range)


class ZeroDCEPPEngine(LearnedLowLightEngine):
    id = "lowlight.zero_dce_pp"
    title = "Zero-DCE++"
    description = ("Brightening curves estimated by a tiny network on a small copy, then applied to every "
                   "pixel. Fast on any computer; natural results on dark photos.")
    params = (
        Param("curve_resolution", "int", 512, "Long side, in pixels, of the copy the curve is estimated on.",
              min=64, max=4096, step=64),
        denoise_param(DENOISE["lowlight.zero_dce_pp"]),
    ) + COMMON_PARAMS
    weights_file = "zero_dce_pp.safetensors"
    architecture = zero_dce_pp.ARCHITECTURE
    download_hint = "restora models download zero-dce-pp"


    def enhance(self, rgb: np.ndarray, params: dict[str, Any], progress: Progress, cancel: CancelToken,
                notes: list[str]) -> np.ndarray:
        net = cast(zero_dce_pp.ZeroDCEPP, self.network())  # the architecture check made sure of the class
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
                image = self.decoded(curve_steps_tensor(x, upsample(curve, rgb.shape[:2], True), steps))
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
        denoise_param(DENOISE["lowlight.zero_dce"]),
    ) + COMMON_PARAMS
    weights_file = "zero_dce.safetensors"
    architecture = zero_dce.ARCHITECTURE
    download_hint = "restora models download zero-dce"
    fast_resolution = 1024


    def enhance(self, rgb: np.ndarray, params: dict[str, Any], progress: Progress, cancel: CancelToken,
                notes: list[str]) -> np.ndarray:
        net = cast(zero_dce.ZeroDCE, self.network())  # the architecture check made sure of the class
        if params["full_resolution"]:
            return self._full_resolution(net, rgb, progress, cancel, notes)
        return self._from_small_copy(net, rgb, progress, cancel)

    def _full_resolution(self, net: zero_dce.ZeroDCE, rgb: np.ndarray, progress: Progress, cancel: CancelToken,
                         notes: list[str]) -> np.ndarray:
        from core.models.runner import run_model
        from core.tiling import choose_tile_size

        device = next(net.parameters()).device
        desc = self.descriptor()
        tile = CPU_TILE if device.type == "cpu" else choose_tile_size(
            device, bytes_per_pixel=ZERO_DCE_BYTES_PER_PIXEL)
        result = run_model(desc, rgb, device=device, precision="auto", tile=tile, overlap=32,
                           progress=progress, cancel=cancel)
        notes.extend(result.notes)
        return result.image

    def _from_small_copy(self, net: zero_dce.ZeroDCE, rgb: np.ndarray, progress: Progress,
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
                image = self.decoded(x)
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
        denoise_param(DENOISE["lowlight.gain_unet"]),
    ) + COMMON_PARAMS
    weights_file = "gain_unet.safetensors"
    architecture = gain_unet.ARCHITECTURE


    def enhance(self, rgb: np.ndarray, params: dict[str, Any], progress: Progress, cancel: CancelToken,
                notes: list[str]) -> np.ndarray:
        net = cast(gain_unet.GainUNet, self.network())  # the architecture check made sure of the class
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
                image = self.decoded(gain_unet.apply_gain(x, upsample(gain, rgb.shape[:2], False)))
        progress(2, 2, "Done")
        return image


class GammaNetEngine(LearnedLowLightEngine):
    id = "lowlight.gamma_net"
    title = "Learned gamma"
    description = ("The fastest learned engine: a tiny network looks at a small thumbnail and picks one "
                   "gamma and one contrast for the whole photo. Smooth, never clips.")
    params: tuple[Param, ...] = (denoise_param(DENOISE["lowlight.gamma_net"]), *COMMON_PARAMS)
    weights_file = "gamma_net.safetensors"
    architecture = gamma_net.ARCHITECTURE


    def predict(self, rgb: np.ndarray) -> tuple[float, float]:
        """(gamma, contrast) for a photo."""
        import cv2

        net = cast(gamma_net.GammaNet, self.network())  # the architecture check made sure of the class
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
        levels = np.linspace(0.0, 1.0, TABLE_SIZE, dtype=np.float32)
        table = np.asarray(gamma_net.apply_gamma_contrast_numpy(levels, (gamma, contrast)), dtype=np.float32)
        out = apply_table(rgb, table, cancel)  # the curve at 16-bit steps: one gather per value, not a power
        progress(2, 2, "Done")
        return out
