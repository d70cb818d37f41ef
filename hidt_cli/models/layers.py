"""Building blocks shared by the generator: conv blocks, residual blocks and the two norms
that the published networks use in place of the usual ones."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

AdaINParams = tuple[torch.Tensor, torch.Tensor]
"""(bias B×C, weight B×C) of one AdaIN layer: the first half of its slice shifts, the second scales."""


def adaptive_instance_norm(
    x: torch.Tensor, bias: torch.Tensor, weight: torch.Tensor, eps: float = 1e-5
) -> torch.Tensor:
    """Instance-normalise x (B×C×H×W, biased variance) and apply a per-sample scale and shift.

    Folded into one multiply-add per element so that the big tensor is read once after the
    statistics are taken.
    """
    var, mean = variance_and_mean(x, (2, 3))
    scale = weight[:, :, None, None] * torch.rsqrt(var + eps)
    return torch.addcmul(bias[:, :, None, None] - mean * scale, x, scale)


def variance_and_mean(
    x: torch.Tensor, dims: tuple[int, ...], correction: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """Variance and mean over `dims` (kept as size-1 dims). On a CPU as two plain passes:
    torch.var_mean's CPU kernel measured 6× slower than mean + mean of squared deviations
    (torch 2.13, 192×64×96); elsewhere its one fused pass is the fast one."""
    if x.device.type != "cpu":
        return torch.var_mean(x, dim=dims, keepdim=True, correction=correction)
    mean = x.mean(dims, keepdim=True)
    count = math.prod(x.shape[d] for d in dims)
    return (x - mean).square_().sum(dims, keepdim=True) / (count - correction), mean


class AdaptiveInstanceNorm(nn.Module):
    """AdaIN whose parameters arrive with each call, so a decoder can serve many styles at once.

    The published checkpoint stores `running_mean`/`running_var` for these layers although
    they are never used; they are kept as buffers so that its state dict loads unchanged.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.channels = channels
        self.register_buffer("running_mean", torch.zeros(channels))
        self.register_buffer("running_var", torch.ones(channels))

    def forward(self, x: torch.Tensor, params: AdaINParams) -> torch.Tensor:
        bias, weight = params
        return adaptive_instance_norm(x, bias, weight)


class ReferenceLayerNorm(nn.Module):
    """The decoder's LayerNorm: per sample over C, H and W with the unbiased standard deviation,
    eps added to the std (not the variance), then a per-channel affine. Not `nn.LayerNorm`."""

    def __init__(self, channels: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.eps = eps
        self.gamma = nn.Parameter(torch.ones(channels))
        self.beta = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        var, mean = variance_and_mean(x, (1, 2, 3), correction=1)
        scale = self.gamma[None, :, None, None] / (var.sqrt() + self.eps)
        return torch.addcmul(self.beta[None, :, None, None] - mean * scale, x, scale)


_ACTIVATIONS = {
    "relu": lambda: nn.ReLU(inplace=True),
    "lrelu": lambda: nn.LeakyReLU(0.2, inplace=True),
    "none": nn.Identity,
}


class Conv2dBlock(nn.Module):
    """Reflection-padded conv (with bias), then a norm, then an activation.

    norm is one of "none", "instance", "adain" or "layer"; an "adain" block takes its
    parameters as the second argument of forward. An `upsampled_concat` block takes a
    half-resolution x and a full-resolution skip and convolves cat([x upsampled ×2 (nearest),
    skip]) without building it (see `UpsampledConcatConv2d`).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        stride: int = 1,
        padding: int = 0,
        norm: str = "none",
        activation: str = "relu",
        upsampled_concat: bool = False,
    ) -> None:
        super().__init__()
        conv_type = UpsampledConcatConv2d if upsampled_concat else nn.Conv2d
        self.conv = conv_type(
            in_channels, out_channels, kernel_size, stride, padding, padding_mode="reflect"
        )
        if norm == "instance":
            self.norm = nn.InstanceNorm2d(out_channels)
        elif norm == "adain":
            self.norm = AdaptiveInstanceNorm(out_channels)
        elif norm == "layer":
            self.norm = ReferenceLayerNorm(out_channels)
        elif norm != "none":
            raise ValueError(f"unknown norm {norm!r}")
        self.uses_adain = norm == "adain"
        self.activation = _ACTIVATIONS[activation]()

    def forward(
        self,
        x: torch.Tensor,
        adain: AdaINParams | None = None,
        skip: torch.Tensor | None = None,
    ) -> torch.Tensor:
        x = self.conv(x) if skip is None else self.conv(x, skip)
        if self.uses_adain:
            x = self.norm(x, adain)
        elif hasattr(self, "norm"):
            x = self.norm(x)
        return self.activation(x)


class UpsampledConcatConv2d(nn.Conv2d):
    """A stride-1, odd-sized, reflection-padded ("same") conv whose input is
    cat([nearest ×2 upsampling of low_res, skip]), given as its two parts so that the
    upsampled one is never built.

    A k×k kernel over a nearest-upsampled image reads each low-resolution pixel through
    several taps, so for each of the four output phases (row and column parity) the taps that
    read the same pixel are summed into one: four ⌈k/2⌉×⌈k/2⌉ convolutions at low resolution
    do the work of one k×k convolution at full resolution, 3× fewer multiply-adds for k = 7.
    Reflection padding of the upsampled image is not an upsampling of any padding of the
    low-resolution one, so the k//2 outermost rows and columns are recomputed directly.
    The parameters are those of the plain conv, so checkpoints load unchanged.
    """

    def forward(self, low_res: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        return upsampled_concat_conv(self, low_res, skip)


def upsampled_concat_conv(
    conv: nn.Conv2d, low_res: torch.Tensor, skip: torch.Tensor
) -> torch.Tensor:
    """conv(cat([nearest ×2 upsampling of low_res, skip])) computed as UpsampledConcatConv2d
    describes; `conv` is any reflection-padded "same" conv with these input channels."""
    channels = low_res.shape[1]
    up_weight, skip_weight = conv.weight[:, :channels], conv.weight[:, channels:]
    out = _upsampled_conv(low_res, up_weight)
    pad = conv.kernel_size[0] // 2
    skip_part = F.conv2d(F.pad(skip, (pad,) * 4, mode="reflect"), skip_weight, conv.bias)
    return out.add_(skip_part)


def _phase_taps(weight: torch.Tensor, phase: int, dim: int) -> tuple[torch.Tensor, int]:
    """Sum the taps of `weight` along `dim` that read the same low-resolution pixel for output
    rows (or columns) of parity `phase`; → (summed kernel, low-resolution offset of tap 0)."""
    half = weight.shape[dim] // 2
    offsets = [(tap + phase) // 2 for tap in range(-half, half + 1)]  # floor division
    index = torch.tensor([o - offsets[0] for o in offsets], device=weight.device)
    shape = list(weight.shape)
    shape[dim] = offsets[-1] - offsets[0] + 1
    return weight.new_zeros(shape).index_add(dim, index, weight), offsets[0]


def _upsampled_conv(low_res: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """conv(reflect_pad(upsample_nearest_2x(low_res)), weight) by phases (see above)."""
    b, _, h, w = low_res.shape
    half = weight.shape[-1] // 2
    margin = (half + 1) // 2
    padded = F.pad(low_res, (margin,) * 4, mode="replicate")  # values overwritten at borders
    out = None
    for row_phase in (0, 1):
        row_kernel, top = _phase_taps(weight, row_phase, 2)
        for col_phase in (0, 1):
            kernel, left = _phase_taps(row_kernel, col_phase, 3)
            rows, cols = kernel.shape[-2:]
            window = padded[
                :,
                :,
                margin + top : margin + top + h + rows - 1,
                margin + left : margin + left + w + cols - 1,
            ]
            phase = F.conv2d(window, kernel)
            if out is None:
                shape = (b, weight.shape[0], 2 * h, 2 * w)
                out = torch.empty(
                    shape, dtype=phase.dtype, device=phase.device, memory_format=_layout(low_res)
                )
            out[:, :, row_phase::2, col_phase::2] = phase
    _fix_borders(out, low_res, weight, half)
    return out


def _fix_borders(out: torch.Tensor, low_res: torch.Tensor, weight: torch.Tensor, half: int) -> None:
    """Recompute the `half` outermost rows and columns of an upsampled conv directly, each
    from the strip of `half` low-resolution rows (columns) that it reads, upsampled and
    reflection-padded as the full image would be."""
    h = half
    fixes = (
        (low_res[:, :, :h], (h, h, h, 0), (..., slice(None, h), slice(None))),
        (low_res[:, :, -h:], (h, h, 0, h), (..., slice(-h, None), slice(None))),
        (low_res[..., :h], (h, 0, h, h), (..., slice(None, h))),
        (low_res[..., -h:], (0, h, h, h), (..., slice(-h, None))),
    )
    for strip, pad, target in fixes:
        out[target] = F.conv2d(F.pad(_upsample2(strip), pad, mode="reflect"), weight)


def _upsample2(x: torch.Tensor) -> torch.Tensor:
    return F.interpolate(x, scale_factor=2, mode="nearest")


def _layout(x: torch.Tensor) -> torch.memory_format:
    channels_last = x.dim() == 4 and x.is_contiguous(memory_format=torch.channels_last)
    return torch.channels_last if channels_last else torch.contiguous_format


class ResBlock(nn.Module):
    """Two 3×3 conv blocks (the second without activation) plus the identity."""

    def __init__(self, channels: int, norm: str) -> None:
        super().__init__()
        self.model = nn.Sequential(
            Conv2dBlock(channels, channels, 3, 1, 1, norm, "relu"),
            Conv2dBlock(channels, channels, 3, 1, 1, norm, "none"),
        )

    def forward(self, x: torch.Tensor, adain: list[AdaINParams] | None = None) -> torch.Tensor:
        first, second = self.model
        a, b = adain if adain is not None else (None, None)
        return x + second(first(x, a), b)


class ResBlocks(nn.Module):
    """A chain of residual blocks; with AdaIN it consumes two parameter sets per block."""

    def __init__(self, count: int, channels: int, norm: str) -> None:
        super().__init__()
        self.model = nn.Sequential(*(ResBlock(channels, norm) for _ in range(count)))
        self.adain_layers = 2 * count if norm == "adain" else 0

    def forward(self, x: torch.Tensor, adain: list[AdaINParams] | None = None) -> torch.Tensor:
        for i, block in enumerate(self.model):
            x = block(x, adain[2 * i : 2 * i + 2] if adain is not None else None)
        return x


class LinearBlock(nn.Module):
    """Linear layer with an optional ReLU; `fc` is the name the published checkpoint uses."""

    def __init__(self, in_features: int, out_features: int, relu: bool) -> None:
        super().__init__()
        self.fc = nn.Linear(in_features, out_features)
        self.relu = relu

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.fc(x)
        return F.relu(x, inplace=True) if self.relu else x
