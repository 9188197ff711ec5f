"""The loss library: pixel, structure, gradient and TV losses, the Zero-DCE zero-reference losses, GAN
losses with their gradient penalties, and a VGG16 perceptual loss on user-supplied weights.

Losses that compare images take tensors in the model's declared output range; those that need [0, 1]
(SSIM's constants, VGG's ImageNet statistics, the Zero-DCE exposure level) map the declared range to
[0, 1] with core.tensors.to_unit_tensor, a differentiable affine map driven by the declared range
(core.tensors' from_model_tensor is for finished outputs: it detaches).
"""

from __future__ import annotations

from pathlib import Path
from typing import cast

import torch
import torch.nn.functional as F
from torch import autograd, nn

from core.errors import RestoraError
from core.metrics import ssim_tensor
from core.tensors import ZERO_ONE, ValueRange, to_unit_tensor


class LossConfigError(RestoraError, ValueError):
    """A loss cannot be built as configured (for example, missing VGG16 weights)."""


# ----------------------------------------------------------------------------------- reference losses

def l1_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return F.l1_loss(pred, target)


def ssim_loss(pred: torch.Tensor, target: torch.Tensor, value_range: ValueRange = ZERO_ONE) -> torch.Tensor:
    """1 - SSIM, computed on [0, 1] values (SSIM's constants assume that range)."""
    return 1.0 - ssim_tensor(to_unit_tensor(pred, value_range), to_unit_tensor(target, value_range))


_SOBEL_X = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]]) / 8.0


def sobel(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel Sobel derivatives (x, y), replicate-padded to the input size."""
    c = x.shape[1]
    kx = _SOBEL_X.to(device=x.device, dtype=x.dtype).expand(c, 1, 3, 3)
    ky = kx.transpose(-1, -2)
    padded = F.pad(x, (1, 1, 1, 1), mode="replicate")
    return F.conv2d(padded, kx, groups=c), F.conv2d(padded, ky, groups=c)


def gradient_l1_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """L1 between the Sobel gradients of prediction and target (keeps edges sharp)."""
    px, py = sobel(pred)
    tx, ty = sobel(target)
    return F.l1_loss(px, tx) + F.l1_loss(py, ty)


def tv_loss(x: torch.Tensor) -> torch.Tensor:
    """Anisotropic total variation: mean absolute difference between neighbours."""
    return (x[:, :, 1:, :] - x[:, :, :-1, :]).abs().mean() + (x[:, :, :, 1:] - x[:, :, :, :-1]).abs().mean()


# ------------------------------------------------------------------------- Zero-DCE zero-reference losses
# Facts from the official code (Li-Chongyi/Zero-DCE, Zero-DCE_code/Myloss.py and lowlight_train.py; the
# Zero-DCE++ versions in Li-Chongyi/Zero-DCE_extension, Zero-DCE++/): spatial consistency on 4 x 4 average-
# pooled mean intensity with the four neighbour differences squared; exposure control = mean squared gap
# between 16 x 16 patch means and E = 0.6; colour constancy = sqrt of the summed squared (pairwise squared
# channel-mean differences); illumination smoothness = 2 (mean squared dy + mean squared dx) / batch over
# the curve maps. The train scripts weigh them total = 200 L_tv + L_spa + 5 L_col + 10 L_exp (Zero-DCE;
# Zero-DCE++ uses 1600 L_tv); the paper's W_col = 0.5, W_tvA = 20 differ from the released code.

ZERO_DCE_WEIGHTS = {"spatial": 1.0, "exposure": 10.0, "color": 5.0, "illumination": 200.0}
ZERO_DCE_PP_WEIGHTS = {"spatial": 1.0, "exposure": 10.0, "color": 5.0, "illumination": 1600.0}


def spatial_consistency_loss(enhanced: torch.Tensor, original: torch.Tensor, pool: int = 4) -> torch.Tensor:
    """Keeps the difference between each 4 x 4 region and its four neighbours as it was in the input."""
    e = F.avg_pool2d(enhanced.mean(1, keepdim=True), pool)
    o = F.avg_pool2d(original.mean(1, keepdim=True), pool)
    total = torch.zeros((), device=enhanced.device, dtype=enhanced.dtype)
    for dy, dx in ((0, 1), (0, -1), (1, 0), (-1, 0)):
        de = e - _neighbour(e, dy, dx)
        do = o - _neighbour(o, dy, dx)
        total = total + (de - do).pow(2)
    return total.mean()


def _neighbour(x: torch.Tensor, dy: int, dx: int) -> torch.Tensor:
    """x shifted so each position sees its (dy, dx) neighbour; zero beyond the border (as a zero-padded conv)."""
    padded = F.pad(x, (1, 1, 1, 1))
    h, w = x.shape[-2:]
    return padded[:, :, 1 + dy:1 + dy + h, 1 + dx:1 + dx + w]


def exposure_control_loss(enhanced: torch.Tensor, level: float = 0.6, patch: int = 16) -> torch.Tensor:
    """Pulls the mean intensity of each patch x patch region towards `level`."""
    means = F.avg_pool2d(enhanced.mean(1, keepdim=True), patch)
    return (means - level).pow(2).mean()


def color_constancy_loss(enhanced: torch.Tensor) -> torch.Tensor:
    """Grey-world: the channel means of the enhanced image should agree."""
    m = enhanced.mean(dim=(2, 3))
    r, g, b = m[:, 0], m[:, 1], m[:, 2]
    k = ((r - g).pow(2).pow(2) + (r - b).pow(2).pow(2) + (g - b).pow(2).pow(2) + 1e-12).sqrt()
    return k.mean()


def illumination_smoothness_loss(curves: torch.Tensor) -> torch.Tensor:
    """Smooth curve-parameter maps (squared-difference TV, as Zero-DCE's L_TV)."""
    n, _, h, w = curves.shape
    dh = (curves[:, :, 1:, :] - curves[:, :, :-1, :]).pow(2).sum() / max(1, (h - 1) * w)
    dw = (curves[:, :, :, 1:] - curves[:, :, :, :-1]).pow(2).sum() / max(1, h * (w - 1))
    return 2.0 * (dh + dw) / n


def zero_reference_losses(enhanced: torch.Tensor, original: torch.Tensor, curves: torch.Tensor,
                          weights: dict[str, float], *, exposure_level: float = 0.6,
                          exposure_patch: int = 16) -> dict[str, torch.Tensor]:
    """The four weighted Zero-DCE terms (inputs in [0, 1]); zero-weight terms are skipped."""
    terms = {
        "spatial": lambda: spatial_consistency_loss(enhanced, original),
        "exposure": lambda: exposure_control_loss(enhanced, exposure_level, exposure_patch),
        "color": lambda: color_constancy_loss(enhanced),
        "illumination": lambda: illumination_smoothness_loss(curves),
    }
    return {name: weights[name] * fn() for name, fn in terms.items() if weights.get(name, 0.0) > 0}


# ------------------------------------------------------------------------------------------ GAN losses

def d_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor, kind: str) -> torch.Tensor:
    """The discriminator's loss: 'hinge', 'nonsaturating' (logistic) or 'wgan' (a critic's score gap)."""
    if kind == "wgan":
        return fake_logits.mean() - real_logits.mean()
    if kind == "hinge":
        return F.relu(1.0 - real_logits).mean() + F.relu(1.0 + fake_logits).mean()
    if kind == "nonsaturating":
        return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()
    raise LossConfigError(f"Unknown GAN loss {kind!r}.")


def g_adversarial_loss(fake_logits: torch.Tensor, kind: str) -> torch.Tensor:
    if kind in ("hinge", "wgan"):
        return -fake_logits.mean()
    if kind == "nonsaturating":
        return F.softplus(-fake_logits).mean()
    raise LossConfigError(f"Unknown GAN loss {kind!r}.")


def r1_penalty(discriminator: nn.Module, real: torch.Tensor) -> torch.Tensor:
    """R1 (Mescheder et al. 2018): the squared gradient norm of D at real samples (weight it gamma / 2)."""
    real = real.detach().requires_grad_(True)
    logits = discriminator(real)
    (grad,) = autograd.grad(logits.sum(), real, create_graph=True)
    return grad.pow(2).flatten(1).sum(1).mean()


def wgan_gp_penalty(discriminator: nn.Module, real: torch.Tensor, fake: torch.Tensor,
                    generator: torch.Generator | None = None) -> torch.Tensor:
    """WGAN-GP (Gulrajani et al. 2017): (||grad D(x_hat)|| - 1)^2 on random real/fake interpolates."""
    alpha = torch.rand((real.shape[0], 1, 1, 1), device=real.device, dtype=real.dtype, generator=generator)
    mixed = (alpha * real.detach() + (1 - alpha) * fake.detach()).requires_grad_(True)
    logits = discriminator(mixed)
    (grad,) = autograd.grad(logits.sum(), mixed, create_graph=True)
    return (grad.flatten(1).norm(2, dim=1) - 1.0).pow(2).mean()


# ----------------------------------------------------------------------------------- perceptual (VGG16)

_VGG16_FEATURE_LAYERS = {"relu1_2": 3, "relu2_2": 8, "relu3_3": 15, "relu4_3": 22}
_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)


class PerceptualLoss(nn.Module):
    """L1 between VGG16 features (relu1_2 .. relu4_3) of prediction and target, on the user's weights.

    `weights_path` holds a torchvision VGG16 state dict (full model, "features.N.*" keys, or the feature
    stack alone, "N.*"), as .pth/.pt (read with weights_only=True) or .safetensors.
    """

    mean: torch.Tensor  # buffers (register_buffer below); declared so their types are known
    std: torch.Tensor

    def __init__(self, weights_path: str | Path, layers: tuple[str, ...] = tuple(_VGG16_FEATURE_LAYERS),
                 value_range: ValueRange = ZERO_ONE) -> None:
        super().__init__()
        last = max(_VGG16_FEATURE_LAYERS[name] for name in layers)
        self.features = load_vgg16_features(weights_path, last, needed_by="The perceptual loss needs")
        self.taps = sorted(_VGG16_FEATURE_LAYERS[name] for name in layers)
        self.value_range = value_range
        self.register_buffer("mean", torch.tensor(_IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(_IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    def _feats(self, x: torch.Tensor) -> list[torch.Tensor]:
        return tapped_features(self.features, self.taps, (to_unit_tensor(x, self.value_range) - self.mean) / self.std)

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            target_feats = self._feats(target)
        # A tensor, never sum()'s start value 0: there is at least one layer (max() in __init__ saw one).
        return cast(torch.Tensor, sum(F.l1_loss(p, t) for p, t in zip(self._feats(pred), target_feats)))


def _read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    try:
        if path.suffix.lower() == ".safetensors":
            from safetensors.torch import load_file

            return load_file(str(path))
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # any unreadable file is the same problem for the user
        raise LossConfigError(f"Could not read VGG16 weights from {path}: {e}") from e
    if isinstance(obj, dict) and "state_dict" in obj and isinstance(obj["state_dict"], dict):
        obj = obj["state_dict"]
    if not isinstance(obj, dict):
        raise LossConfigError(f"{path} does not hold a state dict.")
    return obj


def _feature_keys(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """'features.N.weight' (full model) or 'N.weight' (feature stack) -> 'N.weight'."""
    out = {}
    for key, value in state.items():
        k = key[len("features."):] if key.startswith("features.") else key
        if k.split(".")[0].isdigit():
            out[k] = value
    return out


# ------------------------------------------------------------- inpainting: VGG16 pool features, style

# The loss network of LBAM's released training code (after PConv, Liu et al. 2018): VGG16's features after
# pool1, pool2 and pool3 (torchvision indices 4, 9, 16), fed the [0, 1] images as they are (that code does not
# apply ImageNet normalisation, and its loss weights were tuned that way); Gram matrices divided by C*H*W.
VGG16_POOLS = {"pool1": 4, "pool2": 9, "pool3": 16}
# Terms that need the user's VGG16 file and that a preset may turn on by default: without a file they are
# switched off for the run, with a message (switch_off_vgg_terms); a file that is given but unreadable is an
# error. (The relu-tap "perceptual" term keeps failing without weights: no preset turns it on by itself.)
OPTIONAL_VGG_TERMS = ("pool_perceptual", "style")


def load_vgg16_features(weights_path: str | Path, last: int, *,
                        needed_by: str = "The VGG16 feature losses need") -> nn.Sequential:
    """torchvision VGG16's feature layers 0..last, frozen, from the user's state dict (see PerceptualLoss);
    `needed_by` starts the message when the file is missing."""
    import torchvision

    path = Path(weights_path) if str(weights_path) else None
    if path is None or not path.is_file():
        raise LossConfigError(f"{needed_by} VGG16 weights: set vgg16_weights to a torchvision VGG16 state dict "
                              f"(file {'not given' if path is None else f'not found: {path}'}).")
    state = _read_state_dict(path)
    with torch.device("meta"):  # build the architecture without allocating its 138 M parameters
        vgg = torchvision.models.vgg16(weights=None)
    features = cast(nn.Sequential, vgg.features[:last + 1])
    wanted = {k: v for k, v in _feature_keys(state).items() if int(k.split(".")[0]) <= last}
    try:
        features.load_state_dict(wanted, strict=True, assign=True)
    except RuntimeError as e:
        raise LossConfigError(f"{path} is not a VGG16 state dict: {e}") from e
    return features.eval().requires_grad_(False)


class VGGPoolFeatures(nn.Module):
    """VGG16 features after pool1, pool2 and pool3 of images in `value_range` (mapped to [0, 1])."""

    def __init__(self, weights_path: str | Path, value_range: ValueRange = ZERO_ONE) -> None:
        super().__init__()
        self.features = load_vgg16_features(weights_path, max(VGG16_POOLS.values()))
        self.taps = sorted(VGG16_POOLS.values())
        self.value_range = value_range

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        return tapped_features(self.features, self.taps, to_unit_tensor(x, self.value_range))


def tapped_features(features: nn.Sequential, taps: list[int], x: torch.Tensor) -> list[torch.Tensor]:
    """x through `features`, keeping the output of each layer index in `taps`."""
    out = []
    for i, layer in enumerate(features):
        x = layer(x)
        if i in taps:
            out.append(x)
    return out


def gram_matrix(features: torch.Tensor) -> torch.Tensor:
    """N x C x C feature correlations divided by C*H*W, in float32 (sums over H*W overflow float16)."""
    n, c, h, w = features.shape
    f = features.float().reshape(n, c, h * w)
    return torch.bmm(f, f.transpose(1, 2)) / (c * h * w)


def pool_feature_losses(extractor: VGGPoolFeatures, output: torch.Tensor, composite: torch.Tensor,
                        target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(perceptual, style), unweighted: over pool1..pool3, L1 of the features and of their Gram matrices
    between the output and the target plus between the composite and the target."""
    with torch.no_grad():
        wanted = extractor(target)
    n = output.shape[0]
    both = extractor(torch.cat([output, composite], 0))  # one pass for the two images that need gradients
    perceptual = output.new_zeros((), dtype=torch.float32)
    style = output.new_zeros((), dtype=torch.float32)
    for f, t in zip(both, wanted):
        gram_t = gram_matrix(t)
        for part in (f[:n], f[n:]):
            perceptual = perceptual + F.l1_loss(part.float(), t.float())
            style = style + F.l1_loss(gram_matrix(part), gram_t)
    return perceptual, style


def switch_off_vgg_terms(loss: dict[str, float], vgg16_weights: str) -> str:
    """Without a VGG16 file, set the OPTIONAL_VGG_TERMS that are on to 0 (in place) and say so; "" otherwise."""
    on = [name for name in OPTIONAL_VGG_TERMS if loss.get(name, 0.0) > 0]
    if str(vgg16_weights).strip() or not on:
        return ""
    for name in on:
        loss[name] = 0.0
    return (f"No VGG16 weights given (vgg16_weights is empty): the {' and '.join(on)} loss terms are off for "
            f"this run. Set vgg16_weights to a torchvision VGG16 state dict to train with them.")
