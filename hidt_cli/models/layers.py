"""Building blocks shared by the generator: conv blocks, residual blocks and the two norms
that the published networks use in place of the usual ones."""

from __future__ import annotations

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
    var, mean = torch.var_mean(x, dim=(2, 3), keepdim=True, correction=0)
    scale = weight[:, :, None, None] * torch.rsqrt(var + eps)
    return x * scale + (bias[:, :, None, None] - mean * scale)


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
        std, mean = torch.std_mean(x.flatten(1), dim=1, correction=1)
        scale = self.gamma[None, :, None, None] / (std[:, None, None, None] + self.eps)
        return x * scale + (self.beta[None, :, None, None] - mean[:, None, None, None] * scale)


_ACTIVATIONS = {
    "relu": lambda: nn.ReLU(inplace=True),
    "lrelu": lambda: nn.LeakyReLU(0.2, inplace=True),
    "none": nn.Identity,
}


class Conv2dBlock(nn.Module):
    """Reflection-padded conv (with bias), then a norm, then an activation.

    norm is one of "none", "instance", "adain" or "layer"; an "adain" block takes its
    parameters as the second argument of forward.
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
    ) -> None:
        super().__init__()
        self.conv = nn.Conv2d(
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

    def forward(self, x: torch.Tensor, adain: AdaINParams | None = None) -> torch.Tensor:
        x = self.conv(x)
        if self.uses_adain:
            x = self.norm(x, adain)
        elif hasattr(self, "norm"):
            x = self.norm(x)
        return self.activation(x)


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
